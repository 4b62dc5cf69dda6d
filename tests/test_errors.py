"""One exception tree: every error the project defines derives from `PayChatError`, none is an
`AssertionError` (a finding is not a broken assumption of the code), and the tree drawn in
core/errors.py names each of them, so the drawing cannot drift from the code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
from pathlib import Path

import pytest

import core.errors
from core.errors import PayChatError
from sim.cli import main
from storage.sealer import ENV_KEY
from tests.conftest import ROOT
from tests.test_layers import FLOORS


def _project_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for floor in FLOORS:
        package = importlib.import_module(floor)
        for module in pkgutil.walk_packages(package.__path__, f"{floor}."):
            for _, value in inspect.getmembers(importlib.import_module(module.name)):
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__.split(".")[0] in FLOORS
                ):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


EXCEPTIONS = _project_exceptions()


def test_the_project_defines_errors_to_check() -> None:
    names = {e.__name__ for e in EXCEPTIONS}
    assert {"PayChatError", "StorageError", "ScenarioError", "PathsDisagree", "ApiError"} <= names


@pytest.mark.parametrize("error", EXCEPTIONS, ids=lambda e: e.__qualname__)
def test_every_error_is_a_paychat_error_and_none_an_assertion(error: type[BaseException]) -> None:
    assert issubclass(error, PayChatError)
    assert not issubclass(error, AssertionError)


@pytest.mark.parametrize("error", EXCEPTIONS, ids=lambda e: e.__qualname__)
def test_the_drawn_tree_names_every_error(error: type[BaseException]) -> None:
    drawing = core.errors.__doc__ or ""
    assert f" {error.__name__} " in drawing, f"core/errors.py does not draw {error.__name__}"


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("", "cannot open"),  # the database path is a folder: sqlite3's error, translated
        ("not-a-fernet-key", "PAYCHAT_SECRET_KEY does not hold a Fernet key"),
    ],
)
def test_a_store_that_cannot_open_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    secret: str,
    says: str,
) -> None:
    if secret:
        monkeypatch.setenv(ENV_KEY, secret)
    db = tmp_path / ("chat.db" if secret else "")
    before = {t for t in threading.enumerate() if t.is_alive()}
    assert main(["--config", str(ROOT / "config.yaml"), "chat", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paychat: ")
    assert says in err
    assert err.count("\n") == 1  # one line, no traceback
    assert not secret or secret not in err
    left = {t for t in threading.enumerate() if t.is_alive()} - before
    for thread in left:  # the store's thread, opened half way, ends (or pytest would hang)
        thread.join(timeout=10)
    assert not [t.name for t in left if t.is_alive()]

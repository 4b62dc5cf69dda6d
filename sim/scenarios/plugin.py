"""A pytest plugin: every `*.convo.yaml` is collected, one test per case (parametrize row).

Registered as the `paychat` pytest11 entry point, so `pytest` in any project with PayChat
installed runs scenario files beside unit tests. Options: `--paychat-config` (default
`config.yaml` in the rootdir), `--paychat-artifacts` (where failing transcripts go) and
`--paychat-via` (`simulator`, `telegram` through the real adapter and the Bot API emulator, or
`both`: each case twice; a case the transport cannot run is reported skipped, with why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, load_settings
from sim.errors import SimError
from sim.scenarios.loader import Case, ScenarioError, cases
from sim.scenarios.python_api import ConvoWorld
from sim.scenarios.runner import run_case


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paychat")
    group.addoption("--paychat-config", default=None, help="config.yaml for scenarios")
    group.addoption(
        "--paychat-artifacts",
        default="artifacts/scenarios",
        help="folder for the transcripts of failing scenarios",
    )
    group.addoption(
        "--paychat-via",
        choices=["simulator", "telegram", "both"],
        default="simulator",
        help="run each scenario in the simulator, through the Telegram adapter, or both",
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    if file_path.name.endswith(".convo.yaml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailure(SimError):
    """A case failed; the message is its report."""


_SETTINGS: dict[str, Settings] = {}


def _settings(config: pytest.Config) -> Settings:
    path = config.getoption("--paychat-config") or str(config.rootpath / "config.yaml")
    if path not in _SETTINGS:
        _SETTINGS[path] = load_settings(path)
    return _SETTINGS[path]


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            found = cases(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        chosen = self.config.getoption("--paychat-via")
        transports = ["simulator", "telegram"] if chosen == "both" else [chosen]
        for case in found:
            for via in transports:
                name = case.id if via == "simulator" else f"{case.id} [{via}]"
                item = ScenarioItem.from_parent(self, name=name, case=case, via=via)
                for tag in _tags(case):
                    self.config.addinivalue_line("markers", f"{tag}: scenario tag")
                    item.add_marker(tag)
                yield item


def _tags(case: Case) -> list[str]:
    from sim.scenarios.loader import load_yaml

    doc = load_yaml(case.path)
    return [str(t) for t in (doc.get("tags") or []) if str(t).isidentifier()]


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: Case, via: str = "simulator", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.via = via

    def runtest(self) -> None:
        artifacts = Path(self.config.getoption("--paychat-artifacts"))
        result = asyncio.run(run_case(self.case, _settings(self.config), artifacts, self.via))
        if result.skipped:
            pytest.skip(result.skipped)
        if not result.passed:
            raise ScenarioFailure(result.report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.case.id} ({self.via})"


def _transports(config: pytest.Config) -> list[str]:
    chosen = str(config.getoption("--paychat-via"))
    return ["simulator", "telegram"] if chosen == "both" else [chosen]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test written with `paychat_world` runs on each transport `--paychat-via` names, as a
    scenario file does."""
    if "paychat_world" in metafunc.fixturenames:
        transports = _transports(metafunc.config)
        metafunc.parametrize("paychat_world", transports, indirect=True, ids=transports)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def paychat_world(request: pytest.FixtureRequest) -> Iterator[ConvoWorld]:
    """A scenario in Python (sim/scenarios/python_api.py): the world of a `*.convo.yaml`
    (parties, given, clock, faults, probes) and its matchers, run by the same runner. After a
    test that passed, the last step runs and every injected fault must have fired."""
    via = getattr(request, "param", None) or _transports(request.config)[0]
    world = ConvoWorld(_settings(request.config), via, request.node.name)
    try:
        yield world
        if not request.node.stash.get(_FAILED, False):
            world.finish()
    finally:
        world.close()

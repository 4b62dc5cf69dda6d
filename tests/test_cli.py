"""`paychat`'s command line itself: every command and option explains itself in `--help`, and
`--config` is read wherever it is written."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from sim.cli import main, parser
from tests.conftest import ROOT


def commands() -> dict[str, argparse.ArgumentParser]:
    found = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices)


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_of_every_command_says_what_it_means(name: str) -> None:
    command = commands()[name]
    assert command.description, f"paychat {name} --help does not say what it does"
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        written = "/".join(action.option_strings) or action.dest
        assert action.help, f"paychat {name} {written} has no help"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        # Where the bot's token comes from and which database it writes.
        (["telegram"], ["TELEGRAM_BOT_TOKEN", "database", "storage.path", "paychat.db"]),
        (["bench"], ["--durability", "synchronous", "power cut", "on disk"]),
        (["emulator"], ["--host", "address to serve on", "--token", "TELEGRAM_BOT_TOKEN"]),
        (["demo"], ["--db", "created afresh", "--lang", "Brazilian bakery paid by Pix"]),
        (["chat"], ["--db", "kept between runs", "--fresh"]),
        ([], ["--config", "before or after the command"]),
    ],
)
def test_help_explains_what_the_options_mean(
    argv: list[str], says: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    shown = " ".join(help_of(argv, capsys).split())  # unwrapped
    for words in says:
        assert words in shown, f"paychat {' '.join(argv)} --help: no {words!r}"


@pytest.mark.parametrize("before", [True, False])
def test_config_is_read_before_or_after_the_command(
    before: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "other.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    option = ["--config", str(config)]
    argv = [*option, "check-config"] if before else ["check-config", *option]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"{config}: OK")


def test_config_after_test_is_the_one_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("surprise: 1\n")
    assert main(["test", "--config", str(broken), "tests/scenarios/links"]) == 2
    assert "surprise" in capsys.readouterr().err
    # The last one written wins.
    argv = ["--config", str(broken), "test", "--config", str(ROOT / "config.yaml")]
    assert main([*argv, "tests/scenarios/links"]) == 0


def test_the_demo_plays_in_portuguese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--lang", "pt_BR", "--db", str(tmp_path / "demo.db")]) == 0
    shown = capsys.readouterr().out
    assert "Boas-vindas ao PayChat" in shown
    assert "R$ 250,50" in shown

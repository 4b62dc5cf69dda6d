"""Cases run a few at a time in one loop (`sim/scenarios/suite.py`) end exactly as they do one
by one: same outcome, same transcript, in the order given; `-x` starts nothing after a failure."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import cast

import pytest

from core.settings import Settings
from sim.scenarios.cli import scenario_files
from sim.scenarios.loader import Case, cases
from sim.scenarios.runner import run_case
from sim.scenarios.suite import AT_ONCE, run_suite

FOLDERS = ["tests/scenarios/payments", "tests/scenarios/pin", "tests/scenarios/setup"]


async def test_cases_at_once_end_as_they_do_alone(settings: Settings) -> None:
    all_cases = [c for p in scenario_files(FOLDERS) for c in cases(p)]
    assert len(all_cases) > 2 * AT_ONCE  # enough to interleave
    together = await run_suite(all_cases, settings)
    assert [r.case.id for r in together] == [c.id for c in all_cases]
    for case, result in zip(all_cases, together, strict=True):
        alone = await run_case(case, settings)
        assert result.passed, result.report
        assert (result.steps, result.transcript) == (alone.steps, alone.transcript), case.id


@pytest.fixture
def one_failing_then_many(tmp_path: Path) -> list[Case]:
    """A failing case first, then more passing ones than run at once."""
    shutil.copytree("tests/scenarios/partials", tmp_path / "partials")  # what they include
    folder = tmp_path / "pin"
    folder.mkdir()
    files = sorted(Path("tests/scenarios/pin").glob("*.convo.yaml"))
    text = files[0].read_text()
    assert "pin.menu" in text
    (folder / "a_failing.convo.yaml").write_text(text.replace("pin.menu", "pin.set", 1))
    for n, file in enumerate(files * 3):
        shutil.copy(file, folder / f"b{n:02d}_{file.name}")
    return [c for p in scenario_files([str(folder)]) for c in cases(p)]


async def test_nothing_starts_after_a_failure_when_asked(
    settings: Settings, one_failing_then_many: list[Case]
) -> None:
    all_cases = one_failing_then_many
    everything = await run_suite(all_cases, settings)
    assert len(everything) == len(all_cases)
    assert [r.passed for r in everything] == [False] + [True] * (len(all_cases) - 1)

    stopped = await run_suite(all_cases, settings, stop_after_failure=True)
    assert not stopped[0].passed
    # Those already under way when it failed finish; none starts after.
    assert len(stopped) < AT_ONCE + 1 < len(all_cases)


async def test_a_bug_reaches_the_caller_as_itself() -> None:
    """Not an ExceptionGroup: `paychat test` reports a crash of the runner as it did with one
    case at a time."""
    all_cases = [c for p in scenario_files(FOLDERS[:1]) for c in cases(p)]
    broken = cast(Settings, None)  # the runner's first use of it fails: a bug, not a case
    with pytest.raises(AttributeError):
        await run_suite(all_cases, broken)

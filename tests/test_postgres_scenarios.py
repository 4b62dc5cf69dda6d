"""Every scenario case again, on PostgreSQL: in the simulator, each case in a fresh schema of
the tests' own cluster (`paychat test --storage postgresql://…` does the same by hand). The
adapter must keep every promise the scenarios check on SQLite: same replies, same state."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from sim.scenarios.cli import scenario_files
from sim.scenarios.loader import Case, cases
from sim.scenarios.runner import run_case
from tests.conftest import ROOT, ThrowawayPostgres

CASES = [
    case for path in scenario_files([str(ROOT / "tests" / "scenarios")]) for case in cases(path)
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_the_scenario_passes_on_postgresql(
    case: Case, settings: Settings, postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    result = await run_case(case, settings, tmp_path, db=postgres.url)
    assert result.passed, result.report
    assert not result.skipped

"""The benchmark runs end to end on a tiny load. It asserts what it computes, never a speed:
speed is measured by `paychat bench`, not by tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runtime import open_engine
from core.clock import SeededIds, VirtualClock
from core.messages import Inbound
from core.settings import Settings
from sim.bench import START, _ceiling, _copy, _own_sql, report, run
from sim.cli import main
from storage.sqlite import Statements
from storage.tx import SqliteTx
from tests.conftest import ROOT


async def test_the_benchmark_completes_every_payment_and_reports_each_figure(
    settings: Settings,
) -> None:
    result = await run(
        settings,
        conversations=4,
        payments=2,
        durability="normal",
        idle=50,
        pin_cost=10,
        scenarios=False,
        latency_seconds=0,
    )
    assert result.events == 4 * 2 * 7
    assert result.payments == 8
    assert result.events_per_second > 0
    assert result.ceiling_events_per_second > 0
    assert result.own_sql_events_per_second > 0
    assert result.idle_conversations == 50
    text = report(result, None)
    for figure in (
        "inbound events / s",
        "completed payments / s",
        "p50 / p95 / p99",
        "storage ceiling",
        "engine / ceiling",
        "own SQL alone",
        "peak RSS",
        "idle conversations",
    ):
        assert figure in text
    # Each target is judged on the figure it names, and only at the load it is stated for.
    assert "p99 < 20 ms: not judged below 1,000" in text
    assert "≤ 50 MB: not judged below 100,000" in text
    full = replace(result, conversations=1_000, idle_conversations=100_000)
    fast = report(replace(full, events_per_second=10_000.0, p99_ms=25.0, idle_cost_mb=51), None)
    slow = report(replace(full, events_per_second=9_999.0, p99_ms=19.9, idle_cost_mb=0.1), None)
    for judged in ("≥ 10,000: met", "p99 < 20 ms: not met", "≤ 50 MB: not met"):
        assert judged in fast
    for judged in ("≥ 10,000: not met", "p99 < 20 ms: met", "≤ 50 MB: met"):
        assert judged in slow
    assert "≥ 250: met" in report(replace(full, scenarios=121, scenarios_per_second=250.0), None)
    below = report(replace(full, scenarios=121, scenarios_per_second=249.9), None)
    assert "≥ 250: not met" in below
    assert "not run (--no-scenarios)" in report(replace(full, scenarios=0), None)


@pytest.mark.parametrize("replay", [_ceiling, _own_sql])
async def test_the_replays_write_exactly_the_rows_the_engine_wrote(
    settings: Settings, tmp_path: Path, replay: Callable[[Path, str, list[Statements], int], float]
) -> None:
    db = str(tmp_path / "engine.db")
    async with open_engine(settings, db, clock=VirtualClock(START), ids=SeededIds(3)) as engine:
        await engine.handle(Inbound(key="k0", user="ana", kind="command", text="/start"))
    _copy(db, tmp_path / "replay.db")
    units: list[Statements] = []
    async with open_engine(
        settings, db, clock=VirtualClock(START), ids=SeededIds(3), record=units
    ) as engine:
        for n, text in enumerate(["/start", "business", "Ana's Shop", "+91 98765 43210"], 1):
            await engine.handle(Inbound(key=f"k{n}", user="ana", kind="text", text=text))

        def fails_after_writing(tx: SqliteTx) -> None:
            tx.claim("rolled-back", START)
            raise RuntimeError("this unit rolls back")

        with pytest.raises(RuntimeError):
            await engine.store.run(fails_after_writing)
    assert any(sql.startswith("SELECT") for unit in units for sql, _ in unit)
    assert any(sql.startswith("INSERT") for unit in units for sql, _ in unit)
    assert replay(tmp_path / "replay.db", "NORMAL", units, 4) > 0

    def dump(path: Path) -> list[str]:
        conn = sqlite3.connect(path)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    assert dump(tmp_path / "replay.db") == dump(tmp_path / "engine.db")


@pytest.mark.parametrize(
    ("argument", "named"),
    [
        (["--conversations", "0"], "--conversations: 0 is not between 1 and 100000"),
        (["--payments", "x"], "--payments: 'x' is not a whole number"),
        (["--latency-seconds", "-1"], "--latency-seconds: -1 is not between"),
        (["--pin-cost", "40"], "--pin-cost: 40 is not between 1 and 20"),
        # checked before a run of minutes, not after it
        (["--json", "/no/such/folder/b.json"], "--json: cannot write /no/such/folder/b.json"),
    ],
)
def test_bad_bench_arguments_stop_with_a_clear_error(
    argument: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", *argument])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert named in err
    assert "Traceback" not in err


async def test_the_scenarios_only_figure_runs_every_case(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.bench_scenarios import scenario_rate
    from sim.scenarios.cli import scenario_files
    from sim.scenarios.loader import cases

    monkeypatch.chdir(ROOT)
    measured = await scenario_rate(settings, None, passes=2)
    assert measured.cases == sum(len(cases(p)) for p in scenario_files(["tests/scenarios"]))
    assert len(measured.seconds) == len(measured.cpu_seconds) == 2
    assert all(s > 0 for s in measured.seconds)
    assert all(c > 0 for c in measured.cpu_seconds)
    assert measured.pin_hash_cost == settings.security.pin_hash_cost
    line = measured.line()
    assert f"{measured.per_second:.1f}, the median of 2 passes" in line
    assert ("target ≥ 250: met" in line) == (measured.per_second >= 250)


async def test_workers_share_one_postgresql_for_the_bench(settings: Settings, pg_url: str) -> None:
    from sim.bench_workers import report, run_workers

    shared = await run_workers(settings, pg_url, 2, 2, 1, str(ROOT / "config.yaml"))
    assert shared.workers == 2
    assert shared.events == 2 * 2 * 7  # seven events a payment, every one answered
    assert shared.events_per_second > 0
    assert "postgresql, 2 worker(s)" in report(shared)

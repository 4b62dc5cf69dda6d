"""After a whole showcase run, no PIN, card number or SMS code is in the database file, its
WAL, or any log record (at DEBUG, from every logger, aiosqlite's included)."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest

from core.settings import Settings
from sim.demo import SHOWCASE
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case
from sim.scenarios.world import World

PINS = ("2580", "1470")  # the PINs the showcase scenario uses
CARD = "4242424242424242"


async def test_no_secret_reaches_the_database_or_the_logs(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "secrets.db"
    caplog.set_level(logging.DEBUG)
    codes: list[str] = []
    raw = b""

    async def collect(world: World) -> None:
        nonlocal raw
        codes.extend(
            m[0]
            for p in world.sim.parties.values()
            for sms in p.sms
            if (m := re.search(r"\d{6}", sms))
        )
        wal = db.with_name(db.name + "-wal")
        raw = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    result = await run_case(cases(SHOWCASE)[0], settings, db=str(db), after=collect)
    assert result.passed, result.report
    assert codes, "the showcase should have sent at least one SMS code"

    for secret in (CARD, "4242 4242 4242 4242", *codes):
        assert secret.encode() not in raw, f"{secret!r} is in the database file"

    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):  # our own names
                for value in row:
                    if isinstance(value, str):
                        for pin in PINS:
                            assert not re.search(rf"(?<!\d){pin}(?!\d)", value), (
                                f"PIN {pin} in {table}: {value[:80]!r}"
                            )

    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert logs, "DEBUG logging should have recorded something"
    for secret in (CARD, "4242 4242 4242 4242", *codes):
        assert secret not in logs
    for pin in PINS:
        assert not re.search(rf"(?<!\d){pin}(?!\d)", logs), f"PIN {pin} in the logs"


def test_failure_reports_and_transcripts_mask_codes(settings: Settings, tmp_path: Path) -> None:
    import asyncio

    from sim.scenarios.loader import cases
    from sim.scenarios.runner import run_case
    from tests.conftest import ROOT

    example = ROOT / "tests/scenarios/examples/tester_example.convo.yaml"
    broken = example.with_name("broken_for_test.convo.yaml")
    broken.write_text(
        example.read_text().replace(
            'asha: [{says: pay.failed, contains: "not enough money"}]',
            "asha: [{says: pay.succeeded}]",
        )
    )
    try:
        result = asyncio.run(run_case(cases(broken)[0], settings, tmp_path))
    finally:
        broken.unlink()
    assert not result.passed
    transcript = next(tmp_path.glob("*.txt")).read_text()
    assert "code is ••••••" in transcript
    assert not re.search(r"code is \d", transcript + result.report)
    assert "code=••••••" in result.report

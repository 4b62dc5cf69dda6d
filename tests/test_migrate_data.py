"""`paychat migrate-data`: a SQLite deployment's data moves into PostgreSQL whole and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case
from storage.base import StorageError
from storage.opening import open_store
from storage.transfer import TABLES, migrate_data
from tests.conftest import ROOT


async def test_a_sqlite_deployment_moves_into_postgresql_and_is_checked(
    settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    source = str(tmp_path / "paychat.db")
    showcase = cases(ROOT / "tests" / "scenarios" / "showcase" / "whole_story.convo.yaml")[0]
    assert (await run_case(showcase, settings, db=source)).passed

    done = await migrate_data(source, pg_url)

    assert set(done.counts) == set(TABLES)
    assert done.counts["payments"] >= 2
    assert done.counts["ledger"] > 0
    assert set(done.ledger.values()) == {0}
    moved = await open_store(pg_url)
    try:
        payment = await moved.run(lambda tx: tx.payment(done.payment))
        assert payment is not None
        assert payment.status == "succeeded"
        # New rows continue after the copied ones (identities moved past them).
        seqs = await moved.run(lambda tx: tx.add_outbox([], payment.created_at))
        assert seqs == []
        job = await moved.run(lambda tx: tx.schedule(payment.created_at, "x", {}))
        assert job > done.counts["jobs"]
    finally:
        await moved.close()
    with pytest.raises(StorageError, match="holds data already"):
        await migrate_data(source, pg_url)  # never into a database in use


def test_a_missing_source_or_an_unreachable_destination_exits_2_at_once(tmp_path: Path) -> None:
    """Nothing half-opened keeps the process alive (the SQLite store's thread did, when the
    PostgreSQL one then failed to open), and a missing source is not created empty."""
    import subprocess
    import sys

    source = tmp_path / "paychat.db"
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    command = [sys.executable, "-m", "sim.cli", "migrate-data", "--to", unreachable]
    missing = subprocess.run(
        [*command, "--from", f"sqlite:///{source}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (missing.returncode, missing.stderr) == (
        2,
        f"paychat migrate-data: no SQLite database at {source}\n",
    )
    assert not source.exists()
    source.touch()  # an empty file is a SQLite database with nothing in it yet
    down = subprocess.run(
        [*command, "--from", f"sqlite:///{source}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert down.returncode == 2
    assert "cannot open postgresql://nobody@127.0.0.1:1/none" in down.stderr

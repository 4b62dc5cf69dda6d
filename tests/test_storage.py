"""One contract suite over every way the SQLite store is opened (file, in memory)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.messages import Button, Outbound
from storage.base import DuplicateError, StorageError
from storage.sqlite import SqliteStore, migrations
from storage.tx import SqliteTx

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["file", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteStore]:
    path = str(tmp_path / "s.db") if request.param == "file" else ":memory:"
    s = await SqliteStore.open(path)
    yield s
    await s.close()


async def test_claim_makes_a_redelivery_a_no_op(store: SqliteStore) -> None:
    assert await store.run(lambda tx: tx.claim("k1", NOW)) is True
    assert await store.run(lambda tx: tx.claim("k1", NOW)) is False


async def test_a_failing_unit_rolls_back_alone(store: SqliteStore) -> None:
    import asyncio

    def good(tx: SqliteTx) -> str:
        tx.claim("good", NOW)
        return "ok"

    def bad(tx: SqliteTx) -> None:
        tx.claim("bad", NOW)
        raise RuntimeError("boom")

    results = await asyncio.gather(store.run(good), store.run(bad), return_exceptions=True)
    assert results[0] == "ok"
    assert isinstance(results[1], RuntimeError)
    assert await store.run(lambda tx: tx.claim("good", NOW)) is False
    assert await store.run(lambda tx: tx.claim("bad", NOW)) is True


async def test_sqlite_errors_become_storage_errors(store: SqliteStore) -> None:
    def broken(tx: SqliteTx) -> None:
        tx.c.execute("SELECT * FROM no_such_table")

    with pytest.raises(StorageError):
        await store.run(broken)


async def test_outbox_round_trips_and_tracks_delivery(store: SqliteStore) -> None:
    out = Outbound("send", "asha", "welcome", "Hi", ((Button("pay", "Pay ₹5"),),), ref="r1")
    ids = await store.run(lambda tx: tx.add_outbox([out], NOW))
    pending = await store.run(lambda tx: tx.undelivered())
    assert pending == [(ids[0], out)]
    await store.run(lambda tx: tx.mark_delivered(ids))
    assert await store.run(lambda tx: tx.undelivered()) == []


async def test_jobs_fire_once_in_due_order(store: SqliteStore) -> None:
    later = NOW.replace(hour=5)
    await store.run(lambda tx: tx.schedule(later, "b", {"key": "x"}))
    first = await store.run(lambda tx: tx.schedule(NOW, "a", {"key": "y"}))
    due = await store.run(lambda tx: tx.due_jobs(later))
    assert [k for _, k, _ in due] == ["a", "b"]
    assert await store.run(lambda tx: tx.finish_job(first)) is True
    assert await store.run(lambda tx: tx.finish_job(first)) is False
    await store.run(lambda tx: tx.cancel_jobs("b", "x"))
    assert await store.run(lambda tx: tx.due_jobs(later)) == []


async def test_duplicate_phone_is_a_domain_error(store: SqliteStore) -> None:
    from core.records import User

    await store.run(lambda tx: tx.add_user(User("a", "customer", "+1", "IN", "A", "en"), NOW))
    with pytest.raises(DuplicateError):
        await store.run(lambda tx: tx.add_user(User("b", "customer", "+1", "IN", "B", "en"), NOW))


async def test_migrations_are_versioned_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(2):
        s = await SqliteStore.open(str(path))
        await s.close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert version == migrations()[-1][0]
    assert mode == "wal"


async def test_secrets_are_sealed_at_rest(tmp_path: Path) -> None:
    from core.money import Money
    from core.records import BankAccount

    path = tmp_path / "sealed.db"
    s = await SqliteStore.open(str(path))
    account = BankAccount(
        "acct-1", "HDFC Bank", "+919812345678", "123456789012", "9012", Money(100, "INR")
    )
    await s.run(lambda tx: tx.add_bank_account(account))
    assert (await s.run(lambda tx: tx.bank_account("acct-1"))) == account
    await s.close()
    assert b"123456789012" not in path.read_bytes()
    assert (path.with_suffix(".key").stat().st_mode & 0o777) == 0o600

"""What only the PostgreSQL adapter has to prove (the rest is the contract suite, run on it by
the `store` fixture): its errors stay inside, its migrations have SQLite's numbers and run once
when several workers start together, and a worker's jobs and replies are its own while it lives
and another's once it is gone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from core.messages import Outbound
from sim.cli import main
from storage.base import StorageError
from storage.migrations_index import migrations
from storage.opening import open_store, parse
from storage.postgres import PostgresStore, redact
from storage.tx import SqliteTx
from tests.conftest import ROOT

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_every_migration_has_a_postgresql_twin() -> None:
    assert [v for v, _ in migrations("postgresql")] == [v for v, _ in migrations("sqlite")]


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("paychat.db", "sqlite", "paychat.db"),
        ("sqlite:///data/x.db", "sqlite", "data/x.db"),
        ("sqlite:////srv/x.db", "sqlite", "/srv/x.db"),
        ("postgresql://u@h/db", "postgresql", "postgresql://u@h/db"),
    ],
)
def test_a_storage_url_names_its_adapter(url: str, kind: str, target: str) -> None:
    assert parse(url) == (kind, target)


def test_an_unknown_scheme_is_refused_and_a_password_never_shown() -> None:
    with pytest.raises(StorageError, match="mysql"):
        parse("mysql://u:pw@h/db")
    assert redact("postgresql://ann:s3cret@db.example:5432/pay") == (
        "postgresql://ann@db.example:5432/pay"
    )


async def test_psycopg_errors_never_leave_the_adapter(pg_url: str) -> None:
    store = await open_store(pg_url)

    def broken(tx: SqliteTx) -> None:
        tx.c.execute("SELECT * FROM no_such_table")

    try:
        with pytest.raises(StorageError) as caught:
            await store.run(broken)
        assert not isinstance(caught.value, psycopg.Error)
        assert await store.run(lambda tx: tx.claim("after", NOW)) is True  # still usable
    finally:
        await store.close()


async def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        await open_store("postgresql://ann:s3cret@/nowhere?host=/nonexistent-folder")
    assert "s3cret" not in str(caught.value)


async def test_workers_starting_together_migrate_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(pg_url) for _ in range(4)))
    try:
        assert len({s.worker for s in stores}) == 4
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            cur = await conn.execute("SELECT version FROM paychat_schema ORDER BY version")
            applied = [v for (v,) in await cur.fetchall()]
        assert applied == [v for v, _ in migrations("postgresql")]
    finally:
        for store in stores:
            await store.close()


async def test_a_live_workers_replies_and_jobs_are_its_own_until_it_is_gone(pg_url: str) -> None:
    first = await PostgresStore.open(pg_url)
    second = await PostgresStore.open(pg_url)
    reply = Outbound("send", "asha", "k", "hello")
    try:
        await first.run(lambda tx: tx.add_outbox([reply], NOW))  # written: the first's
        await first.run(lambda tx: tx.schedule(NOW, "expire", {"key": "PR-1"}))
        assert len(await first.run(lambda tx: tx.due_jobs(NOW))) == 1  # claimed: the first's
        # Another live worker's: not for the second to deliver or fire.
        assert await second.run(lambda tx: tx.undelivered()) == []
        assert await second.run(lambda tx: tx.due_jobs(NOW)) == []
        # Its own: the first sees them again (a transport's restart resends what it left).
        assert [o.text for _, o in await first.run(lambda tx: tx.undelivered())] == ["hello"]
        assert len(await first.run(lambda tx: tx.due_jobs(NOW))) == 1
    finally:
        await first.close()  # gone: its session, and its lock, with it
    try:
        taken = await second.run(lambda tx: tx.undelivered())
        assert [o.text for _, o in taken] == ["hello"]
        assert [kind for _, kind, _ in await second.run(lambda tx: tx.due_jobs(NOW))] == ["expire"]
    finally:
        await second.close()


async def test_replies_a_dead_worker_left_are_taken_over_once_by_a_live_one(pg_url: str) -> None:
    first = await PostgresStore.open(pg_url)
    second = await PostgresStore.open(pg_url)
    try:
        await first.run(lambda tx: tx.add_outbox([Outbound("send", "asha", "k", "hi")], NOW))
        assert await second.run(lambda tx: tx.orphaned()) == []  # the first lives
        assert await first.run(lambda tx: tx.orphaned()) == []  # its own are not orphans
        await first.close()
        taken = await second.run(lambda tx: tx.orphaned())
        assert [o.text for _, o in taken] == ["hi"]
        assert await second.run(lambda tx: tx.orphaned()) == []  # now the second's: once
    finally:
        await first.close()
        await second.close()


def test_paychat_runs_scenarios_and_migrations_on_postgresql(
    pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = str(ROOT / "tests" / "scenarios" / "payments" / "double_tap.convo.yaml")
    assert main(["test", "--storage", pg_url, case]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out
    monkeypatch.setenv("PAYCHAT_DATABASE_URL", pg_url)
    assert main(["migrate"]) == 0
    assert "the schema is up to date" in capsys.readouterr().out
    monkeypatch.setenv("PAYCHAT_DATABASE_URL", "mysql://ann:pw@h/db")
    assert main(["migrate"]) == 2
    assert "not a database PayChat speaks" in capsys.readouterr().err


def test_scenarios_never_share_one_sqlite_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["test", "--storage", "shared.db"])
    assert refused.value.code == 2
    assert "not a postgresql:// URL" in capsys.readouterr().err

"""A worker whose connection to PostgreSQL is lost (here: its backend terminated from another
session, as a server restart or an administrator does) fails only the batch in flight, leaves
nothing of it behind, and carries on as the same live worker on a new connection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from core.messages import Inbound, Outbound
from core.settings import Settings
from sim.scenarios.world import open_world
from storage.base import StorageError
from storage.pg_rows import PgTx
from storage.pg_session import BACKOFF, connect, rejoin, space
from storage.postgres import PostgresStore
from tests.conftest import START, FakeTime

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _pid(tx: PgTx) -> int:
    row = tx.c.execute("SELECT pg_backend_pid()").fetchone()
    return int(row[0])


def _terminate(url: str, pid: int) -> None:
    """End that backend from another session, and wait (up to 5 s) until it is gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
        assert row is not None
        assert row[0] is True


def _one(url: str, sql: str, params: Any = ()) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]


def _outbox(url: str) -> list[tuple[str, int | None]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT body::jsonb ->> 'text', owner FROM outbox ORDER BY id")
        return [(str(text), owner) for text, owner in rows]


async def test_the_batch_in_flight_fails_whole_and_the_next_runs_on_a_new_connection(
    pg_url: str,
) -> None:
    time = FakeTime()
    store = await PostgresStore.open(pg_url, sleep=time.sleep)
    try:
        pid = await store.run(_pid)

        def killed_midway(tx: PgTx) -> None:
            tx.add_outbox([Outbound("send", "asha", "k1", "lost")], NOW)
            _terminate(pg_url, pid)
            tx.c.execute("SELECT 1")

        def beside(tx: PgTx) -> bool:  # another unit of the same batch: it fails with it
            return tx.claim("in-the-same-batch", NOW)

        lost = await asyncio.gather(
            store.run(killed_midway), store.run(beside), return_exceptions=True
        )
        assert all(isinstance(e, StorageError) for e in lost), lost
        assert not any(isinstance(e, psycopg.Error) for e in lost)
        assert _one(pg_url, "SELECT count(*) FROM outbox") == 0  # nothing half-committed
        assert _one(pg_url, "SELECT count(*) FROM inbox") == 0

        await store.run(lambda tx: tx.add_outbox([Outbound("send", "asha", "k2", "hi")], NOW))
        assert await store.run(_pid) != pid
        assert store.reconnects == 1
        assert time.slept == []  # the first try worked: no wait
        # Written as the same worker: `paychat.worker` was set again on the new session.
        assert _outbox(pg_url) == [("hi", store.worker)]
    finally:
        await store.close()


async def test_a_connection_lost_while_idle_costs_no_event(pg_url: str) -> None:
    store = await PostgresStore.open(pg_url, sleep=FakeTime().sleep)
    try:
        pid = await store.run(_pid)
        _terminate(pg_url, pid)  # between batches: found at the next BEGIN
        assert await store.run(lambda tx: tx.claim("after", NOW)) is True
        assert store.reconnects == 1
        assert _one(pg_url, "SELECT count(*) FROM inbox WHERE key = 'after'") == 1
    finally:
        await store.close()


async def test_after_reconnecting_the_worker_is_live_again(pg_url: str) -> None:
    first = await PostgresStore.open(pg_url, sleep=FakeTime().sleep)
    second = await PostgresStore.open(pg_url)
    try:
        await first.run(lambda tx: tx.add_outbox([Outbound("send", "asha", "k", "a")], NOW))
        _terminate(pg_url, await first.run(_pid))
        await first.run(lambda tx: tx.add_outbox([Outbound("send", "asha", "k2", "b")], NOW))
        assert first.reconnects == 1
        # Its session lock is held again: its replies are not the second's to take over.
        assert await second.run(lambda tx: tx.orphaned()) == []
        assert await second.run(lambda tx: tx.undelivered()) == []
        held = _one(
            pg_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
            "AND objid = %s AND granted",
            (first.worker,),
        )
        assert held == 1
        assert _outbox(pg_url) == [("a", first.worker), ("b", first.worker)]
        assert [o.text for _, o in await first.run(lambda tx: tx.undelivered())] == ["a", "b"]
    finally:
        await first.close()
        await second.close()


async def test_when_it_cannot_reconnect_each_batch_fails_clearly_and_the_next_tries_again(
    pg_url: str,
) -> None:
    time = FakeTime()
    store = await PostgresStore.open(pg_url, sleep=time.sleep)
    schema = _one(pg_url, "SELECT current_schema()")
    try:
        pid = await store.run(_pid)
        # Another session holds the worker's lock (as its lost session does until the server
        # notices a cut network): every try to rejoin fails, after the backoff, never waiting.
        with psycopg.connect(pg_url, autocommit=True) as squatter:
            _terminate(pg_url, pid)
            squatter.execute("SELECT pg_advisory_lock(%s, %s)", (space(schema), store.worker))
            with pytest.raises(StorageError, match=r"cannot reconnect: .*held by another session"):
                await store.run(lambda tx: tx.claim("during", NOW))
            assert time.slept == list(BACKOFF)
            with pytest.raises(StorageError, match="cannot reconnect"):
                await store.run(lambda tx: tx.claim("during", NOW))  # tried again, no hang
            assert time.slept == list(BACKOFF) * 2
        assert await store.run(lambda tx: tx.claim("after", NOW)) is True  # the lock is free
        assert store.reconnects == 1
        assert _one(pg_url, "SELECT count(*) FROM inbox") == 1
    finally:
        await store.close()


async def test_an_event_lost_with_its_connection_is_answered_when_sent_again(
    settings: Settings, pg_url: str
) -> None:
    async with open_world(settings, START, db=pg_url) as world:
        engine, store = world.engine, world.store
        assert isinstance(store, PostgresStore)
        pid = await store.run(_pid)

        def kill(tx: PgTx) -> None:
            _terminate(pg_url, pid)
            tx.c.execute("SELECT 1")

        start = Inbound("u1", "asha", "command", text="/start")
        # The kill and the event in one batch: the engine re-raises (the transport would not
        # confirm the update, and Telegram sends it again).
        lost = await asyncio.gather(
            store.run(kill),
            engine.handle(start),
            return_exceptions=True,
        )
        assert [type(e) for e in lost] == [StorageError, StorageError]
        assert _one(pg_url, "SELECT count(*) FROM inbox") == 0
        answered = await engine.handle(start)  # sent again: on a new connection
        assert answered
        assert all(o.to == "asha" for o in answered)
        assert await engine.handle(start) == []  # once: a third copy is a redelivery
        _terminate(pg_url, await store.run(_pid))
        later = await engine.handle(Inbound("u2", "bina", "command", text="/start"))
        assert later
        assert later[0].to == "bina"


def test_a_lost_session_the_server_kept_is_ended_and_its_lock_taken_back(pg_url: str) -> None:
    """After a cut network the server may keep the worker's old session (and its lock) for
    hours; `rejoin` ends it when it is that worker's own lost session, and only then."""
    lock_space = space(_one(pg_url, "SELECT current_schema()"))
    with psycopg.connect(pg_url, autocommit=True) as kept:  # the old session, still alive
        kept.execute("SELECT pg_advisory_lock(%s, 7)", (lock_space,))
        with pytest.raises(StorageError, match="held by another session"):
            rejoin(pg_url, 7, lock_space, lost=kept.info.backend_pid + 100_000)
        assert not kept.closed
        new = rejoin(pg_url, 7, lock_space, lost=kept.info.backend_pid)
        try:
            with pytest.raises(psycopg.OperationalError):
                kept.execute("SELECT 1")  # ended by the rejoining worker
            row = new.execute("SELECT current_setting('paychat.worker')").fetchone()
            assert row == ("7",)
        finally:
            new.close()


def test_a_url_keeps_its_own_timeouts_and_gets_bounded_ones_otherwise(pg_url: str) -> None:
    with connect(pg_url) as conn:
        assert conn.info.get_parameters()["connect_timeout"] == "5"
    with connect(pg_url + "&connect_timeout=9") as conn:
        assert conn.info.get_parameters()["connect_timeout"] == "9"

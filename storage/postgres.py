"""The PostgreSQL adapter: psycopg 3 on one connection per worker process, with group commit.

Why psycopg 3, synchronously, on a thread (not asyncpg): the storage port runs a unit of work as
a plain synchronous function on the store's own thread (CPU-only, no awaits inside), so the SQL
of a whole batch of units runs in one hop off the event loop, as SQLite's does. psycopg's
synchronous connection fits that shape as it is; asyncpg is async-only, and every statement of
a unit would become an await and a loop round trip (or need its own loop on that thread). One
connection per process, not a pool: a store has one writer (the port's serial order), and
PostgreSQL scales with processes, several workers each with its own connection.

Several workers share one database safely because:
- a redelivered event is processed once: the inbox key is the table's primary key, so the
  second worker's insert waits for the first's commit and then finds it;
- `hold_conversation` takes a transaction-scoped advisory lock per party (storage/pg_rows.py),
  so a party's events run one at a time across workers with no global lock;
- rules that must hold across workers are the database's: at most one live payment per
  request (a unique partial index), refunds within the amount (a check), and the PIN counter is
  changed only while its party is held;
- each worker holds a session advisory lock on its id while it lives; a job or an outbox row is
  claimed by one live worker (`FOR UPDATE SKIP LOCKED`) and taken over by another only once
  its worker's lock is gone (the process died, so PostgreSQL closed its session);
- the units of a batch after the first only *try* a party's lock: a batch that finds one held
  is undone and its units run again one per transaction (a deadlock, which PostgreSQL detects,
  too), so two workers' batches never wait on each other in a circle.

A lost connection (the server restarted, the backend terminated, the network cut) fails the
batch in flight, which was one transaction and so left nothing behind; the next batch
reconnects first (storage/pg_session.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors

from core.errors import RuleRefused, StorageError
from core.threads import block_signals
from storage.group_commit import GroupCommit, Outcome
from storage.migrations_index import migrations
from storage.pg_rows import Contended, PgConnection, PgTx
from storage.pg_session import BACKOFF, Unstarted, connect, join, rejoin, space
from storage.sealer import Sealer

T = TypeVar("T")
_AGAIN = (Contended, errors.DeadlockDetected, errors.SerializationFailure)
_TRIES = 20  # one unit alone, again after a deadlock: a livelock this long is an outage
Sleep = Callable[[float], Awaitable[None]]


def redact(url: str) -> str:
    """The URL without its password, to name the database in messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc))


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply every PostgreSQL migration newer than the schema's version, each in its own
    transaction, while holding the schema's migration lock: of several workers starting at
    once, one migrates and the others wait, then find nothing left to do. The version."""
    with conn.transaction():
        conn.execute(
            "CREATE TABLE IF NOT EXISTS paychat_schema (version INTEGER PRIMARY KEY, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    current = _version(conn)
    for version, sql in migrations("postgresql"):
        if version > current:
            with conn.transaction():
                conn.execute(sql.encode())  # several statements: the simple query protocol
                conn.execute("INSERT INTO paychat_schema (version) VALUES (%s)", (version,))
            current = version
    return current


def _version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM paychat_schema").fetchone()
    return int(row[0]) if row else 0


def _migration_lock(conn: psycopg.Connection[Any], space: int, take: bool) -> None:
    verb = "pg_advisory_lock" if take else "pg_advisory_unlock"
    conn.execute(f"SELECT {verb}(%s, 0)", (space,))  # worker ids start at 1: 0 is this lock


class PostgresStore:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        sealer: Sealer,
        worker: int,
        space: int,
        executor: ThreadPoolExecutor,
        url: str,
        sleep: Sleep,
    ) -> None:
        self._conn = PgConnection(conn)
        self._sealer = sealer
        self.worker = worker
        self._space = space
        self._executor = executor
        self._url = url
        self._sleep = sleep
        self._pid = conn.info.backend_pid  # its session's backend, to end if it outlives a loss
        self.reconnects = 0  # new connections made since it opened (for tests and operators)
        self._writer: GroupCommit[PgTx] = GroupCommit(self._execute, (psycopg.Error,))

    @classmethod
    async def open(
        cls, url: str, *, migrate_only: bool = False, sleep: Sleep = asyncio.sleep
    ) -> PostgresStore:
        """Connect, migrate (waiting for another worker that migrates), and join the live
        workers. A database that cannot be reached or used is a `StorageError` naming it
        (never its password). `sleep`: how it waits between tries to reconnect (injected by
        the tests)."""
        executor = ThreadPoolExecutor(1, "postgres", initializer=block_signals)
        loop = asyncio.get_running_loop()
        try:
            conn, sealer, worker, space = await loop.run_in_executor(
                executor, _connect, url, migrate_only
            )
        except BaseException as exc:
            executor.shutdown(wait=False)
            if isinstance(exc, psycopg.Error):
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
                raise StorageError(f"cannot open {redact(url)}: {first}") from None
            raise
        return cls(conn, sealer, worker, space, executor, url, sleep)

    async def run(self, work: Callable[[PgTx], T]) -> T:
        return await self._writer.run(work)

    async def close(self) -> None:
        if self._writer.closed:
            return
        await self._writer.close()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._leave)
        self._executor.shutdown(wait=True)

    def _leave(self) -> None:
        """Stop being a live worker before `close` returns: the session's end frees its lock
        too, but PostgreSQL ends it a moment after the connection closes, and until then
        another worker would not take over what this one leaves undelivered."""
        conn = self._conn.conn
        try:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            pass  # the connection is gone already: so is the session, and its lock
        finally:
            conn.close()

    async def _execute(self, works: list[Callable[[PgTx], Any]]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        conn = self._conn.conn
        if conn.closed or conn.broken:  # lost under the batch before: a new one first
            await self._reconnect()
        try:
            return await loop.run_in_executor(self._executor, self._run_batch, works)
        except Unstarted:
            # Lost while idle (found at BEGIN): none of the batch reached the server, so it
            # runs again, once, on a new connection rather than fail events it never began.
            await self._reconnect()
            return await loop.run_in_executor(self._executor, self._run_batch, works)

    async def _reconnect(self) -> None:
        """A new connection for this worker, as `_connect` set the first one up (schema,
        `paychat.worker`, its session lock), tried `len(BACKOFF) + 1` times with those
        waits between; then a `StorageError` for the batch, and the next batch tries again."""
        loop = asyncio.get_running_loop()
        old = self._conn.conn
        await loop.run_in_executor(self._executor, old.close)
        why = ""
        for wait in (*BACKOFF, None):
            try:
                conn = await loop.run_in_executor(
                    self._executor, rejoin, self._url, self.worker, self._space, self._pid
                )
            except (psycopg.Error, StorageError) as exc:
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if wait is None:
                    break
                await self._sleep(wait)
            else:
                self._conn = PgConnection(conn)
                self._pid = conn.info.backend_pid
                self.reconnects += 1
                return
        raise StorageError(f"lost the connection to {redact(self._url)}: cannot reconnect: {why}")

    def _run_batch(self, works: list[Callable[[PgTx], Any]]) -> list[Outcome]:
        try:
            return self._attempt(works, first=True)
        except _AGAIN:
            pass  # undone: each unit again, alone
        outcomes: list[Outcome] = []
        for n, work in enumerate(works):
            for _ in range(_TRIES):
                try:
                    outcomes += self._attempt([work])
                    break
                except _AGAIN:
                    continue
                except psycopg.OperationalError as exc:
                    # Lost between two units: those before committed and keep their values.
                    lost = StorageError(f"the connection to PostgreSQL was lost: {exc}")
                    return outcomes + [(False, lost)] * (len(works) - n)
            else:
                outcomes.append((False, StorageError("the database stayed contended")))
        return outcomes

    def _attempt(self, works: list[Callable[[PgTx], Any]], first: bool = False) -> list[Outcome]:
        """One transaction. `first`: the batch's first try, when a connection found lost
        before its BEGIN went through is `Unstarted` (nothing of the batch ran)."""
        conn = self._conn.conn
        outcomes: list[Outcome] = []
        began = False
        try:
            with conn.transaction():
                began = True
                self._units(conn, works, outcomes)
        except psycopg.OperationalError as exc:
            if first and not began:
                raise Unstarted(str(exc)) from exc
            raise
        return outcomes

    def _units(
        self,
        conn: psycopg.Connection[Any],
        works: list[Callable[[PgTx], Any]],
        outcomes: list[Outcome],
    ) -> None:
        for i, work in enumerate(works):
            tx = PgTx(self._conn, self._sealer, self.worker, self._space, may_wait=i == 0)
            try:
                with conn.transaction():  # a savepoint: a failing unit rolls back alone
                    value = work(tx)
            except _AGAIN:
                raise
            except psycopg.OperationalError:
                raise  # the connection or the server failed: the batch with it
            except Exception as exc:  # the caller gets it
                outcomes.append((False, _translate(exc)))
            else:
                outcomes.append((True, value))


def _connect(url: str, migrate_only: bool) -> tuple[psycopg.Connection[Any], Sealer, int, int]:
    conn = connect(url)
    try:
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise StorageError(f"{redact(url)}: its search_path names no schema that exists")
        lock_space = space(str(schema[0]))
        _migration_lock(conn, lock_space, take=True)
        try:
            new = _version_or_zero(conn) == 0
            migrate(conn)
            # Under the lock: a second worker starting at once reads the key the first made.
            sealer = Sealer.for_database(redact(url), new=new, beside=False)
        finally:
            _migration_lock(conn, lock_space, take=False)
        worker = 0
        if not migrate_only:
            row = conn.execute("SELECT nextval('paychat_workers')").fetchone()
            worker = int(row[0]) if row else 0
            if not join(conn, lock_space, worker):  # a new id: its lock is free
                raise StorageError(f"worker {worker}'s lock is held by another session")
    except BaseException:
        conn.close()
        raise
    return conn, sealer, worker, lock_space


def _version_or_zero(conn: psycopg.Connection[Any]) -> int:
    exists = conn.execute("SELECT to_regclass('paychat_schema') IS NOT NULL").fetchone()
    return _version(conn) if exists and exists[0] else 0


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, psycopg.IntegrityError):
        # As SQLite's: a rule the unit did not expect to break, broken the same way each time.
        return RuleRefused(str(exc).strip().splitlines()[0])
    if isinstance(exc, psycopg.Error):
        return StorageError(str(exc).strip().splitlines()[0])
    return exc

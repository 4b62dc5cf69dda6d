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
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
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
from storage.sealer import Sealer

T = TypeVar("T")
_AGAIN = (Contended, errors.DeadlockDetected, errors.SerializationFailure)
_TRIES = 20  # one unit alone, again after a deadlock: a livelock this long is an outage


def redact(url: str) -> str:
    """The URL without its password, to name the database in messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc))


def _space(schema: str) -> int:
    """The advisory-lock space of one schema (a positive 31-bit number): workers on different
    schemas of one database (the tests' fresh schemas) never mistake each other's locks."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big") & 0x7FFFFFFF


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
    ) -> None:
        self._conn = PgConnection(conn)
        self._sealer = sealer
        self.worker = worker
        self._space = space
        self._executor = executor
        self._writer: GroupCommit[PgTx] = GroupCommit(self._execute, (psycopg.Error,))

    @classmethod
    async def open(cls, url: str, *, migrate_only: bool = False) -> PostgresStore:
        """Connect, migrate (waiting for another worker that migrates), and join the live
        workers. A database that cannot be reached or used is a `StorageError` naming it
        (never its password)."""
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
        return cls(conn, sealer, worker, space, executor)

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
        return await loop.run_in_executor(self._executor, self._run_batch, works)

    def _run_batch(self, works: list[Callable[[PgTx], Any]]) -> list[Outcome]:
        if self._conn.conn.closed:
            raise StorageError("the connection to PostgreSQL is closed")
        try:
            return self._attempt(works)
        except _AGAIN:
            pass  # undone: each unit again, alone
        outcomes: list[Outcome] = []
        for work in works:
            for _ in range(_TRIES):
                try:
                    outcomes += self._attempt([work])
                    break
                except _AGAIN:
                    continue
            else:
                outcomes.append((False, StorageError("the database stayed contended")))
        return outcomes

    def _attempt(self, works: list[Callable[[PgTx], Any]]) -> list[Outcome]:
        conn = self._conn.conn
        outcomes: list[Outcome] = []
        with conn.transaction():
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
        return outcomes


def _connect(url: str, migrate_only: bool) -> tuple[psycopg.Connection[Any], Sealer, int, int]:
    conn = psycopg.connect(url, autocommit=True)  # transactions are explicit, one per batch
    try:
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise StorageError(f"{redact(url)}: its search_path names no schema that exists")
        space = _space(str(schema[0]))
        _migration_lock(conn, space, take=True)
        try:
            new = _version_or_zero(conn) == 0
            migrate(conn)
            # Under the lock: a second worker starting at once reads the key the first made.
            sealer = Sealer.for_database(redact(url), new=new, beside=False)
        finally:
            _migration_lock(conn, space, take=False)
        worker = 0
        if not migrate_only:
            row = conn.execute("SELECT nextval('paychat_workers')").fetchone()
            worker = int(row[0]) if row else 0
            conn.execute("SELECT set_config('paychat.worker', %s, false)", (str(worker),))
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (space, worker))  # while it lives
    except BaseException:
        conn.close()
        raise
    return conn, sealer, worker, space


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

"""The SQLite adapter: aiosqlite, WAL, one writer that commits a batch of units in one transaction.

Every awaited aiosqlite call is a thread round trip (30-100 µs here), so a unit of work is not a
series of awaits: the writer task collects the units waiting, runs them all on aiosqlite's worker
thread in **one hop** and one COMMIT, each inside its own SAVEPOINT (a failing unit rolls back
alone), and releases their results only after the COMMIT (group commit; see
shared/reference/libraries.md §5).

An in-memory database (`:memory:`: the scenario runner's worlds, tests) has no disk to wait on,
so its units run on the event loop's own thread, the same batches through the same code: a thread
hop costs more than most units. It starts as an empty copy of a migrated template
(`storage/sqlite_memory.py`), not by running every migration again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast

import aiosqlite

from core.errors import RuleRefused
from core.threads import threads_without_signals
from storage.base import StorageError
from storage.group_commit import MAX_BATCH as MAX_BATCH
from storage.group_commit import GroupCommit, Outcome
from storage.migrations_index import migrations as migrations
from storage.sealer import Sealer, legacy_key_file
from storage.sqlite_memory import fresh_memory_database as fresh_memory_database
from storage.sqlite_memory import give_back
from storage.sqlite_migrate import migrate as migrate
from storage.tx import SqliteTx

T = TypeVar("T")
Statements = list[tuple[str, Any]]  # one unit's SQL, in order: (statement, parameters)


class _Connection(Protocol):
    """What the store needs of its connection: aiosqlite's, or an in-memory one run inline."""

    @property
    def _conn(self) -> sqlite3.Connection: ...

    async def _execute(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def close(self) -> None: ...


class _Inline:
    """An in-memory connection used on the event loop's thread (see the module's docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def _execute(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    async def close(self) -> None:
        give_back(self._conn)  # emptied and kept for the next world, or closed


def _create_private(path: str) -> None:
    """Create a new database file 0600, in a folder created 0700 when it is missing. SQLite
    would create it 0644 (readable by every user of the machine), and it gives the -wal and
    -shm files the mode of their database. An existing file is left as it is."""
    if path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    try:
        if not file.parent.exists():
            file.parent.mkdir(mode=0o700, parents=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # a database already (or a folder: SQLite says it cannot open it)
    except OSError as exc:  # a folder that cannot be created or written: a file in the way…
        raise StorageError(f"cannot open {path}: {exc.strerror or exc}") from None
    os.close(fd)


def remove_database(path: str) -> None:
    """Delete a database with what SQLite keeps beside it (-wal, -shm) and an older version's
    key file beside it: a fresh start (`paychat demo`, `paychat chat --fresh`)."""
    for name in (path, f"{path}-wal", f"{path}-shm", str(legacy_key_file(path))):
        try:
            Path(name).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot remove {name}: {exc.strerror or exc}") from None


class SqliteStore:
    def __init__(
        self, db: _Connection, sealer: Sealer, record: list[Statements] | None = None
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._recorded = record
        # In memory, a unit runs at once, in the caller's turn of the loop: a batch of one, as
        # any unit that finds no other waiting is on a file; nothing waits between units.
        self._inline = isinstance(db, _Inline)
        self._closed = False
        self._writer: GroupCommit[SqliteTx] | None = (
            None if self._inline else GroupCommit(self._execute, (sqlite3.Error,))
        )

    @classmethod
    async def open(
        cls,
        path: str,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        *,
        record: list[Statements] | None = None,
    ) -> SqliteStore:
        """`record` (for `paychat bench` only): every statement a committed unit runs (reads and
        writes, with their parameters, in commit order, one list per unit) is appended to it.
        The bench replays them with plain sqlite3: the writes alone are the storage ceiling; all
        of them show what the engine's SQL costs without the engine."""
        if path == ":memory:":
            conn = fresh_memory_database()  # foreign keys on; nothing to sync
            return cls(_Inline(conn), Sealer.for_database(path, new=True), record)
        _create_private(path)
        connecting = aiosqlite.connect(path, isolation_level=None)
        try:
            with threads_without_signals():  # the database's thread is born here
                db = await connecting
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread when the connection fails but does not wait for
            # it; a worker that outlives the event loop dies with a traceback on stderr. It
            # ends at once (a closed connection has nothing left to run).
            connecting._thread.join()
            raise StorageError(f"cannot open {path}: {exc}") from None
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute(f"PRAGMA synchronous={synchronous}")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            async with db.execute("PRAGMA user_version") as cursor:
                found = await cursor.fetchone()
            new = found is None or found[0] == 0  # nothing in it yet: it may get a new key
            sealer = Sealer.for_database(path, new=new)
            await db._execute(migrate, db._conn)  # type: ignore[no-untyped-call]  # see below
        except BaseException as exc:
            # Opened half way (not a database, a migration or the key failed): close what
            # opened, or its thread keeps the process alive.
            await db.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot open {path}: {exc}") from None
            raise
        return cls(db, sealer, record)

    async def run(self, work: Callable[[SqliteTx], T]) -> T:
        if self._writer is not None:
            return await self._writer.run(work)
        if self._closed:
            raise StorageError("the store is closed")
        try:
            ((ok, value),) = self._run_batch([work])
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from None
        if ok:
            return cast(T, value)
        raise value

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            await self._writer.close()
        await self._db.close()

    async def _execute(self, works: list[Callable[[SqliteTx], Any]]) -> list[Outcome]:
        # aiosqlite has no public "run this function on the worker thread"; _execute is that,
        # and the version range in pyproject.toml pins the API we rely on.
        return await self._db._execute(self._run_batch, works)

    def _run_batch(self, works: list[Callable[[SqliteTx], Any]]) -> list[Outcome]:
        conn = self._db._conn
        outcomes: list[Outcome] = []
        # A batch of one (every in-memory unit; most on a quiet file) needs no savepoint: its
        # transaction is its unit, and two statements fewer is a sixth of a short unit's SQL.
        alone = len(works) == 1
        conn.execute("BEGIN IMMEDIATE")
        try:
            for work in works:
                if not alone:
                    conn.execute("SAVEPOINT unit")
                statements: Statements = []
                try:
                    if self._recorded is None:
                        value = work(SqliteTx(conn, self._sealer))  # its read cache is its own
                    else:
                        self._recorded.append(statements)
                        value = work(SqliteTx(_Recording(conn, statements), self._sealer))
                except Exception as exc:  # a failing unit rolls back alone; the caller gets it
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (a full disk, an I/O
                        # error): every unit of the batch is undone, and every caller gets this
                        # error (not "no such savepoint", which rolling back to it would say).
                        raise (
                            exc
                            if isinstance(exc, sqlite3.Error)
                            else StorageError(f"the transaction was rolled back: {exc}")
                        ) from None
                    statements.clear()  # nothing of it was committed
                    if alone:
                        conn.execute("ROLLBACK")
                        return [(False, _translate(exc))]
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    outcomes.append((False, _translate(exc)))
                else:
                    if not alone:
                        conn.execute("RELEASE unit")
                    outcomes.append((True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes


class _Recording:
    """A connection that notes the statements run through it (for the benchmark only)."""

    def __init__(self, conn: sqlite3.Connection, statements: Statements) -> None:
        self._conn = conn
        self._statements = statements

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self._statements.append((sql, params))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = list(rows)
        self._statements.extend((sql, row) for row in rows)
        return self._conn.executemany(sql, rows)


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        # A rule the unit did not expect to break (those it expects, it turns into
        # DuplicateError itself): the same event would break it again, so it is not an outage.
        return RuleRefused(str(exc))
    if isinstance(exc, sqlite3.Error):
        return StorageError(str(exc))
    return exc

"""The PostgreSQL adapter's rows: the SQLite rows' SQL, spoken in PostgreSQL's dialect.

The statements of `storage/sqlite_rows/` are plain SQL but for a few SQLite spellings; rather
than keep a second copy of every query (which would drift), `PgConnection` rewrites each
statement once (cached) as it passes: `?` placeholders, `INSERT OR IGNORE` / `INSERT OR REPLACE`
(upserts on the table's key), `json_extract`, a boolean stored as an integer, and `RETURNING id`
where SQLite's `lastrowid` is read. `PgTx` then adds what only several workers need: a lock per
conversation, and jobs and outbox rows claimed by one live worker at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors

from core.errors import DuplicateError, StorageError
from core.messages import Outbound
from storage.sealer import Sealer
from storage.sqlite_rows.jobs import _job
from storage.tx import SqliteTx

# The key of each table SQLite's INSERT OR REPLACE replaces on.
_KEYS = {
    "pins": ("user_id",),
    "sms_codes": ("user_id", "purpose"),
    "payouts": ("business_id",),
    "messages": ("user_id", "platform_id"),
    "card_funds": ("token",),
    "processor_charges": ("payment_id",),
}
_SERIAL = {"outbox", "jobs", "ledger"}  # an identity `id`, read back as SQLite's lastrowid
# Inserts whose uniqueness the rows expect to break (they turn it into DuplicateError): each
# runs in a savepoint of its own, since a failed statement aborts a PostgreSQL transaction.
_MAY_DUPLICATE = {"users", "payments"}
_INSERT = re.compile(r"INSERT (?:OR (IGNORE|REPLACE) )?INTO (\w+) \(([^)]*)\)(.*)", re.S)
_REWRITES = (
    ("json_extract(payload, '$.key')", "(payload::jsonb ->> 'key')"),
    ("is_default=(id=%s)", "is_default=(id=%s)::integer"),
)


@lru_cache(maxsize=512)
def to_postgres(sql: str) -> tuple[str, str]:
    """A statement in PostgreSQL's dialect, and the table when it is an insert ("" if not)."""
    pg = sql.replace("%", "%%").replace("?", "%s")
    for sqlite_text, pg_text in _REWRITES:
        pg = pg.replace(sqlite_text, pg_text)
    insert = _INSERT.fullmatch(pg)
    if insert is None:
        return pg, ""
    verb, table, names, rest = insert.groups()
    pg = f"INSERT INTO {table} ({names}){rest}"
    if verb == "IGNORE":
        pg += " ON CONFLICT DO NOTHING"
    elif verb == "REPLACE":
        key = _KEYS[table]
        columns = [name.strip() for name in names.split(",")]
        updates = ", ".join(f"{c}=EXCLUDED.{c}" for c in columns if c not in key)
        pg += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    if table in _SERIAL:
        pg += " RETURNING id"
    return pg, table


class _Result:
    """A psycopg cursor's result, read the way the rows read a sqlite3 cursor."""

    def __init__(self, cursor: psycopg.Cursor[Any], returning: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        if returning:
            row = cursor.fetchone()
            self.lastrowid = None if row is None else int(row[0])

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """The `Connection` the SQLite rows use, over a psycopg connection in a transaction."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = (), /) -> _Result:
        pg, table = to_postgres(sql)
        if table not in _MAY_DUPLICATE:
            return _Result(self.conn.execute(pg, params), table in _SERIAL)
        try:
            with self.conn.transaction():  # a savepoint: the unit goes on after a duplicate
                return _Result(self.conn.execute(pg, params), False)
        except errors.UniqueViolation as exc:
            constraint = exc.diag.constraint_name or "a unique key"
            raise DuplicateError(f"{table}: {constraint} holds this value already") from None

    def executemany(self, sql: str, rows: Any, /) -> _Result:
        pg, _ = to_postgres(sql)
        cursor = self.conn.cursor()
        cursor.executemany(pg, rows)
        return _Result(cursor, False)


class Contended(StorageError):
    """A unit after the first of a batch found a party held by another worker: the batch is
    undone and its units run again one by one (waiting is safe only holding nothing)."""


# The workers alive on this database: each holds a session lock (the schema's key, its id).
_LIVE = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
    "AND classid::bigint = %(space)s AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_FREE = f"(owner IS NULL OR owner = %(me)s OR owner NOT IN ({_LIVE}))"
_LEFT = f"(owner IS NULL OR owner <> %(me)s AND owner NOT IN ({_LIVE}))"  # by a dead worker


class PgTx(SqliteTx):
    """One per unit of work, on the store's connection, for the worker `worker` (whose lock
    in `space` says it is alive). `may_wait`: this unit holds no lock yet (the first of its
    transaction), so waiting for a party another worker holds cannot deadlock."""

    def __init__(
        self, conn: PgConnection, sealer: Sealer, worker: int, space: int, may_wait: bool
    ) -> None:
        super().__init__(conn, sealer)
        self._pg = conn.conn
        self._claim = {"me": worker, "space": space}
        self._may_wait = may_wait

    def hold_conversation(self, user_id: str) -> None:
        key = f"{self._claim['space']}:{user_id}"
        if self._may_wait:
            self._pg.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            return
        row = self._pg.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (key,)
        ).fetchone()
        if not (row and row[0]):
            raise Contended(user_id)

    def due_jobs(self, now: datetime, limit: int = 100) -> list[tuple[int, str, dict[str, Any]]]:
        """Due jobs no other live worker has claimed, claimed for this one (a job of a worker
        that died is taken over); locked rows are skipped, not waited for."""
        rows = self._pg.execute(
            "UPDATE jobs SET owner = %(me)s WHERE id IN (SELECT id FROM jobs WHERE done = 0 "
            f"AND due_at <= %(now)s AND {_FREE} ORDER BY due_at, id LIMIT %(limit)s "
            "FOR UPDATE SKIP LOCKED) RETURNING due_at, id, kind, payload",
            {**self._claim, "now": now.isoformat(), "limit": limit},
        ).fetchall()
        return [_job(id, kind, payload) for _, id, kind, payload in sorted(rows)]

    def undelivered(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Outbound]]:
        """Replies not yet delivered that this worker wrote, or whose worker is gone (taken
        over): never one a live worker is delivering."""
        return self._take(_FREE, after, limit)

    def orphaned(self, limit: int = 1000) -> list[tuple[int, Outbound]]:
        return self._take(_LEFT, 0, limit)

    def _take(self, which: str, after: int, limit: int) -> list[tuple[int, Outbound]]:
        rows = self._pg.execute(
            "UPDATE outbox SET owner = %(me)s WHERE id IN (SELECT id FROM outbox "
            f"WHERE delivered = 0 AND id > %(after)s AND {which} ORDER BY id "
            "LIMIT %(limit)s FOR UPDATE SKIP LOCKED) RETURNING id, body",
            {**self._claim, "after": after, "limit": limit},
        ).fetchall()
        return [self._undelivered(id, body) for id, body in sorted(rows)]

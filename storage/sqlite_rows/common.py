"""What every SQLite role class shares: the unit's connection and sealer, and time as text."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from storage.sealer import Sealer


class Connection(Protocol):
    """What the rows need of a sqlite3 connection (the benchmark passes a recorder). Its rows are
    `sqlite3.Row`s (`SqliteStore.open` sets the row factory), so every record is built from
    column names, never from positions."""

    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor: ...
    def executemany(self, sql: str, rows: Any, /) -> sqlite3.Cursor: ...


class SqliteRows:
    """The base of every role class. One instance serves one unit of work, so what a role keeps
    (the users cache) can never outlive a rollback."""

    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self.c = conn
        self.sealer = sealer

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.c.execute(sql, args).fetchone()
        return row

    def _value(self, sql: str, *args: Any) -> Any:
        """The one value of a query that always returns one row of one column (an aggregate)."""
        return self.c.execute(sql, args).fetchone()[0]


@lru_cache(maxsize=256)
def iso(value: datetime) -> str:
    # An event writes its `now` several times (inbox, outbox rows, conversation, payment).
    return value.isoformat()


def from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)

"""What every SQLite role class shares: the unit's connection and sealer, time as text, and
`columns`, which names what a query reads after the function that makes a record of it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from storage.sealer import Sealer


class Cursor(Protocol):
    """What the rows read of a statement's result (a sqlite3 cursor has it)."""

    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    def fetchone(self) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the rows need of a sqlite3 connection (the benchmark passes a recorder, the
    PostgreSQL adapter one that speaks its dialect: storage/pg_rows.py)."""

    def execute(self, sql: str, params: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, rows: Any, /) -> Cursor: ...


class SqliteRows:
    """The base of every role class. One instance serves one unit of work, so what a role keeps
    (the users cache) can never outlive a rollback."""

    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self.c = conn
        self.sealer = sealer

    def _one(self, sql: str, *args: Any) -> Any:
        """The first row, or None."""
        return self.c.execute(sql, args).fetchone()

    def _value(self, sql: str, *args: Any) -> Any:
        """The one value of a query that always returns one row of one column (an aggregate)."""
        return self.c.execute(sql, args).fetchone()[0]


def columns(build: Callable[..., Any], table: str = "", **tables: str) -> str:
    """The columns a row's builder reads: its parameters' names, in order (`self` aside).

    A query selects exactly these and calls `build(*row)`, so every value lands in the parameter
    of its own name, and the builder makes the record by keyword: neither the columns nor a
    record's fields can be reordered out of step. It costs one call a row (~0.4 µs with the
    keywords); `sqlite3.Row`, read by name, cost ~1.1 µs a row, 5% of the engine's CPU per event
    on `paychat bench`'s workload. For a join, `table` qualifies every name and `tables` one of
    them (`columns(build, "p", last4="a")`).
    """
    names = [name for name in inspect.signature(build).parameters if name != "self"]
    return ", ".join(f"{t}.{name}" if (t := tables.get(name, table)) else name for name in names)


@lru_cache(maxsize=256)
def iso(value: datetime) -> str:
    # An event writes its `now` several times (inbox, outbox rows, conversation, payment).
    return value.isoformat()


def from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)

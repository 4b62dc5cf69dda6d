"""Which adapter a storage URL names, and opening it.

    paychat.db, ./data/x.db, sqlite:///data/x.db, :memory:   SQLite (storage/sqlite.py)
    postgresql://user@host:5432/db, postgres://…             PostgreSQL (storage/postgres.py)

`storage.url` in config.yaml, or `PAYCHAT_DATABASE_URL`, says which; every command that opens
the database comes through `open_store`.
"""

from __future__ import annotations

from typing import Literal

from core.errors import StorageError
from storage.base import Store
from storage.rails_rows import TxWithRails
from storage.sqlite import SqliteStore, Statements

Kind = Literal["sqlite", "postgresql"]


def parse(url: str) -> tuple[Kind, str]:
    """(adapter, what it opens): a SQLite path, or the PostgreSQL URL as given."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///") or ":memory:"
    if url == "sqlite://":
        return "sqlite", ":memory:"
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StorageError(
            f"storage URL {scheme}://…: not a database PayChat speaks "
            "(a SQLite path or sqlite:///path, or postgresql://…)"
        )
    return "sqlite", url


async def open_store(
    url: str,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    *,
    record: list[Statements] | None = None,
) -> Store[TxWithRails]:
    """`synchronous` and `record` are SQLite's (see `SqliteStore.open`)."""
    kind, target = parse(url)
    if kind == "postgresql":
        if record is not None:
            raise StorageError("recording statements is SQLite's (paychat bench)")
        from storage.postgres import PostgresStore  # psycopg loads only when it is used

        return await PostgresStore.open(target)
    return await SqliteStore.open(target, synchronous, record=record)


async def migrate(url: str) -> str:
    """Bring the database's schema up to date and close it (`paychat migrate`): what it did."""
    kind, target = parse(url)
    store: Store[TxWithRails]
    if kind == "postgresql":
        from storage.postgres import PostgresStore, redact

        store = await PostgresStore.open(target, migrate_only=True)
        shown = redact(target)
    else:
        store = await SqliteStore.open(target)
        shown = target
    await store.close()
    return f"{shown}: the schema is up to date"

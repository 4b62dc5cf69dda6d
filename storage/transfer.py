"""Moving a SQLite deployment's data into PostgreSQL (`paychat migrate-data`), checked after.

Both schemas are brought up to date first; the destination must hold no data. Every table is
copied in one PostgreSQL transaction, parents before children, rows in SQLite's insertion order
(so `rowid` orderings, newest first, come out the same), identities moved past the copied ids.
Sealed values are copied as they are: the destination must be opened with the same key
(PAYCHAT_SECRET_KEY or the key file), which the payment lookup after the copy proves. Then the
check: every table's row count equal, the ledger balanced per currency, and the newest payment
read back through the PostgreSQL adapter equal to SQLite's.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg

from core.errors import StorageError
from storage.postgres import PostgresStore, redact
from storage.sqlite import SqliteStore

# Parents first (foreign keys); every table of the schema, the rails' books included.
TABLES = (
    "users",
    "conversations",
    "inbox",
    "outbox",
    "messages",
    "jobs",
    "bank_accounts",
    "payouts",
    "methods",
    "card_funds",
    "pins",
    "sms_codes",
    "sms_sends",
    "requests",
    "payments",
    "refunds",
    "ledger",
    "processor_charges",
)
_IDENTITIES = ("outbox", "jobs", "ledger")  # an `id` PostgreSQL numbers itself after the copy


@dataclass(frozen=True)
class Transfer:
    counts: dict[str, int]
    ledger: dict[str, int]  # per currency: 0 when balanced
    payment: str  # the payment looked up after ("" when there is none)


async def migrate_data(source: str, target: str) -> Transfer:
    """Copy the SQLite database at `source` into the PostgreSQL database at `target`."""
    # Both schemas up to date, one store at a time: a store left open when the other fails to
    # open keeps its thread, and the process, alive.
    await (await SqliteStore.open(source)).close()
    await (await PostgresStore.open(target)).close()
    try:
        with sqlite3.connect(source) as lite, psycopg.connect(target) as pg:
            counts = _copy(lite, pg)
            pg.commit()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read {source}: {exc}") from None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"cannot copy into {redact(target)}: {first}") from None
    return await _check(source, target, counts)


def _copy(lite: sqlite3.Connection, pg: psycopg.Connection[Any]) -> dict[str, int]:
    held = pg.execute("SELECT count(*) FROM users").fetchone()
    if held and held[0]:
        raise StorageError("the destination holds data already: migrate-data fills an empty one")
    counts = {}
    for table in TABLES:
        names = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
        rows = lite.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
        marks = ", ".join(["%s"] * len(names))
        with pg.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
        counts[table] = len(rows)
    for table in _IDENTITIES:
        pg.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
    return counts


async def _check(source: str, target: str, counts: dict[str, int]) -> Transfer:
    with psycopg.connect(target) as pg:
        for table, count in counts.items():
            found = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
            if not found or found[0] != count:
                raise StorageError(f"{table}: {count} rows read, {found} in the destination")
    lite = await SqliteStore.open(source)
    try:
        pg_store = await PostgresStore.open(target)
    except BaseException:
        await lite.close()  # or its thread keeps the process alive
        raise
    try:
        ledger = await pg_store.run(lambda tx: tx.ledger_sums())
        if any(ledger.values()):
            raise StorageError(f"the ledger does not balance after the copy: {ledger}")
        newest = await lite.run(
            lambda tx: tx.c.execute("SELECT id FROM payments ORDER BY rowid DESC").fetchone()
        )
        payment = "" if newest is None else str(newest[0])
        if payment:
            before = await lite.run(lambda tx: tx.payment(payment))
            after = await pg_store.run(lambda tx: tx.payment(payment))
            if before is None or before != after:
                raise StorageError(f"payment {payment} reads differently after the copy")
            # Its method's token is sealed: reading it proves the destination has the key.
            method = before.method_id
            if await lite.run(lambda tx: tx.method(method)) != await pg_store.run(
                lambda tx: tx.method(method)
            ):
                raise StorageError(f"payment {payment}'s method reads differently after")
    finally:
        await lite.close()
        await pg_store.close()
    return Transfer(counts, ledger, payment)

"""What makes a scenario case cheap to start keeps it a fresh, real world: a copied migrated
database (or one handed back and emptied) that shares nothing with the next case, parsed files
and lint results kept only while the files are unchanged, seeded PIN hashes that still verify
(and refuse) like any other, and a PIN-hash pool that outlives the engines sharing it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.engine import hash_pool
from bot.runtime import open_engine
from core.clock import SeededIds, VirtualClock
from core.settings import Settings
from payments.pin import verify_pin
from sim.scenarios.lint import lint
from sim.scenarios.loader import load_yaml
from sim.scenarios.world import seeded_pin
from storage.sqlite import SqliteStore, fresh_memory_database, migrations
from storage.sqlite_memory import give_back
from tests.conftest import START


def test_a_fresh_memory_database_is_fully_migrated() -> None:
    conn = fresh_memory_database()
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == migrations()[-1][0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "outbox", "payments", "ledger"} <= tables
    conn.close()


def test_a_database_handed_back_comes_back_empty_with_its_keys_on() -> None:
    conn = fresh_memory_database()
    conn.execute(
        "INSERT INTO users (id, role, phone, market, name, locale, biometric, created_at) "
        "VALUES ('asha', 'customer', '+919812345678', 'IN', 'Asha', 'en', 0, '2026-12-01')"
    )
    conn.execute(
        "INSERT INTO pins (user_id, hash, salt, wrong, locked_until) "
        "VALUES ('asha', x'00', x'00', 0, NULL)"
    )
    give_back(conn)
    again = fresh_memory_database()
    assert again is conn  # kept, with its schema parsed and its statements prepared
    tables = [r[0] for r in again.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert all(again.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] == 0 for t in tables)
    assert again.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert again.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    give_back(again)


def test_a_database_changed_or_mid_transaction_is_never_handed_out_again() -> None:
    changed, busy = fresh_memory_database(), fresh_memory_database()
    changed.execute("CREATE TABLE extra (x)")
    busy.execute("BEGIN")
    busy.execute("DELETE FROM users")
    give_back(changed)
    give_back(busy)
    following = {id(fresh_memory_database()) for _ in range(3)}
    assert id(changed) not in following
    assert id(busy) not in following
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not kept
        changed.execute("SELECT 1")


async def test_memory_stores_share_nothing() -> None:
    first, second = await SqliteStore.open(":memory:"), await SqliteStore.open(":memory:")
    try:
        assert await first.run(lambda tx: tx.claim("k", START)) is True
        # The template the second was copied from was never written: the key is new there.
        assert await second.run(lambda tx: tx.claim("k", START)) is True
        assert await first.run(lambda tx: tx.claim("k", START)) is False
    finally:
        await first.close()
        await second.close()


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    # The same size and modification time as before: only the text tells them apart.
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))


def test_a_parsed_file_is_parsed_again_when_its_text_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.convo.yaml"
    _write(path, "name: one\n")
    assert load_yaml(path) == {"name": "one"}
    assert load_yaml(path) is load_yaml(path)  # unchanged: the same parse
    _write(path, "name: two\n")
    assert load_yaml(path) == {"name": "two"}


def test_a_file_knows_where_variables_are_written(tmp_path: Path) -> None:
    """What holds no `${name}` is passed to a step as loaded (not copied to fill in nothing);
    what holds one, at any depth or in a key, is filled in."""
    path = tmp_path / "vars.yaml"
    path.write_text(
        "plain: {says: menu, buttons: [[a, b]]}\n"
        "deep: {expect: {asha: [{says: pay.succeeded, contains: '${req}'}]}}\n"
        "key: {'${party}': hello}\n"
        "listed: [x, [y, '${z}']]\n"
    )
    doc = load_yaml(path)
    assert doc.variables
    assert not doc["plain"].variables
    assert not doc["plain"]["buttons"].variables
    assert doc["deep"].variables
    assert doc["deep"]["expect"]["asha"][0].variables
    assert doc["key"].variables
    assert doc["listed"].variables
    assert doc["listed"][1].variables


def test_lint_sees_a_change_in_an_included_partial(tmp_path: Path) -> None:
    (tmp_path / "part.yaml").write_text("steps:\n  - shop: /start\n")
    main = tmp_path / "m.convo.yaml"
    main.write_text(
        "version: 1\nparties:\n  shop: {role: business, phone: '+91 98765 43210'}\n"
        "steps:\n  - include: part.yaml\n"
    )
    assert lint(main) == []
    (tmp_path / "part.yaml").write_text("steps:\n  - shop: /start\n    expct: {}\n")
    assert [p.problem for p in lint(main)] == ["unknown step key 'expct' (not a declared party)"]


def test_a_seeded_pin_is_a_real_hash_of_that_pin(settings: Settings) -> None:
    cost = settings.security.pin_hash_cost
    stored, salt = seeded_pin("2580", b"pepper", cost)
    assert seeded_pin("2580", b"pepper", cost) == (stored, salt)  # made once per process
    assert verify_pin("2580", stored, salt, b"pepper")
    assert not verify_pin("2581", stored, salt, b"pepper")
    assert not verify_pin("2580", stored, salt, b"other pepper")
    assert stored[0] & 0x7F == cost  # at the configured cost


async def test_a_shared_hash_pool_outlives_its_engines(settings: Settings) -> None:
    pool = hash_pool()
    try:
        for _ in range(2):
            async with open_engine(
                settings, ":memory:", clock=VirtualClock(START), ids=SeededIds(0), hashing=pool
            ):
                pass
        assert pool.submit(lambda: 42).result() == 42  # not shut down by either engine
    finally:
        pool.shutdown()

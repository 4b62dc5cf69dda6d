"""In-memory SQLite databases (the scenario runner's worlds, tests): a copy of a migrated
template, and emptied ones kept for the next world on the same thread.

A new connection parses the schema on its first statement (~150 µs for 18 tables) and prepares
every statement again (a case runs ~80 different ones), and a scenario run opens a database per
case. A database handed back (`give_back`) is emptied, every row of every table deleted (a copy
of the template has none), and the next `fresh_memory_database` on that thread takes it with its
parsed schema and prepared statements. One whose schema changed, or left in a transaction, is
closed instead: only an empty copy of the template is ever handed out.
"""

from __future__ import annotations

import sqlite3
import threading

from storage.sqlite_migrate import migrate

# Emptied databases kept per thread: as many as a scenario run has worlds open at once (16,
# sim/scenarios/suite.AT_ONCE), so a wave of cases never copies the template again.
_KEPT = 16


class _Template:
    """Every migration applied, no rows; never written after it is made."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        migrate(self.conn)
        # What a copy's schema cookie reads (a backup does not keep the template's): a database
        # handed back reading anything else had its schema changed, and is not kept.
        copy = self.copy()
        self.schema = copy.execute("PRAGMA schema_version").fetchone()[0]
        copy.close()
        tables = [
            n for (n,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        self.emptying = tuple(f'DELETE FROM "{name}"' for name in self._children_first(tables))

    def copy(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.backup(conn)
        return conn

    def _children_first(self, tables: list[str]) -> list[str]:
        """Every table after those that refer to it: emptied in this order, no foreign key is
        broken on the way, so they stay on (turning them off and on again would make SQLite
        prepare every statement again)."""
        parents = {
            table: {row[2] for row in self.conn.execute(f"PRAGMA foreign_key_list('{table}')")}
            - {table}
            for table in tables
        }
        ordered: list[str] = []
        while len(ordered) < len(tables):
            ready = [
                table
                for table in tables
                if table not in ordered
                and not any(table in parents[t] for t in tables if t not in ordered)
            ]
            # Tables referring to each other in a ring: emptying them fails and the database
            # is closed, never handed out with rows in it.
            ordered += ready or [t for t in tables if t not in ordered]
        return ordered


_template: _Template | None = None
_lock = threading.Lock()  # the template is made and copied from whichever thread opens a store
_kept = threading.local()  # .databases: this thread's emptied databases


def _the_template() -> _Template:
    global _template
    with _lock:
        if _template is None:
            _template = _Template()
        return _template


def _databases() -> list[sqlite3.Connection]:
    databases: list[sqlite3.Connection] | None = getattr(_kept, "databases", None)
    if databases is None:
        databases = _kept.databases = []
    return databases


def fresh_memory_database() -> sqlite3.Connection:
    """An empty in-memory database with every migration applied (its `user_version` too) and
    foreign keys on, for the calling thread: one handed back on this thread, or a new copy of
    the template (copying its pages costs ~0.1 ms; migrating would cost ~2 ms)."""
    kept = _databases()
    if kept:
        return kept.pop()
    template = _the_template()
    with _lock:
        conn = template.copy()
    # Set once: setting a flag pragma, even to its value, makes every prepared statement be
    # prepared again. A memory database has no disk to sync.
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def give_back(conn: sqlite3.Connection) -> None:
    """Done with a database from `fresh_memory_database`: emptied and kept for the next one
    on this thread, or closed."""
    kept = _databases()
    if len(kept) < _KEPT and _emptied(conn):
        kept.append(conn)
    else:
        conn.close()


def _emptied(conn: sqlite3.Connection) -> bool:
    template = _the_template()
    if conn.in_transaction:
        return False
    try:
        if conn.execute("PRAGMA schema_version").fetchone()[0] != template.schema:
            return False
        conn.execute("BEGIN")
        for statement in template.emptying:
            conn.execute(statement)
        conn.execute("COMMIT")
    except sqlite3.Error:
        return False
    return True

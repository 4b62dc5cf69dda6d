"""Bringing a SQLite database's schema up to date: the migrations newer than its
`PRAGMA user_version`, each in its own transaction."""

from __future__ import annotations

import sqlite3

from storage.migrations_index import migrations


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than `PRAGMA user_version`, each in its own transaction."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, sql in migrations():
        if version > current:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
            current = version
    return int(current)

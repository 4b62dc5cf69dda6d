"""The schema's migrations, for both dialects, from one folder.

`storage/migrations/NNN_name.sql` is SQLite's; `storage/migrations/postgresql/NNN_name.sql` is
its PostgreSQL twin, with the same number (tests/test_storage.py checks that every version has
both). Each adapter applies the versions its database has not seen, in order: SQLite keeps the
version in `PRAGMA user_version` (storage/sqlite.py), PostgreSQL in a table, under an advisory
lock so that one of several workers starting at once migrates and the others wait
(storage/postgres.py).
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str]]:
    """(version, SQL) of every migration of a dialect, oldest first."""
    folder = resources.files("storage") / "migrations"
    if dialect == "postgresql":
        folder = folder / "postgresql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)

"""`paychat migrate-data --from sqlite:///… --to postgresql://…`: the copy and what it checked."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from rich.console import Console

from core.errors import StorageError
from storage.opening import parse


def run_migrate_data(source: str, target: str, console: Console) -> int:
    try:
        kind, path = parse(source)
        if kind != "sqlite" or path == ":memory:":
            raise StorageError(f"--from {source}: not a SQLite file")
        if not Path(path).is_file():  # opening it would create an empty database there
            raise StorageError(f"no SQLite database at {path}")
        if parse(target)[0] != "postgresql":
            raise StorageError(f"--to {target}: not a postgresql:// URL")
        from storage.transfer import migrate_data

        done = asyncio.run(migrate_data(path, target))
    except StorageError as exc:
        sys.stderr.write(f"paychat migrate-data: {exc}\n")
        return 2
    for table, count in done.counts.items():
        console.print(f"{table:<18} {count:>8} rows", highlight=False)
    console.print("ledger balanced in " + (", ".join(sorted(done.ledger)) or "no currency yet"))
    if done.payment:
        console.print(f"payment {done.payment} and its method read the same on both")
    return 0

"""What a worker's PostgreSQL session holds, and setting it up again on a new connection.

A worker's session is more than a connection: its schema (from the URL's `search_path`), the
setting `paychat.worker` (the default owner of the outbox rows it writes) and a session advisory
lock on its id (which says to the other workers that it lives, so they leave its replies and
jobs alone). When the connection is lost, PostgreSQL ends the session and frees the lock; the
store's next batch reconnects with `rejoin`, which rebuilds all three under the same worker id.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from core.errors import StorageError

# Waits between tries to reconnect (seconds): five tries over ~3 s, then the batch fails and
# the next one tries again; an outage costs each batch that much, never a busy loop.
BACKOFF = (0.1, 0.2, 0.4, 0.8, 1.6)
CONNECT_TIMEOUT = 5  # seconds (libpq's connect_timeout): a cut network fails a try, not hangs


class Unstarted(StorageError):
    """The connection was found lost at the batch's BEGIN: nothing of the batch ran."""


def space(schema: str) -> int:
    """The advisory-lock space of one schema (a positive 31-bit number): workers on different
    schemas of one database (the tests' fresh schemas) never mistake each other's locks."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big") & 0x7FFFFFFF


def connect(url: str) -> psycopg.Connection[Any]:
    """autocommit: transactions are explicit, one per batch. A timeout the URL sets wins."""
    if "connect_timeout" in conninfo_to_dict(url):
        return psycopg.connect(url, autocommit=True)
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def join(conn: psycopg.Connection[Any], lock_space: int, worker: int) -> None:
    """Make this session worker `worker`'s: its setting, and its lock, taken only if free (a
    session of its own not yet ended by the server still holds it: this try fails, a later
    one succeeds once PostgreSQL has noticed; never a wait on it)."""
    conn.execute("SELECT set_config('paychat.worker', %s, false)", (str(worker),))
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (lock_space, worker)).fetchone()
    if not (row and row[0]):
        raise StorageError(f"worker {worker}'s lock is still held by its lost session")


def rejoin(url: str, worker: int, lock_space: int) -> psycopg.Connection[Any]:
    """A new connection set up as worker `worker`'s, in the schema it had."""
    conn = connect(url)
    try:
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None or space(str(schema[0])) != lock_space:
            raise StorageError("the schema on the search path is not the one it had")
        join(conn, lock_space, worker)
    except BaseException:
        conn.close()
        raise
    return conn

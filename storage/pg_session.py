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
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from core.errors import StorageError

# Waits between tries to reconnect (seconds): five tries over ~3 s, then the batch fails and
# the next one tries again; an outage costs each batch that much, never a busy loop.
BACKOFF = (0.1, 0.2, 0.4, 0.8, 1.6)
# What libpq is told unless the URL says otherwise: a connect that gets no answer fails after
# 5 s, and on TCP a peer gone silent (a cut network) is noticed within ~25 s (keepalives) or 30
# s of unacknowledged data, rather than after the kernel's two hours: no batch hangs for long.
_DEFAULTS = {
    "connect_timeout": "5",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


class Unstarted(StorageError):
    """The connection was found lost at the batch's BEGIN: nothing of the batch ran."""


def space(schema: str) -> int:
    """The advisory-lock space of one schema (a positive 31-bit number): workers on different
    schemas of one database (the tests' fresh schemas) never mistake each other's locks."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big") & 0x7FFFFFFF


def connect(url: str) -> psycopg.Connection[Any]:
    """autocommit: transactions are explicit, one per batch."""
    given = conninfo_to_dict(url)
    extra = {k: v for k, v in _DEFAULTS.items() if k not in given}
    return psycopg.connect(make_conninfo(url, **extra), autocommit=True)


def join(conn: psycopg.Connection[Any], lock_space: int, worker: int) -> bool:
    """Make this session worker `worker`'s: its setting, and its lock if it is free (never a
    wait on it). Whether it took the lock."""
    conn.execute("SELECT set_config('paychat.worker', %s, false)", (str(worker),))
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (lock_space, worker)).fetchone()
    return bool(row and row[0])


def rejoin(url: str, worker: int, lock_space: int, lost: int) -> psycopg.Connection[Any]:
    """A new connection set up as worker `worker`'s, in the schema it had. `lost`: the
    backend pid of its lost session. After a cut network PostgreSQL may keep that session,
    and the worker's lock, until its own keepalives give up (hours, by default): a session
    that is this worker's own, lost, is ended here (same role: no superuser needed); a lock
    held by any other session is a failed try."""
    conn = connect(url)
    try:
        schema = conn.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None or space(str(schema[0])) != lock_space:
            raise StorageError("the schema on the search path is not the one it had")
        if not join(conn, lock_space, worker):
            if _holder(conn, lock_space, worker) == lost:
                conn.execute("SELECT pg_terminate_backend(%s, 5000)", (lost,))
            if not join(conn, lock_space, worker):
                raise StorageError(f"worker {worker}'s lock is held by another session")
    except BaseException:
        conn.close()
        raise
    return conn


def _holder(conn: psycopg.Connection[Any], lock_space: int, worker: int) -> int | None:
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
        "AND classid::bigint = %s AND objid::bigint = %s "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (lock_space, worker),
    ).fetchone()
    return None if row is None else int(row[0])

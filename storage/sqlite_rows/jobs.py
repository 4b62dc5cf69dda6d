"""SQLite rows of the jobs due at a time (expiry, unlocks, status checks)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from storage.sqlite_rows.common import SqliteRows, columns, from_iso, iso


def _job(id: int, kind: str, payload: str) -> tuple[int, str, dict[str, Any]]:
    return id, kind, json.loads(payload)


_JOB = f"SELECT {columns(_job)} FROM jobs"


class SqliteJobRows(SqliteRows):
    def schedule(self, due_at: datetime, kind: str, payload: dict[str, Any]) -> int:
        cur = self.c.execute(
            "INSERT INTO jobs (due_at, kind, payload) VALUES (?, ?, ?)",
            (iso(due_at), kind, json.dumps(payload)),
        )
        return cast(int, cur.lastrowid)

    def due_jobs(self, now: datetime, limit: int = 100) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.c.execute(
            _JOB + " WHERE done=0 AND due_at<=? ORDER BY due_at, id LIMIT ?", (iso(now), limit)
        )
        return [_job(*row) for row in rows]

    def finish_job(self, job_id: int) -> bool:
        cur = self.c.execute("UPDATE jobs SET done=1 WHERE id=? AND done=0", (job_id,))
        return cur.rowcount == 1

    def cancel_jobs(self, kind: str, key: str) -> None:
        self.c.execute(
            "UPDATE jobs SET done=1 WHERE done=0 AND kind=? AND json_extract(payload, '$.key')=?",
            (kind, key),
        )

    def next_due(self) -> datetime | None:
        due_at = self._value("SELECT MIN(due_at) FROM jobs WHERE done=0")
        return None if due_at is None else from_iso(due_at)

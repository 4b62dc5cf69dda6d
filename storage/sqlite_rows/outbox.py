"""SQLite rows of the outbox (replies, delivered after the commit) and of the messages' ids on
the platform they were delivered to."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import cast

from core.messages import Button, Outbound
from storage.sqlite_rows.common import SqliteRows, columns, iso

_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # built once
_OUT_FIELDS = dataclasses.fields(Outbound)


def outbound_to_json(out: Outbound) -> str:
    # Field by field: dataclasses.asdict deep-copies, which cost more than the rest of the write.
    data = {f.name: getattr(out, f.name) for f in _OUT_FIELDS}
    data["buttons"] = [[{"id": b.id, "label": b.label} for b in row] for row in out.buttons]
    return _to_json(data)


def outbound_from_json(text: str) -> Outbound:
    data = json.loads(text)
    data["buttons"] = tuple(tuple(Button(**b) for b in row) for row in data["buttons"])
    return Outbound(**data)


class SqliteOutboxRows(SqliteRows):
    def add_outbox(self, outs: list[Outbound], now: datetime) -> list[int]:
        ids = []
        for out in outs:
            # A toast is answered by the transport that received the event, at once or never
            # (a callback query expires): there is nothing to deliver later.
            cur = self.c.execute(
                "INSERT INTO outbox (to_user, kind, key, body, created_at, delivered) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (out.to, out.kind, out.key, self._body(out), iso(now), int(out.kind == "toast")),
            )
            ids.append(cast(int, cur.lastrowid))
        return ids

    def _undelivered(self, id: int, body: str) -> tuple[int, Outbound]:
        return id, outbound_from_json(self._unseal(body))

    _UNDELIVERED = f"SELECT {columns(_undelivered)} FROM outbox"

    def undelivered(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Outbound]]:
        rows = self.c.execute(
            self._UNDELIVERED + " WHERE delivered=0 AND id>? ORDER BY id LIMIT ?", (after, limit)
        )
        return [self._undelivered(*row) for row in rows]

    def _body(self, out: Outbound) -> str:
        # An SMS carries a one-time code: sealed at rest like every other secret.
        text = outbound_to_json(out)
        return "sealed:" + self.sealer.seal(text).decode() if out.kind == "sms" else text

    def _unseal(self, body: str) -> str:
        if body.startswith("sealed:"):
            return self.sealer.open(body.removeprefix("sealed:").encode())
        return body

    def orphaned(self, limit: int = 1000) -> list[tuple[int, Outbound]]:
        return []  # one writing process at a time: every row is its own (`undelivered`)

    def mark_delivered(self, ids: list[int]) -> None:
        self.c.executemany("UPDATE outbox SET delivered=1 WHERE id=?", [(i,) for i in ids])

    def mark_failed(self, ids: list[int]) -> None:
        self.c.executemany(
            "UPDATE outbox SET delivered=2 WHERE id=? AND delivered=0", [(i,) for i in ids]
        )

    def remember_message(self, user_id: str, ref: str, platform_id: str) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO messages (user_id, ref, platform_id) VALUES (?, ?, ?)",
            (user_id, ref, platform_id),
        )

    def platform_ids(self, user_id: str, ref: str) -> list[str]:
        rows = self.c.execute(
            "SELECT platform_id FROM messages WHERE user_id=? AND ref=? ORDER BY rowid DESC",
            (user_id, ref),
        )
        return [str(platform_id) for (platform_id,) in rows]

    def ref_for(self, user_id: str, platform_id: str) -> str | None:
        row = self._one(
            "SELECT ref FROM messages WHERE user_id=? AND platform_id=?", user_id, platform_id
        )
        return None if row is None else str(row[0])

"""SQLite rows of the inbox (claimed event keys), the parties, and their conversations."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from core.errors import DuplicateError
from core.records import Role, User
from storage.sealer import Sealer
from storage.sqlite_rows.common import Connection, SqliteRows, columns, iso

# Built once: json.dumps with any option builds a new encoder on every call. ASCII: typed text
# may hold lone surrogates, which UTF-8 cannot store.
_to_ascii_json = json.JSONEncoder(separators=(",", ":")).encode


class SqliteInboxRows(SqliteRows):
    def claim(self, key: str, now: datetime) -> bool:
        cur = self.c.execute(
            "INSERT OR IGNORE INTO inbox (key, received_at) VALUES (?, ?)", (key, iso(now))
        )
        return cur.rowcount == 1


def _user(
    id: str, role: Role, phone: str, market: str, name: str, locale: str, biometric: int
) -> User:
    return User(
        id=id,
        role=role,
        phone=phone,
        market=market,
        name=name,
        locale=locale,
        biometric=bool(biometric),
    )


_USER = f"SELECT {columns(_user)} FROM users"


class SqliteUserRows(SqliteRows):
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        super().__init__(conn, sealer)
        # One unit of work reads the same parties several times (sender, recipients, the other
        # party); the rows live for one unit, so this cache cannot outlive a rollback.
        self._users: dict[str, User | None] = {}

    def user(self, user_id: str) -> User | None:
        if user_id in self._users:
            return self._users[user_id]
        row = self._one(_USER + " WHERE id=?", user_id)
        found = self._users[user_id] = None if row is None else _user(*row)
        return found

    def user_by_phone(self, phone: str) -> User | None:
        row = self._one(_USER + " WHERE phone=?", phone)
        return None if row is None else _user(*row)

    def add_user(self, user: User, now: datetime) -> None:
        self._users.pop(user.id, None)
        try:
            self.c.execute(
                "INSERT INTO users (id, role, phone, market, name, locale, biometric, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    user.role,
                    user.phone,
                    user.market,
                    user.name,
                    user.locale,
                    int(user.biometric),
                    iso(now),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"user {user.id} or phone already registered") from exc

    def set_biometric(self, user_id: str, enrolled: bool) -> None:
        self._users.pop(user_id, None)
        self.c.execute("UPDATE users SET biometric=? WHERE id=?", (int(enrolled), user_id))

    def set_locale(self, user_id: str, locale: str) -> None:
        self._users.pop(user_id, None)
        self.c.execute("UPDATE users SET locale=? WHERE id=?", (locale, user_id))


def _conversation(flow: str, state: str, data: str) -> tuple[str, str, dict[str, Any]]:
    return flow, state, json.loads(data)


_CONVERSATION = f"SELECT {columns(_conversation)} FROM conversations"


class SqliteConversationRows(SqliteRows):
    def hold_conversation(self, user_id: str) -> None:
        """Nothing to do: SQLite runs one writing transaction at a time (BEGIN IMMEDIATE), across
        processes too, so no other unit can touch this conversation before the commit."""

    def conversation(self, user_id: str) -> tuple[str, str, dict[str, Any]] | None:
        row = self._one(_CONVERSATION + " WHERE user_id=?", user_id)
        return None if row is None else _conversation(*row)

    def save_conversation(
        self, user_id: str, flow: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        self.c.execute(
            "INSERT INTO conversations (user_id, flow, state, data, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE "
            "SET flow=excluded.flow, state=excluded.state, data=excluded.data, "
            "updated_at=excluded.updated_at",
            (user_id, flow, state, _to_ascii_json(data), iso(now)),
        )

    def clear_conversation(self, user_id: str) -> None:
        self.c.execute("DELETE FROM conversations WHERE user_id=?", (user_id,))

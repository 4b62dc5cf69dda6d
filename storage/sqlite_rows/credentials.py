"""SQLite rows of the security PIN and of the one-time SMS codes."""

from __future__ import annotations

from datetime import datetime

from core.records import PinRecord, SmsCode
from storage.sqlite_rows.common import SqliteRows, columns, from_iso, iso


def _pin(hash: bytes, salt: bytes, wrong: int, locked_until: str | None) -> PinRecord:
    return PinRecord(
        hash=hash,
        salt=salt,
        wrong=wrong,
        locked_until=None if locked_until is None else from_iso(locked_until),
    )


_PIN = f"SELECT {columns(_pin)} FROM pins"


def _sms_code(code_hash: bytes, expires_at: str, tries_left: int, sent_at: str) -> SmsCode:
    return SmsCode(
        code_hash=code_hash,
        expires_at=from_iso(expires_at),
        tries_left=tries_left,
        sent_at=from_iso(sent_at),
    )


_SMS_CODE = f"SELECT {columns(_sms_code)} FROM sms_codes"


class SqlitePinRows(SqliteRows):
    def pin(self, user_id: str) -> PinRecord | None:
        row = self._one(_PIN + " WHERE user_id=?", user_id)
        return None if row is None else _pin(*row)

    def pin_pepper(self) -> bytes:
        return self.sealer.pepper

    def set_pin(self, user_id: str, hash_: bytes, salt: bytes) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO pins (user_id, hash, salt, wrong, locked_until) "
            "VALUES (?, ?, ?, 0, NULL)",
            (user_id, hash_, salt),
        )

    def set_pin_counters(self, user_id: str, wrong: int, locked_until: datetime | None) -> None:
        self.c.execute(
            "UPDATE pins SET wrong=?, locked_until=? WHERE user_id=?",
            (wrong, None if locked_until is None else iso(locked_until), user_id),
        )


class SqliteSmsCodeRows(SqliteRows):
    def sms_code(self, user_id: str, purpose: str) -> SmsCode | None:
        row = self._one(_SMS_CODE + " WHERE user_id=? AND purpose=?", user_id, purpose)
        return None if row is None else _sms_code(*row)

    def save_sms_code(self, user_id: str, purpose: str, code: SmsCode) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO sms_codes "
            "(user_id, purpose, code_hash, expires_at, tries_left, sent_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                user_id,
                purpose,
                code.code_hash,
                iso(code.expires_at),
                code.tries_left,
                iso(code.sent_at),
            ),
        )

    def delete_sms_code(self, user_id: str, purpose: str) -> None:
        self.c.execute("DELETE FROM sms_codes WHERE user_id=? AND purpose=?", (user_id, purpose))

    def sms_sends_since(self, user_id: str, since: datetime) -> int:
        return int(
            self._value(
                "SELECT COUNT(*) FROM sms_sends WHERE user_id=? AND sent_at>?", user_id, iso(since)
            )
        )

    def log_sms_send(self, user_id: str, now: datetime) -> None:
        self.c.execute(
            "INSERT INTO sms_sends (user_id, sent_at) VALUES (?, ?)", (user_id, iso(now))
        )

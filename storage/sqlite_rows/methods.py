"""SQLite rows of a business's payout account and of a customer's payment methods."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.records import Method, Payout
from storage.sqlite_rows.common import SqliteRows, from_iso, iso


class SqlitePayoutRows(SqliteRows):
    def payout(self, business_id: str) -> Payout | None:
        # The last 4 digits are the bank account's: the simulated bank's row, joined.
        row = self._one(
            "SELECT p.business_id, p.bank, p.account_id, a.last4 FROM payouts p "
            "JOIN bank_accounts a ON a.id = p.account_id WHERE p.business_id=?",
            business_id,
        )
        if row is None:
            return None
        return Payout(
            business_id=row["business_id"],
            bank=row["bank"],
            account_id=row["account_id"],
            last4=row["last4"],
        )

    def set_payout(self, business_id: str, bank: str, account_id: str, now: datetime) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO payouts (business_id, bank, account_id, linked_at) "
            "VALUES (?, ?, ?, ?)",
            (business_id, bank, account_id, iso(now)),
        )

    def remove_payout(self, business_id: str) -> None:
        self.c.execute("DELETE FROM payouts WHERE business_id=?", (business_id,))


_METHOD = (
    "SELECT id, user_id, kind, label, token_enc, added_at, is_default, brand, funding,"
    " last4, expiry FROM methods"
)


class SqliteMethodRows(SqliteRows):
    def _method(self, row: sqlite3.Row) -> Method:
        return Method(
            id=row["id"],
            user_id=row["user_id"],
            kind=row["kind"],
            label=row["label"],
            token=self.sealer.open(row["token_enc"]),
            added_at=from_iso(row["added_at"]),
            is_default=bool(row["is_default"]),
            brand=row["brand"],
            funding=row["funding"],
            last4=row["last4"],
            expiry=row["expiry"],
        )

    def add_method(self, method: Method) -> None:
        self.c.execute(
            "INSERT INTO methods (id, user_id, kind, label, token_enc, brand, funding, last4, "
            "expiry, added_at, is_default) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                method.id,
                method.user_id,
                method.kind,
                method.label,
                self.sealer.seal(method.token),
                method.brand,
                method.funding,
                method.last4,
                method.expiry,
                iso(method.added_at),
                int(method.is_default),
            ),
        )

    def methods(self, user_id: str) -> list[Method]:
        rows = self.c.execute(
            _METHOD + " WHERE user_id=? AND removed=0 ORDER BY is_default DESC, added_at, id",
            (user_id,),
        )
        return [self._method(row) for row in rows]

    def method(self, method_id: str) -> Method | None:
        row = self._one(_METHOD + " WHERE id=?", method_id)
        return None if row is None else self._method(row)

    def set_default_method(self, user_id: str, method_id: str) -> None:
        self.c.execute(
            "UPDATE methods SET is_default=(id=?) WHERE user_id=? AND removed=0",
            (method_id, user_id),
        )

    def remove_method(self, user_id: str, method_id: str) -> None:
        self.c.execute(
            "UPDATE methods SET removed=1, is_default=0 WHERE id=? AND user_id=?",
            (method_id, user_id),
        )

"""SQLite rows of a business's payout account and of a customer's payment methods."""

from __future__ import annotations

from datetime import datetime

from core.records import Method, MethodKind, Payout
from storage.sqlite_rows.common import SqliteRows, columns, from_iso, iso


def _payout(business_id: str, bank: str, account_id: str, last4: str) -> Payout:
    return Payout(business_id=business_id, bank=bank, account_id=account_id, last4=last4)


# The last 4 digits are the bank account's: the simulated bank's row, joined.
_PAYOUT = (
    f"SELECT {columns(_payout, 'p', last4='a')} FROM payouts p "
    "JOIN bank_accounts a ON a.id = p.account_id"
)


class SqlitePayoutRows(SqliteRows):
    def payout(self, business_id: str) -> Payout | None:
        row = self._one(_PAYOUT + " WHERE p.business_id=?", business_id)
        return None if row is None else _payout(*row)

    def set_payout(self, business_id: str, bank: str, account_id: str, now: datetime) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO payouts (business_id, bank, account_id, linked_at) "
            "VALUES (?, ?, ?, ?)",
            (business_id, bank, account_id, iso(now)),
        )

    def remove_payout(self, business_id: str) -> None:
        self.c.execute("DELETE FROM payouts WHERE business_id=?", (business_id,))


class SqliteMethodRows(SqliteRows):
    def _method(
        self,
        id: str,
        user_id: str,
        kind: MethodKind,
        label: str,
        token_enc: bytes,
        added_at: str,
        is_default: int,
        brand: str | None,
        funding: str | None,
        last4: str | None,
        expiry: str | None,
    ) -> Method:
        return Method(
            id=id,
            user_id=user_id,
            kind=kind,
            label=label,
            token=self.sealer.open(token_enc),
            added_at=from_iso(added_at),
            is_default=bool(is_default),
            brand=brand,
            funding=funding,
            last4=last4,
            expiry=expiry,
        )

    _METHOD = f"SELECT {columns(_method)} FROM methods"

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
            self._METHOD + " WHERE user_id=? AND removed=0 ORDER BY is_default DESC, added_at, id",
            (user_id,),
        )
        return [self._method(*row) for row in rows]

    def method(self, method_id: str) -> Method | None:
        row = self._one(self._METHOD + " WHERE id=?", method_id)
        return None if row is None else self._method(*row)

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

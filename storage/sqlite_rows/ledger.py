"""SQLite rows of the double-entry ledger."""

from __future__ import annotations

from datetime import datetime

from core.errors import InvariantBroken
from core.money import Money
from storage.sqlite_rows.common import SqliteRows, iso


class SqliteLedgerRows(SqliteRows):
    def post(self, txn: str, entries: list[tuple[str, Money]], now: datetime) -> None:
        sums: dict[str, int] = {}
        for _, money in entries:
            sums[money.currency] = sums.get(money.currency, 0) + money.minor
        if any(sums.values()):
            raise InvariantBroken(f"unbalanced ledger posting {txn}: {sums}")
        self.c.executemany(
            "INSERT INTO ledger (txn, account, currency, amount, created_at) VALUES (?,?,?,?,?)",
            [(txn, account, m.currency, m.minor, iso(now)) for account, m in entries],
        )

    def account_balance(self, account: str, currency: str) -> int:
        return int(
            self._value(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account=? AND currency=?",
                account,
                currency,
            )
        )

    def ledger_sums(self) -> dict[str, int]:
        rows = self.c.execute("SELECT currency, SUM(amount) FROM ledger GROUP BY currency")
        return {currency: int(total) for currency, total in rows}

    def ledger_account_totals(self) -> list[tuple[str, int]]:
        rows = self.c.execute("SELECT account, SUM(amount) FROM ledger GROUP BY account")
        return [(account, int(total)) for account, total in rows]

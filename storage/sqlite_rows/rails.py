"""SQLite rows of the simulated rails (`storage/rails_rows.py`): the banks' accounts, the
processor's card funds and its record of each charge."""

from __future__ import annotations

import sqlite3

from core.money import Money
from core.records import BankAccount
from storage.sqlite_rows.common import SqliteRows

_ACCOUNT = "SELECT id, bank, phone, number_enc, last4, currency, balance FROM bank_accounts"


class SqliteRailRows(SqliteRows):
    def _account(self, row: sqlite3.Row) -> BankAccount:
        return BankAccount(
            id=row["id"],
            bank=row["bank"],
            phone=row["phone"],
            number=self.sealer.open(row["number_enc"]),
            last4=row["last4"],
            balance=Money(row["balance"], row["currency"]),
        )

    def add_bank_account(self, account: BankAccount) -> None:
        self.c.execute(
            "INSERT INTO bank_accounts (id, bank, phone, number_enc, last4, currency, balance) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account.id,
                account.bank,
                account.phone,
                self.sealer.seal(account.number),
                account.last4,
                account.balance.currency,
                account.balance.minor,
            ),
        )

    def bank_accounts(self, phone: str, bank: str | None = None) -> list[BankAccount]:
        if bank is None:
            rows = self.c.execute(_ACCOUNT + " WHERE phone=? ORDER BY id", (phone,))
        else:
            rows = self.c.execute(
                _ACCOUNT + " WHERE phone=? AND bank=? ORDER BY id", (phone, bank)
            )
        return [self._account(row) for row in rows]

    def bank_account(self, account_id: str) -> BankAccount | None:
        row = self._one(_ACCOUNT + " WHERE id=?", account_id)
        return None if row is None else self._account(row)

    def adjust_bank_balance(self, account_id: str, delta: int) -> None:
        self.c.execute(
            "UPDATE bank_accounts SET balance=balance+? WHERE id=?", (delta, account_id)
        )

    def card(self, token: str) -> tuple[Money, str] | None:
        row = self._one("SELECT currency, balance, behaviour FROM card_funds WHERE token=?", token)
        return None if row is None else (Money(row["balance"], row["currency"]), row["behaviour"])

    def set_card_funds(self, token: str, funds: Money, behaviour: str = "approve") -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO card_funds (token, currency, balance, behaviour) "
            "VALUES (?, ?, ?, ?)",
            (token, funds.currency, funds.minor, behaviour),
        )

    def record_charge(
        self, payment_id: str, token: str, amount: Money, outcome: str, code: str | None
    ) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO processor_charges "
            "(payment_id, token, amount, currency, outcome, code) VALUES (?, ?, ?, ?, ?, ?)",
            (payment_id, token, amount.minor, amount.currency, outcome, code),
        )

    def charged(self, payment_id: str) -> tuple[str, Money] | None:
        """The card token and amount of a charge that took money, if it did."""
        row = self._one(
            "SELECT token, amount, currency FROM processor_charges "
            "WHERE payment_id=? AND outcome='succeeded'",
            payment_id,
        )
        return None if row is None else (row["token"], Money(row["amount"], row["currency"]))

    def charge(self, payment_id: str) -> tuple[str, str | None] | None:
        row = self._one(
            "SELECT outcome, code FROM processor_charges WHERE payment_id=?", payment_id
        )
        return None if row is None else (row["outcome"], row["code"])

"""SQLite rows of the simulated rails (`storage/rails_rows.py`): the banks' accounts, the
processor's card funds and its record of each charge."""

from __future__ import annotations

from core.money import Money
from core.records import BankAccount
from storage.sqlite_rows.common import SqliteRows, columns


def _card(currency: str, balance: int, behaviour: str) -> tuple[Money, str]:
    return Money(balance, currency), behaviour


def _charge(outcome: str, code: str | None) -> tuple[str, str | None]:
    return outcome, code


def _charged(token: str, amount: int, currency: str) -> tuple[str, Money]:
    return token, Money(amount, currency)


_CARD = f"SELECT {columns(_card)} FROM card_funds"
_CHARGE = f"SELECT {columns(_charge)} FROM processor_charges"
_CHARGED = f"SELECT {columns(_charged)} FROM processor_charges"


class SqliteRailRows(SqliteRows):
    def _account(
        self,
        id: str,
        bank: str,
        phone: str,
        number_enc: bytes,
        last4: str,
        currency: str,
        balance: int,
    ) -> BankAccount:
        return BankAccount(
            id=id,
            bank=bank,
            phone=phone,
            number=self.sealer.open(number_enc),
            last4=last4,
            balance=Money(balance, currency),
        )

    _ACCOUNT = f"SELECT {columns(_account)} FROM bank_accounts"

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
            rows = self.c.execute(self._ACCOUNT + " WHERE phone=? ORDER BY id", (phone,))
        else:
            rows = self.c.execute(
                self._ACCOUNT + " WHERE phone=? AND bank=? ORDER BY id", (phone, bank)
            )
        return [self._account(*row) for row in rows]

    def bank_account(self, account_id: str) -> BankAccount | None:
        row = self._one(self._ACCOUNT + " WHERE id=?", account_id)
        return None if row is None else self._account(*row)

    def adjust_bank_balance(self, account_id: str, delta: int) -> None:
        self.c.execute(
            "UPDATE bank_accounts SET balance=balance+? WHERE id=?", (delta, account_id)
        )

    def card(self, token: str) -> tuple[Money, str] | None:
        row = self._one(_CARD + " WHERE token=?", token)
        return None if row is None else _card(*row)

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
        row = self._one(_CHARGED + " WHERE payment_id=? AND outcome='succeeded'", payment_id)
        return None if row is None else _charged(*row)

    def charge(self, payment_id: str) -> tuple[str, str | None] | None:
        row = self._one(_CHARGE + " WHERE payment_id=?", payment_id)
        return None if row is None else _charge(*row)

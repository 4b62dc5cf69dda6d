"""The simulated rails' port: the books the simulated banks and card processor keep.

These rows are not the product's (a real bank keeps its own books); they sit in the same database
only so that a simulated transfer commits, or rolls back, with the payment it moves money for.
`payments/rails/*` types its argument with `RailRows`; nothing else needs it. A store that keeps
them hands its units a `TxWithRails`: the product's roles and these, in one transaction.
"""

from __future__ import annotations

from typing import Protocol

from core.money import Money
from core.records import BankAccount
from storage.base import Tx


class RailRows(Protocol):
    """Bank accounts (found by phone), card funds (by token) and the processor's charges."""

    def add_bank_account(self, account: BankAccount) -> None: ...
    def bank_accounts(self, phone: str, bank: str | None = None) -> list[BankAccount]: ...
    def bank_account(self, account_id: str) -> BankAccount | None: ...
    def adjust_bank_balance(self, account_id: str, delta: int) -> None: ...
    def card(self, token: str) -> tuple[Money, str] | None:
        """The processor's funds and test-card behaviour for a card token."""
        ...

    def set_card_funds(self, token: str, funds: Money, behaviour: str = "approve") -> None: ...
    def record_charge(
        self, payment_id: str, token: str, amount: Money, outcome: str, code: str | None
    ) -> None:
        """The rail's own record of a charge's outcome, read back by a later status check."""
        ...

    def charge(self, payment_id: str) -> tuple[str, str | None] | None:
        """(outcome, decline code) of the charge recorded for a payment."""
        ...

    def charged(self, payment_id: str) -> tuple[str, Money] | None:
        """The token and amount of a processor charge that took money."""
        ...


class TxWithRails(Tx, RailRows, Protocol):
    """What a unit of work sees while the rails are simulated in the product's database."""

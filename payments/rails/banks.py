"""The simulated banks behind UPI, Pix and PayNow: accounts found by phone, balances, transfers."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from core.errors import RailRefused
from core.money import Money
from core.records import BankAccount
from payments.rails.base import CallLog, Injections, RailResult

if TYPE_CHECKING:
    from storage.rails_rows import RailRows

DEFAULT_BALANCE_MINOR = 5_000_000


class Banks:
    def __init__(self, injections: Injections, log: CallLog) -> None:
        self._inject = injections
        self._log = log

    def accounts(self, rows: RailRows, phone: str, bank: str, currency: str) -> list[BankAccount]:
        """The accounts `bank` holds for `phone`: one to three, the same every time. Raises
        `RailRefused` when the bank will not answer."""
        self._log.record("bank.accounts", phone=phone, bank=bank)
        fault = self._inject.take("bank.accounts", {"bank": bank})
        if fault is not None and fault.outcome != "ok":
            raise RailRefused(fault.code or "bank_unavailable")
        found = rows.bank_accounts(phone, bank)
        if found:
            return found
        seed = hashlib.sha256(f"{phone}|{bank}".encode()).digest()
        opened = []
        for i in range(1 + seed[0] % 3):
            number = "".join(str(b % 10) for b in seed[4 + i * 10 : 14 + i * 10])
            account = BankAccount(
                # 64 bits of the hash: unique among billions of phones, not thousands
                f"acct-{seed[24:32].hex()}{i}-{number[-4:]}",
                bank,
                phone,
                number,
                number[-4:],
                Money(DEFAULT_BALANCE_MINOR, currency),
            )
            rows.add_bank_account(account)
            opened.append(account)
        return opened  # as `bank_accounts` reads them back (by id), without unsealing them

    def open_account(
        self, rows: RailRows, account_id: str, bank: str, phone: str, balance: Money
    ) -> None:
        number = "".join(str(b % 10) for b in hashlib.sha256(account_id.encode()).digest()[:10])
        rows.add_bank_account(BankAccount(account_id, bank, phone, number, number[-4:], balance))

    def transfer(
        self, rows: RailRows, payment_id: str, source: str, target: str, amount: Money
    ) -> RailResult:
        self._log.record("bank.transfer", payment=payment_id, amount=amount.code())
        fault = self._inject.take("bank.transfer", {"amount": amount.code()})
        if fault is not None:
            if fault.outcome == "declined":
                return RailResult("declined", fault.code or "do_not_honour")
            if fault.outcome == "error":
                return RailResult("error", fault.code or "processing_error")
        account = rows.bank_account(source)
        if account is None or account.balance.minor < amount.minor:
            result = RailResult("declined", "insufficient_funds")
            rows.record_charge(payment_id, source, amount, "declined", result.code)
        else:
            self._move(rows, source, target, amount)
            rows.record_charge(payment_id, source, amount, "succeeded", None)
            result = RailResult("succeeded")
        if fault is not None and fault.outcome in ("timeout", "delay"):
            # The bank did the transfer (or refused it) but the answer did not come back in
            # time: the status check reads what really happened.
            return RailResult("unknown")
        return result

    def refund(
        self, rows: RailRows, payment_id: str, source: str, target: str, amount: Money
    ) -> RailResult:
        self._log.record("bank.refund", payment=payment_id, amount=amount.code())
        fault = self._inject.take("bank.refund", {"amount": amount.code()})
        if fault is not None and fault.outcome != "ok":
            return RailResult("error", fault.code or "processing_error")
        self._move(rows, target, source, amount)
        return RailResult("succeeded")

    def _move(self, rows: RailRows, source: str, target: str, amount: Money) -> None:
        rows.adjust_bank_balance(source, -amount.minor)
        rows.adjust_bank_balance(target, amount.minor)

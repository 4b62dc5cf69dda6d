"""Double-entry postings. Accounts: `source:<method id>` (a customer's funding source),
`business:<user id>` (a business's settlement balance), `external:<rail>` (money outside)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from core.money import Money

if TYPE_CHECKING:
    from storage.base import LedgerRows


def source(method_id: str) -> str:
    return f"source:{method_id}"


def business(user_id: str) -> str:
    return f"business:{user_id}"


def open_source(tx: LedgerRows, method_id: str, rail: str, funds: Money, now: datetime) -> None:
    """What a funding source holds when it is linked, brought in from outside."""
    if funds.minor:
        tx.post(
            f"open:{method_id}", [(source(method_id), funds), (f"external:{rail}", -funds)], now
        )


def payment(
    tx: LedgerRows, payment_id: str, method_id: str, business_id: str, amount: Money, now: datetime
) -> None:
    tx.post(payment_id, [(source(method_id), -amount), (business(business_id), amount)], now)


def refund(
    tx: LedgerRows, refund_id: str, method_id: str, business_id: str, amount: Money, now: datetime
) -> None:
    tx.post(refund_id, [(business(business_id), -amount), (source(method_id), amount)], now)


def balanced(tx: LedgerRows) -> bool:
    return all(total == 0 for total in tx.ledger_sums().values())

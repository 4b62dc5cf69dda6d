"""Giving money back: a refund of all or part of a successful payment, through the rail it was
paid with, never more than what is left. The statuses move only through the lifecycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.money import Money
from core.records import Method, Payment, PaymentRequest, Refund
from payments import ledger
from payments.lifecycle import move_refund, move_request
from storage.base import LedgerRows, PaymentRows
from storage.rails_rows import RailRows

if TYPE_CHECKING:
    from core.clock import IdSource
    from payments.rails import Rails


class RefundingRows(PaymentRows, LedgerRows, RailRows, Protocol):
    """What a refund touches: the refund and its payment and request, the ledger, the rail."""


def left_to_refund(payment: Payment) -> Money:
    return Money(payment.amount.minor - payment.refunded, payment.amount.currency)


def refund(
    tx: RefundingRows,
    rails: Rails,
    ids: IdSource,
    payment: Payment,
    request: PaymentRequest,
    method: Method,
    payout_account: str | None,
    amount: Money,
    now: datetime,
) -> Refund:
    """Refund `amount` of `payment` (the caller checked it is within what is left) and return the
    refund, succeeded or failed. A bank refund needs the business's payout account."""
    if not 0 < amount.minor <= left_to_refund(payment).minor:
        raise ValueError("a refund must be positive and within what is left")
    pending = Refund(ids.ref("RF"), payment.id, amount, "pending")
    tx.add_refund(pending, now)
    if method.kind == "card":
        result = rails.processor.refund(tx, payment.id, method.token, amount)
    elif payout_account is not None:
        result = rails.banks.refund(tx, payment.id, method.token, payout_account, amount)
    else:
        raise ValueError("a bank refund needs the business's payout account")
    if result.status != "succeeded":
        move_refund(tx, pending, "failed")
        return replace(pending, status="failed")
    move_refund(tx, pending, "succeeded")
    tx.add_refunded(payment.id, amount.minor)
    ledger.refund(tx, pending.id, method.id, request.business_id, amount, now)
    fully = payment.refunded + amount.minor == payment.amount.minor
    move_request(tx, request, "refunded" if fully else "partially_refunded")
    return replace(pending, status="succeeded")

"""One payment attempt against the right rail, and the three ways it ends: settled, still unknown,
failed. Each is written once; the statuses move only through `payments/lifecycle.py`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.records import Method, Payment, PaymentRequest
from payments import ledger
from payments.lifecycle import expire_if_due, move_payment, move_request
from payments.rails.base import RailResult
from storage.base import DuplicateError, JobRows, LedgerRows, PaymentRows, PayoutRows
from storage.rails_rows import RailRows

if TYPE_CHECKING:
    from core.clock import IdSource
    from payments.rails import Rails


class AttemptRows(PaymentRows, PayoutRows, RailRows, Protocol):
    """What an attempt touches: the payment, the business's payout account, and the rail."""


class SettleRows(PaymentRows, LedgerRows, JobRows, Protocol):
    """What settling changes: the payment and its request, the ledger, the expiry job."""


def attempt(
    tx: AttemptRows,
    rails: Rails,
    ids: IdSource,
    request: PaymentRequest,
    customer_id: str,
    method: Method,
    now: datetime,
) -> tuple[Payment, RailResult] | None:
    """Charge `method` for `request`; None when the request already has a live or successful
    payment (the database refuses a second one, so a double tap can never charge twice)."""
    payment = Payment(
        ids.ref("TX"),
        request.id,
        customer_id,
        method.id,
        method.kind,
        request.amount,
        "authorising",
        None,
        now,
    )
    try:
        tx.add_payment(payment)
    except DuplicateError:
        return None
    if method.kind == "card":
        result = rails.processor.authorize(tx, payment.id, method.token, request.amount)
    else:
        payout = tx.payout(request.business_id)
        if payout is None:
            result = RailResult("error", "processing_error")
        else:
            result = rails.banks.transfer(
                tx, payment.id, method.token, payout.account_id, request.amount
            )
    return payment, result


def settle(tx: SettleRows, payment: Payment, request: PaymentRequest, now: datetime) -> None:
    """The money arrived: the payment succeeds, the request is paid, the ledger posts, and the
    request's expiry job has nothing left to do."""
    move_payment(tx, payment, "succeeded")
    move_request(tx, request, "paid")
    ledger.payment(tx, payment.id, payment.method_id, request.business_id, payment.amount, now)
    tx.cancel_jobs("request.expire", request.id)


def mark_unknown(tx: PaymentRows, payment: Payment) -> None:
    """The rail did not answer in time: the outcome is decided later by status checks."""
    move_payment(tx, payment, "unknown")


def fail(
    tx: PaymentRows, payment: Payment, request: PaymentRequest, code: str | None, now: datetime
) -> bool:
    """Nothing was charged. The request stays open for another attempt, unless its time ran out
    while this payment was in flight: then the expiry that waited happens now (True)."""
    move_payment(tx, payment, "failed", code or "processing_error")
    tx.add_failed_attempt(request.id)
    return expire_if_due(tx, request, now)


def status_check(tx: RailRows, rails: Rails, payment: Payment) -> RailResult:
    if payment.method_kind == "card":
        return rails.processor.status(tx, payment.id)
    charge = tx.charge(payment.id)
    if charge is None:
        return RailResult("error", "processing_error")
    return RailResult("succeeded" if charge[0] == "succeeded" else "declined", charge[1])

"""The payment lifecycle: every status of a request, a payment and a refund, every move allowed
between them, the one function that makes a move, and the policies decided on top of the table.

Rule 1 (after h11's `_state.py`): everything that changes a request's, a payment's or a refund's
status lives here. Nothing else calls `tx.set_*_status`. A move always names the status it moves
from (the one the caller read), so a move decided on a stale read changes nothing and says so.

    request   open ─┬─> paid ─┬─> partially_refunded ──> refunded
                    │         └─────────────────────────> refunded
                    ├─> declined      (terminal)
                    ├─> cancelled     (terminal)
                    └─> expired       (terminal)
    payment   authorising ─┬─> succeeded
                           ├─> failed
                           └─> unknown ─┬─> succeeded
                                        └─> failed
    refund    pending ─┬─> succeeded
                       └─> failed

Policies, so that what a person is told stays true (WhatsApp's order_status refuses to cancel an
order with a pending or successful payment; Stripe cannot cancel a processing PaymentIntent):
- a request with a *live* payment (authorising or unknown) is neither cancelled, declined nor
  expired under it: cancel and decline are refused with the reason, and expiry waits for the
  payment's outcome (`expire_if_due` runs again when a late payment fails);
- terminal statuses are final: a late success never reopens an expired request, because expiry
  never happens while a payment is live;
- a payment link is declined only for the person who declines it (`declines_for_everyone`);
- paying needs a business that can still receive (`why_not_payable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from core.errors import InvariantBroken
from core.records import (
    Payment,
    PaymentRequest,
    PaymentStatus,
    Refund,
    RefundStatus,
    RequestStatus,
)
from storage.base import PaymentRows, PayoutRows

S = TypeVar("S", bound=str)

REQUEST: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    "open": frozenset({"paid", "declined", "cancelled", "expired"}),
    "paid": frozenset({"partially_refunded", "refunded"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "declined": frozenset(),
    "cancelled": frozenset(),
    "expired": frozenset(),
    "refunded": frozenset(),
}
PAYMENT: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    "authorising": frozenset({"succeeded", "failed", "unknown"}),
    "unknown": frozenset({"succeeded", "failed"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
}
REFUND: Mapping[RefundStatus, frozenset[RefundStatus]] = {
    "pending": frozenset({"succeeded", "failed"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
}
PAID: frozenset[RequestStatus] = frozenset({"paid", "partially_refunded", "refunded"})
LIVE: frozenset[PaymentStatus] = frozenset({"authorising", "unknown"})

# Why a request cannot be paid (or cancelled, or declined) now: a closed status, or one of these.
Blocker = RequestStatus | Literal["pending", "cannot_receive"]


class IllegalMove(InvariantBroken):
    """A move the lifecycle table does not allow: a bug in the caller, never a person's doing."""


def _check(kind: str, table: Mapping[S, frozenset[S]], source: S, to: S) -> None:
    if to not in table.get(source, frozenset()):
        raise IllegalMove(f"{kind} cannot move from {source} to {to}")


def move_request(tx: PaymentRows, request: PaymentRequest, to: RequestStatus) -> bool:
    """Move `request` from the status it was read with to `to`; False when it had moved since."""
    _check("a request", REQUEST, request.status, to)
    return tx.set_request_status(request.id, to, expect=request.status)


def move_payment(
    tx: PaymentRows, payment: Payment, to: PaymentStatus, reason: str | None = None
) -> bool:
    _check("a payment", PAYMENT, payment.status, to)
    return tx.set_payment_status(payment.id, to, reason, expect=payment.status)


def move_refund(tx: PaymentRows, refund: Refund, to: RefundStatus) -> bool:
    _check("a refund", REFUND, refund.status, to)
    return tx.set_refund_status(refund.id, to, expect=refund.status)


# -- policies ------------------------------------------------------------------------------------
def live_payment(tx: PaymentRows, request: PaymentRequest) -> Payment | None:
    """The request's payment whose outcome is not known yet, if any."""
    payment = tx.payment_for_request(request.id)
    return payment if payment is not None and payment.status in LIVE else None


def closed_status(request: PaymentRequest, now: datetime) -> RequestStatus | None:
    """The status a person should be told about a request that is over; None while it is open.
    An open request past its time counts as expired before its expiry job has run."""
    if request.status == "open":
        return "expired" if request.expires_at <= now else None
    return request.status


class PayableRows(PaymentRows, PayoutRows, Protocol):
    """What deciding whether a request can be paid reads: its payments, the business's payout."""


def why_not_payable(tx: PayableRows, request: PaymentRequest, now: datetime) -> Blocker | None:
    """Why nobody can start paying `request` now; None when someone can."""
    if request.status == "open" and live_payment(tx, request) is not None:
        return "pending"
    closed = closed_status(request, now)
    if closed is not None:
        return "paid" if closed in PAID else closed
    if tx.payout(request.business_id) is None:
        return "cannot_receive"
    return None


def why_not_cancellable(tx: PaymentRows, request: PaymentRequest) -> Blocker | None:
    """A business may cancel only an open request with no payment in flight."""
    if request.status in PAID:
        return "paid"
    if request.status != "open":
        return request.status
    if live_payment(tx, request) is not None:
        return "pending"
    return None


def declines_for_everyone(request: PaymentRequest) -> bool:
    """A request to one customer closes when they decline; a link stays open for the others."""
    return request.kind == "request"


def expire_if_due(tx: PaymentRows, request: PaymentRequest, now: datetime) -> bool:
    """Expire an open request whose time is up, unless a payment for it is still in flight (its
    outcome decides: success pays the request, failure calls this again). True when it expired."""
    if request.status != "open" or request.expires_at > now:
        return False
    if live_payment(tx, request) is not None:
        return False
    return move_request(tx, request, "expired")

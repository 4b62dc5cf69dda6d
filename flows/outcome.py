"""What follows a rail's answer about a payment, written once for the first answer and for every
later status check: settle and tell both sides, wait and check again, or fail and say why.

The money side (statuses, ledger, the expiry that waited for the outcome) is in
`payments/charge.py` and `payments/lifecycle.py`; this module only decides what people are told.
"""

from __future__ import annotations

from typing import Any, Literal

from core.records import Method, Payment, PaymentRequest
from core.refs import MethodButton, RequestMessage
from flows.machine import Btn, Ctx
from flows.request import announce_expired
from payments import charge
from payments.method_label import shown_label
from payments.rails.base import RailResult

Concluded = Literal["succeeded", "pending", "failed"]
FIRST_ANSWER = -1  # `check` for the rail's first answer; status checks count from 0


def accepted_methods(ctx: Ctx, customer_id: str) -> list[Method]:
    user = ctx.tx.user(customer_id)
    market = ctx.settings.market(user.market) if user else None
    if market is None:
        return []
    return [m for m in ctx.tx.methods(customer_id) if m.kind in market.methods]


def method_buttons(ctx: Ctx, customer_id: str, request_id: str) -> tuple[tuple[Btn, ...], ...]:
    """The customer's methods for paying one request: each button names that request."""
    rows = [
        (Btn(MethodButton(m.id, request_id).pack(), label=shown_label(m)),)
        for m in accepted_methods(ctx, customer_id)
    ]
    return (*rows, (Btn("add_method"),))


def conclude(
    ctx: Ctx, payment: Payment, request: PaymentRequest, result: RailResult, check: int
) -> Concluded:
    """Act on the rail's answer about `payment` (its first answer, or status check `check`)."""
    if result.status == "succeeded":
        charge.settle(ctx.tx, payment, request, ctx.now)
        announce_success(ctx, payment, request)
        return "succeeded"
    following = check + 1
    if result.status == "unknown" and following < len(ctx.settings.payments.status_checks):
        if check == FIRST_ANSWER:
            charge.mark_unknown(ctx.tx, payment)
            ctx.say("pay.pending", to=payment.customer_id, id=payment.id, amount=payment.amount)
        schedule_status_check(ctx, payment, following)
        return "pending"
    code = result.code if result.status != "unknown" else "processing_error"
    expired = charge.fail(ctx.tx, payment, request, code, ctx.now)
    announce_failure(ctx, payment, request, code, offer_methods=check == FIRST_ANSWER)
    if expired:
        announce_expired(ctx, request)
    return "failed"


def schedule_status_check(ctx: Ctx, payment: Payment, n: int) -> None:
    delays = ctx.settings.payments.status_checks
    ctx.tx.schedule(
        ctx.now + delays[n],
        "pay.status",
        {"payment": payment.id, "n": n, "user": payment.customer_id, "key": payment.id},
    )


def announce_success(ctx: Ctx, payment: Payment, request: PaymentRequest) -> None:
    business = ctx.tx.user(request.business_id)
    customer = ctx.tx.user(payment.customer_id)
    method = ctx.tx.method(payment.method_id)
    values: dict[str, Any] = {
        "id": payment.id,
        "request": request.id,
        "amount": payment.amount,
        "note": request.note,
        "when": ctx.now,
        "business": business.name if business else "",
        "customer": customer.name if customer else "",
        "method": shown_label(method) if method else "",
    }
    ctx.say("pay.succeeded", to=payment.customer_id, **values)
    ref = RequestMessage(request.id).pack()
    ctx.say("request.paid", to=payment.customer_id, kind="edit", ref=ref, **values)
    ctx.say("pay.received", to=request.business_id, **values)


def announce_failure(
    ctx: Ctx, payment: Payment, request: PaymentRequest, code: str | None, offer_methods: bool
) -> None:
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if offer_methods:
        buttons = method_buttons(ctx, payment.customer_id, request.id)
    ctx.say(
        "pay.failed",
        to=payment.customer_id,
        reason=code or "processing_error",
        amount=payment.amount,
        buttons=buttons,
        offer=offer_methods,
    )
    ctx.say(
        "pay.attempt_failed", to=request.business_id, request=request.id, amount=payment.amount
    )

"""After the payment: refunds, history, receipts, and the jobs that finish what was pending."""

from __future__ import annotations

from typing import Any

from core.money import Money, parse_amount
from core.records import Refund
from flows.machine import Ctx
from flows.pay import announce_failure, announce_success, schedule_status_check
from payments import charge, ledger


def refund(ctx: Ctx, arg: str) -> None:
    """`/refund TX-… [amount]`: full or partial, never more than what is left."""
    parts = arg.split(maxsplit=1)
    if not parts:
        ctx.say("refund.usage")
        return
    tx, me = ctx.tx, ctx.me
    payment = tx.payment(parts[0].strip())
    request = tx.request(payment.request_id) if payment else None
    if payment is None or request is None or request.business_id != me.id:
        ctx.say("refund.invalid", reason="unknown", id=parts[0])
        return
    if payment.status != "succeeded":
        ctx.say("refund.invalid", reason="not_paid", id=payment.id)
        return
    left = Money(payment.amount.minor - payment.refunded, payment.amount.currency)
    amount: Money | str = left
    if len(parts) > 1:
        amount = parse_amount(parts[1], payment.amount.currency)
    if isinstance(amount, str) or amount.minor > left.minor or left.minor == 0:
        ctx.say(
            "refund.invalid",
            reason="amount" if left.minor else "refunded",
            id=payment.id,
            left=left,
        )
        return
    method = tx.method(payment.method_id)
    payout = tx.payout(me.id)
    if method is None:
        ctx.say("refund.invalid", reason="method_gone", id=payment.id)
        return
    if method.kind == "card":
        result = ctx.rails.processor.refund(tx, payment.id, method.token, amount)
    elif payout is not None:
        result = ctx.rails.banks.refund(tx, payment.id, method.token, payout.account_id, amount)
    else:
        ctx.say("payments.not_set_up", buttons=())
        return
    refund_id = ctx.ids.ref("RF")
    if result.status != "succeeded":
        tx.add_refund(Refund(refund_id, payment.id, amount, "failed"), ctx.now)
        ctx.say("refund.failed", id=payment.id, amount=amount)
        return
    tx.add_refund(Refund(refund_id, payment.id, amount, "succeeded"), ctx.now)
    tx.add_refunded(payment.id, amount.minor)
    ledger.refund(tx, refund_id, method.id, me.id, amount, ctx.now)
    fully = payment.refunded + amount.minor == payment.amount.minor
    tx.set_request_status(request.id, "refunded" if fully else "partially_refunded")
    values: dict[str, Any] = {
        "refund": refund_id,
        "id": payment.id,
        "amount": amount,
        "business": me.name,
        "left": Money(left.minor - amount.minor, amount.currency),
    }
    ctx.say("refund.done", **values)
    ctx.say("refund.received", to=payment.customer_id, **values)


def history(ctx: Ctx, arg: str) -> None:
    me = ctx.me
    requests = ctx.tx.requests_for(me.id, limit=10)
    payments = ctx.tx.payments_for(me.id, limit=10)
    balance = None
    if me.role == "business":
        currency = ctx.market.currency
        balance = Money(ctx.tx.account_balance(ledger.business(me.id), currency), currency)
    ctx.say("history", requests=requests, payments=payments, balance=balance)


def receipt(ctx: Ctx, arg: str) -> None:
    if not arg.strip():
        ctx.say("receipt.usage")
        return
    payment = ctx.tx.payment(arg.strip())
    request = ctx.tx.request(payment.request_id) if payment else None
    if (
        payment is None
        or request is None
        or ctx.me.id not in (payment.customer_id, request.business_id)
    ):
        ctx.say("receipt.unknown", id=arg.strip())
        return
    business = ctx.tx.user(request.business_id)
    customer = ctx.tx.user(payment.customer_id)
    method = ctx.tx.method(payment.method_id)
    ctx.say(
        "receipt",
        id=payment.id,
        request=request.id,
        amount=payment.amount,
        status=payment.status,
        when=payment.created_at,
        note=request.note,
        business=business.name if business else "",
        customer=customer.name if customer else "",
        method=method.label if method else "",
        refunded=Money(payment.refunded, payment.amount.currency),
    )


def check_status(ctx: Ctx) -> None:
    """Job: ask the rail again about a payment whose outcome was unknown."""
    job = ctx.inbound.job
    payment = ctx.tx.payment(str(job["payment"]))
    if payment is None or payment.status != "unknown":
        return
    request = ctx.tx.request(payment.request_id)
    assert request is not None
    result = charge.status_check(ctx.tx, ctx.rails, payment)
    if result.status == "succeeded":
        charge.succeed(ctx.tx, payment, request, ctx.now)
        ctx.tx.cancel_jobs("request.expire", request.id)
        announce_success(ctx, payment, request)
        return
    n = int(job["n"]) + 1
    if result.status == "unknown" and n < len(ctx.settings.payments.status_checks):
        schedule_status_check(ctx, payment, n)
        return
    code = result.code if result.status != "unknown" else "processing_error"
    charge.fail(ctx.tx, payment, code)
    announce_failure(ctx, payment, request, code, offer_methods=False)


def unlock_pin(ctx: Ctx) -> None:
    """Job: the PIN lock has run out; tell the customer they can pay again."""
    user_id = str(ctx.inbound.job["user"])
    record = ctx.tx.pin(user_id)
    if record is None or record.locked_until is None or record.locked_until > ctx.now:
        return
    ctx.tx.set_pin_counters(user_id, 0, None)
    ctx.say("pin.unlocked", to=user_id)

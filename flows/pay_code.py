"""A customer pays by a payment code: their bank app scanned a QR or they pasted a Pix "copia e
cola" code, a UPI intent or a PayNow payload into the chat.

The code is read (`payments/paycodes`), checked against the request it names (its reference is
the request's id; its amount and payee must be the request's), and then paid like any request:
the pay flow shows who and how much, asks for the method and the PIN, and applies the same
limits, ledger and confirmations; whether the request can still be paid is its business. A code
that cannot be paid is refused with its reason, and nothing is charged.
"""

from __future__ import annotations

from flows.conversation import refuse, start
from flows.machine import Ctx
from flows.pay import FLOW as PAY
from payments.paycodes.issue import expired, mismatch, request_id
from payments.paycodes.model import MARKET, PayCode, Unreadable


def pay_by_code(ctx: Ctx, code: PayCode | Unreadable) -> None:
    """`code`: what the person scanned or pasted, as the router read it (`reader.read`)."""
    if ctx.me.role != "customer":
        refuse(ctx, "pay.customers_only")
        return
    if isinstance(code, Unreadable):
        ctx.say("code.refused", reason=code.reason)
        return
    if code.market != ctx.me.market:
        ctx.say(
            "code.other_market",
            scheme=code.scheme,
            country=MARKET[code.scheme],
            market=ctx.me.market,
        )
        return
    request = ctx.tx.request(request_id(code)) if code.reference else None
    business = ctx.tx.user(request.business_id) if request else None
    if request is None or business is None:
        ctx.say("code.refused", reason="unknown", scheme=code.scheme)
        return
    payout = ctx.tx.payout(business.id)
    changed = mismatch(code, request, business, payout) if payout else None
    if changed is not None:
        ctx.say(
            "code.refused",
            reason=changed,
            scheme=code.scheme,
            id=request.id,
            amount=request.amount,
            written=code.amount,
        )
        return
    if expired(code, ctx.now, ctx.market):
        # A bank app refuses a PayNow QR past its own date before anything else (the request,
        # which expires with it, says the same).
        refuse(ctx, "request.unavailable", id=request.id, status="expired")
        return
    start(ctx, PAY, request=request.id, button="pay", via=code.scheme)

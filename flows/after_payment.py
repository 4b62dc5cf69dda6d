"""After the payment: refunds, history, receipts, and the jobs that finish what was pending."""

from __future__ import annotations

from typing import Any

from core.money import Money, parse_amount
from core.refs import HistoryPage
from flows.machine import Btn, Ctx
from flows.outcome import conclude
from payments import charge, ledger
from payments.method_label import shown_label
from payments.refund import left_to_refund
from payments.refund import refund as give_back


def shown_id(typed: str) -> str:
    """An id someone typed, as echoed back: ids are short, so anything longer is cut."""
    typed = typed.strip()
    return typed if len(typed) <= ID_SHOWN else typed[: ID_SHOWN - 1] + "…"


ID_SHOWN = 40


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
        ctx.say("refund.invalid", reason="unknown", id=shown_id(parts[0]))
        return
    if payment.status != "succeeded":
        ctx.say("refund.invalid", reason="not_paid", id=payment.id)
        return
    left = left_to_refund(payment)
    amount: Money | str = left
    if len(parts) > 1:
        amount = parse_amount(parts[1], payment.amount.currency)
    if left.minor == 0:
        ctx.say("refund.invalid", reason="refunded", id=payment.id, left=left)
        return
    if isinstance(amount, str):  # zero, negative, too many decimals, not a number: say which
        currency = payment.amount.currency
        ctx.say("refund.invalid", reason=amount, id=payment.id, left=left, currency=currency)
        return
    if amount.minor > left.minor:
        ctx.say("refund.invalid", reason="amount", id=payment.id, left=left)
        return
    method = tx.method(payment.method_id)
    if method is None:
        ctx.say("refund.invalid", reason="method_gone", id=payment.id)
        return
    payout = tx.payout(me.id)
    if method.kind != "card" and payout is None:
        ctx.say("payments.not_set_up", buttons=())
        return
    done = give_back(
        tx,
        ctx.rails,
        ctx.ids,
        payment,
        request,
        method,
        payout.account_id if payout else None,
        amount,
        ctx.now,
    )
    if done.status != "succeeded":
        ctx.say("refund.failed", id=payment.id, amount=amount)
        return
    values: dict[str, Any] = {
        "refund": done.id,
        "id": payment.id,
        "amount": amount,
        "business": me.name,
        "left": Money(left.minor - amount.minor, amount.currency),
    }
    ctx.say("refund.done", **values)
    ctx.say("refund.received", to=payment.customer_id, **values)


HISTORY_PAGE = 10  # requests and payments on one page of /history


def history(ctx: Ctx, arg: str) -> None:
    """`/history [page]`: the newest requests and payments, ten of each a page, with a button to
    the next page while there is one."""
    me = ctx.me
    page = int(arg) if arg.strip().isdigit() and int(arg) > 0 else 1
    skip = (page - 1) * HISTORY_PAGE
    requests = ctx.tx.requests_for(me.id, limit=HISTORY_PAGE + 1, offset=skip)
    payments = ctx.tx.payments_for(me.id, limit=HISTORY_PAGE + 1, offset=skip)
    more = len(requests) > HISTORY_PAGE or len(payments) > HISTORY_PAGE
    balance = None
    if me.role == "business":
        currency = ctx.market.currency
        balance = Money(ctx.tx.account_balance(ledger.business(me.id), currency), currency)
    ctx.say(
        "history",
        requests=requests[:HISTORY_PAGE],
        payments=payments[:HISTORY_PAGE],
        balance=balance,
        page=page,
        buttons=((Btn(HistoryPage(str(page + 1)).pack(), key="more"),),) if more else (),
    )


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
        ctx.say("receipt.unknown", id=shown_id(arg))
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
        method=shown_label(method) if method else "",
        refunded=Money(payment.refunded, payment.amount.currency),
    )


def check_status(ctx: Ctx) -> None:
    """Job: ask the rail again about a payment whose outcome was unknown."""
    job = ctx.inbound.job
    payment = ctx.tx.payment(str(job["payment"]))
    if payment is None or payment.status != "unknown":
        return
    request = ctx.tx.request(payment.request_id)
    if request is None:  # a payment always has its request (a foreign key): nothing to settle
        return
    result = charge.status_check(ctx.tx, ctx.rails, payment)
    conclude(ctx, payment, request, result, check=int(job["n"]))


def unlock_pin(ctx: Ctx) -> None:
    """Job: the PIN lock has run out; tell the customer they can pay again."""
    user_id = str(ctx.inbound.job["user"])
    record = ctx.tx.pin(user_id)
    if record is None or record.locked_until is None or record.locked_until > ctx.now:
        return
    ctx.tx.set_pin_counters(user_id, 0, None)
    ctx.say("pin.unlocked", to=user_id)

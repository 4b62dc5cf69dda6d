"""The customer pays inside the chat: Pay on the request → choose a method → limits → PIN (or
biometrics) → the result, with confirmations to both sides. Also: decline, and opening a link."""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

from core.records import Method, Payment, PaymentRequest
from flows.conversation import refuse
from flows.machine import Btn, Ctx, Flow, FlowModel
from flows.pin_entry import enter_pin
from flows.request import close_request_message, request_buttons, token_hash
from payments import charge
from payments.limits import payment_limit
from payments.pin import is_locked


class S(Enum):
    START = auto()
    CHOOSE_METHOD = auto()
    AUTHORISE = auto()
    DONE = auto()


def request_closed(ctx: Ctx, request: PaymentRequest) -> str | None:
    """Why this request cannot be paid now (a status); None when it can."""
    if request.status == "open":
        return "expired" if request.expires_at <= ctx.now else None
    return request.status


def explain_closed(ctx: Ctx, request: PaymentRequest, status: str) -> None:
    if status in ("paid", "refunded", "partially_refunded"):
        refuse(ctx, "request.already_paid", id=request.id)
    else:
        refuse(ctx, "request.unavailable", id=request.id, status=status)


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
        "method": method.label if method else "",
    }
    ctx.say("pay.succeeded", to=payment.customer_id, **values)
    ctx.say("request.paid", to=payment.customer_id, kind="edit", ref=f"rq:{request.id}", **values)
    ctx.say("pay.received", to=request.business_id, **values)


def announce_failure(
    ctx: Ctx, payment: Payment, request: PaymentRequest, code: str | None, offer_methods: bool
) -> None:
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if offer_methods:
        buttons = _method_buttons(ctx, payment.customer_id)
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


def _accepted_methods(ctx: Ctx, customer_id: str) -> list[Method]:
    user = ctx.tx.user(customer_id)
    market = ctx.settings.market(user.market) if user else None
    if market is None:
        return []
    return [m for m in ctx.tx.methods(customer_id) if m.kind in market.methods]


def _method_buttons(ctx: Ctx, customer_id: str) -> tuple[tuple[Btn, ...], ...]:
    rows = [(Btn(f"m:{m.id}", label=m.label),) for m in _accepted_methods(ctx, customer_id)]
    return (*rows, (Btn("add_method"),))


class Pay(FlowModel):
    flow = "pay"
    problem: str = ""

    @property
    def request(self) -> PaymentRequest:
        request = self.ctx.tx.request(self.data["request"])
        assert request is not None  # checked when the flow began
        return request

    # -- opening the request ------------------------------------------------------------------
    def cannot_pay(self) -> bool:
        ctx = self.ctx
        request = ctx.tx.request(self.data["request"])
        if request is None or (request.kind == "request" and request.customer_id != ctx.me.id):
            self.problem = "error.not_allowed"
        elif (business := ctx.tx.user(request.business_id)) and business.market != ctx.me.market:
            self.problem = "request.other_market"
        elif status := request_closed(ctx, request):
            self.problem = "closed"
            self.closed = status
        return bool(self.problem)

    closed: str = ""

    def explain(self) -> None:
        request = self.ctx.tx.request(self.data["request"])
        if self.problem == "closed" and request is not None:
            explain_closed(self.ctx, request, self.closed)
        else:
            refuse(self.ctx, self.problem, role="customer", name="", market=self.ctx.market.name)
        self.finish()

    def wants_decline(self) -> bool:
        return self.data.get("button") == "decline"

    def decline(self) -> None:
        ctx, request = self.ctx, self.request
        if ctx.tx.set_request_status(request.id, "declined", expect="open"):
            ctx.tx.cancel_jobs("request.expire", request.id)
            values: dict[str, Any] = {
                "id": request.id,
                "amount": request.amount,
                "customer": ctx.me.name,
            }
            ctx.say("request.declined", to=request.business_id, **values)
            close_request_message(ctx, request, "declined", values)
        self.finish()

    def needs_pin(self) -> bool:
        return self.ctx.tx.pin(self.ctx.me.id) is None

    def explain_no_pin(self) -> None:
        self.ctx.say("pay.no_pin", buttons=((Btn("menu:pin", key="menu.pin"),),))
        self.finish()

    def locked(self) -> bool:
        until = is_locked(self.ctx.tx, self.ctx.me.id, self.ctx.now)
        if until is not None:
            self.data["until"] = until.isoformat()
        return until is not None

    def explain_locked(self) -> None:
        from datetime import datetime

        refuse(self.ctx, "pin.locked", until=datetime.fromisoformat(self.data.pop("until")))
        self.finish()

    def show_methods(self) -> None:
        request = self.request
        business = self.ctx.tx.user(request.business_id)
        self.ctx.say(
            "pay.choose_method",
            amount=request.amount,
            id=request.id,
            business=business.name if business else "",
            has_methods=bool(_accepted_methods(self.ctx, self.ctx.me.id)),
            buttons=_method_buttons(self.ctx, self.ctx.me.id),
        )

    # -- the method ---------------------------------------------------------------------------
    def add_method(self) -> None:
        self.finish("methods", add=True)

    def method_ok(self) -> bool:
        ctx = self.ctx
        methods = {m.id: m for m in _accepted_methods(ctx, ctx.me.id)}
        method = methods.get(self.button.removeprefix("m:"))
        if method is None:
            return False
        hit = payment_limit(ctx.tx, ctx.market, ctx.me.id, method, self.request.amount, ctx.now)
        if hit is not None:
            ctx.say(
                "pay.failed",
                reason="limit",
                limit=hit.limit,
                limit_name=hit.name,
                amount=self.request.amount,
                buttons=_method_buttons(ctx, ctx.me.id),
                offer=True,
            )
            return False
        self.data["method"] = method.id
        return True

    def ask_pin(self) -> None:
        ctx = self.ctx
        ctx.say(
            "pin.ask",
            pin_pad=True,
            amount=self.request.amount,
            biometric=ctx.me.biometric and ctx.inbound.transport != "telegram",
            length=ctx.settings.security.pin_length,
        )

    # -- authorising --------------------------------------------------------------------------
    outcome: str = ""

    def authorise(self) -> None:
        """Check the PIN (or biometric answer) and charge, once per event (`prepare` runs for
        each candidate transition); the transitions then branch on `outcome`."""
        if self.outcome:
            return
        ctx = self.ctx
        if ctx.inbound.kind == "text":
            ctx.delete_inbound()
        if ctx.inbound.kind == "biometric":
            self.outcome = "ok" if self._biometric_ok() else "retry"
        else:
            self.outcome = self._pin_check()
        if self.outcome == "ok":
            self.outcome = self._charge()

    def _pin_check(self) -> str:
        outcome = enter_pin(self.ctx, self.text)
        if outcome == "ended":
            self.ctx.tx.add_failed_attempt(self.data["request"])
        return outcome

    def _biometric_ok(self) -> bool:
        ctx = self.ctx
        if not ctx.me.biometric or ctx.inbound.transport == "telegram":
            ctx.say("pay.biometric_unavailable", pin_pad=True)
            return False
        if self.text != "approve":
            ctx.say("pay.biometric_refused", pin_pad=True)
            return False
        return True

    def _charge(self) -> str:
        ctx = self.ctx
        request = self.request
        if closed := request_closed(ctx, request):
            explain_closed(ctx, request, closed)
            return "ended"
        method = ctx.tx.method(self.data["method"])
        assert method is not None  # chosen from the customer's own methods
        attempt = charge.attempt(ctx.tx, ctx.rails, ctx.ids, request, ctx.me.id, method, ctx.now)
        if attempt is None:
            ctx.say("request.already_paid", role="customer", id=request.id)
            return "ended"
        payment, result = attempt
        ctx.say("pay.processing", kind="toast")
        if result.status == "succeeded":
            charge.succeed(ctx.tx, payment, request, ctx.now)
            ctx.tx.cancel_jobs("request.expire", request.id)
            announce_success(ctx, payment, request)
            return "ended"
        if result.status == "unknown":
            ctx.tx.set_payment_status(payment.id, "unknown")
            schedule_status_check(ctx, payment, 0)
            ctx.say("pay.pending", id=payment.id, amount=payment.amount)
            return "ended"
        charge.fail(ctx.tx, payment, result.code)
        announce_failure(ctx, payment, request, result.code, offer_methods=True)
        return "failed"

    def ended(self) -> bool:
        return self.outcome == "ended"

    def failed(self) -> bool:
        return self.outcome == "failed"

    def end(self) -> None:
        self.finish()

    def forget_method(self) -> None:
        self.data.pop("method", None)


def schedule_status_check(ctx: Ctx, payment: Payment, n: int) -> None:
    delays = ctx.settings.payments.status_checks
    ctx.tx.schedule(
        ctx.now + delays[n],
        "pay.status",
        {"payment": payment.id, "n": n, "user": payment.customer_id, "key": payment.id},
    )


def open_link(ctx: Ctx, token: str) -> None:
    request = ctx.tx.request_by_token_hash(token_hash(token))
    if request is None:
        ctx.say("link.invalid")
        return
    business = ctx.tx.user(request.business_id)
    if business is None or business.market != ctx.me.market:
        ctx.say(
            "request.other_market", name=business.name if business else "", market=ctx.market.name
        )
        return
    if closed := request_closed(ctx, request):
        explain_closed(ctx, request, closed)
        return
    ctx.say(
        "request.received",
        ref=f"rq:{request.id}",
        buttons=request_buttons(),
        id=request.id,
        amount=request.amount,
        note=request.note,
        expires_at=request.expires_at,
        business=business.name,
    )


_AUTH: list[dict[str, Any]] = []
for _trigger in ("pin", "text", "biometric"):
    _step = {"trigger": _trigger, "source": S.AUTHORISE, "prepare": "authorise"}
    _AUTH += [
        {**_step, "dest": S.DONE, "conditions": "ended", "after": "end"},
        {**_step, "dest": S.CHOOSE_METHOD, "conditions": "failed", "after": "forget_method"},
        {**_step, "dest": None},
    ]

TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "cannot_pay",
        "after": "explain",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "wants_decline",
        "after": "decline",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "needs_pin",
        "after": "explain_no_pin",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "locked",
        "after": "explain_locked",
    },
    {"trigger": "begin", "source": S.START, "dest": S.CHOOSE_METHOD, "after": "show_methods"},
    {
        "trigger": "tap",
        "source": S.CHOOSE_METHOD,
        "dest": S.DONE,
        "conditions": "tapped_add_method",
        "after": "add_method",
    },
    {
        "trigger": "tap",
        "source": S.CHOOSE_METHOD,
        "dest": S.AUTHORISE,
        "conditions": "method_ok",
        "after": "ask_pin",
    },
    *_AUTH,
]

FLOW = Flow("pay", Pay, S, TRANSITIONS, S.START)

"""The customer pays inside the chat: Pay on the request → choose a method → limits → PIN (or
biometrics) → the result, with confirmations to both sides. Also: decline, and opening a link.

Whether a request can be paid, declined or is over is decided by `payments/lifecycle.py`; what
follows the rail's answer by `flows/outcome.py`. This flow only asks and explains."""

from __future__ import annotations

from datetime import datetime
from enum import Enum, auto
from typing import Any

from core.errors import InvariantBroken
from core.records import PaymentRequest
from core.refs import MenuButton, MethodButton, PinPrompt, RequestMessage
from flows.conversation import refuse
from flows.machine import Btn, Ctx, Flow, FlowModel
from flows.outcome import FIRST_ANSWER, accepted_methods, conclude, method_buttons
from flows.pin_entry import enter_pin
from flows.request import close_request_message, request_buttons, token_hash
from payments import charge
from payments.lifecycle import (
    Blocker,
    declines_for_everyone,
    live_payment,
    move_request,
    why_not_payable,
)
from payments.limits import payment_limit
from payments.pin import is_locked


class S(Enum):
    START = auto()
    CONFIRM_DECLINE = auto()
    CHOOSE_METHOD = auto()
    AUTHORISE = auto()
    DONE = auto()


def _not_for_me(ctx: Ctx, request: PaymentRequest) -> str | None:
    """Why this person cannot pay this request or link at all (a message key), whatever its
    status: it is their own, they are a business, or it is in another market."""
    if request.business_id == ctx.me.id:
        return "link.own"
    if ctx.me.role != "customer":
        return "pay.customers_only"
    business = ctx.tx.user(request.business_id)
    if business is None or business.market != ctx.me.market:
        return "request.other_market"
    return None


def explain_blocker(ctx: Ctx, request: PaymentRequest, blocker: Blocker) -> None:
    """Tell the customer why this request cannot be paid (or declined) now."""
    if blocker == "paid":
        refuse(ctx, "request.already_paid", id=request.id)
    elif blocker == "pending":
        refuse(ctx, "request.pending", id=request.id)
    elif blocker == "cannot_receive":
        business = ctx.tx.user(request.business_id)
        refuse(ctx, "request.cannot_receive", business=business.name if business else "")
    else:
        refuse(ctx, "request.unavailable", id=request.id, status=blocker)


class Pay(FlowModel):
    flow = "pay"
    problem: str = ""
    blocker: Blocker | None = None
    outcome: str = ""

    @property
    def request(self) -> PaymentRequest:
        request = self.ctx.tx.request(self.data["request"])
        if request is None:  # requests are never deleted; checked when the flow began
            raise InvariantBroken(f"request {self.data['request']} is gone")
        return request

    # -- opening the request ------------------------------------------------------------------
    def cannot_see(self) -> bool:
        ctx = self.ctx
        request = ctx.tx.request(self.data["request"])
        if request is None:  # a forged ref: requests are never deleted
            self.problem = "error.not_allowed"
        elif request.kind == "request" and request.customer_id != ctx.me.id:
            self.problem = "pay.not_yours"  # its code, scanned by another customer
        else:
            self.problem = _not_for_me(ctx, request) or ""
        return bool(self.problem)

    def explain(self) -> None:
        request = self.ctx.tx.request(self.data["request"])
        business = self.ctx.tx.user(request.business_id) if request else None
        refuse(
            self.ctx,
            self.problem,
            role="customer",
            name=business.name if business else "",
            market=self.ctx.me.market,
        )
        self.finish()

    def wants_decline(self) -> bool:
        return self.data.get("button") == "decline"

    def decline_blocked(self) -> bool:
        """Declining, like paying, waits for a payment in flight and cannot undo a closed one."""
        self.blocker = why_not_payable(self.ctx.tx, self.request, self.ctx.now)
        return self.blocker not in (None, "cannot_receive")

    @property
    def business_name(self) -> str:
        business = self.ctx.tx.user(self.request.business_id)
        return business.name if business else ""

    def ask_decline(self) -> None:
        request = self.request
        self.ctx.say(
            "request.confirm_decline",
            id=request.id,
            amount=request.amount,
            business=self.business_name,
            buttons=((Btn("confirm", key="decline_confirm"), Btn("back")),),
        )

    def decline(self) -> None:
        ctx, request = self.ctx, self.request
        blocker = why_not_payable(ctx.tx, request, ctx.now)
        if blocker not in (None, "cannot_receive"):  # it changed while they were asked
            explain_blocker(ctx, request, blocker or "cancelled")
        elif not declines_for_everyone(request):
            # A link stays open for everyone else: only this person's copy closes.
            values: dict[str, Any] = {"id": request.id, "amount": request.amount}
            close_request_message(ctx, request, "declined", values)
        elif move_request(ctx.tx, request, "declined"):
            ctx.tx.cancel_jobs("request.expire", request.id)
            values = {"id": request.id, "amount": request.amount, "customer": ctx.me.name}
            ctx.say("request.declined", to=request.business_id, **values)
            close_request_message(ctx, request, "declined", values)
        self.finish()

    def keep(self) -> None:
        self.ctx.say("request.decline_kept", id=self.data["request"])
        self.finish()

    def not_payable(self) -> bool:
        self.blocker = why_not_payable(self.ctx.tx, self.request, self.ctx.now)
        return self.blocker is not None

    def explain_not_payable(self) -> None:
        if self.blocker is not None:
            explain_blocker(self.ctx, self.request, self.blocker)
        self.finish()

    def needs_pin(self) -> bool:
        return self.ctx.tx.pin(self.ctx.me.id) is None

    def explain_no_pin(self) -> None:
        pin = MenuButton("pin").pack()
        self.ctx.say("pay.no_pin", buttons=((Btn(pin, key="menu.pin"),),))
        self.finish()

    def locked(self) -> bool:
        until = is_locked(self.ctx.tx, self.ctx.me.id, self.ctx.now)
        if until is not None:
            self.data["until"] = until.isoformat()
        return until is not None

    def explain_locked(self) -> None:
        refuse(self.ctx, "pin.locked", until=datetime.fromisoformat(self.data.pop("until")))
        self.finish()

    def show_methods(self) -> None:
        ctx, request = self.ctx, self.request
        via = self.data.get("via", "")  # the scheme of a payment code scanned or pasted
        ref = ""
        if via:
            # Paid by a code, a link's request has no message in this chat yet: this one is
            # it (the confirmation edits it to "paid"), unless an earlier one is.
            copy = RequestMessage(request.id).pack()
            ref = "" if ctx.tx.platform_ids(ctx.me.id, copy) else copy
        ctx.say(
            "pay.choose_method",
            amount=request.amount,
            id=request.id,
            business=self.business_name,
            has_methods=bool(accepted_methods(ctx, ctx.me.id)),
            buttons=method_buttons(ctx, ctx.me.id, request.id),
            via=via,
            ref=ref,
        )

    # -- the method ---------------------------------------------------------------------------
    def add_method(self) -> None:
        # Adding a method is a detour: once it is added, the payment picks up where it was.
        self.finish("methods", add=True, paying=self.data["request"])

    def stale_method(self) -> bool:
        """A method button from the list of another payment (an older Pay, another request)."""
        tapped = MethodButton.unpack(self.button)
        return tapped is not None and tapped.request != self.data["request"]

    def explain_stale(self) -> None:
        tapped = MethodButton.unpack(self.button)
        refuse(self.ctx, "pay.stale", id=tapped.request if tapped else "")

    def method_ok(self) -> bool:
        ctx = self.ctx
        tapped = MethodButton.unpack(self.button)
        methods = {m.id: m for m in accepted_methods(ctx, ctx.me.id)}
        method = methods.get(tapped.method) if tapped else None
        if method is None:
            return False
        request = self.request
        hit = payment_limit(ctx.tx, ctx.market, ctx.me.id, method, request.amount, ctx.now)
        if hit is not None:
            ctx.say(
                "pay.failed",
                reason="limit",
                limit=hit.limit,
                limit_name=hit.name,
                amount=request.amount,
                buttons=method_buttons(ctx, ctx.me.id, request.id),
                offer=True,
            )
            return False
        self.data["method"] = method.id
        return True

    def ask_pin(self) -> None:
        ctx, request = self.ctx, self.request
        ctx.say(
            "pin.ask",
            pin_pad=True,
            ref=PinPrompt(request.id, ctx.inbound.key).pack(),
            amount=request.amount,
            id=request.id,
            business=self.business_name,
            biometric=ctx.me.biometric and ctx.inbound.can_biometric,
            length=ctx.settings.security.pin_length,
        )

    # -- authorising --------------------------------------------------------------------------
    def authorise(self) -> None:
        """Check the PIN (or biometric answer) and charge, once per event (`prepare` runs for
        each candidate transition); the transitions then branch on `outcome`."""
        if self.outcome:
            return
        ctx = self.ctx
        if ctx.inbound.kind == "text":
            ctx.delete_inbound()
        prompt = PinPrompt.unpack(ctx.inbound.message)
        if prompt is not None and prompt.request != self.data["request"]:
            # A PIN typed on an older prompt (another request's): it must not pay this one, and
            # costs no attempt.
            refuse(ctx, "pay.stale", id=prompt.request)
            self.outcome = "retry"
        elif ctx.inbound.kind == "biometric":
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
        if not ctx.me.biometric or not ctx.inbound.can_biometric:
            ctx.say("pay.biometric_unavailable", pin_pad=True)
            return False
        if self.text != "approve":
            ctx.say("pay.biometric_refused", pin_pad=True)
            return False
        return True

    def _charge(self) -> str:
        ctx, request = self.ctx, self.request
        # Checked again: the request may have closed, been paid or lost its payee while the
        # customer chose a method and typed the PIN.
        blocker = why_not_payable(ctx.tx, request, ctx.now)
        method = ctx.tx.method(self.data["method"])
        if blocker is not None or method is None or method.user_id != ctx.me.id:
            explain_blocker(ctx, request, blocker or "cancelled")
            return "ended"
        attempt = charge.attempt(ctx.tx, ctx.rails, ctx.ids, request, ctx.me.id, method, ctx.now)
        if attempt is None:  # a payment went live in this very unit (a double tap)
            explain_blocker(
                ctx, request, "paid" if live_payment(ctx.tx, request) is None else "pending"
            )
            return "ended"
        payment, result = attempt
        ctx.say("pay.processing", kind="toast")
        if conclude(ctx, payment, request, result, FIRST_ANSWER) == "failed":
            return "failed"
        return "ended"

    def ended(self) -> bool:
        return self.outcome == "ended"

    def failed(self) -> bool:
        return self.outcome == "failed"

    def end(self) -> None:
        self.finish()

    def forget_method(self) -> None:
        self.data.pop("method", None)


def open_link(ctx: Ctx, token: str) -> None:
    request = ctx.tx.request_by_token_hash(token_hash(token))
    if request is None:
        ctx.say("link.invalid")
        return
    business = ctx.tx.user(request.business_id)
    name = business.name if business else ""
    if problem := _not_for_me(ctx, request):
        ctx.say(problem, name=name, market=ctx.me.market)
        return
    if (blocker := why_not_payable(ctx.tx, request, ctx.now)) is not None:
        explain_blocker(ctx, request, blocker)
        return
    ctx.say(
        "request.received",
        ref=RequestMessage(request.id).pack(),
        buttons=request_buttons(),
        id=request.id,
        amount=request.amount,
        note=request.note,
        expires_at=request.expires_at,
        business=name,
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
        "conditions": "cannot_see",
        "after": "explain",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": ["wants_decline", "decline_blocked"],
        "after": "explain_not_payable",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.CONFIRM_DECLINE,
        "conditions": "wants_decline",
        "after": "ask_decline",
    },
    {
        "trigger": "tap",
        "source": S.CONFIRM_DECLINE,
        "dest": S.DONE,
        "conditions": "tapped_confirm",
        "after": "decline",
    },
    {
        "trigger": "tap",
        "source": S.CONFIRM_DECLINE,
        "dest": S.DONE,
        "conditions": "tapped_back",
        "after": "keep",
    },
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "not_payable",
        "after": "explain_not_payable",
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
        "dest": None,
        "conditions": "stale_method",
        "after": "explain_stale",
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

"""The business asks for money: `/request` (a registered customer, by phone or shared contact)
or `/link` (a payment link anyone in the market can pay once)."""

from __future__ import annotations

import hashlib
from enum import Enum, auto
from typing import Any

from core.money import Money, parse_amount
from core.records import PaymentRequest
from core.refs import MenuButton, RequestMessage, RequestOwnerMessage
from flows.conversation import refuse
from flows.machine import Btn, Ctx, Flow, FlowModel
from payments.cards import looks_like_card
from payments.lifecycle import expire_if_due, move_request, why_not_cancellable
from payments.limits import amount_limit
from payments.paycodes.issue import build as build_code
from payments.phones import parse_phone


class S(Enum):
    START = auto()
    ASK_CUSTOMER = auto()
    ASK_AMOUNT = auto()
    ASK_NOTE = auto()
    DONE = auto()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_buttons() -> tuple[tuple[Btn, ...], ...]:
    return ((Btn("pay"), Btn("decline")),)


class AskForMoney(FlowModel):
    flow = "request"

    def is_link(self) -> bool:
        return self.data.get("kind") == "link"

    def payments_missing(self) -> bool:
        return self.ctx.tx.payout(self.ctx.me.id) is None

    def explain_not_set_up(self) -> None:
        self.ctx.say(
            "payments.not_set_up", buttons=((Btn(MenuButton("setup").pack(), key="setup"),),)
        )
        self.finish()

    def ask_customer(self) -> None:
        self.ctx.say("request.ask_customer", ask_contact=True)

    def customer_ok(self) -> bool:
        ctx = self.ctx
        raw = ctx.inbound.phone if ctx.inbound.kind == "contact" else self.text
        if raw and not raw.startswith("+"):
            raw = "+" + raw
        parsed = parse_phone(raw)
        if parsed is None:
            ctx.say("request.customer_invalid")
            return False
        phone, region = parsed
        # What a business learns comes from the number itself, never from who holds an account:
        # no name, and no telling a business account from no account at all.
        link = ((Btn(MenuButton("link").pack(), key="menu.link"),),)
        if region != ctx.me.market:
            ctx.say("request.other_market", phone=phone, market=ctx.me.market)
            return False
        if phone == ctx.me.phone:
            ctx.say("request.self", buttons=link)
            return False
        customer = ctx.tx.user_by_phone(phone)
        if customer is None or customer.role != "customer":
            ctx.say("request.customer_unknown", phone=phone, buttons=link)
            return False
        self.data.update(customer=customer.id, customer_name=customer.name)
        return True

    def ask_amount(self) -> None:
        market = self.ctx.market
        self.ctx.say(
            "request.ask_amount",
            currency=market.currency,
            example=Money(25050, market.currency),
            limit=market.limits.per_transaction,
        )

    def amount_ok(self) -> bool:
        market = self.ctx.market
        amount = parse_amount(self.text, market.currency)
        if isinstance(amount, str):
            self.ctx.say("request.amount_invalid", reason=amount, currency=market.currency)
            return False
        if hit := amount_limit(amount, market):
            self.ctx.say(
                "request.amount_invalid",
                reason=hit.name,
                limit=hit.limit,
                currency=market.currency,
            )
            return False
        self.data["amount"] = amount.minor
        return True

    def ask_note(self) -> None:
        self.ctx.say("request.ask_note", buttons=((Btn("skip"),),))

    def note_ok(self) -> bool:
        if self.ctx.inbound.kind == "tap":
            self.data["note"] = ""
            return self.button == "skip"
        if len(self.text) > 200:
            self.ctx.say("request.note_too_long", limit=200)
            return False
        if looks_like_card(self.text):  # the note is shown to the customer: never a card
            self.ctx.delete_inbound()
            self.ctx.say("request.note_secret")
            return False
        self.data["note"] = self.text
        return True

    def create(self) -> None:
        ctx, data = self.ctx, self.data
        amount = Money(data["amount"], ctx.market.currency)
        request = PaymentRequest(
            ctx.ids.ref("PR"),
            ctx.me.id,
            data.get("customer"),
            "link" if self.is_link() else "request",
            amount,
            data["note"],
            "open",
            ctx.now,
            ctx.now + ctx.settings.payments.request_expiry,
        )
        token = ctx.ids.token() if self.is_link() else None
        ctx.tx.add_request(request, token_hash(token) if token else None)
        ctx.tx.schedule(
            request.expires_at,
            "request.expire",
            {"request": request.id, "user": ctx.me.id, "key": request.id},
        )
        common: dict[str, Any] = {
            "id": request.id,
            "amount": amount,
            "note": request.note,
            "expires_at": request.expires_at,
            "business": ctx.me.name,
        }
        if token:
            ctx.say(
                "link.created",
                link_token=token,
                ref=RequestOwnerMessage(request.id).pack(),
                buttons=((Btn("cancel"),),),
                **common,
            )
        else:
            ctx.say(
                "request.sent",
                customer=data["customer_name"],
                ref=RequestOwnerMessage(request.id).pack(),
                buttons=((Btn("cancel"),),),
                **common,
            )
            ctx.say(
                "request.received",
                to=data["customer"],
                ref=RequestMessage(request.id).pack(),
                buttons=request_buttons(),
                **common,
            )
        show_code(ctx, request)
        self.finish()


_TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": "begin",
        "source": S.START,
        "dest": S.DONE,
        "conditions": "payments_missing",
        "after": "explain_not_set_up",
    },
    {"trigger": "begin", "source": S.START, "dest": S.ASK_AMOUNT, "conditions": "is_link"},
    {"trigger": "begin", "source": S.START, "dest": S.ASK_CUSTOMER},
    {"trigger": "text", "source": S.ASK_AMOUNT, "dest": S.ASK_NOTE, "conditions": "amount_ok"},
    {"trigger": "text", "source": S.ASK_AMOUNT, "dest": None},
    {
        "trigger": "text",
        "source": S.ASK_NOTE,
        "dest": S.DONE,
        "conditions": "note_ok",
        "after": "create",
    },
    {"trigger": "text", "source": S.ASK_NOTE, "dest": None},
    {
        "trigger": "tap",
        "source": S.ASK_NOTE,
        "dest": S.DONE,
        "conditions": "note_ok",
        "after": "create",
    },
]
for _trigger in ("text", "contact"):
    _TRANSITIONS += [
        {
            "trigger": _trigger,
            "source": S.ASK_CUSTOMER,
            "dest": S.ASK_AMOUNT,
            "conditions": "customer_ok",
        },
        {"trigger": _trigger, "source": S.ASK_CUSTOMER, "dest": None},
    ]

FLOW = Flow(
    "request",
    AskForMoney,
    S,
    _TRANSITIONS,
    S.START,
    on_enter={S.ASK_CUSTOMER: "ask_customer", S.ASK_AMOUNT: "ask_amount", S.ASK_NOTE: "ask_note"},
)


def show_code(ctx: Ctx, request: PaymentRequest) -> None:
    """The business gets the request's payment code in its market's scheme: a QR photo whose
    caption holds the code's text, to forward, show at the counter, or copy."""
    payout = ctx.tx.payout(request.business_id)
    built = build_code(request, ctx.me, payout, ctx.market) if payout is not None else None
    if built is not None:
        scheme, code = built
        ctx.say(
            "code.qr",
            kind="photo",
            qr=code,
            scheme=scheme,
            code=code,
            id=request.id,
            amount=request.amount,
        )


def close_request_message(
    ctx: Ctx, request: PaymentRequest, status: str, values: dict[str, Any]
) -> None:
    """Edit the customer's request message to say it is closed; its buttons go with it."""
    ctx.say(
        "request.closed",
        to=request.customer_id or ctx.inbound.user,
        kind="edit",
        ref=RequestMessage(request.id).pack(),
        status=status,
        **values,
    )


def cancel(ctx: Ctx, request_id: str) -> None:
    """The business taps Cancel on its request message (or link). Refused while a payment for it
    is in flight: the customer could be charged after being told nothing was."""
    request = ctx.tx.request(request_id)
    if request is None or request.business_id != ctx.me.id:
        refuse(ctx, "error.not_allowed", role="business")
        return
    blocker = why_not_cancellable(ctx.tx, request)
    if blocker is not None or not move_request(ctx.tx, request, "cancelled"):
        key = "request.cancel_refused" if blocker in ("paid", "pending") else "request.not_open"
        refuse(ctx, key, id=request.id, status=blocker or request.status)
        return
    ctx.tx.cancel_jobs("request.expire", request.id)
    values: dict[str, Any] = {"id": request.id, "amount": request.amount, "business": ctx.me.name}
    ctx.say("request.cancelled", **values)
    owner = RequestOwnerMessage(request.id).pack()
    ctx.say("request.closed", kind="edit", ref=owner, status="cancelled", **values)
    if request.customer_id:
        ctx.say("request.cancelled", to=request.customer_id, **values)
        close_request_message(ctx, request, "cancelled", values)


def expire(ctx: Ctx) -> None:
    """Job: a request still open when its time is up expires and both sides are told, unless a
    payment for it is in flight: its outcome decides (see `payments/lifecycle.expire_if_due`)."""
    request = ctx.tx.request(str(ctx.inbound.job["request"]))
    if request is not None and expire_if_due(ctx.tx, request, ctx.now):
        announce_expired(ctx, request)


def announce_expired(ctx: Ctx, request: PaymentRequest) -> None:
    business = ctx.tx.user(request.business_id)
    values: dict[str, Any] = {
        "id": request.id,
        "amount": request.amount,
        "business": business.name if business else "",
    }
    ctx.say("request.expired", to=request.business_id, role="business", **values)
    if request.customer_id:
        ctx.say("request.expired", to=request.customer_id, role="customer", **values)
        close_request_message(ctx, request, "expired", values)

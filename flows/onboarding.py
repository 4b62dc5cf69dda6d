"""Onboarding: pick a role, link a valid phone (its country decides the market), give a name."""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

from core.languages import PSEUDO, guess_language
from core.names import NAME_LIMIT, clean_name
from core.records import User
from flows.machine import Btn, Flow, FlowModel
from flows.menu import show_menu
from payments.phones import parse_phone


class S(Enum):
    START = auto()
    CHOOSE_ROLE = auto()
    ASK_PHONE = auto()
    ASK_NAME = auto()
    DONE = auto()


def _same_number(typed: str, known: str) -> bool:
    digits = "".join(c for c in known if c.isdigit())
    return bool(digits) and typed.lstrip("+") == digits


class Onboarding(FlowModel):
    flow = "onboarding"
    problem: str = ""
    phone: str = ""
    country: str = ""

    def welcome(self) -> None:
        self.ctx.say("welcome", buttons=((Btn("business"), Btn("customer")),))

    def role_picked(self) -> bool:
        return self.tapped("business", "customer")

    def keep_role(self) -> None:
        self.data["role"] = self.button

    def ask_phone(self) -> None:
        self.ctx.say("onboarding.ask_phone", ask_contact=True)

    # -- the phone ----------------------------------------------------------------------------
    def read_phone(self) -> None:
        if self.phone or self.problem:  # `prepare` runs once per candidate transition
            return
        inbound = self.ctx.inbound
        if inbound.kind == "contact" and not inbound.contact_is_own:
            self.problem = "not_own"
            return
        raw = inbound.phone if inbound.kind == "contact" else self.text
        if raw and not raw.startswith("+"):
            raw = "+" + raw if inbound.kind == "contact" else raw
        parsed = parse_phone(raw)
        if parsed is None:
            self.problem = "invalid"
            return
        self.phone, self.country = parsed
        if self.ctx.settings.market(self.country) is None:
            self.problem = "unsupported"
        elif inbound.kind != "contact" and not _same_number(self.phone, inbound.known_phone):
            # Anyone can type anyone's number: only the app's own knowledge of its number, or
            # the person's own shared contact, proves it (else the bank's accounts and the SMS
            # codes for that number would go to whoever typed it).
            self.problem = "unproven"
        elif self.ctx.tx.user_by_phone(self.phone) is not None:
            self.problem = "taken"

    def phone_ok(self) -> bool:
        return not self.problem

    def is_business(self) -> bool:
        return self.data.get("role") == "business"

    def has_display_name(self) -> bool:
        return bool(clean_name(self.ctx.inbound.name))

    def keep_phone(self) -> None:
        self.data.update(phone=self.phone, market=self.country)

    def keep_display_name(self) -> None:
        self.data["name"] = clean_name(self.ctx.inbound.name)

    def explain_phone(self) -> None:
        if self.problem == "unsupported":
            markets = sorted(self.ctx.settings.markets)  # codes: named in the reader's language
            self.ctx.say("onboarding.country_unsupported", country=self.country, markets=markets)
        else:
            key = {
                "not_own": "onboarding.phone_not_own",
                "taken": "onboarding.phone_taken",
                "unproven": "onboarding.phone_unproven",
            }
            self.ctx.say(key.get(self.problem, "onboarding.phone_invalid"), ask_contact=True)

    # -- the name -----------------------------------------------------------------------------
    def ask_name(self) -> None:
        key = "onboarding.ask_business_name" if self.is_business() else "onboarding.ask_name"
        self.ctx.say(key)

    def name_ok(self) -> bool:
        typed = self.ctx.inbound.text
        return (
            self.ctx.inbound.kind == "text" and 1 <= len(clean_name(typed, 10_000)) <= NAME_LIMIT
        )

    def keep_name(self) -> None:
        self.data["name"] = clean_name(self.ctx.inbound.text)

    def name_invalid(self) -> None:
        self.ctx.say("onboarding.name_invalid")

    def register(self) -> None:
        inbound, settings = self.ctx.inbound, self.ctx.settings
        offered = settings.languages(self.data["market"])  # the market's default first
        # A pseudo-locale is never offered, but an app set to it exactly keeps it (testers).
        locale = guess_language(inbound.language, (*offered, *PSEUDO)) or offered[0]
        user = User(
            inbound.user,
            self.data["role"],
            self.data["phone"],
            self.data["market"],
            self.data["name"],
            locale,
        )
        self.ctx.tx.add_user(user, self.ctx.now)
        self.ctx.user = user
        self.ctx.say(
            "onboarding.done",
            name=user.name,
            role=user.role,
            market=user.market,
        )
        show_menu(self.ctx)
        if link := self.data.get("link"):  # they came through a payment link: show it now
            from flows.pay import open_link

            open_link(self.ctx, link)
        self.finish()


_PHONE = {"source": S.ASK_PHONE, "prepare": "read_phone"}
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "begin", "source": S.START, "dest": S.CHOOSE_ROLE, "after": "welcome"},
    {
        "trigger": "tap",
        "source": S.CHOOSE_ROLE,
        "dest": S.ASK_PHONE,
        "conditions": "role_picked",
        "before": "keep_role",
    },
    *[
        t
        for trigger in ("contact", "text")
        for t in (
            {
                "trigger": trigger,
                **_PHONE,
                "dest": S.ASK_NAME,
                "conditions": ["phone_ok", "is_business"],
                "before": "keep_phone",
            },
            {
                "trigger": trigger,
                **_PHONE,
                "dest": S.DONE,
                "conditions": ["phone_ok", "has_display_name"],
                "before": ["keep_phone", "keep_display_name"],
            },
            {
                "trigger": trigger,
                **_PHONE,
                "dest": S.ASK_NAME,
                "conditions": "phone_ok",
                "before": "keep_phone",
            },
            {"trigger": trigger, **_PHONE, "dest": None, "after": "explain_phone"},
        )
    ],
    {
        "trigger": "text",
        "source": S.ASK_NAME,
        "dest": S.DONE,
        "conditions": "name_ok",
        "before": "keep_name",
    },
    {"trigger": "text", "source": S.ASK_NAME, "dest": None, "after": "name_invalid"},
]

FLOW = Flow(
    "onboarding",
    Onboarding,
    S,
    TRANSITIONS,
    S.START,
    on_enter={S.ASK_PHONE: "ask_phone", S.ASK_NAME: "ask_name", S.DONE: "register"},
)

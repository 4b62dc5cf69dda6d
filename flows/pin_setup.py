"""The security PIN: set (twice, trivial PINs refused), change (needs the old PIN), reset after
an SMS code, and biometric enrolment where the person's app can prompt for it (the simulator)."""

from __future__ import annotations

import os
from enum import Enum, auto
from typing import Any

from flows.machine import Btn, Flow, FlowModel
from flows.pin_entry import enter_pin
from flows.sms import send_code
from payments import codes
from payments.pin import PEPPERED, check_new_pin, matches, new_pin_hash

PURPOSE = "pin_reset"


class S(Enum):
    START = auto()
    MENU = auto()
    ASK_CURRENT = auto()
    ENTER_CODE = auto()
    ASK_NEW = auto()
    ASK_REPEAT = auto()
    DONE = auto()


class PinSetup(FlowModel):
    flow = "pin"
    _forgot = False

    @property
    def entered(self) -> str:
        return self.text

    def forget_typed(self) -> None:
        """A PIN typed as a message is deleted at once (the keypad never makes a message)."""
        if self.ctx.inbound.kind == "text" and not self._forgot:
            self._forgot = True  # `prepare` runs once per candidate transition
            self.ctx.delete_inbound()

    def has_pin(self) -> bool:
        return self.ctx.tx.pin(self.ctx.me.id) is not None

    def show_menu(self) -> None:
        row = [Btn("change"), Btn("forgot")]
        if self.ctx.inbound.can_biometric and not self.ctx.me.biometric:
            row.append(Btn("biometric"))
        self.ctx.say("pin.menu", buttons=(tuple(row),))

    def enrol_biometric(self) -> None:
        self.ctx.tx.set_biometric(self.ctx.me.id, True)
        self.ctx.say("pin.biometric_enrolled")
        self.finish()

    def biometric_available(self) -> bool:
        return self.ctx.inbound.can_biometric

    # -- the current PIN or an SMS code -------------------------------------------------------
    def ask_current(self) -> None:
        self.ctx.say("pin.ask_current", pin_pad=True, length=self.ctx.settings.security.pin_length)

    def current_ok(self) -> bool:
        outcome = enter_pin(self.ctx, self.entered)
        if outcome == "ended":
            self.finish()
        return outcome == "ok"

    def send_code(self) -> None:
        ctx = self.ctx
        if send_code(ctx, PURPOSE) == "sent":
            ctx.say("pin.reset_code_sent", phone=ctx.me.phone[-4:])
        else:
            ctx.say("pin.code_unavailable", per_hour=ctx.settings.security.sms_resends_per_hour)

    def code_ok(self) -> bool:
        ctx = self.ctx
        ctx.delete_inbound()  # a one-time code is a secret: it leaves the chat at once
        check = codes.verify(ctx.tx, ctx.me.id, PURPOSE, self.text, ctx.now)
        if check.outcome == "ok":
            return True
        if check.outcome == "wrong":
            ctx.say("pin.code_wrong", tries_left=check.tries_left)
        else:
            ctx.say("pin.code_expired", reason=check.outcome, buttons=((Btn("resend"),),))
        return False

    # -- the new PIN --------------------------------------------------------------------------
    def ask_new(self) -> None:
        self._expect_new()
        self.ctx.say("pin.ask_new", pin_pad=True, length=self.ctx.settings.security.pin_length)

    def _expect_new(self) -> None:
        """The next entry is a new PIN: the engine may hash it beforehand with this new salt,
        kept (salts are not secret) so that only a hash made with it is taken."""
        cost = self.ctx.settings.security.pin_hash_cost
        salt = os.urandom(16)
        self.data["new_salt"] = salt.hex()
        self.ctx.expect_pin(salt, bytes([cost | PEPPERED]))

    def new_ok(self) -> bool:
        problem = check_new_pin(self.entered, self.ctx.settings.security.pin_length)
        if problem is None:
            return True
        key = "pin.too_simple" if problem == "trivial" else "pin.invalid"
        self.ctx.say(key, pin_pad=True, length=self.ctx.settings.security.pin_length)
        return False

    def keep_first(self) -> None:
        offered = self.data.pop("new_salt", None)
        digest, salt = new_pin_hash(
            self.entered,
            self.ctx.tx.pin_pepper(),
            self.ctx.settings.security.pin_hash_cost,
            self.ctx.inbound.pin_proof,
            bytes.fromhex(offered) if offered else None,
        )
        self.data["first"] = [digest.hex(), salt.hex()]  # a salted hash, never the PIN

    def ask_repeat(self) -> None:
        digest, salt = self.data["first"]
        self.ctx.expect_pin(bytes.fromhex(salt), bytes.fromhex(digest)[:1])
        self.ctx.say("pin.ask_repeat", pin_pad=True)

    def repeat_matches(self) -> bool:
        digest, salt = (bytes.fromhex(value) for value in self.data["first"])
        pepper = self.ctx.tx.pin_pepper()
        return matches(self.entered, digest, salt, pepper, self.ctx.inbound.pin_proof)

    def mismatch(self) -> None:
        self.data.pop("first", None)
        self._expect_new()
        self.ctx.say("pin.mismatch", pin_pad=True)

    def save(self) -> None:
        digest, salt = (bytes.fromhex(value) for value in self.data.pop("first"))
        self.ctx.tx.set_pin(self.ctx.me.id, digest, salt)
        self.ctx.expect_pin(salt, digest[:1])  # payments now check against this PIN
        self.ctx.say("pin.set")
        self.finish()


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "begin", "source": S.START, "dest": S.MENU, "conditions": "has_pin"},
    {"trigger": "begin", "source": S.START, "dest": S.ASK_NEW, "after": "ask_new"},
    {"trigger": "tap", "source": S.MENU, "dest": S.ASK_CURRENT, "conditions": "tapped_change"},
    {
        "trigger": "tap",
        "source": S.MENU,
        "dest": S.ENTER_CODE,
        "conditions": "tapped_forgot",
        "after": "send_code",
    },
    {
        "trigger": "tap",
        "source": S.MENU,
        "dest": S.DONE,
        "conditions": ["tapped_biometric", "biometric_available"],
        "after": "enrol_biometric",
    },
    {
        "trigger": "text",
        "source": S.ENTER_CODE,
        "dest": S.ASK_NEW,
        "conditions": "code_ok",
        "after": "ask_new",
    },
    {"trigger": "text", "source": S.ENTER_CODE, "dest": None},
    {
        "trigger": "tap",
        "source": S.ENTER_CODE,
        "dest": None,
        "conditions": "tapped_resend",
        "after": "send_code",
    },
]
for _trigger in ("pin", "text"):
    _entry = {"trigger": _trigger, "prepare": "forget_typed"}
    TRANSITIONS += [
        {
            **_entry,
            "source": S.ASK_CURRENT,
            "dest": S.ASK_NEW,
            "conditions": "current_ok",
            "after": "ask_new",
        },
        {**_entry, "source": S.ASK_CURRENT, "dest": None},
        {
            **_entry,
            "source": S.ASK_NEW,
            "dest": S.ASK_REPEAT,
            "conditions": "new_ok",
            "before": "keep_first",
            "after": "ask_repeat",
        },
        {**_entry, "source": S.ASK_NEW, "dest": None},
        {
            **_entry,
            "source": S.ASK_REPEAT,
            "dest": S.DONE,
            "conditions": "repeat_matches",
            "after": "save",
        },
        {**_entry, "source": S.ASK_REPEAT, "dest": S.ASK_NEW, "after": "mismatch"},
    ]

FLOW = Flow(
    "pin",
    PinSetup,
    S,
    TRANSITIONS,
    S.START,
    on_enter={S.MENU: "show_menu", S.ASK_CURRENT: "ask_current"},
)

"""The business setup wizard, in WhatsApp Business's order: Settings → Payments → Add payment
method → accept the terms → choose your bank → verify by SMS code → choose the account →
confirm."""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

from core.errors import RailRefused
from core.refs import AccountButton, BankButton, MenuButton
from flows.machine import Btn, Flow, FlowModel
from flows.sms import send_code
from payments import codes

PURPOSE = "bank_verification"


class S(Enum):
    START = auto()
    SETTINGS = auto()
    OVERVIEW = auto()
    TERMS = auto()
    CHOOSE_BANK = auto()
    ENTER_CODE = auto()
    CHOOSE_ACCOUNT = auto()
    CONFIRM = auto()
    CONFIRM_REMOVE = auto()
    DONE = auto()


class PaymentSetup(FlowModel):
    flow = "payment_setup"

    # -- entry --------------------------------------------------------------------------------
    def from_settings(self) -> bool:
        return self.data.get("entry") == "settings"

    def show_settings(self) -> None:
        language = Btn(MenuButton("language").pack(), key="menu.language")
        self.ctx.say("settings", buttons=((Btn("payments"),), (language,)))

    def show_overview(self) -> None:
        payout = self.ctx.tx.payout(self.ctx.me.id)
        if payout is None:
            self.ctx.say(
                "payments.overview", bank=None, last4=None, buttons=((Btn("add_method"),),)
            )
        else:
            self.data["bank"] = payout.bank
            self.ctx.say(
                "payments.overview",
                bank=payout.bank,
                last4=payout.last4,
                buttons=((Btn("change_account"), Btn("remove")),),
            )

    def has_payout(self) -> bool:
        return self.ctx.tx.payout(self.ctx.me.id) is not None

    def ask_remove(self) -> None:
        """Removing the account stops every payment to the business: asked once more."""
        payout = self.ctx.tx.payout(self.ctx.me.id)
        self.ctx.say(
            "payments.confirm_remove",
            bank=payout.bank if payout else "",
            last4=payout.last4 if payout else "",
            buttons=((Btn("confirm", key="remove_confirm"), Btn("back")),),
        )

    def kept(self) -> None:
        self.ctx.say("payments.kept")
        self.finish()

    def remove_payout(self) -> None:
        self.ctx.tx.remove_payout(self.ctx.me.id)
        self.ctx.say("payments.removed", bank=self.data.get("bank", ""))
        self.finish()

    # -- terms and bank -----------------------------------------------------------------------
    def show_terms(self) -> None:
        self.ctx.say("setup.terms", buttons=((Btn("accept"), Btn("decline")),))

    def declined(self) -> None:
        self.ctx.say("setup.terms_declined")
        self.finish()

    def show_banks(self) -> None:
        banks = self.ctx.market.banks
        self.ctx.say(
            "setup.choose_bank",
            banks=banks,
            buttons=tuple((Btn(BankButton.at(i).pack(), label=b),) for i, b in enumerate(banks)),
        )

    def _bank(self) -> str | None:
        tapped = BankButton.unpack(self.button)
        at = tapped.position if tapped else None
        banks = self.ctx.market.banks
        return banks[at] if at is not None and at < len(banks) else None

    def bank_picked(self) -> bool:
        return self._bank() is not None

    def keep_bank(self) -> None:
        self.data["bank"] = self._bank()

    # -- the SMS code -------------------------------------------------------------------------
    def send_code(self) -> None:
        ctx = self.ctx
        outcome = send_code(ctx, PURPOSE)
        if outcome == "limit":
            ctx.say("setup.resend_limit", per_hour=ctx.settings.security.sms_resends_per_hour)
        elif outcome == "failed":
            ctx.say("setup.sms_failed", buttons=((Btn("resend"),),))
        else:
            ctx.say("setup.sms_sent", phone=ctx.me.phone[-4:], bank=self.data["bank"])

    def code_ok(self) -> bool:
        self.ctx.delete_inbound()  # a one-time code is a secret: it leaves the chat at once
        check = codes.verify(self.ctx.tx, self.ctx.me.id, PURPOSE, self.text, self.ctx.now)
        self.data["_check"] = [check.outcome, check.tries_left]
        return check.outcome == "ok"

    def explain_code(self) -> None:
        if "_check" not in self.data:  # the code was right; the bank's answer was explained
            return
        outcome, left = self.data.pop("_check")
        if outcome == "wrong":
            self.ctx.say("setup.code_wrong", tries_left=left)
        else:
            self.ctx.say("setup.code_expired", reason=outcome, buttons=((Btn("resend"),),))

    def load_accounts(self) -> bool:
        self.data.pop("_check", None)
        ctx = self.ctx
        try:
            accounts = ctx.rails.banks.accounts(
                ctx.tx, ctx.me.phone, self.data["bank"], ctx.market.currency
            )
        except RailRefused:
            ctx.say("setup.bank_unavailable", bank=self.data["bank"], buttons=((Btn("retry"),),))
            return False
        self.data["accounts"] = {a.id: a.last4 for a in accounts}
        return True

    def show_accounts(self) -> None:
        accounts: dict[str, str] = self.data["accounts"]
        self.ctx.say(
            "setup.choose_account",
            bank=self.data["bank"],
            count=len(accounts),
            buttons=tuple(
                (Btn(AccountButton.at(i).pack(), label=f"•••• {last4}"),)
                for i, last4 in enumerate(accounts.values())
            ),
        )

    def _account(self) -> tuple[str, str] | None:
        tapped = AccountButton.unpack(self.button)
        at = tapped.position if tapped else None
        accounts = list(self.data.get("accounts", {}).items())
        return accounts[at] if at is not None and at < len(accounts) else None

    def account_picked(self) -> bool:
        return self._account() is not None

    def keep_account(self) -> None:
        picked = self._account()
        if picked is not None:
            self.data["account"], self.data["last4"] = picked

    def show_confirm(self) -> None:
        self.ctx.say(
            "setup.confirm",
            bank=self.data["bank"],
            last4=self.data["last4"],
            buttons=((Btn("confirm"), Btn("cancel")),),
        )

    def save(self) -> None:
        ctx = self.ctx
        ctx.tx.set_payout(ctx.me.id, self.data["bank"], self.data["account"], ctx.now)
        ctx.say("setup.done", bank=self.data["bank"], last4=self.data["last4"])
        self.finish()

    def cancel(self) -> None:
        self.ctx.say("cancelled")
        self.finish()


def _tap(source: S, dest: S | None, **more: Any) -> dict[str, Any]:
    return {"trigger": "tap", "source": source, "dest": dest, **more}


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "begin", "source": S.START, "dest": S.SETTINGS, "conditions": "from_settings"},
    {"trigger": "begin", "source": S.START, "dest": S.TERMS},
    _tap(S.SETTINGS, S.OVERVIEW, conditions="tapped_payments"),
    _tap(S.OVERVIEW, S.TERMS, conditions="tapped_add_method"),
    _tap(
        S.OVERVIEW,
        S.CHOOSE_ACCOUNT,
        conditions=["tapped_change_account", "has_payout", "load_accounts"],
    ),
    _tap(S.OVERVIEW, S.CONFIRM_REMOVE, conditions=["tapped_remove", "has_payout"]),
    _tap(
        S.CONFIRM_REMOVE,
        S.DONE,
        conditions=["tapped_confirm", "has_payout"],
        after="remove_payout",
    ),
    _tap(S.CONFIRM_REMOVE, S.DONE, conditions="tapped_back", after="kept"),
    _tap(S.TERMS, S.CHOOSE_BANK, conditions="tapped_accept"),
    _tap(S.TERMS, S.DONE, conditions="tapped_decline", after="declined"),
    _tap(
        S.CHOOSE_BANK,
        S.ENTER_CODE,
        conditions="bank_picked",
        before="keep_bank",
        after="send_code",
    ),
    {
        "trigger": "text",
        "source": S.ENTER_CODE,
        "dest": S.CHOOSE_ACCOUNT,
        "conditions": ["code_ok", "load_accounts"],
    },
    {"trigger": "text", "source": S.ENTER_CODE, "dest": None, "after": "explain_code"},
    _tap(S.ENTER_CODE, None, conditions="tapped_resend", after="send_code"),
    _tap(S.ENTER_CODE, S.CHOOSE_ACCOUNT, conditions=["tapped_retry", "load_accounts"]),
    _tap(S.CHOOSE_ACCOUNT, S.CONFIRM, conditions="account_picked", before="keep_account"),
    _tap(S.CONFIRM, S.DONE, conditions="tapped_confirm", after="save"),
    _tap(S.CONFIRM, S.DONE, conditions="tapped_cancel", after="cancel"),
]

FLOW = Flow(
    "payment_setup",
    PaymentSetup,
    S,
    TRANSITIONS,
    S.START,
    on_enter={
        S.SETTINGS: "show_settings",
        S.OVERVIEW: "show_overview",
        S.CONFIRM_REMOVE: "ask_remove",
        S.TERMS: "show_terms",
        S.CHOOSE_BANK: "show_banks",
        S.CHOOSE_ACCOUNT: "show_accounts",
        S.CONFIRM: "show_confirm",
    },
)

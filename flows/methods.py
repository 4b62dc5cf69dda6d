"""A customer's payment methods: list with a default, add (card, bank transfer, wallet), set the
default, remove. A typed card number is deleted from the chat as soon as it is read."""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

from core.errors import InvariantBroken
from core.records import MethodKind
from core.refs import MethodButton, WalletButton
from flows.machine import Btn, Flow, FlowModel
from payments import handles
from payments.cards import CardInput, parse_card
from payments.method_label import shown_label
from payments.wallet import add_bank_method, add_card, default_funds

_NORMALISE = {
    "upi": handles.normalise_upi,
    "pix": handles.normalise_pix,
    "paynow": handles.normalise_paynow,
}


class S(Enum):
    START = auto()
    LIST = auto()
    DETAIL = auto()
    CHOOSE_KIND = auto()
    ASK_CARD = auto()
    ASK_HANDLE = auto()
    CHOOSE_WALLET = auto()
    DONE = auto()


class Methods(FlowModel):
    flow = "methods"

    def show_list(self) -> None:
        methods = self.ctx.tx.methods(self.ctx.me.id)
        rows = tuple((Btn(MethodButton(m.id).pack(), label=shown_label(m)),) for m in methods)
        self.ctx.say(
            "methods.list",
            methods=[{"label": shown_label(m), "default": m.is_default} for m in methods],
            buttons=(*rows, (Btn("add"),)),
        )

    def start_at_add(self) -> bool:
        return bool(self.data.get("add"))

    # -- one method ---------------------------------------------------------------------------
    def method_picked(self) -> bool:
        tapped = MethodButton.unpack(self.button)
        method = self.ctx.tx.method(tapped.method) if tapped else None
        if method is None or method.user_id != self.ctx.me.id:
            return False
        self.data["method"] = method.id
        return True

    def show_detail(self) -> None:
        method = self.ctx.tx.method(self.data["method"])
        if method is None:  # `method_ok` found it in this same event
            raise InvariantBroken(f"method {self.data['method']} is gone")
        self.ctx.say(
            "methods.detail",
            label=shown_label(method),
            default=method.is_default,
            method_kind=method.kind,
            expiry=method.expiry,
            buttons=((Btn("make_default"), Btn("remove")), (Btn("back"),)),
        )

    def make_default(self) -> None:
        self.ctx.tx.set_default_method(self.ctx.me.id, self.data["method"])
        method = self.ctx.tx.method(self.data["method"])
        self.ctx.say("methods.default_set", label=shown_label(method) if method else "")
        self.finish()

    def remove(self) -> None:
        tx, me = self.ctx.tx, self.ctx.me
        method = tx.method(self.data["method"])
        tx.remove_method(me.id, self.data["method"])
        rest = tx.methods(me.id)
        if rest and not any(m.is_default for m in rest):
            tx.set_default_method(me.id, rest[0].id)
        self.ctx.say("methods.removed", label=shown_label(method) if method else "")
        self.finish()

    # -- adding -------------------------------------------------------------------------------
    def show_kinds(self) -> None:
        market = self.ctx.market
        kinds = [k for k in market.methods if k != "wallet" or market.wallets]
        self.ctx.say(
            "methods.choose_kind", buttons=tuple((Btn(k, key=f"kind.{k}"),) for k in kinds)
        )

    def kind_picked(self) -> bool:
        if self.button in self.ctx.market.methods:
            self.data["kind"] = self.button
            return True
        return False

    def is_card(self) -> bool:
        return self.data.get("kind") == "card"

    def is_wallet(self) -> bool:
        return self.data.get("kind") == "wallet"

    def ask_card(self) -> None:
        self.ctx.say("methods.ask_card", brands=self.ctx.market.card_brands)

    def ask_handle(self) -> None:
        self.ctx.say("methods.ask_handle", method_kind=self.data["kind"])

    def read_card(self) -> bool:
        self.ctx.delete_inbound()
        card = parse_card(self.text, self.ctx.market.card_brands, self.ctx.now)
        if isinstance(card, CardInput):
            self._card = card  # in memory for this event only: never stored
            return True
        problem, brand = card
        key = {
            "unsupported": "methods.card_unsupported",
            "expired": "methods.card_expired",
            "expiry_invalid": "methods.card_expiry_invalid",
            "missing_expiry": "methods.card_expiry_invalid",
        }.get(problem, "methods.card_invalid")
        self.ctx.say(key, brand=brand, accepted=self.ctx.market.card_brands)
        return False

    def save_card(self) -> None:
        ctx = self.ctx
        method = add_card(
            ctx.tx,
            ctx.rails,
            ctx.ids,
            ctx.me.id,
            self._card,
            default_funds(ctx.market.currency),
            ctx.now,
        )
        self._added(shown_label(method), method.is_default)

    def handle_ok(self) -> bool:
        kind: str = self.data["kind"]
        handle = _NORMALISE[kind](self.text) if kind in _NORMALISE else None
        if handle is None:
            self.ctx.say("methods.handle_invalid", method_kind=kind)
            return False
        self.data["handle"] = handle
        return True

    def save_handle(self) -> None:
        ctx = self.ctx
        kind: MethodKind = self.data["kind"]
        handle: str = self.data["handle"]
        bank = (
            handles.bank_for_upi(handle, ctx.market.banks)
            if kind == "upi"
            else (ctx.market.banks[0])
        )
        self._link(kind, handle, bank)

    def show_wallets(self) -> None:
        wallets = self.ctx.market.wallets
        self.ctx.say(
            "methods.choose_wallet",
            buttons=tuple(
                (Btn(WalletButton.at(i).pack(), label=w),) for i, w in enumerate(wallets)
            ),
        )

    def _wallet(self) -> str | None:
        tapped = WalletButton.unpack(self.button)
        at = tapped.position if tapped else None
        wallets = self.ctx.market.wallets
        return wallets[at] if at is not None and at < len(wallets) else None

    def wallet_picked(self) -> bool:
        return self._wallet() is not None

    def save_wallet(self) -> None:
        name = self._wallet()
        if name is not None:
            self._link("wallet", name, name)

    def _link(self, kind: MethodKind, handle: str, bank: str) -> None:
        """A handle (UPI id, Pix key, PayNow number) or wallet, held at a simulated bank."""
        ctx = self.ctx
        method = add_bank_method(
            ctx.tx,
            ctx.rails,
            ctx.ids,
            ctx.me.id,
            kind,
            handle,
            bank,
            ctx.me.phone,
            default_funds(ctx.market.currency),
            ctx.now,
        )
        self._added(shown_label(method), method.is_default)

    def _added(self, label: str, default: bool) -> None:
        self.ctx.say("methods.added", label=label, default=default)
        paying = self.data.get("paying")
        if paying:  # added in the middle of paying: back to that payment's methods
            self.finish("pay", request=paying, button="pay")
        else:
            self.finish()


_CARD_TEXT = {"trigger": "text", "source": S.ASK_CARD}
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "begin", "source": S.START, "dest": S.CHOOSE_KIND, "conditions": "start_at_add"},
    {"trigger": "begin", "source": S.START, "dest": S.LIST},
    {"trigger": "tap", "source": S.LIST, "dest": S.CHOOSE_KIND, "conditions": "tapped_add"},
    {"trigger": "tap", "source": S.LIST, "dest": S.DETAIL, "conditions": "method_picked"},
    {
        "trigger": "tap",
        "source": S.DETAIL,
        "dest": S.DONE,
        "conditions": "tapped_make_default",
        "after": "make_default",
    },
    {
        "trigger": "tap",
        "source": S.DETAIL,
        "dest": S.DONE,
        "conditions": "tapped_remove",
        "after": "remove",
    },
    {"trigger": "tap", "source": S.DETAIL, "dest": S.LIST, "conditions": "tapped_back"},
    {
        "trigger": "tap",
        "source": S.CHOOSE_KIND,
        "dest": S.ASK_CARD,
        "conditions": ["kind_picked", "is_card"],
    },
    {
        "trigger": "tap",
        "source": S.CHOOSE_KIND,
        "dest": S.CHOOSE_WALLET,
        "conditions": ["kind_picked", "is_wallet"],
    },
    {"trigger": "tap", "source": S.CHOOSE_KIND, "dest": S.ASK_HANDLE, "conditions": "kind_picked"},
    {**_CARD_TEXT, "dest": S.DONE, "conditions": "read_card", "after": "save_card"},
    {**_CARD_TEXT, "dest": None},
    {
        "trigger": "text",
        "source": S.ASK_HANDLE,
        "dest": S.DONE,
        "conditions": "handle_ok",
        "after": "save_handle",
    },
    {"trigger": "text", "source": S.ASK_HANDLE, "dest": None},
    {
        "trigger": "tap",
        "source": S.CHOOSE_WALLET,
        "dest": S.DONE,
        "conditions": "wallet_picked",
        "after": "save_wallet",
    },
]

FLOW = Flow(
    "methods",
    Methods,
    S,
    TRANSITIONS,
    S.START,
    on_enter={
        S.LIST: "show_list",
        S.DETAIL: "show_detail",
        S.CHOOSE_KIND: "show_kinds",
        S.ASK_CARD: "ask_card",
        S.ASK_HANDLE: "ask_handle",
        S.CHOOSE_WALLET: "show_wallets",
    },
)

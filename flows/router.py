"""Which flow an event belongs to: commands and menu buttons start flows, taps on a payment
request go to paying, anything else goes to the party's current conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from core.messages import Inbound
from core.refs import (
    HistoryPage,
    LanguageButton,
    MenuButton,
    RequestMessage,
    RequestOwnerMessage,
)
from flows import (
    after_payment,
    language,
    methods,
    onboarding,
    pay,
    payment_setup,
    pin_setup,
    request,
)
from flows.conversation import FLOWS, not_understood, refuse, register, run, start
from flows.jobs import JOBS, run_job
from flows.machine import Ctx
from flows.menu import show_help, show_menu
from flows.pay_code import pay_by_code
from payments.cards import looks_like_card
from payments.paycodes.model import PayCode, Unreadable
from payments.paycodes.reader import looks_like_code
from payments.paycodes.reader import read as read_code

register(onboarding.FLOW, payment_setup.FLOW, methods.FLOW, pin_setup.FLOW, request.FLOW, pay.FLOW)
JOBS.update(
    {
        "request.expire": request.expire,
        "pay.status": after_payment.check_status,
        "pin.unlock": after_payment.unlock_pin,
    }
)

Role = Literal["business", "customer"] | None
STARTERS: dict[str, tuple[Callable[[Ctx, str], None], Role]] = {
    "request": (lambda ctx, _: start(ctx, request.FLOW, kind="request"), "business"),
    "link": (lambda ctx, _: start(ctx, request.FLOW, kind="link"), "business"),
    "settings": (lambda ctx, _: start(ctx, payment_setup.FLOW, entry="settings"), "business"),
    "setup": (lambda ctx, _: start(ctx, payment_setup.FLOW, entry="setup"), "business"),
    "refund": (after_payment.refund, "business"),
    "methods": (lambda ctx, _: start(ctx, methods.FLOW), "customer"),
    "pin": (lambda ctx, _: start(ctx, pin_setup.FLOW), "customer"),
    "history": (after_payment.history, None),
    "receipt": (after_payment.receipt, None),
    "language": (language.choose, None),
}
"""Commands (`/request`) and menu buttons (`menu:request`) that start something, with the
role allowed to use them. The argument is the command's text after its name."""


def dispatch(ctx: Ctx) -> None:
    code = _pasted_code(ctx.inbound)  # read once: paid by, and kept in the chat if it reads
    _route(ctx, code)
    _forget_secrets(ctx, code)


def _pasted_code(inbound: Inbound) -> PayCode | Unreadable | None:
    """A payment code scanned or pasted into the chat, read; None when the text is not meant
    as one."""
    if inbound.kind == "code" or (inbound.kind == "text" and looks_like_code(inbound.text)):
        return read_code(inbound.text)
    return None


def _forget_secrets(ctx: Ctx, code: PayCode | Unreadable | None) -> None:
    """A card number typed anywhere, or a PIN or code typed where nothing asked for one (at the
    menu, at "what would you like to add?"), leaves the chat at once: a flow that asked for one
    deletes it itself."""
    inbound = ctx.inbound
    if inbound.kind != "text" or any(say.kind == "delete" for say in ctx.says):
        return
    text = inbound.text.strip()
    if code is not None and not isinstance(code, Unreadable):
        # a payment code is no secret (and its digit runs can pass a card's checksum); one that
        # does not read may be anything pasted after "000201" or "upi://", a card number too
        return
    unexpected = any(say.key == "error.not_understood" for say in ctx.says)
    if looks_like_card(text) or (unexpected and text.isdigit() and 4 <= len(text) <= 8):
        ctx.delete_inbound()


def _route(ctx: Ctx, code: PayCode | Unreadable | None) -> None:
    inbound = ctx.inbound
    if inbound.kind == "job":
        run_job(ctx)
        return
    command, arg = "", ""
    if inbound.kind == "command":
        command, _, arg = inbound.text.strip().partition(" ")
        command = command.split("@")[0].lower()
    elif inbound.kind == "link":
        command, arg = "/start", inbound.text.strip()
    if ctx.user is None:
        _unregistered(ctx, command, arg.strip())
    elif command:
        _command(ctx, command, arg.strip())
    elif code is not None:
        # Scanned, or pasted into the chat (Telegram has no scanner: the text is the code).
        pay_by_code(ctx, code)
    elif inbound.kind == "tap":
        _tap(ctx)
    else:
        _continue(ctx)


def _tap(ctx: Ctx) -> None:
    """A button acts on what its message is about: a request's Pay and Decline, a business's
    Cancel, a menu entry; any other button belongs to the current conversation."""
    inbound = ctx.inbound
    if menu := MenuButton.unpack(inbound.button):
        _starter(ctx, menu.item, "")
    elif page := HistoryPage.unpack(inbound.button):
        after_payment.history(ctx, page.page)
    elif chosen := LanguageButton.unpack(inbound.button):
        language.tap(ctx, chosen)
    elif (asked := RequestMessage.unpack(inbound.message)) and inbound.button in (
        "pay",
        "decline",
    ):
        start(ctx, pay.FLOW, request=asked.request, button=inbound.button)
    elif (owned := RequestOwnerMessage.unpack(inbound.message)) and inbound.button == "cancel":
        request.cancel(ctx, owned.request)
    else:
        _continue(ctx)


def _unregistered(ctx: Ctx, command: str, arg: str) -> None:
    conv = ctx.tx.conversation(ctx.inbound.user)
    if command == "/help":
        show_help(ctx)
    elif command == "/start" or conv is None or conv[0] != "onboarding":
        start(ctx, onboarding.FLOW, **({"link": arg} if arg else {}))
    else:
        _continue(ctx)


def _command(ctx: Ctx, command: str, arg: str) -> None:
    if command == "/start":
        ctx.tx.clear_conversation(ctx.inbound.user)
        if arg:
            pay.open_link(ctx, arg)
        else:
            show_menu(ctx)
    elif command == "/help":
        show_help(ctx)
    elif command in ("/cancel", "/menu"):
        had = ctx.tx.conversation(ctx.inbound.user) is not None
        ctx.tx.clear_conversation(ctx.inbound.user)
        if command == "/cancel" and had:
            ctx.say("cancelled")
        show_menu(ctx)
    else:
        _starter(ctx, command.removeprefix("/"), arg)


def _starter(ctx: Ctx, name: str, arg: str) -> None:
    starter, role = STARTERS.get(name, (None, None))
    if starter is None:
        not_understood(ctx, hint="help")
    elif role and ctx.me.role != role:
        refuse(ctx, "error.not_allowed", role=role)
    else:
        ctx.tx.clear_conversation(ctx.inbound.user)
        starter(ctx, arg)


def _continue(ctx: Ctx) -> None:
    conv = ctx.tx.conversation(ctx.inbound.user)
    if conv is None and ctx.inbound.kind == "pin":
        # A second ✓ after the payment went through, or a keypad left from before.
        ctx.say("pin.not_expected")
        return
    if conv is None:
        not_understood(ctx, hint="menu")
        return
    name, state, data = conv
    flow = FLOWS[name]
    model = flow.load(ctx, state, data)
    before = len(ctx.says)
    if not run(ctx, flow, model, ctx.inbound.kind) and len(ctx.says) == before:
        not_understood(ctx, hint=f"{name}.{state.lower()}")

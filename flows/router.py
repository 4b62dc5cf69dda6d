"""Which flow an event belongs to: commands and menu buttons start flows, taps on a payment
request go to paying, anything else goes to the party's current conversation."""

from __future__ import annotations

from collections.abc import Callable

from bot.messages import OutboundKind
from flows import onboarding
from flows.machine import Ctx, Flow, FlowModel
from flows.menu import show_help, show_menu

FLOWS: dict[str, Flow] = {f.name: f for f in (onboarding.FLOW,)}
STARTERS: dict[str, Callable[[Ctx, str], None]] = {}
"""Commands and menu buttons that start something, by name (`request` for /request and
menu:request); filled by the flows that exist. The argument is the command's text after it."""

ROLE_OF: dict[str, str] = {}
"""Starters only one role may use (`request` → business)."""


def register(name: str, starter: Callable[[Ctx, str], None], role: str | None = None) -> None:
    STARTERS[name] = starter
    if role:
        ROLE_OF[name] = role


def start(ctx: Ctx, flow: Flow, **data: object) -> None:
    model = flow.model(ctx, flow.initial, dict(data))
    run(ctx, flow, model, "begin")


def run(ctx: Ctx, flow: Flow, model: FlowModel, trigger: str) -> bool:
    fired = flow.fire(model, trigger)
    user_id = ctx.inbound.user
    if model.done:
        ctx.tx.clear_conversation(user_id)
    elif fired:
        ctx.tx.save_conversation(user_id, flow.name, model.state.name, model.data, ctx.now)
    return fired


def not_understood(ctx: Ctx, hint: str = "") -> None:
    kind: OutboundKind = "toast" if ctx.inbound.kind == "tap" else "send"
    ctx.say("error.not_understood", kind=kind, hint=hint)


def dispatch(ctx: Ctx) -> None:
    inbound = ctx.inbound
    if inbound.kind == "job":
        from flows.jobs import run_job

        run_job(ctx)
        return
    command, arg = "", ""
    if inbound.kind == "command":
        command, _, arg = inbound.text.strip().partition(" ")
        command = command.split("@")[0].lower()
    elif inbound.kind == "link":
        command, arg = "/start", inbound.text.strip()
    if ctx.user is None:
        _unregistered(ctx, command)
        return
    if command:
        _command(ctx, command, arg.strip())
        return
    if inbound.kind == "tap" and inbound.button.startswith("menu:"):
        _starter(ctx, inbound.button.removeprefix("menu:"), "")
        return
    if inbound.kind == "tap" and inbound.message.startswith("rq:") and "pay_request" in STARTERS:
        STARTERS["pay_request"](ctx, inbound.message.removeprefix("rq:"))
        return
    _continue(ctx)


def _unregistered(ctx: Ctx, command: str) -> None:
    conv = ctx.tx.conversation(ctx.inbound.user)
    if command == "/start" or conv is None or conv[0] != "onboarding":
        start(ctx, onboarding.FLOW)
        return
    if command == "/help":
        show_help(ctx)
        return
    _continue(ctx)


def _command(ctx: Ctx, command: str, arg: str) -> None:
    if command == "/start":
        ctx.tx.clear_conversation(ctx.inbound.user)
        if arg and "open_link" in STARTERS:
            STARTERS["open_link"](ctx, arg)
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
    starter = STARTERS.get(name)
    if starter is None:
        not_understood(ctx, hint="help")
        return
    role = ROLE_OF.get(name)
    if role and ctx.me.role != role:
        ctx.say(
            "error.not_allowed", kind="toast" if ctx.inbound.kind == "tap" else "send", role=role
        )
        return
    ctx.tx.clear_conversation(ctx.inbound.user)
    starter(ctx, arg)


def _continue(ctx: Ctx) -> None:
    conv = ctx.tx.conversation(ctx.inbound.user)
    if conv is None:
        not_understood(ctx, hint="menu")
        return
    name, state, data = conv
    flow = FLOWS[name]
    model = flow.load(ctx, state, data)
    before = len(ctx.says)
    if not run(ctx, flow, model, ctx.inbound.kind) and len(ctx.says) == before:
        not_understood(ctx, hint=f"{name}.{state.lower()}")

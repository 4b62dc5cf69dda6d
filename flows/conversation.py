"""Starting and continuing a party's conversation: one flow at a time, persisted per event."""

from __future__ import annotations

from typing import Any

from core.messages import OutboundKind
from flows.machine import Ctx, Flow, FlowModel

FLOWS: dict[str, Flow] = {}


def register(*flows: Flow) -> None:
    for flow in flows:
        FLOWS[flow.name] = flow


def start(ctx: Ctx, flow: Flow | str, **data: Any) -> None:
    flow = FLOWS[flow] if isinstance(flow, str) else flow
    ctx.tx.clear_conversation(ctx.inbound.user)
    model = flow.model(ctx, flow.initial, dict(data))
    run(ctx, flow, model, "begin")


def run(ctx: Ctx, flow: Flow, model: FlowModel, trigger: str) -> bool:
    fired = flow.fire(model, trigger)
    user_id = ctx.inbound.user
    if model.done:
        ctx.tx.clear_conversation(user_id)
        if model.handoff is not None:
            name, data = model.handoff
            start(ctx, name, **data)
    elif fired:
        ctx.tx.save_conversation(user_id, flow.name, model.state.name, model.data, ctx.now)
    return fired


def not_understood(ctx: Ctx, hint: str = "") -> None:
    kind: OutboundKind = "toast" if ctx.inbound.kind == "tap" else "send"
    ctx.say("error.not_understood", kind=kind, hint=hint)


def refuse(ctx: Ctx, key: str, **values: Any) -> None:
    """A refusal: a toast for a button tap, a message otherwise."""
    kind: OutboundKind = "toast" if ctx.inbound.kind == "tap" else "send"
    ctx.say(key, kind=kind, **values)

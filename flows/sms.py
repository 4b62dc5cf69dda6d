"""Sending a one-time code by SMS, shared by the setup wizard and the PIN reset."""

from __future__ import annotations

from typing import Literal

from flows.machine import Ctx
from payments import codes


def send_code(ctx: Ctx, purpose: str) -> Literal["sent", "limit", "failed"]:
    """Issue a code and put it in the party's SMS inbox (hashed at rest, sealed in the outbox);
    `limit` when too many were sent this hour, `failed` when the gateway refused it."""
    policy = ctx.settings.security
    if not codes.can_send(ctx.tx, ctx.me.id, ctx.now, policy):
        return "limit"
    if not ctx.rails.sms.send(ctx.me.phone, purpose):
        return "failed"
    code = ctx.ids.digits(policy.sms_code_length)
    codes.issue(ctx.tx, ctx.me.id, purpose, code, ctx.now, policy)
    ctx.say(
        "sms.code",
        kind="sms",
        sms_phone=ctx.me.phone,
        code=code,
        purpose=purpose,
        minutes=int(policy.sms_code_lifetime.total_seconds() // 60),
    )
    return "sent"

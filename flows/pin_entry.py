"""Entering the PIN, wherever it is asked: the check, the shared wrong-PIN counter and lockout,
and the reply the customer gets when it is not right."""

from __future__ import annotations

from typing import Literal

from flows.machine import Ctx
from payments.pin import LONGEST_PIN, SHORTEST_PIN, check_pin


def enter_pin(ctx: Ctx, pin: str) -> Literal["ok", "retry", "ended"]:
    """`ok`; `retry` (wrong, tries left: asked again on the keypad); `ended` (locked, or no PIN
    to check against: the customer was told why)."""
    policy = ctx.settings.security
    if not (SHORTEST_PIN <= len(pin) <= LONGEST_PIN and pin.isdigit()):
        # Not a PIN at all (a question typed at the prompt, ✓ before the last digit): asked
        # again without spending one of the few attempts, and without a hash on the writer.
        ctx.say("pin.invalid", length=policy.pin_length, pin_pad=True)
        return "retry"
    check = check_pin(
        ctx.tx,
        ctx.me.id,
        pin,
        ctx.now,
        policy.pin_attempts,
        policy.pin_lock,
        ctx.inbound.pin_proof,
    )
    if check.outcome == "ok":
        return "ok"
    if check.outcome == "wrong":
        ctx.say("pin.wrong", attempts_left=check.attempts_left, pin_pad=True)
        return "retry"
    if check.outcome == "locked":
        ctx.say("pin.locked", until=check.locked_until)
    else:
        ctx.say("pay.no_pin")
    return "ended"

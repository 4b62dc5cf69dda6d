"""`paychat chat`'s `:given` and `:inject` written as words, read into what the scenario format
says in YAML (`given:` and `inject:`), so the REPL seeds and injects through the same code."""

from __future__ import annotations

from typing import Any, cast

from payments.rails.base import Fault, Outcome
from sim.scenarios.spec import (
    GIVEN_KEYS,
    METHOD_KEYS,
    METHOD_KINDS,
    OUTCOMES,
    PAYMENTS_KEYS,
    duration,
)


def given_spec(words: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`pin=2580 bank="HDFC Bank" card="4242 4242 4242 4242" expiry=12/30 upi=asha@okhdfc`:
    a method's own keys (expiry, funds, balance, added) belong to the method named before them;
    `bank` and `account` are the business's payout (its setup wizard done)."""
    spec: dict[str, Any] = {}
    method: dict[str, Any] | None = None
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not value:  # (the word itself may be a secret: it is not repeated)
            raise ValueError('write each seed as KEY=VALUE, e.g. pin=2580 or card="4242 …"')
        if key in METHOD_KINDS:
            method = {key: value}
            spec.setdefault("methods", []).append(method)
        elif key in PAYMENTS_KEYS:
            spec.setdefault("payments", {})[key] = int(value) if value.isdigit() else value
        elif key in METHOD_KEYS:
            if method is None:
                raise ValueError(f"{key}= belongs to a method: name it first (card=..., upi=...)")
            method[key] = value
        elif key == "biometric":
            spec[key] = value.lower() in ("true", "yes", "1")
        elif key in GIVEN_KEYS:
            spec[key] = value
        else:
            known = sorted((GIVEN_KEYS - {"payments", "methods"}) | PAYMENTS_KEYS | METHOD_KEYS)
            raise ValueError(f"no {key}= to seed; known: {', '.join(known)}")
    return spec


def fault_spec(words: tuple[str, ...] | list[str]) -> tuple[Fault, int]:
    """`declined insufficient_funds`, `timeout`, `delay 30s`, `error rail_down times=2`."""
    times = 1
    rest = []
    for word in words:
        if word.startswith("times="):
            value = word.removeprefix("times=")
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"times= takes a whole number of at least 1, not {value!r}")
            times = int(value)
        else:
            rest.append(word)
    if not rest:
        raise ValueError("say the outcome: ok, declined, error, timeout or delay")
    outcome, *more = rest
    if outcome not in OUTCOMES:
        raise ValueError(f"no outcome {outcome!r}; known: {', '.join(sorted(OUTCOMES))}")
    if outcome == "delay":
        if not more:
            raise ValueError("a delay says by how much: :inject CALL delay 30s")
        return Fault("delay", None, duration(more[0])), times
    return Fault(cast(Outcome, outcome), more[0] if more else None), times

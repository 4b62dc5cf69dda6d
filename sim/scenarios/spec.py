"""The vocabulary of the scenario format (shared/spec/scenarios.md): keys, actions, matchers."""

from __future__ import annotations

import re
from datetime import timedelta

TOP_KEYS = {
    "version",
    "name",
    "description",
    "tags",
    "clock",
    "parties",
    "given",
    "invariants",
    "steps",
    "strict",
    "parametrize",
    "seed",
}
PARTIAL_KEYS = {"version", "name", "description", "params", "steps"}
PARTY_KEYS = {"role", "phone", "name", "locale", "registered"}
ACTIONS = {"text", "command", "tap", "pin", "share_contact", "open_link", "biometric"}
ACTION_KEYS = ACTIONS | {"on", "nth"}
STEP_KEYS = {
    "advance",
    "advance_to",
    "expect_quiet",
    "inject",
    "snapshot",
    "expect_state",
    "expect_calls",
    "include",
    "together",
    "note",
    "expect",
    "with",
    "exports",
    "allow_extra",
}
MATCHER_KEYS = {
    "says",
    "text",
    "contains",
    "not_contains",
    "regex",
    "buttons",
    "buttons_include",
    "kind",
    "of",
    "save",
}
KINDS = {"send", "edit", "delete", "toast"}
INVARIANTS = {"ledger_balanced", "balances_non_negative", "one_payment_per_request"}
METHOD_KINDS = {"card", "upi", "pix", "paynow", "wallet"}
METHOD_KEYS = METHOD_KINDS | {"expiry", "funds", "balance", "added", "bank"}
PROBES = {
    "request": {
        "status",
        "amount",
        "business",
        "customer",
        "note",
        "expires_at",
        "failed_attempts",
    },
    "payment": {"status", "amount", "method", "request", "reason", "refunded"},
    "refund": {"status", "amount", "payment"},
    "balance": {"amount"},
    "pin_lock": {"locked", "until", "wrong_attempts"},
    "sms_code": {"active", "expires_at", "tries_left"},
    "ledger": set(),
}
OPS = {"eq", "ne", "gt", "ge", "lt", "le", "in", "regex", "delta_since"}
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DURATION = re.compile(r"^\s*(?:\d+\s*d)?\s*(?:\d+\s*h)?\s*(?:\d+\s*m)?\s*(?:\d+\s*s)?\s*$")
_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def is_duration(text: object) -> bool:
    written = str(text)
    return bool(_PART.search(written)) and DURATION.match(written) is not None


def duration(text: object) -> timedelta:
    """`30m`, `24h`, `1h30m`, `23h59m`, `2d` (units in the order d, h, m, s) as a timedelta."""
    written = str(text)
    if not is_duration(written):
        raise ValueError(f"{written!r} is not a duration like 30m, 24h or 1h30m")
    parts = _PART.findall(written)
    return sum((timedelta(**{_UNITS[unit]: int(n)}) for n, unit in parts), timedelta())

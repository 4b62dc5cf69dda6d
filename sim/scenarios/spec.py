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
CLOCK_KEYS = {"start"}
GIVEN_KEYS = {"payments", "pin", "biometric", "methods"}
PAYMENTS_KEYS = {"bank", "account"}
ACTIONS = {
    "text",
    "command",
    "tap",
    "pin",
    "share_contact",
    "open_link",
    "biometric",
    "pay_code",
}
TAP_KEYS = {"on", "nth"}  # beside `tap` only
ACTION_KEYS = ACTIONS | TAP_KEYS
BIOMETRIC_ANSWERS = {"approve", "refuse"}
# A button by its visible label (`tap: {...}`, `buttons_include: [{...}]`): one of LABELS.
LABELS = {"label", "label_contains", "label_regex"}
BUTTON_KEYS = LABELS | {"nth"}
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
KINDS = {"send", "photo", "edit", "delete", "toast"}
QUIET_KEYS = {"for"}
FAULT_KEYS = {"outcome", "code", "by", "when", "times"}
OUTCOMES = {"ok", "declined", "error", "timeout", "delay"}
CALL_COUNT_KEYS = {"count", "with"}
# What each simulated rail call (payments/rails/) can be told apart by: `inject`'s `when:` matches
# the arguments the rail hands its fault queue, `expect_calls`' `with:` the ones it logs. A key
# outside these never matches anything, so a typo would pass silently as "no such call" (or an
# injection that never fires): lint names it. tests/test_scenario_format.py checks the table
# against the real rails.
CALL_WHEN = {
    "processor.authorize": {"amount"},
    "processor.status": {"payment"},
    "processor.refund": {"amount"},
    "bank.accounts": {"bank"},
    "bank.transfer": {"amount"},
    "bank.refund": {"amount"},
    "sms.send": {"phone"},
}
CALL_WITH = {
    "processor.authorize": {"payment", "amount"},
    "processor.status": {"payment"},
    "processor.refund": {"payment", "amount"},
    "bank.accounts": {"phone", "bank"},
    "bank.transfer": {"payment", "amount"},
    "bank.refund": {"payment", "amount"},
    "sms.send": {"phone", "purpose"},
}
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
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest a clock may move in one step: ten years is beyond any expiry or job, and keeps the
# virtual clock far from datetime's year 9999 (a longer one was an OverflowError, not an answer).
LONGEST = timedelta(days=3660)


def duration_problem(text: object) -> str | None:
    """Why `text` is not a duration a clock can move by (None when it is one)."""
    written = str(text)
    if not _PART.search(written) or DURATION.match(written) is None:
        return f"{written!r} is not a duration like 30m, 24h or 1h30m"
    parts = _PART.findall(written)
    # int() of thousands of digits is itself refused (Python's limit): a count that long is long
    if (
        any(len(n) > 12 for n, _ in parts)
        or sum(int(n) * _SECONDS[unit] for n, unit in parts) > LONGEST.total_seconds()
    ):
        return f"{written!r} is longer than the longest step, {LONGEST.days}d"
    return None


def is_duration(text: object) -> bool:
    return duration_problem(text) is None


def duration(text: object) -> timedelta:
    """`30m`, `24h`, `1h30m`, `23h59m`, `2d` (units in the order d, h, m, s) as a timedelta;
    ValueError saying why for anything else, or longer than `LONGEST`."""
    problem = duration_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return sum(
        (timedelta(seconds=int(n) * _SECONDS[unit]) for n, unit in _PART.findall(str(text))),
        timedelta(),
    )

"""`expect_state` probes on the domain: requests, payments, refunds, balances, PIN locks, SMS
codes and the ledger; and `compare`, the comparisons they (and expect_calls) use."""

from __future__ import annotations

import operator
import re
from datetime import datetime
from typing import Any

from core.money import Money
from payments import ledger
from sim import patterns
from storage.base import Tx


def balance(tx: Tx, party: str, settings_markets: dict[str, Any]) -> Money | None:
    user = tx.user(party)
    if user is None:
        return None
    currency = settings_markets[user.market].currency
    if user.role == "business":
        return Money(tx.account_balance(ledger.business(user.id), currency), currency)
    total = sum(tx.account_balance(ledger.source(m.id), currency) for m in tx.methods(user.id))
    return Money(total, currency)


def _normal(value: Any) -> Any:
    """Make expected and actual comparable: money as Money, times as aware datetimes."""
    if isinstance(value, Money):
        return value
    if isinstance(value, str):
        if re.fullmatch(r"[A-Z]{3} -?\d+(\.\d+)?", value):
            return Money.of(value)
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        return when if when.tzinfo else value
    return value


def compare(actual: Any, expected: Any, snapshot: Any = None) -> str | None:
    """None when `actual` satisfies `expected` (a scalar, or {eq, ne, gt, ...})."""
    if not isinstance(expected, dict):
        expected = {"eq": expected}
    if "delta_since" in expected:
        if not isinstance(actual, Money) or not isinstance(snapshot, Money):
            return "delta_since needs money at both times"
        actual = actual - snapshot
    actual = _normal(actual)
    for op, raw in expected.items():
        if op == "delta_since":
            continue
        want = [_normal(v) for v in raw] if op == "in" else _normal(raw)
        try:
            ok = _holds(op, actual, want)
        except TypeError:
            ok = False
        if not ok:
            return f"{_show(actual)} is not {op} {_show(want)}"
    return None


def _holds(op: str, actual: Any, want: Any) -> bool:
    if op == "regex":
        return patterns.search(str(want), str(actual)) is not None
    if op == "in":
        return bool(actual in want)
    return bool(
        {
            "eq": operator.eq,
            "ne": operator.ne,
            "gt": operator.gt,
            "ge": operator.ge,
            "lt": operator.lt,
            "le": operator.le,
        }[op](actual, want)
    )


def _show(value: Any) -> str:
    if isinstance(value, Money):
        return value.code()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def read(tx: Tx, probe: dict[str, Any], markets: dict[str, Any]) -> dict[str, Any] | str:
    """The probed record's fields, or why it cannot be read. The first key names the probe."""
    probe = {next(iter(probe)): next(iter(probe.values()))}
    if "request" in probe:
        r = tx.request(str(probe["request"]))
        if r is None:
            return f"no request {probe['request']!r}"
        return {
            "status": r.status,
            "amount": r.amount,
            "business": r.business_id,
            "customer": r.customer_id,
            "note": r.note,
            "expires_at": r.expires_at,
            "failed_attempts": r.failed_attempts,
        }
    if "payment" in probe:
        p = tx.payment(str(probe["payment"]))
        if p is None:
            return f"no payment {probe['payment']!r}"
        return {
            "status": p.status,
            "amount": p.amount,
            "method": p.method_kind,
            "request": p.request_id,
            "reason": p.reason,
            "refunded": Money(p.refunded, p.amount.currency),
        }
    if "refund" in probe:
        f = tx.refund(str(probe["refund"]))
        if f is None:
            return f"no refund {probe['refund']!r}"
        return {"status": f.status, "amount": f.amount, "payment": f.payment_id}
    if "balance" in probe:
        amount = balance(tx, str(probe["balance"]), markets)
        return f"no party {probe['balance']!r}" if amount is None else {"amount": amount}
    if "pin_lock" in probe:
        pin = tx.pin(str(probe["pin_lock"]))
        if pin is None:
            return f"{probe['pin_lock']} has no PIN"
        return {
            "locked": pin.locked_until is not None,
            "until": pin.locked_until,
            "wrong_attempts": pin.wrong,
        }
    if "sms_code" in probe:
        codes = [
            c
            for purpose in ("bank_verification", "pin_reset")
            if (c := tx.sms_code(str(probe["sms_code"]), purpose)) is not None
        ]
        if not codes:
            return {"active": False, "expires_at": None, "tries_left": 0}
        code = max(codes, key=lambda c: c.sent_at)
        return {
            "active": code.tries_left > 0,
            "expires_at": code.expires_at,
            "tries_left": code.tries_left,
        }
    if "ledger" in probe:
        return {"ledger": "balanced" if ledger.balanced(tx) else "unbalanced"}
    return "unknown probe"


def check_invariant(tx: Tx, name: str, markets: dict[str, Any]) -> str | None:
    if name == "ledger_balanced" and not ledger.balanced(tx):
        return f"the ledger does not balance: {tx.ledger_sums()}"
    if name == "balances_non_negative":
        for account, total in tx.ledger_account_totals():
            if total < 0 and not account.startswith("external:"):
                return f"account {account} is negative ({total})"
    if name == "one_payment_per_request":
        for request_id, count in tx.successful_payment_counts():
            if count > 1:
                return f"request {request_id} has {count} successful payments"
    return None

"""Limits checked before anything else: per transaction, per day (the last 24 hours), per month
(the calendar month in the market's time zone, as people read "monthly"), a new method's first
24 hours. Payments that succeeded or whose outcome is still unknown count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from core.money import Money
from core.records import Method

if TYPE_CHECKING:
    from core.settings import Market
    from storage.base import PaymentRows

LimitName = Literal[
    "min", "per_transaction", "per_day", "per_day_count", "per_month", "new_method"
]


@dataclass(frozen=True, slots=True)
class LimitHit:
    name: LimitName
    limit: Money | int


def amount_limit(amount: Money, market: Market) -> LimitHit | None:
    if amount < market.limits.min:
        return LimitHit("min", market.limits.min)
    if amount > market.limits.per_transaction:
        return LimitHit("per_transaction", market.limits.per_transaction)
    return None


def payment_limit(
    tx: PaymentRows, market: Market, customer_id: str, method: Method, amount: Money, now: datetime
) -> LimitHit | None:
    if hit := amount_limit(amount, market):
        return hit
    day_total, day_count = tx.paid_since(customer_id, now - timedelta(days=1))
    if day_count + 1 > market.limits.per_day_count:
        return LimitHit("per_day_count", market.limits.per_day_count)
    if day_total + amount.minor > market.limits.per_day.minor:
        return LimitHit("per_day", market.limits.per_day)
    if (per_month := market.limits.per_month) is not None:
        local = now.astimezone(ZoneInfo(market.timezone))
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        # Stored times are compared as text in the clock's zone, so the bound must be too.
        month_total, _ = tx.paid_since(customer_id, month_start.astimezone(now.tzinfo))
        if month_total + amount.minor > per_month.minor:
            return LimitHit("per_month", per_month)
    if now - method.added_at < timedelta(days=1):
        spent, _ = tx.paid_since(customer_id, method.added_at, method.id)
        if spent + amount.minor > market.limits.new_method_first_day.minor:
            return LimitHit("new_method", market.limits.new_method_first_day)
    return None

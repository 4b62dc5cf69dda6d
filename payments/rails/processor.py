"""The simulated card processor: Stripe-style test cards, decline codes, timeouts, refunds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.money import Money
from payments.rails.base import CallLog, Injections, RailResult

if TYPE_CHECKING:
    from storage.rails_rows import RailRows

# Stripe's convention (shared/spec/rails.md): the behaviour a test card number always has.
TEST_CARDS = {
    "4000000000000002": "do_not_honour",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
}
DEFAULT_FUNDS_MINOR = 10_000_000  # what an ordinary test card can spend, in minor units


class Processor:
    def __init__(self, injections: Injections, log: CallLog) -> None:
        self._inject = injections
        self._log = log

    def tokenize(self, rows: RailRows, token: str, number: str, funds: Money) -> None:
        """Open the processor's record of a card; the number itself is not kept."""
        rows.set_card_funds(token, funds, TEST_CARDS.get(number, "approve"))

    def authorize(self, rows: RailRows, payment_id: str, token: str, amount: Money) -> RailResult:
        self._log.record("processor.authorize", payment=payment_id, amount=amount.code())
        fault = self._inject.take("processor.authorize", {"amount": amount.code()})
        result = self._charge(
            rows, token, amount, fault.outcome if fault else None, fault.code if fault else None
        )
        self._record(rows, payment_id, token, amount, result)
        if fault is not None and fault.outcome in ("timeout", "delay"):
            return RailResult("unknown")
        return result

    def status(self, rows: RailRows, payment_id: str) -> RailResult:
        self._log.record("processor.status", payment=payment_id)
        fault = self._inject.take("processor.status", {"payment": payment_id})
        if fault is not None:
            if fault.outcome in ("timeout", "delay"):
                return RailResult("unknown")
            if fault.outcome != "ok":
                # The processor's answer is the truth about the money: a charge it reports as
                # declined holds none, so one that took money on a timeout is voided.
                code = fault.code or "processing_error"
                if (taken := rows.charged(payment_id)) is not None:
                    token, amount = taken
                    card = rows.card(token)
                    if card is not None:
                        rows.set_card_funds(token, card[0] + amount, card[1])
                    rows.record_charge(payment_id, token, amount, "declined", code)
                return RailResult("declined" if fault.outcome == "declined" else "error", code)
        charge = rows.charge(payment_id)
        if charge is None:
            return RailResult("error", "processing_error")
        return RailResult(charge[0], charge[1])  # type: ignore[arg-type]  # stored from a result

    def refund(self, rows: RailRows, payment_id: str, token: str, amount: Money) -> RailResult:
        self._log.record("processor.refund", payment=payment_id, amount=amount.code())
        fault = self._inject.take("processor.refund", {"amount": amount.code()})
        if fault is not None and fault.outcome != "ok":
            return RailResult("error", fault.code or "processing_error")
        card = rows.card(token)
        if card is not None:
            rows.set_card_funds(token, card[0] + amount, card[1])
        return RailResult("succeeded")

    def _charge(
        self, rows: RailRows, token: str, amount: Money, forced: str | None, code: str | None
    ) -> RailResult:
        if forced == "declined":
            return RailResult("declined", code or "do_not_honour")
        if forced == "error":
            return RailResult("error", code or "processing_error")
        card = rows.card(token)
        if card is None:
            return RailResult("declined", "do_not_honour")
        balance, behaviour = card
        if behaviour == "processing_error":
            return RailResult("error", "processing_error")
        if behaviour != "approve":
            return RailResult("declined", behaviour)
        if balance.minor < amount.minor:
            return RailResult("declined", "insufficient_funds")
        rows.set_card_funds(token, balance - amount, behaviour)
        return RailResult("succeeded")

    def _record(
        self, rows: RailRows, payment_id: str, token: str, amount: Money, result: RailResult
    ) -> None:
        rows.record_charge(payment_id, token, amount, result.status, result.code)

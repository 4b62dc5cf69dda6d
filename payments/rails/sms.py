"""The simulated SMS gateway: each phone has an inbox; faults can drop a message."""

from __future__ import annotations

from payments.rails.base import CallLog, Injections


class SmsGateway:
    def __init__(self, injections: Injections, log: CallLog) -> None:
        self._inject = injections
        self._log = log

    def send(self, phone: str, purpose: str) -> bool:
        """Whether the gateway accepted the message; the caller puts it in the outbox."""
        self._log.record("sms.send", phone=phone, purpose=purpose)
        fault = self._inject.take("sms.send", {"phone": phone})
        return fault is None or fault.outcome == "ok"

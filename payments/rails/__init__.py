"""The simulated rails as one set: a card processor, the banks behind UPI / Pix / PayNow, and an
SMS gateway, sharing one fault-injection queue and one call log (see `base.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from payments.rails.banks import Banks
from payments.rails.base import CallLog, Injections
from payments.rails.processor import Processor
from payments.rails.sms import SmsGateway


@dataclass
class Rails:
    processor: Processor
    banks: Banks
    sms: SmsGateway
    injections: Injections
    log: CallLog

    @classmethod
    def simulated(cls) -> Rails:
        injections, log = Injections(), CallLog()
        return cls(
            Processor(injections, log),
            Banks(injections, log),
            SmsGateway(injections, log),
            injections,
            log,
        )

"""Domain records as frozen values: what storage returns and flows read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.money import Money

Role = Literal["business", "customer"]
MethodKind = Literal["card", "upi", "pix", "paynow", "wallet"]
RequestStatus = Literal[
    "open", "paid", "declined", "cancelled", "expired", "refunded", "partially_refunded"
]
PaymentStatus = Literal["authorising", "succeeded", "failed", "unknown"]
RefundStatus = Literal["pending", "succeeded", "failed"]


@dataclass(frozen=True, slots=True)
class User:
    id: str
    role: Role
    phone: str
    market: str
    name: str
    locale: str
    biometric: bool = False


@dataclass(frozen=True, slots=True)
class Method:
    id: str
    user_id: str
    kind: MethodKind
    label: str
    token: str  # decrypted only in memory: processor token or bank account id
    added_at: datetime
    is_default: bool
    brand: str | None = None
    funding: str | None = None
    last4: str | None = None
    expiry: str | None = None


@dataclass(frozen=True, slots=True)
class BankAccount:
    id: str
    bank: str
    phone: str
    number: str
    last4: str
    balance: Money


@dataclass(frozen=True, slots=True)
class Payout:
    business_id: str
    bank: str
    account_id: str
    last4: str


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    id: str
    business_id: str
    customer_id: str | None
    kind: Literal["request", "link"]
    amount: Money
    note: str
    status: RequestStatus
    created_at: datetime
    expires_at: datetime
    failed_attempts: int = 0


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    request_id: str
    customer_id: str
    method_id: str
    method_kind: MethodKind
    amount: Money
    status: PaymentStatus
    reason: str | None
    created_at: datetime
    refunded: int = 0  # minor units of the payment's currency

    @property
    def refunded_amount(self) -> Money:
        return Money(self.refunded, self.amount.currency)


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    amount: Money
    status: RefundStatus


@dataclass(frozen=True, slots=True)
class PinRecord:
    hash: bytes
    salt: bytes
    wrong: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class SmsCode:
    code_hash: bytes
    expires_at: datetime
    tries_left: int
    sent_at: datetime

"""The storage port: what the product needs from a database, as one Protocol per role.

A `Store` runs *units of work*. A unit of work is a plain synchronous function that receives the
rows of one transaction (a `Tx`) and returns a value; the store guarantees:

- **atomicity per unit**: everything the unit wrote commits together, or nothing does (a unit that
  raises is rolled back alone, even when the store commits several units in one database
  transaction, by giving each a savepoint);
- **durability before release**: `run` returns (or raises) only after the commit that holds the
  unit is on disk, to the durability the store was opened with, so replies are never sent for
  state that could still be lost to an application crash;
- **serial order**: within one store, units run one at a time in the order `run` was called;
  across several processes sharing a database (several workers on PostgreSQL), a unit that
  calls `hold_conversation` first runs alone for that party, so two events for one
  conversation never interleave, whichever worker took them;
- **no foreign exceptions**: database errors surface as `StorageError`.

Units must be CPU-only (no awaiting, no network): they run on the store's writer thread. A `Tx`
belongs to one unit: it may keep what it read for the rest of that unit (a party is read once per
event however many replies name it), and its own writes keep that current; nothing it keeps
outlives the unit, so a rollback can never leave a stale read behind.

The roles are narrow on purpose: a domain function types its argument with the role(s) it uses
(`payments/pin.py` takes `PinRows`), an adapter implements one role at a time, and `Tx` is only
their union, for callers that need many. The simulated rails' own rows are not the product's:
they have a port of their own, `storage/rails_rows.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from core.errors import DuplicateError as DuplicateError  # the port's errors, named here too
from core.errors import StorageError as StorageError
from core.messages import Outbound
from core.money import Money
from core.records import (
    Method,
    Payment,
    PaymentRequest,
    Payout,
    PinRecord,
    Refund,
    SmsCode,
    User,
)

T = TypeVar("T")
U = TypeVar("U", covariant=True)  # what a store's units receive: a `Tx`, or more


class InboxRows(Protocol):
    """The keys of the inbound events processed: what makes a redelivery a no-op."""

    def claim(self, key: str, now: datetime) -> bool:
        """Record an inbound key; False when it was processed before (a redelivery)."""
        ...


class UserRows(Protocol):
    """The parties: a transport's user id, a role, and the phone that decides the market."""

    def user(self, user_id: str) -> User | None: ...
    def user_by_phone(self, phone: str) -> User | None: ...
    def add_user(self, user: User, now: datetime) -> None:
        """Raises DuplicateError when the id or the phone is registered already."""
        ...

    def set_biometric(self, user_id: str, enrolled: bool) -> None: ...
    def set_locale(self, user_id: str, locale: str) -> None:
        """The language the party chose (`/language`): every later message is in it."""
        ...


class ConversationRows(Protocol):
    """Where each party's conversation stands: (flow, state, data), one per party."""

    def hold_conversation(self, user_id: str) -> None:
        """Until this unit ends, no other unit (of any worker sharing the database) acts on
        this party's conversation: theirs waits. The engine calls it first in every event, so a
        person's events never run two at once, without a lock on everyone else's."""
        ...

    def conversation(self, user_id: str) -> tuple[str, str, dict[str, Any]] | None: ...
    def save_conversation(
        self, user_id: str, flow: str, state: str, data: dict[str, Any], now: datetime
    ) -> None: ...
    def clear_conversation(self, user_id: str) -> None: ...


class OutboxRows(Protocol):
    """Replies written with the event and delivered after the commit, and the platform's ids of
    the messages delivered (so a later edit or deletion finds the right one)."""

    def add_outbox(self, outs: list[Outbound], now: datetime) -> list[int]:
        """The outbox rows' ids, in order (an `Outbound`'s `seq`)."""
        ...

    def undelivered(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Outbound]]:
        """Rows not yet delivered (nor failed), oldest first, with ids above `after`. Toasts are
        written as handled: the transport that received the event answers them."""
        ...

    def orphaned(self, limit: int = 1000) -> list[tuple[int, Outbound]]:
        """Rows another worker wrote and left undelivered when it died, oldest first, claimed
        by this one to deliver (where one process owns every row, as on SQLite: none)."""
        ...

    def mark_delivered(self, ids: list[int]) -> None: ...
    def mark_failed(self, ids: list[int]) -> None:
        """The platform refused these for good: not delivered, not tried again."""
        ...

    def remember_message(self, user_id: str, ref: str, platform_id: str) -> None: ...
    def platform_ids(self, user_id: str, ref: str) -> list[str]:
        """Every platform message a ref became (more than one after a resend), newest first."""
        ...

    def ref_for(self, user_id: str, platform_id: str) -> str | None: ...


class JobRows(Protocol):
    """Jobs due at a time (expiry, unlocks, status checks), each done at most once."""

    def schedule(self, due_at: datetime, kind: str, payload: dict[str, Any]) -> int: ...
    def due_jobs(
        self, now: datetime, limit: int = 100
    ) -> list[tuple[int, str, dict[str, Any]]]: ...
    def finish_job(self, job_id: int) -> bool:
        """Mark a job done; False when it was already done (or cancelled)."""
        ...

    def cancel_jobs(self, kind: str, key: str) -> None:
        """Cancel pending jobs of `kind` whose payload's `key` equals `key`."""
        ...

    def next_due(self) -> datetime | None: ...


class PayoutRows(Protocol):
    """A business's payment setup: the bank account its money lands in."""

    def payout(self, business_id: str) -> Payout | None: ...
    def set_payout(self, business_id: str, bank: str, account_id: str, now: datetime) -> None: ...
    def remove_payout(self, business_id: str) -> None: ...


class MethodRows(Protocol):
    """A customer's payment methods; a removed one is still found by id, never listed."""

    def add_method(self, method: Method) -> None: ...
    def methods(self, user_id: str) -> list[Method]:
        """The default first, then in the order they were added."""
        ...

    def method(self, method_id: str) -> Method | None: ...
    def set_default_method(self, user_id: str, method_id: str) -> None: ...
    def remove_method(self, user_id: str, method_id: str) -> None: ...


class PinRows(Protocol):
    """The security PIN's hash and its wrong-attempt counter."""

    def pin(self, user_id: str) -> PinRecord | None: ...
    def set_pin(self, user_id: str, hash_: bytes, salt: bytes) -> None:
        """Set (or replace) a PIN; its counters start again."""
        ...

    def set_pin_counters(
        self, user_id: str, wrong: int, locked_until: datetime | None
    ) -> None: ...
    def pin_pepper(self) -> bytes:
        """The server secret PINs are keyed with before hashing; it is never stored in the
        database (see payments/pin.py)."""
        ...


class SmsCodeRows(Protocol):
    """One-time SMS codes per (party, purpose), and the sends that rate-limit them."""

    def sms_code(self, user_id: str, purpose: str) -> SmsCode | None: ...
    def save_sms_code(self, user_id: str, purpose: str, code: SmsCode) -> None: ...
    def delete_sms_code(self, user_id: str, purpose: str) -> None: ...
    def sms_sends_since(self, user_id: str, since: datetime) -> int: ...
    def log_sms_send(self, user_id: str, now: datetime) -> None: ...


class PaymentRows(Protocol):
    """Payment requests and links, the payments made for them, and their refunds."""

    def add_request(self, request: PaymentRequest, token_hash: str | None = None) -> None: ...
    def request(self, request_id: str) -> PaymentRequest | None: ...
    def request_by_token_hash(self, token_hash: str) -> PaymentRequest | None: ...
    def set_request_status(self, request_id: str, status: str, expect: str) -> bool:
        """Change a request's status, only from `expect` (False otherwise). Only
        `payments/lifecycle.py` calls this (and its payment and refund twins)."""
        ...

    def add_failed_attempt(self, request_id: str) -> None: ...
    def requests_for(self, user_id: str, limit: int = 10, offset: int = 0) -> list[PaymentRequest]:
        """A party's requests, as business or customer, newest first, from `offset` on."""
        ...

    def add_payment(self, payment: Payment) -> None:
        """Raises DuplicateError when the request already has a live or successful payment."""
        ...

    def payment(self, payment_id: str) -> Payment | None: ...
    def payment_for_request(self, request_id: str) -> Payment | None:
        """The request's live or successful payment, if any."""
        ...

    def set_payment_status(
        self, payment_id: str, status: str, reason: str | None, expect: str
    ) -> bool: ...
    def payments_for(self, user_id: str, limit: int = 10, offset: int = 0) -> list[Payment]:
        """A party's payments, as payer or as the business paid, newest first."""
        ...

    def paid_since(
        self, customer_id: str, since: datetime, method_id: str | None = None
    ) -> tuple[int, int]:
        """Sum (minor units) and count of successful payments by a customer since a time."""
        ...

    def add_refund(self, refund: Refund, now: datetime) -> None: ...
    def set_refund_status(self, refund_id: str, status: str, expect: str) -> bool: ...
    def add_refunded(self, payment_id: str, amount: int) -> None: ...
    def refund(self, refund_id: str) -> Refund | None: ...
    def refunds_for(
        self, user_id: str, limit: int = 10, offset: int = 0
    ) -> list[tuple[Refund, datetime]]:
        """A party's refunds (of payments it made or was paid), each with when it was asked
        for, newest first."""
        ...

    def history_counts(self, user_id: str) -> tuple[int, int, int]:
        """How many requests, payments and refunds `requests_for`, `payments_for` and
        `refunds_for` hold for a party in all."""
        ...

    def successful_payment_counts(self) -> list[tuple[str, int]]:
        """(request id, successful payments) for every request paid (an invariant's audit)."""
        ...


class LedgerRows(Protocol):
    """The double-entry ledger: every posting's entries sum to zero per currency."""

    def post(self, txn: str, entries: list[tuple[str, Money]], now: datetime) -> None:
        """Post balanced ledger entries; raises InvariantBroken when a currency does not sum
        to 0."""
        ...

    def account_balance(self, account: str, currency: str) -> int: ...
    def ledger_sums(self) -> dict[str, int]: ...
    def ledger_account_totals(self) -> list[tuple[str, int]]: ...


class Tx(
    InboxRows,
    UserRows,
    ConversationRows,
    OutboxRows,
    JobRows,
    PayoutRows,
    MethodRows,
    PinRows,
    SmsCodeRows,
    PaymentRows,
    LedgerRows,
    Protocol,
):
    """Every role of the product at once, inside one unit's transaction: for callers that use
    many (the engine, the flows); a function that uses one or two takes those instead."""


class Store(Protocol[U]):
    """Runs units of work over `U`, the rows each unit receives (a `Tx`, or a `Tx` and more)."""

    async def run(self, work: Callable[[U], T]) -> T:
        """Run one unit of work in its own transaction (see the module docstring)."""
        ...

    async def close(self) -> None: ...

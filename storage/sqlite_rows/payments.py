"""SQLite rows of payment requests and links, the payments made for them, and their refunds."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

from core.errors import DuplicateError
from core.money import Money
from core.records import (
    MethodKind,
    Payment,
    PaymentRequest,
    PaymentStatus,
    Refund,
    RequestStatus,
)
from storage.sqlite_rows.common import SqliteRows, columns, from_iso, iso


def _request(
    id: str,
    business_id: str,
    customer_id: str | None,
    kind: Literal["request", "link"],
    amount: int,
    currency: str,
    note: str,
    status: RequestStatus,
    created_at: str,
    expires_at: str,
    failed_attempts: int,
) -> PaymentRequest:
    return PaymentRequest(
        id=id,
        business_id=business_id,
        customer_id=customer_id,
        kind=kind,
        amount=Money(amount, currency),
        note=note,
        status=status,
        created_at=from_iso(created_at),
        expires_at=from_iso(expires_at),
        failed_attempts=failed_attempts,
    )


def _payment(
    id: str,
    request_id: str,
    customer_id: str,
    method_id: str,
    method_kind: MethodKind,
    amount: int,
    currency: str,
    status: PaymentStatus,
    reason: str | None,
    created_at: str,
    refunded: int,
) -> Payment:
    return Payment(
        id=id,
        request_id=request_id,
        customer_id=customer_id,
        method_id=method_id,
        method_kind=method_kind,
        amount=Money(amount, currency),
        status=status,
        reason=reason,
        created_at=from_iso(created_at),
        refunded=refunded,
    )


def _refund(
    id: str,
    payment_id: str,
    amount: int,
    currency: str,
    status: Literal["pending", "succeeded", "failed"],
) -> Refund:
    return Refund(id=id, payment_id=payment_id, amount=Money(amount, currency), status=status)


_REQUEST = f"SELECT {columns(_request)} FROM requests"
_PAYMENT = f"SELECT {columns(_payment)} FROM payments"
# A refund is in its payment's currency.
_REFUND = (
    f"SELECT {columns(_refund, 'r', currency='p')} FROM refunds r "
    "JOIN payments p ON p.id = r.payment_id"
)
_REFUND_AT = (  # and when it was asked for
    f"SELECT {columns(_refund, 'r', currency='p')}, r.created_at FROM refunds r "
    "JOIN payments p ON p.id = r.payment_id"
)
# A party's payments (as `p`): those it paid and those paid to its requests.
_PAYMENTS_OF = "(p.customer_id=? OR p.request_id IN (SELECT id FROM requests WHERE business_id=?))"


class SqlitePaymentRows(SqliteRows):
    # -- requests and links ---------------------------------------------------------------------
    def add_request(self, request: PaymentRequest, token_hash: str | None = None) -> None:
        self.c.execute(
            "INSERT INTO requests (id, business_id, customer_id, kind, amount, currency, note, "
            "status, token_hash, created_at, expires_at, failed_attempts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.id,
                request.business_id,
                request.customer_id,
                request.kind,
                request.amount.minor,
                request.amount.currency,
                request.note,
                request.status,
                token_hash,
                iso(request.created_at),
                iso(request.expires_at),
                0,
            ),
        )

    def request(self, request_id: str) -> PaymentRequest | None:
        row = self._one(_REQUEST + " WHERE id=?", request_id)
        return None if row is None else _request(*row)

    def request_by_token_hash(self, token_hash: str) -> PaymentRequest | None:
        row = self._one(_REQUEST + " WHERE token_hash=?", token_hash)
        return None if row is None else _request(*row)

    def set_request_status(self, request_id: str, status: str, expect: str) -> bool:
        cur = self.c.execute(
            "UPDATE requests SET status=? WHERE id=? AND status=?", (status, request_id, expect)
        )
        return cur.rowcount == 1

    def add_failed_attempt(self, request_id: str) -> None:
        self.c.execute(
            "UPDATE requests SET failed_attempts=failed_attempts+1 WHERE id=?", (request_id,)
        )

    def requests_for(self, user_id: str, limit: int = 10, offset: int = 0) -> list[PaymentRequest]:
        rows = self.c.execute(
            _REQUEST + " WHERE business_id=? OR customer_id=? "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (user_id, user_id, limit, offset),
        )
        return [_request(*row) for row in rows]

    # -- payments -------------------------------------------------------------------------------
    def add_payment(self, payment: Payment) -> None:
        try:
            self.c.execute(
                "INSERT INTO payments (id, request_id, customer_id, method_id, method_kind, "
                "amount, currency, status, reason, created_at, refunded) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    payment.id,
                    payment.request_id,
                    payment.customer_id,
                    payment.method_id,
                    payment.method_kind,
                    payment.amount.minor,
                    payment.amount.currency,
                    payment.status,
                    payment.reason,
                    iso(payment.created_at),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"request {payment.request_id} already has a payment") from exc

    def payment(self, payment_id: str) -> Payment | None:
        row = self._one(_PAYMENT + " WHERE id=?", payment_id)
        return None if row is None else _payment(*row)

    def payment_for_request(self, request_id: str) -> Payment | None:
        row = self._one(
            _PAYMENT + " WHERE request_id=? AND status IN ('succeeded','unknown','authorising')",
            request_id,
        )
        return None if row is None else _payment(*row)

    def set_payment_status(
        self, payment_id: str, status: str, reason: str | None, expect: str
    ) -> bool:
        cur = self.c.execute(
            "UPDATE payments SET status=?, reason=? WHERE id=? AND status=?",
            (status, reason, payment_id, expect),
        )
        return cur.rowcount == 1

    def payments_for(self, user_id: str, limit: int = 10, offset: int = 0) -> list[Payment]:
        rows = self.c.execute(
            _PAYMENT + " WHERE customer_id=? OR request_id IN "
            "(SELECT id FROM requests WHERE business_id=?) ORDER BY created_at DESC, rowid DESC "
            "LIMIT ? OFFSET ?",
            (user_id, user_id, limit, offset),
        )
        return [_payment(*row) for row in rows]

    def paid_since(
        self, customer_id: str, since: datetime, method_id: str | None = None
    ) -> tuple[int, int]:
        sql = (
            "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM payments WHERE customer_id=? "
            "AND status IN ('succeeded', 'unknown') AND created_at>=?"
        )
        args: tuple[Any, ...] = (customer_id, iso(since))
        if method_id is not None:
            sql += " AND method_id=?"
            args += (method_id,)
        total, count = self.c.execute(sql, args).fetchone()
        return int(total), int(count)

    def successful_payment_counts(self) -> list[tuple[str, int]]:
        rows = self.c.execute(
            "SELECT request_id, COUNT(*) FROM payments "
            "WHERE status='succeeded' GROUP BY request_id"
        )
        return [(request_id, int(count)) for request_id, count in rows]

    # -- refunds --------------------------------------------------------------------------------
    def add_refund(self, refund: Refund, now: datetime) -> None:
        self.c.execute(
            "INSERT INTO refunds (id, payment_id, amount, status, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (refund.id, refund.payment_id, refund.amount.minor, refund.status, iso(now)),
        )

    def set_refund_status(self, refund_id: str, status: str, expect: str) -> bool:
        cur = self.c.execute(
            "UPDATE refunds SET status=? WHERE id=? AND status=?", (status, refund_id, expect)
        )
        return cur.rowcount == 1

    def add_refunded(self, payment_id: str, amount: int) -> None:
        self.c.execute("UPDATE payments SET refunded=refunded+? WHERE id=?", (amount, payment_id))

    def refund(self, refund_id: str) -> Refund | None:
        row = self._one(_REFUND + " WHERE r.id=?", refund_id)
        return None if row is None else _refund(*row)

    def refunds_for(
        self, user_id: str, limit: int = 10, offset: int = 0
    ) -> list[tuple[Refund, datetime]]:
        rows = self.c.execute(
            _REFUND_AT + " WHERE " + _PAYMENTS_OF + " "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            (user_id, user_id, limit, offset),
        )
        return [(_refund(*row[:-1]), from_iso(row[-1])) for row in rows]

    def history_counts(self, user_id: str) -> tuple[int, int, int]:
        requests, payments, refunds = self.c.execute(
            "SELECT (SELECT COUNT(*) FROM requests WHERE business_id=? OR customer_id=?), "
            "(SELECT COUNT(*) FROM payments p WHERE " + _PAYMENTS_OF + "), "
            "(SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = r.payment_id "
            "WHERE " + _PAYMENTS_OF + ")",
            (user_id, user_id, user_id, user_id, user_id, user_id),
        ).fetchone()
        return int(requests), int(payments), int(refunds)

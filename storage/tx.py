"""`SqliteTx`: the repository over one sqlite3 connection, used inside a unit of work."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, cast

from core.errors import DuplicateError, InvariantBroken
from core.messages import Button, Outbound
from core.money import Money
from core.records import (
    BankAccount,
    Method,
    Payment,
    PaymentRequest,
    Payout,
    PinRecord,
    Refund,
    SmsCode,
    User,
)
from storage.sealer import Sealer


@lru_cache(maxsize=256)
def _t(value: datetime) -> str:
    # An event writes its `now` several times (inbox, outbox rows, conversation, payment).
    return value.isoformat()


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Built once: json.dumps with any option builds a new encoder on every call.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_to_ascii_json = json.JSONEncoder(separators=(",", ":")).encode  # typed text may hold surrogates


def outbound_to_json(out: Outbound) -> str:
    # Field by field: dataclasses.asdict deep-copies, which cost more than the rest of the write.
    data = {f.name: getattr(out, f.name) for f in _OUT_FIELDS}
    data["buttons"] = [[{"id": b.id, "label": b.label} for b in row] for row in out.buttons]
    return _to_json(data)


_OUT_FIELDS = dataclasses.fields(Outbound)


def outbound_from_json(text: str) -> Outbound:
    data = json.loads(text)
    data["buttons"] = tuple(tuple(Button(**b) for b in row) for row in data["buttons"])
    return Outbound(**data)


class Connection(Protocol):
    """What the repository needs of a sqlite3 connection (the benchmark passes a recorder)."""

    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor: ...
    def executemany(self, sql: str, rows: Any, /) -> sqlite3.Cursor: ...


class SqliteTx:
    def __init__(self, conn: Connection, sealer: Sealer) -> None:
        self.c = conn
        self.sealer = sealer
        # One unit of work reads the same parties several times (sender, recipients, the other
        # party); a Tx lives for one unit, so this cache cannot outlive a rollback.
        self._users: dict[str, User | None] = {}

    def _one(self, sql: str, *args: Any) -> Any:
        return self.c.execute(sql, args).fetchone()

    # -- foundation ---------------------------------------------------------------------------
    def claim(self, key: str, now: datetime) -> bool:
        cur = self.c.execute("INSERT OR IGNORE INTO inbox VALUES (?, ?)", (key, _t(now)))
        return cur.rowcount == 1

    def _user(self, row: Any) -> User | None:
        if row is None:
            return None
        return User(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))

    def user(self, user_id: str) -> User | None:
        if user_id in self._users:
            return self._users[user_id]
        found = self._user(
            self._one(
                "SELECT id, role, phone, market, name, locale, biometric FROM users WHERE id=?",
                user_id,
            )
        )
        self._users[user_id] = found
        return found

    def user_by_phone(self, phone: str) -> User | None:
        return self._user(
            self._one(
                "SELECT id, role, phone, market, name, locale, biometric FROM users WHERE phone=?",
                phone,
            )
        )

    def add_user(self, user: User, now: datetime) -> None:
        self._users.pop(user.id, None)
        try:
            self.c.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    user.role,
                    user.phone,
                    user.market,
                    user.name,
                    user.locale,
                    int(user.biometric),
                    _t(now),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"user {user.id} or phone already registered") from exc

    def set_biometric(self, user_id: str, enrolled: bool) -> None:
        self._users.pop(user_id, None)
        self.c.execute("UPDATE users SET biometric=? WHERE id=?", (int(enrolled), user_id))

    def conversation(self, user_id: str) -> tuple[str, str, dict[str, Any]] | None:
        row = self._one("SELECT flow, state, data FROM conversations WHERE user_id=?", user_id)
        return None if row is None else (row[0], row[1], json.loads(row[2]))

    def save_conversation(
        self, user_id: str, flow: str, state: str, data: dict[str, Any], now: datetime
    ) -> None:
        self.c.execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE "
            "SET flow=excluded.flow, state=excluded.state, data=excluded.data, "
            "updated_at=excluded.updated_at",
            (user_id, flow, state, _to_ascii_json(data), _t(now)),
        )

    def clear_conversation(self, user_id: str) -> None:
        self.c.execute("DELETE FROM conversations WHERE user_id=?", (user_id,))

    def add_outbox(self, outs: list[Outbound], now: datetime) -> list[int]:
        ids = []
        for out in outs:
            # A toast is answered by the transport that received the event, at once or never
            # (a callback query expires): there is nothing to deliver later.
            cur = self.c.execute(
                "INSERT INTO outbox (to_user, kind, key, body, created_at, delivered) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (out.to, out.kind, out.key, self._body(out), _t(now), int(out.kind == "toast")),
            )
            ids.append(cast(int, cur.lastrowid))
        return ids

    def undelivered(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Outbound]]:
        rows = self.c.execute(
            "SELECT id, body FROM outbox WHERE delivered=0 AND id>? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [(row[0], outbound_from_json(self._unseal(row[1]))) for row in rows]

    def _body(self, out: Outbound) -> str:
        # An SMS carries a one-time code: sealed at rest like every other secret.
        text = outbound_to_json(out)
        return "sealed:" + self.sealer.seal(text).decode() if out.kind == "sms" else text

    def _unseal(self, body: str) -> str:
        if body.startswith("sealed:"):
            return self.sealer.open(body.removeprefix("sealed:").encode())
        return body

    def mark_delivered(self, ids: list[int]) -> None:
        self.c.executemany("UPDATE outbox SET delivered=1 WHERE id=?", [(i,) for i in ids])

    def mark_failed(self, ids: list[int]) -> None:
        self.c.executemany(
            "UPDATE outbox SET delivered=2 WHERE id=? AND delivered=0", [(i,) for i in ids]
        )

    def remember_message(self, user_id: str, ref: str, platform_id: str) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO messages (user_id, ref, platform_id) VALUES (?, ?, ?)",
            (user_id, ref, platform_id),
        )

    def platform_ids(self, user_id: str, ref: str) -> list[str]:
        rows = self.c.execute(
            "SELECT platform_id FROM messages WHERE user_id=? AND ref=? ORDER BY rowid DESC",
            (user_id, ref),
        )
        return [str(row[0]) for row in rows]

    def ref_for(self, user_id: str, platform_id: str) -> str | None:
        row = self._one(
            "SELECT ref FROM messages WHERE user_id=? AND platform_id=?", user_id, platform_id
        )
        return None if row is None else str(row[0])

    def schedule(self, due_at: datetime, kind: str, payload: dict[str, Any]) -> int:
        cur = self.c.execute(
            "INSERT INTO jobs (due_at, kind, payload) VALUES (?, ?, ?)",
            (_t(due_at), kind, json.dumps(payload)),
        )
        return cast(int, cur.lastrowid)

    def due_jobs(self, now: datetime, limit: int = 100) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.c.execute(
            "SELECT id, kind, payload FROM jobs WHERE done=0 AND due_at<=? "
            "ORDER BY due_at, id LIMIT ?",
            (_t(now), limit),
        )
        return [(row[0], row[1], json.loads(row[2])) for row in rows]

    def finish_job(self, job_id: int) -> bool:
        return (
            self.c.execute("UPDATE jobs SET done=1 WHERE id=? AND done=0", (job_id,)).rowcount == 1
        )

    def cancel_jobs(self, kind: str, key: str) -> None:
        self.c.execute(
            "UPDATE jobs SET done=1 WHERE done=0 AND kind=? AND json_extract(payload, '$.key')=?",
            (kind, key),
        )

    def next_due(self) -> datetime | None:
        row = self._one("SELECT MIN(due_at) FROM jobs WHERE done=0")
        return None if row[0] is None else _dt(row[0])

    # -- simulated banks and processor ----------------------------------------------------------
    def _account(self, row: Any) -> BankAccount | None:
        if row is None:
            return None
        return BankAccount(
            row[0], row[1], row[2], self.sealer.open(row[3]), row[4], Money(row[6], row[5])
        )

    _ACCOUNT = "SELECT id, bank, phone, number_enc, last4, currency, balance FROM bank_accounts"

    def add_bank_account(self, account: BankAccount) -> None:
        self.c.execute(
            "INSERT INTO bank_accounts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account.id,
                account.bank,
                account.phone,
                self.sealer.seal(account.number),
                account.last4,
                account.balance.currency,
                account.balance.minor,
            ),
        )

    def bank_accounts(self, phone: str, bank: str | None = None) -> list[BankAccount]:
        if bank is None:
            rows = self.c.execute(self._ACCOUNT + " WHERE phone=? ORDER BY id", (phone,))
        else:
            rows = self.c.execute(
                self._ACCOUNT + " WHERE phone=? AND bank=? ORDER BY id", (phone, bank)
            )
        return [a for row in rows if (a := self._account(row)) is not None]

    def bank_account(self, account_id: str) -> BankAccount | None:
        return self._account(self._one(self._ACCOUNT + " WHERE id=?", account_id))

    def adjust_bank_balance(self, account_id: str, delta: int) -> None:
        self.c.execute(
            "UPDATE bank_accounts SET balance=balance+? WHERE id=?", (delta, account_id)
        )

    def card(self, token: str) -> tuple[Money, str] | None:
        row = self._one("SELECT currency, balance, behaviour FROM card_funds WHERE token=?", token)
        return None if row is None else (Money(row[1], row[0]), row[2])

    def set_card_funds(self, token: str, funds: Money, behaviour: str = "approve") -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO card_funds VALUES (?, ?, ?, ?)",
            (token, funds.currency, funds.minor, behaviour),
        )

    def record_charge(
        self, payment_id: str, token: str, amount: Money, outcome: str, code: str | None
    ) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO processor_charges VALUES (?, ?, ?, ?, ?, ?)",
            (payment_id, token, amount.minor, amount.currency, outcome, code),
        )

    def charged(self, payment_id: str) -> tuple[str, Money] | None:
        """The card token and amount of a charge that took money, if it did."""
        row = self._one(
            "SELECT token, amount, currency FROM processor_charges "
            "WHERE payment_id=? AND outcome='succeeded'",
            payment_id,
        )
        return None if row is None else (row[0], Money(row[1], row[2]))

    def charge(self, payment_id: str) -> tuple[str, str | None] | None:
        row = self._one(
            "SELECT outcome, code FROM processor_charges WHERE payment_id=?", payment_id
        )
        return None if row is None else (row[0], row[1])

    # -- business payouts and customer methods --------------------------------------------------
    def payout(self, business_id: str) -> Payout | None:
        row = self._one(
            "SELECT p.business_id, p.bank, p.account_id, a.last4 FROM payouts p "
            "JOIN bank_accounts a ON a.id = p.account_id WHERE p.business_id=?",
            business_id,
        )
        return None if row is None else Payout(row[0], row[1], row[2], row[3])

    def set_payout(self, business_id: str, bank: str, account_id: str, now: datetime) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO payouts VALUES (?, ?, ?, ?)",
            (business_id, bank, account_id, _t(now)),
        )

    def remove_payout(self, business_id: str) -> None:
        self.c.execute("DELETE FROM payouts WHERE business_id=?", (business_id,))

    _METHOD = (
        "SELECT id, user_id, kind, label, token_enc, added_at, is_default, brand, funding,"
        " last4, expiry FROM methods"
    )

    def _method(self, row: Any) -> Method | None:
        if row is None:
            return None
        return Method(
            row[0],
            row[1],
            row[2],
            row[3],
            self.sealer.open(row[4]),
            _dt(row[5]),
            bool(row[6]),
            row[7],
            row[8],
            row[9],
            row[10],
        )

    def add_method(self, method: Method) -> None:
        self.c.execute(
            "INSERT INTO methods (id, user_id, kind, label, token_enc, brand, funding, last4, "
            "expiry, added_at, is_default) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                method.id,
                method.user_id,
                method.kind,
                method.label,
                self.sealer.seal(method.token),
                method.brand,
                method.funding,
                method.last4,
                method.expiry,
                _t(method.added_at),
                int(method.is_default),
            ),
        )

    def methods(self, user_id: str) -> list[Method]:
        rows = self.c.execute(
            self._METHOD + " WHERE user_id=? AND removed=0 ORDER BY is_default DESC, added_at, id",
            (user_id,),
        )
        return [m for row in rows if (m := self._method(row)) is not None]

    def method(self, method_id: str) -> Method | None:
        return self._method(self._one(self._METHOD + " WHERE id=?", method_id))

    def set_default_method(self, user_id: str, method_id: str) -> None:
        self.c.execute(
            "UPDATE methods SET is_default=(id=?) WHERE user_id=? AND removed=0",
            (method_id, user_id),
        )

    def remove_method(self, user_id: str, method_id: str) -> None:
        self.c.execute(
            "UPDATE methods SET removed=1, is_default=0 WHERE id=? AND user_id=?",
            (method_id, user_id),
        )

    # -- PIN and SMS codes ----------------------------------------------------------------------
    def pin(self, user_id: str) -> PinRecord | None:
        row = self._one(
            "SELECT hash, salt, wrong, locked_until FROM pins WHERE user_id=?", user_id
        )
        if row is None:
            return None
        return PinRecord(row[0], row[1], row[2], None if row[3] is None else _dt(row[3]))

    def pin_pepper(self) -> bytes:
        return self.sealer.pepper

    def set_pin(self, user_id: str, hash_: bytes, salt: bytes) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO pins VALUES (?, ?, ?, 0, NULL)", (user_id, hash_, salt)
        )

    def set_pin_counters(self, user_id: str, wrong: int, locked_until: datetime | None) -> None:
        self.c.execute(
            "UPDATE pins SET wrong=?, locked_until=? WHERE user_id=?",
            (wrong, None if locked_until is None else _t(locked_until), user_id),
        )

    def sms_code(self, user_id: str, purpose: str) -> SmsCode | None:
        row = self._one(
            "SELECT code_hash, expires_at, tries_left, sent_at FROM sms_codes "
            "WHERE user_id=? AND purpose=?",
            user_id,
            purpose,
        )
        return None if row is None else SmsCode(row[0], _dt(row[1]), row[2], _dt(row[3]))

    def save_sms_code(self, user_id: str, purpose: str, code: SmsCode) -> None:
        self.c.execute(
            "INSERT OR REPLACE INTO sms_codes VALUES (?, ?, ?, ?, ?, ?)",
            (
                user_id,
                purpose,
                code.code_hash,
                _t(code.expires_at),
                code.tries_left,
                _t(code.sent_at),
            ),
        )

    def delete_sms_code(self, user_id: str, purpose: str) -> None:
        self.c.execute("DELETE FROM sms_codes WHERE user_id=? AND purpose=?", (user_id, purpose))

    def sms_sends_since(self, user_id: str, since: datetime) -> int:
        return int(
            self._one(
                "SELECT COUNT(*) FROM sms_sends WHERE user_id=? AND sent_at>?", user_id, _t(since)
            )[0]
        )

    def log_sms_send(self, user_id: str, now: datetime) -> None:
        self.c.execute("INSERT INTO sms_sends VALUES (?, ?)", (user_id, _t(now)))

    # -- requests, payments, refunds, ledger ----------------------------------------------------
    _REQUEST = (
        "SELECT id, business_id, customer_id, kind, amount, currency, note, status, "
        "created_at, expires_at, failed_attempts FROM requests"
    )

    def _request(self, row: Any) -> PaymentRequest | None:
        if row is None:
            return None
        return PaymentRequest(
            row[0],
            row[1],
            row[2],
            row[3],
            Money(row[4], row[5]),
            row[6],
            row[7],
            _dt(row[8]),
            _dt(row[9]),
            row[10],
        )

    def add_request(self, request: PaymentRequest, token_hash: str | None = None) -> None:
        self.c.execute(
            "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                _t(request.created_at),
                _t(request.expires_at),
                0,
            ),
        )

    def request(self, request_id: str) -> PaymentRequest | None:
        return self._request(self._one(self._REQUEST + " WHERE id=?", request_id))

    def request_by_token_hash(self, token_hash: str) -> PaymentRequest | None:
        return self._request(self._one(self._REQUEST + " WHERE token_hash=?", token_hash))

    def set_request_status(self, request_id: str, status: str, expect: str) -> bool:
        cur = self.c.execute(
            "UPDATE requests SET status=? WHERE id=? AND status=?", (status, request_id, expect)
        )
        return cur.rowcount == 1

    def add_failed_attempt(self, request_id: str) -> None:
        self.c.execute(
            "UPDATE requests SET failed_attempts=failed_attempts+1 WHERE id=?", (request_id,)
        )

    def requests_for(self, user_id: str, limit: int = 10) -> list[PaymentRequest]:
        rows = self.c.execute(
            self._REQUEST + " WHERE business_id=? OR customer_id=? "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (user_id, user_id, limit),
        )
        return [r for row in rows if (r := self._request(row)) is not None]

    _PAYMENT = (
        "SELECT id, request_id, customer_id, method_id, method_kind, amount, currency, "
        "status, reason, created_at, refunded FROM payments"
    )

    def _payment(self, row: Any) -> Payment | None:
        if row is None:
            return None
        return Payment(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            Money(row[5], row[6]),
            row[7],
            row[8],
            _dt(row[9]),
            row[10],
        )

    def add_payment(self, payment: Payment) -> None:
        try:
            self.c.execute(
                "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
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
                    _t(payment.created_at),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(f"request {payment.request_id} already has a payment") from exc

    def payment(self, payment_id: str) -> Payment | None:
        return self._payment(self._one(self._PAYMENT + " WHERE id=?", payment_id))

    def payment_for_request(self, request_id: str) -> Payment | None:
        return self._payment(
            self._one(
                self._PAYMENT + " WHERE request_id=? AND status IN ('succeeded','unknown',"
                "'authorising')",
                request_id,
            )
        )

    def set_payment_status(
        self, payment_id: str, status: str, reason: str | None, expect: str
    ) -> bool:
        cur = self.c.execute(
            "UPDATE payments SET status=?, reason=? WHERE id=? AND status=?",
            (status, reason, payment_id, expect),
        )
        return cur.rowcount == 1

    def payments_for(self, user_id: str, limit: int = 10) -> list[Payment]:
        rows = self.c.execute(
            self._PAYMENT + " WHERE customer_id=? OR request_id IN "
            "(SELECT id FROM requests WHERE business_id=?) ORDER BY created_at DESC, rowid DESC "
            "LIMIT ?",
            (user_id, user_id, limit),
        )
        return [p for row in rows if (p := self._payment(row)) is not None]

    def paid_since(
        self, customer_id: str, since: datetime, method_id: str | None = None
    ) -> tuple[int, int]:
        sql = (
            "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM payments WHERE customer_id=? "
            "AND status IN ('succeeded', 'unknown') AND created_at>=?"
        )
        args: tuple[Any, ...] = (customer_id, _t(since))
        if method_id is not None:
            sql += " AND method_id=?"
            args += (method_id,)
        row = self.c.execute(sql, args).fetchone()
        return int(row[0]), int(row[1])

    def add_refund(self, refund: Refund, now: datetime) -> None:
        self.c.execute(
            "INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
            (refund.id, refund.payment_id, refund.amount.minor, refund.status, _t(now)),
        )

    def set_refund_status(self, refund_id: str, status: str, expect: str) -> bool:
        cur = self.c.execute(
            "UPDATE refunds SET status=? WHERE id=? AND status=?", (status, refund_id, expect)
        )
        return cur.rowcount == 1

    def add_refunded(self, payment_id: str, amount: int) -> None:
        self.c.execute("UPDATE payments SET refunded=refunded+? WHERE id=?", (amount, payment_id))

    def refund(self, refund_id: str) -> Refund | None:
        row = self._one(
            "SELECT r.id, r.payment_id, r.amount, p.currency, r.status FROM refunds r "
            "JOIN payments p ON p.id = r.payment_id WHERE r.id=?",
            refund_id,
        )
        return None if row is None else Refund(row[0], row[1], Money(row[2], row[3]), row[4])

    def post(self, txn: str, entries: list[tuple[str, Money]], now: datetime) -> None:
        sums: dict[str, int] = {}
        for _, money in entries:
            sums[money.currency] = sums.get(money.currency, 0) + money.minor
        if any(sums.values()):
            raise InvariantBroken(f"unbalanced ledger posting {txn}: {sums}")
        self.c.executemany(
            "INSERT INTO ledger (txn, account, currency, amount, created_at) VALUES (?,?,?,?,?)",
            [(txn, account, m.currency, m.minor, _t(now)) for account, m in entries],
        )

    def account_balance(self, account: str, currency: str) -> int:
        return int(
            self._one(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account=? AND currency=?",
                account,
                currency,
            )[0]
        )

    def ledger_sums(self) -> dict[str, int]:
        rows = self.c.execute("SELECT currency, SUM(amount) FROM ledger GROUP BY currency")
        return {row[0]: int(row[1]) for row in rows}

    def ledger_account_totals(self) -> list[tuple[str, int]]:
        rows = self.c.execute("SELECT account, SUM(amount) FROM ledger GROUP BY account")
        return [(row[0], int(row[1])) for row in rows]

    def successful_payment_counts(self) -> list[tuple[str, int]]:
        rows = self.c.execute(
            "SELECT request_id, COUNT(*) FROM payments "
            "WHERE status='succeeded' GROUP BY request_id"
        )
        return [(row[0], int(row[1])) for row in rows]

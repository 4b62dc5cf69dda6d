"""One-time SMS codes (bank verification, PIN reset): hashed at rest, short-lived, few tries."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from core.records import SmsCode

if TYPE_CHECKING:
    from core.settings import Security
    from storage.base import SmsCodeRows


def _hash(code: str, salt: bytes) -> bytes:
    return salt + hashlib.scrypt(code.encode(), salt=salt, n=2**12, r=8, p=1, dklen=32)


def can_send(tx: SmsCodeRows, user_id: str, now: datetime, policy: Security) -> bool:
    return tx.sms_sends_since(user_id, now - timedelta(hours=1)) < policy.sms_resends_per_hour


def issue(
    tx: SmsCodeRows, user_id: str, purpose: str, code: str, now: datetime, policy: Security
) -> None:
    tx.save_sms_code(
        user_id,
        purpose,
        SmsCode(
            _hash(code, os.urandom(16)), now + policy.sms_code_lifetime, policy.sms_code_tries, now
        ),
    )
    tx.log_sms_send(user_id, now)


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: Literal["ok", "wrong", "expired", "exhausted", "none"]
    tries_left: int = 0


def verify(tx: SmsCodeRows, user_id: str, purpose: str, code: str, now: datetime) -> CodeCheck:
    stored = tx.sms_code(user_id, purpose)
    if stored is None:
        return CodeCheck("none")
    if stored.expires_at <= now:
        return CodeCheck("expired")
    if stored.tries_left <= 0:
        return CodeCheck("exhausted")
    if hmac.compare_digest(_hash(code.strip(), stored.code_hash[:16]), stored.code_hash):
        tx.delete_sms_code(user_id, purpose)
        return CodeCheck("ok")
    left = stored.tries_left - 1
    tx.save_sms_code(
        user_id, purpose, SmsCode(stored.code_hash, stored.expires_at, left, stored.sent_at)
    )
    return CodeCheck("wrong" if left else "exhausted", left)

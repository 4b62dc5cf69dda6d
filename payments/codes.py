"""One-time SMS codes (bank verification, PIN reset): hashed at rest, short-lived, few tries.

A code is kept as HMAC-SHA256 over a per-code salt and the code, keyed with a key derived from
the server's pepper (the PIN's, never in the database). A 6-digit code has 10^6 values and lives
minutes: a slow hash could not protect it from someone holding both the database and the pepper
(scrypt at 2^12 would try all of them in under three hours on one core), and without the pepper
the database alone cannot test a single guess, as with the PIN. Codes stored by earlier
versions as salted scrypt (48 bytes, no scheme byte) still verify until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from core.records import SmsCode
from storage.base import PinRows, SmsCodeRows

if TYPE_CHECKING:
    from core.settings import Security

KEYED = b"\x01"  # the first byte of a code kept as keyed HMAC; the scrypt form had none
_SALT = 16


class CodeRows(SmsCodeRows, PinRows, Protocol):
    """What issuing and checking a code touches: its row, and the pepper it is keyed with."""


def _key(pepper: bytes) -> bytes:
    """The codes' own key, derived from the pepper: the PIN's uses of it stay apart."""
    return hmac.digest(pepper, b"paychat/sms-code/v1", "sha256")


def _keyed(code: str, salt: bytes, pepper: bytes) -> bytes:
    return KEYED + salt + hmac.digest(_key(pepper), salt + code.encode(), "sha256")


def _hash_like(code: str, stored: bytes, pepper: bytes) -> bytes:
    """`code` kept the way `stored` was, to compare with it."""
    if stored[:1] == KEYED and len(stored) == 1 + _SALT + 32:
        return _keyed(code, stored[1 : 1 + _SALT], pepper)
    salt = stored[:_SALT]  # an earlier version's salted scrypt
    return salt + hashlib.scrypt(code.encode(), salt=salt, n=2**12, r=8, p=1, dklen=32)


def can_send(tx: SmsCodeRows, user_id: str, now: datetime, policy: Security) -> bool:
    return tx.sms_sends_since(user_id, now - timedelta(hours=1)) < policy.sms_resends_per_hour


def issue(
    tx: CodeRows, user_id: str, purpose: str, code: str, now: datetime, policy: Security
) -> None:
    tx.save_sms_code(
        user_id,
        purpose,
        SmsCode(
            _keyed(code, os.urandom(_SALT), tx.pin_pepper()),
            now + policy.sms_code_lifetime,
            policy.sms_code_tries,
            now,
        ),
    )
    tx.log_sms_send(user_id, now)


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: Literal["ok", "wrong", "expired", "exhausted", "none"]
    tries_left: int = 0


def verify(tx: CodeRows, user_id: str, purpose: str, code: str, now: datetime) -> CodeCheck:
    stored = tx.sms_code(user_id, purpose)
    if stored is None:
        return CodeCheck("none")
    if stored.expires_at <= now:
        return CodeCheck("expired")
    if stored.tries_left <= 0:
        return CodeCheck("exhausted")
    if hmac.compare_digest(
        _hash_like(code.strip(), stored.code_hash, tx.pin_pepper()), stored.code_hash
    ):
        tx.delete_sms_code(user_id, purpose)
        return CodeCheck("ok")
    left = stored.tries_left - 1
    tx.save_sms_code(
        user_id, purpose, SmsCode(stored.code_hash, stored.expires_at, left, stored.sent_at)
    )
    return CodeCheck("wrong" if left else "exhausted", left)

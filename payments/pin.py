"""The security PIN: salted scrypt, constant-time comparison, trivial PINs refused.

Wrong-PIN counting and lockout live here and are shared by every flow that asks for the PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from storage.base import Tx

# scrypt's cost is log2(N) from config (security.pin_hash_cost; 14 ≈ 25 ms here). It is stored
# as the hash's first byte, so changing the setting never breaks the PINs already set.
DEFAULT_COST = 14


def hash_pin(pin: str, salt: bytes | None = None, cost: int = DEFAULT_COST) -> tuple[bytes, bytes]:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**cost, r=8, p=1, dklen=32)
    return bytes([cost]) + digest, salt


def verify_pin(pin: str, hash_: bytes, salt: bytes) -> bool:
    return hmac.compare_digest(hash_pin(pin, salt, hash_[0])[0], hash_)


def is_trivial(pin: str) -> bool:
    """All digits equal, or a straight run up or down (1234, 9876, 012345)."""
    if len(set(pin)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


PinProblem = Literal["format", "trivial"]


def check_new_pin(pin: str, length: int) -> PinProblem | None:
    if len(pin) != length or not pin.isdigit():
        return "format"
    if is_trivial(pin):
        return "trivial"
    return None


@dataclass(frozen=True, slots=True)
class PinCheck:
    outcome: Literal["ok", "wrong", "locked", "no_pin"]
    attempts_left: int = 0
    locked_until: datetime | None = None


def check_pin(
    tx: Tx,
    user_id: str,
    pin: str,
    now: datetime,
    attempts: int,
    lock: timedelta,
    proof: tuple[bytes, bytes] | None = None,
) -> PinCheck:
    """Verify a PIN and keep the shared wrong-PIN counter; the last wrong try locks.

    `proof` is (salt, hash) of `pin` computed beforehand off the writer thread (the engine does
    that); it is used when made with the stored salt, else the PIN is hashed here.
    """
    record = tx.pin(user_id)
    if record is None:
        return PinCheck("no_pin")
    if record.locked_until is not None and record.locked_until > now:
        return PinCheck("locked", locked_until=record.locked_until)
    if proof is not None and hmac.compare_digest(proof[0], record.salt):
        matches = hmac.compare_digest(proof[1], record.hash)
    else:
        matches = verify_pin(pin, record.hash, record.salt)
    if matches:
        if record.wrong:
            tx.set_pin_counters(user_id, 0, None)
        return PinCheck("ok")
    wrong = record.wrong + 1
    if wrong >= attempts:
        until = now + lock
        tx.set_pin_counters(user_id, 0, until)
        tx.schedule(until, "pin.unlock", {"user": user_id, "key": user_id})
        return PinCheck("locked", locked_until=until)
    tx.set_pin_counters(user_id, wrong, None)
    return PinCheck("wrong", attempts_left=attempts - wrong)


def is_locked(tx: Tx, user_id: str, now: datetime) -> datetime | None:
    record = tx.pin(user_id)
    if record is None or record.locked_until is None or record.locked_until <= now:
        return None
    return record.locked_until

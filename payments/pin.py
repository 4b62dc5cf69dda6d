"""The security PIN: peppered, salted scrypt, constant-time comparison, trivial PINs refused.

A 4-digit PIN has 10^4 values, so no hash cost stops offline guessing by someone holding the
database: at 2^14 all of them take four minutes on one core. What protects a PIN is (1) the online
attempt counter (3 tries, then a 24 h lock) and (2) the pepper: the PIN goes through
HMAC-SHA256 keyed with a server secret (derived from the sealing key, which is never in the
database) before scrypt, so a stolen database alone cannot test a single guess. scrypt's cost is
then defence in depth for a theft of both, and is set by what a payment can afford
(`security.pin_hash_cost`).

Wrong-PIN counting and lockout live here and are shared by every flow that asks for the PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from storage.base import JobRows, PinRows

# The hash's first byte says how it was made: scrypt's log2(N) (security.pin_hash_cost), with the
# high bit set when peppered. Changing the setting never breaks the PINs already set, and hashes
# from before the pepper still verify.
DEFAULT_COST = 10
PEPPERED = 0x80
# Every length a PIN can have been set with (`security.pin_length` is 4 or 6, and may change after
# PINs were set): entry accepts all of them, whatever the setting is today.
SHORTEST_PIN, LONGEST_PIN = 4, 6


def hash_pin(
    pin: str, pepper: bytes, salt: bytes | None = None, cost: int = DEFAULT_COST
) -> tuple[bytes, bytes]:
    """(scheme byte + digest, salt). An empty `pepper` makes the unpeppered form of old hashes."""
    salt = salt or os.urandom(16)
    secret = hmac.digest(pepper, pin.encode(), "sha256") if pepper else pin.encode()
    digest = hashlib.scrypt(secret, salt=salt, n=2 ** (cost & ~PEPPERED), r=8, p=1, dklen=32)
    return bytes([(cost & ~PEPPERED) | (PEPPERED if pepper else 0)]) + digest, salt


def hash_like(pin: str, stored: bytes, salt: bytes, pepper: bytes) -> bytes:
    """`pin` hashed the way `stored` was (same cost, salt and scheme), to compare with it."""
    scheme = stored[0]
    return hash_pin(pin, pepper if scheme & PEPPERED else b"", salt, scheme)[0]


def verify_pin(pin: str, stored: bytes, salt: bytes, pepper: bytes) -> bool:
    return hmac.compare_digest(hash_like(pin, stored, salt, pepper), stored)


Proof = tuple[bytes, bytes]  # (salt, hash) of what was typed, made off the writer by the engine


def matches(pin: str, stored: bytes, salt: bytes, pepper: bytes, proof: Proof | None) -> bool:
    """Whether `pin` is the PIN kept as `stored` with `salt`: the engine's proof when it was
    made with that salt, else hashed here (on the writer: the engine did not know)."""
    if proof is not None and hmac.compare_digest(proof[0], salt):
        return hmac.compare_digest(proof[1], stored)
    return verify_pin(pin, stored, salt, pepper)


def new_pin_hash(
    pin: str, pepper: bytes, cost: int, proof: Proof | None, salt: bytes | None
) -> tuple[bytes, bytes]:
    """(hash, salt) for a new PIN. The engine's proof when it was made with `salt`, the new one
    handed out when the PIN was asked for (`Ctx.expect_pin`), at this cost and peppered; else
    hashed here with a salt of its own. Never another hash's salt: each PIN gets its own."""
    if (
        proof is not None
        and salt is not None
        and hmac.compare_digest(proof[0], salt)
        and proof[1][:1] == bytes([cost | PEPPERED])
    ):
        return proof[1], proof[0]
    return hash_pin(pin, pepper, cost=cost)


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


class PinCheckRows(PinRows, JobRows, Protocol):
    """What checking a PIN touches: the PIN's row, and the job that lifts a lock."""


@dataclass(frozen=True, slots=True)
class PinCheck:
    outcome: Literal["ok", "wrong", "locked", "no_pin"]
    attempts_left: int = 0
    locked_until: datetime | None = None


def check_pin(
    tx: PinCheckRows,
    user_id: str,
    pin: str,
    now: datetime,
    attempts: int,
    lock: timedelta,
    proof: Proof | None = None,
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
    if matches(pin, record.hash, record.salt, tx.pin_pepper(), proof):
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


def is_locked(tx: PinRows, user_id: str, now: datetime) -> datetime | None:
    record = tx.pin(user_id)
    if record is None or record.locked_until is None or record.locked_until <= now:
        return None
    return record.locked_until

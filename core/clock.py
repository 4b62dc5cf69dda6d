"""Injected time and randomness: the system clock in production, a virtual one in the simulator."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """Moves only when told; scenarios `advance: 24h` instantly."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        if by < timedelta(0):
            raise ValueError("time does not go backwards")
        self._now += by

    def set(self, to: datetime) -> None:
        self.advance(to.astimezone(UTC) - self._now)


_ALPHABET = string.ascii_uppercase + string.digits
# 36^10 ≈ 2^51.7 references: the chance of any collision among a million is about 1 in 7,000
# (with 8 characters it was about 1 in 6, and the colliding request would fail on its key).
_REF_LENGTH = 10


class IdSource(Protocol):
    def ref(self, prefix: str) -> str:
        """A public reference like `PR-7KQ2M9XA4B` (letters, digits and `-`, under 35 chars)."""
        ...

    def digits(self, n: int) -> str:
        """A numeric code, e.g. an SMS code."""
        ...

    def token(self) -> str:
        """An unguessable token for links, `A-Za-z0-9_-`."""
        ...


class SecureIds:
    def ref(self, prefix: str) -> str:
        # One 64-bit draw, written in base 36 (ten secrets.choice calls cost 12 µs, this 1.4).
        n = int.from_bytes(secrets.token_bytes(8))
        chars = []
        for _ in range(_REF_LENGTH):
            n, digit = divmod(n, 36)
            chars.append(_ALPHABET[digit])
        return prefix + "-" + "".join(chars)

    def digits(self, n: int) -> str:
        return "".join(secrets.choice(string.digits) for _ in range(n))

    def token(self) -> str:
        return secrets.token_urlsafe(18)


class SeededIds:
    """Repeatable ids and codes so scenario runs repeat exactly."""

    def __init__(self, seed: int = 0) -> None:
        self._random = Random(seed)

    def ref(self, prefix: str) -> str:
        return prefix + "-" + "".join(self._random.choice(_ALPHABET) for _ in range(_REF_LENGTH))

    def digits(self, n: int) -> str:
        return "".join(self._random.choice(string.digits) for _ in range(n))

    def token(self) -> str:
        alphabet = string.ascii_letters + string.digits
        return "".join(self._random.choice(alphabet) for _ in range(24))

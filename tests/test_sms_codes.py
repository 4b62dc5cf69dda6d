"""One-time SMS codes at rest: keyed with a key derived from the server's pepper, never the
code itself; a wrong code costs a try; a code kept by an earlier version (salted scrypt) still
verifies, whatever its salt starts with."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.records import SmsCode
from core.settings import Settings
from payments import codes
from storage.sqlite import SqliteStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(str(tmp_path / "codes.db"))
    yield opened
    await opened.close()


async def test_a_code_is_kept_keyed_and_checks_once(
    sqlite: SqliteStore, settings: Settings
) -> None:
    policy = settings.security
    await sqlite.run(lambda tx: codes.issue(tx, "asha", "bank", "493817", NOW, policy))
    stored = await sqlite.run(lambda tx: tx.sms_code("asha", "bank"))
    assert stored is not None
    kept = stored.code_hash
    assert kept[:1] == codes.KEYED
    assert len(kept) == 1 + 16 + 32
    assert b"493817" not in kept
    salt, digest = kept[1:17], kept[17:]
    # Not something the database alone can recompute: no unkeyed or empty-keyed hash of it,
    # nor the pepper used directly (the codes have a key of their own, derived from it).
    pepper = await sqlite.run(lambda tx: tx.pin_pepper())
    assert digest != hashlib.sha256(salt + b"493817").digest()
    assert digest != hmac.digest(b"", salt + b"493817", "sha256")
    assert digest != hmac.digest(pepper, salt + b"493817", "sha256")
    # With another server's pepper the right code does not match.
    assert codes._hash_like("493817", kept, os.urandom(32)) != kept
    assert codes._hash_like("493817", kept, pepper) == kept

    wrong = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", "493818", NOW))
    assert (wrong.outcome, wrong.tries_left) == ("wrong", policy.sms_code_tries - 1)
    right = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", " 493817 ", NOW))
    assert right.outcome == "ok"
    again = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", "493817", NOW))
    assert again.outcome == "none"  # used up: a code works once


@pytest.mark.parametrize("first_byte", [b"\x00", codes.KEYED])
async def test_a_code_from_an_earlier_version_still_verifies(
    sqlite: SqliteStore, first_byte: bytes
) -> None:
    salt = first_byte + os.urandom(15)  # about 1 in 256 old salts begins like the new scheme
    old = salt + hashlib.scrypt(b"205511", salt=salt, n=2**12, r=8, p=1, dklen=32)
    code = SmsCode(old, NOW + timedelta(minutes=10), 3, NOW)
    await sqlite.run(lambda tx: tx.save_sms_code("asha", "pin_reset", code))
    wrong = await sqlite.run(lambda tx: codes.verify(tx, "asha", "pin_reset", "205512", NOW))
    assert wrong.outcome == "wrong"
    right = await sqlite.run(lambda tx: codes.verify(tx, "asha", "pin_reset", "205511", NOW))
    assert right.outcome == "ok"

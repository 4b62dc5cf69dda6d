"""One-time SMS codes at rest: keyed with the server's pepper, never the code itself; a wrong
code costs a try; a code kept by an earlier version (salted scrypt) still verifies."""

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
    assert stored.code_hash[:1] == codes.KEYED
    assert b"493817" not in stored.code_hash
    pepper = await sqlite.run(lambda tx: tx.pin_pepper())
    salt, digest = stored.code_hash[1:17], stored.code_hash[17:]
    # Everything in the database but the pepper: no guess matches, not even the right one.
    assert all(
        hmac.digest(os.urandom(32), salt + f"{n:06d}".encode(), "sha256") != digest
        for n in range(493810, 493820)
    )
    assert hmac.digest(pepper, salt + b"493817", "sha256") == digest

    wrong = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", "493818", NOW))
    assert (wrong.outcome, wrong.tries_left) == ("wrong", policy.sms_code_tries - 1)
    right = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", " 493817 ", NOW))
    assert right.outcome == "ok"
    again = await sqlite.run(lambda tx: codes.verify(tx, "asha", "bank", "493817", NOW))
    assert again.outcome == "none"  # used up: a code works once


async def test_a_code_from_an_earlier_version_still_verifies(sqlite: SqliteStore) -> None:
    salt = os.urandom(16)
    old = salt + hashlib.scrypt(b"205511", salt=salt, n=2**12, r=8, p=1, dklen=32)
    code = SmsCode(old, NOW + timedelta(minutes=10), 3, NOW)
    await sqlite.run(lambda tx: tx.save_sms_code("asha", "pin_reset", code))
    wrong = await sqlite.run(lambda tx: codes.verify(tx, "asha", "pin_reset", "205512", NOW))
    assert wrong.outcome == "wrong"
    right = await sqlite.run(lambda tx: codes.verify(tx, "asha", "pin_reset", "205511", NOW))
    assert right.outcome == "ok"

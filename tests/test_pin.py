"""The PIN hash: peppered with a key that is not in the database, salted, and verifiable after
the cost setting changes or for hashes made before the pepper."""

from __future__ import annotations

from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.pin import PEPPERED, hash_like, hash_pin, is_trivial, verify_pin
from storage.sealer import Sealer

PEPPER = Sealer(Fernet.generate_key()).pepper
OTHER = Sealer(Fernet.generate_key()).pepper


def test_the_pepper_comes_from_the_key_and_differs_per_key() -> None:
    key = Fernet.generate_key()
    assert Sealer(key).pepper == Sealer(key).pepper
    assert PEPPER != OTHER
    assert len(PEPPER) == 32


def test_a_stolen_hash_cannot_be_tested_without_the_key() -> None:
    stored, salt = hash_pin("2580", PEPPER, cost=8)
    assert stored[0] == 8 | PEPPERED
    assert verify_pin("2580", stored, salt, PEPPER)
    # Everything in the database (hash, salt, cost) but another key: no guess ever matches,
    # not even the right one.
    assert not any(verify_pin(f"{n:04d}", stored, salt, OTHER) for n in range(2570, 2590))


def test_hashes_from_before_the_pepper_still_verify() -> None:
    stored, salt = hash_pin("2580", b"", cost=8)
    assert stored[0] == 8
    assert verify_pin("2580", stored, salt, PEPPER)
    assert not verify_pin("2581", stored, salt, PEPPER)


def test_the_stored_cost_wins_over_the_setting() -> None:
    stored, salt = hash_pin("2580", PEPPER, cost=9)
    assert hash_like("2580", stored, salt, PEPPER) == stored


@settings(max_examples=25, deadline=None)
@given(pin=st.from_regex(r"\A[0-9]{4,6}\Z"), other=st.from_regex(r"\A[0-9]{4,6}\Z"))
def test_only_the_same_pin_verifies(pin: str, other: str) -> None:
    stored, salt = hash_pin(pin, PEPPER, cost=8)
    assert verify_pin(other, stored, salt, PEPPER) == (other == pin)
    assert hash_pin(pin, PEPPER, cost=8)[0] != stored  # a fresh salt every time


def test_trivial_pins() -> None:
    assert all(is_trivial(p) for p in ("0000", "1234", "9876", "012345", "8901"))
    assert not any(is_trivial(p) for p in ("2580", "1357", "1243"))

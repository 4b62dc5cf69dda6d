"""What counts as a card number typed into a chat (so it is deleted wherever it is typed)."""

from __future__ import annotations

import pytest

from payments.cards import looks_like_card


@pytest.mark.parametrize(
    "text",
    [
        "4242 4242 4242 4242",
        "4242424242424242 12/30",
        "card 5555-5555-5555-4444 exp 12/30",
        "my number is 4000 0000 0000 0002, cvv 123",
        # in another script's digits, amid words (the engine reads digits as Latin only when
        # a message is nothing but a number, so these arrive as typed)
        "मेरा कार्ड ४२४२ ४२४२ ४२४२ ४२४२ है",
        "card ৫৫৫৫-৫৫৫৫-৫৫৫৫-৪৪৪৪ exp 12/30",
        # other digits before it in the same run (missed before: only the run's head was tried)
        "12/30 4242 4242 4242 4242",
        "cvv 123 4242424242424242",
        "000201 4242 4242 4242 4242 12/30",
    ],
)
def test_card_numbers_are_seen_however_they_are_written(text: str) -> None:
    assert looks_like_card(text)


@pytest.mark.parametrize(
    "text",
    [
        "2500",
        "₹1,00,000.00",
        "+91 98123 45678",  # a phone in international form, even when it passes Luhn
        "+919812345678",
        "4242 4242 4242 4241",  # fails Luhn
        "order 12345",
    ],
)
def test_amounts_phones_and_other_numbers_are_not_cards(text: str) -> None:
    assert not looks_like_card(text)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4242 4242 4242 4242 12/30", "card •••• (card number) 12/30"),
        ("मेरा कार्ड ४२४२ ४२४२ ४२४२ ४२४२ है", "मेरा कार्ड •••• (card number) है"),
        ("৫৫৫৫৫৫৫৫৫৫৫৫৪৪৪৪", "•••• (card number)"),
        ("order ४२४२ ४२४२ ४२४२ ४२४१", "order ४२४२ ४२४२ ४२४२ ४२४१"),  # fails Luhn
        ("12/30 4242 4242 4242 4242", "12/30 •••• (card number)"),
        ("cvv 123 4242424242424242", "cvv 123 •••• (card number)"),
        ("4242 4242 4242 4242 or 5555-5555-5555-4444", "•••• (card number) or •••• (card number)"),
    ],
)
def test_reports_mask_card_numbers_in_any_script(text: str, masked: str) -> None:
    from sim.scenarios.report import mask

    assert mask(text) == masked

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Money, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("250", "INR", 25000),
        ("250.50", "INR", 25050),
        ("₹250", "INR", 25000),
        ("1,00,000", "INR", 10000000),
        ("R$ 10,50", "BRL", 1050),
        ("1.000,00", "BRL", 100000),
        ("1000.50", "BRL", 100050),
        ("S$12.30", "SGD", 1230),
        ("1,234.56", "SGD", 123456),
    ],
)
def test_parses_what_people_type(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", "zero"),
        ("-5", "negative"),
        ("1.234", "too_many_decimals"),
        ("ten", "not_a_number"),
        ("", "not_a_number"),
        ("1,2,3", "not_a_number"),
    ],
)
def test_says_which_rule_an_amount_broke(text: str, problem: str) -> None:
    assert parse_amount(text, "INR") == problem


@pytest.mark.parametrize(
    ("money", "locale", "symbol", "shown"),
    [
        (Money(10000000, "INR"), "en_IN", None, "₹1,00,000.00"),
        (Money(100000, "BRL"), "pt_BR", None, "R$ 1.000,00"),
        (Money(100000, "SGD"), "en_SG", "S$", "S$1,000.00"),
    ],
)
def test_formats_per_market(money: Money, locale: str, symbol: str | None, shown: str) -> None:
    assert money.format(locale, symbol) == shown


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(["INR", "BRL", "SGD"]))
def test_plain_notation_round_trips(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.of(money.code()) == money
    assert parse_amount(f"{money.decimal:f}", currency) == money


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(["en_IN", "pt_BR", "en_SG"]))
def test_what_we_show_we_can_read_back(minor: int, locale: str) -> None:
    currency = {"en_IN": "INR", "pt_BR": "BRL", "en_SG": "SGD"}[locale]
    money = Money(minor, currency)
    assert (
        parse_amount(money.format(locale, "S$" if currency == "SGD" else None), currency) == money
    )


def test_money_never_mixes_currencies() -> None:
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, "INR") + Money(1, "BRL")
    assert Money.of("INR 0.10").decimal == Decimal("0.10")

"""Which language a party reads, and how what they type in their own digits is read."""

from __future__ import annotations

import pytest

from core.languages import (
    autonym,
    formatting_locale,
    guess_language,
    latin_digits,
    native_digits,
    typed_digits,
)

BRAZIL = ("pt_BR", "en")
INDIA = ("en", "hi", "bn")


@pytest.mark.parametrize(
    ("code", "offered", "chosen"),
    [
        ("pt-br", BRAZIL, "pt_BR"),  # Telegram's language_code
        ("pt", BRAZIL, "pt_BR"),
        ("pt-PT", BRAZIL, "pt_BR"),  # Portuguese is Portuguese: the market's variant
        ("en-GB", BRAZIL, "en"),
        ("hi", INDIA, "hi"),
        ("bn", INDIA, "bn"),
        ("bn-IN", INDIA, "bn"),
        ("hi", BRAZIL, None),  # not offered there: the market's default decides
        ("", INDIA, None),
        ("en_XA", (*INDIA, "en_XA"), "en_XA"),  # only when asked for exactly
        ("en", (*INDIA, "en_XA"), "en"),
    ],
)
def test_the_apps_language_code_picks_an_offered_language(
    code: str, offered: tuple[str, ...], chosen: str | None
) -> None:
    assert guess_language(code, offered) == chosen


def test_numbers_typed_in_any_script_are_read_as_latin_digits() -> None:
    assert typed_digits("२५८०") == "2580"  # a PIN in Devanagari
    assert typed_digits("১,২৫০.৫০") == "1,250.50"  # an amount in Bengali
    assert typed_digits("₹ ৫০০") == "₹ 500"
    assert typed_digits("R$ ১০,৫০") == "R$ 10,50"
    assert typed_digits("+৯১ ৯৮১২৩ ৪৫৬৭৮") == "+91 98123 45678"
    assert typed_digits("২টি দোসা") == "২টি দোসা"  # a note keeps its own digits
    assert typed_digits("2 masala chai") == "2 masala chai"
    assert latin_digits("TX-১২") == "TX-12"


def test_bengali_is_shown_in_its_digits_and_hindi_in_latin_ones() -> None:
    assert native_digits("₹1,00,000.00", "bn") == "₹১,০০,০০০.০০"
    assert native_digits("₹1,00,000.00", "hi") == "₹1,00,000.00"
    assert native_digits("R$ 1.000,00", "pt_BR") == "R$ 1.000,00"


def test_money_is_written_for_the_reader_in_their_market() -> None:
    assert formatting_locale("hi", "en_IN") == "hi_IN"
    assert formatting_locale("bn", "en_IN") == "bn_IN"
    assert formatting_locale("en", "pt_BR") == "pt_BR"  # no en_BR in CLDR: as Brazil writes it
    assert formatting_locale("en_XA", "en_IN") == "en_IN"


def test_languages_are_named_in_themselves() -> None:
    assert [autonym(x) for x in ("en", "pt_BR", "hi", "bn")] == [
        "English",
        "Português (Brasil)",
        "हिन्दी",
        "বাংলা",
    ]

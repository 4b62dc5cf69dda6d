"""Languages: the locale a party reads, how its digits look, and what its people type.

A party's language is a locale name: `en`, `pt_BR`, `hi`, `bn`, or the pseudo-locale `en_XA`
(English with accents, longer, bracketed: it shows hard-coded strings and truncation). Each
market offers some of them (`config.yaml`: `markets.<code>.languages`, the first is the
market's default). Digits: Bengali is shown with its own digits (০-৯), as CLDR's `bn` numbering
system is; Hindi keeps Latin digits, as CLDR's `hi` does (README, "Languages"). Whatever people
type is read with Latin, Devanagari or Bengali digits alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from babel import Locale, UnknownLocaleError

PSEUDO = {"en_XA": "en"}  # a pseudo-locale → the language Babel formats its numbers and dates in
_NATIVE = {"bn": "০১২৩৪৫৬৭৮৯"}  # languages whose messages show their own digits
_SHOWN = {lang: str.maketrans("0123456789", digits) for lang, digits in _NATIVE.items()}
# Symbols and codes a typed amount may start with; they are the only letters allowed in text
# whose digits are read as Latin ones.
_MONEY_WORDS = ("R$", "S$", "Rs.", "Rs", "INR", "BRL", "SGD")


def babel_name(locale: str) -> str:
    """The locale Babel knows for `locale`: a pseudo-locale formats as its base language."""
    return PSEUDO.get(locale, locale)


def language_of(locale: str) -> str:
    """`pt_BR` → `pt`, `en_XA` → `en`."""
    return babel_name(locale).split("_")[0]


def shows_native_digits(locale: str) -> bool:
    return language_of(locale) in _SHOWN


def native_digits(text: str, locale: str) -> str:
    """`text` with its Latin digits in the language's own, where the language shows them."""
    table = _SHOWN.get(language_of(locale))
    return text.translate(table) if table else text


def latin_digits(text: str) -> str:
    """Every decimal digit of any script (०-९, ০-৯, ...) as its Latin digit."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def typed_digits(text: str) -> str:
    """What a person typed, with native digits read as Latin ones when the text is a number (an
    amount, a PIN, a code, a phone or card number): no letters but a currency's. A note or a
    name keeps its digits as typed."""
    if text.isascii():
        return text
    rest = text
    for word in _MONEY_WORDS:
        rest = rest.replace(word, "")
    if any(unicodedata.category(c).startswith("L") for c in rest):
        return text
    return latin_digits(text)


def guess_language(platform_code: str, offered: Sequence[str]) -> str | None:
    """The offered locale a chat app's language code asks for (Telegram's `language_code`:
    `pt-br` or `pt` → `pt_BR`, `hi` → `hi`, `en-GB` → `en`), or None."""
    code = platform_code.strip().replace("-", "_").lower()
    if not code:
        return None
    for locale in offered:  # the exact locale first: pt_BR for pt-br
        if locale.lower() == code:
            return locale
    language = code.split("_")[0]
    for locale in offered:
        if locale not in PSEUDO and language_of(locale) == language:
            return locale
    return None


@lru_cache(maxsize=32)
def autonym(locale: str) -> str:
    """The language named in itself: English, Português (Brasil), हिन्दी, বাংলা."""
    if locale in PSEUDO:
        return f"[{locale}]"
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


@lru_cache(maxsize=64)
def formatting_locale(locale: str, market_locale: str) -> str:
    """The CLDR locale money, numbers and dates are written in: the reader's language in the
    market's country where CLDR has it (hi_IN, bn_IN, en_IN, pt_BR), else the market's own
    (English in Brazil reads R$ 1.000,00, as Brazilian prices are written)."""
    language = language_of(locale)
    territory = Locale.parse(market_locale).territory
    if territory:
        try:
            Locale.parse(f"{language}_{territory}")
        except UnknownLocaleError:
            return market_locale
        return f"{language}_{territory}"
    return language

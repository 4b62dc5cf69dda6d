"""Money as integer minor units plus an ISO currency. Never a float.

`parse_amount` reads what a person types in a market (`₹1,00,000`, `R$ 10,50`, `S$12.30`, plain
`1000.50`) strictly: it either returns exact minor units or says which rule the text broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

AmountProblem = Literal["not_a_number", "zero", "negative", "too_many_decimals"]


@dataclass(frozen=True, slots=True, order=True)
class Money:
    minor: int
    currency: str

    @classmethod
    def of(cls, text: str) -> Money:
        """`"INR 250.00"` → Money(25000, "INR"); the notation of config files and scenarios."""
        try:
            currency, amount = text.split()
            value = Decimal(amount)
        except (ValueError, InvalidOperation) as exc:
            raise ValueError(f"{text!r} is not money written as 'CUR 123.45'") from exc
        digits = minor_digits(currency)
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text!r} has more than {digits} decimals")
        return cls(int(scaled), currency.upper())

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_digits(self.currency))

    def code(self) -> str:
        """`INR 250.00`: the plain, locale-free notation."""
        return f"{self.currency} {self.decimal:.{minor_digits(self.currency)}f}"

    def format(self, locale: str, symbol: str | None = None) -> str:
        """Shown in the party's language and market: ₹1,00,000.00, R$ 1.000,00, S$1,000.00.

        `symbol` replaces the locale's own where it is ambiguous (Babel's en_SG shows SGD as `$`).
        """
        return _format(self.minor, self.currency, locale, symbol)


@lru_cache(maxsize=64)
def locale_of(name: str) -> Locale:
    """A parsed Babel locale, kept: Babel parses a locale string on every call otherwise."""
    return Locale.parse(name)


@lru_cache(maxsize=8192)
def _format(minor: int, currency: str, locale: str, symbol: str | None) -> str:
    # Babel parses the locale on every call unless handed a Locale; both are cached here
    # because rendering money is on the hot path of every confirmation.
    parsed = locale_of(locale)
    amount = Decimal(minor).scaleb(-minor_digits(currency))
    text: str = format_currency(amount, currency, locale=parsed)
    if symbol:
        text = text.replace(get_currency_symbol(currency, locale=parsed), symbol, 1)
    return text.replace("\xa0", " ")


@lru_cache(maxsize=64)
def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency.upper()))


_SYMBOLS = ("R$", "S$", "₹", "Rs.", "Rs", "INR", "BRL", "SGD", "$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_INDIAN = re.compile(r"^\d{1,2}(?:,\d{2})*,\d{3}(?:\.\d+)?$")
_WESTERN = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_BRAZIL = re.compile(r"^\d{1,3}(?:\.\d{3})*(?:,\d+)?$")


def parse_amount(text: str, currency: str) -> Money | AmountProblem:
    """Read a typed amount in the market of `currency`; return Money or the rule it broke."""
    raw = text.strip().replace("\xa0", " ")
    negative = raw.startswith("-")
    raw = raw.lstrip("-").strip()
    for symbol in _SYMBOLS:
        if raw.upper().startswith(symbol.upper()):
            raw = raw[len(symbol) :].strip()
            break
    raw = raw.replace(" ", "")
    normal = _normalise(raw, currency.upper())
    if normal is None:
        return "not_a_number"
    value = Decimal(normal)
    digits = minor_digits(currency)
    if -value.as_tuple().exponent > digits:  # type: ignore[operator]  # finite decimals only here
        return "too_many_decimals"
    if negative and value != 0:
        return "negative"
    if value == 0:
        return "zero"
    return Money(int(value.scaleb(digits)), currency.upper())


def _normalise(raw: str, currency: str) -> str | None:
    if currency == "BRL" and re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", raw):
        return raw.replace(".", "").replace(",", ".")
    if _PLAIN.match(raw):
        return raw
    if currency == "BRL":
        if re.fullmatch(r"\d+,\d+", raw) or _BRAZIL.match(raw):
            return raw.replace(".", "").replace(",", ".")
        return None
    if currency == "INR" and (_INDIAN.match(raw) or _WESTERN.match(raw)):
        return raw.replace(",", "")
    if _WESTERN.match(raw):
        return raw.replace(",", "")
    return None

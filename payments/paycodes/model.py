"""What a payment code says, whatever its scheme, and why one could not be read.

A code is read into a `PayCode` (who is paid, how much, which request it is for) or refused with
an `Unreadable` reason: what a person pastes is never an exception. Amounts are `Money` (integer
minor units); the text form of an amount in a code is "123.45", a dot and exactly the currency's
decimals when built, at most that many when read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from core.money import Money, minor_digits

Scheme = Literal["pix", "upi", "paynow"]
# The market (country) and currency each scheme belongs to.
MARKET: dict[Scheme, str] = {"pix": "BR", "upi": "IN", "paynow": "SG"}
CURRENCY: dict[Scheme, str] = {"pix": "BRL", "upi": "INR", "paynow": "SGD"}

Reason = Literal["not_a_code", "malformed", "bad_crc", "unsupported", "invalid"]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why a text is not a payment code this app can pay: `reason` is a fixed word (a message
    says it to the person), `detail` names the field and rule (for tests and logs)."""

    reason: Reason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PayCode:
    """A payment code, read. `payee`: the Pix key, UPI ID or PayNow proxy value; `reference`:
    the txid (Pix), `tr` (UPI) or bill number (PayNow) — PayChat writes its request's id there.
    """

    scheme: Scheme
    payee: str
    name: str
    amount: Money | None
    reference: str
    city: str = ""
    proxy_type: Literal["mobile", "uen", ""] = ""
    editable: bool = False
    expires: date | None = None
    note: str = ""

    @property
    def market(self) -> str:
        return MARKET[self.scheme]


# ASCII digits, the whole text: `\d` takes any script's digits (٢٥٠) and `$` a trailing newline
_AMOUNT = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")


def amount_text(amount: Money, currency: str) -> str:
    """Money as a code writes it: `1234.50`. ValueError for another currency or an amount that
    is not positive."""
    if amount.currency != currency:
        raise ValueError(f"amount: {amount.currency} where the code takes {currency}")
    if amount.minor <= 0:
        raise ValueError("amount: must be positive")
    return f"{amount.decimal:.{minor_digits(currency)}f}"


def read_amount(text: str, currency: str) -> Money | None:
    """ "123.45" → Money; None when it is not a positive amount with at most the currency's
    decimals (a comma, a sign, an exponent, three decimals: refused, never rounded)."""
    if not _AMOUNT.fullmatch(text):
        return None
    value = Decimal(text).scaleb(minor_digits(currency))
    if value != value.to_integral_value() or value <= 0:
        return None
    return Money(int(value), currency)


def plain(text: str, limit: int) -> str:
    """`text` as a code's name or city field can hold it: accents dropped (São → Sao), other
    characters outside printable ASCII removed, spaces folded, cut to `limit` characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if " " <= c <= "~")
    return " ".join(kept.split())[:limit].strip()

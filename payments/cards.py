"""Card numbers as people type them: digits, Luhn, brand, expiry. Never stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from stdnum import luhn

from core.languages import latin_digits

CardProblem = Literal["invalid", "unsupported", "expired", "expiry_invalid", "missing_expiry"]

# Debit test numbers (Stripe's convention); every other number is reported as credit.
DEBIT_CARDS = {"4000056655665556", "5200828282828210"}


@dataclass(frozen=True, slots=True)
class CardInput:
    number: str
    brand: str
    last4: str
    expiry: str  # MM/YY
    funding: Literal["credit", "debit"]


_DIGIT_RUN = re.compile(r"\d+(?:[ -]\d+)*")  # digit groups, a space or dash between them
_DIGITS = re.compile(r"\d+")  # one group of a run
# 13 digits in one run: what every card number has. Most texts have none, and this one search
# in C answers them without the groups and Luhn checks below (every text event, every line of a
# transcript).
_THIRTEEN = re.compile(r"\d(?:[ -]?\d){12}")


def card_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds what could be a card number: 13 to 19 digits of consecutive groups
    (spaced, dashed or not) passing Luhn, whatever comes before or after in the same run ("12/30
    4242 4242 4242 4242", "cvv 123 4242…", "000201 4242…"); not a +phone. In any script's digits
    (४२४२, ৪২৪২: a number the engine left as typed, because words surround it)."""
    if not _THIRTEEN.search(text):
        return []
    spans = []
    for run in _DIGIT_RUN.finditer(text):
        groups = [
            (g.start() + run.start(), g.end() + run.start()) for g in _DIGITS.finditer(run[0])
        ]
        i = 1 if text[run.start() - 1 : run.start()] == "+" else 0  # +91 98123…: a phone
        while i < len(groups):
            # the longest card from group i first; 19 digits are at most 19 groups
            for j in range(min(len(groups), i + 19), i, -1):
                digits = latin_digits("".join(text[a:b] for a, b in groups[i:j]))
                if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                    spans.append((groups[i][0], groups[j - 1][1]))
                    i = j - 1
                    break
            i += 1
    return spans


def looks_like_card(text: str) -> bool:
    """Whether a message holds what could be a card number (`card_spans`): such a message must
    not stay in a chat, whatever was asked."""
    return bool(card_spans(text[:1000]))


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    prefix2, prefix4 = int(number[:2]), int(number[:4])
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "mastercard"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in ("60", "65", "81", "82", "50"):
        return "rupay"
    if number[:4] in ("4011", "4389", "5067", "6277", "6363", "5041"):
        return "elo"
    return "unknown"


_LENGTHS = {"visa": (13, 16, 19), "mastercard": (16,)}
_NUMBER = re.compile(r"^\d[\d \-]{10,24}\d$")
_EXPIRY = re.compile(r"(?:^|\s)(\d{1,2})\s*/\s*(\d{4}|\d{2})\s*$")


def parse_card(
    text: str, accepted: tuple[str, ...], now: datetime
) -> CardInput | tuple[CardProblem, str]:
    """Read `4242 4242 4242 4242 12/30`; return the card or (problem, brand)."""
    text = text.strip()
    expiry = _EXPIRY.search(text)
    digits = text[: expiry.start()].strip() if expiry else text
    if not _NUMBER.match(digits):
        return ("invalid", "")
    number = re.sub(r"[ \-]", "", digits)
    if not luhn.is_valid(number):
        return ("invalid", "")
    brand = brand_of(number)
    if brand not in accepted:
        return ("unsupported", brand)
    if len(number) not in _LENGTHS.get(brand, (16,)):
        return ("invalid", brand)
    if expiry is None:
        return ("missing_expiry", brand)
    month, year = int(expiry[1]), int(expiry[2]) % 100
    if not 1 <= month <= 12:
        return ("expiry_invalid", brand)
    if (2000 + year, month) < (now.year, now.month):
        return ("expired", brand)
    funding: Literal["credit", "debit"] = "debit" if number in DEBIT_CARDS else "credit"
    return CardInput(number, brand, number[-4:], f"{month:02d}/{year:02d}", funding)


def label(brand: str, last4: str) -> str:
    names = {"visa": "Visa", "mastercard": "Mastercard"}
    return f"{names.get(brand, brand.title())} •••• {last4}"

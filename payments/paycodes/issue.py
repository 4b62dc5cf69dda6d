"""The payment code of a PayChat request, and whether a code read back is that request's.

Each market's code names the business as its rail knows it: in Brazil its Pix key (the phone
number it registered with, a phone key), in India a UPI ID at its payout bank's handle (the
mobile number's 10 digits, as UPI apps make them), in Singapore its PayNow mobile proxy. The
request's id is the code's reference (Pix allows only letters and digits in a txid, so there
without its dash), so a code leads back to its request, and the request decides what may be paid:
a code whose amount or payee differs from the request's was changed after it was made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from core.records import PaymentRequest, Payout, User
from core.settings import Market
from payments.handles import UPI_BANKS
from payments.paycodes import paynow, pix, upi
from payments.paycodes.model import MARKET, PayCode, Scheme, plain

SCHEMES: dict[str, Scheme] = {market: scheme for scheme, market in MARKET.items()}
Mismatch = Literal["amount_changed", "payee_changed"]


def scheme_of(market_code: str) -> Scheme | None:
    return SCHEMES.get(market_code)


def payee(business: User, payout: Payout) -> str:
    """The business's Pix key, UPI ID or PayNow proxy."""
    if business.market == "IN":
        handle = next((h for h, bank in UPI_BANKS.items() if bank == payout.bank), "upi")
        return f"{business.phone.removeprefix('+91')}@{handle}"
    return business.phone  # a Pix phone key and a PayNow mobile proxy are both +E.164


def city(market: Market) -> str:
    """The city a code names: the market's time zone's (America/Sao_Paulo → Sao Paulo)."""
    return plain(market.timezone.rsplit("/", 1)[-1].replace("_", " "), pix.CITY_LIMIT)


def reference(request_id: str, scheme: Scheme) -> str:
    return request_id.replace("-", "") if scheme == "pix" else request_id


def request_id(code: PayCode) -> str:
    """The id of the request a code was made for (the inverse of `reference`)."""
    ref = code.reference
    if code.scheme == "pix" and ref[:2].isalpha() and "-" not in ref:
        return f"{ref[:2]}-{ref[2:]}"
    return ref


def build(
    request: PaymentRequest, business: User, payout: Payout, market: Market
) -> tuple[Scheme, str] | None:
    """The scheme of the business's market and `request`'s code in it; None for a market
    without one."""
    scheme = scheme_of(business.market)
    if scheme is None:
        return None
    name = plain(business.name, pix.NAME_LIMIT) or "PayChat"
    ref = reference(request.id, scheme)
    if scheme == "pix":
        code = pix.build(
            payee(business, payout), name, city(market), request.amount, ref, single_use=True
        )
    elif scheme == "upi":
        note = plain(request.note, upi.NOTE_LIMIT)
        code = upi.build(payee(business, payout), name, request.amount, ref, note)
    else:
        expires = request.expires_at.astimezone(ZoneInfo(market.timezone)).date()
        code = paynow.build("mobile", payee(business, payout), name, request.amount, ref, expires)
    return scheme, code


def mismatch(
    code: PayCode, request: PaymentRequest, business: User, payout: Payout
) -> Mismatch | None:
    """What in `code` is not as its request says (None: it is the request's code)."""
    if code.amount != request.amount:
        return "amount_changed"
    if code.payee.lower() != payee(business, payout).lower():
        return "payee_changed"
    return None


def expired(code: PayCode, now: datetime, market: Market) -> bool:
    """A PayNow code past its own expiry date (the market's calendar)."""
    if code.expires is None:
        return False
    return now.astimezone(ZoneInfo(market.timezone)).date() > code.expires

"""Singapore's PayNow QR: an SGQR payload (EMV® QRCPS merchant-presented) with the PayNow
merchant account template.

Field 26 (where PayChat builds it; read from whichever of 26-51 carries the GUI) holds 00
`SG.PAYNOW`, 01 the proxy type (0 a mobile number, 2 a UEN), 02 the proxy value (`+65` and 8
digits, or the business's UEN), 03 whether the payer may edit the amount (0 no, 1 yes) and 04 an
optional expiry date (YYYYMMDD); then 52 category 0000, 53 currency 702, 54 the amount, 58 SG, 59
the name (at most 25), 60 the city, 62 with 01 the bill number (the payment's reference, at most
25) and 63 the CRC, as in `emv`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from stdnum.sg import uen

from core.money import Money
from payments.paycodes import emv
from payments.paycodes.model import PayCode, Unreadable, amount_text, read_amount

GUI = "SG.PAYNOW"
TEMPLATE = "26"  # where PayChat builds its own codes' account (read from any of 26-51)
NAME_LIMIT = 25
REFERENCE_LIMIT = 25
ProxyType = Literal["mobile", "uen"]
_PROXY_CODES: dict[ProxyType, str] = {"mobile": "0", "uen": "2"}
_PROXY_KINDS = {code: kind for kind, code in _PROXY_CODES.items()}  # what parse reads back
_MOBILE = re.compile(r"^\+65\d{8}$")
_UEN = re.compile(r"^[0-9A-Z]{9,13}$")


def valid_proxy(kind: ProxyType, value: str) -> bool:
    """A mobile: `+65` and 8 digits. A UEN (9 or 10 characters, its check letter right),
    sometimes followed by up to 3 letters naming a unit of the entity (a fund: `200002150HWCF`).
    """
    if kind == "mobile":
        return _MOBILE.match(value) is not None
    return _UEN.match(value) is not None and any(
        uen.is_valid(value[:cut]) and (value[cut:].isalpha() or not value[cut:])
        for cut in (9, 10)
        if len(value) - cut <= 3
    )


def build(
    proxy_type: ProxyType,
    proxy: str,
    name: str,
    amount: Money | None,
    reference: str = "",
    expires: date | None = None,
    editable: bool = False,
    city: str = "Singapore",
    single_use: bool = True,
) -> str:
    """An SGQR PayNow payload; ValueError naming the field when a value breaks a rule.
    `single_use`: point of initiation 12 (one payment), else 11 (a code shown again and again).
    """
    if not valid_proxy(proxy_type, proxy):
        raise ValueError(f"26/02: {proxy_type} proxy not valid (+65 and 8 digits, or a UEN)")
    if not 1 <= len(name) <= NAME_LIMIT:
        raise ValueError(f"59: the merchant name must be 1-{NAME_LIMIT} characters")
    if len(reference) > REFERENCE_LIMIT:
        raise ValueError(f"62/01: the reference must be at most {REFERENCE_LIMIT} characters")
    if amount is None and not editable:
        raise ValueError("54: a fixed amount needs an amount")
    account = [
        ("00", GUI),
        ("01", _PROXY_CODES[proxy_type]),
        ("02", proxy),
        ("03", "1" if editable else "0"),
    ]
    if expires is not None:
        account.append(("04", expires.strftime("%Y%m%d")))
    parts = [
        emv.field("00", "01"),
        emv.field("01", "12" if single_use else "11"),
        emv.template(TEMPLATE, account),
        emv.field("52", "0000"),
        emv.field("53", "702"),
    ]
    if amount is not None:
        parts.append(emv.field("54", amount_text(amount, "SGD")))
    parts += [emv.field("58", "SG"), emv.field("59", name), emv.field("60", city)]
    if reference:
        parts.append(emv.template("62", [("01", reference)]))
    return emv.close("".join(parts))


def parse(top: list[tuple[str, str]]) -> PayCode | Unreadable:
    """The fields of an SGQR whose CRC was checked (`emv.read`) → what it asks. The PayNow
    template is found by its GUI in any of 26-51: an SGQR with several schemes may put it at any.
    """
    found = dict(top)
    account = emv.account(top, GUI)
    if isinstance(account, Unreadable):
        return account
    tag, sub = account
    kind = _PROXY_KINDS.get(sub.get("01", ""))
    if kind is None or not valid_proxy(kind, sub.get("02", "")):
        return Unreadable("invalid", f"{tag}/01-02: not a mobile (+65) or UEN proxy")
    if sub.get("03", "1") not in ("0", "1"):
        return Unreadable("invalid", f"{tag}/03: editable must be 0 or 1")
    expires = None
    if "04" in sub:
        try:
            text = sub["04"]
            if len(text) != 8 or not text.isdigit():
                raise ValueError(text)
            expires = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return Unreadable("invalid", f"{tag}/04: expiry is not a YYYYMMDD date")
    if found.get("53") != "702" or found.get("58") != "SG":
        return Unreadable("invalid", "53/58: not Singapore dollars in SG")
    name = found.get("59", "")
    if not 1 <= len(name) <= NAME_LIMIT or not found.get("60"):
        return Unreadable("invalid", "59/60: merchant name 1-25 characters and a city")
    amount = None
    if "54" in found:
        amount = read_amount(found["54"], "SGD")
        if amount is None:
            return Unreadable("invalid", "54: not an amount")
    extra = emv.fields(found.get("62", ""))
    if isinstance(extra, Unreadable):
        return extra
    return PayCode(
        "paynow",
        sub["02"],
        name,
        amount,
        dict(extra).get("01", ""),
        city=found["60"],
        proxy_type=kind,
        editable=sub.get("03", "1") == "1",
        expires=expires,
    )

"""Pix "copia e cola": the BR Code (EMV® QRCPS merchant-presented) of Banco Central do Brasil.

Per the "Manual do BR Code" and the "Manual de Padrões para Iniciação do Pix": the Pix template
(00 the GUI `br.gov.bcb.pix`, 01 the Pix key, 02 an optional description, 99 characters in all;
PayChat builds it at 26, and reads it from whichever of 26-51 carries the GUI), 52 the category
code 0000, 53 the currency 986, 54 the amount (optional, at most 13 characters, a dot before the
cents), 58 the country BR, 59 the receiver's name (at most 25), 60 the city (at most 15), 62 the
additional data whose 05 is the txid (letters and digits, at most 25, or `***` when there is
none) and 63 the CRC. Codes whose template carries a URL (25: a dynamic charge fetched from the
receiver's bank) need a network: not read here.
"""

from __future__ import annotations

import re

from core.money import Money
from payments.paycodes import emv
from payments.paycodes.model import PayCode, Unreadable, amount_text, read_amount

GUI = "br.gov.bcb.pix"
TEMPLATE = "26"  # where PayChat builds its own codes' account (read from any of 26-51)
NAME_LIMIT = 25
CITY_LIMIT = 15
TXID_LIMIT = 25
_TXID = re.compile(r"^[A-Za-z0-9]{1,25}$")
# The five kinds of Pix key, as a BR Code writes them (no dots or dashes in CPF and CNPJ).
_KEYS = (
    re.compile(r"^\d{11}$"),  # CPF
    re.compile(r"^\d{14}$"),  # CNPJ
    re.compile(r"^\+55\d{10,11}$"),  # phone
    re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$"),  # e-mail
    re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),  # EVP
)
KEY_LIMIT = 77


def valid_key(key: str) -> bool:
    return len(key) <= KEY_LIMIT and any(k.match(key) for k in _KEYS)


def build(
    key: str,
    name: str,
    city: str,
    amount: Money | None = None,
    txid: str = "***",
    *,
    description: str = "",
    single_use: bool = False,
) -> str:
    """A BR Code. ValueError naming the field when a value breaks a rule (a name over 25
    characters is refused, not cut: `model.plain` fits one first). `single_use`: point of
    initiation 12 (a code for one payment) instead of none (reusable)."""
    if not valid_key(key):
        raise ValueError("26/01: not a Pix key (CPF, CNPJ, +55 phone, e-mail or random key)")
    if not 1 <= len(name) <= NAME_LIMIT:
        raise ValueError(f"59: the merchant name must be 1-{NAME_LIMIT} characters")
    if not 1 <= len(city) <= CITY_LIMIT:
        raise ValueError(f"60: the merchant city must be 1-{CITY_LIMIT} characters")
    if txid != "***" and not _TXID.match(txid):
        raise ValueError(f"62/05: the txid must be 1-{TXID_LIMIT} letters and digits, or ***")
    account = [("00", GUI), ("01", key)] + ([("02", description)] if description else [])
    parts = [emv.field("00", "01")]
    if single_use:
        parts.append(emv.field("01", "12"))
    parts += [emv.template(TEMPLATE, account), emv.field("52", "0000"), emv.field("53", "986")]
    if amount is not None:
        written = amount_text(amount, "BRL")
        if len(written) > 13:
            raise ValueError("54: the amount must be at most 13 characters")
        parts.append(emv.field("54", written))
    parts += [
        emv.field("58", "BR"),
        emv.field("59", name),
        emv.field("60", city),
        emv.template("62", [("05", txid)]),
    ]
    return emv.close("".join(parts))


def parse(top: list[tuple[str, str]]) -> PayCode | Unreadable:
    """The fields of a BR Code whose CRC was checked (`emv.read`) → what it asks. The Pix
    template is found by its GUI in any of 26-51: other apps' codes put it elsewhere than 26."""
    found = dict(top)
    account = emv.account(top, GUI)
    if isinstance(account, Unreadable):
        return account
    tag, sub = account
    if "25" in sub and "01" not in sub:
        return Unreadable("unsupported", f"a dynamic Pix code ({tag}/25: a URL)")
    key = sub.get("01", "")
    if not valid_key(key):
        return Unreadable("invalid", f"{tag}/01: not a Pix key")
    if found.get("53") != "986" or found.get("58") != "BR":
        return Unreadable("invalid", "53/58: not Brazilian reais in BR")
    name, city = found.get("59", ""), found.get("60", "")
    if not 1 <= len(name) <= NAME_LIMIT or not 1 <= len(city) <= CITY_LIMIT:
        return Unreadable("invalid", "59/60: merchant name 1-25 and city 1-15 characters")
    amount = None
    if "54" in found:
        amount = read_amount(found["54"], "BRL") if len(found["54"]) <= 13 else None
        if amount is None:
            return Unreadable("invalid", "54: not an amount")
    extra = emv.fields(found.get("62", ""))
    if isinstance(extra, Unreadable):
        return extra
    txid = dict(extra).get("05", "")
    if txid != "***" and not _TXID.match(txid):
        return Unreadable("invalid", "62/05: the txid must be 1-25 letters and digits, or ***")
    return PayCode(
        "pix",
        key,
        name,
        amount,
        "" if txid == "***" else txid,
        city=city,
        editable=amount is None,
        note=sub.get("02", ""),
    )

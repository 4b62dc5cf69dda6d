"""UPI intent: the `upi://pay?…` URI of NPCI's deep-linking specification, which a UPI app opens
(from a link or a QR) with the payee and amount filled in; the payer confirms with the UPI PIN.

Parameters written: `pa` the payee's UPI ID (mandatory), `pn` the payee's name (mandatory), `am`
the amount (two decimals), `cu` the currency (INR only), `tr` the transaction reference (the
request's id: letters, digits, `. _ -`, at most 35), `tn` a note (at most 50), `mc` the merchant
category (4 digits). Values are percent-encoded (a space as %20). Other parameters of the spec
(`mode`, `purpose`, `tid`, `url`, `mam`, ...) are kept when read and ignored.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

from core.money import Money
from payments.paycodes.model import PayCode, Unreadable, amount_text, read_amount

PREFIX = "upi://pay"
NAME_LIMIT = 99
NOTE_LIMIT = 50
REFERENCE_LIMIT = 35
# Matched whole (fullmatch): `$` would let a value end in a newline (%0A)
_VPA = re.compile(r"[A-Za-z0-9.\-_]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}")
_REFERENCE = re.compile(r"[A-Za-z0-9._-]{1,35}")
_MCC = re.compile(r"[0-9]{4}")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def build(
    vpa: str,
    name: str,
    amount: Money | None,
    reference: str = "",
    note: str = "",
    mcc: str = "",
) -> str:
    """A UPI intent URI; ValueError naming the parameter when a value breaks a rule."""
    if not _VPA.fullmatch(vpa):
        raise ValueError("pa: not a UPI ID (name@handle)")
    if not 1 <= len(name) <= NAME_LIMIT or not _PRINTABLE.fullmatch(name):
        raise ValueError(f"pn: the payee name must be 1-{NAME_LIMIT} printable characters")
    if reference and not _REFERENCE.fullmatch(reference):
        raise ValueError("tr: letters, digits and . _ - only, at most 35")
    if len(note) > NOTE_LIMIT or not _PRINTABLE.fullmatch(note):
        raise ValueError(f"tn: the note must be at most {NOTE_LIMIT} printable characters")
    if mcc and not _MCC.fullmatch(mcc):
        raise ValueError("mc: the merchant category is 4 digits")
    params = [("pa", vpa), ("pn", name)]
    if mcc:
        params.append(("mc", mcc))
    if reference:
        params.append(("tr", reference))
    if note:
        params.append(("tn", note))
    if amount is not None:
        params += [("am", amount_text(amount, "INR")), ("cu", "INR")]
    return PREFIX + "?" + "&".join(f"{k}={quote(v, safe='@')}" for k, v in params)


def is_intent(text: str) -> bool:
    """Any `upi:` URI: one that is not `upi://pay` is then refused with a reason."""
    return text[:6].lower() == "upi://"


def parse(text: str) -> PayCode | Unreadable:
    """A UPI intent URI → what it asks; each parameter at most once, each checked."""
    if not _PRINTABLE.fullmatch(text) or " " in text:
        return Unreadable("malformed", "a URI has no spaces or characters beyond ASCII")
    parts = urlsplit(text)
    if (
        parts.scheme.lower() != "upi"
        or parts.netloc.lower() != "pay"
        or parts.path not in ("", "/")
    ):
        return Unreadable("malformed", "not upi://pay")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return Unreadable("malformed", "the parameters are not name=value pairs")
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        return Unreadable("malformed", "a parameter appears twice")
    found = dict(pairs)
    vpa, name = found.get("pa", ""), found.get("pn", "")
    if not _VPA.fullmatch(vpa):
        return Unreadable("invalid", "pa: not a UPI ID")
    if not 1 <= len(name) <= NAME_LIMIT or not _PRINTABLE.fullmatch(name):
        return Unreadable("invalid", "pn: the payee name is missing or too long")
    if found.get("cu", "INR") != "INR":
        return Unreadable("invalid", "cu: UPI takes INR only")
    reference = found.get("tr", "")
    if reference and not _REFERENCE.fullmatch(reference):
        return Unreadable("invalid", "tr: letters, digits and . _ - only, at most 35")
    note = found.get("tn", "")
    if len(note) > NOTE_LIMIT or not _PRINTABLE.fullmatch(note):
        return Unreadable("invalid", f"tn: at most {NOTE_LIMIT} printable characters")
    amount = None
    if "am" in found:
        amount = read_amount(found["am"], "INR")
        if amount is None:
            return Unreadable("invalid", "am: not an amount")
    return PayCode("upi", vpa.lower(), name, amount, reference, editable=amount is None, note=note)

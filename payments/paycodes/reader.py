"""Read whatever a person pasted or scanned: which scheme it is, and what it asks."""

from __future__ import annotations

from payments.paycodes import emv, paynow, pix, upi
from payments.paycodes.model import PayCode, Unreadable

_EMV_START = "000201"


def looks_like_code(text: str) -> bool:
    """Whether a text is meant as a payment code (so a chat treats it as one, and says what is
    wrong with it, instead of "not understood")."""
    text = text.strip()
    return text.startswith(_EMV_START) or upi.is_intent(text)


def read(text: str) -> PayCode | Unreadable:
    text = text.strip()
    if upi.is_intent(text):
        return upi.parse(text)
    if not text.startswith(_EMV_START):
        return Unreadable("not_a_code", "neither upi://pay nor an EMV payload (000201…)")
    top = emv.read(text)
    if isinstance(top, Unreadable):
        return top
    # The first merchant account template naming a scheme read here decides which: the scheme's
    # parser then finds its own template wherever it is (an SGQR carries several schemes).
    for tag, value in top:
        if not emv.is_account(tag):
            continue
        sub = emv.fields(value)
        gui = dict(sub).get("00", "").lower() if not isinstance(sub, Unreadable) else ""
        if gui == pix.GUI:
            return pix.parse(top)
        if gui == paynow.GUI.lower():
            return paynow.parse(top)
    return Unreadable("unsupported", "no Pix or PayNow account template")

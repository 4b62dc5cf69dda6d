"""How a payment method names itself wherever it is listed: its scheme, then its handle ("Pix ·
maria@example.com", "UPI · ravi@okicici", "PayNow · +65 9123 4567"); a card already does
("Visa •••• 4242"). Scheme names are brands, written the same in every language (as card brands
are), so they are data here rather than words of a template. Composed when shown, not stored:
methods added before keep their bare handle in the database and are shown the same way."""

from __future__ import annotations

import phonenumbers

from core.records import Method

SCHEMES = {"upi": "UPI", "pix": "Pix", "paynow": "PayNow"}


def shown_label(method: Method) -> str:
    scheme = SCHEMES.get(method.kind)
    if scheme is None:
        return method.label
    return f"{scheme} · {_readable(method.label)}"


def _readable(handle: str) -> str:
    """A phone handle grouped as people write it (+65 9123 4567); any other handle as it is."""
    if not handle.startswith("+"):
        return handle
    try:
        number = phonenumbers.parse(handle)
    except phonenumbers.NumberParseException:
        return handle
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))

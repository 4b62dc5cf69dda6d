"""Bank-transfer handles: UPI ids (India), Pix keys (Brazil), PayNow proxies (Singapore)."""

from __future__ import annotations

import re

from stdnum.br import cnpj, cpf
from stdnum.sg import uen

from payments.phones import parse_phone

_UPI = re.compile(r"^[A-Za-z0-9.\-_]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")
_RANDOM_KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)
# UPI handles of the configured banks, so a UPI id lands in the right simulated bank.
UPI_BANKS = {
    "oksbi": "State Bank of India",
    "okhdfc": "HDFC Bank",
    "okhdfcbank": "HDFC Bank",
    "okicici": "ICICI Bank",
    "okaxis": "Axis Bank",
    "kotak": "Kotak Mahindra Bank",
}


def _phone_in(text: str, region: str) -> str | None:
    parsed = parse_phone(text, region)
    return parsed[0] if parsed is not None and parsed[1] == region else None


def normalise_upi(text: str) -> str | None:
    text = text.strip()
    return text.lower() if _UPI.match(text) else None


def normalise_pix(text: str) -> str | None:
    """A Pix key: CPF, CNPJ, e-mail, phone (+55) or random key (EVP)."""
    text = text.strip()
    digits = re.sub(r"\D", "", text)
    if len(set(digits)) == 1:  # 111.111.111-11 passes the checksum but is never issued
        return None
    if cpf.is_valid(text):
        return str(cpf.format(text))
    if cnpj.is_valid(text):
        return str(cnpj.format(text))
    if _EMAIL.match(text):
        return text.lower()
    if _RANDOM_KEY.match(text):
        return text.lower()
    if text.startswith("+") or len(re.sub(r"\D", "", text)) >= 10:
        return _phone_in(text, "BR")
    return None


def normalise_paynow(text: str) -> str | None:
    """A PayNow proxy: a Singapore mobile number or a UEN."""
    text = text.strip()
    if uen.is_valid(text):
        return str(uen.compact(text))
    return _phone_in(text, "SG")


def bank_for_upi(upi: str, banks: tuple[str, ...]) -> str:
    return UPI_BANKS.get(upi.rsplit("@", 1)[-1].lower(), banks[0])

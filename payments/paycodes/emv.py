"""EMV® QRCPS merchant-presented payloads: TLV fields and the CRC that closes them.

The frame shared by Pix's BR Code and Singapore's SGQR (PayNow): fields written as a 2-digit
id, a 2-digit length and the value (`5802BR`), some of them templates holding fields of their
own; field 00 (payload format "01") first, field 63 (the CRC) last. The CRC is CRC-16/CCITT-FALSE
(polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR) over the whole payload up
to and including "6304", written as 4 upper-case hex digits.

Values are limited to printable ASCII (0x20-0x7E): EMV's "ans" set, and the only one every bank
app reads alike (a length counts characters, which UTF-8 would make bytes disagree with).
"""

from __future__ import annotations

import binascii
import re

from payments.paycodes.model import Unreadable

CRC_TAG = "63"
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_TAG = re.compile(r"^\d{2}$")


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first, no final XOR. binascii's
    crc_hqx is this CRC (XMODEM's, from any start value), in C: a bit-by-bit loop in Python
    took ~120 µs a code."""
    return binascii.crc_hqx(data, 0xFFFF)


def checksum(body: str) -> str:
    """The 4 hex digits of field 63 for `body`, which ends with "6304"."""
    return f"{crc16(body.encode('ascii')):04X}"


def field(tag: str, value: str) -> str:
    """One TLV field. ValueError when the id, the length (1-99) or a character breaks the rules:
    a builder's input is checked before it is written, never cut silently."""
    if not _TAG.match(tag):
        raise ValueError(f"field id {tag!r} is not two digits")
    if not 1 <= len(value) <= 99:
        raise ValueError(f"field {tag}: length {len(value)} is outside 1-99")
    if not _PRINTABLE.match(value):
        raise ValueError(f"field {tag}: only printable ASCII characters may be used")
    return f"{tag}{len(value):02d}{value}"


def template(tag: str, fields: list[tuple[str, str]]) -> str:
    return field(tag, "".join(field(t, v) for t, v in fields))


def close(body: str) -> str:
    """`body` (every field but the CRC) with field 63 appended."""
    head = body + CRC_TAG + "04"
    return head + checksum(head)


def fields(text: str) -> list[tuple[str, str]] | Unreadable:
    """The TLV fields of `text` (one level), in order; `Unreadable` when they do not tile it."""
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        head = text[at : at + 4]
        if len(head) < 4 or not head.isdigit():
            return Unreadable("malformed", f"no field header at {at}")
        length = int(head[2:])
        value = text[at + 4 : at + 4 + length]
        if length == 0 or len(value) != length:
            return Unreadable("malformed", f"field {head[:2]} runs past the end")
        found.append((head[:2], value))
        at += 4 + length
    return found


def is_account(tag: str) -> bool:
    """Whether `tag` is a merchant account information template: EMVCo leaves ids 26-51 to
    payment schemes, each template naming its scheme by the GUI in its 00, at whichever id the
    code's maker chose (a consolidated SGQR carries several schemes, PayNow not always at 26)."""
    return "26" <= tag <= "51"


def account(top: list[tuple[str, str]], gui: str) -> tuple[str, dict[str, str]] | Unreadable:
    """The id and fields of the merchant account template (26-51) whose 00 is `gui`, compared
    without case. `Unreadable`: "unsupported" when no template carries it, "invalid" when two
    carry it with different fields (which account would be paid?), "malformed" when a template
    is not TLV (the CRC was right, so the code was made broken)."""
    found: list[tuple[str, dict[str, str]]] = []
    for tag, value in top:
        if not is_account(tag):
            continue
        inner = fields(value)
        if isinstance(inner, Unreadable):
            return Unreadable("malformed", f"{tag}: {inner.detail}")
        if dict(inner).get("00", "").lower() == gui.lower():
            found.append((tag, dict(inner)))
    if not found:
        return Unreadable("unsupported", f"no template in 26-51 carries {gui}")
    tag, first = found[0]
    for other, sub in found[1:]:
        if {**sub, "00": gui} != {**first, "00": gui}:  # the GUI's case is not a difference
            return Unreadable("invalid", f"{tag} and {other} both carry {gui} but differ")
    return tag, first


def read(payload: str) -> list[tuple[str, str]] | Unreadable:
    """The top-level fields of a whole payload, its frame and CRC checked: format indicator
    first, the CRC field last, and the CRC right."""
    if not _PRINTABLE.match(payload):
        return Unreadable("malformed", "characters outside printable ASCII")
    found = fields(payload)
    if isinstance(found, Unreadable):
        return found
    if not found or found[0] != ("00", "01"):
        return Unreadable("malformed", "field 00 (payload format 01) is not first")
    tag, value = found[-1]
    if tag != CRC_TAG or len(value) != 4 or not payload.endswith(value):
        return Unreadable("malformed", "field 63 (CRC) is not last")
    if checksum(payload[:-4]) != value.upper():
        return Unreadable("bad_crc", f"CRC {value} is not {checksum(payload[:-4])}")
    tags = [t for t, _ in found]
    if len(set(tags)) != len(tags):
        return Unreadable("malformed", "a field appears twice")
    return found

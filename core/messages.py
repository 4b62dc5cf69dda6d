"""What crosses the engine's boundary: `Inbound` events in, `Outbound` actions out.

Both are frozen values, transport-neutral. Every outbound carries the **message key** of the
template that produced it and every button a stable **id**, so tests and scenarios can assert on
keys and ids and survive a reworded or translated template. An inbound says what the person's
app can do (`can_biometric`), never which transport it came by: no flow knows that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

InboundKind = Literal[
    "text", "command", "tap", "contact", "link", "pin", "biometric", "code", "job"
]
OutboundKind = Literal["send", "photo", "edit", "delete", "toast", "sms"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One event from a person (or a due job). `key` is the transport's idempotency key."""

    key: str
    user: str
    kind: InboundKind
    # Set by the transport: the app can ask for a fingerprint or face (the simulator can;
    # Telegram cannot). A job or an unknown app cannot.
    can_biometric: bool = False
    # Set by the transport: the sender's own phone number when the platform knows it (the
    # simulator, like WhatsApp, knows each party's number; Telegram tells it only through the
    # person's own shared contact). A typed number is proven only when it equals this.
    known_phone: str = ""
    # What a person typed may be a PIN, a card number or a code: never in a repr (aiosqlite
    # logs the repr of the work it runs at DEBUG level).
    # (`code`: a payment code the person's bank app scanned or they pasted, in `text`.)
    text: str = field(default="", repr=False)
    button: str = ""
    message: str = ""  # logical id of the message a button was tapped on
    phone: str = ""  # shared contact
    contact_is_own: bool = True
    language: str = ""
    name: str = ""  # the display name the transport knows (Telegram's first name)
    platform_id: str = ""  # the platform's id of the person's message, so it can be deleted
    # (salt, hash) of what was typed if it may be a PIN, computed off the writer thread.
    pin_proof: tuple[bytes, bytes] | None = field(default=None, repr=False, compare=False)
    job: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One thing for a transport to do. `ref` is the logical message id: for `send`, the id the
    message gets; for `edit` and `delete`, the message to change (`delete` with a ref of the form
    `in:<inbound key>` removes the person's own message, e.g. a typed PIN or card number).
    A `photo` is a message whose picture is the QR symbol of `qr` (a payment code) and whose
    caption is `text`; each transport draws the symbol its own way (a PNG, terminal blocks).
    """

    kind: OutboundKind
    to: str
    key: str
    text: str = field(default="", repr=False)  # an SMS holds a one-time code
    buttons: tuple[tuple[Button, ...], ...] = ()
    ref: str = ""
    ask_contact: str = ""  # the label of a share-my-contact button, when the phone is asked
    pin_pad: bool = False
    phone: str = ""  # for `sms`: the phone number whose inbox receives it
    qr: str = ""  # for `photo`: the text its QR symbol encodes
    seq: int = 0  # the outbox row, set once committed

    def numbered(self, seq: int) -> Outbound:
        """This action as outbox row `seq`. By keyword, beside the fields, so a new field is
        neither shifted nor forgotten (tests/test_messages.py); not `dataclasses.replace`, which
        costs twice as much, and this runs for every reply of every event (measured: 1.4 µs by
        keyword, 1.1 µs by position, 2.7 µs by replace)."""
        return Outbound(
            kind=self.kind,
            to=self.to,
            key=self.key,
            text=self.text,
            buttons=self.buttons,
            ref=self.ref,
            ask_contact=self.ask_contact,
            pin_pad=self.pin_pad,
            phone=self.phone,
            qr=self.qr,
            seq=seq,
        )

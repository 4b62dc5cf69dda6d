"""What a simulated party has and sees: its chat, its SMS inbox, and the log of everything that
reached it (which the scenario runner matches and observers are told of)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from core.messages import Button

Channel = Literal["chat", "sms"]


@dataclass
class ChatMessage:
    ref: str
    text: str
    from_bot: bool
    key: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    edited: bool = False
    deleted: bool = False
    past_buttons: tuple[tuple[Button, ...], ...] = ()  # what an old client could still tap
    qr: str = ""  # a photo's QR symbol encodes this (a payment code); `text` is its caption
    # What a phone shows beside the message (the web page): the engine asks for the PIN on a
    # keypad, or for the person's contact with a button labelled so; when it was received.
    pin_pad: bool = False
    ask_contact: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class SeenEvent:
    """One thing a party saw: a message, an edit, a deletion, a toast, or an SMS."""

    party: str
    channel: Channel
    kind: str
    key: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    ref: str = ""
    qr: str = ""  # a photo's QR symbol encodes this
    at: datetime | None = None  # the virtual time it was seen (the web page shows it)


@dataclass
class Party:
    name: str
    display_name: str
    language: str = "en"
    phone: str = ""
    chat: list[ChatMessage] = field(default_factory=list)
    sms: list[str] = field(default_factory=list)

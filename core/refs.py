"""Typed refs: what a message or a button points at, packed into the short strings that travel as
a message's logical id or a button's callback data, and unpacked again on the way back in.

Model: aiogram's `CallbackData` (`prefix=`, `pack()`, `unpack()`). Each ref is a small frozen
class with a prefix and string fields; `pack()` joins them with `:`; `unpack()` returns the ref
or None when the text is not one of its kind, so the router matches on types, not on
`startswith("rq:")` spread over many files. The last field takes the rest of the text, so an
inbound key that holds `:` itself (`tg:42`) survives a round trip. Packed forms are public: a
scenario may tap `menu:link` by its id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Self

CALLBACK_DATA_BYTES = 64  # Telegram's limit for a button's data


@dataclass(frozen=True, slots=True)
class Ref:
    prefix: ClassVar[str]

    def pack(self) -> str:
        values = [getattr(self, name) for name in _shape(type(self))[0]]
        while values and values[-1] == "":  # optional trailing fields stay off the wire
            values.pop()
        return ":".join([self.prefix, *values])

    @classmethod
    def unpack(cls, text: str) -> Self | None:
        head, sep, rest = text.partition(":")
        if head != cls.prefix or not sep or not rest:
            return None
        names, required = _shape(cls)
        values = rest.split(":", len(names) - 1)
        if len(values) < required or any(v == "" for v in values[:required]):
            return None
        return cls(*values)


_SHAPES: dict[type, tuple[tuple[str, ...], int]] = {}


def _shape(cls: type[Ref]) -> tuple[tuple[str, ...], int]:
    """A ref class's field names, and how many come first without a default: read once per
    class (every message and button packs or unpacks a ref; `dataclasses.fields` walks the
    class's fields each time)."""
    known = _SHAPES.get(cls)
    if known is not None:
        return known
    fields = dataclasses.fields(cls)
    required = sum(
        1
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    shape = _SHAPES[cls] = tuple(f.name for f in fields), required
    return shape


@dataclass(frozen=True, slots=True)
class ButtonRef(Ref):
    """A ref carried by a button: it must fit a Telegram button's callback data."""

    def pack(self) -> str:
        packed = Ref.pack(self)
        if len(packed.encode()) > CALLBACK_DATA_BYTES:
            raise ValueError(f"{type(self).__name__} packs to more than 64 bytes")
        return packed


@dataclass(frozen=True, slots=True)
class RequestMessage(Ref):
    """The customer's copy of a payment request (Pay / Decline), or a link opened by someone."""

    prefix: ClassVar[str] = "rq"
    request: str


@dataclass(frozen=True, slots=True)
class RequestOwnerMessage(Ref):
    """The business's own message about a request or link it made (Cancel)."""

    prefix: ClassVar[str] = "rqb"
    request: str


@dataclass(frozen=True, slots=True)
class PinPrompt(Ref):
    """The PIN prompt of one payment: a PIN entered on it authorises that request, never the one
    being paid now if that is another."""

    prefix: ClassVar[str] = "pp"
    request: str
    event: str = ""  # the event that asked, so each prompt is a message of its own


@dataclass(frozen=True, slots=True)
class InboundMessage(Ref):
    """A person's own message, by the key of the event that carried it (so it can be deleted)."""

    prefix: ClassVar[str] = "in"
    key: str


@dataclass(frozen=True, slots=True)
class MethodButton(ButtonRef):
    """A payment method. While paying it names the request too, so a tap on an old list acts on
    the payment that list was for, never on whatever is being paid now."""

    prefix: ClassVar[str] = "m"
    method: str
    request: str = ""


@dataclass(frozen=True, slots=True)
class MenuButton(ButtonRef):
    """A menu entry that starts something (`menu:request`, `menu:pin`)."""

    prefix: ClassVar[str] = "menu"
    item: str


@dataclass(frozen=True, slots=True)
class LanguageButton(ButtonRef):
    """One language of `/language` (`lang:pt_BR`)."""

    prefix: ClassVar[str] = "lang"
    locale: str


@dataclass(frozen=True, slots=True)
class PickButton(ButtonRef):
    """One entry of a list the flow showed (a bank, an account, a wallet), by its place in it."""

    index: str

    @classmethod
    def at(cls, position: int) -> Self:
        return cls(str(position))

    @property
    def position(self) -> int | None:
        return int(self.index) if self.index.isdigit() else None


@dataclass(frozen=True, slots=True)
class BankButton(PickButton):
    prefix: ClassVar[str] = "bank"


@dataclass(frozen=True, slots=True)
class AccountButton(PickButton):
    prefix: ClassVar[str] = "acct"


@dataclass(frozen=True, slots=True)
class WalletButton(PickButton):
    prefix: ClassVar[str] = "w"


@dataclass(frozen=True, slots=True)
class HistoryPage(ButtonRef):
    """The next page of `/history` (pages count from 1)."""

    prefix: ClassVar[str] = "hist"
    page: str

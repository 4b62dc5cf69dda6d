"""Chats side by side in the terminal (rich), as each party would see them."""

from __future__ import annotations

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from sim.scenarios.report import mask
from sim.simulator import Party


def chat_panel(
    party: Party, width: int = 46, last: int | None = None, secrets: bool = False
) -> Panel:
    """One party's chat. SMS codes are masked unless `secrets` (the interactive simulator, where
    a person reads the code to type it)."""
    items: list[RenderableType] = []
    messages = party.chat if last is None else party.chat[-last:]
    for message in messages:
        if message.from_bot:
            if message.qr:  # a photo: its QR symbol is printed as it arrives, too wide here
                items.append(Text("▣ QR code", style="bold magenta"))
            body = Text(message.text, style="dim strike" if message.deleted else "")
            if message.edited:
                body.append("  (edited)", style="italic dim")
            items.append(body)
            for row in message.buttons:
                items.append(Text("  ".join(f"[{b.label}]" for b in row), style="bold cyan"))
        else:
            items.append(Text(message.text, style="green", justify="right"))
        items.append(Text(""))
    for sms in party.sms:
        items.append(
            Text(f"SMS inbox: {sms if secrets else mask(sms, sms=True)}", style="magenta")
        )
    title = f"{party.display_name} ({party.name}) {party.phone}".strip()
    return Panel(Group(*items), title=title, width=width, border_style="blue")


def side_by_side(parties: list[Party], width: int = 46) -> Columns:
    return Columns([chat_panel(p, width) for p in parties], equal=True)

"""Failure reports and transcripts, with every secret masked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from payments.cards import card_spans
from sim.simulator import SeenEvent, Simulator

# A code-like number: not part of a longer number, nor of an amount such as 1,250.00.
_CODE = re.compile(r"(?<![\d.,])(?<!\d[.,])\d{4,8}(?!\d|[.,]\d)")


def mask(text: str, sms: bool = False) -> str:
    """Card numbers always, and in an SMS every code-like number."""
    for start, end in reversed(card_spans(text)):
        text = text[:start] + "•••• (card number)" + text[end:]
    return _CODE.sub("••••••", text) if sms else text


def event_line(event: SeenEvent) -> str:
    where = f"{event.party}{'.sms' if event.channel == 'sms' else ''}"
    buttons = " ".join(f"[{b.id}]" for row in event.buttons for b in row)
    text = mask(" ".join(event.text.split()), event.channel == "sms")
    return (
        f"  {where:<14} {event.kind:<6} {event.key:<28} {text}{'  ' + buttons if buttons else ''}"
    )


def lines_of(transcript: Sequence[str | SeenEvent]) -> list[str]:
    """A transcript as text: its own lines as they are, each event seen as `event_line` shows
    it (masked). The runner keeps events unformatted until someone reads them."""
    return [line if isinstance(line, str) else event_line(line) for line in transcript]


def recent(sim: Simulator, last: int = 5) -> str:
    lines = []
    for party in sim.parties.values():
        lines.append(f"  {party.name} ({party.display_name}):")
        for message in party.chat[-last:]:
            who = "bot" if message.from_bot else "them"
            text = mask(" ".join(message.text.split()))
            lines.append(f"    {who:>4}: {text}{' (deleted)' if message.deleted else ''}")
    return "\n".join(lines)


def write_transcript(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
    path = folder / f"{safe}.txt"
    path.write_text("\n".join(mask(line) for line in lines) + "\n", encoding="utf-8")
    return path

"""The showcase story played in the pseudo-locale en_XA: every message, button, toast and SMS any
party sees is accented and bracketed, so nothing on the whole path is hard-coded English."""

from __future__ import annotations

import re

from core.settings import Settings
from sim.simulator import Simulator
from tests.conftest import onboard

PLAIN = re.compile(r"\b[A-Za-z][a-z]{3,}\b")
# What is data, not words: names, banks, the card and UPI labels, links, payment codes, commands.
DATA = re.compile(
    r"(?:https?|upi)://\S+|/[a-z]+|[A-Z]{2}-\w+|Chai Point|Asha|HDFC Bank|masala chai"
    r"|India|Visa|Mastercard"  # Babel's names of the country and the card brands
)


def _plain_english(text: str) -> set[str]:
    return set(PLAIN.findall(DATA.sub("", text)))


async def _play(sim: Simulator, party: str, *lines: str) -> None:
    """What `party` does, in order: `@id` taps a button, `=label` and `~part` by its label,
    `#1234` enters a PIN, anything else is typed."""
    for line in lines:
        head, rest = line[:1], line[1:]
        if head == "@":
            await sim.tap(party, rest)
        elif head == "=":
            await sim.tap(party, label=rest)
        elif head == "~":
            await sim.tap(party, label_contains=rest)
        elif head == "#":
            await sim.pin(party, rest)
        else:
            await sim.text(party, line)


async def test_the_showcase_reads_entirely_in_the_pseudo_locale(
    sim: Simulator, settings: Settings
) -> None:
    banks = set(settings.markets["IN"].banks)
    await onboard(sim, "shop", "business", "+919876543210", "Chai Point", language="en_XA")
    await _play(sim, "shop", "/settings", "@payments", "@add_method", "@accept", "=HDFC Bank")
    await _play(sim, "shop", re.findall(r"\d{6}", sim.parties["shop"].sms[-1])[0])
    await _play(sim, "shop", "~••••", "@confirm")
    await onboard(sim, "asha", "customer", "+919812345678", "Asha", language="en_XA")
    await _play(sim, "asha", "/pin", "#2580", "#2580", "/methods", "@add", "@card")
    await _play(sim, "asha", "4242 4242 4242 4242 12/30")
    await _play(sim, "shop", "/request", "+91 98123 45678", "250", "2 masala chai")
    await _play(sim, "asha", "@pay", "~4242", "#2580")
    await _play(sim, "shop", "/history")

    keys = [e.key for e in sim.events]
    assert {"pay.succeeded", "pay.received"} <= set(keys), keys
    seen = 0
    for event in sim.events:
        if event.kind == "delete":
            continue
        labels = [b.label for row in event.buttons for b in row]
        # A bank's name and a method's label (Visa •••• 4242) are data, not words.
        texts = [event.text] + [x for x in labels if x not in banks and "••••" not in x]
        for text in texts:
            seen += 1
            assert re.search(r"\[.*\]", text, re.S), f"{event.key}: not bracketed: {text!r}"
            assert not _plain_english(text), f"{event.key}: plain English in {text!r}"
    for sms in sim.parties["shop"].sms:
        assert sms.startswith("["), sms
        assert not _plain_english(sms), sms
    assert seen > 40

"""The showcase story played in the pseudo-locale en_XA: every message, button, toast and SMS any
party sees is accented and bracketed, so nothing on the whole path is hard-coded English."""

from __future__ import annotations

import re

from core.settings import Settings
from sim.simulator import Simulator
from tests.conftest import onboard

PLAIN = re.compile(r"\b[a-z]{4,}\b")
# What is data, not words: names, banks, the card and UPI labels, links, commands.
DATA = re.compile(
    r"https?://\S+|/[a-z]+|Chai Point|Asha|HDFC Bank|masala chai|ravi@oksbi|[A-Z]{2}-\w+"
)


def _plain_english(text: str) -> set[str]:
    return set(PLAIN.findall(DATA.sub("", text)))


async def test_the_showcase_reads_entirely_in_the_pseudo_locale(
    sim: Simulator, settings: Settings
) -> None:
    banks = set(settings.markets["IN"].banks)
    await onboard(sim, "shop", "business", "+919876543210", "Chai Point", language="en_XA")
    await sim.text("shop", "/settings")
    await sim.tap("shop", "payments")
    await sim.tap("shop", "add_method")
    await sim.tap("shop", "accept")
    await sim.tap("shop", label="HDFC Bank")
    code = re.findall(r"\d{6}", sim.parties["shop"].sms[-1])[0]
    await sim.text("shop", code)
    await sim.tap("shop", label_contains="••••")
    await sim.tap("shop", "confirm")
    await onboard(sim, "asha", "customer", "+919812345678", "Asha", language="en_XA")
    await sim.text("asha", "/pin")
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2580")
    await sim.text("asha", "/methods")
    await sim.tap("asha", "add")
    await sim.tap("asha", "card")
    await sim.text("asha", "4242 4242 4242 4242 12/30")
    await sim.text("shop", "/request")
    await sim.text("shop", "+91 98123 45678")
    await sim.text("shop", "250")
    await sim.text("shop", "2 masala chai")
    await sim.tap("asha", "pay")
    await sim.tap("asha", label_contains="4242")
    await sim.pin("asha", "2580")
    await sim.text("shop", "/history")

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

"""`make demo`: the showcase conversation, offline, on an embedded SQLite file.

A tea shop in India sets up payments with the wizard, asks Asha for money, Asha pays by card with
her PIN, both get confirmations; then the shop shares a payment link that Ravi pays by UPI. A
Spanish number is refused along the way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.app import simulator
from bot.config import Settings
from bot.transports.simulator import Simulator
from bot.view import side_by_side

START = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


async def onboard(sim: Simulator, name: str, role: str) -> None:
    await sim.text(name, "/start")
    await sim.tap(name, role)
    await sim.share_contact(name)


async def play(sim: Simulator) -> None:
    sim.add_party("shop", "Chai Point", phone="+91 98765 43210")
    sim.add_party("asha", "Asha", phone="+91 98123 45678")
    sim.add_party("ravi", "Ravi", phone="+91 99887 76655")
    sim.add_party("carlos", "Carlos", phone="+34 612 345 678")

    await onboard(sim, "shop", "business")
    await sim.text("shop", "Chai Point")
    await onboard(sim, "carlos", "customer")  # Spain: refused, with the supported countries

    # The setup wizard: Settings → Payments → Add payment method → terms → bank → SMS → account.
    await sim.text("shop", "/settings")
    await sim.tap("shop", "payments")
    await sim.tap("shop", "add_method")
    await sim.tap("shop", "accept")
    await sim.tap("shop", label="HDFC Bank")
    code = _code(sim.parties["shop"].sms[-1])
    await sim.text("shop", code)
    await sim.tap("shop", label_contains="••••")
    await sim.tap("shop", "confirm")

    # Asha: an account, a PIN and a card.
    await onboard(sim, "asha", "customer")
    await sim.text("asha", "/pin")
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2580")
    await sim.text("asha", "/methods")
    await sim.tap("asha", "add")
    await sim.tap("asha", "card")
    await sim.text("asha", "4242 4242 4242 4242 12/30")

    # A payment request, paid by card with the PIN.
    await sim.text("shop", "/request")
    await sim.text("shop", "+91 98123 45678")
    await sim.text("shop", "250")
    await sim.text("shop", "2 masala chai")
    await sim.tap("asha", "pay")
    await sim.tap("asha", label_contains="4242")
    await sim.pin("asha", "2580")

    # A payment link, paid by Ravi with UPI.
    await onboard(sim, "ravi", "customer")
    await sim.text("ravi", "/pin")
    await sim.pin("ravi", "1470")
    await sim.pin("ravi", "1470")
    await sim.text("ravi", "/methods")
    await sim.tap("ravi", "add")
    await sim.tap("ravi", "upi")
    await sim.text("ravi", "ravi@oksbi")
    await sim.text("shop", "/link")
    await sim.text("shop", "499")
    await sim.text("shop", "Tea tasting box")
    link = _link(sim.parties["shop"].chat[-1].text)
    await sim.open_link("ravi", link)
    await sim.tap("ravi", "pay")
    await sim.tap("ravi", label="ravi@oksbi")
    await sim.pin("ravi", "1470")
    await sim.text("shop", "/history")


def _code(sms: str) -> str:
    found = re.search(r"\b(\d{6})\b", sms)
    if found is None:
        raise RuntimeError("the demo expected an SMS code")
    return found[1]


def _link(text: str) -> str:
    found = re.search(r"https://\S+", text)
    if found is None:
        raise RuntimeError("the demo expected a payment link")
    return found[0]


async def run_demo(settings: Settings, db_path: Path, console: Console) -> None:
    for leftover in (db_path, db_path.with_suffix(".key")):
        leftover.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    async with simulator(settings, str(db_path), START) as sim:
        await play(sim)
        parties = sim.parties
        console.rule(f"PayChat demo: offline, on {db_path}")
        console.print(
            "The business sets up payments and gets paid by card (PIN) and by a link (UPI):",
            style="bold",
        )
        console.print(side_by_side([parties["shop"], parties["asha"]], width=58))
        console.print(side_by_side([parties["ravi"], parties["carlos"]], width=58))
        balances = await sim.engine.store.run(lambda tx: tx.ledger_sums())
        console.print(
            f"Ledger balanced: {all(v == 0 for v in balances.values())}  "
            f"(every payment posts balanced entries)",
            style="bold green",
        )

"""`make demo`: the showcase conversation, offline, on an embedded SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.app import simulator
from bot.config import Settings
from bot.transports.simulator import Simulator
from bot.view import side_by_side

START = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


async def play(sim: Simulator) -> None:
    sim.add_party("shop", "Chai Point", phone="+91 98765 43210")
    sim.add_party("asha", "Asha", phone="+91 98123 45678")
    sim.add_party("carlos", "Carlos", phone="+34 612 345 678")
    for name, role in (("shop", "business"), ("asha", "customer"), ("carlos", "customer")):
        await sim.text(name, "/start")
        await sim.tap(name, role)
        await sim.share_contact(name)
    await sim.text("shop", "Chai Point")


async def run_demo(settings: Settings, db_path: Path, console: Console) -> None:
    for leftover in (db_path, db_path.with_suffix(".key")):
        leftover.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    async with simulator(settings, str(db_path), START) as sim:
        await play(sim)
        console.rule("PayChat demo: offline, on " + str(db_path))
        console.print(side_by_side([sim.parties["shop"], sim.parties["asha"]]))
        console.print(side_by_side([sim.parties["carlos"]]))

"""`make demo`: the showcase scenario, played offline on an embedded SQLite file.

`tests/scenarios/showcase/whole_story.convo.yaml` is the script (a tester can read it, change it
and run it with `paychat test`): a tea shop in India joins and sets up payments with the wizard,
Asha pays a request by card with her PIN, Ravi pays a payment link by UPI, and a Spanish number
is refused. Every party's chat is printed side by side.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from core.settings import Settings
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case
from sim.scenarios.world import World
from sim.view import side_by_side
from storage.sqlite import remove_database

SHOWCASE = (
    Path(__file__).resolve().parent.parent / "tests/scenarios/showcase/whole_story.convo.yaml"
)


async def run_demo(
    settings: Settings, db_path: Path, console: Console, script: Path = SHOWCASE
) -> int:
    remove_database(str(db_path))  # the store creates it again, and its folder if missing

    async def show(world: World) -> None:
        parties = world.sim.parties
        console.rule(f"PayChat demo: {script.name}, offline, on {db_path}")
        console.print(
            "A tea shop sets up payments, then is paid by card (with a PIN) and by a "
            "payment link (UPI):",
            style="bold",
        )
        console.print(side_by_side([parties["shop"], parties["asha"]], width=58))
        console.print(side_by_side([parties["ravi"], parties["carlos"]], width=58))
        sums = await world.store.run(lambda tx: tx.ledger_sums())
        console.print(
            f"Ledger balanced: {all(v == 0 for v in sums.values())} (every payment "
            "posts balanced double-entry rows)",
            style="bold green",
        )

    result = await run_case(cases(script)[0], settings, db=str(db_path), after=show)
    if not result.passed:
        console.print(result.report, markup=False, highlight=False)
        return 1
    return 0

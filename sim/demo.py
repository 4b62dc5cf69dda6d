"""`make demo`: the showcase scenario, played offline on an embedded SQLite file.

`tests/scenarios/showcase/whole_story.convo.yaml` is the script (a tester can read it, change it
and run it with `paychat test`): a tea shop in India joins and sets up payments with the wizard,
Asha pays a request by card with her PIN, Ravi pays a payment link by UPI, and a Spanish number
is refused. Every party's chat is printed side by side. `paychat demo --lang pt_BR` (or `hi`,
`bn`) plays the same story in that language (`tests/scenarios/languages/showcase_*.convo.yaml`:
a Brazilian bakery paid by Pix, or the tea shop in Hindi or Bengali).
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

_SCENARIOS = Path(__file__).resolve().parent.parent / "tests/scenarios"
SHOWCASE = _SCENARIOS / "showcase/whole_story.convo.yaml"
SHOWCASES = {
    "en": SHOWCASE,
    "pt_BR": _SCENARIOS / "languages/showcase_pt_br.convo.yaml",
    "hi": _SCENARIOS / "languages/showcase_hi.convo.yaml",
    "bn": _SCENARIOS / "languages/showcase_bn.convo.yaml",
}


async def run_demo(
    settings: Settings, db_path: Path, console: Console, script: Path = SHOWCASE
) -> int:
    remove_database(str(db_path))  # the store creates it again, and its folder if missing

    async def show(world: World) -> None:
        parties = world.sim.parties
        console.rule(f"PayChat demo: {script.name}, offline, on {db_path}")
        console.print(cases(script)[0].name, style="bold")
        everyone = list(parties.values())
        for pair in range(0, len(everyone), 2):
            console.print(side_by_side(everyone[pair : pair + 2], width=58))
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

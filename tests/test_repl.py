"""`paychat chat` by hand: the REPL's own line handler onboards a business and a customer."""

from __future__ import annotations

import io

from rich.console import Console

from bot.repl import Repl, parse_duration
from bot.transports.simulator import Simulator


async def test_a_person_onboards_two_parties_in_the_simulator(sim: Simulator) -> None:
    out = io.StringIO()
    repl = Repl(sim, Console(file=out, width=120))
    for line in (
        ":new shop +919876543210 Chai Point",
        "/start",
        ":tap 1",
        ":contact",
        "Chai Point",
        ":new asha +919812345678 Asha",
        "/start",
        ":tap customer",
        ":contact +919876543210",
        ":contact",
        ":all",
        ":advance 1h",
        ":sms",
        ":tap 9",
        ":nonsense",
    ):
        await repl.line(line)
    shown = out.getvalue()
    assert "All set, Chai Point!" in shown
    assert "someone else's" in shown
    assert "All set, Asha!" in shown
    assert "pick 1 to" in shown  # a bad button number is explained, not a crash
    assert await sim.engine.store.run(lambda tx: tx.user("asha")) is not None


def test_durations_are_read_like_the_scenarios() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2d").days == 2

"""`paychat chat` by hand: the REPL's own line handler onboards a business and a customer."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sim.repl import Repl, parse_duration
from sim.scenarios.world import World
from sim.simulator import Simulator


async def test_a_person_onboards_two_parties_in_the_simulator(world: World) -> None:
    out = io.StringIO()
    repl = Repl(world.sim, Console(file=out, width=120))
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
    assert await world.store.run(lambda tx: tx.user("asha")) is not None


def test_durations_are_read_like_the_scenarios() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2d").days == 2
    assert parse_duration("23h59m").total_seconds() == 23 * 3600 + 59 * 60
    assert parse_duration("1h30m").total_seconds() == 5400
    for wrong in ("", "soon", "30m1h", "1.5h", "h"):
        with pytest.raises(ValueError, match="1h30m"):
            parse_duration(wrong)


async def test_every_command_written_wrong_is_explained_and_the_repl_goes_on(
    sim: Simulator,
) -> None:
    out = io.StringIO()
    repl = Repl(sim, Console(file=out, width=120))
    lines = (":tap 1", ":pin", ":as", ":as nobody", ":sms nobody", ":show", ":link", ":bio")
    for line in (*lines, ":advance", ":new x", ':new "unclosed'):
        await repl.line(line)  # none of them may raise
    shown = out.getvalue()
    assert shown.count("Add or pick a party first") == 2  # :tap 1 and :show
    for usage in (":pin 2580", ":as NAME", ":link URL", ":bio approve|refuse", ":advance 1h"):
        assert f"write it as {usage}" in shown
    assert shown.count("no party 'nobody'") == 2
    assert "write it as :new NAME PHONE" in shown
    assert "No closing quotation" in shown
    await repl.line(":new asha +919812345678 Asha")
    await repl.line(":pin")
    assert shown.count(":pin 2580") < out.getvalue().count(":pin 2580")

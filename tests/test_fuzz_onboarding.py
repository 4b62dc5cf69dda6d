"""Junk text, numbers and contacts in every onboarding state: always a template, never a crash."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from sim.app import simulator
from sim.simulator import TapError
from tests.conftest import START

junk = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\+?[0-9 ()-]{0,18}", fullmatch=True),
    st.sampled_from(["/start", "/help", "/cancel", "/request", "/nonsense", "+34 612 345 678"]),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), junk),
        st.tuples(st.just("contact"), junk),
        st.tuples(st.just("tap"), st.sampled_from(["business", "customer", "menu:request"])),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=actions, prefix=st.integers(min_value=0, max_value=3))
def test_every_onboarding_state_answers_junk_with_a_template(
    settings: Settings, steps: list[tuple[str, str]], prefix: int
) -> None:
    asyncio.run(_drive(settings, steps, prefix))


async def _drive(settings: Settings, steps: list[tuple[str, str]], prefix: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with simulator(settings, str(Path(tmp) / "f.db"), START) as sim:
            sim.add_party("x", phone="+91 98123 45678")
            script = [("text", "/start"), ("tap", "customer")][:prefix]
            for kind, value in [*script, *steps]:
                before = len(sim.events)
                if kind == "text":
                    await sim.text("x", value)
                elif kind == "contact":
                    await sim.share_contact("x", value)
                else:
                    try:
                        await sim.tap("x", value)
                    except TapError:
                        continue
                new = sim.events[before:]
                assert new, f"no answer to {kind} {value!r}"
                assert all(e.key != "error.internal" for e in new)

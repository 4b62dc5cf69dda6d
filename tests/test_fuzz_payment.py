"""Random sequences of taps, texts, PINs, double taps and clock jumps through a payment.

After every step: the ledger balances, no balance is negative, no request has two successful
payments, no event crashed (error.internal), and `/cancel` always leads back to the menu."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from sim.scenarios.loader import Node
from sim.scenarios.probes import check_invariant
from sim.scenarios.world import open_world, seed
from sim.simulator import Simulator, TapError
from tests.conftest import START

PARTIES = {
    "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"},
    "asha": {"role": "customer", "phone": "+91 98123 45678", "name": "Asha"},
}
GIVEN = {
    "shop": {"payments": {"bank": "HDFC Bank"}},
    "asha": {
        "pin": "2580",
        "methods": [
            {"card": "4242 4242 4242 4242", "funds": "INR 600.00"},
            {"upi": "asha@okhdfc", "balance": "INR 300.00"},
        ],
    },
}
INVARIANTS = ("ledger_balanced", "balances_non_negative", "one_payment_per_request")

action = st.one_of(
    st.tuples(
        st.just("shop"),
        st.sampled_from(
            ["/request", "/link", "+91 98123 45678", "250", "1,000", "chai", "/cancel", "/history"]
        ),
    ),
    st.tuples(st.just("asha"), st.sampled_from(["/history", "hello", "2580", "/cancel"])),
    st.tuples(st.just("tap"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("pin"), st.sampled_from(["2580", "2580", "1111"])),
    st.tuples(st.just("double"), st.sampled_from(["2580"])),
    st.tuples(st.just("advance"), st.sampled_from([1, 90, 3600, 86400])),
)


def _nodes(data: dict[str, Any]) -> Node:
    node = Node()
    for key, value in data.items():
        node[key] = _nodes(value) if isinstance(value, dict) else value
    return node


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(action, min_size=1, max_size=25))
def test_random_conversations_keep_money_right(
    settings: Settings, steps: list[tuple[str, Any]]
) -> None:
    # A cheaper PIN hash keeps hundreds of PIN checks fast; the logic is the same.
    fast = settings.model_copy(
        update={"security": settings.security.model_copy(update={"pin_hash_cost": 10})}
    )
    asyncio.run(_drive(fast, steps))


async def _drive(settings: Settings, steps: list[tuple[str, Any]]) -> None:
    async with open_world(settings, START) as world:
        await seed(world, _nodes(PARTIES), _nodes(GIVEN))
        sim = world.sim
        # The scripted opening: a request is waiting for Asha.
        for text in ("/request", "+91 98123 45678", "250", "chai"):
            await sim.text("shop", text)
        for kind, value in steps:
            before = len(sim.events)
            await _act(sim, kind, value)
            new = sim.events[before:]
            assert all(e.key != "error.internal" for e in new), [e.key for e in new]
            for name in INVARIANTS:
                why = await world.store.run(
                    lambda tx, n=name: check_invariant(tx, n, settings.markets)
                )
                assert why is None, why
        for party in ("shop", "asha"):
            await sim.text(party, "/cancel")
            assert sim.events[-1].key == "menu", "no way back to the menu"
            assert await world.store.run(lambda tx, p=party: tx.conversation(p)) is None


async def _act(sim: Simulator, kind: str, value: Any) -> None:
    if kind in ("shop", "asha"):
        await sim.text(kind, value)
    elif kind == "tap":
        buttons = [
            (m, b)
            for m in reversed(sim.parties["asha"].chat)
            if m.from_bot
            for row in m.buttons
            for b in row
        ][:6]
        if buttons:
            message, button = buttons[value % len(buttons)]
            with contextlib.suppress(TapError):
                await sim.tap("asha", button.id, on=message.ref)
    elif kind == "pin":
        await sim.pin("asha", value)
    elif kind == "double":
        await sim.together(
            [("asha", "pin", "[PIN]", {"text": value}), ("asha", "pin", "[PIN]", {"text": value})]
        )
    else:
        await sim.advance(timedelta(seconds=value))

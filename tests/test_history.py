"""`/history` pages: ten requests and payments a page, a More button while there are more."""

from __future__ import annotations

from sim.scenarios.loader import Node
from sim.scenarios.world import World, seed


def _nodes(data: dict[str, object]) -> Node:
    node = Node()
    for key, value in data.items():
        node[key] = _nodes(value) if isinstance(value, dict) else value  # type: ignore[arg-type]
    return node


async def test_history_pages_beyond_the_last_ten(world: World) -> None:
    parties = {
        "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"},
        "asha": {"role": "customer", "phone": "+91 98123 45678", "name": "Asha"},
    }
    await seed(world, _nodes(parties), _nodes({"shop": {"payments": {"bank": "HDFC Bank"}}}))
    sim = world.sim
    for amount in range(1, 13):
        for text in ("/request", "+91 98123 45678", str(amount)):
            await sim.text("shop", text)
        await sim.tap("shop", "skip")
    await sim.text("shop", "/history")
    first = sim.events[-1]
    assert first.key == "history"
    assert first.text.count("•") == 10
    assert "₹12.00" in first.text  # newest first
    assert "₹2.00" not in first.text
    assert [b.id for row in first.buttons for b in row] == ["hist:2"]
    await sim.tap("shop", "hist:2")
    second = sim.events[-1]
    assert second.text.startswith("Page 2")
    assert second.text.count("•") == 2
    assert "₹1.00" in second.text
    assert second.buttons == ()
    await sim.text("shop", "/history 3")
    assert "Nothing more" in sim.events[-1].text

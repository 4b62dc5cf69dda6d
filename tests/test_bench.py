"""The benchmark runs end to end on a tiny load. It asserts what it computes, never a speed:
speed is measured by `paychat bench`, not by tests."""

from __future__ import annotations

from bot.bench import report, run
from bot.config import Settings


async def test_the_benchmark_completes_every_payment_and_reports_each_figure(
    settings: Settings,
) -> None:
    result = await run(
        settings,
        conversations=4,
        payments=2,
        durability="normal",
        idle=50,
        pin_cost=10,
        scenarios=False,
        latency_seconds=0,
    )
    assert result.events == 4 * 2 * 7
    assert result.payments == 8
    assert result.events_per_second > 0
    assert result.ceiling_events_per_second > 0
    assert result.idle_conversations == 50
    text = report(result, None)
    for figure in (
        "inbound events / s",
        "completed payments / s",
        "p50 / p95 / p99",
        "storage ceiling",
        "engine / ceiling",
        "peak RSS",
        "idle conversations",
    ):
        assert figure in text

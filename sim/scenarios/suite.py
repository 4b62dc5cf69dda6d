"""Running many cases in one event loop, a few at a time.

A case spends part of its time waiting for scrypt (a PIN entered or set is hashed in the
engine's thread pool, and scrypt releases the GIL). One case at a time leaves the loop idle
through each hash; with a few in flight, another case's steps run while one waits, so the hashes
use the second core. Each case keeps a world of its own (database, clock, ids, simulator): cases
never see each other, and the results come back in the order the cases were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from core.settings import Settings
from sim.scenarios.loader import Case
from sim.scenarios.runner import CaseResult, run_case

# Cases in flight. With 4, the loop sat idle ~0.09 s a pass (of ~0.5 s) with every case in
# flight waiting for a hash; with 16, ~0.02 s. A world open costs little (an in-memory database
# of a few pages, a simulator).
AT_ONCE = 16


async def run_suite(
    cases: Sequence[Case],
    settings: Settings,
    *,
    artifacts: Path | None = None,
    via: str = "simulator",
    db: str = ":memory:",
    stop_after_failure: bool = False,
    done: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Every case's result, in the order of `cases`. `done` sees each as it ends (a progress
    bar). With `stop_after_failure`, no case starts after one has failed (those under way
    finish). Through Telegram, or on PostgreSQL, cases run one at a time: each brings up
    servers or schemas of its own, and the first failure should be the first case's."""
    results: list[CaseResult | None] = [None] * len(cases)
    waiting = iter(range(len(cases)))  # shared: each runner takes the next case not started
    failed = False

    async def runner() -> None:
        nonlocal failed
        for index in waiting:
            if failed and stop_after_failure:
                return
            result = await run_case(cases[index], settings, artifacts, via, db=db)
            results[index] = result
            failed = failed or not result.passed
            if done is not None:
                done(result)

    at_once = AT_ONCE if via == "simulator" and db == ":memory:" else 1
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(at_once, len(cases))):
                group.create_task(runner())
    except BaseExceptionGroup as failed_runners:
        # A bug, not a failing case (run_case reports those): the other runners were
        # cancelled; the caller gets the exception itself, as from one case at a time.
        raise failed_runners.exceptions[0] from None
    return [result for result in results if result is not None]

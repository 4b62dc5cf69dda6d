"""Wiring: settings + engine + simulator, for the REPL and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.runtime import open_engine
from core.clock import SeededIds, VirtualClock
from core.settings import Settings
from sim.simulator import Simulator


@asynccontextmanager
async def simulator(
    settings: Settings, db_path: str, start: datetime, seed: int = 0
) -> AsyncIterator[Simulator]:
    clock = VirtualClock(start)
    async with open_engine(settings, db_path, clock=clock, ids=SeededIds(seed)) as engine:
        sim = Simulator(engine, engine.outbox, clock)
        await sim.settle()  # a restarted process delivers what it had not delivered
        yield sim

"""Wiring: settings + store + engine + simulator, for the CLI, the demo and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.engine import Engine
from core.clock import SeededIds, VirtualClock
from core.settings import Settings
from sim.simulator import Simulator
from storage.sqlite import SqliteStore


@asynccontextmanager
async def simulator(
    settings: Settings, db_path: str, start: datetime, seed: int = 0
) -> AsyncIterator[Simulator]:
    store = await SqliteStore.open(db_path, settings.storage.synchronous)
    try:
        clock = VirtualClock(start)
        engine = Engine(store, settings, clock, SeededIds(seed))
        sim = Simulator(engine, clock)
        await sim.settle()  # a restarted process delivers what it had not delivered
        yield sim
    finally:
        await store.close()

"""Wiring: settings + engine + simulator, for the REPL and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.runtime import open_engine
from core.clock import IdSource, SeededIds, VirtualClock
from core.settings import Settings
from sim.scenarios.world import World
from sim.simulator import Simulator


@asynccontextmanager
async def simulator(
    settings: Settings, db_path: str, start: datetime, seed: int = 0
) -> AsyncIterator[Simulator]:
    """A simulator with repeatable ids (tests)."""
    async with session(settings, db_path, start, SeededIds(seed)) as world:
        yield world.sim


@asynccontextmanager
async def session(
    settings: Settings, db_path: str, start: datetime, ids: IdSource
) -> AsyncIterator[World]:
    """A simulator and everything under it: `paychat chat` reads the store to bring back the
    parties of an earlier session, and seeds parties (`:party`, `:given`) as scenarios do."""
    clock = VirtualClock(start)
    async with open_engine(settings, db_path, clock=clock, ids=ids) as engine:
        sim = Simulator(engine, engine.outbox, clock, engine.rails)
        await sim.settle()  # a restarted process delivers what it had not delivered
        yield World(sim, engine, engine.store, clock, ids, engine.rails, settings)

"""Wiring: settings + engine + simulator, for the REPL and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.runtime import open_engine
from core.clock import IdSource, SeededIds, VirtualClock
from core.settings import Settings
from sim.simulator import Simulator
from storage.base import Store
from storage.rails_rows import TxWithRails


@asynccontextmanager
async def simulator(
    settings: Settings, db_path: str, start: datetime, seed: int = 0
) -> AsyncIterator[Simulator]:
    """A simulator with repeatable ids (tests)."""
    async with session(settings, db_path, start, SeededIds(seed)) as (sim, _):
        yield sim


@asynccontextmanager
async def session(
    settings: Settings, db_path: str, start: datetime, ids: IdSource
) -> AsyncIterator[tuple[Simulator, Store[TxWithRails]]]:
    """A simulator and the store under it, which `paychat chat` reads to bring back the parties
    of an earlier session."""
    clock = VirtualClock(start)
    async with open_engine(settings, db_path, clock=clock, ids=ids) as engine:
        sim = Simulator(engine, engine.outbox, clock)
        await sim.settle()  # a restarted process delivers what it had not delivered
        yield sim, engine.store

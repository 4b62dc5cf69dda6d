from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from sim.scenarios.world import World, open_world
from sim.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(ROOT / "config.yaml")


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[World]:
    """An engine on a fresh database with the simulator in front; `world.store` reads what the
    engine wrote."""
    async with open_world(settings, START, db=str(tmp_path / "paychat.db")) as w:
        yield w


@pytest.fixture
def sim(world: World) -> Simulator:
    return world.sim


def keys(sim: Simulator, party: str, since: int = 0) -> list[str]:
    return [e.key for e in sim.events[since:] if e.party == party]


async def onboard(sim: Simulator, name: str, role: str, phone: str, shown: str = "") -> None:
    sim.add_party(name, shown or name.capitalize(), phone=phone)
    await sim.text(name, "/start")
    await sim.tap(name, role)
    await sim.share_contact(name)
    if role == "business":
        await sim.text(name, shown or name.capitalize())

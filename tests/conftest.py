from __future__ import annotations

import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from sim.scenarios.world import World, open_world
from sim.simulator import Simulator
from storage.base import Store
from storage.opening import open_store
from storage.pg_schemas import scratch_schema
from storage.rails_rows import TxWithRails
from storage.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def _sealing_key_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests never write the developer's own key (~/.config/paychat/secret.key) nor read a
    PAYCHAT_SECRET_KEY from the shell: one key file per test process, which the `paychat`
    subprocesses the tests start inherit."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PAYCHAT_KEY_FILE", str(tmp_path_factory.mktemp("key") / "secret.key"))
        patch.delenv("PAYCHAT_SECRET_KEY", raising=False)
        yield


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(ROOT / "config.yaml")


class ThrowawayPostgres:
    """A PostgreSQL cluster of the tests' own, started on first use: `scripts/throwaway-postgres`
    (which installs PostgreSQL where it is missing) on a unix socket in a folder of its own. Not
    under pytest's tmp_path: the cluster runs as the `postgres` user, which cannot enter root's
    0700 folders."""

    def __init__(self) -> None:
        self._script = str(ROOT / "scripts" / "throwaway-postgres")
        self._folder = ""
        self._url = ""

    @property
    def url(self) -> str:
        if not self._url:
            self._folder = tempfile.mkdtemp(prefix="paychat-pg-")
            started = subprocess.run(
                [self._script, "start", self._folder],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if started.returncode != 0:
                pytest.fail(f"no PostgreSQL for the tests: {started.stderr.strip()}")
            self._url = started.stdout.strip()
        return self._url

    def stop(self) -> None:
        if self._folder:
            subprocess.run(
                [self._script, "stop", self._folder], capture_output=True, timeout=120, check=False
            )


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """This test process's PostgreSQL (each pytest-xdist worker has its own), if a test uses it."""
    cluster = ThrowawayPostgres()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def pg_url(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    """A fresh, empty schema on the tests' PostgreSQL, as a URL; dropped after the test."""
    async with scratch_schema(postgres.url, "test") as url:
        yield url


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: ThrowawayPostgres
) -> AsyncIterator[Store[TxWithRails]]:
    """Every adapter of the storage ports, opened each way it can be: the contract suite
    (tests/test_storage.py, tests/test_storage_payments.py) runs once per entry. Real databases
    only: PostgreSQL is a cluster of the tests' own, each test in a fresh schema."""
    if request.param != "postgresql":
        path = str(tmp_path / "s.db") if request.param == "sqlite-file" else ":memory:"
        opened = await SqliteStore.open(path)
        yield opened
        await opened.close()
        return
    async with scratch_schema(postgres.url, "test") as url:
        opened = await open_store(url)
        yield opened
        await opened.close()


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


async def onboard(
    sim: Simulator, name: str, role: str, phone: str, shown: str = "", language: str = "en"
) -> None:
    sim.add_party(name, shown or name.capitalize(), language, phone=phone)
    await sim.text(name, "/start")
    await sim.tap(name, role)
    await sim.share_contact(name)
    if role == "business":
        await sim.text(name, shown or name.capitalize())


class FakeTime:
    """An injected clock for code that paces or backs off: sleeping moves it, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

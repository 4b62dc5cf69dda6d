"""`open_engine`, the one composition root: whatever happens in its body or half way through
start-up, nothing it started outlives it (an open store or a live thread pool keeps a process
from exiting)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from babel import UnknownLocaleError

from bot.runtime import open_engine
from core.clock import SeededIds, VirtualClock
from core.messages import Inbound
from core.records import User
from core.settings import Settings
from payments.pin import hash_pin
from storage.base import StorageError, Tx
from tests.conftest import START


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


def _still_running(threads: set[threading.Thread]) -> list[str]:
    """The threads that do not end. aiosqlite's worker ends just after it answers `close`, so
    each gets a moment to finish (join returns as soon as it has; nothing sleeps)."""
    for thread in threads:
        thread.join(timeout=10)
    return [t.name for t in threads if t.is_alive()]


def _customer_with_a_pin(tx: Tx) -> None:
    tx.add_user(User("asha", "customer", "+919812345678", "IN", "Asha", "en"), START)
    tx.set_pin("asha", *hash_pin("2580", tx.pin_pepper(), cost=8))


async def test_the_store_and_the_pin_hash_threads_end_when_the_body_raises(
    settings: Settings, tmp_path: Path
) -> None:
    before = _threads()
    seen: dict[str, Any] = {}

    async def use_then_fail() -> None:
        db = str(tmp_path / "r.db")
        async with open_engine(settings, db, clock=VirtualClock(START), ids=SeededIds()) as engine:
            seen["engine"] = engine
            await engine.store.run(_customer_with_a_pin)
            # What may be a PIN is hashed on the engine's own threads, off the writer.
            await engine.handle(Inbound(key="k1", user="asha", kind="text", text="2580"))
            seen["started"] = _threads() - before
            raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError, match="the body failed"):
        await use_then_fail()
    assert any(t.name.startswith("pin-hash") for t in seen["started"])
    assert _still_running(seen["started"]) == []  # the PIN-hash pool and the store's thread
    with pytest.raises(StorageError, match="closed"):
        await seen["engine"].store.run(lambda tx: tx.user("asha"))


async def test_a_start_up_that_fails_half_way_closes_the_store(
    settings: Settings, tmp_path: Path
) -> None:
    # The store opens, then the engine cannot be built (a locale Babel does not know; the
    # settings are copied without validation, which would refuse it).
    india = settings.markets["IN"].model_copy(update={"locale": "xx_QQ"})
    broken = settings.model_copy(update={"markets": {**settings.markets, "IN": india}})
    before = _threads()

    async def start() -> None:
        db = str(tmp_path / "r.db")
        async with open_engine(broken, db, clock=VirtualClock(START), ids=SeededIds()):
            pytest.fail("the body must not run")

    with pytest.raises(UnknownLocaleError):
        await start()
    assert _still_running(_threads() - before) == []

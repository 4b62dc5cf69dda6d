"""A database that cannot write: the person is told nothing untrue, the update stays Telegram's
to send again, the log says so once, and the update is handled as soon as writes work again.
A real SQLite file made full with `PRAGMA max_page_count` (SQLITE_FULL, as a full disk gives),
real python-telegram-bot polling the Bot API emulator. And the contrast: a write that breaks a
database rule is a bug to answer, not an outage to wait out forever."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.telegram_main import open_telegram
from core.clock import SeededIds, VirtualClock
from core.settings import Settings
from sim.app import simulator
from sim.emulator import Emulator
from sim.scenarios.telegram_world import NO_PACING
from storage.sqlite import SqliteStore
from tests.conftest import START

TOKEN = "123456:FULLDISK"
UNLIMITED = 1073741823  # SQLite's default max_page_count


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(TOKEN).start()
    yield emu
    emu.stop()


async def _page_limit(store: SqliteStore, pages: int | None = None) -> None:
    """Set the store's own connection's page limit (a per-connection setting); None: as many
    pages as the file has now, so the next write that needs a page finds the disk full."""
    db = store._db  # the connection the store writes through
    if pages is None:
        async with db.execute("PRAGMA page_count") as cursor:
            row = await cursor.fetchone()
        pages = int(row[0]) if row else 0
    await db.execute(f"PRAGMA max_page_count = {pages}")


async def _fill(store: SqliteStore) -> None:
    """Fill every page up to the limit: rows appended to the outbox (its newest page is where
    every reply goes), smaller and smaller, until not even an empty one fits. Marked delivered:
    nobody is sent them."""
    for size in (3000, 300, 30, 0):
        full = ""
        while not full:
            try:
                await store._db.execute(
                    "INSERT INTO outbox (to_user, kind, key, body, created_at, delivered) "
                    "VALUES ('filler', 'send', 'filler', ?, '', 1)",
                    ("x" * size,),
                )
            except sqlite3.OperationalError as exc:
                full = str(exc)
        assert full == "database or disk is full"


async def test_a_full_disk_answers_nothing_says_so_once_and_the_update_waits(
    emulator: Emulator, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "paychat")
    emulator.add_user(901, "Wei", "+65 9123 4567")
    tried: list[float] = []
    three_tries = asyncio.Event()

    async def pause(seconds: float) -> None:  # the polling loop's wait before trying again
        tried.append(seconds)
        if len(tried) == 3:
            three_tries.set()
        await asyncio.sleep(0)

    async with open_telegram(
        settings,
        str(tmp_path / "full.db"),
        TOKEN,
        base_url=emulator.base_url,
        clock=VirtualClock(START),
        ids=SeededIds(),
        sender_options=NO_PACING,
        sleep=pause,
    ) as (engine, transport):
        await _page_limit(engine.store)
        await _fill(engine.store)
        await transport.start(polling=True, tick=0)
        emulator.send_text(901, "/start")
        await asyncio.wait_for(three_tries.wait(), 30)
        # Nothing untrue while the disk is full: no welcome, no apology.
        assert [m["text"] for m in emulator.chat(901)] == ["/start"]
        assert emulator.pending_updates() == 1  # not confirmed: Telegram keeps it
        said = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(said) == 1, [r.getMessage() for r in said]  # once, not per retry
        assert "cannot take writes (database or disk is full)" in said[0].getMessage()

        await _page_limit(engine.store, UNLIMITED)  # space is back
        async with transport.handled:
            await transport.handled.wait_for(lambda: transport.outage.failures == 0)
        await transport.sender.idle()
    bot_said = [m["text"] for m in emulator.chat(901) if m["from"]["is_bot"]]
    assert [text.split("!")[0] for text in bot_said] == ["Welcome to PayChat"]  # once
    back = [r.getMessage() for r in caplog.records if "takes writes again" in r.getMessage()]
    assert len(back) == 1
    assert re.search(r"after \d+ failed attempts", back[0])


async def test_a_write_that_breaks_a_rule_is_answered_not_left_for_redelivery(
    settings: Settings, tmp_path: Path
) -> None:
    # Ids from one seed on a database opened again (a test's simulator; `paychat chat` draws
    # random ones): the second run draws the first run's request id, and the request's key
    # refuses it, a constraint no unit expects. Redelivering that update would break the
    # same rule forever (and, while polling, hold back every update after it).
    db = str(tmp_path / "again.db")
    said: list[list[str]] = []
    for run, (shop, customer) in enumerate(
        (("+919876543210", "+919812345678"), ("+919876543211", "+919812345679"))
    ):
        async with simulator(settings, db, START) as sim:  # ids from one seed, for tests
            sim.add_party(f"shop{run}", "Chai Point", phone=shop)
            sim.add_party(f"asha{run}", "Asha", phone=customer)
            await sim.text(f"shop{run}", "/start")
            await sim.tap(f"shop{run}", "business")
            await sim.share_contact(f"shop{run}")
            await sim.text(f"shop{run}", "Chai Point")
            await sim.text(f"shop{run}", "/settings")
            for button in ("payments", "add_method", "accept"):
                await sim.tap(f"shop{run}", button)
            await sim.tap(f"shop{run}", label="HDFC Bank")
            await sim.text(
                f"shop{run}", re.findall(r"\d{6}", sim.parties[f"shop{run}"].sms[-1])[0]
            )
            await sim.tap(f"shop{run}", label_contains="••••")
            await sim.tap(f"shop{run}", "confirm")
            await sim.text(f"asha{run}", "/start")
            await sim.tap(f"asha{run}", "customer")
            await sim.share_contact(f"asha{run}")
            for text in ("/request", customer, "250", "chai"):
                await sim.text(f"shop{run}", text)  # the second run's collides: answered
            said.append([e.key for e in sim.events if e.party == f"shop{run}"])
    assert said[0][-2:] == ["request.sent", "code.qr"]
    assert said[1][-1] == "error.internal"  # committed with its answer: never sent again

"""Delivering on Telegram: a message is delivered only when Telegram accepted it. Outages and
429s are waited out however long they last; what Telegram refuses for good is recorded as failed;
a blocked chat's messages wait for the person to write again; every copy of a message sent twice
still leads back to it. Real PTB against the Bot API emulator, a real engine on a SQLite file,
and an injected clock (sleeping moves it; nothing waits)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.engine import Engine
from bot.runtime import open_engine
from bot.transports.telegram_sender import MAX_BACKOFF, TEXT_LIMIT, TelegramSender, fit
from core.clock import SeededIds, VirtualClock
from core.messages import Button, Inbound, Outbound
from core.refs import RequestMessage
from core.settings import Settings
from sim.emulator import Emulator
from tests.conftest import START, FakeTime

TOKEN = "123456:DELIVERY"


@pytest.fixture
def emulator() -> Any:
    emu = Emulator(TOKEN).start()
    yield emu
    emu.stop()


@pytest.fixture
async def engine(settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    db = str(tmp_path / "d.db")
    async with open_engine(settings, db, clock=VirtualClock(START), ids=SeededIds()) as engine:
        yield engine


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, base_url=emulator.base_url)
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def _committed(engine: Engine, user: str, key: str, text: str) -> list[Outbound]:
    """Replies the engine committed for a command, not yet delivered (a transport's view)."""
    await engine.handle(Inbound(key=key, user=user, kind="command", text=text))
    return [o for o in await engine.outbox.undelivered() if o.to == user]


def _rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT key, delivered FROM outbox ORDER BY id"))


async def test_an_outage_longer_than_any_give_up_delivers_in_the_end_never_marked_before(
    emulator: Emulator, engine: Engine, bot: Bot, tmp_path: Path
) -> None:
    emulator.add_user(801, "Asha")
    outs = await _committed(engine, "801", "t:1", "/start")
    fake = FakeTime()
    # 12 answers of 502 (the old sender gave up after 6 tries and marked the row delivered),
    # then 429s, then Telegram is back.
    emulator.inject("sendMessage", 502, "Bad Gateway", times=12)
    emulator.inject("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5, times=3)
    during: list[list[tuple[str, int]]] = []
    waiting = fake.sleep

    async def sleep_and_look(seconds: float) -> None:
        during.append(_rows(tmp_path / "d.db"))
        await waiting(seconds)

    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=sleep_and_look)
    sender.enqueue(outs)
    await sender.idle()
    assert [m["text"].split("!")[0] for m in emulator.chat(801)] == ["Welcome to PayChat"]
    assert _rows(tmp_path / "d.db") == [("welcome", 1)]
    assert len(during) >= 15
    assert all(rows == [("welcome", 0)] for rows in during)  # never "delivered" before it was
    assert fake.slept.count(5) == 3
    assert max(fake.slept) <= MAX_BACKOFF
    assert sum(1 for s in fake.slept if s not in (5,)) >= 12  # backed off on every 502


async def test_what_telegram_refuses_for_good_is_recorded_as_failed_not_delivered(
    emulator: Emulator, engine: Engine, bot: Bot, tmp_path: Path
) -> None:
    emulator.add_user(802, "Ravi")
    sent = await bot.send_message(802, "Pay me")
    original = Outbound("send", "802", "request.received", "Pay me", ref="rq:PR-GONE")
    await engine.outbox.delivered([(original, str(sent.message_id))])
    emulator.state.chats[802].clear()  # the person deleted the chat: the message is gone
    edits = [
        Outbound("edit", "802", "request.paid", "Paid", ref="rq:PR-GONE"),  # gone on Telegram
        Outbound("edit", "802", "request.closed", "Closed", ref="rq:PR-NEVER"),  # never sent
    ]
    seqs = await engine.store.run(lambda tx: tx.add_outbox(edits, START))
    fake = FakeTime()
    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=fake.sleep)
    sender.enqueue(await engine.outbox.undelivered())
    await sender.idle()
    assert [m for m, _ in emulator.state.calls].count("editMessageText") == 1  # tried once
    assert _rows(tmp_path / "d.db") == [("request.paid", 2), ("request.closed", 2)]
    assert await engine.outbox.undelivered() == []  # failed for good: not retried
    assert len(seqs) == 2


async def test_a_blocked_chat_keeps_its_messages_until_the_person_writes_again(
    emulator: Emulator, engine: Engine, bot: Bot, tmp_path: Path
) -> None:
    emulator.add_user(803, "Wei")
    emulator.state.blocked.add(803)
    fake = FakeTime()
    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=fake.sleep)
    sender.enqueue(await _committed(engine, "803", "t:4", "/start"))
    sender.enqueue(await _committed(engine, "803", "t:5", "/help"))
    await sender.idle()
    assert sender.blocked == {"803"}
    assert [d for _, d in _rows(tmp_path / "d.db")] == [0, 0]  # waiting, not "delivered"
    emulator.state.blocked.discard(803)  # unblocked in the app; then the person writes
    await sender.unblock("803")
    await sender.idle()
    texts = [m["text"] for m in emulator.chat(803)]
    assert len(texts) == 2
    assert texts[0].startswith("Welcome to PayChat")  # in order
    assert [d for _, d in _rows(tmp_path / "d.db")] == [1, 1]


async def test_every_copy_of_a_message_sent_twice_leads_back_to_it_and_is_edited(
    emulator: Emulator, engine: Engine, bot: Bot
) -> None:
    emulator.add_user(804, "Maria")
    ref = RequestMessage("PR-TWICE").pack()
    out = Outbound("send", "804", "request.received", "Pay me", ((Button("pay", "Pay"),),), ref)
    first = await bot.send_message(804, "Pay me")
    second = await bot.send_message(804, "Pay me")  # a crash fell between send and record
    await engine.outbox.delivered([(out, str(first.message_id))])
    await engine.outbox.delivered([(out, str(second.message_id))])
    for copy in (first, second):
        assert await engine.outbox.ref_for("804", str(copy.message_id)) == ref
    fake = FakeTime()
    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=fake.sleep)
    sender.enqueue([Outbound("edit", "804", "request.paid", "Paid", ref=ref)])
    await sender.idle()
    assert [m["text"] for m in emulator.chat(804)] == ["Paid", "Paid"]


async def test_toasts_are_handled_when_committed_and_the_outbox_is_read_past_a_page(
    engine: Engine,
) -> None:
    toast = Outbound("toast", "805", "error.not_understood", "Sorry?")
    await engine.store.run(lambda tx: tx.add_outbox([toast], START))
    assert await engine.outbox.undelivered() == []  # a toast is answered at once or never
    await engine.store.run(
        lambda tx: tx.add_outbox(
            [Outbound("send", "805", "help", f"m{i}") for i in range(2500)], START
        )
    )
    assert len(await engine.outbox.undelivered()) == 2500


def test_a_reply_too_long_for_telegram_is_shortened_not_refused() -> None:
    assert fit("short", TEXT_LIMIT) == "short"
    long = "😀" * 3000  # 6,000 UTF-16 code units: Telegram counts these, not characters
    cut = fit(long, TEXT_LIMIT)
    assert cut.endswith("…")
    assert len(cut.encode("utf-16-le")) // 2 <= TEXT_LIMIT
    assert "\ufffd" not in cut  # never half a surrogate pair


async def test_the_emulator_takes_a_shortened_reply(
    emulator: Emulator, engine: Engine, bot: Bot
) -> None:
    emulator.add_user(806, "Asha")
    huge = Outbound("send", "806", "receipt.unknown", "x" * 10_000, ref="r")
    seqs = await engine.store.run(lambda tx: tx.add_outbox([huge], START))
    fake = FakeTime()
    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=fake.sleep)
    sender.enqueue(await engine.outbox.undelivered())
    await sender.idle()
    (shown,) = emulator.chat(806)
    assert len(shown["text"]) == TEXT_LIMIT
    assert await engine.outbox.undelivered() == []
    assert seqs

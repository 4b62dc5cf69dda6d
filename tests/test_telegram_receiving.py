"""Receiving on Telegram: an update is confirmed only once committed, a redelivered update changes
nothing, and the keypad survives redelivery and restarts. Real PTB against the Bot API emulator,
a real engine on a SQLite file; the engine's door is wrapped by a recording fake where a test
needs the database to refuse a write, the way a full disk does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.engine import Engine
from bot.runtime import deep_link_base, open_engine
from bot.transports.telegram import TelegramTransport, Webhook, bot_commands, connect
from bot.transports.telegram_sender import read_tap
from core.clock import SeededIds, VirtualClock
from core.errors import StorageError
from core.messages import Inbound, Outbound
from core.settings import Settings
from sim.emulator import Emulator
from sim.scenarios.telegram_world import NO_PACING
from tests.conftest import START

TOKEN = "123456:RECEIVING"


class Flaky:
    """The engine's door, refusing the first `fails` events as a database that cannot write
    does (`StorageError`), and recording every event it was given."""

    def __init__(self, engine: Engine, fails: int = 0) -> None:
        self.engine, self.fails = engine, fails
        self.seen: list[Inbound] = []

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        self.seen.append(inbound)
        if self.fails:
            self.fails -= 1
            raise StorageError("database or disk is full")
        return await self.engine.handle(inbound)

    async def run_due(self) -> list[Outbound]:
        return await self.engine.run_due()


class Pauses:
    """The receiving loop's injected sleep: records the pause and lets the loop go on."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def emulator() -> Any:
    emu = Emulator(TOKEN).start()
    yield emu
    emu.stop()


@contextlib.asynccontextmanager
async def bot(
    emulator: Emulator, settings: Settings, db: Path, fails: int = 0, token: str = TOKEN
) -> AsyncIterator[tuple[TelegramTransport, Flaky, Pauses]]:
    async with (
        connect(token, emulator.base_url) as app,
        open_engine(
            settings,
            str(db),
            clock=VirtualClock(START),
            ids=SeededIds(),
            link_base=deep_link_base(app.bot.username),
        ) as engine,
    ):
        door, pauses = Flaky(engine, fails), Pauses()
        transport = TelegramTransport(
            app,
            door,
            engine.outbox,
            commands=bot_commands(settings),
            pin_length=settings.security.pin_length,
            sender_options=NO_PACING,
            sleep=pauses,
        )
        try:
            yield transport, door, pauses
        finally:
            await transport.stop()


async def _receive_newest(
    emulator: Emulator, transport: TelegramTransport, times: int = 1
) -> None:
    """Hand the newest update to the transport `times` times (a redelivery), as polling would."""
    update = Update.de_json(emulator.state.updates[-1], transport.app.bot)
    assert update is not None
    for _ in range(times):
        assert await transport.receive(update)
    await transport.sender.idle()


async def _until(condition: Any, what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)  # polling another thread's state, bounded: not a sync sleep
    raise AssertionError(f"never happened: {what}")


async def _customer_with_pin_prompt(
    emulator: Emulator, transport: TelegramTransport, user: int
) -> int:
    """Onboard `user` as a customer and open the PIN set-up keypad; its message id."""
    emulator.add_user(user, "Asha", "+91 98123 45678")
    for send in (
        lambda: emulator.send_text(user, "/start"),
        lambda: _tap(emulator, user, emulator.chat(user)[-1], "customer"),
        lambda: emulator.share_contact(user, "+91 98123 45678"),
        lambda: emulator.send_text(user, "/pin"),
    ):
        send()
        await _receive_newest(emulator, transport)
    return int(emulator.chat(user)[-1]["message_id"])


def _tap(emulator: Emulator, user: int, message: dict[str, Any], button: str) -> None:
    """Tap a button by id: its data carries the message's ref too."""
    rows = message["reply_markup"]["inline_keyboard"]
    data = next(
        b["callback_data"]
        for row in rows
        for b in row
        if read_tap(b["callback_data"])[0] == button
    )
    emulator.tap(user, message["message_id"], data)


def _pin_taps(emulator: Emulator, user: int, pad: int, digits: str) -> list[dict[str, Any]]:
    taps = []
    for key in [*digits, "ok"]:
        emulator.tap(user, pad, f"pin:{key}")
        taps.append(emulator.state.updates[-1])
    return taps


async def test_a_keypad_tap_delivered_twice_counts_once(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    async with bot(emulator, settings, tmp_path / "b.db") as (transport, door, _):
        await transport.start(polling=False, tick=0)
        pad = await _customer_with_pin_prompt(emulator, transport, 701)
        for raw in _pin_taps(emulator, 701, pad, "2580"):
            update = Update.de_json(raw, transport.app.bot)
            assert update is not None
            for _ in range(2):  # Telegram redelivers an update whose offset was not confirmed
                assert await transport.receive(update)
        await transport.sender.idle()
        pins = [i for i in door.seen if i.kind == "pin"]
        assert len(pins) == 1  # the ✓ too counted once
        # "2580" arrived as 2580 (not 22558800): the flow asks for it again to confirm it.
        assert emulator.chat(701)[-1].get("text", "").startswith("Enter the same PIN")


async def test_after_a_restart_a_pad_showing_dots_asks_for_the_pin_afresh(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "b.db"
    async with bot(emulator, settings, db) as (transport, _, _):
        await transport.start(polling=False, tick=0)
        pad = await _customer_with_pin_prompt(emulator, transport, 702)
        for key in "25":
            emulator.tap(702, pad, f"pin:{key}")
            await _receive_newest(emulator, transport)
        shown = next(m for m in emulator.chat(702) if m["message_id"] == pad)["text"]
        assert shown.endswith("●●○○")
    # The process restarts: the two digits it held are gone, the message still shows them.
    async with bot(emulator, settings, db) as (transport, door, _):
        await transport.start(polling=False, tick=0)
        emulator.tap(702, pad, "pin:8")
        await _receive_newest(emulator, transport)
        assert [(i.kind, i.text) for i in door.seen] == [("pin", "")]  # not "8" alone
        chat = emulator.chat(702)
        old = next(m for m in chat if m["message_id"] == pad)
        assert "●" not in old["text"]  # the stale pad is gone
        assert not old.get("reply_markup")
        assert chat[-1]["text"].startswith("A PIN is exactly")  # and a fresh one is offered
        assert chat[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "pin:1"


async def test_polling_confirms_an_update_only_once_it_is_committed(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    emulator.add_user(703, "Ravi", "+91 99887 76655")
    async with bot(emulator, settings, tmp_path / "b.db", fails=2) as (transport, door, pauses):
        await transport.start(polling=True, tick=0)
        emulator.send_text(703, "/start")
        await _until(lambda: len(door.seen) == 3, "the update handled after two refusals")
        await _until(lambda: emulator.chat(703)[-1]["from"]["is_bot"], "the welcome sent")
        assert len({i.key for i in door.seen}) == 1  # the same update, asked for again
        assert pauses.taken.count(1.0) == 2  # a pause before each new try
        welcome = [m for m in emulator.chat(703) if m["from"]["is_bot"]]
        assert [m["text"].split("!")[0] for m in welcome] == ["Welcome to PayChat"]
        await _until(lambda: emulator.pending_updates() == 0, "the update confirmed")


async def test_webhook_answers_only_after_the_commit_and_serves_its_own_path(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/paychat/hook"
    async with bot(emulator, settings, tmp_path / "b.db", fails=1) as (transport, door, _):
        await transport.start(webhook=Webhook(url, "127.0.0.1", port, "s3cret"), tick=0)
        emulator.add_user(704, "Wei", "+65 9123 4567")
        update = json.dumps(
            {
                "update_id": 9001,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 704, "type": "private"},
                    "from": {"id": 704, "is_bot": False, "first_name": "Wei"},
                    "text": "/start",
                },
            }
        ).encode()
        secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        assert await _post(url, update, {}) == 403  # no secret: a forged update
        assert await _post(f"http://127.0.0.1:{port}/", update, secret) == 404  # not our path
        assert await _post(url, update, secret) == 503  # not committed: Telegram must retry
        assert await _post(url, update, secret) == 200
        assert await _post(url, update, secret) == 200  # a retry of a handled update: a no-op
        await transport.sender.idle()
        assert [i.key for i in door.seen] == [transport.update_key(9001)] * 3
        assert [m["text"].split("!")[0] for m in emulator.chat(704)] == ["Welcome to PayChat"]


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    def call() -> int:
        request = urllib.request.Request(
            url, body, {"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    return await asyncio.to_thread(call)


async def test_inbox_keys_belong_to_the_bot_so_a_new_token_is_not_ignored(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "b.db"
    emulator.add_user(705, "Maria", "+55 11 91234 5678")
    async with bot(emulator, settings, db) as (transport, _, _):
        await transport.start(polling=False, tick=0)
        emulator.send_text(705, "/start")
        await _receive_newest(emulator, transport)
        first = transport.update_key(emulator.state.updates[-1]["update_id"])
    other = Emulator("654321:OTHER").start()
    try:
        other.add_user(705, "Maria", "+55 11 91234 5678")
        async with bot(other, settings, db, token="654321:OTHER") as (transport, door, _):
            await transport.start(polling=False, tick=0)
            other.send_text(705, "/help")  # the same update_id the first bot already saw
            await _receive_newest(other, transport)
            assert transport.update_key(other.state.updates[-1]["update_id"]) != first
            assert [m["text"] for m in other.chat(705) if m["from"]["is_bot"]]  # answered
            assert [i.text for i in door.seen] == ["/help"]
    finally:
        other.stop()


async def test_a_forged_keypad_tap_does_not_turn_a_message_into_a_keypad(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    async with bot(emulator, settings, tmp_path / "b.db") as (transport, door, _):
        await transport.start(polling=False, tick=0)
        emulator.add_user(706, "Ravi", "+91 99887 76655")
        emulator.send_text(706, "/start")
        await _receive_newest(emulator, transport)
        welcome = emulator.chat(706)[-1]
        emulator.tap(706, welcome["message_id"], "pin:1", stale=True)  # data no button has
        await _receive_newest(emulator, transport)
        after = next(m for m in emulator.chat(706) if m["message_id"] == welcome["message_id"])
        assert after == welcome  # not edited into a keypad
        assert [i.kind for i in door.seen] == ["command"]


async def test_on_telegram_a_typed_number_is_never_proof_even_the_right_one(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    async with bot(emulator, settings, tmp_path / "b.db") as (transport, door, _):
        await transport.start(polling=False, tick=0)
        emulator.add_user(707, "Asha", "+91 98123 45678")
        for send in (
            lambda: emulator.send_text(707, "/start"),
            lambda: _tap(emulator, 707, emulator.chat(707)[-1], "customer"),
            lambda: emulator.send_text(707, "+91 98123 45678"),  # her own, but typed
        ):
            send()
            await _receive_newest(emulator, transport)
        asked = emulator.chat(707)[-1]
        assert asked["text"].startswith("Please share your contact")
        keyboard = emulator.state.keyboards[707]  # a reply keyboard is the chat's
        assert keyboard["keyboard"][0][0]["request_contact"] is True
        emulator.share_contact(707, "+91 98123 45678")
        await _receive_newest(emulator, transport)
        assert emulator.chat(707)[-2]["text"].startswith("All set")
        assert [i.known_phone for i in door.seen] == ["", "", "", ""]  # Telegram never knows

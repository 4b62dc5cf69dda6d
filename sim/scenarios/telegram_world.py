"""Scenarios through the real Telegram adapter: PTB polling a local Bot API emulator.

`TelegramSimulator` keeps the simulator's interface, so the runner's steps and matchers are the
same; but each action is a user's act at the emulator (a message, a button, the PIN keypad), PTB
receives it over loopback HTTP, and what the parties see is what the adapter really sent to the
Bot API. After every action the emulator's chats are checked against that record: the two paths
must agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.telegram_main import open_telegram
from bot.transports.base import Handler, Outbox
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_sender import Delivery, read_tap
from core.clock import SeededIds, VirtualClock
from core.messages import InboundKind
from core.refs import InboundMessage
from core.settings import Settings
from payments.rails import Rails
from sim.emulator import Emulator
from sim.observer import Action
from sim.scenarios.world import World
from sim.simulator import ChatMessage, Party, PathsDisagree, Simulator, TapError

TOKEN = "123456:SCENARIOS"


class TelegramSimulator(Simulator):
    def __init__(
        self,
        engine: Handler,
        outbox: Outbox,
        clock: VirtualClock,
        emulator: Emulator,
        transport: TelegramTransport,
        rails: Rails | None = None,
    ) -> None:
        super().__init__(engine, outbox, clock, rails)
        self.emulator = emulator
        self.transport = transport
        self.ids: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.sent: dict[tuple[str, str], int] = {}  # (party, ref) -> Telegram message id
        transport.sender.observers.append(self._observe)

    def user_id(self, party: str) -> str:
        return str(self.ids[party])

    def _joining(self, party: Party) -> None:
        uid = 7001 + len(self.ids)
        self.ids[party.name], self.names[str(uid)] = uid, party.name
        # As a Telegram app sends it: an IETF tag (pt-br), not the locale's name (pt_BR).
        language_code = party.language.replace("_", "-").lower()
        self.emulator.add_user(uid, party.display_name, party.phone, language_code)

    def _observe(self, delivery: Delivery) -> None:
        out = replace(delivery.out, to=self.names.get(delivery.out.to, delivery.out.to))
        if out.kind in ("send", "photo") and delivery.platform_id:
            self.sent[(out.to, out.ref)] = int(delivery.platform_id)
        self._apply(out)

    # -- acting at the emulator ---------------------------------------------------------------
    async def act(self, party: str, kind: InboundKind, *, shown: str, **fields: Any) -> str:
        self._acting([Action(party, kind, shown, fields)])
        update_ids = self._push(party, kind, fields)
        key = self.transport.update_key(update_ids[-1])
        self.parties[party].chat.append(
            ChatMessage(InboundMessage(key).pack(), shown, from_bot=False)
        )
        for update_id in update_ids:
            await self.transport.wait_handled(update_id)
            await self.transport.sender.idle()
        await self.settle()
        return key

    async def together(self, actions: list[tuple[str, InboundKind, str, dict[str, Any]]]) -> None:
        self._acting([Action(p, kind, shown, fields) for p, kind, shown, fields in actions])
        last = 0
        for party, kind, shown, fields in actions:
            if kind == "pin" and last:  # a double tap on ✓: the digits were entered once
                last = self._tap_keypad(party, ["ok"])[-1]
            else:
                last = self._push(party, kind, fields)[-1]
            self.parties[party].chat.append(
                ChatMessage(InboundMessage(self.transport.update_key(last)).pack(), shown, False)
            )
        await self.transport.wait_handled(last)
        await self.transport.sender.idle()
        await self.settle()

    def _push(self, party: str, kind: InboundKind, fields: dict[str, Any]) -> list[int]:
        uid, emulator = self.ids[party], self.emulator
        if kind in ("text", "command", "code"):
            # A payment code reaches a Telegram bot as what it is: its text, pasted.
            emulator.send_text(uid, str(fields["text"]))
        elif kind == "link":
            emulator.open_link(uid, str(fields["text"]))
        elif kind == "contact":
            owner = uid if fields.get("contact_is_own", True) else 1
            emulator.share_contact(uid, str(fields["phone"]), owner)
        elif kind == "tap":
            platform_id = self._platform_id(party, str(fields["message"]))
            data = self._callback_data(uid, platform_id, str(fields["button"]))
            emulator.tap(uid, platform_id, data, stale=True)
        elif kind == "pin":
            return self._tap_keypad(party, [*str(fields["text"]), "ok"])
        else:
            raise TapError(f"{kind} does not exist on Telegram")
        return [emulator.state.next_update - 1]

    def _tap_keypad(self, party: str, keys: list[str]) -> list[int]:
        uid = self.ids[party]
        pads = [
            m
            for m in self.emulator.chat(uid)
            if not m.get("deleted")
            and any(
                b.get("callback_data") == "pin:ok"
                for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            )
        ]
        if not pads:
            raise TapError(f"{party} has no PIN keypad to type on")
        updates = []
        for key in keys:
            self.emulator.tap(uid, pads[-1]["message_id"], f"pin:{key}", stale=True)
            updates.append(self.emulator.state.next_update - 1)
        return updates

    def _callback_data(self, uid: int, platform_id: int, button: str) -> str:
        """The data Telegram holds for that button on that message (it carries the message's
        ref as well as the button's id), or the bare id for a button no longer there."""
        message = next(
            (m for m in self.emulator.chat(uid) if m.get("message_id") == platform_id), {}
        )
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            for shown in row:
                data = str(shown.get("callback_data", ""))
                if read_tap(data)[0] == button:
                    return data
        return button

    def _platform_id(self, party: str, ref: str) -> int:
        found = self.sent.get((party, ref))
        if found is None:
            raise TapError(f"no Telegram message for {ref!r}")
        return found

    # -- settling -----------------------------------------------------------------------------
    async def settle(self) -> None:
        await self.transport.run_due()
        await self.transport.sender.idle()
        self._agree()

    async def advance(self, by: timedelta) -> None:
        self._advancing(by)
        self.clock.advance(by)
        await self.settle()

    def _agree(self) -> None:
        for name, party in self.parties.items():
            ours = [m.text for m in party.chat if m.from_bot and not m.deleted] + party.sms
            theirs = [
                m.get("text", m.get("caption", ""))
                for m in self.emulator.chat(self.ids[name])
                if m.get("from", {}).get("is_bot") and not m.get("deleted")
            ]
            if sorted(ours) != sorted(theirs):
                raise PathsDisagree(
                    f"{name}: the adapter delivered {ours!r} but the Bot API holds {theirs!r}"
                )


# No rate-limit waits in scenarios: bursts are what a scenario is made of (pacing has tests of
# its own, on an injected clock).
NO_PACING: dict[str, Any] = {"per_chat_burst": 1000, "global_rate": 100000.0}


@asynccontextmanager
async def open_telegram_world(
    settings: Settings,
    start: datetime,
    seed: int = 0,
    bot_username: str | None = None,
    db: str = ":memory:",
) -> AsyncIterator[World]:
    """`bot_username`: the emulated bot's name, as getMe reports it (default: the config's);
    `db`: the database (a storage URL)."""
    clock, ids, rails = VirtualClock(start), SeededIds(seed), Rails.simulated()
    with emulated(bot_username or settings.telegram.bot_username) as emulator:
        async with open_telegram(
            settings,
            db,
            TOKEN,
            base_url=emulator.base_url,
            clock=clock,
            ids=ids,
            rails=rails,
            sender_options=NO_PACING,
        ) as (engine, transport):
            sim = TelegramSimulator(engine, engine.outbox, clock, emulator, transport, rails)
            await transport.start(polling=True, tick=0)
            yield World(sim, engine, engine.store, clock, ids, rails, settings)


@contextmanager
def emulated(bot_username: str) -> Iterator[Emulator]:
    emulator = Emulator(TOKEN, bot_username).start()
    try:
        yield emulator
    finally:
        emulator.stop()

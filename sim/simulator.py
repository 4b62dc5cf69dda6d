"""The offline simulator: in-process parties with chats and SMS inboxes, on a virtual clock.

Every action goes through `Engine.handle`, then the simulator *settles*: it delivers what the
engine committed and fires the jobs that are due, until nothing is runnable. No waiting, no
sleeps. `events` is an append-only log of everything each party saw, which the scenario runner
matches strictly.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from typing import Any, Literal

from bot.transports.base import Handler, Outbox
from core.clock import VirtualClock
from core.messages import Button, Inbound, InboundKind, Outbound
from core.refs import InboundMessage
from payments.rails import Rails
from payments.rails.base import Fault
from sim import patterns
from sim.errors import SimError
from sim.observer import Action, SimObserver
from sim.seen import ChatMessage as ChatMessage
from sim.seen import Party as Party
from sim.seen import SeenEvent as SeenEvent

PAY_CODE_SHOWN = "[payment code]"  # what a scanned code shows in the chat


class PathsDisagree(SimError):
    """A transport's two views of a chat differ (the Telegram runner's cross-check)."""


class TapError(SimError):
    """A tap on a missing or ambiguous button; the message lists the buttons present."""


class Simulator:
    def __init__(
        self, engine: Handler, outbox: Outbox, clock: VirtualClock, rails: Rails | None = None
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock = clock
        self.rails = rails  # the simulated rails the engine calls, where faults are queued
        self.parties: dict[str, Party] = {}
        self.events: list[SeenEvent] = []
        self.observers: list[SimObserver] = []
        self._keys = itertools.count(1)
        # Inbound keys are deduplicated forever: a restarted simulator must not reuse them.
        self._session = secrets.token_hex(4)
        self._platform_ids = itertools.count(1)

    def user_id(self, party: str) -> str:
        """The transport's user id of a party (the party's name, in-process)."""
        return party

    def observe(self, observer: SimObserver) -> None:
        """Tell `observer` everything from now on (see sim/observer.py)."""
        self.observers.append(observer)

    def add_party(
        self,
        name: str,
        display_name: str = "",
        language: str = "en",
        phone: str = "",
        *,
        role: str = "",
        registered: bool = False,
    ) -> Party:
        """A party in the simulator. `registered` and `role` only inform observers: whoever
        seeds a registered party writes its user row (sim/scenarios/world.py)."""
        party = Party(name, display_name or name.capitalize(), language, phone)
        self.parties[name] = party
        self._joining(party)
        for observer in self.observers:
            observer.party_added(party, role, registered)
        return party

    def _joining(self, party: Party) -> None:
        """A transport's own part of adding a party (the Telegram runner's emulated user)."""

    def seeded(self, party: str, given: dict[str, Any]) -> None:
        """Tell observers that `party`'s state was seeded (the scenario format's `given`)."""
        for observer in self.observers:
            observer.seeded(party, given)

    def set_language(self, party: str, locale: str) -> None:
        """Switch the language `party`'s app sends (Telegram's `language_code`), as a tester
        does with `:lang`. Observers hear it first, so one that cannot keep it (a recorder, once
        the party has acted) refuses before anything changed."""
        me = self.parties[party]
        for observer in self.observers:
            observer.language_set(party, locale)
        me.language = locale

    def inject(self, call: str, fault: Fault, times: int = 1) -> None:
        """Queue a fault for a simulated rail call (`processor.authorize`, ...)."""
        if self.rails is None:
            raise SimError("this simulator was given no rails to inject faults into")
        self.rails.injections.queue(call, fault, times)  # KeyError: no such call
        for observer in self.observers:
            observer.injected(call, fault, times)

    def _acting(self, actions: list[Action]) -> None:
        for observer in self.observers:
            observer.acting(actions)

    def _saw(self, event: SeenEvent) -> None:
        self.events.append(event)
        for observer in self.observers:
            observer.seen(event)

    # -- actions --------------------------------------------------------------------------------
    async def text(self, party: str, text: str) -> None:
        kind: InboundKind = "command" if text.startswith("/") else "text"
        await self.act(party, kind, shown=text, text=text)

    async def tap(
        self,
        party: str,
        button: str | None = None,
        *,
        label: str | None = None,
        label_contains: str | None = None,
        on: str | None = None,
        nth: int = 1,
    ) -> None:
        message, found = self.find_button(
            party, button, label=label, label_contains=label_contains, on=on, nth=nth
        )
        await self.act(
            party, "tap", shown=f"[{found.label}]", button=found.id, message=message.ref
        )

    async def share_contact(self, party: str, phone: str | None = None) -> None:
        me = self.parties[party]
        own = phone is None or _digits(phone) == _digits(me.phone)
        number = me.phone if phone is None else phone
        await self.act(
            party, "contact", shown=f"[contact {number}]", phone=number, contact_is_own=own
        )

    async def pin(self, party: str, pin: str) -> None:
        await self.act(party, "pin", shown="[PIN entered]", text=pin)

    async def open_link(self, party: str, link: str) -> None:
        token = link.rsplit("start=", 1)[-1]
        await self.act(party, "link", shown=f"[opened {link}]", text=token)

    async def pay_code(self, party: str, code: str) -> None:
        """The party's bank app scans a payment code (or they paste one) and starts paying it."""
        await self.act(party, "code", shown=PAY_CODE_SHOWN, text=code)

    async def biometric(self, party: str, answer: Literal["approve", "refuse"]) -> None:
        await self.act(party, "biometric", shown=f"[biometric: {answer}]", text=answer)

    async def advance(self, by: timedelta) -> None:
        self._advancing(by)
        self.clock.advance(by)
        await self.settle()

    def _advancing(self, by: timedelta) -> None:
        for observer in self.observers:
            observer.advanced(by)

    async def act(self, party: str, kind: InboundKind, *, shown: str, **fields: Any) -> str:
        """Deliver one event from `party` (shown in their chat as `shown`), then settle."""
        me = self.parties[party]
        self._acting([Action(party, kind, shown, fields)])
        key = f"sim:{self._session}:{next(self._keys)}"
        me.chat.append(self._own(key, shown))
        inbound = Inbound(
            key=key,
            user=party,
            kind=kind,
            can_biometric=True,  # the simulated phone has a fingerprint reader
            known_phone=me.phone,  # like WhatsApp, the simulated app knows its own number
            language=me.language,
            name=me.display_name,
            **fields,
        )
        await self.deliver(await self.engine.handle(inbound))
        await self.settle()
        return key

    def _own(self, key: str, shown: str) -> ChatMessage:
        return ChatMessage(InboundMessage(key).pack(), shown, from_bot=False, at=self.clock.now())

    def was_deleted(self, party: str, key: str) -> bool:
        """Whether the bot deleted the party's own message (a typed PIN or card number)."""
        ref = InboundMessage(key).pack()
        return any(m.ref == ref and m.deleted for m in self.parties[party].chat)

    async def together(self, actions: list[tuple[str, InboundKind, str, dict[str, Any]]]) -> None:
        """Deliver several events before delivering any reply (double taps, races)."""
        import asyncio

        self._acting([Action(p, kind, shown, fields) for p, kind, shown, fields in actions])
        inbounds = []
        for party, kind, shown, fields in actions:
            me = self.parties[party]
            key = f"sim:{self._session}:{next(self._keys)}"
            me.chat.append(self._own(key, shown))
            inbounds.append(
                Inbound(
                    key=key,
                    user=party,
                    kind=kind,
                    can_biometric=True,
                    known_phone=me.phone,
                    language=me.language,
                    name=me.display_name,
                    **fields,
                )
            )
        results = await asyncio.gather(*(self.engine.handle(i) for i in inbounds))
        # In the order the engine committed them (the outbox sequence), not the order sent:
        # which of two racing events wins is the engine's business, and a chat shows the winner's
        # replies first.
        await self.deliver(sorted((o for outs in results for o in outs), key=lambda o: o.seq))
        await self.settle()

    async def settle(self) -> None:
        await self.deliver(await self.outbox.undelivered())
        await self.deliver(await self.engine.run_due())

    # -- delivery -------------------------------------------------------------------------------
    async def deliver(self, outs: list[Outbound]) -> None:
        done: list[tuple[Outbound, str]] = []
        for out in outs:
            platform_id = self._apply(out)
            if platform_id is not None:  # to a party not (yet) here: delivered later
                done.append((out, platform_id))
        if done:
            await self.outbox.delivered(done)

    def _apply(self, out: Outbound) -> str | None:
        """Show `out` to its party; the platform id, or None when there is no such party."""
        if out.kind == "sms":
            owner = next(
                (p for p in self.parties.values() if _digits(p.phone) == _digits(out.phone)), None
            )
            if owner is None:
                return None
            owner.sms.append(out.text)
            self._saw(SeenEvent(owner.name, "sms", "sms", out.key, out.text, at=self.clock.now()))
            return ""
        party = self.parties.get(out.to)
        if party is None:
            return None
        if out.kind in ("send", "photo"):
            platform_id = str(next(self._platform_ids))
            if not any(m.ref == out.ref for m in party.chat):  # redelivery after a restart
                party.chat.append(
                    ChatMessage(
                        out.ref,
                        out.text,
                        True,
                        out.key,
                        out.buttons,
                        qr=out.qr,
                        pin_pad=out.pin_pad,
                        ask_contact=out.ask_contact,
                        at=self.clock.now(),
                    )
                )
            self._saw(
                SeenEvent(
                    party.name, "chat", out.kind, out.key, out.text, out.buttons, out.ref, out.qr
                )
            )
            return platform_id
        if out.kind == "toast":
            self._saw(
                SeenEvent(party.name, "chat", "toast", out.key, out.text, at=self.clock.now())
            )
            return ""
        target = next((m for m in reversed(party.chat) if m.ref == out.ref), None)
        if target is not None:
            if out.kind == "edit":
                target.past_buttons += target.buttons
                target.text, target.key, target.buttons = out.text, out.key, out.buttons
                target.pin_pad, target.ask_contact = out.pin_pad, out.ask_contact
                target.edited = True
            else:
                target.deleted = True
                if not target.from_bot:
                    target.text = "[deleted]"  # a typed secret leaves the transcript too
        self._saw(SeenEvent(party.name, "chat", out.kind, out.key, out.text, out.buttons, out.ref))
        return ""

    # -- looking ------------------------------------------------------------------------------
    def find_button(
        self,
        party: str,
        button: str | None = None,
        *,
        label: str | None = None,
        label_contains: str | None = None,
        label_regex: str | None = None,
        on: str | None = None,
        nth: int = 1,
    ) -> tuple[ChatMessage, Button]:
        def matches(b: Button) -> bool:
            if button is not None:
                return b.id == button
            if label is not None:
                return b.label == label
            if label_regex is not None:
                return patterns.search(label_regex, b.label) is not None
            return label_contains is not None and label_contains in b.label

        messages = [m for m in reversed(self.parties[party].chat) if m.from_bot and not m.deleted]
        if on is not None:
            messages = [m for m in messages if m.ref == on]
        for message in messages:
            rows = message.buttons + (message.past_buttons if on is not None else ())
            found = [b for row in rows for b in row if matches(b)]
            if len(found) >= nth:
                return message, found[nth - 1]
        present = [f"{b.id} ({b.label})" for m in messages[:3] for row in m.buttons for b in row]
        wanted = button or label or label_contains or label_regex
        raise TapError(
            f"{party} has no button {wanted!r} to tap; buttons present: "
            f"{', '.join(present) or 'none'}"
        )


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())

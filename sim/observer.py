"""What a `Simulator` tells the parts that watch it (a recorder, a web page's export): every
party added or seeded, every action before it is delivered, everything a party saw, every clock
move and every fault queued. A narrow Protocol, so whatever drives the simulator (the REPL, the
scenario runner, the web simulator) is seen the same way, and an observer knows no driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from core.messages import InboundKind
from payments.rails.base import Fault
from sim.seen import Party, SeenEvent


@dataclass(frozen=True)
class Action:
    """One event from a party, as the simulator is about to deliver it: `fields` are the
    Inbound's (`text` for text, commands, PINs, links and biometric answers; `button` and
    `message` for a tap; `phone` and `contact_is_own` for a shared contact)."""

    party: str
    kind: InboundKind
    shown: str
    fields: Mapping[str, Any] = field(default_factory=dict)


class SimObserver(Protocol):
    def party_added(self, party: Party, role: str, registered: bool) -> None:
        """A party joined; `registered` ones were seeded with `role` (no onboarding)."""

    def seeded(self, party: str, given: Mapping[str, Any]) -> None:
        """State was seeded for a registered party (the scenario format's `given`)."""

    def language_set(self, party: str, locale: str) -> None:
        """The party's app language is about to become `locale` (a tester's switch, not the
        bot's `/language`, which the party does as an action). An observer may refuse with a
        `SimError`: nothing changes then."""

    def acting(self, actions: Sequence[Action]) -> None:
        """Actions about to be delivered: one, or several delivered `together`. Called before
        the engine sees them, while the chats still show what the party acted on."""

    def seen(self, event: SeenEvent) -> None:
        """A party saw something (a message, edit, deletion, toast or SMS)."""

    def advanced(self, by: timedelta) -> None:
        """The virtual clock is about to move by `by` (due jobs then fire)."""

    def injected(self, call: str, fault: Fault, times: int) -> None:
        """A fault was queued for a simulated rail call."""

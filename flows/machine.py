"""What every flow shares: the per-event context, reply intents, and the shared-machine runner.

A flow is one module: states as an `Enum`, transitions as data, and a model class whose methods are
the conditions and callbacks. One `Machine` per flow serves every conversation: per event the
engine builds a throw-away model from the stored state and fires
`machine.events[trigger].trigger(model)`; nothing stays registered while a conversation is idle.
Callbacks never await: they read and write through `ctx.tx` (the unit of work's repository) and
record replies with `ctx.say`, which the engine renders and commits with the state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from transitions import Machine

from bot.messages import Inbound, OutboundKind
from payments.records import User

if TYPE_CHECKING:
    from bot.clock import IdSource
    from bot.config import Market, Settings
    from payments.rails.base import Rails
    from storage.base import Tx

# Unknown input for a state is normal here (the flow answers with a hint), so transitions' own
# "can't trigger" warnings are noise; and INFO would triple the cost of every trigger.
logging.getLogger("transitions").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class Btn:
    """A button intent: a stable id, and either a data label (a bank name, `Visa •••• 4242`) or
    the template key of its label (`button.<key>`, default the id)."""

    id: str
    label: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Say:
    key: str
    to: str
    kind: OutboundKind = "send"
    vars: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Btn, ...], ...] = ()
    ref: str = ""
    ask_contact: bool = False
    pin_pad: bool = False
    phone: str = ""


class Ctx:
    """Everything one event may use. Built by the engine, discarded after the event."""

    def __init__(
        self,
        *,
        tx: Tx,
        settings: Settings,
        now: datetime,
        ids: IdSource,
        rails: Rails,
        inbound: Inbound,
        user: User | None,
    ) -> None:
        self.tx = tx
        self.settings = settings
        self.now = now
        self.ids = ids
        self.rails = rails
        self.inbound = inbound
        self.user = user
        self.says: list[Say] = []

    @property
    def me(self) -> User:
        if self.user is None:
            raise LookupError("this step needs a registered party")
        return self.user

    @property
    def market(self) -> Market:
        market = self.settings.market(self.me.market)
        if market is None:
            raise LookupError(f"market {self.me.market} is not configured")
        return market

    def say(
        self,
        key: str,
        to: str | None = None,
        *,
        buttons: tuple[tuple[Btn, ...], ...] = (),
        kind: OutboundKind = "send",
        ref: str = "",
        ask_contact: bool = False,
        pin_pad: bool = False,
        sms_phone: str = "",
        **vars: Any,
    ) -> None:
        """Record a reply. Keyword arguments other than these controls are template values."""
        self.says.append(
            Say(
                key,
                to or self.inbound.user,
                kind,
                vars,
                buttons,
                ref,
                ask_contact,
                pin_pad,
                sms_phone,
            )
        )

    def delete_inbound(self) -> None:
        """Remove the person's own message (a typed PIN or card number) from the chat."""
        self.say("chat.deleted", kind="delete", ref=f"in:{self.inbound.key}")


class FlowModel:
    """The throw-away model of one event. Subclasses add conditions and callbacks."""

    flow: ClassVar[str]

    def __init__(self, ctx: Ctx, state: Enum, data: dict[str, Any]) -> None:
        self.ctx = ctx
        self.state = state
        self.data = data
        self.done = False
        self.handoff: tuple[str, dict[str, Any]] | None = None

    @property
    def text(self) -> str:
        return self.ctx.inbound.text.strip()

    @property
    def button(self) -> str:
        return self.ctx.inbound.button

    def tapped(self, *ids: str) -> bool:
        return self.button in ids

    def __getattr__(self, name: str) -> Any:
        # `tapped_<id>` conditions, so transitions read as data: conditions="tapped_accept".
        if name.startswith("tapped_"):
            button = name.removeprefix("tapped_")
            return lambda *_: self.ctx.inbound.button == button
        raise AttributeError(name)

    def finish(self, then: str | None = None, **data: Any) -> None:
        """End this flow; `then` names a flow to start next (e.g. adding a method mid-payment)."""
        self.done = True
        if then is not None:
            self.handoff = (then, data)


class Flow:
    """A flow's shared machine plus how to start it and feed it one event."""

    def __init__(
        self,
        name: str,
        model: type[FlowModel],
        states: type[Enum],
        transitions: list[dict[str, Any]],
        initial: Enum,
        on_enter: dict[Enum, str] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.states = states
        self.initial = initial
        self.transitions = transitions
        self.machine = Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=initial,
            auto_transitions=False,
            ignore_invalid_triggers=True,
        )
        for state, callback in (on_enter or {}).items():
            self.machine.get_state(state).add_callback("enter", callback)

    def fire(self, model: FlowModel, trigger: str) -> bool:
        event = self.machine.events.get(trigger)
        if event is None:
            return False
        return bool(event.trigger(model))

    def load(self, ctx: Ctx, state: str, data: dict[str, Any]) -> FlowModel:
        return self.model(ctx, self.states[state], data)

    def mermaid(self) -> str:
        """The flow's diagram, generated from its definition."""
        from transitions.extensions import GraphMachine

        graph = GraphMachine(
            model=None,
            states=self.states,
            transitions=self.transitions,
            initial=self.initial,
            auto_transitions=False,
            graph_engine="mermaid",
            show_conditions=True,
        )
        probe = type("Probe", (), {})()
        graph.add_model(probe)
        text: str = probe.get_graph().draw(None)
        return text

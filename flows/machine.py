"""What every flow shares: the per-event context, reply intents, and the shared-machine runner.

A flow is one module: states as an `Enum`, transitions as data, and a model class whose methods are
the conditions and callbacks. One `Machine` per flow holds the definition; per event the engine
builds a throw-away model from the stored state and fires one trigger on it; nothing stays
registered while a conversation is idle. Firing uses a table compiled once from the Machine's own
parsed transitions (`compile_steps`): the same steps in the same order as
`machine.events[trigger].trigger(model)`, without resolving every callback by name and logging
each step on every event (about half of the engine's time in transitions). A contract test runs
both over every flow and compares them call by call.
Callbacks never await: they read and write through `ctx.tx` (the unit of work's repository) and
record replies with `ctx.say`, which the engine renders and commits with the state.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from transitions import Machine

from core.errors import InvariantBroken
from core.messages import Inbound, OutboundKind
from core.records import User
from core.refs import InboundMessage
from flows import observers

if TYPE_CHECKING:
    from core.clock import IdSource
    from core.settings import Market, Settings
    from payments.rails import Rails
    from storage.rails_rows import TxWithRails

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
    qr: str = ""


class Ctx:
    """Everything one event may use. Built by the engine, discarded after the event."""

    def __init__(
        self,
        *,
        tx: TxWithRails,
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
        # party -> (salt, scheme byte) their next PIN entry is hashed with, when a step changes
        # it (a new PIN asked for, or set): the engine hashes that entry off the writer with it.
        self.pin_salts: dict[str, tuple[bytes, bytes]] = {}

    @property
    def me(self) -> User:
        if self.user is None:
            raise InvariantBroken("this step needs a registered party")
        return self.user

    @property
    def market(self) -> Market:
        market = self.settings.market(self.me.market)
        if market is None:
            raise InvariantBroken(f"market {self.me.market} is not configured")
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
        qr: str = "",
        **vars: Any,
    ) -> None:
        """Record a reply. Keyword arguments other than these controls are template values.
        `qr`: with kind `photo`, the text (a payment code) its QR symbol encodes."""
        if observers.said_listeners:
            observers.said(key)
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
                qr,
            )
        )

    def expect_pin(self, salt: bytes, scheme: bytes) -> None:
        """Say what the party's next PIN entry will be compared with (see `pin_salts`)."""
        self.pin_salts[self.me.id] = (salt, scheme)

    def delete_inbound(self) -> None:
        """Remove the person's own message (a typed PIN or card number) from the chat."""
        self.say("chat.deleted", kind="delete", ref=InboundMessage(self.inbound.key).pack())


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


Call = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Step:
    """One transition of the Machine with its callbacks resolved: what firing it runs, in
    transitions' order (prepare, conditions, before, exit, state, enter, after)."""

    prepare: tuple[Call, ...]
    conditions: tuple[tuple[Call, bool], ...]
    before: tuple[Call, ...]
    dest: Enum | None
    exit: tuple[Call, ...]
    enter: tuple[Call, ...]
    after: tuple[Call, ...]


def _resolve(cls: type, func: Any) -> Call:
    """What transitions' `resolve_callable` would call, decided once per class instead of per
    event: a plain method is called unbound; anything else (a property, `tapped_<id>` from
    `__getattr__`) is looked up on the model and called if callable, as transitions does."""
    if not isinstance(func, str):
        return lambda _model: func()
    static = inspect.getattr_static(cls, func, None)
    if inspect.isfunction(static):
        return static

    def on_model(model: Any) -> Any:
        found = getattr(model, func)
        return found() if callable(found) else found

    return on_model


def compile_steps(
    machine: Machine, states: type[Enum], cls: type
) -> dict[str, dict[str, list[Step]]]:
    """{state: {trigger: [Step, ...]}} from a Machine without machine-level callbacks."""
    if any(
        (
            machine.prepare_event,
            machine.before_state_change,
            machine.after_state_change,
            machine.finalize_event,
            machine.on_exception,
            machine.on_final,
            machine.send_event,
            any(state.final for state in machine.states.values()),
        )
    ):
        raise ValueError("compile_steps covers machines without machine-level callbacks")

    def calls(funcs: Any) -> tuple[Call, ...]:
        return tuple(_resolve(cls, f) for f in funcs)

    table: dict[str, dict[str, list[Step]]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            table.setdefault(source, {})[trigger] = [
                Step(
                    calls(t.prepare),
                    tuple((_resolve(cls, c.func), c.target) for c in t.conditions),
                    calls(t.before),
                    None if t.dest is None else states[t.dest],
                    () if t.dest is None else calls(machine.get_state(t.source).on_exit),
                    () if t.dest is None else calls(machine.get_state(t.dest).on_enter),
                    calls(t.after),
                )
                for t in transitions
            ]
    return table


def fire_steps(table: dict[str, dict[str, list[Step]]], model: Any, trigger: str) -> bool:
    return fire_step(table, model, trigger) is not None


def fire_step(table: dict[str, dict[str, list[Step]]], model: Any, trigger: str) -> Step | None:
    """The step that fired (its conditions held), or None when none did."""
    steps = table.get(model.state.name, {}).get(trigger)
    if not steps:
        return None
    for step in steps:
        for call in step.prepare:
            call(model)
        if all(call(model) == target for call, target in step.conditions):
            for call in step.before:
                call(model)
            if step.dest is not None:
                for call in step.exit:
                    call(model)
                model.state = step.dest
                for call in step.enter:
                    call(model)
            for call in step.after:
                call(model)
            return step
    return None


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
        self.steps = compile_steps(self.machine, states, model)

    def fire(self, model: FlowModel, trigger: str) -> bool:
        source = model.state.name
        step = fire_step(self.steps, model, trigger)
        if step is None:
            return False
        if observers.fired_listeners:
            dest = source if step.dest is None else step.dest.name
            observers.fired(self.name, source, trigger, dest)
        return True

    def transitions_list(self) -> list[tuple[str, str, str]]:
        """Every (source, trigger, destination) the Machine defines, in definition order, each
        once; an internal transition's destination is its source."""
        found: dict[tuple[str, str, str], None] = {}
        for trigger, event in self.machine.events.items():
            for source, transitions in event.transitions.items():
                for t in transitions:
                    found[(source, trigger, t.dest or source)] = None
        return list(found)

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

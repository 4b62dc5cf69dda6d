"""The compiled step table fires exactly as transitions does: every flow, every state, every
trigger, whatever the conditions answer, the same callbacks in the same order, the same state
after and the same result. (The engine fires the table; diagrams and this test use the Machine.)"""

from __future__ import annotations

from enum import Enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import flows.router  # noqa: F401  # registers every flow
from flows.conversation import FLOWS
from flows.machine import compile_steps, fire_steps


class Recorder:
    """A model whose every callback is recorded; conditions answer from a fixed pattern."""

    def __init__(self, state: Enum, answers: list[Any]) -> None:
        self.state = state
        self.calls: list[str] = []
        self._answers = answers

    def answer(self, name: str) -> Any:
        self.calls.append(name)
        return self._answers[len(self.calls) % len(self._answers)]

    def __getattr__(self, name: str) -> Any:
        # Like FlowModel's `tapped_<id>`: found on the instance, not the class.
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *_, **__: self.answer(name)


def recorder_for(machine: Any) -> type[Recorder]:
    """A Recorder with the machine's callbacks as methods (as a flow model has them), except
    `tapped_*`, which stay on `__getattr__`: both ways of resolving are exercised."""
    names = set()
    for event in machine.events.values():
        for transitions in event.transitions.values():
            for t in transitions:
                names.update(c.func for c in t.conditions)
                names.update(t.prepare + t.before + t.after)
    for state in machine.states.values():
        names.update(state.on_enter + state.on_exit)
    methods = {
        name: _recording(name)
        for name in names
        if isinstance(name, str) and not name.startswith("tapped_")
    }
    return type("FlowRecorder", (Recorder,), methods)


def _recording(name: str) -> Any:
    def method(self: Recorder) -> Any:
        return self.answer(name)

    return method


def test_every_flow_has_steps_for_every_trigger_of_its_machine() -> None:
    for flow in FLOWS.values():
        compiled = {(s, t) for s, triggers in flow.steps.items() for t in triggers}
        defined = {(s, t) for t, e in flow.machine.events.items() for s in e.transitions}
        assert compiled == defined, flow.name


@settings(max_examples=40, deadline=None)
@given(answers=st.lists(st.sampled_from([True, False, None, 1, 0]), min_size=1, max_size=7))
def test_the_table_fires_like_transitions(answers: list[Any]) -> None:
    fired_any = 0
    for flow in FLOWS.values():
        model = recorder_for(flow.machine)
        table = compile_steps(flow.machine, flow.states, model)
        for state in flow.states:
            for trigger, event in flow.machine.events.items():
                theirs, ours = model(state, answers), model(state, answers)
                expected = bool(event.trigger(theirs))
                assert fire_steps(table, ours, trigger) is expected, (flow.name, state, trigger)
                assert ours.calls == theirs.calls, (flow.name, state, trigger)
                assert ours.state == theirs.state, (flow.name, state, trigger)
                fired_any += expected
    assert fired_any  # the patterns do reach transitions, not only refusals

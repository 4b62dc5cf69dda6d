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

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*_: Any, **__: Any) -> Any:
            self.calls.append(name)
            return self._answers[len(self.calls) % len(self._answers)]

        return call


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
        table = compile_steps(flow.machine, flow.states, Recorder)
        for state in flow.states:
            for trigger, event in flow.machine.events.items():
                theirs, ours = Recorder(state, answers), Recorder(state, answers)
                expected = bool(event.trigger(theirs))
                assert fire_steps(table, ours, trigger) is expected, (flow.name, state, trigger)
                assert ours.calls == theirs.calls, (flow.name, state, trigger)
                assert ours.state == theirs.state, (flow.name, state, trigger)
                fired_any += expected
    assert fired_any  # the patterns do reach transitions, not only refusals

"""Flow coverage: which transitions of every flow's `Machine` (flow, source, trigger,
destination) and which message keys a scenario run exercised, and which it never did.

The flows tell `flows.observers` what fired and what they said; `Recorder` listens while the
scenarios run (`paychat test --coverage`, the pytest plugin's `--paychat-coverage`). A run on
several processes (pytest-xdist) merges each worker's `Coverage` (`to_json` / `from_json`,
`merge`). What there is to cover comes from the definitions themselves: every transition the
Machines define and every message template (labels of buttons and of commands are not messages).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.render import template_keys
from flows import observers

Transition = tuple[str, str, str, str]  # flow, source, trigger, destination
NOT_MESSAGES = ("button.", "command.")  # labels and command descriptions, not messages
BELOW_FAIL_UNDER = 6  # exit code: every case passed, but transitions were below --fail-under


def transitions() -> list[Transition]:
    """Every transition of every flow, in definition order."""
    import flows.router  # noqa: F401  # registers every flow
    from flows.conversation import FLOWS

    return [(name, *t) for name, flow in FLOWS.items() for t in flow.transitions_list()]


def message_keys() -> list[str]:
    return sorted(k for k in template_keys() if not k.startswith(NOT_MESSAGES))


@dataclass
class Coverage:
    """What a run exercised."""

    fired: set[Transition] = field(default_factory=set)
    said: set[str] = field(default_factory=set)

    def merge(self, other: Coverage) -> None:
        self.fired |= other.fired
        self.said |= other.said

    def to_json(self) -> str:
        return json.dumps({"fired": sorted(self.fired), "said": sorted(self.said)})

    @classmethod
    def from_json(cls, text: str) -> Coverage:
        data = json.loads(text)
        return cls({(f, s, t, d) for f, s, t, d in data["fired"]}, set(data["said"]))


@contextmanager
def recording(into: Coverage) -> Iterator[Coverage]:
    """Listen to the flows while the block runs (on every thread: a unit of work on a file
    database runs on the database's thread)."""

    def fired(flow: str, source: str, trigger: str, dest: str) -> None:
        into.fired.add((flow, source, trigger, dest))

    observers.fired_listeners.append(fired)
    observers.said_listeners.append(into.said.add)
    try:
        yield into
    finally:
        observers.fired_listeners.remove(fired)
        observers.said_listeners.remove(into.said.add)


@dataclass(frozen=True)
class FlowFigures:
    flow: str
    exercised: int
    total: int
    never: list[Transition]

    @property
    def percent(self) -> float:
        return 100.0 * self.exercised / self.total if self.total else 100.0


@dataclass(frozen=True)
class Summary:
    """Coverage against the definitions: per flow, overall, and the message keys."""

    flows: list[FlowFigures]
    keys_exercised: list[str]
    keys_never: list[str]

    @property
    def exercised(self) -> int:
        return sum(f.exercised for f in self.flows)

    @property
    def total(self) -> int:
        return sum(f.total for f in self.flows)

    @property
    def percent(self) -> float:
        return 100.0 * self.exercised / self.total if self.total else 100.0

    @property
    def keys_percent(self) -> float:
        total = len(self.keys_exercised) + len(self.keys_never)
        return 100.0 * len(self.keys_exercised) / total if total else 100.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON for CI (`--coverage-json`)."""
        return {
            "transitions": {
                "exercised": self.exercised,
                "total": self.total,
                "percent": round(self.percent, 2),
            },
            "flows": {
                f.flow: {
                    "exercised": f.exercised,
                    "total": f.total,
                    "percent": round(f.percent, 2),
                    "never": [
                        {"source": s, "trigger": t, "destination": d} for _, s, t, d in f.never
                    ],
                }
                for f in self.flows
            },
            "message_keys": {
                "exercised": len(self.keys_exercised),
                "total": len(self.keys_exercised) + len(self.keys_never),
                "percent": round(self.keys_percent, 2),
                "never": self.keys_never,
            },
        }


def summarise(coverage: Coverage) -> Summary:
    by_flow: dict[str, list[Transition]] = {}
    for t in transitions():
        by_flow.setdefault(t[0], []).append(t)
    flows = [
        FlowFigures(
            name,
            sum(t in coverage.fired for t in defined),
            len(defined),
            [t for t in defined if t not in coverage.fired],
        )
        for name, defined in by_flow.items()
    ]
    keys = message_keys()
    return Summary(
        flows,
        [k for k in keys if k in coverage.said],
        [k for k in keys if k not in coverage.said],
    )

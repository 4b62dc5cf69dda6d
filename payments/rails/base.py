"""Seams shared by the simulated rails: named fault injection and a call log.

Every rail call has a name (`processor.authorize`, `bank.transfer`, `sms.send`, ...). Before doing
its normal work a rail asks `Injections.take(name, args)` for a queued fault; every call is
recorded in the `CallLog`. Tests and scenarios queue faults by name and assert on calls by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

CALL_NAMES = (
    "processor.authorize",
    "processor.status",
    "processor.refund",
    "bank.accounts",
    "bank.transfer",
    "bank.refund",
    "sms.send",
)
Outcome = Literal["ok", "declined", "error", "timeout", "delay"]
ResultStatus = Literal["succeeded", "declined", "error", "unknown"]


@dataclass(frozen=True, slots=True)
class RailResult:
    """What a rail answered: `unknown` is a call that did not answer in time (deemed)."""

    status: ResultStatus
    code: str | None = None


@dataclass(frozen=True)
class Fault:
    outcome: Outcome
    code: str | None = None
    by: timedelta | None = None
    when: Mapping[str, Any] = field(default_factory=dict)


class Injections:
    def __init__(self) -> None:
        self._queues: dict[str, list[list[Any]]] = {}

    def queue(self, name: str, fault: Fault, times: int = 1) -> None:
        if name not in CALL_NAMES:
            raise KeyError(f"unknown rail call {name!r}; known: {', '.join(CALL_NAMES)}")
        self._queues.setdefault(name, []).append([fault, times])

    def take(self, name: str, args: Mapping[str, Any]) -> Fault | None:
        for entry in self._queues.get(name, []):
            fault, times = entry
            if all(str(args.get(k)) == str(v) for k, v in fault.when.items()):
                entry[1] = times - 1
                if entry[1] <= 0:
                    self._queues[name].remove(entry)
                return fault  # type: ignore[no-any-return]  # entries are [Fault, int]
        return None

    def unconsumed(self) -> list[tuple[str, Fault, int]]:
        return [(name, f, t) for name, entries in self._queues.items() for f, t in entries]

    def clear(self) -> None:
        self._queues.clear()


class CallLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, name: str, **args: Any) -> None:
        self.calls.append((name, args))

    def count(self, name: str, since: int = 0, **match: Any) -> int:
        return sum(
            1
            for n, a in self.calls[since:]
            if n == name and all(str(a.get(k)) == str(v) for k, v in match.items())
        )

"""Strict matching of what each channel received against a step's expectations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.messages import Button
from sim import patterns
from sim.simulator import SeenEvent


@dataclass
class Scope:
    """Variables (captures, params) and saved messages, as a scenario runs."""

    vars: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (party, ref)
    secret: set[str] = field(default_factory=set)  # captured from an SMS: masked in reports


def fold(text: str) -> str:
    return " ".join(text.split())


def _label_ok(button: Button, spec: Any) -> bool:
    if isinstance(spec, str):
        return button.id == spec
    if "label" in spec:
        return bool(button.label == spec["label"])
    if "label_contains" in spec:
        return str(spec["label_contains"]) in button.label
    if "label_regex" in spec:
        return patterns.search(str(spec["label_regex"]), button.label) is not None
    return False


def check(event: SeenEvent, matcher: Any, scope: Scope) -> str | None:
    """Why `event` does not satisfy `matcher` (None when it does); captures go into `scope`."""
    if isinstance(matcher, str):
        return None if fold(event.text) == fold(matcher) else f"text is {event.text!r}"
    kind = matcher.get("kind")
    if kind is None and event.kind not in ("send", "photo", "toast", "sms"):
        return f"it is a {event.kind}, not a message"
    if kind is not None and event.kind != kind:
        return f"it is a {event.kind}, not a {kind}"
    if "of" in matcher:
        saved = scope.saved.get(str(matcher["of"]))
        if saved is None or saved[1] != event.ref:
            return f"it changes another message than {matcher['of']!r}"
    if "says" in matcher and event.key != matcher["says"]:
        return f"it says {event.key}"
    if "text" in matcher and fold(event.text) != fold(str(matcher["text"])):
        return f"text is {event.text!r}"
    contains = matcher.get("contains", [])
    for part in [contains] if isinstance(contains, str) else contains:
        if str(part) not in event.text:
            return f"text lacks {part!r}: {event.text!r}"
    not_contains = matcher.get("not_contains", [])
    for part in [not_contains] if isinstance(not_contains, str) else not_contains:
        if str(part) in event.text:
            return f"text contains {part!r}"
    buttons = [b for row in event.buttons for b in row]
    if "buttons" in matcher:
        wanted = matcher["buttons"]
        if wanted == "none" or wanted is None:
            if buttons:
                return f"it has buttons {[b.id for b in buttons]}"
        else:
            rows = [list(row) for row in event.buttons]
            if len(rows) != len(wanted) or any(
                len(r) != len(w) or not all(_label_ok(b, s) for b, s in zip(r, w, strict=True))
                for r, w in zip(rows, wanted, strict=True)
            ):
                return f"buttons are {[[b.id for b in r] for r in rows]}"
    for spec in matcher.get("buttons_include", []):
        if not any(_label_ok(b, spec) for b in buttons):
            return f"no button {spec!r} among {[f'{b.id} ({b.label})' for b in buttons]}"
    if "regex" in matcher:
        found = patterns.search(str(matcher["regex"]), event.text)
        if found is None:
            return f"text does not match /{matcher['regex']}/: {event.text!r}"
        captured = {k: v for k, v in found.groupdict().items() if v is not None}
        scope.vars.update(captured)
        if event.channel == "sms":
            scope.secret.update(captured)
    if "save" in matcher:
        scope.saved[str(matcher["save"])] = (event.party, event.ref)
    return None


def match_channel(
    events: list[SeenEvent], matchers: list[Any], strict: bool, scope: Scope
) -> list[str]:
    """Match in order. Strict: every non-toast event must be matched; toasts only where named."""
    problems: list[str] = []
    position = 0
    for matcher in matchers:
        reasons = []
        while position < len(events):
            event = events[position]
            position += 1
            why = check(event, matcher, scope)
            if why is None:
                break
            reasons.append(f"{event.kind} {event.key}: {why}")
            if strict and event.kind != "toast":
                problems.append(f"expected {show(matcher)} but {reasons[-1]}")
                return problems
        else:
            detail = "; ".join(reasons) if reasons else "nothing (more) arrived"
            problems.append(f"expected {show(matcher)} but got {detail}")
            return problems
    if strict:
        problems += [
            f"unexpected {e.kind} {e.key}: {e.text!r}"
            for e in events[position:]
            if e.kind != "toast"
        ]
    return problems


def show(matcher: Any) -> str:
    if isinstance(matcher, str):
        return repr(matcher)
    return "{" + ", ".join(f"{k}: {v}" for k, v in matcher.items()) + "}"

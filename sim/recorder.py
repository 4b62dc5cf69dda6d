"""A session recorded as a scenario: everything done to a `Simulator` becomes a `*.convo.yaml`
that `paychat test` replays (shared/spec/scenarios.md).

The recorder is an observer (sim/observer.py): it knows no driver, so the REPL's `--record`
and the web simulator's export are the same code. It keeps what happened as it happened
(parties, `given`, actions, what each party saw, clock moves, faults) and writes the file on
demand, so `to_yaml()` can be called at any moment and again later.

What the file asserts: after each action, every message, edit, deletion, toast and SMS, by
message key and in order, strictly (the format's default), so a replay that says anything else
fails. Values that differ on every run (request, payment and refund ids, payment-link tokens,
SMS codes) are captured where they first appeared with a `regex` and used again as `${name}`
where the session typed them. A tap is written by the button's id, with `on:` a saved message
when the tapped message is not the newest with that id; a button whose id itself holds such a
value (a payment method while paying) is written by its label, since its id never repeats.

Secrets: a PIN and a typed card number are written as the format needs them for the replay
(`{pin: "2580"}`, the card's text), nowhere else, and never in a comment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from payments.rails.base import Fault
from sim.errors import SimError
from sim.observer import Action
from sim.simulator import Party, SeenEvent, Simulator, TapError

# Values that differ on every run. A ref: `PR-7KQ2M9XA4B` (core/clock.py); a link's token, after
# `start=`; an SMS code: digits, captured only from an SMS (elsewhere digits are amounts, phone
# numbers, times).
_REF = re.compile(r"(?<![A-Za-z0-9-])([A-Z]{2,4})-[A-Z0-9]{6,}(?![A-Za-z0-9])")
_TOKEN = re.compile(r"(?<=start=)[A-Za-z0-9_-]{8,}")
_CODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")
_NAMES = {"PR": "req", "TX": "tx", "RF": "rf", "PM": "method"}


class NotRecordable(SimError):
    """Something done in the session that a scenario cannot say, so its replay would differ: the
    session refuses it (a language switch) or the file is not written (an earlier session's
    party). The message names the party and what to do instead."""


@dataclass
class _Step:
    """One recorded step: an action (or several `together`), a clock move or a fault, and what
    the parties saw because of it."""

    actions: list[tuple[str, Any]] = field(default_factory=list)  # (party, action as written)
    together: bool = False
    advance: timedelta | None = None
    inject: tuple[str, dict[str, Any]] | None = None
    events: list[SeenEvent] = field(default_factory=list)


@dataclass(frozen=True)
class _Shape:
    """How to find a volatile value again in a replayed text: its pattern and a name stem."""

    pattern: str
    stem: str


# A payment code as a code photo's caption ends with it (its own line: a Pix code has spaces).
_PAY_CODE = _Shape(r"(?:000201|upi://)[^\n]+", "paycode")


class Recorder:
    """Watches `sim` from now on (`sim.observe(self)` is done here). Attach it before the first
    party is added: parties added before are not in the recording."""

    def __init__(
        self, sim: Simulator, name: str = "Recorded session", tags: Sequence[str] = ("recorded",)
    ) -> None:
        self.sim = sim
        self.name = name
        self.tags = list(tags)
        self.start: datetime = sim.clock.now()
        self.parties: dict[str, dict[str, Any]] = {}
        self.given: dict[str, dict[str, Any]] = {}
        self.steps: list[_Step] = []
        self._saved: dict[tuple[str, str], str] = {}  # (party, message ref) -> saved name
        self._earlier: dict[str, list[str]] = {}  # party from an earlier session -> held
        sim.observe(self)

    # -- the observer (sim/observer.py) -----------------------------------------------------
    def party_added(self, party: Party, role: str, registered: bool) -> None:
        spec: dict[str, Any] = {"role": role, "phone": party.phone, "name": party.display_name}
        spec["locale"] = party.language
        if not registered:
            spec["registered"] = False
        self.parties[party.name] = spec

    def seeded(self, party: str, given: Mapping[str, Any]) -> None:
        mine = self.given.setdefault(party, {})
        for key, value in _plain(given).items():
            if key == "methods":
                mine.setdefault("methods", []).extend(value)
            else:
                mine[key] = value

    def language_set(self, party: str, locale: str) -> None:
        """A scenario says a party's language once, as its `locale:` in `parties`, which is
        what its app sends from the start (and a registered party's kept language). So a switch
        before the party's first action is written there; after it, no step of the format
        switches an app's language (`/language`, an action, covers an offered language of a
        registered party), and the switch is refused rather than replayed wrong."""
        if party not in self.parties:
            return
        if self._acted(party):
            raise NotRecordable(
                f"{party} has already acted, and a recording can set a party's language only "
                "before its first action (its locale: in the scenario): switch it before, or "
                "once signed up type /language, which is recorded as a step"
            )
        self.parties[party]["locale"] = locale

    def brought_back(self, party: str, held: Sequence[str]) -> None:
        """`party` is from an earlier session on the same database and `held` what it had from
        then that no `given` can be written from (a PIN, kept only as a hash; sealed card
        numbers; requests): `to_yaml` refuses, naming the party and what it held."""
        self._earlier[party] = list(held)

    def acting(self, actions: Sequence[Action]) -> None:
        written = [(a.party, self._action(a)) for a in actions if a.party in self.parties]
        if written:
            self.steps.append(_Step(written, together=len(actions) > 1))

    def seen(self, event: SeenEvent) -> None:
        if event.party in self.parties and self.steps:  # (before any step: nothing to expect it)
            self.steps[-1].events.append(event)

    def advanced(self, by: timedelta) -> None:
        self.steps.append(_Step(advance=by))

    def injected(self, call: str, fault: Fault, times: int) -> None:
        spec: dict[str, Any] = {"outcome": fault.outcome}
        if fault.code is not None:
            spec["code"] = fault.code
        if fault.by is not None:
            spec["by"] = _duration(fault.by)
        if fault.when:
            spec["when"] = _plain(fault.when)
        if times != 1:
            spec["times"] = times
        self.steps.append(_Step(inject=(call, spec)))

    # -- writing ----------------------------------------------------------------------------
    def to_yaml(self) -> str:
        """The session so far as a `*.convo.yaml` (the whole file, as text). NotRecordable when
        a party came back from an earlier session (see `brought_back`)."""
        if self._earlier:
            had = ", ".join(f"{who} ({'; '.join(what)})" for who, what in self._earlier.items())
            raise NotRecordable(
                f"{had} came back from an earlier session on this database, and a scenario's "
                "given cannot be written from that, so its replay would fail: export a session "
                "whose parties joined in it or came back with only their sign-up (a new --db)"
            )
        doc: dict[str, Any] = {
            "version": 1,
            "name": self.name,
            "tags": self.tags,
            "clock": {"start": self.start.isoformat()},
            "parties": {name: self._party(name, spec) for name, spec in self.parties.items()},
        }
        if self.given:
            doc["given"] = self.given
        doc["steps"] = _Writer(self).steps()
        return str(
            yaml.safe_dump(
                doc, sort_keys=False, allow_unicode=True, width=99, default_flow_style=None
            )
        )

    def save(self, path: str | Path) -> None:
        """Write `to_yaml()` to `path` (UTF-8)."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    # -- helpers ----------------------------------------------------------------------------
    def _acted(self, party: str) -> bool:
        return any(who == party for step in self.steps for who, _ in step.actions)

    def _party(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """A party as written: an unregistered one's role is what it chose while onboarding
        (the format wants one; it is not used until then)."""
        if spec["role"]:
            return spec
        chosen = next(
            (
                action["tap"]
                for step in self.steps
                for party, action in step.actions
                if party == name
                and isinstance(action, dict)
                and action.get("tap") in ("business", "customer")
            ),
            "customer",
        )
        return {**spec, "role": chosen}

    def _action(self, action: Action) -> Any:
        fields = action.fields
        if action.kind in ("text", "command"):
            return str(fields.get("text", ""))
        if action.kind == "pin":
            return {"pin": str(fields.get("text", ""))}
        if action.kind == "contact":
            if fields.get("contact_is_own", True):
                return {"share_contact": True}
            return {"share_contact": str(fields.get("phone", ""))}
        if action.kind == "link":
            return {"open_link": str(fields.get("text", ""))}
        if action.kind == "biometric":
            return {"biometric": str(fields.get("text", ""))}
        if action.kind == "code":
            return {"pay_code": str(fields.get("text", ""))}
        if action.kind == "tap":
            return self._tap(action.party, str(fields["button"]), str(fields["message"]))
        return {action.kind: str(fields.get("text", ""))}  # a kind the format may add later

    def _tap(self, party: str, button: str, message: str) -> dict[str, Any]:
        """The tap as the runner will find the same button again: by id on the newest message
        that has it, else on the saved message; by label when the id holds a volatile value."""
        if not _REF.search(button):
            if self._finds(party, message, button, button):
                return {"tap": button}
            return {"tap": button, "on": self._save(party, message)}
        label = next(
            (
                b.label
                for m in self.sim.parties[party].chat
                if m.ref == message
                for row in m.buttons + m.past_buttons
                for b in row
                if b.id == button
            ),
            None,
        )
        if label is None:
            return {"tap": button}  # not on a message this party has: replayed as the id
        for nth in range(1, 20):
            if self._finds(party, message, button, None, label=label, nth=nth):
                return {"tap": {"label": label, **({"nth": nth} if nth > 1 else {})}}
        on = self._save(party, message)
        for nth in range(1, 20):
            if self._finds(party, message, button, None, label=label, nth=nth, on=message):
                return {"tap": {"label": label, **({"nth": nth} if nth > 1 else {})}, "on": on}
        return {"tap": {"label": label}, "on": on}

    def _finds(self, party: str, message: str, button: str, by_id: str | None, **how: Any) -> bool:
        """Whether the runner, asked this way, would tap `button` on `message` again."""
        try:
            found, tapped = self.sim.find_button(party, by_id, **how)
        except TapError:
            return False
        return found.ref == message and tapped.id == button

    def _save(self, party: str, message: str) -> str:
        key = (party, message)
        if key not in self._saved:
            self._saved[key] = f"msg{len(self._saved) + 1}"
        return self._saved[key]


class _Writer:
    """Builds the steps from a recording: matchers by message key, then the volatile values the
    session typed again, each captured where it was first seen and replaced by `${name}`."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.matchers: dict[tuple[int, int], dict[str, Any]] = {}
        self.captures: dict[tuple[int, int], list[tuple[int, str, _Shape]]] = {}
        self.names: dict[str, str] = {}  # value -> variable
        self.saves_done: set[tuple[str, str]] = set()

    def steps(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for index, step in enumerate(self.recorder.steps):
            written: dict[str, Any] = {}
            if step.inject is not None:
                call, fault = step.inject
                written["inject"] = {call: [fault]}
            if step.advance is not None:
                written["advance"] = _duration(step.advance)
            actions = [(party, self._reuse(action, index)) for party, action in step.actions]
            if step.together:
                written["together"] = [{party: action} for party, action in actions]
            else:
                written.update(actions)
            expect = self._expect(index, step)
            if expect:
                written["expect"] = expect
            out.append(written)
        for (index, position), found in self.captures.items():
            matcher = self.matchers[(index, position)]
            event = self.recorder.steps[index].events[position]
            regex = _regex(event.text, found)
            if regex is not None:
                matcher["regex"] = regex
        return out

    def _expect(self, index: int, step: _Step) -> dict[str, list[Any]]:
        channels: dict[str, list[Any]] = {}
        for position, event in enumerate(step.events):
            matcher: dict[str, Any] = {}
            if event.kind not in ("send", "sms"):
                matcher["kind"] = event.kind
            if event.key and event.kind != "delete":
                matcher["says"] = event.key
            saved = self.recorder._saved.get((event.party, event.ref))
            if saved and event.kind == "send" and (event.party, event.ref) not in self.saves_done:
                matcher["save"] = saved
                self.saves_done.add((event.party, event.ref))
            self.matchers[(index, position)] = matcher
            channel = event.party + (".sms" if event.channel == "sms" else "")
            channels.setdefault(channel, []).append(matcher)
        return channels

    def _reuse(self, action: Any, index: int) -> Any:
        """`action` with every volatile value seen before replaced by its `${name}`."""
        if isinstance(action, str):
            return self._substitute(action, index)
        if isinstance(action, dict) and "open_link" in action:
            token = str(action["open_link"])
            shape = _Shape(r"(?<=start=)[A-Za-z0-9_-]+", "link")
            name = self._capture(token, shape, index, sms_only=False)
            return {"open_link": f"${{{name}}}"} if name else action
        if isinstance(action, dict) and "pay_code" in action:
            # A payment code names its request: the one a code photo's caption showed.
            code = str(action["pay_code"])
            name = self._capture(code, _PAY_CODE, index, sms_only=False)
            return {"pay_code": f"${{{name}}}"} if name else action
        return action

    def _substitute(self, text: str, index: int) -> str:
        found: list[tuple[re.Match[str], _Shape, bool]] = []
        for match in _REF.finditer(text):
            stem = _NAMES.get(match[1], match[1].lower())
            pattern = rf"(?<![A-Za-z0-9-]){match[1]}-[A-Z0-9]+(?![A-Za-z0-9])"
            found.append((match, _Shape(pattern, stem), False))
        for match in _TOKEN.finditer(text):
            found.append((match, _Shape(r"(?<=start=)[A-Za-z0-9_-]+", "link"), False))
        for match in _CODE.finditer(text):
            found.append((match, _Shape(rf"(?<!\d)\d{{{len(match[0])}}}(?!\d)", "code"), True))
        for match, shape, sms_only in sorted(found, key=lambda f: -f[0].start()):
            name = self._capture(match[0], shape, index, sms_only)
            if name:
                text = text[: match.start()] + f"${{{name}}}" + text[match.end() :]
        return text

    def _capture(self, value: str, shape: _Shape, before: int, sms_only: bool) -> str | None:
        """The variable holding `value`, captured in the newest earlier event that shows it."""
        if value in self.names:
            return self.names[value]
        for index in range(before - 1, -1, -1):
            events = self.recorder.steps[index].events
            for position in range(len(events) - 1, -1, -1):
                event = events[position]
                if sms_only and event.channel != "sms":
                    continue
                at = next(
                    (m.start() for m in re.finditer(shape.pattern, event.text) if m[0] == value),
                    None,
                )
                if at is None:
                    continue
                taken = set(self.names.values())
                name = shape.stem
                n = 1
                while name in taken:
                    n += 1
                    name = f"{shape.stem}{n}"
                captures = [*self.captures.get((index, position), []), (at, name, shape)]
                if _regex(event.text, captures) is None:
                    return None  # (never seen: the recorded text is where it was found)
                self.names[value] = name
                self.captures[(index, position)] = captures
                return name
        return None


def _regex(text: str, captures: list[tuple[int, str, _Shape]]) -> str | None:
    """One pattern capturing each value at its place: for each, in order, skip as many earlier
    values of its shape as the recorded text had, then capture the next. Checked against the
    recorded text; None if it would not find the same values there."""
    parts: list[str] = []
    last = 0
    expected: dict[str, str] = {}
    for at, name, shape in sorted(captures):
        compiled = re.compile(shape.pattern)  # (on the whole text: patterns look behind)
        skipped = sum(1 for _ in compiled.finditer(text, last, at))
        skip = f"(?:{shape.pattern}[\\s\\S]*?){{{skipped}}}" if skipped else ""
        lead = "[\\s\\S]*?" if parts else ""  # (a search finds the first one by itself)
        parts.append(f"{lead}{skip}(?P<{name}>{shape.pattern})")
        found = compiled.match(text, at)
        expected[name] = found[0] if found else ""
        last = at + len(expected[name])
    pattern = "".join(parts)
    match = re.search(pattern, text)
    if match is None or match.groupdict() != expected:
        return None
    return pattern


def _duration(by: timedelta) -> str:
    seconds = int(by.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    units = zip((days, hours, minutes, seconds), "dhms", strict=True)
    return "".join(f"{n}{unit}" for n, unit in units if n) or "0s"


def _plain(value: Any) -> Any:
    """Mappings and lists as plain dicts and lists (what `yaml.safe_dump` writes)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value

"""Running one scenario case: a fresh world, its steps in order, strict matching after each."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from core.messages import InboundKind
from core.money import Money
from core.settings import Settings
from payments.rails.base import Fault
from sim.errors import SimError
from sim.patterns import SlowPattern
from sim.scenarios import probes
from sim.scenarios.lint import lint
from sim.scenarios.loader import Case, Node, NodeList, ScenarioError, load_yaml, where
from sim.scenarios.matching import Scope, match_channel
from sim.scenarios.report import lines_of, mask, recent, write_transcript
from sim.scenarios.spec import VAR, duration
from sim.scenarios.world import World, open_world, seed
from sim.simulator import PAY_CODE_SHOWN, PathsDisagree, SeenEvent, TapError
from storage.base import Tx
from storage.opening import parse

DEFAULT_START = "2026-03-01T10:00:00+00:00"


class StepFailed(SimError):
    """A step did not see what it expected; `file` and `line` name the step."""

    def __init__(self, node: object, message: str) -> None:
        file, line = where(node)
        super().__init__(message)
        self.file, self.line, self.message = file, line, message


@dataclass
class CaseResult:
    case: Case
    passed: bool
    report: str = ""
    seconds: float = 0.0
    steps: int = 0
    # The transcript: lines, and the events the parties saw as they were (formatted and masked
    # only when read: most cases pass and nobody reads theirs).
    said: list[str | SeenEvent] = field(default_factory=list)
    skipped: str = ""  # why the case was not run on this transport (it has not failed)
    # For the HTML report: each step's actions and what the parties saw, and a failure's place,
    # its expected-vs-actual and the state the probes read then.
    log: list[StepLog] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def transcript(self) -> list[str]:
        return lines_of(self.said)


@dataclass(frozen=True)
class StepLog:
    file: str
    line: int
    lines: list[str]  # the transcript's `#` notes, `>` actions and `~` clock lines of the step
    events: list[SeenEvent]


@dataclass(frozen=True)
class Failure:
    file: str
    line: int
    message: str
    state: list[str]


def simulator_only(node: Any) -> str:
    """Why a scenario can run only in the simulator ("" when it runs on every transport):
    Telegram has no biometrics, so neither an enrolled party, a biometric answer nor the PIN
    menu's enrol button exist there; and Telegram does not know a person's number, so a party
    that types its own number to sign up is proven only in the simulator (on Telegram it must
    share its contact). Included partials count too."""
    parties = node.get("parties") if isinstance(node, Node) else None
    if isinstance(parties, Node) and _types_own_number(node):
        return "only the simulator knows a party's own number (Telegram needs a contact)"
    if isinstance(node, Node):
        if node.get("biometric") or node.get("tap") == "biometric":
            return "biometrics exist only in the simulator"
        if "include" in node:
            found = simulator_only(load_yaml(Path(node.file).parent / str(node["include"])))
            if found:
                return found
        node = list(node.values())
    if isinstance(node, list):
        return next((why for why in map(simulator_only, node) if why), "")
    return ""


def _digits_of(text: object) -> str:
    return "".join(c for c in str(text) if c.isdigit())


def _types_own_number(doc: Node) -> bool:
    """Whether a party that starts unregistered types its own phone number as text."""
    own = {
        name: _digits_of(spec.get("phone", ""))
        for name, spec in doc["parties"].items()
        if isinstance(spec, Node) and spec.get("registered", True) is False
    }
    steps = doc.get("steps") or []
    for step in steps if isinstance(steps, list) else []:
        for party, number in own.items():
            action = step.get(party) if isinstance(step, Node) else None
            text = action.get("text") if isinstance(action, Node) else action
            if isinstance(text, str) and number and _digits_of(text) == number:
                return True
    return False


class Run:
    def __init__(self, world: World, doc: Node, case: Case) -> None:
        self.world = world
        self.doc = doc
        self.strict = doc.get("strict", True) is not False
        self.scope = Scope(vars=dict(case.params))
        self.snapshots: dict[str, tuple[dict[str, Any], int]] = {}
        self.transcript: list[str | SeenEvent] = []  # see `lines_of`
        self.log: list[StepLog] = []
        self.logged = 0  # the steps that reached their StepLog
        self.steps = 0
        self.step_start = 0

    async def seed(self) -> None:
        """The scenario's parties and `given` state, seeded into the world (before any step);
        the balances at the start, for `delta_since: start`."""
        await seed(
            self.world,
            _with_params(self.doc.get("parties") or {}, self),
            _with_params(self.doc.get("given") or {}, self),
        )
        self.snapshots["start"] = (await self.balances(), 0)

    # -- variables --------------------------------------------------------------------------
    def sub(self, value: Any, node: object, scope: Scope | None = None) -> Any:
        scope = scope or self.scope
        if isinstance(value, str):
            if "${" not in value:  # most strings of a step: nothing to put in
                return value

            def one(m: Any) -> str:
                if m[1] not in scope.vars:
                    raise StepFailed(node, f"${{{m[1]}}} is not defined here")
                return str(scope.vars[m[1]])

            return VAR.sub(one, value)
        if isinstance(value, (Node, NodeList)) and not value.variables:
            return value  # nothing written in it to put in (known when it was loaded)
        if isinstance(value, dict):
            return {k: self.sub(v, node, scope) for k, v in value.items()}
        if isinstance(value, list):
            return [self.sub(v, node, scope) for v in value]
        return value

    def sub_keys(self, node: Node, scope: Scope) -> Node:
        """Keys may be `${party}` in partials: the step's and its `expect`'s keys."""
        if not node.variables:
            return node  # most steps: nothing to fill in anywhere (known at load)
        expect = node.get("expect")
        keys = [*node, *(expect if isinstance(expect, Node) else ())]
        if not any("${" in key for key in keys if isinstance(key, str)):
            return node  # read as written, never changed
        out = Node()
        out.file, out.line = node.file, node.line
        for key, value in node.items():
            if key == "expect" and isinstance(value, Node):
                value = self.sub_keys(value, scope)
            out[self.sub(key, node, scope)] = value
        return out

    # -- steps ------------------------------------------------------------------------------
    async def steps_of(self, steps: list[Any], scope: Scope) -> None:
        for step in steps:
            await self.step(step, scope)

    async def step(self, step: Node, scope: Scope) -> None:
        try:
            await self._step(step, scope)
        except (PathsDisagree, TapError, SlowPattern) as exc:
            raise StepFailed(step, str(exc)) from None

    async def _step(self, step: Node, scope: Scope) -> None:
        self.steps += 1
        self.step_start = len(self.transcript)
        step = self.sub_keys(step, scope)
        sim = self.world.sim
        before = len(sim.events)
        parties = [k for k in step if k in sim.parties]
        if "note" in step:
            self.transcript.append(f"# {step['note']}")
        for party in parties:
            kind, fields, shown = self.resolve(party, step[party], step, scope)
            self.transcript.append(f"> {party}: {shown}")
            key = await sim.act(party, kind, shown=shown, **fields)
            if sim.was_deleted(party, key):  # it held a secret: keep it out of the transcript
                self.transcript[-1] = f"> {party}: [deleted message]"
        if "together" in step:
            resolved = []
            for action in step["together"]:
                for party in (k for k in action if k in sim.parties):
                    kind, fields, shown = self.resolve(party, action[party], step, scope)
                    self.transcript.append(f"> {party}: {shown}  (together)")
                    resolved.append((party, kind, shown, fields))
            await sim.together(resolved)
        if "advance" in step:
            self.transcript.append(f"~ advance {step['advance']}")
            await sim.advance(duration(step["advance"]))
        if "advance_to" in step:
            target = datetime.fromisoformat(str(self.sub(step["advance_to"], step, scope)))
            self.transcript.append(f"~ advance to {target.isoformat()}")
            await sim.advance(target - self.world.clock.now())
        if "expect_quiet" in step:
            self.transcript.append(f"~ quiet for {step['expect_quiet']['for']}")
            await sim.advance(duration(step["expect_quiet"]["for"]))
        if "inject" in step:
            self.inject(self.sub(step["inject"], step, scope), step)
        if "snapshot" in step:
            self.snapshots[str(step["snapshot"])] = (
                await self.balances(),
                len(self.world.rails.log.calls),
            )
        new = sim.events[before:]
        self.log.append(
            StepLog(step.file, step.line, lines_of(self.transcript[self.step_start :]), list(new))
        )
        self.logged = self.steps
        self.transcript += new
        self.expect(new, step, scope)
        if "expect_state" in step:
            await self.expect_state(self.sub(step["expect_state"], step, scope), step)
        if "expect_calls" in step:
            self.expect_calls(self.sub(step["expect_calls"], step, scope), step)
        if "include" in step:
            await self.include(step, scope)
        await self.invariants(step)

    def resolve(
        self, party: str, action: Any, step: Node, scope: Scope
    ) -> tuple[InboundKind, dict[str, Any], str]:
        action = self.sub(action, step, scope)
        if isinstance(action, str) or "text" in action or "command" in action:
            text = (
                action
                if isinstance(action, str)
                else str(action.get("text", action.get("command")))
            )
            return ("command" if text.startswith("/") else "text"), {"text": text}, text
        if "tap" in action:
            spec, on = action["tap"], action.get("on")
            ref = None
            if on is not None:
                if on not in scope.saved:
                    raise StepFailed(step, f"no message saved as {on!r}")
                ref = scope.saved[on][1]
            try:
                if isinstance(spec, str):
                    message, button = self.world.sim.find_button(
                        party, spec, on=ref, nth=int(action.get("nth", 1))
                    )
                else:
                    message, button = self.world.sim.find_button(
                        party,
                        label=spec.get("label"),
                        label_contains=spec.get("label_contains"),
                        label_regex=spec.get("label_regex"),
                        on=ref,
                        nth=int(spec.get("nth", action.get("nth", 1))),
                    )
            except TapError as exc:
                raise StepFailed(step, str(exc)) from None
            return "tap", {"button": button.id, "message": message.ref}, f"[{button.label}]"
        if "pin" in action:
            return "pin", {"text": str(action["pin"])}, "[PIN entered]"
        if "share_contact" in action:
            me = self.world.sim.parties[party]
            value = action["share_contact"]
            phone = me.phone if value is True else str(value)
            own = value is True or _digits(phone) == _digits(me.phone)
            return "contact", {"phone": phone, "contact_is_own": own}, f"[contact {phone}]"
        if "open_link" in action:
            link = str(action["open_link"])
            return "link", {"text": link.rsplit("start=", 1)[-1]}, f"[opened {link}]"
        if "biometric" in action:
            return "biometric", {"text": str(action["biometric"])}, "[biometric]"
        if "pay_code" in action:
            return "code", {"text": str(action["pay_code"])}, PAY_CODE_SHOWN
        raise StepFailed(step, f"cannot perform {action!r}")

    def expect(self, new: list[SeenEvent], step: Node, scope: Scope) -> None:
        expect = step.get("expect") or {}
        strict = self.strict and not step.get("allow_extra")
        channels: dict[str, list[SeenEvent]] = {}
        for event in new:
            name = event.party + (".sms" if event.channel == "sms" else "")
            channels.setdefault(name, []).append(event)
        problems: list[str] = []
        for channel in sorted(set(channels) | set(expect)):
            events = channels.get(channel, [])
            matchers = expect.get(channel)
            if matchers is None:
                if strict:
                    problems += [
                        f"unexpected message to {channel}: {e.kind} {e.key}: "
                        f"{mask(e.text, e.channel == 'sms')!r}"
                        for e in events
                        if e.kind != "toast"
                    ]
                continue
            if matchers == []:
                problems += [
                    f"expected nothing for {channel} but got {e.kind} {e.key}"
                    for e in events
                    if e.kind != "toast"
                ]
                continue
            found = match_channel(events, self.sub(matchers, step, scope), strict, scope)
            problems += [f"{channel}: {p}" for p in found]
        if problems:
            raise StepFailed(step, "\n".join(problems))

    def inject(self, spec: dict[str, Any], step: Node) -> None:
        for name, faults in spec.items():
            if str(name).startswith("telegram."):
                self.transcript.append(f"~ {name} faults apply to the Telegram runner only")
                continue
            for fault in faults if isinstance(faults, list) else [faults]:
                try:
                    self.world.sim.inject(
                        str(name),
                        Fault(
                            fault.get("outcome", "ok"),
                            fault.get("code"),
                            duration(fault["by"]) if "by" in fault else None,
                            dict(fault.get("when") or {}),
                        ),
                        int(fault.get("times", 1)),
                    )
                except KeyError as exc:
                    raise StepFailed(step, str(exc)) from None

    async def balances(self) -> dict[str, Any]:
        markets = self.world.settings.markets
        names = list(self.world.sim.parties)
        return await self.world.store.run(
            lambda tx: {n: probes.balance(tx, self.world.sim.user_id(n), markets) for n in names}
        )

    async def expect_state(self, checks: list[dict[str, Any]], step: Node) -> None:
        markets = self.world.settings.markets
        sim = self.world.sim
        names = {sim.user_id(p): p for p in sim.parties}
        for probe in checks:
            kind = next(iter(probe))  # the first key names the probe (lint checked it)
            target = probe[kind]
            if kind in ("balance", "pin_lock", "sms_code"):
                target = sim.user_id(str(target))
            fields = await self.world.store.run(partial(_read, {kind: target}, markets))
            if isinstance(fields, str):
                raise StepFailed(step, f"expect_state: {fields}")
            for field_name in ("business", "customer"):  # user ids read as party names
                if fields.get(field_name) in names:
                    fields[field_name] = names[fields[field_name]]
            for name, expected in probe.items():
                if name == kind and kind != "ledger":
                    continue
                snapshot = None
                if isinstance(expected, dict) and "delta_since" in expected:
                    shot = self.snapshots.get(str(expected["delta_since"]))
                    if shot is None:
                        raise StepFailed(step, f"no snapshot {expected['delta_since']!r}")
                    snapshot = shot[0].get(str(probe.get("balance")))
                why = probes.compare(fields.get(name), expected, snapshot)
                if why is not None:
                    raise StepFailed(step, f"expect_state {kind} {probe[kind]}: {name}: {why}")

    def expect_calls(self, spec: dict[str, Any], step: Node) -> None:
        since = 0
        if "since" in spec:
            shot = self.snapshots.get(str(spec["since"]))
            if shot is None:
                raise StepFailed(step, f"no snapshot {spec['since']!r}")
            since = shot[1]
        for name, want in spec.items():
            if name == "since":
                continue
            want = want if isinstance(want, dict) else {"count": want}
            count = self.world.rails.log.count(str(name), since, **(want.get("with") or {}))
            why = probes.compare(count, want.get("count", 1))
            if why is not None:
                raise StepFailed(step, f"expect_calls {name}: {why} (calls)")

    async def include(self, step: Node, scope: Scope) -> None:
        path = Path(step.file).parent / str(step["include"])
        partial = load_yaml(path)
        inner = Scope(
            vars={**scope.vars, **self.sub(step.get("with") or {}, step, scope)},
            saved=scope.saved,
            secret=scope.secret,
        )
        self.transcript.append(f"# include {path.name}")
        await self.steps_of(partial.get("steps") or [], inner)
        exports = step.get("exports") or []
        pairs = exports.items() if isinstance(exports, dict) else ((e, e) for e in exports)
        for outer, name in pairs:
            if name not in inner.vars:
                raise StepFailed(step, f"include {path.name} did not capture {name!r}")
            scope.vars[str(outer)] = inner.vars[name]

    def all_faults_fired(self, node: object) -> None:
        """At the end: an injection that never fired fails the scenario."""
        left = self.world.rails.injections.unconsumed()
        if left:
            names = ", ".join(f"{name} ({fault.outcome})" for name, fault, _ in left)
            raise StepFailed(node, f"injected faults never fired: {names}")

    async def invariants(self, step: Node) -> None:
        names = [str(name) for name in self.doc.get("invariants") or []]
        if not names:
            return
        broken = await self.world.store.run(
            partial(_invariants, names, self.world.settings.markets)
        )
        if broken is not None:
            raise StepFailed(step, f"invariant {broken[0]} broken: {broken[1]}")


def _read(probe: dict[str, Any], markets: dict[str, Any], tx: Tx) -> dict[str, Any] | str:
    return probes.read(tx, probe, markets)


def _invariants(names: list[str], markets: dict[str, Any], tx: Tx) -> tuple[str, str] | None:
    """The first invariant broken, and why; all read in one unit of work."""
    for name in names:
        why = probes.check_invariant(tx, name, markets)
        if why is not None:
            return name, why
    return None


def _with_params(node: Any, run: Run) -> Any:
    """Parametrize values apply to `parties` and `given` too; line numbers are kept."""
    if isinstance(node, Node):
        out = Node()
        out.file, out.line = node.file, node.line
        for key, value in node.items():
            out[key] = _with_params(value, run)
        return out
    if isinstance(node, list):
        return [_with_params(v, run) for v in node]
    return run.sub(node, None)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@asynccontextmanager
async def case_database(db: str) -> AsyncIterator[str]:
    """The database a case runs on: on PostgreSQL, a fresh schema of its own, dropped after
    (cases never see each other's rows); anything else as given."""
    if parse(db)[0] != "postgresql":
        yield db
        return
    from storage.pg_schemas import scratch_schema  # psycopg loads only when it is used

    async with scratch_schema(db, "scenario") as url:
        yield url


async def run_case(
    case: Case,
    settings: Settings,
    artifacts: Path | None = None,
    via: str = "simulator",
    db: str = ":memory:",
    after: Callable[[World], Awaitable[None]] | None = None,
    opened: Callable[[World], None] | None = None,
) -> CaseResult:
    """Run one case in-process (`via="simulator"`) or through the real Telegram adapter and
    the Bot API emulator over loopback (`via="telegram"`). `db` is the database (a fresh
    in-memory SQLite one by default; a PostgreSQL URL gives the case a fresh schema of its
    own there); `after` sees the world when the case passed; `opened` sees it before the
    parties are seeded (an observer, such as a recorder, attaches there)."""
    started = time.perf_counter()
    problems = lint(case.path)
    if problems:
        return CaseResult(case, False, "\n".join(str(p) for p in problems))
    doc = load_yaml(case.path)
    if via == "telegram" and (why := simulator_only(doc)):
        return CaseResult(case, True, skipped=why)
    start = datetime.fromisoformat(str((doc.get("clock") or {}).get("start", DEFAULT_START)))
    try:
        opener: Callable[..., Any] = open_world
        if via == "telegram":
            from sim.scenarios.telegram_world import open_telegram_world as opener
        async with (
            case_database(db) as target,
            opener(settings, start, int(doc.get("seed", 0)), db=target) as world,
        ):
            run = Run(world, doc, case)
            if opened is not None:
                opened(world)
            try:
                await run.seed()
                await run.steps_of(doc.get("steps") or [], run.scope)
                run.all_faults_fired(doc)
                if after is not None:
                    await after(world)
            except StepFailed as failure:
                # The report reads the world's state, so it is written while the world is open.
                state = await captured_state(run)
                report = failure_report(case, failure, run, state)
                if artifacts is not None:
                    path = write_transcript(artifacts, case.id, lines_of(run.transcript))
                    report += f"\ntranscript: {path}"
                if run.logged < run.steps:  # the step failed before its replies were seen
                    lines = lines_of(run.transcript[run.step_start :])
                    run.log.append(StepLog(failure.file, failure.line, lines, []))
                return CaseResult(
                    case,
                    False,
                    report,
                    time.perf_counter() - started,
                    run.steps,
                    run.transcript,
                    log=run.log,
                    failure=Failure(failure.file, failure.line, failure.message, state),
                )
    except ScenarioError as exc:
        return CaseResult(case, False, str(exc), time.perf_counter() - started)
    return CaseResult(
        case, True, "", time.perf_counter() - started, run.steps, run.transcript, log=run.log
    )


async def captured_state(run: Run) -> list[str]:
    """The requests, payments and refunds the scenario captured, as they are now."""
    markets = run.world.settings.markets
    lines = []
    for value in dict.fromkeys(str(v) for v in run.scope.vars.values()):
        kind = {"PR-": "request", "TX-": "payment", "RF-": "refund"}.get(value[:3])
        if kind is None:
            continue
        fields = await run.world.store.run(partial(_read, {kind: value}, markets))
        if isinstance(fields, dict):
            shown = ", ".join(
                f"{k}={v.code() if isinstance(v, Money) else v}"
                for k, v in fields.items()
                if k in ("status", "amount", "method", "failed_attempts", "refunded")
            )
            lines.append(f"  {kind} {value}: {shown}")
    return lines


def failure_report(case: Case, failure: StepFailed, run: Run, state: list[str]) -> str:
    lines = [
        f"{failure.file}:{failure.line}: step failed in {case.id!r}",
        *(f"  {line}" for line in failure.message.splitlines()),
        "",
        "this step:",
    ]
    step_events = lines_of(run.transcript[run.step_start :])
    lines += step_events or ["  (none)"]
    lines += ["", "recent messages (secrets masked):", recent(run.world.sim)]
    if run.scope.vars:
        shown = ", ".join(
            f"{k}={'••••••' if k in run.scope.secret else v}" for k, v in run.scope.vars.items()
        )
        lines += ["", f"variables: {shown}"]
    if state:
        lines += ["", "state:", *state]
    return "\n".join(mask(line) for line in lines)

"""Scenarios written in Python: the same world and matchers as `*.convo.yaml`, through the same
runner (sim/scenarios/runner.py), for those who prefer code to YAML.

    def test_tea(paychat_world):
        world = paychat_world
        world.party("shop", role="business", phone="+91 98765 43210", name="Chai Point")
        world.party("asha", role="customer", phone="+91 98123 45678", name="Asha")
        world.given(shop={"payments": {"bank": "HDFC Bank"}}, asha={"pin": "2580"})
        world.party("asha").sends("/start")
        world.expect(asha=[says("menu")])

Every call is written down as the YAML step it stands for and run by the runner's `Run`, so a
Python scenario and its YAML twin pass and fail the same way, with the same messages. An action
waits for its `expect(...)` (the step's `expect:`); an action followed by anything else is a step
without one, which in strict mode asserts that nothing arrived. A failure raises
`ScenarioFailed` with the runner's report, pointing at the Python line of the action.

The world opens at the first action: declare parties, `given`, the clock and options first.
Tests using it are plain (not async) functions: it runs its own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from core.settings import Settings
from sim.errors import SimError
from sim.scenarios.lint import Linter
from sim.scenarios.loader import Case, Node, ScenarioError
from sim.scenarios.runner import (
    DEFAULT_START,
    Run,
    StepFailed,
    captured_state,
    failure_report,
)
from sim.scenarios.world import World, open_world, seed

Matcher = dict[str, Any]


def says(key: str, **more: Any) -> Matcher:
    """`{says: key, ...}`: a message by its key; `more` are the other matcher keys
    (`contains=`, `regex=`, `save=`, `buttons_include=`, ...)."""
    return {"says": key, **more}


def text(exactly: str, **more: Any) -> Matcher:
    """`{text: ...}`: a message by its whole text (whitespace folded)."""
    return {"text": exactly, **more}


def edit(**more: Any) -> Matcher:
    """`{kind: edit, ...}`, e.g. `edit(of="request_msg", says="request.paid")`."""
    return {"kind": "edit", **more}


def delete(**more: Any) -> Matcher:
    """`{kind: delete}`: a message deleted (a typed secret, an old keypad)."""
    return {"kind": "delete", **more}


def toast(**more: Any) -> Matcher:
    """`{kind: toast, ...}`: a callback answer."""
    return {"kind": "toast", **more}


class ScenarioFailed(SimError):
    """A Python scenario's step failed. `str()` is the runner's whole report; `message` is the
    part a YAML twin's report has word for word (what was expected, what came)."""

    def __init__(self, report: str, message: str) -> None:
        super().__init__(report)
        self.report, self.message = report, message


class PartyActions:
    """What one party does: each method is the YAML action of the same name."""

    def __init__(self, world: ConvoWorld, name: str) -> None:
        self.world, self.name = world, name

    def sends(self, message: str) -> None:
        """`- asha: "hello"` (or a `/command`)."""
        self.world._act(self.name, message)

    def taps(
        self,
        button: str | None = None,
        *,
        label: str | None = None,
        label_contains: str | None = None,
        label_regex: str | None = None,
        on: str | None = None,
        nth: int | None = None,
    ) -> None:
        """`{tap: pay}`, `{tap: {label_contains: "4242"}}`, `{tap: pay, on: request_msg}`."""
        labels = {"label": label, "label_contains": label_contains, "label_regex": label_regex}
        by_label = {k: v for k, v in labels.items() if v is not None}
        if (button is None) == (not by_label):
            raise ValueError("tap a button by its id or by one label matcher")
        action: dict[str, Any] = {"tap": button if button is not None else by_label}
        if on is not None:
            action["on"] = on
        if nth is not None:
            action["nth"] = nth
        self.world._act(self.name, action)

    def enters_pin(self, pin: str) -> None:
        """`{pin: "2580"}`: the way the transport asks for it (keypad or typed)."""
        self.world._act(self.name, {"pin": pin})

    def shares_contact(self, phone: str | bool = True) -> None:
        """`{share_contact: true}` (own) or `{share_contact: "+91 ..."}` (someone else's)."""
        self.world._act(self.name, {"share_contact": phone})

    def opens_link(self, link: str) -> None:
        """`{open_link: "${link}"}`."""
        self.world._act(self.name, {"open_link": link})

    def pays_code(self, code: str) -> None:
        """`{pay_code: "${code}"}`: the bank app scans or pastes a payment code."""
        self.world._act(self.name, {"pay_code": code})

    def biometric(self, answer: str) -> None:
        """`{biometric: approve}` or `refuse` (simulator only)."""
        self.world._act(self.name, {"biometric": answer})


class ConvoWorld:
    """A scenario's world driven from Python (the `paychat_world` fixture). `via` is the
    transport: "simulator", or "telegram" (the real adapter through the Bot API emulator)."""

    def __init__(self, settings: Settings, via: str = "simulator", name: str = "") -> None:
        self.settings, self.via, self.name = settings, via, name or "python scenario"
        self.doc = Node()
        self.doc["parties"], self.doc["given"] = Node(), Node()
        self._runner: asyncio.Runner | None = None
        self._opened = contextlib.AsyncExitStack()
        self._run: Run | None = None
        self._pending: Node | None = None
        self._failed = False
        self._linter: Linter | None = None
        self._known = {"start"}  # the variables and saved messages defined so far (lint)

    # -- declaring (before the first action) -----------------------------------------------
    def party(self, party: str, /, **spec: Any) -> PartyActions:
        """Declare a party (`role=`, `phone=`, `name=`, `locale=`, `registered=`, as under
        `parties:`), or, without keywords, the party's actions."""
        if spec:
            self._declaring("party")
            self.doc["parties"][party] = Node(spec)
        elif party not in self.doc["parties"]:
            raise ValueError(f"no party {party!r}: declare it with party({party!r}, role=...)")
        return PartyActions(self, party)

    def given(self, **seeds: Mapping[str, Any]) -> None:
        """Seed state, as under `given:` (`asha={"pin": "2580", "methods": [...]}`)."""
        self._declaring("given")
        for name, spec in seeds.items():
            self.doc["given"][name] = Node(spec)

    def options(
        self,
        *,
        clock: str | None = None,
        strict: bool | None = None,
        invariants: list[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """`clock: {start: ...}`, `strict:`, `invariants:` and `seed:`, as at a file's top."""
        self._declaring("options")
        if clock is not None:
            self.doc["clock"] = {"start": clock}
        for key, value in (("strict", strict), ("invariants", invariants), ("seed", seed)):
            if value is not None:
                self.doc[key] = value

    # -- steps --------------------------------------------------------------------------------
    def expect(
        self, channels: Mapping[str, Any] | None = None, /, allow_extra: bool = False, **more: Any
    ) -> None:
        """The last action's `expect:`; channels as keywords (`asha=[says("menu")]`) or, for an
        SMS inbox, in a mapping (`{"asha.sms": [...]}`). Without an action before it, a step of
        its own that expects what arrived since (nothing, as a YAML step would)."""
        step = self._pending or self._step({})
        step["expect"] = Node({**(channels or {}), **more})
        if allow_extra:
            step["allow_extra"] = True
        self._pending = None
        self._execute(step)

    def advance(self, by: str) -> None:
        """`advance: 30m`; its `expect(...)` may follow."""
        self._then({"advance": by})

    def advance_to(self, when: str) -> None:
        self._then({"advance_to": when})

    def expect_quiet(self, for_: str) -> None:
        """`expect_quiet: {for: 24h}`."""
        self._now({"expect_quiet": {"for": for_}})

    def inject(self, call: str, *faults: Mapping[str, Any], **fault: Any) -> None:
        """`inject: {call: [...]}`: `inject("processor.authorize", outcome="declined",
        code="insufficient_funds")`, or several fault mappings."""
        self._now({"inject": {call: [dict(f) for f in faults] or [fault]}})

    def together(self, *actions: Mapping[str, Any]) -> None:
        """`together: [...]`: actions delivered before any reply (double taps, races), each
        written as in YAML: `together({"asha": {"tap": "pay"}}, {"asha": {"tap": "pay"}})`."""
        self._then({"together": [dict(a) for a in actions]})

    def include(
        self, path: str, with_: Mapping[str, Any] | None = None, exports: Any = None
    ) -> None:
        """`include: partials/x.partial.yaml` (relative to the test's file), `with:`,
        `exports:`: a YAML partial's steps, run as they are in a file."""
        step: dict[str, Any] = {"include": path}
        if with_ is not None:
            step["with"] = dict(with_)
        if exports is not None:
            step["exports"] = exports
        self._now(step)

    def snapshot(self, name: str) -> None:
        self._now({"snapshot": name})

    def expect_state(self, *probes: Mapping[str, Any]) -> None:
        """`expect_state: [...]`: `expect_state({"request": "${req}", "status": "paid"})`."""
        self._now({"expect_state": [dict(p) for p in probes]})

    def expect_calls(self, calls: Mapping[str, Any]) -> None:
        """`expect_calls: {processor.authorize: {count: 1}}`."""
        self._now({"expect_calls": dict(calls)})

    def note(self, words: str) -> None:
        self._now({"note": words})

    @property
    def vars(self) -> dict[str, Any]:
        """The variables captured so far (`regex` groups), as `${name}` sees them."""
        self._flush()
        return dict(self._started().scope.vars)

    @property
    def world(self) -> World:
        """The world itself (its store, clock, simulator), for what the format cannot say."""
        self._flush()
        return self._started().world

    def finish(self) -> None:
        """The end of the scenario: the last step, then every injected fault must have fired
        (the fixture calls it after the test)."""
        if self._failed or self._run is None:
            return
        self._flush()
        self._guard(_fired(self._run, self._where()))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.run(self._opened.aclose())
            self._runner.close()
            self._runner = None

    # -- the machinery -----------------------------------------------------------------------
    def _declaring(self, what: str) -> None:
        if self._run is not None:
            raise ValueError(f"{what}: declare before the first step (the world is open)")

    def _act(self, party: str, action: Any) -> None:
        if party not in self.doc["parties"]:
            raise ValueError(f"no party {party!r}")
        self._then({party: action})

    def _then(self, step: dict[str, Any]) -> None:
        """A step that its `expect(...)` may complete."""
        self._flush()
        self._pending = self._step(step)

    def _now(self, step: dict[str, Any]) -> None:
        """A step complete as it is."""
        self._flush()
        self._execute(self._step(step))

    def _flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._execute(pending)

    def _step(self, fields: dict[str, Any]) -> Node:
        step = Node(fields)
        step.file, step.line = self._where()
        return step

    def _where(self) -> tuple[str, int]:
        """The line of the test that called: a failure points at it, as at a YAML step."""
        frame: FrameType | None = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        if frame is None:
            return "", 0
        return frame.f_code.co_filename, frame.f_lineno

    def _execute(self, step: Node) -> None:
        run = self._started()
        assert self._runner is not None
        self._lint(step)
        self._guard(self._runner.run(_step(run, step)))

    def _lint(self, step: Node) -> None:
        """What `paychat lint` says of the same step in a file (a file is linted before it
        runs): an unknown message key, matcher or action, a `${name}` never captured."""
        if self._linter is None:
            self._linter = Linter(Path(step.file))
            self._linter.parties = set(self.doc["parties"])
        problems = self._linter.check_step(step, self._known)
        if problems:
            self._failed = True
            raise ScenarioFailed(
                "\n".join(str(p) for p in problems), "\n".join(p.problem for p in problems)
            )

    def _guard(self, failure: StepFailed | None) -> None:
        if failure is None:
            return
        self._failed = True
        run = self._started()
        assert self._runner is not None
        state = self._runner.run(captured_state(run))
        case = Case(Path(failure.file or "."), self.name)
        raise ScenarioFailed(failure_report(case, failure, run, state), failure.message)

    def _started(self) -> Run:
        if self._run is not None:
            return self._run
        if not self.doc["parties"]:
            raise ValueError("declare a party first: world.party('asha', role=..., phone=...)")
        self._runner = asyncio.Runner()
        self._run = self._runner.run(self._open())
        return self._run

    async def _open(self) -> Run:
        doc = self.doc
        start = datetime.fromisoformat(str((doc.get("clock") or {}).get("start", DEFAULT_START)))
        if self.via == "telegram":
            from sim.scenarios.telegram_world import open_telegram_world

            opening: Any = open_telegram_world(self.settings, start, int(doc.get("seed", 0)))
        else:
            opening = open_world(self.settings, start, int(doc.get("seed", 0)))
        world = await self._opened.enter_async_context(opening)
        run = Run(world, doc, Case(Path(self.name), self.name))
        try:
            await seed(world, doc["parties"], doc["given"])
        except ScenarioError as exc:
            raise ValueError(str(exc)) from None
        run.snapshots["start"] = (await run.balances(), 0)
        return run


async def _step(run: Run, step: Node) -> StepFailed | None:
    """One step through the runner, exactly as a YAML step runs."""
    try:
        await run.step(step, run.scope)
    except StepFailed as failure:
        return failure
    return None


def _fired(run: Run, where: tuple[str, int]) -> StepFailed | None:
    node = Node()
    node.file, node.line = where
    try:
        run.all_faults_fired(node)
    except StepFailed as failure:
        return failure
    return None

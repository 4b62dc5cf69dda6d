"""The world `paychat web` shows: one `Simulator` on the engine and a SQLite file, its rails'
fault queue, and the scenario being played. Every page action is one call here, under one lock,
and each goes through the Simulator's public methods (so an observer of the Simulator sees what
the page did). A change bumps `version`; the page's event streams wait on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import phonenumbers

from bot.runtime import open_engine
from core.clock import IdSource, SecureIds, SeededIds, VirtualClock
from core.errors import PayChatError
from core.settings import Settings
from payments.rails import Rails
from payments.rails.base import CALL_NAMES, Fault, Outcome
from sim.errors import SimError
from sim.recorder import NotRecordable, Recorder
from sim.scenarios.lint import lint
from sim.scenarios.loader import Case, Node, cases, load_yaml
from sim.scenarios.runner import DEFAULT_START, Run, StepFailed
from sim.scenarios.spec import duration
from sim.scenarios.world import World, seed
from sim.simulator import Simulator, TapError
from sim.web.earlier import held

ACTIONS = ("text", "tap", "contact", "pin", "link", "code", "biometric")
OUTCOMES: tuple[str, ...] = typing.get_args(Outcome)
DECLINE_CODES = ("insufficient_funds", "do_not_honour", "expired_card", "processing_error")
ROLES = ("", "customer", "business")  # "": not registered, onboards in the chat
_LONGEST_ADVANCE = timedelta(days=366)
log = logging.getLogger("paychat.web")


class BadInput(SimError):
    """A page action that cannot be done as asked; its message is shown on the page (HTTP 400)
    and nothing changed."""


@dataclass
class StepResult:
    """One top-level step of the scenario being played, and what happened when it was."""

    number: int
    line: int
    source: str  # the step's first line in the file, as written
    status: str = "pending"  # pending | passed | failed
    problem: str = ""
    seen: list[int] = field(default_factory=list)  # indices into the simulator's events


@dataclass
class Playback:
    path: Path
    name: str
    run: Run
    steps: list[Node]
    results: list[StepResult]
    next: int = 0
    leftover: str = ""  # faults the scenario injected that never fired (after the last step)


class WebSession:
    def __init__(self, settings: Settings, db: Path) -> None:
        self.settings = settings
        self.db = db
        self.version = 0
        self.playback: Playback | None = None
        self.stopping = False  # the server is stopping: event streams end
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._opened: contextlib.AsyncExitStack | None = None
        self.recorder: Recorder | None = None
        self._world: World | None = None
        # Where the world being shown lives: the `--db` file, or memory for a loaded scenario's.
        self.where = str(db)

    # -- opening and closing ----------------------------------------------------------------
    async def open(self, start: datetime | None = None, ids: IdSource | None = None) -> None:
        """Open the engine on `db`. Random ids by default, as `paychat chat`: a database
        reopened holds earlier sessions' ids and a seeded source would draw them again."""
        clock = VirtualClock(start or datetime.now(UTC).replace(microsecond=0))
        self._opened, self._world, self.recorder = await _open_world(
            self.settings, str(self.db), clock, ids or SecureIds()
        )
        self.where = str(self.db)

    async def close(self) -> None:
        if self._opened is not None:
            await self._opened.aclose()
        self._opened = self._world = None

    @property
    def world(self) -> World:
        if self._world is None:
            raise BadInput("the world is not open")
        return self._world

    @property
    def sim(self) -> Simulator:
        return self.world.sim

    # -- change notification ----------------------------------------------------------------
    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def wait_change(self, seen: int, patience: float) -> int:
        """The version once it is past `seen`, or as it is after `patience` seconds or when
        the server stops."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != seen or self.stopping),
                    patience,
                )
            return self.version

    async def stop(self) -> None:
        async with self._changed:
            self.stopping = True
            self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def _changing(self) -> typing.AsyncIterator[None]:
        async with self._lock:
            try:
                yield
            finally:
                await self._bump()

    @contextlib.asynccontextmanager
    async def reading(self) -> typing.AsyncIterator[World]:
        async with self._lock:
            yield self.world

    # -- parties ----------------------------------------------------------------------------
    async def add_party(
        self, name: str, phone: str, country: str, role: str, language: str
    ) -> str:
        """A new phone. `role` "" leaves the party unregistered (it onboards in the chat);
        "customer" or "business" registers it directly, as a scenario's `parties` does. A name
        the database already knows brings that party back from an earlier session."""
        shown = " ".join(name.split())
        key = re.sub(r"[^a-z0-9]+", "_", shown.lower()).strip("_")
        if not key or len(shown) > 40:
            raise BadInput("give the party a name (letters or digits, up to 40)")
        if role not in ROLES:
            raise BadInput(f"the role is one of customer, business or none, not {role!r}")
        language = language or self.settings.locales.default
        if language not in self.settings.locales.available:
            raise BadInput(
                f"{language!r} is not a language here; pick one of "
                f"{', '.join(self.settings.locales.available)}"
            )
        e164, region = _phone(phone, country)
        async with self._changing():
            sim = self.sim
            if key in sim.parties:
                raise BadInput(f"there is already a party called {key!r}")
            earlier = await self.world.store.run(lambda tx: tx.user(key))
            if earlier is not None:
                had = await self.world.store.run(partial(held, user=earlier))
                sim.add_party(
                    key,
                    earlier.name,
                    earlier.locale,
                    earlier.phone,
                    role=earlier.role,
                    registered=True,
                )
                if self.recorder is not None and had:
                    # What it had before this session cannot be recorded: export refuses.
                    self.recorder.brought_back(key, had)
                await sim.settle()
                return key
            if any(_digits(p.phone) == _digits(e164) for p in sim.parties.values()):
                raise BadInput(f"{e164} is already another party's phone")
            if role and self.settings.market(region) is None:
                raise BadInput(f"{region or phone} is not a market here, so it cannot register")
            if role:
                spec = {"phone": e164, "name": shown, "locale": language, "role": role}
                await seed(self.world, {key: spec}, {})
            else:
                sim.add_party(key, shown, language, e164)
            return key

    # -- actions ----------------------------------------------------------------------------
    async def act(self, party: str, action: str, **fields: str) -> None:
        if action not in ACTIONS:
            raise BadInput(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        async with self._changing():
            sim = self.sim
            if party not in sim.parties:
                known = ", ".join(sim.parties) or "none yet"
                raise BadInput(f"no party {party!r} (parties: {known})")
            text = fields.get("text", "")
            if action == "text":
                if not text.strip():
                    raise BadInput("type something to send")
                if len(text) > 4096:
                    raise BadInput("a message is at most 4096 characters")
                await sim.text(party, text)
            elif action == "tap":
                if not fields.get("button"):
                    raise BadInput("which button? a tap names the button's id")
                try:
                    await sim.tap(party, fields.get("button", ""), on=fields.get("message"))
                except TapError as exc:
                    raise BadInput(str(exc)) from None
            elif action == "contact":
                await sim.share_contact(party)
            elif action == "pin":
                # Digits of any script (१२३४, ১২৩৪): the engine reads them as the same digits.
                if not text.isdecimal() or len(text) > 12:
                    raise BadInput("a PIN is digits only")
                await sim.pin(party, text)
            elif action == "link":
                if "start=" not in text:
                    raise BadInput("that is not a payment link")
                await sim.open_link(party, text)
            elif action == "code":
                if not text.strip() or len(text) > 512:
                    raise BadInput("scan a payment code: its text, at most 512 characters")
                await sim.pay_code(party, text.strip())
            else:
                if text not in ("approve", "refuse"):
                    raise BadInput("a biometric answer is approve or refuse")
                await sim.biometric(party, "approve" if text == "approve" else "refuse")

    async def advance(self, by: str) -> None:
        try:
            step = duration(by.strip())
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        if not timedelta(0) < step <= _LONGEST_ADVANCE:
            raise BadInput("advance the clock by more than nothing and at most 366d")
        async with self._changing():
            await self.sim.advance(step)

    # -- faults -----------------------------------------------------------------------------
    async def queue_fault(self, call: str, outcome: str, code: str, times: int) -> None:
        if call not in CALL_NAMES:
            raise BadInput(f"unknown rail call {call!r}; one of {', '.join(CALL_NAMES)}")
        if outcome not in OUTCOMES:
            raise BadInput(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        if outcome == "declined" and code not in DECLINE_CODES:
            raise BadInput(f"a decline needs a code: one of {', '.join(DECLINE_CODES)}")
        if code and not re.fullmatch(r"[a-z_]{1,40}", code):
            raise BadInput("a code is lower-case letters and _ (e.g. processing_error)")
        if not 1 <= times <= 100:
            raise BadInput("times is between 1 and 100")
        by = self.settings.payments.processor_timeout * 2 if outcome == "delay" else None
        fault = Fault(typing.cast(Outcome, outcome), code or None, by)
        async with self._changing():
            self.sim.inject(call, fault, times)

    async def export(self) -> str:
        """The session so far as a `*.convo.yaml` that `paychat test` replays (C1's recorder:
        parties, `given`, every action and what each party saw, volatile ids as variables)."""
        async with self._lock:
            if self.recorder is None or not self.sim.parties:
                raise BadInput("nothing to export yet: add a party or load a scenario")
            try:
                return self.recorder.to_yaml()
            except NotRecordable as exc:
                raise BadInput(f"cannot export: {exc}") from None

    # -- scenarios --------------------------------------------------------------------------
    async def load_scenario(self, path: Path) -> None:
        """Build the scenario's world (its clock, seed, parties and `given`) beside the one
        shown, and only once it stands swap it in and close the old one; a scenario that does
        not lint or cannot be set up is refused and the world shown stays as it was. A loaded
        scenario's world is held in memory, as `paychat test` holds it: the `--db` file is
        closed, never deleted, and a later start opens it again. Its steps then play one by
        one."""
        doc, case, lines = read_scenario(path)
        start = datetime.fromisoformat(str((doc.get("clock") or {}).get("start", DEFAULT_START)))
        async with self._changing():
            opened, world, recorder = await _open_world(
                self.settings, ":memory:", VirtualClock(start), SeededIds(int(doc.get("seed", 0)))
            )
            async with contextlib.AsyncExitStack() as failing:
                failing.push_async_exit(opened)
                run = Run(world, doc, case)
                try:
                    await run.seed()
                except PayChatError as exc:  # ScenarioError, with file:line, or a rail's refusal
                    raise BadInput(str(exc)) from None
                except Exception as exc:  # a `given` value no check foresaw: said, and logged
                    log.exception("setting up %s failed", path)
                    raise BadInput(
                        f"{path}: the scenario cannot be set up ({type(exc).__name__}: {exc})"
                    ) from None
                failing.pop_all()
            earlier = self._opened
            self._opened, self._world, self.recorder = opened, world, recorder
            self.where = f"in memory: the world of {path.name} ({self.db} is kept as it was)"
            steps = list(doc.get("steps") or [])
            results = [
                StepResult(n, s.line, _source(lines, s.line)) for n, s in enumerate(steps, 1)
            ]
            self.playback = Playback(path, case.id, run, steps, results)
            if earlier is not None:
                await earlier.aclose()

    async def play(self, all_steps: bool = False) -> None:
        async with self._changing():
            playback = self.playback
            if playback is None:
                raise BadInput("load a scenario first")
            if playback.next >= len(playback.steps):
                raise BadInput("every step of this scenario has been played")
            while playback.next < len(playback.steps):
                await self._play_one(playback)
                if not all_steps:
                    break
            if playback.next == len(playback.steps):
                left = self.world.rails.injections.unconsumed()
                playback.leftover = ", ".join(f"{name} ({f.outcome})" for name, f, _ in left)

    async def _play_one(self, playback: Playback) -> None:
        result = playback.results[playback.next]
        step = playback.steps[playback.next]
        playback.next += 1
        before = len(self.sim.events)
        try:
            await playback.run.step(step, playback.run.scope)
            result.status = "passed"
        except StepFailed as failure:
            result.status, result.problem = "failed", failure.message
        except SimError as exc:  # a scenario error found only as it runs (an include)
            result.status, result.problem = "failed", str(exc)
        result.seen = list(range(before, len(self.sim.events)))


async def _open_world(
    settings: Settings, db: str, clock: VirtualClock, ids: IdSource
) -> tuple[contextlib.AsyncExitStack, World, Recorder]:
    """An engine on `db` with its Simulator and recorder; the stack closes it. Nothing is left
    open when opening fails."""
    rails = Rails.simulated()
    stack = contextlib.AsyncExitStack()
    async with contextlib.AsyncExitStack() as failing:
        failing.push_async_exit(stack)
        engine = await stack.enter_async_context(
            open_engine(settings, db, clock=clock, ids=ids, rails=rails)
        )
        sim = Simulator(engine, engine.outbox, clock, rails)
        # Attached before any party joins, so the export holds the whole session.
        recorder = Recorder(sim, name="Recorded in paychat web", tags=("recorded", "web"))
        await sim.settle()  # what an earlier process had not delivered
        failing.pop_all()
    return stack, World(sim, engine, engine.store, clock, ids, rails, settings), recorder


def read_scenario(path: Path) -> tuple[Node, Case, list[str]]:
    """A scenario file that lints, its first case, and its lines (each step shows its own)."""
    if not path.name.endswith(".convo.yaml") or not path.is_file():
        raise BadInput(f"{path}: no such scenario file (*.convo.yaml)")
    problems = lint(path)
    if problems:
        raise BadInput("\n".join(str(p) for p in problems))
    lines = path.read_text(encoding="utf-8").splitlines()
    return load_yaml(path), cases(path)[0], lines


def _phone(phone: str, country: str) -> tuple[str, str]:
    """`phone` (with its country, unless it starts with +) as E.164, and its region."""
    try:
        number = phonenumbers.parse(phone, country.upper() or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" in {country.upper()}" if country else ""
        raise BadInput(f"{phone!r} is not a valid phone number{where}")
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.region_code_for_number(number) or "",
    )


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _source(lines: list[str], line: int) -> str:
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""

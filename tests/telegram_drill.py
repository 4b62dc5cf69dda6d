"""A fire drill for the Telegram bot: people paying through the real `paychat telegram` process
on the Bot API emulator while the process is killed and the Bot API misbehaves.

The parts, used by tests/test_telegram_faults.py:
- `BotProcess` runs the bot as `python -m sim.cli telegram --base-url …`, kills it with SIGKILL
  and restarts it on the same database, as a supervisor would (also when it exits by itself:
  a restart during an outage cannot reach getMe).
- People are generators (`business`, `customer`): each acts at the emulator as a person would
  (types, taps Pay, a method, the PIN on the keypad, ✓) and yields a `Wait` for what a person
  would wait to see. `drive` polls the emulator for every person's `Wait` at once; a `Wait` not
  met within its time is a `Stalled` thrown into the person, who notes it and carries on (a
  lost update, or a lost reply).
- `Chaos` kills the bot at seeded random moments and scripts 429s, an outage and lost answers.
The test's `audit` then reads the SQLite file and the emulator's chats and says what broke.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from random import Random
from typing import Any, TypeAlias

from sim.emulator import DROP, ApiError, Emulator, Fault

POLL = 0.02  # how often people look at their chats (a poll interval, not a synchronisation)
STALL = 30.0  # how long a person waits for an answer before calling it lost


class Stalled(Exception):
    """What a person waited for did not come in time."""


@dataclass
class Wait:
    what: str
    check: Callable[[], Any]  # what was waited for (truthy), or None/False for not yet
    within: float = STALL


Person: TypeAlias = Generator[Wait, Any, None]


@dataclass
class Party:
    name: str
    uid: int
    phone: str
    role: str
    pin: str = ""
    card: str = ""


@dataclass
class Order:
    """One payment request a business is to make and its customer to pay."""

    number: int
    business: Party
    customer: Party
    amount: int  # whole rupees
    request: str = ""  # the request's id, once the business saw it sent
    closed_at: float = math.inf  # when the business was done with it (sent, or gave up)
    seen: bool = False  # the customer saw the request
    completed: bool = False  # the customer entered the PIN and tapped ✓
    outcome: str = ""  # what the customer saw in the end

    @property
    def note(self) -> str:
        return f"order {self.number:03d}"


@dataclass
class Notes:
    stalls: list[str] = field(default_factory=list)
    troubles: list[str] = field(default_factory=list)
    double_taps: int = 0
    pin_again: int = 0  # PINs typed again after "a PIN is exactly 4 digits"
    unfinished: list[str] = field(default_factory=list)


# -- the bot's process -------------------------------------------------------------------------
class BotProcess:
    """`paychat telegram` in `folder` with `config`, its output appended to `folder/bot.log`;
    `options`: more of its command line (`--webhook …`)."""

    RESTART_AFTER = 0.5  # a supervisor's pause before starting a bot that exited by itself

    def __init__(
        self, folder: Path, config: Path, base_url: str, token: str, options: tuple[str, ...] = ()
    ) -> None:
        self.folder, self.config, self.base_url, self.options = folder, config, base_url, options
        env = {k: v for k, v in os.environ.items() if k != "PAYCHAT_SECRET_KEY"}
        root = str(Path(__file__).resolve().parent.parent)
        self.env = {**env, "TELEGRAM_BOT_TOKEN": token, "PYTHONPATH": root}
        self.log = folder / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = self.kills = 0
        self.exits: list[int] = []  # exit codes of runs that ended by themselves
        self._exited_at = 0.0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "sim.cli", "--config", str(self.config)),
                    *("telegram", "--base-url", self.base_url, *self.options),
                ],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.runs += 1

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash or an OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1

    def supervise(self) -> None:
        """Restart a bot that exited by itself, after a short pause."""
        if self.proc is None or self.proc.poll() is None:
            return
        if not self._exited_at:
            self._exited_at = time.monotonic()
            self.exits.append(self.proc.returncode)
        if time.monotonic() - self._exited_at >= self.RESTART_AFTER:
            self._exited_at = 0.0
            self.start()

    def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; SIGKILL if it does not end within 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None


# -- the chaos ---------------------------------------------------------------------------------
class Chaos:
    """Kills the bot every `kill_gap` seconds (seeded random within the range) and, at seeded
    moments within the first `span` seconds, throttles the sending methods (twice), takes the
    whole Bot API down for `outage` seconds, and loses the answers of a few sends that went out:
    any, and the sends of payment requests (a message the bot sent but does not know it sent,
    so sends again: two copies, each with a Pay button)."""

    def __init__(
        self,
        rng: Random,
        bot: BotProcess,
        emulator: Emulator,
        *,
        kill_gap: tuple[float, float] = (2.5, 6.0),
        outage: float = 3.0,
        span: float = 30.0,
    ) -> None:
        self.rng, self.bot, self.emulator = rng, bot, emulator
        self.kill_gap, self.killing = kill_gap, True
        self.start = time.monotonic()
        self.next_kill = self.start + rng.uniform(*kill_gap)
        throttled, lost = rng.randint(4, 8), rng.randint(1, 3)
        faults: list[tuple[str, Callable[[], Fault]]] = [
            ("429", lambda: emulator.throttle(1, calls=throttled)),
            ("429", lambda: emulator.throttle(2, seconds=2.0)),
            ("outage", lambda: emulator.outage(seconds=outage)),
            (
                "lost answer",
                lambda: emulator.fault(DROP, methods=["sendMessage"], calls=lost, after=True),
            ),
            (
                "lost answer",
                lambda: emulator.fault(
                    DROP,
                    methods=["sendMessage"],
                    calls=2,
                    after=True,
                    containing="is asking you to pay",
                ),
            ),
        ]
        rng.shuffle(faults)
        moments = sorted(rng.uniform(0.1 * span, 0.8 * span) for _ in faults)
        self.script = [(at, name, act) for at, (name, act) in zip(moments, faults, strict=True)]
        self.faults: list[tuple[str, Fault]] = []
        self.kills_at: list[int] = []  # how many Bot API calls had been made at each kill

    def hits(self, name: str) -> int:
        """How many calls the faults of one kind answered."""
        return sum(fault.hits for kind, fault in self.faults if kind == name)

    def tick(self) -> None:
        now = time.monotonic()
        while self.script and now - self.start >= self.script[0][0]:
            _, name, act = self.script.pop(0)
            self.faults.append((name, act()))
        if self.killing and now >= self.next_kill:
            self.bot.kill()
            with self.emulator.state.lock:
                self.kills_at.append(len(self.emulator.state.calls))
            self.bot.start()  # on the same database, at once
            self.next_kill = now + self.rng.uniform(*self.kill_gap)
        self.bot.supervise()


# -- what people see -------------------------------------------------------------------------
def bot_messages(emulator: Emulator, uid: int, since: int = 0) -> list[dict[str, Any]]:
    """The bot's messages in a chat (deleted ones too: they were delivered), from id `since`."""
    return [
        m
        for m in emulator.chat(uid)
        if m.get("from", {}).get("is_bot") and m["message_id"] >= since
    ]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


def newest(
    emulator: Emulator, uid: int, since: int, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    found = [m for m in bot_messages(emulator, uid, since) if not m.get("deleted") and wanted(m)]
    return found[-1] if found else None


def says(*parts: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: all(p in m.get("text", "") for p in parts)


def mark(emulator: Emulator) -> int:
    """The id the next message will get: everything at or after it is new."""
    with emulator.state.lock:
        return emulator.state.next_message


# -- people ------------------------------------------------------------------------------------
def say(emulator: Emulator, who: Party, text: str, *expect: str) -> Generator[Wait, Any, str]:
    """Type `text`; wait for a new answer containing every part of `expect`."""
    since = mark(emulator)
    emulator.send_text(who.uid, text)
    answer = yield Wait(
        f"an answer to {text!r} saying {' … '.join(expect)!r}",
        lambda: newest(emulator, who.uid, since, says(*expect)),
    )
    return str(answer["text"])


def business(emulator: Emulator, me: Party, orders: list[Order], notes: Notes) -> Person:
    """Asks each order's customer for money: /request, the phone, the amount, the note. On an
    answer that never comes, notes it, sends /cancel and goes on with the next order."""
    for order in orders:
        try:
            yield from say(emulator, me, "/request", "Who should pay?")
            yield from say(emulator, me, order.customer.phone, "How much?")
            yield from say(emulator, me, str(order.amount), "Add a note")
            sent = yield from say(emulator, me, order.note, "sent to", f"Note: {order.note}\n")
            found = re.search(r"PR-[A-Z0-9]+", sent)
            order.request = found[0] if found else "?"
        except Stalled as stall:
            notes.stalls.append(f"{me.name}, {order.note}: no {stall}")
            with contextlib.suppress(Stalled):
                yield from say(emulator, me, "/cancel", "")
        finally:
            order.closed_at = time.monotonic()


def requests_in(emulator: Emulator, uid: int) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """The payment requests a chat shows with a Pay button: id -> (note, every copy of its
    message)."""
    found: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for message in bot_messages(emulator, uid):
        text = message.get("text", "")
        got = re.search(r"asking you to pay .*?\nNote: (.+)\nRequest (PR-[A-Z0-9]+)", text, re.S)
        if got and any(label == "Pay" for label, _ in buttons(message)):
            found.setdefault(got[2], (got[1], []))[1].append(message)
    return found


def customer(
    emulator: Emulator,
    me: Party,
    orders: list[Order],
    notes: Notes,
    rng: Random,
    double: float,
) -> Person:
    """Pays each request that reaches the chat, one at a time, through the keypad; with
    probability `double` taps Pay twice, and ✓ twice. Stops when every order for it was seen, or
    STALL seconds after the businesses were done with the ones it never saw."""
    by_note = {o.note: o for o in orders}
    handled: set[str] = set()

    def next_request() -> Any:
        shown = requests_in(emulator, me.uid)
        waiting = [
            (rid, note, copies) for rid, (note, copies) in shown.items() if rid not in handled
        ]
        if waiting:
            return waiting[0]
        unseen = [o for o in orders if not o.seen]
        if not unseen:
            return "done"
        if time.monotonic() > max(o.closed_at for o in unseen) + STALL:
            return "lost"
        return None

    while True:
        found = yield Wait("a payment request", next_request, within=math.inf)
        if found == "done":
            return
        if found == "lost":
            notes.stalls += [
                f"{me.name}: {o.note} ({o.request}) never reached the chat"
                for o in orders
                if not o.seen and o.request
            ]
            return
        rid, note, copies = found
        handled.add(rid)
        if note not in by_note:
            notes.troubles.append(f"{me.name}: a request {rid} for {note!r} nobody made")
            continue
        order = by_note[note]
        order.seen = True
        try:
            order.outcome = yield from pay(emulator, me, order, rid, copies, notes, rng, double)
        except Stalled as stall:
            order.outcome = f"stalled: no {stall}"
            notes.stalls.append(f"{me.name}, {order.note} ({rid}): no {stall}")
        except ApiError as gone:  # a message to tap on was deleted under the finger
            order.outcome = f"could not tap: {gone.description}"
            notes.troubles.append(f"{me.name}, {order.note}: {order.outcome}")
        except GeneratorExit:  # the drill's deadline came first
            order.outcome = "still paying at the deadline"
            raise


CONFUSED = "did not understand"
ASK_AGAIN = "A PIN is exactly"
REFUSED = (ASK_AGAIN, "Wrong PIN", "Too many wrong PINs", "Payment failed")
PIN_TRIES = 3  # a person types a PIN that was not taken again, twice at most
KEY_WAIT = 3.0  # how long a person looks at the keypad for the dot of a digit


def pay(
    emulator: Emulator,
    me: Party,
    order: Order,
    rid: str,
    copies: list[dict[str, Any]],
    notes: Notes,
    rng: Random,
    double: float,
) -> Generator[Wait, Any, str]:
    # Every copy of a request message (a crash between send and record makes two) must work.
    message = rng.choice(copies)
    pay_data = next(data for label, data in buttons(message) if label == "Pay")
    since = mark(emulator)
    taps = 2 if rng.random() < double else 1
    queries = [
        emulator.tap(me.uid, message["message_id"], pay_data, stale=True) for _ in range(taps)
    ]
    notes.double_taps += taps - 1

    def methods() -> Any:
        menu = newest(
            emulator,
            me.uid,
            since,
            lambda m: (
                "Choose how to pay" in m.get("text", "")
                and any("••••" in label for label, _ in buttons(m))
            ),
        )
        if menu is not None:
            return menu
        if newest(emulator, me.uid, since, says(CONFUSED)) or any(
            CONFUSED in text for text in answers(emulator, queries)
        ):
            return "confused"
        return None

    menu = yield Wait("list of payment methods after Pay", methods)
    if menu == "confused":
        copy = f"copy {copies.index(message) + 1} of {len(copies)}"
        notes.troubles.append(
            f"{me.name}, {order.note}: Pay on {rid} ({copy} of the request) was not understood"
        )
        return f"Pay on {copy} of the request not understood"
    method = next(data for label, data in buttons(menu) if "••••" in label)
    since = mark(emulator)
    emulator.tap(me.uid, menu["message_id"], method, stale=True)
    pad = yield Wait(
        "PIN keypad",
        lambda: newest(
            emulator,
            me.uid,
            since,
            lambda m: (
                f"(request {rid})" in m.get("text", "")
                and any(data == "pin:ok" for _, data in buttons(m))
            ),
        ),
    )

    def outcome(since: int) -> Any:
        paid = newest(
            emulator,
            me.uid,
            0,
            lambda m: (
                m.get("text", "").startswith("Paid:")
                and f" for {order.note}. Receipt " in m.get("text", "")
            ),
        )
        if paid is not None:
            return "paid"
        return next((r for r in REFUSED if newest(emulator, me.uid, since, says(r))), None)

    order.completed = True  # from here on the person does everything right
    for attempt in range(PIN_TRIES):
        since = mark(emulator)
        yield from enter_pin(emulator, me, pad, notes, rng, double)
        result = yield Wait("the payment's outcome after ✓", partial(outcome, since))
        if result != ASK_AGAIN or attempt == PIN_TRIES - 1:
            return str(result)
        # "A PIN is exactly 4 digits. Please try again." with a fresh keypad: the taps before a
        # restart were forgotten (or counted twice); a person types the PIN again.
        notes.pin_again += 1
        pad = newest(emulator, me.uid, since, says(ASK_AGAIN)) or pad
    return "unreachable"


def enter_pin(
    emulator: Emulator,
    me: Party,
    pad: dict[str, Any],
    notes: Notes,
    rng: Random,
    double: float,
) -> Generator[Wait, Any, None]:
    """Type the PIN as a person does: a digit, a look at the dots, the next digit; then ✓ (now
    and then twice). Dots that run ahead of the digits typed are noted: taps counted twice."""
    shown = str(pad.get("text", ""))

    def changed() -> Any:
        now = _message(emulator, me.uid, pad["message_id"])
        return now if now is not None and now.get("text") != shown else None

    for typed, digit in enumerate(me.pin, start=1):
        emulator.tap(me.uid, pad["message_id"], f"pin:{digit}", stale=True)
        try:
            seen = yield Wait("the keypad's dots", changed, within=KEY_WAIT)
        except Stalled:
            continue  # no dots (an outage ate the edit, or a restart): typing on anyway
        shown = str(seen.get("text", ""))
        dots = shown.rsplit("\n", 1)[-1].count("●")
        if dots > typed:
            notes.troubles.append(f"{me.name}: the keypad showed {dots} dots after {typed} digits")
    taps = 2 if rng.random() < double else 1
    notes.double_taps += taps - 1
    for _ in range(taps):
        emulator.tap(me.uid, pad["message_id"], "pin:ok", stale=True)


def answers(emulator: Emulator, queries: list[str]) -> list[str]:
    """What the bot answered to these taps (their toasts), so far."""
    with emulator.state.lock:
        return [a["text"] for a in emulator.state.answers if a.get("query") in queries]


def _message(emulator: Emulator, uid: int, message_id: int) -> dict[str, Any] | None:
    return next((m for m in emulator.chat(uid) if m["message_id"] == message_id), None)


# -- driving -----------------------------------------------------------------------------------
def drive(
    people: Iterable[Person], tick: Callable[[], None], deadline: float, notes: Notes
) -> None:
    """Run every person until all are done or `deadline` (monotonic) passes, calling `tick`
    (the chaos, the supervisor) between looks."""
    waiting: dict[Person, tuple[Wait, float]] = {}
    for person in people:
        with_first = next(person, None)
        if with_first is not None:
            waiting[person] = (with_first, time.monotonic() + with_first.within)
    while waiting and time.monotonic() < deadline:
        tick()
        for person, (wait, until) in list(waiting.items()):
            now = time.monotonic()
            try:
                value = wait.check()
                if value:
                    following = person.send(value)
                elif now > until:
                    following = person.throw(Stalled(wait.what))
                else:
                    continue
            except StopIteration:
                del waiting[person]
                continue
            waiting[person] = (following, time.monotonic() + following.within)
        time.sleep(POLL)
    for person, (wait, _) in waiting.items():
        notes.unfinished.append(f"still waiting for {wait.what}")
        person.close()


# -- the audit ---------------------------------------------------------------------------------
def read(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def card_money(db: Path) -> int:
    """What the cards hold, in the simulated processor's own books."""
    return int(read(db, "SELECT COALESCE(SUM(balance), 0) FROM card_funds")[0][0])


def confirmations(
    emulator: Emulator, payments: list[tuple[str, str, str]]
) -> tuple[dict[str, int], dict[str, int]]:
    """For each succeeded payment (id, customer, business): how many `pay.succeeded` the
    customer got and how many `pay.received` the business got, naming it."""
    succeeded: dict[str, int] = {}
    received: dict[str, int] = {}
    chats: dict[int, list[dict[str, Any]]] = {}
    for tx, customer_id, business_id in payments:
        for uid, table, words in (
            (int(customer_id), succeeded, "Payment successful"),
            (int(business_id), received, "paid you"),
        ):
            chat = chats.setdefault(uid, bot_messages(emulator, uid))
            table[tx] = sum(
                1 for m in chat if words in m.get("text", "") and f"Receipt {tx}" in m["text"]
            )
    return succeeded, received


def sends(emulator: Emulator, *parts: str) -> list[int]:
    """The sendMessage calls (their indexes in the call log) that took effect, of a text
    containing every part: each put a message in a chat."""
    state = emulator.state
    with state.lock:
        return [
            i
            for i, (method, params) in enumerate(state.calls)
            if method == "sendMessage"
            and all(part in str(params.get("text")) for part in parts)
            and (i not in state.faulted or state.faulted[i].after)
        ]


def unexplained_copies(emulator: Emulator, kills_at: list[int], *parts: str) -> int:
    """Of the messages the bot sent containing every part: how many were sent again with
    neither a kill nor a lost answer in between (a copy only a crash or a lost answer excuses:
    the Bot API has no idempotency key for sends)."""
    sent = sends(emulator, *parts)
    with emulator.state.lock:
        lost = {i for i in sent if i in emulator.state.faulted}
    return sum(
        1
        for first, again in pairwise(sent)
        if first not in lost and not any(first < kill <= again for kill in kills_at)
    )

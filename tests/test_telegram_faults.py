"""Nothing lost, nothing doubled on Telegram (issue 13), tried as an operator would.

The real bot (`python -m sim.cli telegram --base-url …`, a process of its own on a SQLite file)
serves businesses and customers acting through the Bot API emulator, which delivers every update
twice. People tap Pay and ✓ twice now and then; the bot is killed with SIGKILL at seeded random
moments and restarted on the same database; the Bot API answers 429s, goes down for a few
seconds and loses the answers of a few sends that went out. Then, from the SQLite file and the
emulator's chats:
- no request is charged twice (the processor's record, the cards' money, the payments), and every
  request is paid exactly once (each was made to be paid, so one left unpaid is a loss: the
  reason is named);
- every `pay.succeeded` and `pay.received` was delivered: once, or again only when a crash or a
  lost answer fell between a send and its record (the Bot API has no idempotency key for sends:
  each such fault may add one copy; copies are counted and reported); never lost;
- no payment is stuck in `authorising` or `unknown`, the ledger balances;
- every answer a person waited for came (nothing lost in flight) and none was "did not
  understand"; every copy of a request message works, and turns "paid" with its request;
- no PIN and no card number is in the database file, the bot's log or any Bot API call.

One line sums the run up (printed; `-s` shows it): bot runs and kills, updates delivered
twice, double taps, double charges, lost and duplicated confirmations.

    PAYCHAT_FAULT_SEED=7 .venv/bin/python -m pytest tests/test_telegram_faults.py -s
    PAYCHAT_FAULT_WEBHOOK=1 …   # the same by webhook instead of polling

The seed fixes the plan (who pays whom, how much, double taps, when the bot is killed and the
faults come); the interleaving with the bot's own timing still varies from run to run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from bot.runtime import open_engine
from bot.transports.base import Handler, Outbox
from core.clock import SeededIds, VirtualClock
from core.settings import Settings, load_settings
from payments.rails import Rails
from sim.emulator import Emulator
from sim.scenarios.world import World, seed
from sim.simulator import Simulator
from tests.conftest import ROOT
from tests.telegram_drill import (
    POLL,
    STALL,
    BotProcess,
    Chaos,
    Notes,
    Order,
    Party,
    bot_messages,
    business,
    buttons,
    card_money,
    confirmations,
    customer,
    drive,
    read,
    sends,
    unexplained_copies,
)

SEED = int(os.environ.get("PAYCHAT_FAULT_SEED", "1"))
# Receive by webhook instead of polling (PAYCHAT_FAULT_WEBHOOK=1): the emulator posts every update
# until the bot answers 2xx, through kills (connection refused) and restarts.
WEBHOOK = os.environ.get("PAYCHAT_FAULT_WEBHOOK", "") not in ("", "0")
TOKEN = "424242:FAULT-DRILL"
ORDERS = 36
DOUBLE = 0.3  # how often a person taps Pay, or ✓, twice
DRIVE_FOR = 70.0  # seconds at most of people acting (a healthy run needs about half)
SETTLE_FOR = 20.0  # then at most this long for what is still on its way
HEALTHY_RUN = 16.0  # the faults fall within this many seconds of the start (runs take 20-45 s)
CARDS = ("4242 4242 4242 4242", "5555 5555 5555 4444")
PINS = ("7392", "6158", "4826", "9371", "5604", "8147", "3069", "1835", "2947")

BUSINESSES = [
    Party(name, 9101 + i, f"+91 98765 432{10 + i}", "business")
    for i, name in enumerate(
        ["Chai Point", "Dosa Corner", "Lassi Bar", "Pani Puri", "Idli House", "Kulfi Cart"]
    )
]
CUSTOMERS = [
    Party(name, 9201 + i, f"+91 98123 456{10 + i}", "customer", PINS[i], CARDS[i % 2])
    for i, name in enumerate(
        ["Asha", "Ravi", "Meera", "Kiran", "Anil", "Divya", "Sunil", "Priya", "Farah"]
    )
]


class Numbered(Simulator):
    """Seeds parties under their Telegram ids (the simulator's own ids are names)."""

    def __init__(self, engine: Handler, outbox: Outbox, clock: VirtualClock) -> None:
        super().__init__(engine, outbox, clock)
        self.uids = {p.name: p.uid for p in [*BUSINESSES, *CUSTOMERS]}

    def user_id(self, party: str) -> str:
        return str(self.uids[party])


async def seed_parties(settings: Settings, db: Path) -> None:
    """Businesses with payments set up and customers with a PIN and a card, written into the
    database before the bot first starts (onboarding has tests of its own)."""
    clock, ids, rails = VirtualClock(datetime.now(UTC)), SeededIds(SEED), Rails.simulated()
    async with open_engine(settings, str(db), clock=clock, ids=ids, rails=rails) as engine:
        sim = Numbered(engine, engine.outbox, clock)
        world = World(sim, engine, engine.store, clock, ids, rails, settings)
        parties = {
            p.name: {"role": p.role, "phone": p.phone, "name": p.name}
            for p in [*BUSINESSES, *CUSTOMERS]
        }
        given = {p.name: {"payments": {"bank": "HDFC Bank"}} for p in BUSINESSES} | {
            p.name: {"pin": p.pin, "methods": [{"card": p.card}]} for p in CUSTOMERS
        }
        await seed(world, parties, given)


def webhook_options() -> tuple[str, ...]:
    """`paychat telegram`'s webhook options on a free port (none when polling)."""
    if not WEBHOOK:
        return ()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    return ("--webhook", url, "--listen", "127.0.0.1", "--port", str(port), "--secret", "drill")


def plan(rng: Random) -> list[Order]:
    """ORDERS requests, as many from each business, customers shuffled round-robin."""
    customers = [CUSTOMERS[i % len(CUSTOMERS)] for i in range(ORDERS)]
    rng.shuffle(customers)
    return [
        Order(n + 1, BUSINESSES[n % len(BUSINESSES)], customers[n], rng.randint(10, 900))
        for n in range(ORDERS)
    ]


def succeeded_payments(db: Path) -> list[tuple[str, str, str]]:
    return [
        (tx, customer_id, business_id)
        for tx, customer_id, business_id in read(
            db,
            "SELECT p.id, p.customer_id, r.business_id FROM payments p "
            "JOIN requests r ON r.id = p.request_id WHERE p.status = 'succeeded'",
        )
    ]


@dataclass(frozen=True)
class Stale:
    """A request message that still asks to be paid though its request is paid."""

    customer: Party
    request: str
    message: dict[str, Any]
    recorded: bool  # the bot knows the message: its platform id is in the database


def stale_copies(db: Path, emulator: Emulator) -> list[Stale]:
    """Every copy the bot knows of must turn "paid" with its request. A copy whose send's
    answer never came back (a crash, a lost answer) cannot be known to the bot: it may stay,
    but its Pay must still get a true answer (the test taps it)."""
    paid = {rid for (rid,) in read(db, "SELECT id FROM requests WHERE status = 'paid'")}
    known = recorded_messages(db)
    return [
        Stale(party, rid, m, (str(party.uid), m["message_id"]) in known)
        for party in CUSTOMERS
        for m in bot_messages(emulator, party.uid)
        if not m.get("deleted")
        for rid in re.findall(r"is asking you to pay .*\nRequest (PR-[A-Z0-9]+)", m["text"], re.S)
        if rid in paid
    ]


def recorded_messages(db: Path) -> set[tuple[str, int]]:
    """(user, platform message id) of every message the bot recorded as sent."""
    return {
        (user, int(pid)) for user, pid in read(db, "SELECT user_id, platform_id FROM messages")
    }


def answered(emulator: Emulator) -> set[str]:
    with emulator.state.lock:
        return {str(a.get("query")) for a in emulator.state.answers}


def tap_pay_on(emulator: Emulator, stale: list[Stale]) -> list[str]:
    """A person taps Pay on each copy left asking to be paid: the callback queries' ids."""
    return [
        emulator.tap(s.customer.uid, s.message["message_id"], data, stale=True)
        for s in stale
        for label, data in buttons(s.message)
        if label == "Pay"
    ]


def settled(db: Path, emulator: Emulator) -> bool:
    """Nothing left on its way: every update confirmed, no payment undecided, both
    confirmations of every succeeded payment delivered, every paid request shown paid."""
    if emulator.pending_updates():
        return False
    if read(db, "SELECT 1 FROM payments WHERE status IN ('authorising', 'unknown')"):
        return False
    succeeded, received = confirmations(emulator, succeeded_payments(db))
    if not (all(succeeded.values()) and all(received.values())):
        return False
    return not [s for s in stale_copies(db, emulator) if s.recorded]


# Timed against the wall clock: `make test` runs it after every other test, by itself (the
# browser, PostgreSQL and worker tests load both cores).
@pytest.mark.alone
def test_nothing_lost_nothing_doubled_under_kills_redelivery_and_outages(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    rng = Random(SEED)
    db = tmp_path / "paychat.db"
    config = tmp_path / "config.yaml"
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["storage"]["path"] = str(db)
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    settings = load_settings(config)
    asyncio.run(seed_parties(settings, db))
    before = card_money(db)

    orders = plan(rng)
    notes = Notes()
    emulator = Emulator(
        TOKEN, "PayChatDrillBot", duplicates=True, webhook_backoff=(0.1, 2.0), webhook_timeout=5.0
    ).start()
    for party in [*BUSINESSES, *CUSTOMERS]:
        emulator.add_user(party.uid, party.name, party.phone)
    bot = BotProcess(tmp_path, config, emulator.base_url, TOKEN, webhook_options())
    chaos = Chaos(rng, bot, emulator, span=HEALTHY_RUN)
    try:
        bot.start()
        people = [
            business(emulator, b, [o for o in orders if o.business is b], notes)
            for b in BUSINESSES
        ] + [
            customer(emulator, c, [o for o in orders if o.customer is c], notes, rng, DOUBLE)
            for c in CUSTOMERS
        ]
        drive(people, chaos.tick, started + DRIVE_FOR, notes)
        chaos.killing = False
        chaos.script.clear()
        settle_by = time.monotonic() + SETTLE_FOR
        while not settled(db, emulator) and time.monotonic() < settle_by:
            bot.supervise()
            time.sleep(POLL)
        late = tap_pay_on(emulator, stale_copies(db, emulator))
        answer_by = time.monotonic() + STALL
        while set(late) - answered(emulator) and time.monotonic() < answer_by:
            bot.supervise()
            time.sleep(POLL)
        notes.stalls += [
            f"a Pay on an old copy of a paid request got no answer (query {query})"
            for query in set(late) - answered(emulator)
        ]
        stopped = bot.stop()
    finally:
        bot.kill()
        emulator.stop()

    problems = audit(db, tmp_path / "bot.log", emulator, orders, notes, before, chaos.kills_at)
    problems += [f"the bot did not stop cleanly on SIGTERM (exit {stopped})"] if stopped else []
    summary = summarise(db, emulator, bot, chaos, orders, notes, time.monotonic() - started)
    print(summary)  # noqa: T201  (the line the README quotes; `-s` shows it)
    record_property("summary", summary)
    assert not problems, summary + "\n" + "\n".join(f"- {p}" for p in problems)
    assert bot.kills >= 3, "the drill killed the bot too rarely to mean anything"
    assert emulator.duplicate_deliveries() >= len(orders), "updates were not delivered twice"


def summarise(
    db: Path,
    emulator: Emulator,
    bot: BotProcess,
    chaos: Chaos,
    orders: list[Order],
    notes: Notes,
    took: float,
) -> str:
    """The run in one line: what was done to the bot, and what came of it."""
    requests = [rid for (rid,) in read(db, "SELECT id FROM requests")]
    twice = [r for r in requests if len(sends(emulator, "asking you to pay", f"Request {r}")) > 1]
    others = Counter(o.outcome for o in orders if o.outcome != "paid")
    succeeded, received = confirmations(emulator, succeeded_payments(db))
    counts = [*succeeded.values(), *received.values()]
    refused = f" (webhook posts refused {len(emulator.state.webhook_errors)})" if WEBHOOK else ""
    return (
        f"telegram fault drill ({'webhook' if WEBHOOK else 'polling'}), seed {SEED}: "
        f"{len(orders)} requests, {sum(o.outcome == 'paid' for o in orders)} paid by the "
        f"customers{f' (else: {dict(others)})' if others else ''}; "
        f"bot runs {bot.runs}, SIGKILLs {bot.kills}, exits by itself "
        f"{len(bot.exits)}; updates delivered twice {emulator.duplicate_deliveries()}{refused}, "
        f"double taps {notes.double_taps}, PINs typed again {notes.pin_again}; 429s "
        f"{chaos.hits('429')}, outage answers {chaos.hits('outage')}, lost answers "
        f"{chaos.hits('lost answer')}; requests sent twice {len(twice)}; double charges "
        f"{double_charges(db)}; confirmations lost {counts.count(0)}, duplicated "
        f"{sum(n > 1 for n in counts)} (three times or more {sum(n > 2 for n in counts)}); "
        f"copies of paid requests left asking to pay {len(stale_copies(db, emulator))}; "
        f"stalls {len(notes.stalls)}; {took:.0f} s"
    )


def double_charges(db: Path) -> int:
    """Requests the processor charged more than once."""
    return len(
        read(
            db,
            "SELECT p.request_id FROM processor_charges c JOIN payments p ON p.id = c.payment_id "
            "WHERE c.outcome = 'succeeded' GROUP BY p.request_id HAVING COUNT(*) > 1",
        )
    )


def audit(
    db: Path,
    log: Path,
    emulator: Emulator,
    orders: list[Order],
    notes: Notes,
    before: int,
    kills_at: list[int],
) -> list[str]:
    """Every broken promise, named."""
    problems: list[str] = []
    if charged := double_charges(db):
        problems.append(f"{charged} requests charged twice by the processor")
    requests = {
        note: (rid, status, paid)
        for rid, note, status, paid in read(
            db,
            "SELECT r.id, r.note, r.status, "
            "(SELECT COUNT(*) FROM payments p WHERE p.request_id = r.id "
            " AND p.status = 'succeeded') FROM requests r",
        )
    }
    for order in orders:
        made = requests.get(order.note)
        if made is None:
            problems.append(f"{order.note} ({order.business.name}) was never made")
            continue
        rid, status, paid = made
        if paid != 1 or status != "paid":
            why = order.outcome or ("never seen by the customer" if not order.seen else "?")
            done = "completed by the customer, " if order.completed else ""
            problems.append(
                f"{order.note} {rid} to {order.customer.name}: {status}, paid {paid} times "
                f"({done}{why})"
            )
    if len(requests) > len(orders):
        problems.append(f"{len(requests) - len(orders)} requests more than the businesses made")
    stuck = read(db, "SELECT id, status FROM payments WHERE status IN ('authorising', 'unknown')")
    problems += [f"payment {tx} stuck in {status}" for tx, status in stuck]
    unbalanced = read(db, "SELECT txn, SUM(amount) FROM ledger GROUP BY txn HAVING SUM(amount)")
    problems += [f"ledger entry {txn} is off by {off}" for txn, off in unbalanced]
    paid_total = read(
        db, "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE status = 'succeeded'"
    )[0][0]
    charged = read(
        db, "SELECT COALESCE(SUM(amount), 0) FROM processor_charges WHERE outcome = 'succeeded'"
    )[0][0]
    spent = before - card_money(db)
    if not paid_total == charged == spent:
        problems.append(
            f"payments {paid_total}, processor charges {charged} and cards' money spent {spent} "
            "differ"
        )

    succeeded, received = confirmations(emulator, succeeded_payments(db))
    for what, words, table in (
        ("pay.succeeded", "Payment successful", succeeded),
        ("pay.received", "paid you", received),
    ):
        for tx, count in table.items():
            if count == 0:
                problems.append(f"{what} for {tx} never delivered")
            elif count > 1 and (
                unexplained := unexplained_copies(emulator, kills_at, words, f"Receipt {tx}")
            ):
                problems.append(
                    f"{what} for {tx} delivered {count} times, {unexplained} of the copies with "
                    "no crash and no lost answer before it"
                )
    problems += [f"lost in flight: {stall}" for stall in notes.stalls]
    problems += notes.troubles
    problems += [f"unfinished at the deadline: {u}" for u in notes.unfinished]
    names = {str(party.uid): party.name for party in [*BUSINESSES, *CUSTOMERS]}
    problems += [
        f"{party.name} was told {m['text'][:60]!r}"
        for party in [*BUSINESSES, *CUSTOMERS]
        for m in bot_messages(emulator, party.uid)
        if "did not understand" in m.get("text", "")
    ]
    recorded = recorded_messages(db)

    def platform_id(user: str, message_id: int) -> str:
        known = (user, message_id) in recorded
        return f"its platform id {'known' if known else 'never recorded'} in the database"

    problems += [
        f"{s.customer.name}'s request message {s.message['message_id']} still asks to pay "
        f"{s.request}, which is paid, though the bot knows the message"
        for s in stale_copies(db, emulator)
        if s.recorded
    ]
    problems += [
        f"{names.get(str(a['user']), a['user'])} tapped {a['data']!r} on message "
        f"{a['message_id']} ({platform_id(str(a['user']), a['message_id'])}) and was told "
        f"{a['text'][:40]!r}"
        for a in emulator.state.answers
        if "did not understand" in a["text"]
    ]
    problems += secrets_found(db, log, emulator)
    return problems


def secrets_found(db: Path, log: Path, emulator: Emulator) -> list[str]:
    """PINs and card numbers in the database file (and its WAL), the bot's log, or any call
    the bot made to the Bot API."""
    wal = db.with_name(db.name + "-wal")
    at_rest = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    said = log.read_text(errors="replace")
    calls = json.dumps([params for _, params in emulator.state.calls], ensure_ascii=False)
    found: list[str] = []
    for card in CARDS:
        for form in (card, card.replace(" ", "")):
            for where, text in (("the database file", at_rest), ("the log", said.encode())):
                if form.encode() in text:
                    found.append(f"card number {form} in {where}")
            if form in calls:
                found.append(f"card number {form} sent to the Bot API")
    values = [
        str(value)
        for (table,) in read(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
        for row in read(db, f"SELECT * FROM {table}")  # our own table names
        for value in row
        if isinstance(value, str)
    ]
    for pin in PINS:
        alone = re.compile(rf"(?<!\d){pin}(?!\d)")
        for where, texts in (("the database", values), ("the log", [said]), ("a call", [calls])):
            if any(alone.search(text) for text in texts):
                found.append(f"PIN {pin} in {where}")
    return found

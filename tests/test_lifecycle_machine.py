"""Interleavings of everything that can happen to a payment request, driven through the real
engine on a real SQLite file: requests and links, Pay and Decline (also on stale messages),
method taps (also from an older list), right and wrong PINs, double PINs, Cancel, injected
processor and bank faults, clock jumps (expiry, status checks) and refunds.

After every step, read straight from the database file (not through the product's port):
- every status moved only along `payments/lifecycle.py`'s table;
- nobody was told a request closed with "Nothing was charged" while a payment for it could
  still be charged, and none is charged after;
- at most one successful payment per request; refunds never exceed what was paid;
- the ledger balances, and the money on the simulated rails moved exactly as the successful
  payments and refunds say (a failed or pending payment moved nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from core.refs import MethodButton, RequestMessage, RequestOwnerMessage
from core.settings import Settings, load_settings
from payments.lifecycle import PAYMENT, REFUND, REQUEST
from payments.rails.base import Fault
from sim.scenarios.loader import Node
from sim.scenarios.world import World, open_world, seed
from sim.simulator import Simulator, TapError
from tests.conftest import START

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = {"asha": "+91 98123 45678", "ravi": "+91 99887 76655"}
PIN = "2580"
PARTIES = {
    "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"},
    "asha": {"role": "customer", "phone": CUSTOMERS["asha"], "name": "Asha"},
    "ravi": {"role": "customer", "phone": CUSTOMERS["ravi"], "name": "Ravi"},
}
GIVEN = {
    "shop": {"payments": {"bank": "HDFC Bank"}},
    "asha": {
        "pin": PIN,
        "methods": [
            {"card": "4242 4242 4242 4242", "funds": "INR 3000.00"},
            {"upi": "asha@okhdfc", "balance": "INR 2000.00"},
        ],
    },
    "ravi": {
        "pin": PIN,
        "methods": [
            {"upi": "ravi@oksbi", "balance": "INR 2000.00"},
            {"card": "5555 5555 5555 4444", "funds": "INR 3000.00"},
        ],
    },
}
FAULTS = [
    ("processor.authorize", Fault("timeout")),
    ("processor.authorize", Fault("declined", "insufficient_funds")),
    ("processor.status", Fault("ok")),
    ("processor.status", Fault("declined", "do_not_honour")),
    ("processor.status", Fault("timeout")),
    ("bank.transfer", Fault("timeout")),
    ("bank.transfer", Fault("declined", "insufficient_funds")),
    ("processor.refund", Fault("error", "processing_error")),
]
# Messages that tell a customer a request is over and nothing was charged for it.
CLOSING_CLAIMS = {"request.expired", "request.cancelled", "request.unavailable"}
REQUEST_ID = re.compile(r"PR-[A-Z0-9]+")


def _closure(table: Any) -> dict[str, set[str]]:
    """Every status reachable from each status (one step may make several moves)."""
    reach = {source: set(targets) for source, targets in table.items()}
    changed = True
    while changed:
        changed = False
        for targets in reach.values():
            more = set().union(*(reach.get(t, set()) for t in targets)) - targets
            if more:
                targets |= more
                changed = True
    return reach


REACH = {"requests": _closure(REQUEST), "payments": _closure(PAYMENT), "refunds": _closure(REFUND)}


def _nodes(data: dict[str, Any]) -> Node:
    node = Node()
    for key, value in data.items():
        node[key] = _nodes(value) if isinstance(value, dict) else value
    return node


class Lifecycle(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.settings: Settings = load_settings(ROOT / "config.yaml")
        self.statuses: dict[str, dict[str, str]] = {"requests": {}, "payments": {}, "refunds": {}}
        self.claimed_uncharged: set[str] = set()
        self.links: dict[str, str] = {}
        self.seen = 0

    # -- the world -------------------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def open(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.db = Path(self.folder.name) / "lifecycle.db"
        self.world_cm = open_world(self.settings, START, db=str(self.db))
        self.world: World = self.run(self.world_cm.__aenter__())
        self.run(seed(self.world, _nodes(PARTIES), _nodes(GIVEN)))
        self.reader = sqlite3.connect(self.db)
        self.card_start, self.bank_start = self._rail_totals()

    def teardown(self) -> None:
        if hasattr(self, "world"):
            self.reader.close()
            self.run(self.world_cm.__aexit__(None, None, None))
            self.folder.cleanup()
        self.loop.close()

    @property
    def sim(self) -> Simulator:
        return self.world.sim

    def _newest(self, party: str, key: str) -> Any:
        return next(
            (e for e in reversed(self.sim.events) if e.party == party and e.key == key), None
        )

    async def _tap(self, party: str, button: str, on: str | None = None) -> None:
        # A button that is not there (any more) cannot be tapped by a person either.
        with contextlib.suppress(TapError):
            await self.sim.tap(party, button, on=on)

    # -- what people do --------------------------------------------------------------------------
    @rule(
        target=requests,
        customer=st.sampled_from(sorted(CUSTOMERS)),
        amount=st.sampled_from(["250", "1,000", "40"]),
    )
    def ask(self, customer: str, amount: str) -> tuple[str, str]:
        for text in ("/request", CUSTOMERS[customer], amount, "tea"):
            self.run(self.sim.text("shop", text))
        sent = self._newest("shop", "request.sent")
        found = REQUEST_ID.search(sent.text) if sent else None
        return (found.group() if found else "PR-NONE", customer)

    @rule(target=requests)
    def make_link(self) -> tuple[str, str]:
        self.run(self.sim.text("shop", "/link"))
        self.run(self.sim.text("shop", "300"))
        self.run(self._tap("shop", "skip"))
        made = self._newest("shop", "link.created")
        found = REQUEST_ID.search(made.text) if made else None
        link = re.search(r"https://\S+start=[A-Za-z0-9_-]+", made.text) if made else None
        request = found.group() if found else "PR-NONE"
        if link:
            self.links[request] = link.group()
        return (request, "")

    def _who(self, request: tuple[str, str], anyone: str) -> str:
        """The customer a request was for; for a link, anyone (who opens it first)."""
        request_id, customer = request
        if customer:
            return customer
        ref = RequestMessage(request_id).pack()
        if request_id in self.links and not any(
            m.ref == ref for m in self.sim.parties[anyone].chat
        ):
            self.run(self.sim.open_link(anyone, self.links[request_id]))
        return anyone

    @rule(
        request=requests,
        anyone=st.sampled_from(sorted(CUSTOMERS)),
        button=st.sampled_from(["pay", "pay", "decline"]),
    )
    def tap_request(self, request: tuple[str, str], anyone: str, button: str) -> None:
        customer = self._who(request, anyone)
        self.run(self._tap(customer, button, on=RequestMessage(request[0]).pack()))
        if button == "decline":
            self.run(self._tap(customer, "confirm"))

    @rule(
        request=requests,
        anyone=st.sampled_from(sorted(CUSTOMERS)),
        method=st.integers(0, 1),
        right=st.booleans(),
        fault=st.sampled_from([None, "timeout", "timeout", "declined"]),
        last_minute=st.booleans(),
        race=st.sampled_from([None, None, "cancel", "decline"]),
    )
    def pay_through(
        self,
        request: tuple[str, str],
        anyone: str,
        method: int,
        right: bool,
        fault: str | None,
        last_minute: bool,
        race: str | None,
    ) -> None:
        """Pay → a method → the PIN, in one step (the fine-grained rules interleave with it),
        perhaps in the last minute before the request expires, the rail's first answer perhaps
        a timeout (the outcome then waits for status checks, and meets the expiry)."""
        if last_minute:
            row = self.reader.execute(
                "SELECT expires_at FROM requests WHERE id=?", (request[0],)
            ).fetchone()
            left = (datetime.fromisoformat(row[0]) - self.world.clock.now()) if row else None
            if left is not None and left > timedelta(minutes=1):
                self.run(self.sim.advance(left - timedelta(minutes=1)))
        if fault is not None:
            for call in ("processor.authorize", "bank.transfer"):
                self.world.rails.injections.queue(call, Fault(fault, "insufficient_funds"))
        customer = self._who(request, anyone)
        self.run(self._tap(customer, "pay", on=RequestMessage(request[0]).pack()))
        listed = self._newest(customer, "pay.choose_method")
        if listed is not None and listed.buttons[method:]:
            self.run(self._tap(customer, listed.buttons[method][0].id, on=listed.ref))
            self.run(self.sim.pin(customer, PIN if right else "1111"))
        if race is not None:  # the other side acts at once, before any outcome is known
            self.close_while_paying(race)

    @rule(customer=st.sampled_from(sorted(CUSTOMERS)), pick=st.integers(0, 5))
    def tap_method(self, customer: str, pick: int) -> None:
        """A method button from any list the customer has seen, newest first: older lists are
        stale taps."""
        buttons = [
            (m.ref, b.id)
            for m in reversed(self.sim.parties[customer].chat)
            if m.from_bot
            for row in m.buttons
            for b in row
            if MethodButton.unpack(b.id)
        ]
        if buttons:
            ref, button = buttons[pick % len(buttons)]
            self.run(self._tap(customer, button, on=ref))

    def _asked_for_pin(self, stray: str | None) -> str | None:
        """A customer whose newest message asks for the PIN, else `stray` (a PIN nobody asked
        for, which must change nothing)."""
        for customer in sorted(CUSTOMERS):
            newest = next((e for e in reversed(self.sim.events) if e.party == customer), None)
            if newest is not None and newest.key in ("pin.ask", "pin.wrong"):
                return customer
        return stray

    @rule(stray=st.sampled_from([None, None, None, *sorted(CUSTOMERS)]), right=st.booleans())
    def enter_pin(self, stray: str | None, right: bool) -> None:
        if customer := self._asked_for_pin(stray):
            self.run(self.sim.pin(customer, PIN if right else "1111"))

    @rule(stray=st.sampled_from([None, None, None, *sorted(CUSTOMERS)]))
    def double_pin(self, stray: str | None) -> None:
        if customer := self._asked_for_pin(stray):
            pin = (customer, "pin", "[PIN]", {"text": PIN})
            self.run(self.sim.together([pin, pin]))

    @rule(request=requests, often=st.integers(0, 2))
    def cancel(self, request: tuple[str, str], often: int) -> None:
        if often:  # a third of the draws: cancelling everything at once would end every story
            return
        self.run(self._tap("shop", "cancel", on=RequestOwnerMessage(request[0]).pack()))

    @rule(button=st.sampled_from(["cancel", "decline"]))
    def close_while_paying(self, button: str) -> None:
        """The business cancels (or the customer declines) the request paid most recently:
        the race with a payment still in flight."""
        row = self.reader.execute(
            "SELECT p.request_id, p.customer_id FROM payments p ORDER BY p.rowid DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return
        if button == "cancel":
            self.run(self._tap("shop", "cancel", on=RequestOwnerMessage(row[0]).pack()))
        else:
            self.run(self._tap(row[1], "decline", on=RequestMessage(row[0]).pack()))
            self.run(self._tap(row[1], "confirm"))

    @rule(fault=st.sampled_from(FAULTS))
    def inject(self, fault: tuple[str, Fault]) -> None:
        self.world.rails.injections.queue(*fault)

    @rule(seconds=st.sampled_from([30, 90, 1200, 5400, 86_340, 86_400]))
    def advance(self, seconds: int) -> None:
        self.run(self.sim.advance(timedelta(seconds=seconds)))

    @rule(partial=st.booleans(), pick=st.integers(0, 3))
    def refund(self, partial: bool, pick: int) -> None:
        paid = [
            row[0]
            for row in self.reader.execute(
                "SELECT id FROM payments WHERE status='succeeded' ORDER BY id"
            )
        ]
        if paid:
            payment = paid[pick % len(paid)]
            self.run(self.sim.text("shop", f"/refund {payment}{' 10' if partial else ''}"))

    # -- what must always hold -------------------------------------------------------------------
    @invariant()
    def statuses_move_only_along_the_table(self) -> None:
        if not hasattr(self, "world"):
            return
        for table, seen in self.statuses.items():
            for row_id, status in self.reader.execute(f"SELECT id, status FROM {table}"):
                before = seen.get(row_id)
                if before is not None and before != status:
                    assert status in REACH[table][before], f"{row_id}: {before} -> {status}"
                seen[row_id] = status

    @invariant()
    def nothing_charged_means_nothing_is_charged(self) -> None:
        if not hasattr(self, "world"):
            return
        for event in self.sim.events[self.seen :]:
            assert event.key != "error.internal", "an event failed"
            if event.party in CUSTOMERS and event.key in CLOSING_CLAIMS:
                assert "Nothing was charged" in event.text or event.key == "request.unavailable"
                self.claimed_uncharged.update(REQUEST_ID.findall(event.text))
        self.seen = len(self.sim.events)
        for request in self.claimed_uncharged:
            charged = self.reader.execute(
                "SELECT id, status FROM payments WHERE request_id=? "
                "AND status IN ('succeeded', 'unknown', 'authorising')",
                (request,),
            ).fetchall()
            assert charged == [], f"{request} was said to be closed uncharged, yet {charged}"

    @invariant()
    def one_success_per_request_and_refunds_within_it(self) -> None:
        if not hasattr(self, "world"):
            return
        twice = self.reader.execute(
            "SELECT request_id FROM payments WHERE status='succeeded' "
            "GROUP BY request_id HAVING COUNT(*) > 1"
        ).fetchall()
        assert twice == []
        over = self.reader.execute(
            "SELECT p.id FROM payments p JOIN refunds r ON r.payment_id = p.id "
            "WHERE r.status='succeeded' GROUP BY p.id "
            "HAVING SUM(r.amount) > p.amount OR SUM(r.amount) != p.refunded"
        ).fetchall()
        assert over == []
        refunded_unpaid = self.reader.execute(
            "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id "
            "WHERE p.status != 'succeeded'"
        ).fetchall()
        assert refunded_unpaid == []

    @invariant()
    def money_moved_exactly_as_the_payments_say(self) -> None:
        if not hasattr(self, "world"):
            return
        sums = self.reader.execute(
            "SELECT currency, SUM(amount) FROM ledger GROUP BY currency HAVING SUM(amount) != 0"
        ).fetchall()
        assert sums == [], f"the ledger does not balance: {sums}"
        card_now, bank_now = self._rail_totals()
        # A payment whose outcome is unknown may already hold the money (the rail charged, the
        # answer was lost): the status check then settles it or gives it back.
        paid_by_card = self._one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.method_kind='card' AND "
            "(p.status='succeeded' OR (p.status='unknown' AND EXISTS (SELECT 1 FROM "
            "processor_charges c WHERE c.payment_id=p.id AND c.outcome='succeeded')))"
        )
        kept_by_failed = self.reader.execute(
            "SELECT p.id FROM payments p JOIN processor_charges c ON c.payment_id = p.id "
            "WHERE p.status='failed' AND c.outcome='succeeded'"
        ).fetchall()
        assert kept_by_failed == [], f"failed payments that kept the money: {kept_by_failed}"
        back_to_cards = self._one(
            "SELECT COALESCE(SUM(r.amount), 0) FROM refunds r JOIN payments p "
            "ON p.id = r.payment_id WHERE r.status='succeeded' AND p.method_kind='card'"
        )
        assert card_now == self.card_start - paid_by_card + back_to_cards
        assert bank_now == self.bank_start  # transfers and bank refunds only move money

    def _one(self, sql: str) -> int:
        return int(self.reader.execute(sql).fetchone()[0])

    def _rail_totals(self) -> tuple[int, int]:
        return (
            self._one("SELECT COALESCE(SUM(balance), 0) FROM card_funds"),
            self._one("SELECT COALESCE(SUM(balance), 0) FROM bank_accounts"),
        )


Lifecycle.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_payment_lifecycle_holds_under_any_interleaving = Lifecycle.TestCase

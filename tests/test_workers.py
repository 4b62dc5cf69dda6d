"""Several worker processes on one PostgreSQL, and nothing charged twice.

The simulator's parties act as usual, but every event goes to worker processes
(tests/pg_worker.py, the real engine each) instead of an engine in this process: a third of the
events to two workers at once (a redelivery racing the original), double taps split across
workers, and workers SIGKILLed at random points (idle, mid-event, after answering), then
restarted; an event whose worker died unanswered is delivered again, as Telegram would. After
it: every request paid at most once and each card charged once, the ledger balanced, every
confirmation seen exactly once (none lost with a dead worker, none sent twice), the PIN counter
exact under concurrent wrong PINs, and each due job fired once. Loopback only (a unix socket),
bounded in time by its seeded script.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bot.outbox import Outbox
from core.clock import SeededIds, VirtualClock
from core.messages import Inbound, Outbound
from core.settings import Settings
from payments.rails import Rails
from sim.scenarios.world import World, seed
from sim.simulator import Simulator
from storage.opening import open_store
from storage.sqlite_rows.outbox import outbound_from_json
from tests.conftest import ROOT

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CUSTOMERS = 4


class Died(Exception):
    """The worker was killed before it answered."""


class Worker:
    def __init__(self, url: str) -> None:
        self.url = url
        self.id = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[list[Outbound]]] = {}
        self._next = 0
        self._reading: asyncio.Task[None] | None = None
        self.dead = False

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.pg_worker",
            self.url,
            START.isoformat(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self._proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(self._proc.stdout.readline(), 120))
        self.id = ready["worker"]
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            answer = json.loads(line)
            outs = [outbound_from_json(body).numbered(seq) for seq, body in answer["outs"]]
            self._pending.pop(answer["id"]).set_result(outs)
        self.dead = True
        for future in self._pending.values():
            future.set_exception(Died())
        self._pending.clear()

    async def ask(self, now: datetime, **request: Any) -> list[Outbound]:
        assert self._proc is not None
        assert self._proc.stdin is not None
        if self.dead:  # killed by a racing event: nobody will answer
            raise Died()
        self._next += 1
        future: asyncio.Future[list[Outbound]] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        line = json.dumps({"id": self._next, "now": now.isoformat(), **request})
        self._proc.stdin.write(line.encode() + b"\n")
        return await future

    def kill(self) -> None:
        assert self._proc is not None
        self.dead = True
        self._proc.kill()

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        if self._reading is not None:
            await self._reading


class Workers:
    """The engine's door (`handle`, `run_due`), spread over worker processes."""

    def __init__(self, url: str, clock: VirtualClock, count: int, rng: random.Random) -> None:
        self.url, self.clock, self.rng = url, clock, rng
        self.live = [Worker(url) for _ in range(count)]
        self.kills = Counter[str]()
        self.duplicated = 0

    async def start(self) -> None:
        await asyncio.gather(*(w.start() for w in self.live))

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.live))

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        request = {"inbound": dataclasses.asdict(inbound)}
        while True:
            targets = self.rng.sample(self.live, 2 if self.rng.random() < 0.35 else 1)
            self.duplicated += len(targets) - 1
            point = self.rng.random()
            asked = [asyncio.create_task(w.ask(self.clock.now(), **request)) for w in targets]
            if point < 0.1:
                await self._kill(targets[0], "mid-event")  # it may or may not have committed
            results = await asyncio.gather(*asked, return_exceptions=True)
            if 0.1 <= point < 0.16 and not isinstance(results[0], Died):
                await self._kill(targets[0], "after answering")
            if 0.16 <= point < 0.2:
                await self._kill(self.rng.choice(self.live), "idle")
            answered = [r for r in results if not isinstance(r, BaseException)]
            for r in results:
                if isinstance(r, BaseException) and not isinstance(r, Died):
                    raise r
            if answered:
                return [o for outs in answered for o in outs]
            # Nobody answered: the transport never confirmed it, so it comes again.

    async def run_due(self) -> list[Outbound]:
        two = self.rng.sample(self.live, 2)  # both try: each job must still fire once
        done = await asyncio.gather(*(w.ask(self.clock.now(), due=True) for w in two))
        return [o for outs in done for o in outs]

    async def _kill(self, worker: Worker, when: str) -> None:
        if worker.dead or worker not in self.live:
            return  # a racing event killed it already
        worker.kill()
        await worker.stop()
        await _gone(self.url, worker.id)  # PostgreSQL ended its session: its locks are free
        self.kills[when] += 1
        fresh = Worker(self.url)
        await fresh.start()
        self.live[self.live.index(worker)] = fresh


async def _gone(url: str, worker: int) -> None:
    deadline = time.monotonic() + 30
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            cur = await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
                "AND objid::bigint = %s",
                (worker,),
            )
            row = await cur.fetchone()
            if row is not None and row[0] == 0:
                return
    raise AssertionError(f"worker {worker}'s session outlived its process")


def _customer(i: int) -> str:
    return f"c{i}"


async def test_several_workers_killed_at_random_charge_nothing_twice(
    settings: Settings, pg_url: str
) -> None:
    rng = random.Random(18)
    clock = VirtualClock(START)
    store = await open_store(pg_url)  # this process's own worker: it delivers, as a transport
    workers = Workers(pg_url, clock, 3, rng)
    await workers.start()
    try:
        sim = Simulator(workers, Outbox(store), clock)
        world = World(sim, workers, store, clock, SeededIds(18), Rails.simulated(), settings)  # type: ignore[arg-type]
        parties: dict[str, Any] = {
            "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"}
        }
        given: dict[str, Any] = {"shop": {"payments": {"bank": "HDFC Bank"}}}
        for i in range(CUSTOMERS):
            phone = f"+91 98123 4{i:04d}"
            parties[_customer(i)] = {"role": "customer", "phone": phone}
            given[_customer(i)] = {"pin": "2580", "methods": [{"card": "4242 4242 4242 4242"}]}
        await seed(world, parties, given)

        for i in range(CUSTOMERS):
            c = _customer(i)
            await sim.text("shop", "/request")
            await sim.text("shop", parties[c]["phone"])
            await sim.text("shop", str(100 + i))
            await sim.text("shop", f"order {i}")
            if i == CUSTOMERS - 1:
                continue  # left to expire
            await sim.tap(c, "pay")
            await sim.tap(c, label_contains="4242")
            if i == 0:
                # Two wrong PINs at once, on two workers: both count, exactly.
                await sim.together([(c, "pin", "[PIN]", {"text": "1111"})] * 2)
                wrong = await store.run(lambda tx: tx.pin("c0"))
                assert wrong is not None
                assert wrong.wrong == 2
            # A double-tapped confirmation, split across workers.
            await sim.together([(c, "pin", "[PIN]", {"text": "2580"})] * 2)
        await sim.advance(timedelta(hours=25))  # the last request expires: one job, once

        def audit(tx: Any) -> dict[str, Any]:
            c = tx.c
            return {
                "counts": tx.successful_payment_counts(),
                "sums": tx.ledger_sums(),
                "charges": c.execute(
                    "SELECT count(*) FROM processor_charges WHERE outcome='succeeded'"
                ).fetchone()[0],
                "pending_jobs": c.execute(
                    "SELECT count(*) FROM jobs WHERE done=0 AND due_at<=?",
                    (clock.now().isoformat(),),
                ).fetchone()[0],
                "undelivered": c.execute(
                    "SELECT count(*) FROM outbox WHERE delivered=0"
                ).fetchone()[0],
                "statuses": dict(list(c.execute("SELECT note, status FROM requests"))),
            }

        found = await store.run(audit)
    finally:
        await workers.stop()
        await store.close()

    paid = CUSTOMERS - 1
    assert sorted(n for _, n in found["counts"]) == [1] * paid  # at most one payment each
    assert found["charges"] == paid  # and the card charged once for it
    assert set(found["sums"].values()) == {0}  # the ledger balances
    assert found["pending_jobs"] == 0
    assert found["undelivered"] == 0
    assert found["statuses"][f"order {CUSTOMERS - 1}"] == "expired"
    seen = Counter((e.party, e.key) for e in sim.events if e.kind == "send")
    for i in range(paid):
        assert seen[(_customer(i), "pay.succeeded")] == 1, _customer(i)
    assert seen[("shop", "pay.received")] == paid
    assert seen[(_customer(CUSTOMERS - 1), "request.expired")] == 1
    assert seen[("shop", "request.expired")] == 1
    assert sum(workers.kills.values()) >= 3, workers.kills  # the script did kill workers
    assert workers.duplicated >= 5

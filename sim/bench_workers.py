"""`paychat bench --storage URL --workers N`: the payment conversations of `paychat bench`, on a
database several worker processes share, each worker a process with its own engine.

The run gets a fresh schema of its own on a PostgreSQL URL (dropped after), or a fresh file for
SQLite. N times `conversations` business/customer pairs are seeded once; each worker takes its
share and drives them as fast as replies come back (a closed loop, like the first phase of
`paychat bench`), all starting at one signal. Reported: events per second over the wall time
from that signal to the last end, and the p50/p99 of every event's latency at that saturation.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.runtime import open_engine
from core.clock import SecureIds, VirtualClock
from core.records import Method
from core.settings import Settings, load_settings
from payments.rails import Rails
from sim.bench import START, Pair, _conversation, _seed
from storage.base import MethodRows
from storage.opening import open_store, parse


@dataclass(frozen=True)
class WorkersResult:
    storage: str
    workers: int
    events: int
    seconds: float
    events_per_second: float
    p50_ms: float
    p99_ms: float


@asynccontextmanager
async def _database(url: str) -> AsyncIterator[str]:
    if parse(url)[0] == "postgresql":
        from storage.pg_schemas import scratch_schema

        async with scratch_schema(url, "bench") as scratch:
            yield scratch
        return
    with tempfile.TemporaryDirectory(prefix="paychat-bench-") as folder:
        yield str(Path(folder) / "bench.db")


async def run_workers(
    settings: Settings, url: str, workers: int, conversations: int, payments: int, config: str
) -> WorkersResult:
    cost = settings.security.pin_hash_cost
    async with _database(url) as db:
        store = await open_store(db)
        rails, ids = Rails.simulated(), SecureIds()
        total = workers * conversations
        try:
            await store.run(lambda tx: _seed(total, cost, settings, rails, ids, tx))
        finally:
            await store.close()
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sim.bench_workers",
                config,
                db,
                str(w * conversations),
                str(conversations),
                str(payments),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for w in range(workers)
        ]
        for proc in procs:  # every engine open before the clock starts
            assert proc.stdout is not None
            await proc.stdout.readline()
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        reports = [json.loads((await p.communicate())[0]) for p in procs]
        seconds = time.perf_counter() - started
    latencies = [x for r in reports for x in r["latencies"]]
    quantiles = statistics.quantiles(latencies, n=100)
    return WorkersResult(
        "postgresql" if parse(url)[0] == "postgresql" else "sqlite",
        workers,
        len(latencies),
        seconds,
        len(latencies) / seconds,
        quantiles[49] * 1000,
        quantiles[98] * 1000,
    )


def report(result: WorkersResult) -> str:
    return (
        f"{result.storage}, {result.workers} worker(s): {result.events} events in "
        f"{result.seconds:.1f} s = {result.events_per_second:.0f} events/s; "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms (saturated)"
    )


def _methods(user: str, tx: MethodRows) -> list[Method]:
    return tx.methods(user)


async def _worker(config: str, db: str, first: int, count: int, payments: int) -> dict[str, Any]:
    settings = load_settings(config)
    async with open_engine(settings, db, clock=VirtualClock(START), ids=SecureIds()) as engine:
        pairs = []
        for i in range(first, first + count):
            methods = await engine.store.run(partial(_methods, f"cust{i}"))
            pairs.append(Pair(f"shop{i}", f"cust{i}", f"+9197{i:08d}", methods[0].id))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        latencies: list[float] = []
        await asyncio.gather(
            *(
                _conversation(engine, pair, payments, latencies, f"w{first}-{i}")
                for i, pair in enumerate(pairs)
            )
        )
    return {"latencies": latencies}


if __name__ == "__main__":
    config, db, first, count, payments = sys.argv[1:6]
    done = asyncio.run(_worker(config, db, int(first), int(count), int(payments)))
    sys.stdout.write(json.dumps(done) + "\n")

"""Due jobs (request expiry, PIN unlock, payment status checks) by kind."""

from __future__ import annotations

from collections.abc import Callable

from flows.machine import Ctx

JOBS: dict[str, Callable[[Ctx], None]] = {}


def run_job(ctx: Ctx) -> None:
    job = ctx.inbound.job
    if not ctx.tx.finish_job(int(job["id"])):
        return
    handler = JOBS.get(ctx.inbound.text)
    if handler is not None:
        handler(ctx)

"""Group commit, for every adapter: units of work queue up, and one task hands the database's
thread all the units waiting (up to `MAX_BATCH`) at once, to run in one transaction, each in a
savepoint of its own; each caller gets its unit's value, or its error, after that COMMIT.

The adapter supplies `run_batch`: it runs the units on its thread and returns one outcome per
unit, `(True, value)` or `(False, exception)`; when the batch as a whole failed (nothing was
committed) it raises, and every unit of the batch gets that error, as a `StorageError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from core.errors import StorageError

T = TypeVar("T")
U = TypeVar("U")
MAX_BATCH = 32  # ~4 ms of work: replies wait for their batch's COMMIT, so this bounds p99
Outcome = tuple[bool, Any]
RunBatch = Callable[[list[Callable[[Any], Any]]], Awaitable[list[Outcome]]]


class GroupCommit(Generic[U]):
    def __init__(self, run_batch: RunBatch, foreign: tuple[type[BaseException], ...]) -> None:
        """`foreign`: the driver's own errors `run_batch` may raise, translated here."""
        self._run_batch = run_batch
        self._failures: tuple[type[BaseException], ...] = (StorageError, *foreign)
        self._queue: asyncio.Queue[tuple[Callable[[U], Any], asyncio.Future[Any]] | None] = (
            asyncio.Queue()
        )
        self.closed = False
        self._writer = asyncio.create_task(self._write_loop())

    async def run(self, work: Callable[[U], T]) -> T:
        if self.closed:
            raise StorageError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((work, future))
        return await future

    async def close(self) -> None:
        """Let the units queued before finish, then stop."""
        self.closed = True
        self._queue.put_nowait(None)
        await self._writer

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                outcomes = await self._run_batch([w for w, _ in batch])
            except self._failures as exc:
                error = exc if isinstance(exc, StorageError) else StorageError(str(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                for (ok, value), (_, future) in zip(outcomes, batch, strict=True):
                    if future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
            if stop:
                return

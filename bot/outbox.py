"""The outbox as a transport sees it: what is left to deliver, what was delivered, and which
platform message a logical ref became.

The engine writes outbox rows inside each event's unit of work; this object is the other half,
the bookkeeping a transport does after the commit. A transport depends on the engine's facade
(`handle`, `run_due`) and on this, never on the engine's store.
"""

from __future__ import annotations

from functools import partial

from core.messages import Outbound
from storage.base import OutboxRows, Store

PAGE = 1000  # rows read at a time: the storage port's default page


def _page(after: int, tx: OutboxRows) -> list[tuple[int, Outbound]]:
    return tx.undelivered(after, PAGE)


def _orphans(tx: OutboxRows) -> list[tuple[int, Outbound]]:
    return tx.orphaned(PAGE)


class Outbox:
    def __init__(self, store: Store[OutboxRows]) -> None:
        self._store = store

    async def undelivered(self) -> list[Outbound]:
        """What was committed but not yet delivered (after a restart, or to a party a transport
        could not reach), oldest first, each with its outbox `seq` set."""
        found: list[Outbound] = []
        while True:
            rows = await self._store.run(partial(_page, found[-1].seq if found else 0))
            found += [out.numbered(seq) for seq, out in rows]
            if len(rows) < PAGE:
                return found

    async def orphaned(self) -> list[Outbound]:
        """What a worker that died left undelivered (several workers on one database), now
        this one's to deliver; oldest first."""
        rows = await self._store.run(_orphans)
        return [out.numbered(seq) for seq, out in rows]

    async def delivered(self, outs: list[tuple[Outbound, str]]) -> None:
        """A transport reports what it delivered, with the platform's message id ("" when the
        platform gives none, e.g. a toast), so a later edit or deletion finds the message."""

        def work(tx: OutboxRows) -> None:
            tx.mark_delivered([o.seq for o, _ in outs if o.seq])
            for out, platform_id in outs:
                if out.kind in ("send", "photo") and out.ref and platform_id:
                    tx.remember_message(out.to, out.ref, platform_id)

        await self._store.run(work)

    async def failed(self, outs: list[Outbound]) -> None:
        """A transport reports what the platform refused for good (an edit of a message that is
        gone): recorded as failed, never as delivered, and not tried again."""
        await self._store.run(lambda tx: tx.mark_failed([o.seq for o in outs if o.seq]))

    async def platform_ids(self, user: str, ref: str) -> list[str]:
        """The platform's ids of the message a logical ref names (to edit or delete it): more
        than one when a crash made a transport send it twice; newest first."""
        return await self._store.run(lambda tx: tx.platform_ids(user, ref))

    async def ref_for(self, user: str, platform_id: str) -> str | None:
        """The logical ref of a platform message (a button was tapped on it)."""
        return await self._store.run(lambda tx: tx.ref_for(user, platform_id))

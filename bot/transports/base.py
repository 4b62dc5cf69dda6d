"""What a transport may use of the bot: the engine's door (`Handler`) and the `Outbox`.

A transport turns a platform's updates into `Inbound` events, saying on each what the person's
app can do (`can_biometric`: the simulator yes, Telegram no), hands them to `handle`, fires due
jobs with `run_due`, delivers the `Outbound` replies and reports them to the outbox. It never
reads the engine's store, settings or renderer: what it needs of those (the PIN length, the
command menu) its composition root gives it.
"""

from __future__ import annotations

from typing import Protocol

from bot.outbox import Outbox
from core.messages import Inbound, Outbound

__all__ = ["Handler", "Outbox"]


class Handler(Protocol):
    async def handle(self, inbound: Inbound) -> list[Outbound]:
        """One event in, its committed replies out. A bad event gets an answer, never an
        exception; only `StorageError` comes out, when nothing could be committed (the
        transport then must not confirm the event to its platform)."""
        ...

    async def run_due(self) -> list[Outbound]:
        """Fire every job due now; the replies they committed."""
        ...

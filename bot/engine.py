"""The one entry point: `Engine.handle(inbound) -> list[Outbound]`.

Per inbound event, in one unit of work (one transaction): claim the transport key (a redelivery
is a no-op), load the party and their conversation, fire one trigger of one flow, render the
replies and write them to the outbox. Replies are returned only after the commit. Due jobs
(expiry, unlocks, status checks) enter through the same door as `job` events.

A transport uses `handle`, `run_due` and `outbox` (the delivery bookkeeping), nothing else. The
engine is built and closed in one place, `bot.runtime.open_engine`; `store` is there for the
offline tools that seed and inspect a world (the scenario runner, the bench, tests).
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from functools import cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.outbox import Outbox
from bot.render import Renderer, shared_renderer
from core.clock import Clock, IdSource
from core.errors import RuleRefused, StorageError, TemplateProblem
from core.languages import PSEUDO, guess_language, typed_digits
from core.messages import Button, Inbound, Outbound
from core.money import Money
from core.records import User
from core.refs import InboundMessage
from core.settings import Settings
from core.threads import block_signals
from flows.machine import Ctx, Say
from flows.router import dispatch
from payments.pin import LONGEST_PIN, SHORTEST_PIN, hash_like
from payments.rails import Rails
from storage.base import Store, Tx
from storage.rails_rows import TxWithRails

log = logging.getLogger("paychat.engine")
_PIN_SALTS_KEPT = 100_000  # ~15 MB at most


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers)
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def hash_pool() -> ThreadPoolExecutor:
    """Threads for PIN hashes. One core stays the writer's: a PIN hash running on it stalls
    every event in the batch (measured on 2 cores: p99 of *all* events 17-22 ms with two hash
    threads, 9-12 ms with one, for ~10% less throughput when saturated)."""
    return ThreadPoolExecutor(
        max_workers=max(1, _cores() - 1),
        thread_name_prefix="pin-hash",
        initializer=block_signals,  # Ctrl+C and SIGTERM belong to the main thread
    )


@cache
def _load_formats(locale: str, currency: str, symbol: str | None) -> None:
    """Babel loads a locale's data on first use (~25 ms): at start-up, not on someone's first
    payment; once per process (the scenario runner starts an engine per case)."""
    Money(1, currency).format(locale, symbol)


def _maybe_pin(inbound: Inbound) -> bool:
    text = inbound.text
    return (
        inbound.kind in ("pin", "text")
        and SHORTEST_PIN <= len(text) <= LONGEST_PIN
        and text.isdigit()
    )


def _read_digits(inbound: Inbound) -> Inbound:
    """The one place native digits are read: an amount, PIN, code, phone or card number typed
    in Devanagari or Bengali digits (४२४२, ৫০০) reaches every flow, the PIN hash and the
    secret-deleting rules as the same Latin digits. A note or a name keeps its own."""
    if inbound.kind not in ("text", "pin", "command") or inbound.text.isascii():
        return inbound
    text = typed_digits(inbound.text)
    return inbound if text == inbound.text else replace(inbound, text=text)


class Engine:
    def __init__(
        self,
        store: Store[TxWithRails],
        settings: Settings,
        clock: Clock,
        ids: IdSource,
        rails: Rails | None = None,
        renderer: Renderer | None = None,
        *,
        link_base: str,
        hashing: Executor | None = None,
    ) -> None:
        """`link_base`: what a payment link's token is appended to (`bot.runtime` decides it:
        from the settings, or from the bot Telegram says it is). `hashing`: the PIN-hash
        threads, when they outlive this engine (the scenario runner's engines, one per case,
        share one pool: `hash_pool`); by default the engine makes its own and stops it."""
        self.store = store
        self.settings = settings
        # What an unregistered sender's app language may pick (made once, not per reply).
        self._guessable = (*settings.locales.available, *PSEUDO)
        self.clock = clock
        self.ids = ids
        self.link_base = link_base
        self.rails = rails or Rails.simulated()
        self.renderer = renderer or shared_renderer(
            settings.locales.available, settings.locales.default
        )
        self._market_values: dict[str | None, dict[str, Any]] = {}  # per market, built once
        for market in settings.markets.values():
            _load_formats(market.locale, market.currency, market.currency_symbol)
        self._pin_salts: dict[str, tuple[bytes, bytes]] = {}  # saves a read per PIN event
        self._pepper = b""
        self._own_hashing = hashing is None
        self._hashing = hashing or hash_pool()
        self.outbox = Outbox(store)

    def close(self) -> None:
        """Stop the PIN-hash threads it made (a hash under way finishes first). The store is
        not the engine's to close: whoever opened it closes it (`bot.runtime.open_engine`)."""
        if self._own_hashing:
            self._hashing.shutdown(wait=True, cancel_futures=True)

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        inbound = _read_digits(inbound)
        if _maybe_pin(inbound):
            inbound = await self._with_pin_proof(inbound)
        salts: dict[str, tuple[bytes, bytes]] = {}
        try:
            outs = await self.store.run(partial(self._step, inbound, salts))
        except StorageError as exc:
            if not isinstance(exc, RuleRefused):
                # The database could not take the event: nothing was committed, so the
                # transport must not confirm it (Telegram sends it again) and nobody is told
                # anything untrue.
                raise
            failure: Exception = exc  # a rule the event breaks every time: a bug to answer
        except Exception as exc:
            failure = exc
        else:
            if salts:  # only what a committed step said (most steps say nothing)
                self._remember_salts(salts)
            return outs
        # Never a traceback to a person: log the type only (messages may quote input), then
        # answer with a template in a unit of its own.
        detail = str(failure) if isinstance(failure, (TemplateProblem, RuleRefused)) else ""
        log.error("event %s failed: %s %s", inbound.key, type(failure).__name__, detail)
        log.debug("traceback of %s", inbound.key, exc_info=failure)
        return await self.store.run(partial(self._failed, inbound))

    async def _with_pin_proof(self, inbound: Inbound) -> Inbound:
        """Hash what may be a PIN in a thread pool, so the slow hash (scrypt releases the GIL)
        runs beside the single writer instead of stalling every event in its batch."""
        known = self._pin_salts.get(inbound.user)
        if known is None or not self._pepper:
            record, self._pepper = await self.store.run(
                lambda tx: (tx.pin(inbound.user), tx.pin_pepper())
            )
            if known is None:
                if record is None:
                    return inbound
                # Salt and scheme byte only (no digest). A stale entry is safe: the unit
                # compares the proof's salt with the one it needs and hashes again if not.
                known = (record.salt, record.hash[:1])
                self._remember_salts({inbound.user: known})
        salt, scheme = known
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(
            self._hashing, hash_like, inbound.text, scheme, salt, self._pepper
        )
        return replace(inbound, pin_proof=(salt, digest))

    def _remember_salts(self, salts: dict[str, tuple[bytes, bytes]]) -> None:
        """Keep what each party's next PIN entry is hashed with: their PIN's, or what a step
        said (a new PIN asked for: `Ctx.expect_pin`), so setting a PIN hashes off the writer
        too."""
        if len(self._pin_salts) + len(salts) > _PIN_SALTS_KEPT:
            self._pin_salts.clear()
        self._pin_salts.update(salts)

    async def run_due(self) -> list[Outbound]:
        """Fire every job that is due now, in order; each is an event of its own."""
        outs: list[Outbound] = []
        while True:
            jobs = await self.store.run(lambda tx: tx.due_jobs(self.clock.now()))
            if not jobs:
                return outs
            for job_id, kind, payload in jobs:
                outs += await self.handle(
                    Inbound(
                        key=f"job:{job_id}",
                        user=str(payload.get("user", "")),
                        kind="job",
                        text=kind,
                        job={"id": job_id, **payload},
                    )
                )

    # -- inside the unit of work ----------------------------------------------------------------
    def _step(
        self, inbound: Inbound, salts: dict[str, tuple[bytes, bytes]], tx: TxWithRails
    ) -> list[Outbound]:
        now = self.clock.now()
        if inbound.user:  # first: the party's events never run two at once, on any worker
            tx.hold_conversation(inbound.user)
        if not tx.claim(inbound.key, now):
            return []
        if inbound.platform_id:
            tx.remember_message(
                inbound.user, InboundMessage(inbound.key).pack(), inbound.platform_id
            )
        ctx = Ctx(
            tx=tx,
            settings=self.settings,
            now=now,
            ids=self.ids,
            rails=self.rails,
            inbound=inbound,
            user=tx.user(inbound.user) if inbound.user else None,
        )
        dispatch(ctx)
        salts.clear()  # a unit tried again (PostgreSQL) says it once
        salts.update(ctx.pin_salts)
        return self._commit_replies(tx, ctx.says, inbound)

    def _failed(self, inbound: Inbound, tx: Tx) -> list[Outbound]:
        if inbound.user:
            tx.hold_conversation(inbound.user)
        tx.claim(inbound.key, self.clock.now())
        if inbound.kind == "job":
            tx.finish_job(int(inbound.job["id"]))  # a failing job must not fire forever
            return []
        if not inbound.user:
            return []
        return self._commit_replies(tx, [Say("error.internal", inbound.user)], inbound)

    def _commit_replies(self, tx: Tx, says: list[Say], inbound: Inbound) -> list[Outbound]:
        outs = [self._render(tx, say, f"{inbound.key}#{i}", inbound) for i, say in enumerate(says)]
        seqs = tx.add_outbox(outs, self.clock.now())
        return [out.numbered(seq) for out, seq in zip(outs, seqs, strict=True)]

    def _render(self, tx: Tx, say: Say, default_ref: str, inbound: Inbound) -> Outbound:
        user = tx.user(say.to)
        values = self._values(user, say.vars)
        # Each reader in their own language; someone not registered yet (only ever the sender)
        # in what their app says they speak, if it is installed.
        locale = (
            user.locale
            if user
            else guess_language(inbound.language, self._guessable) or self.settings.locales.default
        )
        text = "" if say.kind == "delete" else self.renderer.render(say.key, locale, values)
        buttons = tuple(
            tuple(
                Button(
                    b.id,
                    b.label
                    if b.label is not None
                    else self.renderer.render(f"button.{b.key or b.id}", locale, values),
                )
                for b in row
            )
            for row in say.buttons
        )
        ref = say.ref or (default_ref if say.kind in ("send", "photo") else "")
        return Outbound(
            kind=say.kind,
            to=say.to,
            key=say.key,
            text=text,
            buttons=buttons,
            ref=ref,
            ask_contact=(
                self.renderer.render("button.share_contact", locale, values)
                if say.ask_contact
                else ""
            ),
            pin_pad=say.pin_pad,
            phone=say.phone,
            qr=say.qr,
        )

    def _values(self, user: User | None, values: dict[str, Any]) -> dict[str, Any]:
        market_code = user.market if user else None
        extra = self._market_values.get(market_code)
        if extra is None:
            market = self.settings.market(market_code) if market_code else None
            extra = self._market_values[market_code] = {
                "_money_locale": market.locale if market else "en",
                "_symbol": market.currency_symbol if market else None,
                "_tz": ZoneInfo(market.timezone) if market else None,
                "settings": self.settings,
                "_link_base": self.link_base,  # for the payment_link filter
            }
        return {**extra, "me": user, **values}

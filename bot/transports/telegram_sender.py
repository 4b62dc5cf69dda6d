"""Delivering the outbox to Telegram within its limits.

One worker per chat with pending messages (none for idle chats) keeps each chat in order without
one slow chat holding up the others. Token buckets: a small burst then about 1 message a second
per chat, about 30 a second overall.

A message is marked delivered only when Telegram accepted it. A 429 is honoured (`retry_after`);
network errors, 5xx answers and outages are retried with back-off, however long they last (and a
restart sends whatever is still undelivered). Two outcomes are final without a delivery, and
recorded as failed, never as delivered: Telegram refusing the message itself (400: an edit of a
message that is gone, a chat that does not exist). A chat that blocked the bot (403) keeps its
messages undelivered and in order; when the person writes again (`unblock`), they go out. PTB's
exceptions stop here: nothing above this module sees a `TelegramError`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot import qr
from bot.outbox import Outbox
from bot.transports.outage import StorageOutage
from core.errors import StorageError
from core.messages import Outbound
from core.threads import block_signals

log = logging.getLogger("paychat.telegram")

PIN_KEYS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("del", "0", "ok"))
_PIN_LABELS = {"del": "⌫", "ok": "✓"}


TEXT_LIMIT = 4096  # a message's text, in UTF-16 code units as Telegram counts
CAPTION_LIMIT = 1024  # a photo's caption
LABEL_LIMIT = 64  # a button's label: Telegram cuts longer ones on most clients


def fit(text: str, limit: int) -> str:
    """`text` cut to Telegram's `limit` (UTF-16 code units) with an ellipsis: a reply that is too
    long is shortened, never refused into silence."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    kept = text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", errors="ignore")
    return kept + "…"


TAP_SEPARATOR = "|"  # in no button id and no ref


def tap_data(button: str, ref: str) -> str:
    """A button's callback data: its id and, when it fits in Telegram's 64 bytes, the logical
    ref of the message it is on. A tap then acts on that message even on a copy whose platform
    id the bot never learned (a crash, or a lost answer, between sending and recording it)."""
    packed = f"{button}{TAP_SEPARATOR}{ref}"
    return packed if ref and len(packed.encode()) <= 64 else button


def read_tap(data: str) -> tuple[str, str | None]:
    """(button id, the message's ref if the data carries it)."""
    button, sep, ref = data.partition(TAP_SEPARATOR)
    return (button, ref) if sep and ref else (data, None)


def pin_keypad() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_PIN_LABELS.get(k, k), callback_data=f"pin:{k}") for k in row]
            for row in PIN_KEYS
        ]
    )


# PTB 22 warns whenever it builds a RetryAfter unless the process opts in to the next major's
# timedelta durations; this adapter is written for those.
os.environ.setdefault("PTB_TIMEDELTA", "1")


def retry_seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class Bucket:
    """A token bucket on an injected clock."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def wait(self) -> float:
        """Take a token; return how long to wait before using it (0 when one is free)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass(frozen=True)
class Delivery:
    out: Outbound
    platform_id: str


Observer = Callable[[Delivery], None]
Outcome = Literal["delivered", "failed", "blocked"]
MAX_BACKOFF = 300.0  # seconds between tries when Telegram cannot be reached at all


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        *,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        global_rate: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_retries: int = 5,
        outage: StorageOutage | None = None,
    ) -> None:
        """`outage`: where a delivery that cannot be recorded is reported (the transport's,
        so a full disk is said once for receiving and delivering alike)."""
        self.bot, self.outbox = bot, outbox
        self.outage = outage or StorageOutage(log)
        self._rate, self._burst, self._clock, self._sleep = (
            per_chat_rate,
            per_chat_burst,
            clock,
            sleep,
        )
        self._global = Bucket(global_rate, int(global_rate), clock)
        self._queues: dict[str, asyncio.Queue[Outbound]] = {}
        self._buckets: dict[str, Bucket] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._contact_keyboard: set[str] = set()
        self.max_retries = max_retries
        self.blocked: set[str] = set()
        self.observers: list[Observer] = []
        # One thread for QR pictures, started at the first one, born deaf to Ctrl+C and SIGTERM.
        self._drawing = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="qr-draw", initializer=block_signals
        )

    def enqueue(self, outs: list[Outbound]) -> None:
        for out in outs:
            queue = self._queues.setdefault(out.to, asyncio.Queue())
            queue.put_nowait(out)
            self._pending += 1
            self._idle.clear()
            if out.to not in self._workers:
                self._workers[out.to] = asyncio.create_task(self._work(out.to))

    async def idle(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._drawing.shutdown(wait=False, cancel_futures=True)

    async def unblock(self, chat: str) -> None:
        """The person wrote again: a chat that had blocked the bot gets what waited for it."""
        if chat in self.blocked:
            self.blocked.discard(chat)
            self.enqueue([o for o in await self.outbox.undelivered() if o.to == chat])

    async def _work(self, chat: str) -> None:
        queue = self._queues[chat]
        bucket = self._buckets.setdefault(chat, Bucket(self._rate, self._burst, self._clock))
        try:
            while not queue.empty():
                out = queue.get_nowait()
                try:
                    outcome, platform_id = await self._deliver(out, bucket)
                    if outcome == "delivered":
                        await self.outbox.delivered([(out, platform_id)])
                        for observer in self.observers:
                            observer(Delivery(out, platform_id))
                    elif outcome == "failed":
                        await self.outbox.failed([out])
                    else:  # blocked: this and the chat's later messages wait for `unblock`
                        while not queue.empty():
                            queue.get_nowait()
                            self._pending -= 1
                except StorageError as exc:
                    # Sent, but not recorded: a restart sends it again (a copy, which works).
                    self.outage.failed(f"recording the delivery of {out.key}", exc)
                except Exception:
                    # Not marked either way: a restart delivers it again.
                    log.exception("delivering %s to %s failed", out.key, out.to)
                finally:
                    self._pending -= 1
        finally:
            # An idle chat keeps nothing in memory: no queue, no worker, no bucket.
            self._workers.pop(chat, None)
            if queue.empty():
                self._queues.pop(chat, None)
                if bucket.tokens >= bucket.burst - 1:
                    self._buckets.pop(chat, None)
            if self._pending <= 0:
                self._pending = 0
                self._idle.set()

    async def _deliver(self, out: Outbound, bucket: Bucket) -> tuple[Outcome, str]:
        """Try until Telegram accepts the message, refuses it for good, or the chat is blocked."""
        if out.kind == "toast":
            return "delivered", ""  # answered in the update's own handler, or too late to
        if out.to in self.blocked:
            return "blocked", ""
        failures = 0
        while True:
            sends = out.kind in ("send", "photo", "sms")
            delay = max(bucket.wait(), self._global.wait()) if sends else 0
            if delay:
                await self._sleep(delay)
            try:
                platform_id = await self._call(out)
            except RetryAfter as exc:
                await self._sleep(retry_seconds(exc))
                continue
            except Forbidden:
                log.warning("chat %s blocked the bot; its messages wait until it writes", out.to)
                self.blocked.add(out.to)
                return "blocked", ""
            except BadRequest as exc:
                if "not modified" in exc.message.lower():  # an edit that changes nothing
                    return "delivered", ""
                log.warning(
                    "Telegram refused a %s (%s) for %s: %s", out.kind, out.key, out.to, exc.message
                )
                return "failed", ""
            except TelegramError as exc:  # network, timeouts, 5xx: not yet, try again
                failures += 1
                if failures == self.max_retries:
                    log.error(
                        "still cannot deliver %s to %s (%s); retrying",
                        out.key,
                        out.to,
                        type(exc).__name__,
                    )
                await self._sleep(min(2.0**failures, MAX_BACKOFF))
                continue
            if platform_id is None:
                log.warning("no platform message for %s %s; recorded as failed", out.kind, out.ref)
                return "failed", ""
            return "delivered", platform_id

    async def _call(self, out: Outbound) -> str | None:
        """Send, edit or delete; the platform's message id, or None when the message to change
        never reached the platform."""
        chat_id = int(out.to)
        if out.kind == "photo":
            # Drawing the symbol takes ~20-40 ms of pure Python (segno): off the event loop,
            # so the chats' other deliveries and the updates go on meanwhile.
            loop = asyncio.get_running_loop()
            picture = await loop.run_in_executor(self._drawing, qr.png, out.qr)
            message = await self.bot.send_photo(
                chat_id,
                picture,
                caption=fit(out.text, CAPTION_LIMIT),
                reply_markup=self._markup(out),
            )
            return str(message.message_id)
        if out.kind in ("send", "sms"):
            markup = self._markup(out)
            message = await self.bot.send_message(
                chat_id, fit(out.text, TEXT_LIMIT), reply_markup=markup
            )
            return str(message.message_id)
        copies = await self.outbox.platform_ids(out.to, out.ref)
        if not copies:
            return None
        # Every copy (a crash can make a message go out twice) shows the same: paid, closed.
        for platform_id in copies:
            if out.kind == "delete":
                await self.bot.delete_message(chat_id, int(platform_id))
            else:
                inline = self._inline(out)
                await self.bot.edit_message_text(
                    fit(out.text, TEXT_LIMIT), chat_id, int(platform_id), reply_markup=inline
                )
        return copies[0]

    def _inline(self, out: Outbound) -> InlineKeyboardMarkup | None:
        if out.pin_pad:
            return pin_keypad()
        if not out.buttons:
            return None
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        fit(b.label, LABEL_LIMIT), callback_data=tap_data(b.id, out.ref)
                    )
                    for b in row
                ]
                for row in out.buttons
            ]
        )

    def _markup(
        self, out: Outbound
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        if out.ask_contact:
            self._contact_keyboard.add(out.to)
            return ReplyKeyboardMarkup(
                [[KeyboardButton(fit(out.ask_contact, LABEL_LIMIT), request_contact=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
        inline = self._inline(out)
        if inline is None and out.to in self._contact_keyboard:
            self._contact_keyboard.discard(out.to)
            return ReplyKeyboardRemove()
        return inline

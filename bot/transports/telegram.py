"""The real bot on Telegram: a thin python-telegram-bot 22 adapter over `Engine.handle`.

No ConversationHandler, no PTB persistence: every update becomes an `Inbound` (its `update_id`
is the idempotency key) and every reply goes out through `TelegramSender`. The PIN is entered on
an inline keypad that edits one message to show dots; the digits live only in memory until ✓,
and never become a chat message.

Two lifetimes, nested by the composition root: `connect` owns PTB's `Application` (initialised:
getMe answered, so the token works and the bot's real username is known; shut down on exit), and
`TelegramTransport` owns receiving and delivering (`start`/`stop`) over the engine's door and
outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, CallbackQuery, MaybeInaccessibleMessage, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.render import shared_renderer
from bot.transports.base import Handler, Outbox
from bot.transports.outage import StorageOutage
from bot.transports.telegram_sender import (
    Delivery,
    TelegramSender,
    pin_keypad,
    read_tap,
    retry_seconds,
)
from bot.transports.telegram_webhook import WebhookServer
from core.errors import StorageError, TransportError
from core.languages import language_of
from core.messages import Inbound, InboundKind
from core.settings import Settings
from payments.pin import LONGEST_PIN

log = logging.getLogger("paychat.telegram")
COMMANDS = (
    "start",
    "help",
    "request",
    "link",
    "settings",
    "methods",
    "pin",
    "history",
    "receipt",
    "refund",
    "language",
    "cancel",
)
ALLOWED_UPDATES = ["message", "callback_query"]


# Whatever type parameters the builder's defaults give it.
App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


# Telegram's rule for a webhook's secret token: 1-256 of A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def new_webhook_secret() -> str:
    """256 random bits, in the characters Telegram allows (43 of them)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Webhook:
    """Receive updates by webhook: Telegram posts them to `url`, which reaches `listen:port`;
    `secret` is the token Telegram sends back with each, and a request without it is refused.
    There is always one: anyone who finds the URL could otherwise post forged updates (any
    user, any text, any tap). None given, one is generated; the bot hands it to Telegram
    itself (`setWebhook`), so nobody needs to know it, and it is never printed or logged.
    Pass one only when something in front of the bot checks it too (a proxy)."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret: str = field(default_factory=new_webhook_secret, repr=False)

    def __post_init__(self) -> None:
        if not _SECRET.fullmatch(self.secret):
            raise TransportError(
                "the webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )


@contextlib.asynccontextmanager
async def connect(token: str, base_url: str | None = None) -> AsyncIterator[App]:
    """PTB's Application for this token, initialised (getMe has answered: the token works and
    `app.bot.username` is the bot's real username) and shut down on exit. `base_url` is a local
    Bot API server (the emulator) instead of Telegram's. A Bot API that cannot be reached or
    refuses the token is a `TransportError`."""
    builder = ApplicationBuilder().token(token)
    if base_url:
        builder = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot"))
    app = builder.build()
    try:
        await app.initialize()
    except TelegramError as exc:
        await app.bot.shutdown()  # its HTTP clients opened before getMe failed
        raise _cannot_start(exc, app.bot) from None
    try:
        yield app
    finally:
        await app.shutdown()


def _cannot_start(exc: TelegramError, bot: Bot) -> TransportError:
    # PTB names the token in some messages (InvalidToken, URLs) and ends its base URL with it:
    # never pass it on.
    reason = str(exc).replace(bot.token, "•••")
    where = bot.base_url.removesuffix(bot.token)
    return TransportError(f"cannot start on the Bot API at {where}: {reason}")


Commands: TypeAlias = Mapping[str, Sequence[tuple[str, str]]]


def bot_commands(settings: Settings) -> Commands:
    """The command menus Telegram shows, by the Bot API's `language_code` (two letters; "" is
    everyone else): each command with its `command.<name>` template in that language. Telegram
    shows a person the menu of their app's language, before they have even started the bot."""
    renderer = shared_renderer(settings.locales.available, settings.locales.default)
    menus: dict[str, tuple[tuple[str, str], ...]] = {}
    for locale in (settings.locales.default, *settings.locales.available):
        code = "" if locale == settings.locales.default else language_of(locale)
        if code not in menus:  # pt_BR answers `pt`; a second pt_XX would not get its own
            menus[code] = tuple((c, renderer.render(f"command.{c}", locale, {})) for c in COMMANDS)
    return menus


FULL, EMPTY = "●", "○"
_TAPS_KEPT = 10_000  # keypad taps remembered against redelivery (Telegram keeps updates 24 h)


@dataclass
class Keypad:
    prompt: str
    digits: list[str] = field(default_factory=list)


def _is_keypad(message: MaybeInaccessibleMessage) -> bool:
    markup = getattr(message, "reply_markup", None)
    rows = markup.inline_keyboard if markup is not None else ()
    return any(button.callback_data == "pin:ok" for row in rows for button in row)


def _prompt_and_dots(shown: str) -> tuple[str, int]:
    """A keypad message's prompt without its dot line, and how many digits that line shows."""
    head, _, last = shown.rpartition("\n")
    if head and last and set(last) <= {FULL, EMPTY}:
        return head, last.count(FULL)
    return shown, 0


class TelegramTransport:
    def __init__(
        self,
        app: App,
        engine: Handler,
        outbox: Outbox,
        *,
        commands: Commands,
        pin_length: int,
        sender_options: dict[str, Any] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`app` comes from `connect`; `pin_length` draws the keypad's empty dots; `sleep` is
        how the receiving loop waits before asking again (injected by tests)."""
        self.app = app
        self.engine = engine
        self.outbox = outbox
        self.commands = dict(commands)
        self.pin_length = pin_length
        self.outage = StorageOutage(log)  # one for receiving, due jobs and delivery records
        self.sender = TelegramSender(
            self.app.bot, outbox, outage=self.outage, **(sender_options or {})
        )
        self.keypads: dict[tuple[int, int], Keypad] = {}
        self._taps: OrderedDict[str, None] = OrderedDict()
        self.handled = asyncio.Condition()
        self.last_update = 0
        self._ticker: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._sleep = sleep
        self._webhook: WebhookServer | None = None

    # -- life cycle ---------------------------------------------------------------------------
    async def start(
        self, *, polling: bool = True, webhook: Webhook | None = None, tick: float = 1.0
    ) -> None:
        """Deliver what is left in the outbox, then receive updates: by `webhook` when given,
        else by polling unless `polling` is False (then only what `run_due` and the outbox
        produce goes out: tests). Due jobs run every `tick` seconds (0: never by themselves).
        A Bot API refusing to start, or a webhook port that cannot be bound, is a
        `TransportError`; `stop` undoes whatever had started."""
        bot = self.app.bot
        for code, menu in self.commands.items():
            with contextlib.suppress(TelegramError):  # a menu is a nicety, not a reason to stop
                await bot.set_my_commands(
                    [BotCommand(c, d) for c, d in menu], language_code=code or None
                )
        # A restart loses nothing: what was committed but not delivered goes out now.
        self.sender.enqueue(await self.outbox.undelivered())
        try:
            if webhook is not None:
                self._webhook = WebhookServer(
                    bot, self.receive, path=urlsplit(webhook.url).path, secret=webhook.secret
                )
                try:
                    self._webhook.listen(webhook.listen, webhook.port)
                except OSError as exc:  # the port: taken, or not ours to bind
                    raise TransportError(
                        f"cannot listen for the webhook on {webhook.listen}:{webhook.port}: "
                        f"{exc.strerror or exc}"
                    ) from None
                await bot.set_webhook(
                    webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
                )
            elif polling:
                # getUpdates refuses to run while a webhook is set (409).
                await bot.delete_webhook(drop_pending_updates=False)
                self._poller = asyncio.create_task(self._poll())
        except TelegramError as exc:
            raise _cannot_start(exc, bot) from None
        if tick:
            self._ticker = asyncio.create_task(self._tick(tick))

    async def stop(self) -> None:
        for task in (self._ticker, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # Also after a start that failed half way (the port taken): stop what started.
        if self._webhook is not None:
            await self._webhook.close()
        await self.sender.close()

    async def _tick(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.run_due()
                # Several workers on one database: what a dead one left goes out from here.
                self.sender.enqueue(await self.outbox.orphaned())
            except StorageError as exc:  # the jobs stay due: the next tick tries them again
                # (Only a committed update says the outage is over: a tick with nothing due
                # writes nothing.)
                self.outage.failed("running due jobs", exc)

    async def run_due(self) -> None:
        self.sender.enqueue(await self.engine.run_due())

    async def _poll(self) -> None:
        """Long polling that confirms an update to Telegram (by asking for the next offset)
        only after it was committed: a process that dies mid-batch gets the batch again."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset, timeout=10, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except RetryAfter as exc:
                await self._sleep(retry_seconds(exc))
                continue
            except TelegramError as exc:  # network, 5xx, a 409 from a second instance
                failures += 1
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await self._sleep(min(2.0**failures, 30.0))
                continue
            for update in updates:
                if not await self.receive(update):
                    # Not committed: ask again from this update after a pause.
                    await self._sleep(1.0)
                    break
                offset = update.update_id + 1

    # -- updates ------------------------------------------------------------------------------
    def update_key(self, update_id: int) -> str:
        """The inbox key of an update: scoped to the bot, so a new token on the same database
        does not take its first updates for ones already handled."""
        return f"tg:{self.app.bot.id}:{update_id}"

    async def receive(self, update: Update) -> bool:
        """Handle one update; True once it is committed (and may be confirmed to Telegram),
        False when the database could not take it (Telegram must send it again)."""
        try:
            inbound = await self._inbound(update)
            if inbound is not None:
                await self.sender.unblock(inbound.user)  # what waited goes out before replies
                outs = await self.engine.handle(inbound)
                toasts = [o for o in outs if o.kind == "toast" and o.to == inbound.user]
                if update.callback_query is not None:
                    await self._answer(update.callback_query, toasts[0].text if toasts else "")
                self.sender.enqueue([o for o in outs if o not in toasts])
                await self.outbox.delivered([(o, "") for o in toasts])
                for toast in toasts:
                    for observer in self.sender.observers:
                        observer(Delivery(toast, ""))
        except StorageError as exc:
            self.outage.failed(f"update {update.update_id}", exc)
            return False
        except TelegramError as exc:  # an answer that failed: the event itself is committed
            log.warning("update %s: %s", update.update_id, type(exc).__name__)
        else:
            self.outage.worked()
        finally:
            async with self.handled:
                self.last_update = max(self.last_update, update.update_id)
                self.handled.notify_all()
        return True

    async def _inbound(self, update: Update) -> Inbound | None:
        user = update.effective_user
        if user is None or user.is_bot:
            return None
        base: dict[str, Any] = {
            "key": self.update_key(update.update_id),
            "user": str(user.id),
            "can_biometric": False,  # Telegram has no fingerprint or face prompt for bots
            "language": user.language_code or "",
            "name": user.first_name or "",
        }
        message = update.message
        if message is not None:
            if message.chat.type != "private":
                return None
            pid = str(message.message_id)
            if message.contact is not None:
                contact = message.contact
                return Inbound(
                    **base,
                    kind="contact",
                    platform_id=pid,
                    phone="+" + contact.phone_number.lstrip("+"),
                    contact_is_own=contact.user_id == user.id,
                )
            text = message.text or ""
            if text.startswith("/start ") and text.split(maxsplit=1)[1].strip():
                return Inbound(
                    **base, kind="link", text=text.split(maxsplit=1)[1].strip(), platform_id=pid
                )
            # A photo, sticker, voice note or location has no text: the flows answer it as text
            # they cannot read, rather than leaving the person in silence.
            kind: InboundKind = "command" if text.startswith("/") else "text"
            return Inbound(**base, kind=kind, text=text, platform_id=pid)
        query = update.callback_query
        if query is None or query.message is None or query.message.chat.id != user.id:
            if query is not None:
                await self._answer(query, "")
            return None
        data = query.data or ""
        if data.startswith("pin:") and not _is_keypad(query.message):
            # A forged tap (callback data is the client's to send): it must not turn another
            # message into a keypad.
            await self._answer(query, "")
            return None
        if data.startswith("pin:"):
            return await self._keypad(query, query.message, data.removeprefix("pin:"), base)
        button, ref = read_tap(data)
        if ref is None:  # a button from before refs rode along, or one too long to carry it
            ref = await self.outbox.ref_for(str(user.id), str(query.message.message_id))
        return Inbound(**base, kind="tap", button=button, message=ref or "")

    async def _keypad(
        self,
        query: CallbackQuery,
        message: MaybeInaccessibleMessage,
        key: str,
        base: dict[str, Any],
    ) -> Inbound | None:
        """The digits live in this process only (a PIN never reaches storage). Each tap counts
        once however often its update is delivered. A pad this process does not know but that
        shows dots lost its digits in a restart: its next tap asks for the PIN afresh."""
        if query.id in self._taps:  # a redelivered update: that tap was counted
            await self._answer(query, "")
            return None
        self._taps[query.id] = None
        if len(self._taps) > _TAPS_KEPT:
            self._taps.popitem(last=False)
        spot = (message.chat.id, message.message_id)
        shown = getattr(message, "text", "") or ""
        pad = self.keypads.get(spot)
        if pad is None:
            prompt, shown_digits = _prompt_and_dots(shown)
            pad = self.keypads[spot] = Keypad(prompt)
            if shown_digits:
                key = "ok"  # an empty PIN: the flow says what a PIN is and offers a new pad
        if key == "ok":
            digits = "".join(pad.digits)
            self.keypads.pop(spot, None)
            with contextlib.suppress(TelegramError):
                await self.app.bot.edit_message_text(
                    pad.prompt, message.chat.id, message.message_id
                )
            # Which prompt the PIN was entered on: an older prompt names another payment.
            ref = await self.outbox.ref_for(str(message.chat.id), str(message.message_id))
            return Inbound(**base, kind="pin", text=digits, message=ref or "")
        if key == "del":
            if pad.digits:
                pad.digits.pop()
        elif key.isdigit() and len(pad.digits) < LONGEST_PIN:
            # Up to the longest PIN, not the configured length: a PIN set under another setting
            # must still be enterable (typed text accepts it too).
            pad.digits.append(key)
        await self._answer(query, "")
        typed = len(pad.digits)
        dots = FULL * typed + EMPTY * max(0, self.pin_length - typed)
        with contextlib.suppress(TelegramError):  # "not modified" when nothing changed
            await self.app.bot.edit_message_text(
                f"{pad.prompt}\n{dots}",
                message.chat.id,
                message.message_id,
                reply_markup=pin_keypad(),
            )
        return None

    async def _answer(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):  # answering is best effort
            await query.answer(text[:200] or None)

    async def wait_handled(self, update_id: int) -> None:
        async with self.handled:
            await self.handled.wait_for(lambda: self.last_update >= update_id)

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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram import Bot, BotCommand, CallbackQuery, MaybeInaccessibleMessage, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.render import shared_renderer
from bot.transports.base import Handler, Outbox
from bot.transports.telegram_sender import Delivery, TelegramSender, pin_keypad
from core.errors import TransportError
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
    "refund",
    "cancel",
)
ALLOWED_UPDATES = ["message", "callback_query"]


# Whatever type parameters the builder's defaults give it.
App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Webhook:
    """Receive updates by webhook: Telegram posts them to `url`, which reaches `listen:port`;
    `secret` is the token Telegram sends back with each."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret: str | None = None


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


def bot_commands(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The command menu Telegram shows: each command with its `command.<name>` template, in the
    default locale (the renderer the engine uses: one per set of locales in a process)."""
    renderer = shared_renderer(settings.locales.available, settings.locales.default)
    locale = settings.locales.default
    return tuple((c, renderer.render(f"command.{c}", locale, {})) for c in COMMANDS)


@dataclass
class Keypad:
    prompt: str
    digits: list[str] = field(default_factory=list)


class TelegramTransport:
    def __init__(
        self,
        app: App,
        engine: Handler,
        outbox: Outbox,
        *,
        commands: Sequence[tuple[str, str]],
        pin_length: int,
        sender_options: dict[str, Any] | None = None,
    ) -> None:
        """`app` comes from `connect`; `pin_length` draws the keypad's empty dots."""
        self.app = app
        self.app.add_handler(TypeHandler(Update, self.on_update))
        self.engine = engine
        self.outbox = outbox
        self.commands = tuple(commands)
        self.pin_length = pin_length
        self.sender = TelegramSender(self.app.bot, outbox, **(sender_options or {}))
        self.keypads: dict[tuple[int, int], Keypad] = {}
        self.handled = asyncio.Condition()
        self.last_update = 0
        self._ticker: asyncio.Task[None] | None = None

    # -- life cycle ---------------------------------------------------------------------------
    async def start(
        self, *, polling: bool = True, webhook: Webhook | None = None, tick: float = 1.0
    ) -> None:
        """Deliver what is left in the outbox, then receive updates: by `webhook` when given,
        else by polling unless `polling` is False (then only what `run_due` and the outbox
        produce goes out: tests). Due jobs run every `tick` seconds (0: never by themselves).
        A Bot API refusing to start, or a webhook port that cannot be bound, is a
        `TransportError`; `stop` undoes whatever had started."""
        with contextlib.suppress(TelegramError):
            await self.app.bot.set_my_commands([BotCommand(c, d) for c, d in self.commands])
        # A restart loses nothing: what was committed but not delivered goes out now.
        self.sender.enqueue(
            [out for out in await self.outbox.undelivered() if out.kind != "toast"]
        )
        await self.app.start()
        updater = self.app.updater
        try:
            if webhook is not None and updater is not None:
                try:
                    await updater.start_webhook(
                        listen=webhook.listen,
                        port=webhook.port,
                        webhook_url=webhook.url,
                        secret_token=webhook.secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                except OSError as exc:  # the port: taken, or not ours to bind
                    raise TransportError(
                        f"cannot listen for the webhook on {webhook.listen}:{webhook.port}: "
                        f"{exc.strerror or exc}"
                    ) from None
            elif polling and updater is not None:
                await updater.start_polling(
                    poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES
                )
        except TelegramError as exc:
            raise _cannot_start(exc, self.app.bot) from None
        if tick:
            self._ticker = asyncio.create_task(self._tick(tick))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        # Also after a start that failed half way (the Bot API unreachable): stop what started.
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.sender.close()

    async def _tick(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.run_due()

    async def run_due(self) -> None:
        self.sender.enqueue(await self.engine.run_due())

    # -- updates ------------------------------------------------------------------------------
    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            inbound = await self._inbound(update)
            if inbound is not None:
                outs = await self.engine.handle(inbound)
                toasts = [o for o in outs if o.kind == "toast" and o.to == inbound.user]
                if update.callback_query is not None:
                    await self._answer(update.callback_query, toasts[0].text if toasts else "")
                self.sender.enqueue([o for o in outs if o not in toasts])
                await self.outbox.delivered([(o, "") for o in toasts])
                for toast in toasts:
                    for observer in self.sender.observers:
                        observer(Delivery(toast, ""))
        except TelegramError as exc:  # an answer that failed: the event itself is committed
            log.warning("update %s: %s", update.update_id, type(exc).__name__)
        finally:
            async with self.handled:
                self.last_update = max(self.last_update, update.update_id)
                self.handled.notify_all()

    async def _inbound(self, update: Update) -> Inbound | None:
        user = update.effective_user
        if user is None or user.is_bot:
            return None
        base: dict[str, Any] = {
            "key": f"tg:{update.update_id}",
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
        if data.startswith("pin:"):
            return await self._keypad(query, query.message, data.removeprefix("pin:"), base)
        ref = await self.outbox.ref_for(str(user.id), str(query.message.message_id))
        return Inbound(**base, kind="tap", button=data, message=ref or "")

    async def _keypad(
        self,
        query: CallbackQuery,
        message: MaybeInaccessibleMessage,
        key: str,
        base: dict[str, Any],
    ) -> Inbound | None:
        spot = (message.chat.id, message.message_id)
        pad = self.keypads.setdefault(spot, Keypad(getattr(message, "text", "") or ""))
        length = self.pin_length
        if key == "ok":
            digits = "".join(pad.digits)
            self.keypads.pop(spot, None)
            with contextlib.suppress(TelegramError):
                await self.app.bot.edit_message_text(
                    pad.prompt, message.chat.id, message.message_id
                )
            return Inbound(**base, kind="pin", text=digits)
        if key == "del":
            if pad.digits:
                pad.digits.pop()
        elif key.isdigit() and len(pad.digits) < LONGEST_PIN:
            # Up to the longest PIN, not the configured length: a PIN set under another setting
            # must still be enterable (typed text accepts it too).
            pad.digits.append(key)
        await self._answer(query, "")
        with contextlib.suppress(TelegramError):  # "not modified" when nothing changed
            await self.app.bot.edit_message_text(
                f"{pad.prompt}\n{'●' * len(pad.digits)}{'○' * max(0, length - len(pad.digits))}",
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

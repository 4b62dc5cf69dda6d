"""`paychat telegram`: the real bot, on Telegram's Bot API (or a local one via `--base-url`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys

from rich.console import Console

from bot.runtime import open_engine
from core.clock import SecureIds, SystemClock
from core.settings import Settings
from storage.base import StorageError

TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"


async def run_bot(
    settings: Settings,
    console: Console,
    base_url: str | None,
    webhook: str | None,
    listen: str,
    port: int,
    secret: str | None,
) -> int:
    from telegram.error import TelegramError

    from bot.transports.telegram import TelegramTransport, bot_commands, connect

    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(
            f"paychat telegram: set {TOKEN_VARIABLE} to your bot's token (from @BotFather); "
            "for offline use run `paychat emulator` and pass its --base-url",
            file=sys.stderr,
        )
        return 2
    sender = {
        "per_chat_rate": 1.0 / settings.telegram.per_chat_interval.total_seconds(),
        "global_rate": float(settings.telegram.global_per_second),
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    # Three lifetimes, ended in reverse: the Bot API connection, the engine and its store, the
    # transport. Each start-up failure below returns 2 and still unwinds what had started (an
    # open store or a half-started transport would keep the process from exiting).
    def refused(exc: TelegramError) -> int:
        # PTB names the token in some messages (InvalidToken, URLs): never print it.
        reason = str(exc).replace(token, "•••")
        where = base_url or "https://api.telegram.org/bot"
        print(
            f"paychat telegram: cannot start on the Bot API at {where}: {reason}", file=sys.stderr
        )
        return 2

    async with contextlib.AsyncExitStack() as running:
        try:
            app = await running.enter_async_context(connect(token, base_url))
        except TelegramError as exc:
            return refused(exc)
        try:
            engine = await running.enter_async_context(
                open_engine(settings, settings.storage.path, clock=SystemClock(), ids=SecureIds())
            )
        except StorageError as exc:
            print(f"paychat telegram: {exc}", file=sys.stderr)
            return 2
        transport = TelegramTransport(
            app,
            engine,
            engine.outbox,
            commands=bot_commands(settings),
            pin_length=settings.security.pin_length,
            sender_options=sender,
        )
        running.push_async_callback(transport.stop)
        try:
            await transport.start(polling=webhook is None)
            if webhook is not None and app.updater is not None:
                await app.updater.start_webhook(
                    listen=listen, port=port, webhook_url=webhook, secret_token=secret
                )
        except TelegramError as exc:
            return refused(exc)
        except OSError as exc:  # the webhook's port: taken, or not ours to bind
            print(
                f"paychat telegram: cannot listen for the webhook on {listen}:{port}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return 2
        me = app.bot.username
        gc.freeze()  # what start-up loaded lives as long as the bot: full collections skip it
        console.print(
            f"PayChat is running as @{me} ({'webhook' if webhook else 'polling'}"
            f"{', ' + base_url if base_url else ''}). Ctrl+C stops it."
        )
        await stop.wait()
    return 0

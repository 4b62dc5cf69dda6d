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
from core.errors import PayChatError
from core.settings import Settings

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
    from bot.transports.telegram import TelegramTransport, Webhook, bot_commands, connect

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

    hook = Webhook(webhook, listen, port, secret) if webhook else None
    try:
        # Three lifetimes, ended in reverse: the Bot API connection, the engine and its store,
        # the transport. A start-up failure in any (TransportError, StorageError) still unwinds
        # what had started: an open store or a half-started transport would keep the process
        # from exiting.
        async with (
            connect(token, base_url) as app,
            open_engine(
                settings, settings.storage.path, clock=SystemClock(), ids=SecureIds()
            ) as engine,
        ):
            transport = TelegramTransport(
                app,
                engine,
                engine.outbox,
                commands=bot_commands(settings),
                pin_length=settings.security.pin_length,
                sender_options=sender,
            )
            try:
                await transport.start(webhook=hook)
                gc.freeze()  # what start-up loaded lives as long as the bot: collections skip it
                console.print(
                    f"PayChat is running as @{app.bot.username} "
                    f"({'webhook' if webhook else 'polling'}"
                    f"{', ' + base_url if base_url else ''}). Ctrl+C stops it."
                )
                await stop.wait()
            finally:
                await transport.stop()
    except PayChatError as exc:
        print(f"paychat telegram: {exc}", file=sys.stderr)
        return 2
    return 0

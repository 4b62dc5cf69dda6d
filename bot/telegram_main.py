"""`paychat telegram`: the real bot, on Telegram's Bot API (or a local one via `--base-url`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys

from rich.console import Console

from bot.engine import Engine
from core.clock import SecureIds, SystemClock
from core.settings import Settings
from storage.base import StorageError
from storage.sqlite import SqliteStore

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

    from bot.transports.telegram import TelegramTransport

    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(
            f"paychat telegram: set {TOKEN_VARIABLE} to your bot's token (from @BotFather); "
            "for offline use run `paychat emulator` and pass its --base-url",
            file=sys.stderr,
        )
        return 2
    try:
        store = await SqliteStore.open(settings.storage.path, settings.storage.synchronous)
    except StorageError as exc:
        print(f"paychat telegram: {exc}", file=sys.stderr)
        return 2
    engine = Engine(store, settings, SystemClock(), SecureIds())
    sender = {
        "per_chat_rate": 1.0 / settings.telegram.per_chat_interval.total_seconds(),
        "global_rate": float(settings.telegram.global_per_second),
    }
    transport = TelegramTransport(engine, token, base_url, sender)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await transport.start(polling=webhook is None)
            if webhook is not None and transport.app.updater is not None:
                await transport.app.updater.start_webhook(
                    listen=listen, port=port, webhook_url=webhook, secret_token=secret
                )
        except TelegramError as exc:
            # PTB names the token in some messages (InvalidToken, URLs): never print it.
            reason = str(exc).replace(token, "•••")
            where = base_url or "https://api.telegram.org/bot"
            print(
                f"paychat telegram: cannot start on the Bot API at {where}: {reason}",
                file=sys.stderr,
            )
            return 2
        except OSError as exc:  # the webhook's port: taken, or not ours to bind
            print(
                f"paychat telegram: cannot listen for the webhook on {listen}:{port}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return 2
        me = transport.app.bot.username
        gc.freeze()  # what start-up loaded lives as long as the bot: full collections skip it
        console.print(
            f"PayChat is running as @{me} ({'webhook' if webhook else 'polling'}"
            f"{', ' + base_url if base_url else ''}). Ctrl+C stops it."
        )
        await stop.wait()
    finally:
        try:
            await transport.stop()
        finally:
            await store.close()  # an open store would keep the process from exiting
    return 0

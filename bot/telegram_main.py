"""`paychat telegram`: the real bot, on Telegram's Bot API (or a local one via `--base-url`).

`open_telegram` composes it (connection, engine, transport) for `run_bot`, the Telegram scenario
runner and the tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from rich.console import Console

from bot.engine import Engine
from bot.runtime import check_settings, deep_link_base, open_engine
from bot.transports.telegram import TelegramTransport, Webhook, bot_commands, connect
from core.clock import Clock, IdSource, SecureIds, SystemClock
from core.errors import ConfigError, PayChatError
from core.settings import Settings
from payments.rails import Rails

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
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(
            f"paychat telegram: set {TOKEN_VARIABLE} to your bot's token (from @BotFather); "
            "for offline use run `paychat emulator` and pass its --base-url",
            file=sys.stderr,
        )
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if webhook is None and settings.telegram.mode == "webhook":
        webhook = settings.telegram.webhook_url
    # Everything that can fail at start-up happens in here: one line on stderr and exit 2, and
    # whatever had opened (the connection, the store, the webhook's port) is closed again.
    try:
        hook = None
        if webhook:
            hook = (
                Webhook(webhook, listen, port, secret)
                if secret
                else Webhook(webhook, listen, port)
            )
        sender = {
            "per_chat_rate": 1.0 / settings.telegram.per_chat_interval.total_seconds(),
            "global_rate": float(settings.telegram.global_per_second),
        }
        async with open_telegram(
            settings,
            settings.storage.database(),
            token,
            base_url=base_url,
            clock=SystemClock(),
            ids=SecureIds(),
            sender_options=sender,
        ) as (_, transport):
            await transport.start(webhook=hook)
            gc.freeze()  # what start-up loaded lives as long as the bot: collections skip it
            console.print(
                f"PayChat is running as @{transport.app.bot.username} "
                f"({_receiving(hook, secret)}{', ' + base_url if base_url else ''}). "
                "Ctrl+C stops it.",
                soft_wrap=True,  # one line, however long the URL: operators grep for it
            )
            await stop.wait()
    except ConfigError:
        raise  # the command line says "bad configuration", as for every command
    except PayChatError as exc:
        print(f"paychat telegram: {exc}", file=sys.stderr)
        return 2
    return 0


def _receiving(hook: Webhook | None, secret: str | None) -> str:
    if hook is None:
        return "polling"
    if secret:
        return f"webhook at {hook.url}"
    # The generated secret is not shown: the bot gave it to Telegram itself, and a secret on a
    # screen or in a log is one more place to leak it from.
    return f"webhook at {hook.url}, with a secret token generated for this run"


@asynccontextmanager
async def open_telegram(
    settings: Settings,
    db_path: str,
    token: str,
    *,
    base_url: str | None = None,
    clock: Clock,
    ids: IdSource,
    rails: Rails | None = None,
    sender_options: dict[str, Any] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[tuple[Engine, TelegramTransport]]:
    """The bot on Telegram, composed: the Bot API connection (getMe answered), the engine, whose
    payment links name the bot getMe reported (not the config's `bot_username`), and the
    transport over the engine's door and outbox, given to the body not yet started. Ended in
    reverse: the transport stops (also after a start that failed half way), then the engine
    and its store close, then the connection. A start-up failure is a `PayChatError`:
    `TransportError` (the Bot API), `StorageError` (the database), `ConfigError` (checked
    before anything opens)."""
    check_settings(settings)
    async with (
        connect(token, base_url) as app,
        open_engine(
            settings,
            db_path,
            clock=clock,
            ids=ids,
            rails=rails,
            link_base=deep_link_base(app.bot.username),
        ) as engine,
    ):
        transport = TelegramTransport(
            app,
            engine,
            engine.outbox,
            commands=bot_commands(settings),
            pin_length=settings.security.pin_length,
            sender_options=sender_options,
            sleep=sleep,
        )
        try:
            yield engine, transport
        finally:
            await transport.stop()

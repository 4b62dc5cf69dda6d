"""The one composition root: settings and a database path in, a working `Engine` out, and its end.

    async with open_engine(settings, "paychat.db", clock=SystemClock(), ids=SecureIds()) as engine:
        outs = await engine.handle(inbound)

It opens the store, builds the engine and, on the way out, stops the engine's PIN-hash threads
and closes the store, in that order, whether the body returned or raised, and also when start-up
fails half way (the store opened, the engine could not be built). An open store or a live
thread pool would keep the process from exiting. Every command that runs the bot (`paychat
telegram`, `chat`, `demo`, `test`, `bench`) and every test that needs an engine come in here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from functools import cache

from bot.engine import Engine
from bot.render import check_locales
from core.clock import Clock, IdSource
from core.settings import Settings
from payments.rails import Rails
from storage.opening import open_store
from storage.sqlite import Statements


def deep_link_base(bot_username: str) -> str:
    """A payment link is Telegram's deep link to the bot with the link's token as the start
    parameter: opening it sends `/start <token>` (the simulator reads the token the same way)."""
    return f"https://t.me/{bot_username}?start="


def check_settings(settings: Settings) -> None:
    """What `core.settings` cannot know when it loads the file, checked before anything opens:
    every configured language has templates (a `ConfigError` naming the key). Checked once per
    process for the same languages: it lists the template folders, and a scenario run opens an
    engine per case."""
    _check_locales(settings.locales.available, settings.locales.default)


@cache  # only checks that passed are kept: a `ConfigError` is raised again each time
def _check_locales(available: tuple[str, ...], default: str) -> None:
    check_locales(available, default)


@asynccontextmanager
async def open_engine(
    settings: Settings,
    db_path: str,
    *,
    clock: Clock,
    ids: IdSource,
    rails: Rails | None = None,
    link_base: str | None = None,
    record: list[Statements] | None = None,
    hashing: Executor | None = None,
) -> AsyncIterator[Engine]:
    """`link_base`: where payment links point; by default the deep link of the configured
    `telegram.bot_username` (the simulator's links). The Telegram transport passes the bot's
    real username, from getMe. `record`: `paychat bench` only; every statement the engine's
    committed units run is appended to it, one list per unit (see `SqliteStore.open`).
    `hashing`: PIN-hash threads that outlive the engine (see `Engine`); by default its own.
    `db_path`: a SQLite path or a storage URL (`storage/opening.py`)."""
    check_settings(settings)
    store = await open_store(db_path, settings.storage.synchronous, record=record)
    try:
        engine = Engine(
            store,
            settings,
            clock,
            ids,
            rails,
            link_base=link_base or deep_link_base(settings.telegram.bot_username),
            hashing=hashing,
        )
        try:
            yield engine
        finally:
            engine.close()
    finally:
        await store.close()

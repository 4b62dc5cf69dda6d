"""Scratch schemas on a PostgreSQL database: each test, or each scenario case of `paychat test
--storage postgresql://…`, gets a fresh, empty schema of its own and leaves nothing behind."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from core.errors import StorageError
from storage.postgres import redact


def in_schema(url: str, schema: str) -> str:
    """The URL of the same database with `schema` first on the search path (libpq's
    `options`, sent at connection start)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="/")))


@asynccontextmanager
async def scratch_schema(url: str, prefix: str = "paychat_scratch") -> AsyncIterator[str]:
    """A new schema for the body, by URL; dropped with all it holds after."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        raise StorageError(f"cannot create a schema on {redact(url)}: {exc}") from None
    try:
        yield in_schema(url, schema)
    finally:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')

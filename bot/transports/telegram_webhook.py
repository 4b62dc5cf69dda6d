"""Receiving Telegram's updates by webhook, answering only once an update is committed.

python-telegram-bot's own webhook server answers 200 as soon as an update is queued, before it is
handled, so an update in flight when the process dies is lost: Telegram never sends it again.
This server answers 200 only after the update's unit of work committed; when it could not be
committed (the database cannot write) it answers 503, and Telegram retries the update later.
It serves exactly the path of the URL given to `setWebhook`, and refuses a request without the
secret token Telegram echoes back (`X-Telegram-Bot-Api-Secret-Token`); there is always one.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import tornado.httpserver
import tornado.web
from telegram import Bot, Update

log = logging.getLogger("paychat.telegram")

Receive = Callable[[Update], Awaitable[bool]]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _Updates(tornado.web.RequestHandler):
    def initialize(self, bot: Bot, receive: Receive, secret: str) -> None:
        self.bot, self.receive, self.secret = bot, receive, secret

    async def post(self) -> None:
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError,
        # a 500), and a forged header may hold anything.
        sent = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(sent, self.secret.encode()):
            self.set_status(HTTPStatus.FORBIDDEN)
            return
        try:
            data: Any = json.loads(self.request.body)
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        if update is None:
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        committed = await self.receive(update)
        # 503: Telegram keeps the update and posts it again; 200 lets it go.
        self.set_status(HTTPStatus.OK if committed else HTTPStatus.SERVICE_UNAVAILABLE)

    def log_exception(self, *args: Any) -> None:  # tornado's name
        log.error("webhook request failed: %s", args[1].__class__.__name__ if args else "")


class WebhookServer:
    def __init__(self, bot: Bot, receive: Receive, *, path: str, secret: str) -> None:
        app = tornado.web.Application(
            [(path or "/", _Updates, {"bot": bot, "receive": receive, "secret": secret})],
            log_function=lambda _handler: None,  # per-request access lines are noise here
        )
        self.server = tornado.httpserver.HTTPServer(app)

    def listen(self, host: str, port: int) -> None:
        """Bind now (raises OSError when the port is taken) and serve on the running loop."""
        self.server.listen(port, address=host)

    async def close(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()

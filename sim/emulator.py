"""A local Telegram Bot API emulator, so the real Telegram adapter runs offline.

It speaks the Bot API over HTTP on loopback: `/bot<token>/<method>` with the real envelopes
(`{"ok": true, "result": …}` / `{"ok": false, "error_code": 400, "description": …}`) and limits
(callback_data 1-64 bytes, text up to 4,096 characters, callback answers up to 200, editing a
message that does not exist or is not modified). It simulates users and their private chats, and a
small control API (`/control/…`, JSON) acts as a user: send text, open a deep link, share a
contact, tap a button, and read a chat. Faults are injected by method name
(`telegram.sendMessage`: a 429 with retry_after, a 403 for a blocked bot, …).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from rich.console import Console

from sim.errors import SimError

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_ANSWER = 200
_INT = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "max_connections"}
_JSON = {"reply_markup", "commands", "allowed_updates", "show_alert", "link_preview_options"}


class ApiError(SimError):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Fault:
    code: int
    description: str
    retry_after: int | None = None
    times: int = 1


@dataclass
class Emulated:
    """Everything the emulator knows; guarded by `lock`."""

    token: str
    bot: dict[str, Any]
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    chats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    keyboards: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_update: int = 1
    next_message: int = 1
    next_query: int = 1
    confirmed: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)


class Emulator:
    def __init__(
        self,
        token: str = "123456:EMULATOR",
        username: str = "PayChatSimBot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        bot_id = int(token.split(":")[0])
        self.state = Emulated(
            token,
            {
                "id": bot_id,
                "is_bot": True,
                "first_name": "PayChat",
                "username": username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            },
        )
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What `paychat telegram --base-url` and PTB's `base_url` take."""
        return f"{self.url}/bot"

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            # shutdown() waits for the loop to look up: every 0.5 s by default, on every stop
            target=partial(self.server.serve_forever, poll_interval=0.02),
            daemon=True,
            name="telegram-emulator",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.state.lock:
            self.state.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # -- acting as users ----------------------------------------------------------------------
    def add_user(
        self, user_id: int, first_name: str, phone: str = "", language_code: str = "en"
    ) -> dict[str, Any]:
        with self.state.lock:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "language_code": language_code,
            }
            self.state.users[user_id] = {**user, "phone": phone}
            self.state.chats.setdefault(user_id, [])
            return user

    def send_text(self, user_id: int, text: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if text.startswith("/"):
            extra["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self._user_message(user_id, {"text": text, **extra})

    def send_location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        """A message with no text (as a photo, sticker or voice note is to the bot)."""
        return self._user_message(
            user_id, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def open_link(self, user_id: int, payload: str) -> dict[str, Any]:
        return self.send_text(user_id, f"/start {payload}")

    def share_contact(
        self, user_id: int, phone: str, owner_id: int | None = None
    ) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone.lstrip("+"), "first_name": "Contact"}
        owner = user_id if owner_id is None else owner_id
        if owner:
            contact["user_id"] = owner
        return self._user_message(user_id, {"contact": contact})

    def tap(self, user_id: int, message_id: int, data: str, stale: bool = False) -> str:
        with self.state.lock:
            message = self._find(user_id, message_id)
            if not stale:
                rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
                if data not in [b.get("callback_data") for row in rows for b in row]:
                    raise ApiError(400, f"no button with data {data!r} on message {message_id}")
            query_id = str(self.state.next_query)
            self.state.next_query += 1
            query = {
                "id": query_id,
                "from": self._user(user_id),
                "chat_instance": str(user_id),
                "message": dict(message),
                "data": data,
            }
            self.state.queries[query_id] = {"user": user_id, "answered": False}
            self._push({"callback_query": query})
            return query_id

    def chat(self, user_id: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(m) for m in self.state.chats.get(user_id, [])]

    def inject(
        self,
        method: str,
        code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        with self.state.lock:
            self.state.faults.setdefault(method, []).append(
                Fault(code, description, retry_after, times)
            )

    def pending_updates(self) -> int:
        with self.state.lock:
            return sum(1 for u in self.state.updates if u["update_id"] >= self.state.confirmed)

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self.state.users.get(user_id)
        if user is None:
            raise ApiError(400, f"unknown user {user_id}")
        return {k: v for k, v in user.items() if k != "phone"}

    def _user_message(self, user_id: int, content: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            message = {
                "message_id": self.state.next_message,
                "date": int(time.time()),
                "chat": {
                    "id": user_id,
                    "type": "private",
                    "first_name": self.state.users[user_id]["first_name"],
                },
                "from": self._user(user_id),
                **content,
            }
            self.state.next_message += 1
            self.state.chats[user_id].append(message)
            self._push({"message": message})
            return message

    def _push(self, update: dict[str, Any]) -> None:
        update = {"update_id": self.state.next_update, **update}
        self.state.next_update += 1
        self.state.updates.append(update)
        self.state.lock.notify_all()
        if self.state.webhook.get("url"):
            threading.Thread(target=self._post_webhook, args=(update,), daemon=True).start()

    def _post_webhook(self, update: dict[str, Any]) -> None:
        hook = self.state.webhook
        request = urllib.request.Request(
            hook["url"],
            data=json.dumps(update).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                **(
                    {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]}
                    if hook.get("secret_token")
                    else {}
                ),
            },
        )
        for _ in range(3):  # Telegram retries a failed delivery a few times
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # loopback
                    if answer.status < 300:
                        return
            except OSError:
                time.sleep(0.2)

    def _find(self, chat_id: int, message_id: int) -> dict[str, Any]:
        for message in self.state.chats.get(chat_id, []):
            if message["message_id"] == message_id and not message.get("deleted"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    # -- the Bot API --------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.state.lock:
            self.state.calls.append((method, params))
            queue = self.state.faults.get(method) or []
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                raise ApiError(fault.code, fault.description, fault.retry_after)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(params)

    def api_getMe(self, params: dict[str, Any]) -> Any:  # Bot API names
        return self.state.bot

    def api_getUpdates(self, params: dict[str, Any]) -> Any:
        state = self.state
        if state.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 50.0)
        with state.lock:
            if offset:
                state.confirmed = max(state.confirmed, offset)
                state.updates = [u for u in state.updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in state.updates if u["update_id"] >= offset][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready
                state.lock.wait(left)

    def api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook = {
            "url": params.get("url", ""),
            "secret_token": params.get("secret_token", ""),
        }
        return True

    def api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook = {}
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self.state.updates.clear()
        return True

    def api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.state.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates(),
        }

    def api_setMyCommands(self, params: dict[str, Any]) -> Any:
        self.state.commands = list(params.get("commands") or [])
        return True

    def api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        _check_text(text)
        _check_markup(markup)
        with self.state.lock:
            if chat_id not in self.state.users:
                raise ApiError(400, "Bad Request: chat not found")
            if chat_id in self.state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            message = {
                "message_id": self.state.next_message,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self.state.bot,
                "text": text,
            }
            if markup and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif markup:  # a reply keyboard is the chat's, not the message's
                self.state.keyboards[chat_id] = markup
            self.state.next_message += 1
            self.state.chats[chat_id].append(message)
            return message

    def api_editMessageText(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        _check_text(text)
        markup = params.get("reply_markup")
        _check_markup(markup)
        with self.state.lock:
            message = self._find(int(params["chat_id"]), int(params["message_id"]))
            if message.get("from", {}).get("id") != self.state.bot["id"]:
                raise ApiError(400, "Bad Request: message can't be edited")
            if message.get("text") == text and message.get("reply_markup") == markup:
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new "
                    "message content and reply markup are exactly the same as a "
                    "current content and reply markup of the message",
                )
            message["text"] = text
            message["edit_date"] = int(time.time())
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            return dict(message)

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        markup = params.get("reply_markup")
        _check_markup(markup)
        with self.state.lock:
            message = self._find(int(params["chat_id"]), int(params["message_id"]))
            if message.get("reply_markup") == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            return dict(message)

    def api_deleteMessage(self, params: dict[str, Any]) -> Any:
        with self.state.lock:
            try:
                message = self._find(int(params["chat_id"]), int(params["message_id"]))
            except ApiError:
                raise ApiError(400, "Bad Request: message to delete not found") from None
            message["deleted"] = True
            return True

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text") or "")
        if len(text) > MAX_ANSWER:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self.state.lock:
            query = self.state.queries.get(str(params.get("callback_query_id")))
            if query is None or query["answered"]:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout "
                    "expired or query ID is invalid",
                )
            query["answered"] = True
            self.state.answers.append({"user": query["user"], "text": text})
            return True


def _check_text(text: str) -> None:
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")


def _check_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    """The parameters of a call, however they came: JSON (also without its content type, as
    `curl -d '{...}'` sends it), a form, or the query string. ValueError if not readable."""
    if raw and (content_type.startswith("application/json") or raw.lstrip()[:1] == b"{"):
        data = json.loads(raw)  # JSONDecodeError is a ValueError
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data
    pairs = parse_qs(raw.decode() if raw else query, keep_blank_values=True)
    out: dict[str, Any] = {}
    for key, values in pairs.items():
        value: Any = values[-1]
        if key in _INT:
            value = int(value) if value.lstrip("-").isdigit() else value
        elif key in _JSON:
            value = json.loads(value)
        out[key] = value
    return out


def _bad_request(exc: Exception) -> dict[str, Any]:
    """Bad input gets the Bot API's 400 envelope, never a dropped connection."""
    problem = f"parameter {exc.args[0]} is required" if isinstance(exc, KeyError) else str(exc)
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; with Nagle on, the body waited for the client's
        # delayed ACK (~40 ms), so every Bot API call took ~45 ms on loopback.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # stdlib name
            pass  # quiet: the bot's own log says what matters

        def do_GET(self) -> None:  # stdlib name
            self._serve()

        def do_POST(self) -> None:  # stdlib name
            self._serve()

        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                params = _params(raw, self.headers.get("Content-Type", ""), url.query)
            except ValueError as exc:
                self._reply(400, _bad_request(exc))
                return
            if url.path.startswith("/control/"):
                self._control(url.path.removeprefix("/control/"), params)
                return
            prefix = f"/bot{emulator.state.token}/"
            if not url.path.startswith(prefix):
                self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            try:
                result = emulator.call(url.path.removeprefix(prefix), params)
            except (KeyError, ValueError, TypeError) as exc:  # a parameter missing or malformed
                self._reply(400, _bad_request(exc))
                return
            except ApiError as error:
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": error.code,
                    "description": error.description,
                }
                if error.retry_after is not None:
                    body["parameters"] = {"retry_after": error.retry_after}
                self._reply(error.code, body)
                return
            self._reply(200, {"ok": True, "result": result})

        def _control(self, action: str, p: dict[str, Any]) -> None:
            try:
                if action == "users":
                    result: Any = emulator.add_user(
                        int(p["id"]),
                        str(p.get("first_name", "")),
                        str(p.get("phone", "")),
                        str(p.get("language_code", "en")),
                    )
                elif action == "send":
                    result = emulator.send_text(int(p["user"]), str(p["text"]))
                elif action == "start":
                    result = emulator.open_link(int(p["user"]), str(p["payload"]))
                elif action == "contact":
                    result = emulator.share_contact(
                        int(p["user"]), str(p["phone"]), p.get("owner")
                    )
                elif action == "tap":
                    result = emulator.tap(int(p["user"]), int(p["message_id"]), str(p["data"]))
                elif action == "chat":
                    result = emulator.chat(int(p["user"]))
                else:
                    raise ApiError(404, f"no control action {action!r}")
            except ApiError as error:
                self._reply(400, {"ok": False, "description": error.description})
                return
            except (KeyError, ValueError, TypeError) as exc:
                self._reply(400, _bad_request(exc))
                return
            self._reply(200, {"ok": True, "result": result})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a long poll (it is shutting down)

    return Handler


def run_emulator(console: Console, host: str, port: int, token: str, username: str) -> int:
    emulator = Emulator(token, username, host, port)
    console.print(
        f"Bot API emulator on {emulator.url}\n"
        f"  run the bot:  TELEGRAM_BOT_TOKEN={token} paychat telegram "
        f"--base-url {emulator.base_url}\n"
        f"  act as users: POST {emulator.url}/control/users {{id, first_name, phone}}, "
        "/control/send {user, text}, /control/start {user, payload}, "
        "/control/contact {user, phone}, /control/tap {user, message_id, data}; "
        "GET /control/chat?user=ID"
    )
    try:
        emulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.server.server_close()
    return 0

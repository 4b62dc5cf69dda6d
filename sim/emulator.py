"""A local Telegram Bot API emulator, so the real Telegram adapter runs offline: the HTTP face.

`sim/telegram_api.py` is the Bot API itself (state, methods, updates, faults) without sockets;
this module serves it on loopback as `/bot<token>/<method>` with the real envelopes
(`{"ok": true, "result": …}` / `{"ok": false, "error_code": 400, "description": …}`), posts
updates to a webhook (in order; an update not answered 2xx — an error status, a refused
connection, a timeout — is posted again after a back-off, until it is accepted), and offers a
small control API (`/control/…`, JSON) to act as users (send text, open a deep link, share a
contact, tap a button, read a chat) and to script faults (429s, outages, dropped connections,
every update delivered twice). `paychat emulator` runs it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from rich.console import Console

from sim.telegram_api import (
    DROP,
    MAX_ANSWER,
    MAX_CALLBACK_DATA,
    MAX_TEXT,
    SENDING,
    ApiError,
    BotApi,
    Dropped,
    Fault,
)

__all__ = ["DROP", "MAX_ANSWER", "MAX_CALLBACK_DATA", "MAX_TEXT", "ApiError", "Emulator", "Fault"]

_INT = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "max_connections"}
_JSON = {"reply_markup", "commands", "allowed_updates", "show_alert", "link_preview_options"}


class Emulator(BotApi):
    """The Bot API on `host:port` (0: a free port). `webhook_timeout`: how long a webhook POST
    may take before it counts as failed (and is retried). Other options: `BotApi`'s."""

    def __init__(
        self,
        token: str = "123456:EMULATOR",
        username: str = "PayChatSimBot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        super().__init__(token, username, **options)
        self.webhook_timeout = webhook_timeout
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self._stopping = False

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What `paychat telegram --base-url` and PTB's `base_url` take."""
        return f"{self.url}/bot"

    def start(self) -> Emulator:
        self._threads = [
            threading.Thread(
                # shutdown() waits for the loop to look up: every 0.5 s by default, on every stop
                target=partial(self.server.serve_forever, poll_interval=0.02),
                daemon=True,
                name="telegram-emulator",
            ),
            threading.Thread(target=self._post_webhooks, daemon=True, name="telegram-webhook"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self.state.lock:
            self._stopping = True
            self.state.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads[1:]:
            thread.join(timeout=self.webhook_timeout + 1)

    def serve(self) -> None:
        """Serve in this thread until interrupted (`paychat emulator`)."""
        poster = threading.Thread(target=self._post_webhooks, daemon=True, name="telegram-webhook")
        poster.start()
        try:
            self.server.serve_forever()
        finally:
            with self.state.lock:
                self._stopping = True
                self.state.lock.notify_all()
            self.server.server_close()

    # -- the webhook --------------------------------------------------------------------------
    def _post_webhooks(self) -> None:
        """One poster, so updates reach the webhook in order: the head of the queue is posted
        until it is accepted, only then the next."""
        while True:
            with self.state.lock:
                while True:
                    if self._stopping:
                        return
                    job = self.webhook_next()
                    if isinstance(job, tuple):
                        break
                    self.state.lock.wait(job)
                update, echo = job
                hook = dict(self.state.webhook)
            error = self._post(hook, update)
            with self.state.lock:
                self.webhook_answered(update, echo, error)

    def _post(self, hook: dict[str, Any], update: dict[str, Any]) -> str | None:
        """POST one update; None when answered 2xx, else what went wrong."""
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        request = urllib.request.Request(
            hook["url"], data=json.dumps(update).encode(), method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.webhook_timeout) as answer:
                return None if 200 <= answer.status < 300 else f"Wrong response: {answer.status}"
        except urllib.error.HTTPError as exc:
            return f"Wrong response from the webhook: {exc.code} {exc.reason}"
        except (OSError, ValueError) as exc:  # refused, reset, timed out (TimeoutError: OSError)
            return f"Connection failed: {type(exc).__name__}"


def _params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    """The parameters of a call, however they came: JSON (also without its content type, as
    `curl -d '{...}'` sends it), a form, a multipart form (an upload: a file's field is its
    bytes), or the query string. ValueError if not readable."""
    if content_type.startswith("multipart/form-data"):
        return _multipart(raw, content_type)
    if raw and (content_type.startswith("application/json") or raw.lstrip()[:1] == b"{"):
        data = json.loads(raw)  # JSONDecodeError is a ValueError
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data
    pairs = parse_qs(raw.decode() if raw else query, keep_blank_values=True)
    return {key: _typed(key, values[-1]) for key, values in pairs.items()}


def _typed(key: str, value: str) -> Any:
    if key in _INT:
        return int(value) if value.lstrip("-").isdigit() else value
    if key in _JSON:
        return json.loads(value)
    return value


def _multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    """A multipart/form-data body (how PTB uploads a photo): text fields typed as a form's are,
    a file's field holding its bytes; a field naming `attach://<part>` gets that part's bytes."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise ValueError("the multipart body has no parts")
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            raise ValueError("a part of the multipart body has no name")
        out[name] = data if part.get_filename() is not None else _typed(name, data.decode())
    for key, value in list(out.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            out[key] = out.get(value.removeprefix("attach://"), value)
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
            except Dropped:
                self.close_connection = True  # no answer: the client sees the connection end
                return
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
            act = CONTROL.get(action)
            try:
                if act is None:
                    raise ApiError(404, f"no control action {action!r}")
                result = act(emulator, p)
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


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "on")


def _methods(value: Any) -> list[str] | None:
    """A JSON list, or names separated by commas (a form field); absent: every method."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [m.strip() for m in value.split(",") if m.strip()]
    return [str(m) for m in value]


def _number(p: dict[str, Any], key: str) -> float | None:
    return None if p.get(key) in (None, "") else float(p[key])


def _count(p: dict[str, Any], key: str) -> int | None:
    return None if p.get(key) in (None, "") else int(p[key])


def _fault(emulator: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    made = emulator.fault(
        int(p["code"]),
        str(p.get("description") or ""),
        methods=_methods(p.get("methods")),
        calls=_count(p, "calls"),
        seconds=_number(p, "seconds"),
        retry_after=_count(p, "retry_after"),
        after=_flag(p.get("after")),
        containing=p.get("containing") or None,
    )
    return _shown(made)


def _shown(fault: Fault) -> dict[str, Any]:
    return {
        "code": fault.code,
        "description": fault.description,
        "methods": sorted(fault.methods) if fault.methods is not None else None,
        "calls_left": fault.calls,
        "retry_after": fault.retry_after,
        "after": fault.after,
        "containing": fault.containing,
        "hits": fault.hits,
    }


def _status(emulator: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    state = emulator.state
    with state.lock:
        now = emulator.clock()
        return {
            "pending_updates": len(state.updates),
            "confirmed_offset": state.confirmed,
            "duplicates": state.duplicates,
            "duplicate_deliveries": sum(n - 1 for n in state.deliveries.values() if n > 1),
            "faults": [_shown(f) for f in state.faults if f.live(now)],
            "webhook": {
                "url": state.webhook.get("url", ""),
                "failures": state.webhook_failures,
                "last_error": state.webhook_errors[-1] if state.webhook_errors else None,
            },
        }


def _duplicates(emulator: Emulator, p: dict[str, Any]) -> bool:
    with emulator.state.lock:
        emulator.state.duplicates = _flag(p.get("on", True))
        return emulator.state.duplicates


def _block(emulator: Emulator, p: dict[str, Any]) -> bool:
    user, on = int(p["user"]), _flag(p.get("on", True))
    with emulator.state.lock:
        (emulator.state.blocked.add if on else emulator.state.blocked.discard)(user)
    return on


# The control API: POST /control/<action> with a JSON body (or GET with a query string).
CONTROL: dict[str, Callable[[Emulator, dict[str, Any]], Any]] = {
    # acting as users
    "users": lambda e, p: e.add_user(
        int(p["id"]),
        str(p.get("first_name", "")),
        str(p.get("phone", "")),
        str(p.get("language_code", "en")),
    ),
    "send": lambda e, p: e.send_text(int(p["user"]), str(p["text"])),
    "start": lambda e, p: e.open_link(int(p["user"]), str(p["payload"])),
    "contact": lambda e, p: e.share_contact(int(p["user"]), str(p["phone"]), p.get("owner")),
    "tap": lambda e, p: e.tap(int(p["user"]), int(p["message_id"]), str(p["data"])),
    "chat": lambda e, p: e.chat(int(p["user"])),
    "block": _block,  # {user, on}: the user blocks (or unblocks) the bot
    # faults and delivery
    # {code, description, methods, calls, seconds, retry_after, after, containing}
    "fault": _fault,
    "throttle": lambda e, p: _shown(
        e.throttle(
            int(p["retry_after"]),
            calls=_count(p, "calls"),
            seconds=_number(p, "seconds"),
            methods=_methods(p.get("methods")) or SENDING,
        )
    ),
    "outage": lambda e, p: _shown(
        e.outage(
            seconds=_number(p, "seconds"),
            calls=_count(p, "calls"),
            code=int(p.get("code", 502)),
            methods=_methods(p.get("methods")),
        )
    ),
    "clear_faults": lambda e, p: e.clear_faults(),
    "duplicates": _duplicates,  # {on}: deliver every update twice
    "status": _status,
}


def run_emulator(
    console: Console, host: str, port: int, token: str, username: str, duplicates: bool = False
) -> int:
    emulator = Emulator(token, username, host, port, duplicates=duplicates)
    console.print(
        f"Bot API emulator on {emulator.url}"
        f"{' (every update delivered twice)' if duplicates else ''}\n"
        f"  run the bot:  TELEGRAM_BOT_TOKEN={token} paychat telegram "
        f"--base-url {emulator.base_url}\n"
        f"  act as users: POST {emulator.url}/control/users {{id, first_name, phone}}, "
        "/control/send {user, text}, /control/start {user, payload}, "
        "/control/contact {user, phone}, /control/tap {user, message_id, data}; "
        "GET /control/chat?user=ID\n"
        "  faults: /control/throttle {retry_after, calls|seconds}, "
        "/control/outage {seconds|calls, code}, /control/fault {code, methods, calls|seconds, "
        "after}, /control/duplicates {on}, /control/clear_faults; GET /control/status"
    )
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve()
    return 0

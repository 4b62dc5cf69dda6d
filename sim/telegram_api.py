"""The Telegram Bot API as the emulator models it, without sockets: state and methods.

`BotApi.call(method, params)` answers a Bot API call as Telegram would (a result, or an `ApiError`
carrying the error envelope's code and description); the user-side methods (`send_text`, `tap`,
…) act as people in their private chats. `sim/emulator.py` puts this on HTTP; tests may call it
directly.

What it keeps of Telegram's semantics, because the bot's correctness depends on them:
- **Updates until confirmed.** An update stays queued until a getUpdates call with a higher
  `offset` confirms it (a negative offset keeps only the last few); until then every getUpdates
  without that offset returns it again, also to a restarted bot. In webhook mode it stays queued
  until a POST of it is answered 2xx (the HTTP face posts, in order, with back-off). A newer
  getUpdates ends a waiting older one with 409, as Telegram does.
- **At-least-once delivery.** With `duplicates` on, every update is delivered twice: once as
  usual and once more, with the same `update_id`, in the next getUpdates answer (or the next
  webhook POST) after its first delivery.
- **Scripted faults.** `fault` makes methods answer an error (a 429 with `retry_after`, a 5xx) or
  drop the connection (`DROP`), for a number of calls or a span of time on `clock`; `after=True`
  lets the method take effect first and loses only the answer (a message sent, the bot told
  otherwise). `throttle` and `outage` are the two usual shapes.
- **Limits.** callback_data 1-64 bytes, text 1-4,096 UTF-16 code units (an emoji counts two),
  callback answers up to 200, editing a message that does not exist or is not modified, a blocked
  bot (403), a chat that does not exist (400).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sim.errors import SimError

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO = 10 * 1024 * 1024  # Telegram takes photos of up to 10 MB
MAX_CALLBACK_DATA = 64
MAX_ANSWER = 200
MAX_COMMAND_DESCRIPTION = 256
DROP = 0  # a fault `code`: the connection closes without an answer
# The methods that send, edit or answer: what Telegram throttles with 429s.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
    }
)
_DESCRIPTIONS = {
    DROP: "connection dropped",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(SimError):
    """A call Telegram refuses: the error envelope's code, description and `retry_after`."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


class Dropped(ApiError):
    """No answer at all: the HTTP face closes the connection."""


@dataclass
class Fault:
    """A scripted failure: calls of `methods` (None: every method) fail with `code` while the
    fault lasts: `calls` more calls (None: no count) and until `until` on the API's clock (None:
    no end). `containing`: only calls whose text contains it. `after`: the method takes effect
    and only its answer is lost."""

    code: int
    description: str
    retry_after: int | None = None
    calls: int | None = 1
    until: float | None = None
    methods: frozenset[str] | None = None
    after: bool = False
    containing: str | None = None
    hits: int = 0

    def live(self, now: float) -> bool:
        return (self.calls is None or self.calls > 0) and (self.until is None or now < self.until)

    def error(self) -> ApiError:
        if self.code == DROP:
            return Dropped(DROP, self.description)
        return ApiError(self.code, self.description, self.retry_after)


@dataclass
class Emulated:
    """Everything the emulated Bot API knows; guarded by `lock`.

    `updates` is the queue of unconfirmed updates, oldest first; `echoes` the second copies
    waiting to be delivered (duplicates on); `deliveries` counts how often each update_id was
    handed to the bot (a getUpdates answer, a webhook POST); `calls` is every call the bot made,
    and `faulted` says which of them a fault answered."""

    token: str
    bot: dict[str, Any]
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    chats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    echoes: list[dict[str, Any]] = field(default_factory=list)
    echoed: set[int] = field(default_factory=set)
    deliveries: Counter[int] = field(default_factory=Counter)
    duplicates: bool = False
    answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    faulted: dict[int, Fault] = field(default_factory=dict)  # index in `calls` -> its fault
    commands: list[dict[str, Any]] = field(default_factory=list)  # for every language
    # setMyCommands with a `language_code`: the menu of the people whose app is in it
    commands_by_language: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    webhook_failures: int = 0  # failed POSTs of the update at the head of the queue
    webhook_retry_at: float = 0.0
    webhook_errors: list[str] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    keyboards: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> an uploaded photo
    next_update: int = 1
    next_message: int = 1
    next_query: int = 1
    confirmed: int = 0
    poller: int = 0  # the newest getUpdates call; an older one still waiting gets 409
    lock: threading.Condition = field(default_factory=threading.Condition)


def backoff(failures: int, first: float, most: float) -> float:
    """Seconds before the next POST of an update whose POSTs failed `failures` times: doubling
    from `first`, never more than `most`."""
    return float(min(first * 2.0 ** max(0, failures - 1), most))


class BotApi:
    def __init__(
        self,
        token: str = "123456:EMULATOR",
        username: str = "PayChatSimBot",
        *,
        duplicates: bool = False,
        clock: Callable[[], float] = time.monotonic,
        webhook_backoff: tuple[float, float] = (0.5, 8.0),
    ) -> None:
        """`duplicates`: deliver every update twice. `clock`: the time faults last and webhook
        retries wait on. `webhook_backoff`: (first, longest) wait between POSTs of an update
        the webhook did not accept."""
        self.state = Emulated(
            token,
            {
                "id": int(token.split(":")[0]),
                "is_bot": True,
                "first_name": "PayChat",
                "username": username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            },
            duplicates=duplicates,
        )
        self.clock = clock
        self.webhook_backoff = webhook_backoff

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
        """A tap on an inline button; `stale`: also on a button the message no longer shows (a
        chat that has not refreshed yet). Returns the callback query's id."""
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
            self.state.queries[query_id] = {
                "user": user_id,
                "answered": False,
                "message_id": message_id,
                "data": data,
            }
            self._push({"callback_query": query})
            return query_id

    def chat(self, user_id: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(m) for m in self.state.chats.get(user_id, [])]

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (what getWebhookInfo reports)."""
        with self.state.lock:
            return len(self.state.updates)

    def duplicate_deliveries(self) -> int:
        """How many times an update was handed to the bot again (echoes and redeliveries)."""
        with self.state.lock:
            return sum(n - 1 for n in self.state.deliveries.values() if n > 1)

    # -- faults -------------------------------------------------------------------------------
    def fault(
        self,
        code: int,
        description: str = "",
        *,
        methods: Iterable[str] | None = None,
        calls: int | None = None,
        seconds: float | None = None,
        retry_after: int | None = None,
        after: bool = False,
        containing: str | None = None,
    ) -> Fault:
        """Calls of `methods` (None: all) fail with `code` (`DROP`: no answer) for `calls`
        calls or `seconds` of the clock, whichever ends first (neither given: one call).
        `containing`: only calls whose `text` contains it (the answer to the send of one kind of
        message lost, say). `after`: the call takes effect, then its answer is lost."""
        if calls is None and seconds is None:
            calls = 1
        text = description or _DESCRIPTIONS.get(code, f"Error {code}")
        made = Fault(
            code,
            text.format(retry_after=retry_after),
            retry_after,
            calls,
            None if seconds is None else self.clock() + seconds,
            None if methods is None else frozenset(methods),
            after,
            containing,
        )
        with self.state.lock:
            self.state.faults.append(made)
        return made

    def inject(
        self,
        method: str,
        code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """One method fails `times` times with `code` and `description`."""
        self.fault(code, description, methods=[method], calls=times, retry_after=retry_after)

    def throttle(
        self,
        retry_after: int,
        *,
        calls: int | None = None,
        seconds: float | None = None,
        methods: Iterable[str] | None = SENDING,
    ) -> Fault:
        """429 Too Many Requests with `retry_after` for the sending methods."""
        return self.fault(
            429, methods=methods, calls=calls, seconds=seconds, retry_after=retry_after
        )

    def outage(
        self,
        *,
        seconds: float | None = None,
        calls: int | None = None,
        code: int = 502,
        methods: Iterable[str] | None = None,
    ) -> Fault:
        """The Bot API is down: every method (or `methods`) answers `code` (`DROP`: the
        connection drops) for `seconds` or `calls`."""
        return self.fault(code, methods=methods, calls=calls, seconds=seconds)

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        now = self.clock()
        self.state.faults = [f for f in self.state.faults if f.live(now)]
        for fault in self.state.faults:
            if fault.containing is not None and fault.containing not in str(params.get("text")):
                continue
            if fault.methods is None or method in fault.methods:
                if fault.calls is not None:
                    fault.calls -= 1
                fault.hits += 1
                return fault
        return None

    # -- internals ----------------------------------------------------------------------------
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
        self.state.updates.append({"update_id": self.state.next_update, **update})
        self.state.next_update += 1
        self.state.lock.notify_all()  # a waiting getUpdates, the webhook poster

    def _handed_out(self, updates: list[dict[str, Any]], echo: bool = True) -> None:
        """Count a delivery of each; unless `echo` is False, queue its second copy the first time
        it is handed out (duplicates on)."""
        for update in updates:
            uid = update["update_id"]
            self.state.deliveries[uid] += 1
            if echo and self.state.duplicates and uid not in self.state.echoed:
                self.state.echoed.add(uid)
                self.state.echoes.append(update)

    def _confirm_below(self, offset: int) -> None:
        self.state.confirmed = max(self.state.confirmed, offset)
        self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]

    def _find(self, chat_id: int, message_id: int) -> dict[str, Any]:
        for message in self.state.chats.get(chat_id, []):
            if message["message_id"] == message_id and not message.get("deleted"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    # -- the webhook's queue (the HTTP face posts) --------------------------------------------
    def webhook_next(self) -> tuple[dict[str, Any], bool] | float | None:
        """Call with `state.lock` held. What the webhook should be sent now: (update, is an
        echo); else the seconds to wait before the next retry, or None (nothing to send)."""
        state = self.state
        if not state.webhook.get("url"):
            return None
        if state.echoes:
            return state.echoes[0], True
        if not state.updates:
            return None
        wait = state.webhook_retry_at - self.clock()
        if wait > 0:
            return wait
        return state.updates[0], False

    def webhook_answered(self, update: dict[str, Any], echo: bool, error: str | None) -> None:
        """Call with `state.lock` held, after a POST: `error` is None when it was answered 2xx.
        An accepted update is confirmed; a refused one waits its back-off and is posted again,
        before any later update. An echo is posted once, whatever the answer."""
        state = self.state
        if echo:
            if state.echoes and state.echoes[0] is update:
                state.echoes.pop(0)
            self._handed_out([update], echo=False)
            return
        # Every POST counts as a delivery (the bot may have handled what it did not accept);
        # the second copy follows only an accepted one, so the order holds.
        self._handed_out([update], echo=error is None)
        if error is None:
            state.webhook_failures = 0
            state.webhook_retry_at = 0.0
            self._confirm_below(update["update_id"] + 1)
            return
        state.webhook_failures += 1
        state.webhook_errors.append(error)
        first, most = self.webhook_backoff
        state.webhook_retry_at = self.clock() + backoff(state.webhook_failures, first, most)

    # -- the Bot API --------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.state.lock:
            # An upload's bytes are recorded by their size: the record stays JSON and small.
            shown = {
                k: f"<{len(v)} bytes>" if isinstance(v, bytes) else v for k, v in params.items()
            }
            self.state.calls.append((method, shown))
            fault = self._take_fault(method, params)
            if fault is not None:
                self.state.faulted[len(self.state.calls) - 1] = fault
        if fault is not None and not fault.after:
            raise fault.error()
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        result = handler(params)
        if fault is not None:
            raise fault.error()
        return result

    def api_getMe(self, params: dict[str, Any]) -> Any:  # Bot API names
        return self.state.bot

    def api_getUpdates(self, params: dict[str, Any]) -> Any:
        """Telegram's semantics: a positive `offset` confirms every update below it, a negative
        one forgets all but the last -offset; the answer starts at the earliest unconfirmed
        update (after any echoes), waits up to `timeout` seconds for one, and ends early with 409
        when a newer getUpdates call arrives."""
        state = self.state
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 50.0)
        with state.lock:
            if state.webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            state.poller += 1
            me = state.poller
            state.lock.notify_all()  # an older poller still waiting ends with 409
            if offset > 0:
                self._confirm_below(offset)
            elif offset < 0:
                kept = state.updates[offset:]
                if kept:
                    self._confirm_below(kept[0]["update_id"])
            while True:
                if state.poller != me:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                echoes, state.echoes = state.echoes[:limit], state.echoes[limit:]
                fresh = state.updates[: limit - len(echoes)]
                ready = sorted([*echoes, *fresh], key=lambda u: int(u["update_id"]))
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    self._handed_out(ready)
                    return ready
                state.lock.wait(left)

    def api_setWebhook(self, params: dict[str, Any]) -> Any:
        with self.state.lock:
            self.state.webhook = {
                "url": params.get("url", ""),
                "secret_token": params.get("secret_token", ""),
            }
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self.state.updates.clear()
            self.state.webhook_failures, self.state.webhook_retry_at = 0, 0.0
            self.state.lock.notify_all()  # the poster has work, a poller must end
            return True

    def api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self.state.lock:
            self.state.webhook = {}
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self.state.updates.clear()
            return True

    def api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self.state.lock:
            info: dict[str, Any] = {
                "url": self.state.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self.state.updates),
            }
            if self.state.webhook_errors and self.state.webhook_failures:
                info["last_error_message"] = self.state.webhook_errors[-1]
            return info

    def api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = list(params.get("commands") or [])
        for command in commands:  # the Bot API's rules for a BotCommand
            name, about = str(command.get("command", "")), str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= utf16_length(about) <= MAX_COMMAND_DESCRIPTION:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        code = str(params.get("language_code") or "")
        if code and not re.fullmatch(r"[a-z]{2}", code):  # two-letter ISO 639-1, or none
            raise ApiError(400, "Bad Request: LANG_CODE_INVALID")
        with self.state.lock:
            if code:
                self.state.commands_by_language[code] = commands
            else:
                self.state.commands = commands
        return True

    def api_getMyCommands(self, params: dict[str, Any]) -> Any:
        code = str(params.get("language_code") or "")
        with self.state.lock:
            return self.state.commands_by_language.get(code, self.state.commands)

    def api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        _check_text(text)
        _check_markup(markup)
        with self.state.lock:
            self._reachable(chat_id)
            return self._bot_message(chat_id, {"text": text}, markup)

    def _reachable(self, chat_id: int) -> None:
        """Call with `state.lock` held: a chat the bot may send to, or the error Telegram gives."""
        if chat_id not in self.state.users:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _bot_message(
        self, chat_id: int, content: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Call with `state.lock` held: a message from the bot lands in the chat."""
        message = {
            "message_id": self.state.next_message,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.state.bot,
            **content,
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        elif markup:  # a reply keyboard is the chat's, not the message's
            self.state.keyboards[chat_id] = markup
        self.state.next_message += 1
        self.state.chats[chat_id].append(message)
        return message

    def api_sendPhoto(self, params: dict[str, Any]) -> Any:
        """A photo uploaded (multipart: PNG or JPEG bytes) or sent again by its `file_id`, with
        an optional caption of up to 1,024 characters."""
        chat_id = int(params["chat_id"])
        photo = params["photo"]
        caption = str(params.get("caption") or "")
        markup = params.get("reply_markup")
        if utf16_length(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        _check_markup(markup)
        with self.state.lock:
            self._reachable(chat_id)
            if isinstance(photo, str):
                if photo not in self.state.files:
                    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
                data = self.state.files[photo]
            else:
                data = bytes(photo)
            size = _image_size(data)
            if size is None or len(data) > MAX_PHOTO:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            file_id = f"photo-{len(self.state.files) + 1}"
            self.state.files[file_id] = data
            shown = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "width": size[0],
                "height": size[1],
                "file_size": len(data),
            }
            content: dict[str, Any] = {"photo": [shown]}
            if caption:
                content["caption"] = caption
            return self._bot_message(chat_id, content, markup)

    def photo(self, file_id: str) -> bytes:
        """The bytes of a photo the bot sent (what a person's phone would show)."""
        with self.state.lock:
            return self.state.files[file_id]

    def api_editMessageText(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        _check_text(text)
        markup = params.get("reply_markup")
        _check_markup(markup)
        with self.state.lock:
            message = self._find(int(params["chat_id"]), int(params["message_id"]))
            if message.get("from", {}).get("id") != self.state.bot["id"]:
                raise ApiError(400, "Bad Request: message can't be edited")
            if "photo" in message:  # a photo's caption has a method of its own
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
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
        if utf16_length(text) > MAX_ANSWER:
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
            self.state.answers.append(
                {
                    "user": query["user"],
                    "text": text,
                    "query": params.get("callback_query_id"),
                    "message_id": query["message_id"],
                    "data": query["data"],
                }
            )
            return True


def utf16_length(text: str) -> int:
    """A text's length as Telegram counts it: in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG (from its header) or (0, 0) for a JPEG; None for neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    if data[:3] == b"\xff\xd8\xff":
        return 0, 0
    return None


def _check_text(text: str) -> None:
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")


def _check_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

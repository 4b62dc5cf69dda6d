"""The Bot API emulator models what the fault test needs: updates redelivered until confirmed
(also to a restarted bot), every update twice, webhook retries in order, scripted 429s, outages
and dropped connections, and Telegram's limits. Through PTB's own `Bot` where the bot would meet
the behaviour, on the sans-I/O core with an injected clock where time matters."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter

from sim.emulator import Emulator
from sim.telegram_api import DROP, SENDING, ApiError, BotApi, Dropped, backoff
from tests.conftest import FakeTime

TOKEN = "123456:EMULATOR-TESTS"
# PTB warns on RetryAfter.retry_after unless opted in to timedelta durations, as the adapter is.
os.environ.setdefault("PTB_TIMEDELTA", "1")


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll `check` until it holds, or fail at the deadline (never a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {check}")
        time.sleep(0.005)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(TOKEN, webhook_backoff=(0.01, 0.05), webhook_timeout=0.3).start()
    emu.add_user(42, "Asha")
    yield emu
    emu.stop()


async def bot_on(emulator: Emulator) -> Bot:
    bot = Bot(TOKEN, base_url=emulator.base_url)
    await bot.initialize()
    return bot


def ids(updates: Any) -> list[int]:
    return [u.update_id if hasattr(u, "update_id") else u["update_id"] for u in updates]


# -- redelivery --------------------------------------------------------------------------------
async def test_updates_come_back_until_an_offset_confirms_them_also_to_a_restarted_bot(
    emulator: Emulator,
) -> None:
    for text in ("one", "two", "three"):
        emulator.send_text(42, text)
    first = await bot_on(emulator)
    assert ids(await first.get_updates(timeout=0)) == [1, 2, 3]
    assert ids(await first.get_updates(timeout=0)) == [1, 2, 3], "no offset confirms nothing"
    assert ids(await first.get_updates(offset=2, timeout=0)) == [2, 3]
    await first.shutdown()  # the process dies having handled only update 1

    restarted = await bot_on(emulator)
    assert ids(await restarted.get_updates(timeout=0)) == [2, 3]
    assert emulator.pending_updates() == 2
    assert await restarted.get_updates(offset=4, timeout=0) == ()
    assert emulator.pending_updates() == 0
    emulator.send_text(42, "four")
    assert ids(await restarted.get_updates(offset=1, timeout=0)) == [4], "confirmed stay gone"
    await restarted.shutdown()


def test_a_negative_offset_keeps_only_the_last_updates() -> None:
    api = BotApi(TOKEN)
    api.add_user(42, "Asha")
    for text in "abcde":
        api.send_text(42, text)
    assert ids(api.call("getUpdates", {"offset": -2})) == [4, 5]
    assert ids(api.call("getUpdates", {})) == [4, 5]
    assert api.pending_updates() == 2


def test_a_newer_get_updates_ends_a_waiting_one_with_409(emulator: Emulator) -> None:
    """A bot killed during a long poll leaves its call waiting at Telegram; the restarted bot's
    first getUpdates ends it, so the dead one takes nothing."""
    outcome: list[Any] = []

    def old_poller() -> None:
        try:
            outcome.append(emulator.call("getUpdates", {"timeout": 20}))
        except ApiError as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=old_poller)
    waiting.start()
    wait_until(lambda: emulator.state.poller == 1)
    assert emulator.call("getUpdates", {"timeout": 0}) == []
    waiting.join(5)
    assert [(e.code, e.description.split(";")[0]) for e in outcome] == [
        (409, "Conflict: terminated by other getUpdates request")
    ]
    emulator.send_location(42, 1.0, 2.0)
    assert ids(emulator.call("getUpdates", {"timeout": 0})) == [1]


def test_with_duplicates_every_update_is_delivered_twice_with_its_update_id() -> None:
    api = BotApi(TOKEN, duplicates=True)
    api.add_user(42, "Asha")
    api.send_text(42, "one")
    api.send_text(42, "two")
    assert ids(api.call("getUpdates", {})) == [1, 2]
    api.send_text(42, "three")
    # the copies come in the next answer, before what is new, whatever the offset says
    assert ids(api.call("getUpdates", {"offset": 3})) == [1, 2, 3]
    assert ids(api.call("getUpdates", {"offset": 4})) == [3]
    assert api.call("getUpdates", {"offset": 4}) == []
    assert api.state.deliveries == {1: 2, 2: 2, 3: 2}
    assert api.duplicate_deliveries() == 3
    # an unconfirmed update handed out again is not copied a second time
    api.send_text(42, "four")
    assert ids(api.call("getUpdates", {})) == [4]
    assert ids(api.call("getUpdates", {})) == [4, 4]
    assert ids(api.call("getUpdates", {"offset": 5})) == []


def test_duplicates_through_the_control_api(emulator: Emulator) -> None:
    assert control(emulator, "duplicates", {"on": True}) == (200, True)
    emulator.send_text(42, "hi")
    assert ids(emulator.call("getUpdates", {})) == [1]
    assert ids(emulator.call("getUpdates", {"offset": 2})) == [1]
    status, info = control(emulator, "status", {})
    assert status == 200
    assert info["duplicate_deliveries"] == 1
    assert info["pending_updates"] == 0


# -- webhook retries ---------------------------------------------------------------------------
class Hook:
    """A webhook that answers each POST as `answers` says (a status; "hang": no answer until
    released), then 200; it records the update ids it was sent."""

    def __init__(self, answers: list[int | str], port: int = 0) -> None:
        self.answers, self.release = answers, threading.Event()
        self.seen: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.seen.append(body["update_id"])
                answer = hook.answers.pop(0) if hook.answers else 200
                if answer == "hang":
                    hook.release.wait(10)  # the emulator gives up first (its timeout)
                    answer = 200
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_post_without_2xx_is_retried_in_order_until_accepted(
    emulator: Emulator,
) -> None:
    hook = Hook([500, 429, 200, "hang", 200])
    try:
        emulator.call("setWebhook", {"url": hook.url, "secret_token": "s"})
        for text in ("one", "two", "three"):
            emulator.send_text(42, text)
        wait_until(lambda: emulator.pending_updates() == 0)
        hook.release.set()
        # 1 twice refused, accepted; 2 timed out (hung), posted again; 3 at once
        assert hook.seen == [1, 1, 1, 2, 2, 3]
        assert emulator.state.webhook_errors[:2] == [
            "Wrong response from the webhook: 500 Internal Server Error",
            "Wrong response from the webhook: 429 Too Many Requests",
        ]
        assert emulator.state.webhook_errors[2] == "Connection failed: TimeoutError"
    finally:
        hook.close()


def test_a_webhook_that_refuses_connections_gets_the_update_once_it_listens(
    emulator: Emulator,
) -> None:
    down = Hook([])
    url, port = down.url, down.server.server_address[1]
    down.close()  # nobody listens there now
    emulator.call("setWebhook", {"url": url})
    emulator.send_text(42, "hello")
    wait_until(lambda: len(emulator.state.webhook_errors) >= 2)
    assert set(emulator.state.webhook_errors) == {"Connection failed: URLError"}
    info = emulator.call("getWebhookInfo", {})
    assert info["pending_update_count"] == 1
    assert info["last_error_message"] == "Connection failed: URLError"
    up = Hook([], port)
    try:
        wait_until(lambda: emulator.pending_updates() == 0)
        assert up.seen == [1]
    finally:
        up.close()


def test_webhook_retries_back_off_on_the_clock() -> None:
    assert [backoff(n, 0.5, 8.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    fake = FakeTime()
    api = BotApi(TOKEN, clock=fake.clock, duplicates=True)
    api.add_user(42, "Asha")
    api.call("setWebhook", {"url": "http://hook.invalid/"})
    api.send_text(42, "one")
    api.send_text(42, "two")
    with api.state.lock:
        job = api.webhook_next()
        assert isinstance(job, tuple)
        api.webhook_answered(job[0], job[1], "Wrong response from the webhook: 502")
        assert api.webhook_next() == 0.5, "the head waits its back-off; nothing overtakes it"
        fake.now += 0.5
        again = api.webhook_next()
        assert isinstance(again, tuple)
        assert (again[0]["update_id"], again[1]) == (1, False)
        api.webhook_answered(again[0], False, None)
        echo = api.webhook_next()  # duplicates on: the copy of 1 before 2
        assert isinstance(echo, tuple)
        assert (echo[0]["update_id"], echo[1]) == (1, True)
        api.webhook_answered(echo[0], True, "refused")  # a copy is posted once, whatever
        following = api.webhook_next()
        assert isinstance(following, tuple)
        assert following[0]["update_id"] == 2
    assert api.pending_updates() == 1


# -- scripted faults ---------------------------------------------------------------------------
async def test_throttling_answers_429_with_retry_after_for_a_number_of_calls(
    emulator: Emulator,
) -> None:
    bot = await bot_on(emulator)
    try:
        emulator.throttle(3, calls=2)
        for _ in range(2):
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(42, "hi")
            assert caught.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
        await bot.send_message(42, "hi")
        assert [m["text"] for m in emulator.chat(42)] == ["hi"]
        assert (await bot.get_me()).id == 123456, "only the sending methods are throttled"
    finally:
        await bot.shutdown()


async def test_an_outage_lasts_its_seconds_on_the_clock_for_every_method() -> None:
    fake = FakeTime()
    emulator = Emulator(TOKEN, clock=fake.clock).start()
    emulator.add_user(42, "Asha")
    bot = await bot_on(emulator)
    try:
        emulator.outage(seconds=45)
        for method in (bot.send_message(42, "hi"), bot.get_updates(timeout=0), bot.get_me()):
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await method
        fake.now += 44.9
        with pytest.raises(NetworkError):
            await bot.send_message(42, "hi")
        fake.now += 0.1
        await bot.send_message(42, "back")
        assert [m["text"] for m in emulator.chat(42)] == ["back"]
        assert emulator.state.faults == []
    finally:
        await bot.shutdown()
        emulator.stop()


async def test_a_dropped_connection_after_the_send_loses_only_the_answer(
    emulator: Emulator,
) -> None:
    bot = await bot_on(emulator)
    try:
        emulator.fault(DROP, methods=["sendMessage"], after=True)
        with pytest.raises(NetworkError):
            await bot.send_message(42, "sent, but the bot cannot know")
        emulator.fault(DROP, methods=["sendMessage"])
        with pytest.raises(NetworkError):
            await bot.send_message(42, "never sent")
        # only the sends of one kind of message
        emulator.fault(DROP, methods=["sendMessage"], after=True, containing="asking you to pay")
        await bot.send_message(42, "fine")
        with pytest.raises(NetworkError):
            await bot.send_message(42, "Chai Point is asking you to pay ₹250.00")
        await bot.send_message(42, "Chai Point is asking you to pay ₹99.00")
        assert [m["text"] for m in emulator.chat(42)] == [
            "sent, but the bot cannot know",
            "fine",
            "Chai Point is asking you to pay ₹250.00",
            "Chai Point is asking you to pay ₹99.00",
        ]
    finally:
        await bot.shutdown()


def test_faults_match_their_methods_in_order_and_end() -> None:
    fake = FakeTime()
    api = BotApi(TOKEN, clock=fake.clock)
    api.add_user(42, "Asha")
    api.inject("sendMessage", 403, "Forbidden: bot was blocked by the user")
    api.outage(calls=1, code=503, methods=["sendMessage"])
    with pytest.raises(ApiError, match="blocked") as first:
        api.call("sendMessage", {"chat_id": 42, "text": "x"})
    assert first.value.code == 403
    with pytest.raises(ApiError, match="Service Unavailable"):
        api.call("sendMessage", {"chat_id": 42, "text": "x"})
    api.fault(DROP, seconds=1, methods=SENDING)
    with pytest.raises(Dropped):
        api.call("answerCallbackQuery", {"callback_query_id": "1"})
    assert api.call("getMe", {})["id"] == 123456
    fake.now += 1
    assert api.call("sendMessage", {"chat_id": 42, "text": "x"})["text"] == "x"
    api.throttle(1, seconds=60)
    api.clear_faults()
    assert api.call("sendMessage", {"chat_id": 42, "text": "y"})["text"] == "y"
    # which call each fault answered
    assert {i: (api.state.calls[i][0], f.code) for i, f in api.state.faulted.items()} == {
        0: ("sendMessage", 403),
        1: ("sendMessage", 503),
        2: ("answerCallbackQuery", DROP),
    }


def control(emulator: Emulator, action: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{emulator.url}/control/{action}", json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())["result"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_the_control_api_scripts_throttling_outages_and_faults(
    emulator: Emulator,
) -> None:
    status, made = control(emulator, "throttle", {"retry_after": 2, "calls": 1})
    assert status == 200
    assert made["code"] == 429
    assert made["methods"] == sorted(SENDING)
    assert control(emulator, "outage", {"calls": 1, "code": 504, "methods": "getMe"})[0] == 200
    assert control(emulator, "fault", {"code": 0, "methods": ["deleteMessage"]})[0] == 200
    status, info = control(emulator, "status", {})
    assert [f["code"] for f in info["faults"]] == [429, 504, 0]
    bot = Bot(TOKEN, base_url=emulator.base_url)
    with pytest.raises(NetworkError, match="Gateway Timeout"):
        await bot.initialize()
    await bot.initialize()
    try:
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "x")
        with pytest.raises(NetworkError):
            await bot.delete_message(42, 1)
        assert control(emulator, "throttle", {"retry_after": 5, "seconds": 60})[0] == 200
        assert control(emulator, "clear_faults", {}) == (200, None)
        await bot.send_message(42, "x")
    finally:
        await bot.shutdown()
    status, problem = control(emulator, "outage", {"seconds": "soon"})
    assert status == 400
    assert problem["description"].startswith("Bad Request: could not convert")


# -- limits ------------------------------------------------------------------------------------
async def test_the_emulator_refuses_what_telegram_refuses_at_the_limits(
    emulator: Emulator,
) -> None:
    bot = await bot_on(emulator)

    def pad(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])

    try:
        sent = await bot.send_message(42, "x" * 4096, reply_markup=pad("é" * 32))  # 64 bytes
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(42, "x" * 4097)
        # Telegram counts UTF-16 code units: an emoji is two
        await bot.send_message(42, "😀" * 2048)
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(42, "😀" * 2048 + "x")
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(42, "hi", reply_markup=pad("é" * 32 + "x"))  # 65 bytes
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.edit_message_text("y" * 4097, 42, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=pad("x" * 65))
        with pytest.raises(BadRequest, match=r"(?i)text is empty"):
            await bot.send_message(42, "  ")
        query = emulator.tap(42, sent.message_id, "é" * 32)
        with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
            await bot.answer_callback_query(query, "z" * 201)
        assert await bot.answer_callback_query(query, "z" * 200)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query, "again")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(4242, "nobody")
    finally:
        await bot.shutdown()

"""The production Telegram path: python-telegram-bot 22 against the local Bot API emulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.engine import Engine
from bot.runtime import open_engine
from bot.telegram_main import open_telegram
from bot.transports.telegram import TelegramTransport, Webhook
from bot.transports.telegram_sender import Bucket, TelegramSender
from core.clock import SeededIds, VirtualClock
from core.messages import Button, Inbound, Outbound
from core.refs import RequestMessage
from core.settings import Settings
from sim.cli import main
from sim.emulator import ApiError, Emulator
from sim.scenarios.loader import cases, load_yaml
from sim.scenarios.runner import run_case, simulator_only
from sim.scenarios.telegram_world import NO_PACING, TelegramSimulator, open_telegram_world
from sim.scenarios.world import seed
from tests.conftest import ROOT, START, FakeTime

TOKEN = "123456:TESTS"

# Every scenario also runs through the real adapter: `--paychat-via=both` in pyproject.toml.


def test_only_scenarios_with_biometrics_are_left_to_the_simulator() -> None:
    simulator_only_files = {
        path.relative_to(ROOT / "tests/scenarios").as_posix()
        for path in (ROOT / "tests/scenarios").rglob("*.convo.yaml")
        if simulator_only(load_yaml(path))
    }
    assert simulator_only_files == {
        "payments/biometric.convo.yaml",
        "pin/biometric_enrol.convo.yaml",
        "onboarding/customer_brazil_typed.convo.yaml",  # types her own number: Telegram can't know
        "onboarding/business_types_number_and_a_bad_name.convo.yaml",  # the same, a business
        "payments/biometric_declined_and_unenrolled.convo.yaml",
    }


def test_a_case_telegram_cannot_run_is_skipped_with_why_not_failed(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = cases(ROOT / "tests/scenarios/payments/biometric.convo.yaml")[0]
    result = asyncio.run(run_case(case, settings, via="telegram"))
    assert result.passed
    assert result.skipped == "biometrics exist only in the simulator"
    report = tmp_path / "report.xml"
    code = main(["test", "--via", "telegram", "tests/scenarios/pin", "--junitxml", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    assert "SKIPPED (biometrics exist only in the simulator)" in out
    assert "0 failed, 1 skipped" in out
    assert 'skipped="1"' in report.read_text()


@pytest.fixture
def emulator() -> Emulator:
    emu = Emulator(TOKEN).start()
    yield emu  # type: ignore[misc]  # a generator fixture
    emu.stop()


@pytest.fixture
async def engine(settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    db = str(tmp_path / "tg.db")
    async with open_engine(settings, db, clock=VirtualClock(START), ids=SeededIds()) as engine:
        yield engine


def on_the_emulator(
    emulator: Emulator, settings: Settings, tmp_path: Path, **options: Any
) -> contextlib.AbstractAsyncContextManager[tuple[Engine, TelegramTransport]]:
    """The bot as `paychat telegram` composes it, on the emulator and a virtual clock."""
    return open_telegram(
        settings,
        str(tmp_path / "bot.db"),
        TOKEN,
        base_url=emulator.base_url,
        clock=VirtualClock(START),
        ids=SeededIds(),
        **options,
    )


def test_token_buckets_allow_a_burst_then_pace() -> None:
    fake = FakeTime()
    bucket = Bucket(rate=1.0, burst=3, clock=fake.clock)
    assert [bucket.wait() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.wait() == pytest.approx(1.0)
    fake.now += 10
    assert bucket.wait() == 0.0


async def _bot(emulator: Emulator) -> Bot:
    bot = Bot(TOKEN, base_url=emulator.base_url)
    await bot.initialize()
    return bot


async def test_the_sender_paces_each_chat_and_honours_retry_after(
    emulator: Emulator, engine: Engine
) -> None:
    emulator.add_user(501, "Asha")
    fake = FakeTime()
    bot = await _bot(emulator)
    sender = TelegramSender(
        bot, engine.outbox, per_chat_rate=1.0, per_chat_burst=2, clock=fake.clock, sleep=fake.sleep
    )
    try:
        emulator.inject("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        sender.enqueue(
            [Outbound("send", "501", "help", f"message {i}", ref=f"r{i}") for i in range(4)]
        )
        await sender.idle()
        texts = [m["text"] for m in emulator.chat(501)]
        assert texts == [f"message {i}" for i in range(4)]  # in order, none lost
        assert 7 in fake.slept  # retry_after honoured
        assert sum(1 for s in fake.slept if s != 7) >= 1  # paced after the burst
    finally:
        await bot.shutdown()


async def test_a_blocked_bot_is_recorded_and_not_retried(
    emulator: Emulator, engine: Engine
) -> None:
    emulator.add_user(502, "Ravi")
    emulator.state.blocked.add(502)
    bot = await _bot(emulator)
    fake = FakeTime()
    sender = TelegramSender(bot, engine.outbox, clock=fake.clock, sleep=fake.sleep)
    try:
        sender.enqueue(
            [
                Outbound("send", "502", "help", "hello", ref="a"),
                Outbound("send", "502", "help", "again", ref="b"),
            ]
        )
        await sender.idle()
        assert sender.blocked == {"502"}
        assert sum(1 for method, _ in emulator.state.calls if method == "sendMessage") == 1
    finally:
        await bot.shutdown()


def test_the_emulator_enforces_the_bot_api_limits(emulator: Emulator) -> None:
    emulator.add_user(503, "Wei")
    too_long = {"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]}
    with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
        emulator.call("sendMessage", {"chat_id": 503, "text": "hi", "reply_markup": too_long})
    with pytest.raises(ApiError, match="too long"):
        emulator.call("sendMessage", {"chat_id": 503, "text": "x" * 4097})
    with pytest.raises(ApiError, match="not found"):
        emulator.call("editMessageText", {"chat_id": 503, "message_id": 999, "text": "x"})


def _post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_control_api_takes_the_readmes_curl_and_answers_bad_input(
    emulator: Emulator,
) -> None:
    control, form = f"{emulator.url}/control", "application/x-www-form-urlencoded"
    # `curl -d '{...}'`, as the README writes it, sends JSON labelled as a form.
    user = b'{"id": 42, "first_name": "Asha", "phone": "+919812345678"}'
    assert _post(f"{control}/users", user, form) == (
        200,
        {
            "ok": True,
            "result": {"id": 42, "is_bot": False, "first_name": "Asha", "language_code": "en"},
        },
    )
    status, sent = _post(f"{control}/send", b'{"user": 42, "text": "/start"}', form)
    assert status == 200
    assert sent["result"]["text"] == "/start"
    for url, body, says in [
        (f"{control}/users", b"{not json", "Bad Request: Expecting property name"),
        (f"{control}/tap", b'{"user": 42}', "Bad Request: parameter message_id is required"),
        (f"{emulator.base_url}{TOKEN}/sendMessage", b'{"chat_id": "x"}', "Bad Request: "),
    ]:
        status, answer = _post(url, body, "application/json")
        assert status == 400
        assert answer["ok"] is False
        assert answer["description"].startswith(says)


def test_every_button_id_the_flows_use_fits_in_callback_data() -> None:
    import ast

    for path in (ROOT / "flows").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Btn" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant):
                    assert len(str(first.value).encode()) <= 64
                elif isinstance(first, ast.JoinedStr):
                    # f"m:{id}" and the like: a prefix and a short generated id
                    assert len(ast.unparse(first)) < 40


@pytest.fixture
async def asha(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> AsyncIterator[TelegramSimulator]:
    """A customer onboarded through the real adapter, polling the emulator."""
    bot = on_the_emulator(emulator, settings, tmp_path, sender_options=NO_PACING)
    async with bot as (engine, transport):
        clock = engine.clock
        assert isinstance(clock, VirtualClock)
        sim = TelegramSimulator(engine, engine.outbox, clock, emulator, transport)
        await transport.start(polling=True, tick=0)
        sim.add_party("asha", "Asha", phone="+91 98123 45678")
        await sim.text("asha", "/start")
        await sim.tap("asha", "customer")
        await sim.share_contact("asha")
        yield sim


async def test_the_pin_keypad_never_makes_a_chat_message(
    emulator: Emulator, asha: TelegramSimulator
) -> None:
    sim = asha
    await sim.text("asha", "/pin")
    await sim.pin("asha", "2580")
    await sim.pin("asha", "2580")
    assert sim.events[-1].key == "pin.set"
    from_user = [m for m in emulator.chat(sim.ids["asha"]) if not m["from"]["is_bot"]]
    assert all("2580" not in m.get("text", "") for m in from_user)
    keypad_edits = [c for c in emulator.state.calls if c[0] == "editMessageText"]
    assert any("●●○○" in str(p.get("text")) for _, p in keypad_edits)
    assert all("2580" not in str(p) for _, p in emulator.state.calls)
    # A PIN typed as a message is deleted at once.
    await sim.text("asha", "/pin")
    await sim.tap("asha", "change")
    await sim.text("asha", "2580")
    assert any(m == "deleteMessage" for m, _ in emulator.state.calls)


async def test_a_message_without_text_gets_an_answer_not_silence(
    emulator: Emulator, asha: TelegramSimulator
) -> None:
    before = len(asha.events)
    sent = emulator.send_location(asha.ids["asha"], 12.97, 77.59)  # like a photo or sticker
    await asha.transport.wait_handled(emulator.state.next_update - 1)
    await asha.settle()
    assert [e.key for e in asha.events[before:]] == ["error.not_understood"]
    assert "location" in sent


async def test_a_restart_delivers_what_was_committed_but_not_sent(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    emulator.add_user(504, "Maria")
    async with on_the_emulator(emulator, settings, tmp_path) as (engine, transport):
        outs = await engine.handle(Inbound(key="tg:1", user="504", kind="command", text="/start"))
        assert [o.key for o in outs] == ["welcome"]  # committed; "dies" before sending
        await transport.start(polling=False, tick=0)
        await transport.sender.idle()
        chat = emulator.chat(504)
        assert [m["text"].split("!")[0] for m in chat] == ["Welcome to PayChat"]
        buttons = chat[0]["reply_markup"]["inline_keyboard"][0]
        # Each button carries the message it is on, so any copy of it works.
        assert [b["callback_data"] for b in buttons] == ["business|tg:1#0", "customer|tg:1#0"]
        assert await engine.outbox.undelivered() == []
        assert emulator.state.commands, "setMyCommands is called at start"
    assert Button("x", "y")  # the value types are plain


async def test_the_command_menu_is_set_in_every_language(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    """setMyCommands once per language_code: Telegram shows a Brazilian's app the Portuguese
    menu, a Bengali's the Bengali one, everyone else the English one."""
    async with on_the_emulator(emulator, settings, tmp_path) as (_engine, transport):
        await transport.start(polling=False, tick=0)
        menus = emulator.state.commands_by_language
        assert sorted(menus) == ["bn", "hi", "pt"]
        english = {c["command"]: c["description"] for c in emulator.state.commands}
        portuguese = {c["command"]: c["description"] for c in menus["pt"]}
        assert english["language"] == "Change the language"
        assert portuguese["language"] == "Mudar o idioma"
        assert portuguese["request"] == "Cobrar um cliente"
        assert {c["command"]: c["description"] for c in menus["bn"]}["pin"].startswith("পেমেন্ট")
        assert set(portuguese) == set(english)
        bot = await _bot(emulator)
        async with bot:
            shown = await bot.get_my_commands(language_code="hi")
        assert [c.command for c in shown] == list(english)
        assert shown[0].description != emulator.state.commands[0]["description"]


def test_the_emulator_refuses_what_setmycommands_refuses() -> None:
    from sim.telegram_api import ApiError, BotApi

    api = BotApi()
    with pytest.raises(ApiError, match="LANG_CODE_INVALID"):
        api.api_setMyCommands({"commands": [], "language_code": "pt_BR"})
    with pytest.raises(ApiError, match="BOT_COMMAND_DESCRIPTION_INVALID"):
        api.api_setMyCommands({"commands": [{"command": "pay", "description": "x" * 257}]})
    with pytest.raises(ApiError, match="BOT_COMMAND_INVALID"):
        api.api_setMyCommands({"commands": [{"command": "Pay", "description": "Pay"}]})


def _start_bot(tmp_path: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`paychat telegram ARGS` in its own folder, with TELEGRAM_BOT_TOKEN set (or unset: "")."""
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "telegram", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT), **({"TELEGRAM_BOT_TOKEN": token} if token else {})},
        timeout=60,  # it used to hang here: a half-started bot kept its store open
    )


def test_a_missing_token_is_a_clear_error(tmp_path: Path) -> None:
    result = _start_bot(tmp_path, "")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_bot_api_is_a_clear_error_and_the_bot_exits(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _start_bot(tmp_path, "123:SECRET", "--base-url", f"http://127.0.0.1:{port}/bot")
    assert result.returncode == 2
    assert f"cannot start on the Bot API at http://127.0.0.1:{port}/bot" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rejected_token_is_a_clear_error_that_never_shows_the_token(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = _start_bot(tmp_path, "999:NOT-THE-EMULATORS", "--base-url", emulator.base_url)
    assert result.returncode == 2
    assert "was rejected by the server" in result.stderr
    assert "NOT-THE-EMULATORS" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_webhook_port_in_use_is_a_clear_error(emulator: Emulator, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _start_bot(
            tmp_path,
            TOKEN,
            *("--base-url", emulator.base_url),
            *("--webhook", "https://example.org/hook", "--listen", "127.0.0.1"),
            *("--port", str(port)),
        )
    assert result.returncode == 2
    assert f"cannot listen for the webhook on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_webhook_mode_receives_updates_with_the_secret(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:  # a free port for the webhook listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = Webhook(f"http://127.0.0.1:{port}/", "127.0.0.1", port, "s3cret")
    async with on_the_emulator(emulator, settings, tmp_path) as (_, transport):
        await transport.start(webhook=hook, tick=0)
        assert emulator.state.webhook == {
            "url": f"http://127.0.0.1:{port}/",
            "secret_token": "s3cret",
        }
        emulator.add_user(601, "Wei", "+65 9123 4567")
        emulator.send_text(601, "/start")
        await transport.wait_handled(emulator.state.next_update - 1)
        await transport.sender.idle()
        assert emulator.chat(601)[-1]["text"].startswith("Welcome to PayChat")
        with pytest.raises(ApiError, match="webhook is active"):
            emulator.call("getUpdates", {})


async def test_payment_links_name_the_bot_telegram_reports_not_the_config(
    settings: Settings,
) -> None:
    shop = {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"}
    async with open_telegram_world(settings, START, bot_username="RealNameBot") as world:
        await seed(world, {"shop": shop}, {"shop": {"payments": {"bank": "HDFC Bank"}}})
        await world.sim.text("shop", "/link")
        await world.sim.text("shop", "499")
        await world.sim.tap("shop", "skip")
    created = [e.text for e in world.sim.events if e.key == "link.created"]
    assert len(created) == 1
    assert "https://t.me/RealNameBot?start=" in created[0]
    assert settings.telegram.bot_username not in created[0]


async def test_a_pin_entered_on_an_older_prompt_does_not_pay_another_request(
    settings: Settings,
) -> None:
    parties = {
        "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"},
        "dosa": {"role": "business", "phone": "+91 98765 40000", "name": "Dosa Corner"},
        "asha": {"role": "customer", "phone": "+91 98123 45678", "name": "Asha"},
    }
    given = {
        "shop": {"payments": {"bank": "HDFC Bank"}},
        "dosa": {"payments": {"bank": "ICICI Bank"}},
        "asha": {"pin": "2580", "methods": [{"card": "4242 4242 4242 4242"}]},
    }
    async with open_telegram_world(settings, START) as world:
        await seed(world, parties, given)  # type: ignore[arg-type]  # plain dicts read as nodes
        sim = world.sim
        assert isinstance(sim, TelegramSimulator)
        for business, amount in (("shop", "250"), ("dosa", "900")):
            for text in ("/request", "+91 98123 45678", amount):
                await sim.text(business, text)
            await sim.tap(business, "skip")
        uid = sim.ids["asha"]
        # The two request messages, oldest first (Chai Point's, then Dosa Corner's).
        chai, dosa = sorted(
            (platform_id, ref)
            for (party, ref), platform_id in sim.sent.items()
            if party == "asha" and RequestMessage.unpack(ref)
        )
        await sim.tap("asha", "pay", on=chai[1])
        await sim.tap("asha", label_contains="4242")
        chai_prompt = sim.emulator.chat(uid)[-1]  # "Enter your PIN to pay ₹250.00 to Chai Point"
        assert "Chai Point" in chai_prompt["text"]
        await sim.tap("asha", "pay", on=dosa[1])
        await sim.tap("asha", label_contains="4242")
        assert "Dosa Corner" in sim.emulator.chat(uid)[-1]["text"]
        before = len(sim.events)
        for key in [*"2580", "ok"]:  # on the Chai Point prompt, while Dosa Corner is being paid
            sim.emulator.tap(uid, chai_prompt["message_id"], f"pin:{key}", stale=True)
        await sim.transport.wait_handled(sim.emulator.state.next_update - 1)
        await sim.settle()
        said = [e.key for e in sim.events[before:] if e.party == "asha"]
        assert "pay.stale" in said
        assert "pay.succeeded" not in said
        await sim.pin("asha", "2580")  # on the newest prompt: Dosa Corner's
        paid = [e for e in sim.events if e.key == "pay.succeeded"]
        assert len(paid) == 1
        assert "Dosa Corner" in paid[0].text

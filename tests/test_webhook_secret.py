"""`paychat telegram --webhook URL` always has a secret: without `--secret` one is generated, given
to Telegram with setWebhook and never shown, so an update posted by anyone else is refused. The
real command in a subprocess, against the Bot API emulator."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from bot.transports.telegram import Webhook
from core.errors import TransportError
from sim.emulator import Emulator
from tests.conftest import ROOT

TOKEN = "123456:WEBHOOK"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
FORGED = json.dumps(
    {
        "update_id": 7001,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 801, "type": "private"},
            "from": {"id": 801, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
).encode()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(TOKEN).start()
    yield emu
    emu.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, FORGED, {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _next_line(stream: IO[str]) -> str:
    """The next line the bot prints, waiting at most a minute (a bot that never starts fails the
    test instead of hanging it)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=60)


def test_a_webhook_without_secret_gets_one_and_refuses_forged_updates(
    emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    port = _free_port()
    url = f"http://127.0.0.1:{port}/paychat/hook"
    command = [sys.executable, "-m", "sim.cli", "telegram", "--base-url", emulator.base_url]
    command += ["--webhook", url, "--listen", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    ) as bot:
        try:
            assert bot.stdout is not None
            started = _next_line(bot.stdout)
            assert "secret token generated for this run" in started, started
            secret = emulator.state.webhook.get("secret_token") or ""
            assert len(secret) >= 43, "a strong secret was given to Telegram"
            assert _post(url, {}) == 403  # anyone who found the URL: refused
            assert _post(url, {HEADER: "guess"}) == 403
            assert _post(url, {HEADER: "ü" * 43}) == 403  # not a 500
            assert _post(url, {HEADER: secret}) == 200  # what Telegram sends
            bot.send_signal(signal.SIGTERM)
            out, err = bot.communicate(timeout=60)
        finally:
            if bot.poll() is None:  # a failed assertion above: do not wait for it forever
                bot.kill()
    assert bot.returncode == 0, err
    assert secret not in started + out + err, "the generated secret is never shown"


def test_a_secret_telegram_would_refuse_is_refused_at_start() -> None:
    assert len(Webhook("https://example.org/hook").secret) == 43  # 256 random bits
    assert Webhook("https://example.org/hook").secret != Webhook("https://x.org/").secret
    for wrong in ("", "has space", "x" * 257, "ü"):
        with pytest.raises(TransportError, match="1-256 characters"):
            Webhook("https://example.org/hook", secret=wrong)

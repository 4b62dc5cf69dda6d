"""`paychat web` as a real subprocess for the tests: on a free loopback port (`--port 0`; the
server prints where it listens once the socket is bound), a fresh database, stopped with Ctrl+C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_LIMIT = 60.0  # seconds for the server to say where it listens (a loaded machine is slow)


@contextmanager
def running_web(folder: Path, *extra: str) -> Iterator[str]:
    """`paychat web --port 0 --db FOLDER/web.db EXTRA...`; its base URL. The server is stopped
    with SIGINT at the end and must exit within 30 s."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "web",
            "--port",
            "0",
            "--db",
            str(folder / "web.db"),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(START_LIMIT, proc.kill)  # readline below cannot hang for ever
    guard.start()
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        guard.cancel()
    if "http://" not in line:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"paychat web did not start: {line!r} {err}")
    url = line.split("http://", 1)[1].split()[0].rstrip("/")
    try:
        yield f"http://{url}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError("paychat web did not stop on Ctrl+C within 30 s") from None


def request(
    base: str, path: str, data: Any = None, method: str | None = None, raw: bytes | None = None
) -> tuple[int, Any]:
    """(status, parsed JSON answer) of one API call."""
    body = raw if raw is not None else (None if data is None else json.dumps(data).encode())
    req = urllib.request.Request(
        base + path,
        data=body,
        method=method or ("POST" if body is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def replay(path: Path) -> subprocess.CompletedProcess[str]:
    """`paychat test PATH` as a subprocess (an exported session must replay green)."""
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "test", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

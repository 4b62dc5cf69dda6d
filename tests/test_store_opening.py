"""Every command that opens a store stops with one line and exit 2 when it cannot: a folder that
cannot be created, a folder where the file should be, a file that is not a database, a database
whose schema is broken. Never a traceback (a thread's included), never a hang: whatever opened
is closed. The real `paychat` in a subprocess; the Telegram one against the Bot API emulator."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from sim.emulator import Emulator
from tests.conftest import ROOT

TOKEN = "123456:OPENING"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("not a folder")
    return tmp / "a-file" / "data" / "paychat.db"  # its folder cannot be created


def _a_folder(tmp: Path) -> Path:
    (tmp / "a-folder.db").mkdir()
    return tmp / "a-folder.db"


def _not_a_database(tmp: Path) -> Path:
    path = tmp / "random.db"
    path.write_bytes(os.urandom(8192))
    return path


def _broken_schema(tmp: Path) -> Path:
    path = tmp / "broken.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xaa" * (4096 - 100)  # page 1 after the header: sqlite_master
    path.write_bytes(bytes(data))
    return path


BAD: dict[str, Callable[[Path], Path]] = {
    "folder cannot be created": _under_a_file,
    "a folder": _a_folder,
    "not a database": _not_a_database,
    "broken schema": _broken_schema,
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(TOKEN).start()
    yield emu
    emu.stop()


def _paychat(tmp: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["storage"]["path"] = str(db)  # what `paychat telegram` opens
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,  # a corrupt database once left the process hanging after its error
    )


def _one_line_and_exit_2(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("paychat")
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("bad", BAD, ids=list(BAD))
@pytest.mark.parametrize("fresh", [False, True], ids=["chat", "chat --fresh"])
def test_chat(tmp_path: Path, bad: str, fresh: bool) -> None:
    db = BAD[bad](tmp_path)
    result = _paychat(tmp_path, db, "chat", "--db", str(db), *(["--fresh"] if fresh else []))
    if fresh and bad in ("not a database", "broken schema"):
        assert result.returncode == 0, result.stderr  # --fresh removes it and starts empty
        return
    _one_line_and_exit_2(result)


@pytest.mark.parametrize("bad", ["folder cannot be created", "a folder"])
def test_demo(tmp_path: Path, bad: str) -> None:
    db = BAD[bad](tmp_path)  # the demo removes a database it finds, so only these two stop it
    _one_line_and_exit_2(_paychat(tmp_path, db, "demo", "--db", str(db)))


@pytest.mark.parametrize("bad", BAD, ids=list(BAD))
def test_telegram(tmp_path: Path, emulator: Emulator, bad: str) -> None:
    db = BAD[bad](tmp_path)
    _one_line_and_exit_2(_paychat(tmp_path, db, "telegram", "--base-url", emulator.base_url))

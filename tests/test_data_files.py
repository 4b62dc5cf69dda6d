"""What a copy of the data folder gives away: the database, its WAL and SHM are 0600 (their folder
0700 when PayChat creates it), and the sealing key (the PIN pepper's source) is never among
them, so the folder alone opens no sealed value and tests no PIN guess."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.money import Money
from core.records import BankAccount
from storage.sealer import ENV_KEY, KEY_FILE_ENV
from storage.sqlite import SqliteStore
from tests.conftest import ROOT

ACCOUNT = BankAccount(
    "acct-1", "HDFC Bank", "+919812345678", "123456789012", "9012", Money(100, "INR")
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_is_private_and_its_key_is_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    db = folder / "paychat.db"
    store = await SqliteStore.open(str(db))
    try:
        await store.run(lambda tx: tx.add_bank_account(ACCOUNT))
        files = {p.name: _mode(p) for p in folder.iterdir()}
    finally:
        await store.close()
    assert _mode(folder) == 0o700
    # -shm and -wal exist while the store is open; each takes the database's mode.
    assert files == {"paychat.db": 0o600, "paychat.db-wal": 0o600, "paychat.db-shm": 0o600}
    key = Path(os.environ[KEY_FILE_ENV])
    assert _mode(key) == 0o600
    assert key.parent != folder


def _paychat(home: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (KEY_FILE_ENV, ENV_KEY)}
    clean.pop("XDG_CONFIG_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "--config", str(ROOT / "config.yaml"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), "HOME": str(home), **env},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_on_a_fresh_machine_the_key_is_the_users_and_a_copied_folder_opens_nothing(
    tmp_path: Path,
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "thief"
    home.mkdir()
    elsewhere.mkdir()
    demo = _paychat(home, tmp_path, "demo", "--db", "data/demo.db")
    assert demo.returncode == 0, demo.stderr
    key = home / ".config" / "paychat" / "secret.key"
    assert _mode(key) == 0o600
    assert _mode(key.parent) == 0o700
    data = tmp_path / "data"
    assert _mode(data) == 0o700
    assert sorted(p.name for p in data.iterdir()) == ["demo.db"]  # WAL checkpointed at close
    assert _mode(data / "demo.db") == 0o600

    # The folder alone, on another account: no key, so nothing opens and no key is made up.
    shutil.copytree(data, elsewhere / "data")
    stolen = _paychat(elsewhere, elsewhere, "chat", "--db", "data/demo.db")
    assert stolen.returncode == 2
    assert "holds data sealed with a key that is not at" in stolen.stderr
    assert len(stolen.stderr.splitlines()) == 1
    assert not (elsewhere / ".config").exists()

    # With the key (PAYCHAT_KEY_FILE names it), the same copy opens.
    owner = _paychat(
        elsewhere, elsewhere, "chat", "--db", "data/demo.db", PAYCHAT_KEY_FILE=str(key)
    )
    assert owner.returncode == 0, owner.stderr


async def test_a_key_an_older_version_left_beside_its_database_still_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    db = tmp_path / "old.db"
    monkeypatch.setenv(ENV_KEY, key.decode())
    store = await SqliteStore.open(str(db))
    await store.run(lambda tx: tx.add_bank_account(ACCOUNT))
    await store.close()
    monkeypatch.delenv(ENV_KEY)
    (tmp_path / "old.key").write_bytes(key)  # where older versions kept it
    store = await SqliteStore.open(str(db))
    try:
        assert await store.run(lambda tx: tx.bank_account("acct-1")) == ACCOUNT
    finally:
        await store.close()
    assert any("sits beside its database" in r.getMessage() for r in caplog.records)

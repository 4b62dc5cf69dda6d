"""Encryption at rest for bank account numbers and payment tokens (Fernet: AES-CBC + HMAC).

The key, and the PIN pepper derived from it, never sit beside the database: a copy of the data
folder alone must not open the sealed columns or let anyone test PIN guesses. It comes from, in
order:

1. `PAYCHAT_SECRET_KEY` (production: from the service's secret store);
2. a key file an older version left beside the database (`chat.db` → `chat.key`), still used so
   its data opens, with a warning to move it;
3. the key file `PAYCHAT_KEY_FILE` names, else the user's own one outside every data folder,
   `$XDG_CONFIG_HOME/paychat/secret.key` (`~/.config/paychat/secret.key`), created 0600 in a
   0700 folder the first time a new database needs it. A database that already holds data is
   never given a new key: that would make its sealed values unreadable and its PINs wrong.
"""

from __future__ import annotations

import hmac
import logging
import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.errors import StorageError

ENV_KEY = "PAYCHAT_SECRET_KEY"
KEY_FILE_ENV = "PAYCHAT_KEY_FILE"
log = logging.getLogger("paychat.storage")


_OPENED_KEPT = 4096


def key_file() -> Path:
    """Where the key file is when `PAYCHAT_SECRET_KEY` is not set."""
    if named := os.environ.get(KEY_FILE_ENV):
        return Path(named)
    config = os.environ.get("XDG_CONFIG_HOME")
    try:
        base = Path(config) if config else Path.home() / ".config"
    except RuntimeError:  # no home folder to be found (a service user without one)
        raise StorageError(f"no folder for the key: set {ENV_KEY} or {KEY_FILE_ENV}") from None
    return base / "paychat" / "secret.key"


def legacy_key_file(db_path: str) -> Path:
    """Where older versions kept the key: beside the database."""
    return Path(db_path).with_suffix(".key")


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # The PIN pepper: derived from the same secret, so it lives wherever the key lives.
        self.pepper = hmac.digest(key, b"paychat/pin-pepper/v1", "sha256")
        # Opening costs ~25 µs (HMAC + AES); a payment opens the same method tokens several
        # times. The plain values are what `open` returns anyway, so keeping the recent ones in
        # memory exposes nothing new; the dict is bounded.
        self._opened: dict[bytes, str] = {}

    @classmethod
    def for_database(cls, db_path: str, *, new: bool, beside: bool = True) -> Sealer:
        """The key for the database at `db_path`; `new`: it holds nothing yet, so a key may be
        created for it; `beside`: it is a file, which an older version's key may sit beside (a
        database server's is not). A key that cannot be read or created, or is not a Fernet
        key, is a `StorageError` naming where the key came from (never the key)."""
        if secret := os.environ.get(ENV_KEY):
            return cls._checked(secret.encode(), ENV_KEY)
        if db_path == ":memory:":
            return cls(_memory_key())
        legacy = legacy_key_file(db_path)
        if beside and legacy.is_file():
            log.warning(
                "the key file %s sits beside its database: a copy of that folder opens the "
                "sealed data; move it to %s or into %s (README: What protects what)",
                legacy,
                key_file(),
                ENV_KEY,
            )
            return cls._read(legacy)
        path = key_file()
        if not path.exists():
            if not new:
                raise StorageError(
                    f"{db_path} holds data sealed with a key that is not at {path}: set "
                    f"{ENV_KEY}, or {KEY_FILE_ENV} to its key file"
                )
            _create_key(path)
        return cls._read(path)

    @classmethod
    def _read(cls, path: Path) -> Sealer:
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise StorageError(f"cannot use the key file {path}: {exc.strerror or exc}") from None
        return cls._checked(key, f"the key file {path}")

    @classmethod
    def _checked(cls, key: bytes, source: str) -> Sealer:
        try:
            return cls(key)
        except ValueError:  # cryptography: not 32 url-safe base64-encoded bytes
            raise StorageError(f"{source} does not hold a Fernet key") from None

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, blob: bytes) -> str:
        opened = self._opened.get(blob)
        if opened is not None:
            return opened
        try:
            opened = self._fernet.decrypt(blob).decode()
        except InvalidToken:
            raise StorageError("a sealed value cannot be opened with this key") from None
        if len(self._opened) >= _OPENED_KEPT:
            self._opened.clear()
        self._opened[bytes(blob)] = opened
        return opened


@cache
def _memory_key() -> bytes:
    """One key per process for its in-memory databases, which live and die with the process
    (and the key with them): the same pepper in every scenario world lets a run keep the PIN
    hashes it seeds (`sim/scenarios/world.py`) instead of paying scrypt for each case."""
    return Fernet.generate_key()


def _create_key(path: Path) -> None:
    """A new key, readable by this user only, in a folder only this user can enter. Written
    aside and linked into place, so a second process starting at the same moment reads either
    no key or a whole one, and the first to link it wins."""
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process created it a moment ago: theirs is the key
        finally:
            aside.unlink()
    except OSError as exc:
        raise StorageError(
            f"cannot create the key file {path}: {exc.strerror or exc} (set {ENV_KEY} or "
            f"{KEY_FILE_ENV})"
        ) from None

"""Encryption at rest for bank account numbers and payment tokens (Fernet: AES-CBC + HMAC).

The key comes from `PAYCHAT_SECRET_KEY`, or from a key file beside the database, created with mode
0600 on first start.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.errors import StorageError

ENV_KEY = "PAYCHAT_SECRET_KEY"


_OPENED_KEPT = 4096


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
    def for_database(cls, db_path: str) -> Sealer:
        """A key that cannot be read, or is not a Fernet key, is a `StorageError` naming where
        the key came from (never the key)."""
        if secret := os.environ.get(ENV_KEY):
            return cls._checked(secret.encode(), ENV_KEY)
        if db_path == ":memory:":
            return cls(Fernet.generate_key())
        path = Path(db_path).with_suffix(".key")
        try:
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key())
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

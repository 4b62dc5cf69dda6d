"""Encryption at rest for bank account numbers and payment tokens (Fernet: AES-CBC + HMAC).

The key comes from `PAYCHAT_SECRET_KEY`, or from a key file beside the database, created with mode
0600 on first start.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

ENV_KEY = "PAYCHAT_SECRET_KEY"


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_database(cls, db_path: str) -> Sealer:
        if key := os.environ.get(ENV_KEY):
            return cls(key.encode())
        if db_path == ":memory:":
            return cls(Fernet.generate_key())
        path = Path(db_path).with_suffix(".key")
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken:
            raise ValueError("sealed value cannot be opened with this key") from None

"""A payment code drawn as a QR symbol: PNG bytes for a photo, text blocks for a terminal.

segno (pure Python, no network) encodes it; error correction level M (15% of the symbol may be
lost: a screenshot, a crease) as EMV® QRCPS asks of merchant-presented codes, never a Micro QR
(bank apps do not read those), and the 4-module quiet zone scanners need.
"""

from __future__ import annotations

import io
from functools import lru_cache

import segno

SCALE = 6  # pixels per module: a 2.5 cm symbol on a phone screen, far past what scanners need


def _symbol(payload: str) -> segno.QRCode:
    return segno.make(payload, error="m", micro=False, boost_error=False)


# A delivery retried after a network error, and a web page shown again, ask for the same
# picture: drawn once (~20-40 ms of pure Python), not per attempt. A code is no secret.
@lru_cache(maxsize=32)
def png(payload: str, scale: int = SCALE) -> bytes:
    out = io.BytesIO()
    _symbol(payload).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def terminal(payload: str) -> str:
    """The symbol in Unicode half blocks (two modules a character), for a terminal's chat."""
    out = io.StringIO()
    _symbol(payload).terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")

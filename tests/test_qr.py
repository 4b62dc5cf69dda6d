"""The QR images are real QR symbols: a real decoder (zxing-cpp) reads each market's payment code
back from the PNG bytes, and from the terminal drawing, exactly."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot import qr
from core.money import Money
from payments.paycodes import paynow, pix, upi
from payments.paycodes.model import PayCode
from payments.paycodes.reader import read

CODES = {
    "pix": pix.build(
        "+5511987654321",
        "Loja Azul",
        "Sao Paulo",
        Money(2590, "BRL"),
        "PR7KQ2M9XA4B",
        single_use=True,
    ),
    "upi": upi.build(
        "9812345678@oksbi", "Dosa Corner", Money(25000, "INR"), "PR-7KQ2M9XA4B", "2 masala dosa"
    ),
    "paynow": paynow.build(
        "mobile", "+6591234567", "Kopi Kia", Money(450, "SGD"), "PR-7KQ2M9XA4B", date(2026, 3, 2)
    ),
}


def decode(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image)
    return [f.text for f in found if f.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("scheme", sorted(CODES))
def test_the_png_decodes_to_the_payload(scheme: str) -> None:
    data = qr.png(CODES[scheme])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode(Image.open(io.BytesIO(data))) == [CODES[scheme]]


def test_a_damaged_png_is_not_read_as_the_payload() -> None:
    """The check can fail: a symbol with its middle painted over is not read."""
    image = Image.open(io.BytesIO(qr.png(CODES["pix"]))).convert("L")
    width, height = image.size
    image.paste(0, (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    assert decode(image) != [CODES["pix"]]


_HALVES = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}


@pytest.mark.parametrize("scheme", sorted(CODES))
def test_the_terminal_drawing_decodes_to_the_payload(scheme: str) -> None:
    rows = qr.terminal(CODES[scheme]).split("\n")
    modules = [[_HALVES[c][half] for c in row] for row in rows for half in (0, 1)]
    scale = 4
    image = Image.new("L", (len(modules[0]) * scale, len(modules) * scale))
    for y, line in enumerate(modules):
        for x, drawn in enumerate(line):
            # A drawn block is the terminal's foreground: light on a dark terminal.
            image.paste(
                255 if drawn else 0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale)
            )
    padded = Image.new("L", (image.width + 8 * scale, image.height + 8 * scale), 255)
    padded.paste(image, (4 * scale, 4 * scale))
    assert decode(padded) == [CODES[scheme]]


@pytest.mark.parametrize("scheme", ["pix", "upi", "paynow"])
def test_the_readme_s_codes_are_what_its_pictures_say(scheme: str) -> None:
    """docs/codes/*.png, shown in README, decode to the code README prints beside them, and each
    is a code PayChat reads as its market's."""
    root = Path(__file__).resolve().parent.parent
    found = decode(Image.open(root / "docs" / "codes" / f"{scheme}.png"))
    assert len(found) == 1
    assert f"`{found[0]}`" in (root / "README.md").read_text()
    code = read(found[0])
    assert isinstance(code, PayCode)
    assert code.scheme == scheme

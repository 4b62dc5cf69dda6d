"""The Bot API emulator takes photos as Telegram does: PTB's multipart upload (and a resend by
file_id), the caption's limit, no text edit of a photo; what it keeps is the uploaded PNG, which
a real QR decoder reads back as the payment code the bot sent."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
import zxingcpp
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot import qr
from core.settings import Settings
from payments.paycodes.model import PayCode
from payments.paycodes.reader import read
from sim.emulator import Emulator
from sim.scenarios.telegram_world import TelegramSimulator, open_telegram_world
from sim.scenarios.world import seed
from tests.conftest import START

TOKEN = "123456:EMULATOR-PHOTOS"
os.environ.setdefault("PTB_TIMEDELTA", "1")
CODE = "upi://pay?pa=9812345678@oksbi&pn=Dosa%20Corner&tr=PR-7KQ2M9XA4B&am=250.00&cu=INR"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(TOKEN).start()
    emu.add_user(42, "Asha")
    yield emu
    emu.stop()


async def test_a_photo_uploaded_by_ptb_arrives_with_its_caption_and_decodes(
    emulator: Emulator,
) -> None:
    async with Bot(TOKEN, base_url=emulator.base_url) as bot:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Cancel", callback_data="cancel")]])
        sent = await bot.send_photo(
            42, qr.png(CODE), caption=f"UPI QR:\n{CODE}", reply_markup=markup
        )
        assert sent.caption == f"UPI QR:\n{CODE}"
        assert sent.photo[-1].width == sent.photo[-1].height > 100
        shown = emulator.chat(42)[-1]
        assert shown["caption"] == f"UPI QR:\n{CODE}"
        assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "cancel"
        data = emulator.photo(shown["photo"][0]["file_id"])
        decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]
        assert decoded == [CODE]

        again = await bot.send_photo(42, sent.photo[-1].file_id, caption="again")
        assert emulator.photo(again.photo[-1].file_id) == data


async def test_what_telegram_refuses_about_photos(emulator: Emulator) -> None:
    async with Bot(TOKEN, base_url=emulator.base_url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_photo(42, qr.png(CODE), caption="x" * 1025)
        with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
            await bot.send_photo(42, b"not an image at all")
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.send_photo(42, "no-such-file")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_photo(7, qr.png(CODE))
        sent = await bot.send_photo(42, qr.png(CODE), caption="code")
        with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
            await bot.edit_message_text("changed", 42, sent.message_id)


@pytest.mark.parametrize(
    ("phone", "bank", "amount"),
    [("+55 11 3456 7890", "Nubank", "10,50"), ("+65 6123 4567", "DBS", "6.80")],
)
async def test_the_bot_s_code_photo_on_telegram_is_its_caption_s_code(
    settings: Settings, phone: str, bank: str, amount: str
) -> None:
    """Through the real adapter: a link's QR photo, as the Bot API holds it, decodes to the code
    its caption carries, and that code reads as the market's."""
    shop = {"role": "business", "phone": phone, "name": "Loja"}
    async with open_telegram_world(settings, START) as world:
        await seed(world, {"shop": shop}, {"shop": {"payments": {"bank": bank}}})
        for text in ("/link", amount, "lunch"):
            await world.sim.text("shop", text)
        assert isinstance(world.sim, TelegramSimulator)
        held = world.sim.emulator.chat(world.sim.ids["shop"])[-1]
    caption_code = held["caption"].rsplit("\n", 1)[-1]
    png = world.sim.emulator.photo(held["photo"][0]["file_id"])
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert found == [caption_code]
    assert isinstance(read(caption_code), PayCode)

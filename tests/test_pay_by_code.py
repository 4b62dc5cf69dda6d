"""Paying by code through the real engine: every market's request carries a code that the
reader accepts and that leads back to its request; a code re-signed with another amount or
payee (its CRC made right again) is still refused; only customers pay by code; `paychat chat`
shows the QR and pays by `:paycode`."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from core.settings import Settings
from payments.paycodes import emv
from payments.paycodes.issue import expired, request_id
from payments.paycodes.model import PayCode
from payments.paycodes.reader import read
from sim.recorder import Recorder
from sim.repl import Repl
from sim.scenarios.loader import cases
from sim.scenarios.python_api import ConvoWorld, edit, says
from sim.scenarios.runner import run_case
from sim.scenarios.world import World, seed
from tests.conftest import ROOT, keys

MARKETS: dict[str, dict[str, Any]] = {
    "BR": {
        "parties": {
            "shop": {"role": "business", "phone": "+55 11 3456 7890", "name": "Padaria São João"},
            "buyer": {"role": "customer", "phone": "+55 11 91234 5678", "name": "Maria"},
        },
        "method": {"pix": "maria@example.com"},
        "bank": "Nubank",
        "amount": "10,50",
        "scheme": "pix",
    },
    "IN": {
        "parties": {
            "shop": {"role": "business", "phone": "+91 98765 43210", "name": "Chai Point"},
            "buyer": {"role": "customer", "phone": "+91 98123 45678", "name": "Asha"},
        },
        "method": {"upi": "asha@okicici"},
        "bank": "ICICI Bank",
        "amount": "250",
        "scheme": "upi",
    },
    "SG": {
        "parties": {
            "shop": {"role": "business", "phone": "+65 6123 4567", "name": "Ah Seng Noodles"},
            "buyer": {"role": "customer", "phone": "+65 9123 4567", "name": "Wei"},
        },
        "method": {"paynow": "+65 9123 4567"},
        "bank": "OCBC",
        "amount": "6.80",
        "scheme": "paynow",
    },
}


async def _link(world: World, market: str) -> tuple[str, str]:
    """A business of `market` makes a payment link: (the request's id, its code)."""
    spec = MARKETS[market]
    await seed(
        world,
        spec["parties"],
        {
            "shop": {"payments": {"bank": spec["bank"]}},
            "buyer": {"pin": "2580", "methods": [spec["method"]]},
        },
    )
    sim = world.sim
    for text in ("/link", spec["amount"], "lunch"):
        await sim.text("shop", text)
    photo = sim.events[-1]
    assert (photo.kind, photo.key) == ("photo", "code.qr")
    assert photo.text.endswith("\n" + photo.qr), "the caption holds the code's text"
    found = read(photo.qr)
    assert isinstance(found, PayCode)
    return request_id(found), photo.qr


@pytest.mark.parametrize("market", sorted(MARKETS))
async def test_each_market_s_code_reads_back_as_its_request(world: World, market: str) -> None:
    rid, code = await _link(world, market)
    found = read(code)
    assert isinstance(found, PayCode)
    request = await world.store.run(lambda tx: tx.request(rid))
    assert request is not None
    assert found.scheme == MARKETS[market]["scheme"]
    assert found.amount == request.amount
    assert not found.editable
    assert found.name in ("Padaria Sao Joao", "Chai Point", "Ah Seng Noodles")


def _resigned(code: str, **fields: str) -> str:
    """The code with top-level fields replaced and a CRC that is right again: what a forger who
    knows the CRC would make."""
    top = dict(emv.read(code))  # type: ignore[arg-type]
    top.update(fields)
    top.pop("63")
    return emv.close("".join(emv.field(t, v) for t, v in top.items()))


async def test_a_re_signed_code_with_another_amount_or_payee_is_refused(world: World) -> None:
    rid, code = await _link(world, "BR")
    sim = world.sim
    cheaper = _resigned(code, **{"54": "0.50"})
    assert isinstance(read(cheaper), PayCode), "a valid BR Code, just not this request's"
    before = len(sim.events)
    await sim.pay_code("buyer", cheaper)
    assert keys(sim, "buyer", before) == ["code.refused"]
    assert "R$ 0,50" in sim.events[-1].text
    assert rid in sim.events[-1].text

    account = dict(emv.fields(dict(emv.read(code))["26"]))  # type: ignore[arg-type]
    account["01"] = "mallory@example.com"
    other = _resigned(code, **{"26": "".join(emv.field(t, v) for t, v in account.items())})
    await sim.pay_code("buyer", other)
    assert "someone other than" in sim.events[-1].text
    request, payment = await world.store.run(
        lambda tx: (tx.request(rid), tx.payment_for_request(rid))
    )
    assert request is not None
    assert (request.status, payment) == ("open", None)


def _as_sgqr(code: str, paynow_at: str | None) -> str:
    """An SGQR PayNow code rewritten as a consolidated SGQR, as a hawker's printed label carries
    several schemes: NETS at 26, GrabPay at 27, the PayNow template moved to `paynow_at` (left out
    when None), the SGQR id at 51; the CRC made right."""
    top = dict(emv.read(code))  # type: ignore[arg-type]
    paynow = top.pop("26")
    top.pop("63")
    top["26"] = "".join(emv.field(t, v) for t, v in (("00", "SG.COM.NETS"), ("01", "2302000001")))
    top["27"] = "".join(emv.field(t, v) for t, v in (("00", "COM.GRAB"), ("01", "A93FO3230Q")))
    top["51"] = "".join(emv.field(t, v) for t, v in (("00", "SG.SGQR"), ("01", "200103ABC")))
    if paynow_at is not None:
        top[paynow_at] = paynow
    return emv.close("".join(emv.field(t, top[t]) for t in sorted(top)))


async def test_an_sgqr_with_paynow_among_other_schemes_pays_its_request(world: World) -> None:
    """The customer's bank app finds PayNow in whichever template carries SG.PAYNOW: the link's
    code with PayNow at 33 beside other schemes pays the link, once; without a PayNow template
    the same code is refused as a kind PayChat does not pay, and nothing is charged."""
    rid, code = await _link(world, "SG")
    sim = world.sim
    before = len(sim.events)
    await sim.pay_code("buyer", _as_sgqr(code, None))
    assert keys(sim, "buyer", before) == ["code.refused"]
    assert "not one PayChat pays" in sim.events[-1].text
    assert await world.store.run(lambda tx: tx.payment_for_request(rid)) is None

    before = len(sim.events)
    await sim.pay_code("buyer", _as_sgqr(code, "33"))
    assert keys(sim, "buyer", before) == ["pay.choose_method"]
    assert "PayNow QR read" in sim.events[-1].text
    await sim.tap("buyer", label="PayNow · +65 9123 4567")
    await sim.pin("buyer", "2580")
    assert "pay.succeeded" in keys(sim, "buyer", before)
    assert "pay.received" in keys(sim, "shop", before)
    request, payment = await world.store.run(
        lambda tx: (tx.request(rid), tx.payment_for_request(rid))
    )
    assert request is not None
    assert payment is not None
    assert (request.status, payment.amount) == ("paid", request.amount)


async def test_only_customers_pay_by_code(world: World) -> None:
    _, code = await _link(world, "IN")
    before = len(world.sim.events)
    await world.sim.pay_code("shop", code)
    assert keys(world.sim, "shop", before) == ["pay.customers_only"]


async def test_paychat_chat_draws_the_qr_and_pays_by_paycode(world: World) -> None:
    out = io.StringIO()
    repl = Repl(world.sim, Console(file=out, width=80))  # narrower than the code
    await seed(
        world,
        MARKETS["IN"]["parties"],
        {
            "shop": {"payments": {"bank": "ICICI Bank"}},
            "buyer": {"pin": "2580", "methods": [{"upi": "asha@okicici"}]},
        },
    )
    for line in (":as shop", "/link", "250", "lunch"):
        await repl.line(line)
    shown = out.getvalue()
    assert "▀" in shown, "the QR symbol, in half blocks"
    assert "▄" in shown
    code = world.sim.events[-1].qr
    assert code.startswith("upi://pay?")
    assert code in shown
    for line in (":as buyer", f":paycode {code}"):
        await repl.line(line)
    assert "UPI code read" in out.getvalue()
    await repl.line(":paycode")
    assert "write it as :paycode TEXT" in out.getvalue()


def test_a_paynow_code_expires_at_the_end_of_its_date_in_singapore(settings: Settings) -> None:
    market = settings.markets["SG"]
    code = read(
        "00020101021226490009SG.PAYNOW010120210201101550Z03010040820201127520400005303702"
        "540550.005802SG5907Qryptal6009Singapore62060102AJ630488E9"
    )
    assert isinstance(code, PayCode)
    last_minute = datetime(2020, 11, 27, 15, 59, tzinfo=UTC)  # 23:59 in Singapore
    assert not expired(code, last_minute, market)
    assert expired(code, last_minute + timedelta(minutes=1), market)
    assert not expired(replace(code, expires=None), last_minute + timedelta(days=999), market)


async def test_a_recorded_session_pays_the_code_its_photo_showed(
    settings: Settings, tmp_path: Path
) -> None:
    """The recorder writes a scanned code as `pay_code`, captured from the code photo's caption
    (not the literal code, which names one run's request), and the recording replays green."""
    recorders: list[Recorder] = []
    path = ROOT / "tests" / "scenarios" / "codes" / "upi_intent.convo.yaml"
    result = await run_case(
        cases(path)[0], settings, opened=lambda w: recorders.append(Recorder(w.sim))
    )
    assert result.passed, result.report
    written = recorders[-1].to_yaml()
    assert "says: code.qr" in written
    assert "pay_code: '${paycode}'" in written, written
    recorded = tmp_path / "recorded.convo.yaml"
    recorded.write_text(written, encoding="utf-8")
    again = await run_case(cases(recorded)[0], settings)
    assert again.passed, again.report


def test_a_python_scenario_pays_by_code(paychat_world: ConvoWorld) -> None:
    """`pays_code` is the Python API's `{pay_code: ...}`, on both transports."""
    world = paychat_world
    world.options(clock="2026-03-01T12:00:00+08:00")
    stall = world.party("stall", role="business", phone="+65 6123 4567", name="Ah Seng")
    wei = world.party("wei", role="customer", phone="+65 9123 4567", name="Wei")
    world.given(
        stall={"payments": {"bank": "OCBC"}},
        wei={"pin": "8024", "methods": [{"paynow": "+65 9123 4567"}]},
    )
    stall.sends("/link")
    world.expect(stall=[says("request.ask_amount")])
    stall.sends("6.80")
    world.expect(stall=[says("request.ask_note")])
    stall.taps("skip")
    world.expect(
        stall=[says("link.created"), says("code.qr", kind="photo", regex="\n(?P<code>.+)$")]
    )
    wei.pays_code("${code}")
    world.expect(wei=[says("pay.choose_method", contains="PayNow QR read")])
    wei.taps(label="PayNow · +65 9123 4567")
    world.expect(wei=[says("pin.ask")])
    wei.enters_pin("8024")
    world.expect(
        wei=[says("pay.succeeded"), edit(says="request.paid")], stall=[says("pay.received")]
    )

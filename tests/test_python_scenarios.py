"""Scenarios in Python (the `paychat_world` fixture) against their YAML twins: one runner under
both, so both pass together, and a wrong expectation fails both with the same report. Each test
runs on every transport `--paychat-via` names (both, in `make test`), as scenario files do.
The tests are plain functions: the fixture runs its own event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.settings import Settings
from sim.scenarios.lint import lint
from sim.scenarios.loader import cases
from sim.scenarios.python_api import ConvoWorld, ScenarioFailed, edit, says
from sim.scenarios.runner import run_case

TWIN = """\
version: 1
name: twin
clock: {start: "2026-03-01T10:00:00+05:30"}
parties:
  shop: {role: business, phone: "+91 98765 43210", name: "Chai Point"}
  asha: {role: customer, phone: "+91 98123 45678", name: "Asha"}
given:
  shop: {payments: {bank: HDFC Bank}}
  asha: {pin: "2580", methods: [{card: "4242 4242 4242 4242"}]}
invariants: [ledger_balanced]
steps:
  - shop: /request
    expect: {shop: [{says: request.ask_customer}]}
  - shop: "+91 98123 45678"
    expect: {shop: [{says: request.ask_amount}]}
  - shop: "250"
    expect: {shop: [{says: request.ask_note}]}
  - shop: chai
    expect:
      shop: [{says: request.sent, regex: '(?P<req>PR-[A-Z0-9]+)'}, {says: code.qr, kind: photo}]
      asha: [{says: request.received, contains: "₹250.00", save: request_msg}]
  - inject: {processor.authorize: [{outcome: declined, code: insufficient_funds}]}
  - asha: {tap: pay, on: request_msg}
    expect: {asha: [{says: pay.choose_method}]}
  - asha: {tap: {label_contains: "4242"}}
    expect: {asha: [{says: pin.ask}]}
  - asha: {pin: "2580"}
    expect:
      asha: [{says: pay.failed, contains: "not enough money"}]
      shop: [{says: pay.attempt_failed}]
  - asha: {tap: {label_contains: "4242"}}
    expect: {asha: [{says: pin.ask}]}
  - asha: {pin: "2580"}
    expect:
      asha: [{says: pay.succeeded}, {kind: edit, of: request_msg, says: request.paid}]
      shop: [{says: PAID_KEY}]
  - advance: 1d
  - expect_state:
      - request: ${req}
        status: paid
      - balance: asha
        amount: {delta_since: start, eq: "INR -250.00"}
"""


def twin_in_python(world: ConvoWorld, paid_key: str) -> None:
    """TWIN, line for line."""
    world.options(clock="2026-03-01T10:00:00+05:30", invariants=["ledger_balanced"])
    shop = world.party("shop", role="business", phone="+91 98765 43210", name="Chai Point")
    asha = world.party("asha", role="customer", phone="+91 98123 45678", name="Asha")
    world.given(
        shop={"payments": {"bank": "HDFC Bank"}},
        asha={"pin": "2580", "methods": [{"card": "4242 4242 4242 4242"}]},
    )
    shop.sends("/request")
    world.expect(shop=[says("request.ask_customer")])
    shop.sends("+91 98123 45678")
    world.expect(shop=[says("request.ask_amount")])
    shop.sends("250")
    world.expect(shop=[says("request.ask_note")])
    shop.sends("chai")
    world.expect(
        shop=[says("request.sent", regex="(?P<req>PR-[A-Z0-9]+)"), says("code.qr", kind="photo")],
        asha=[says("request.received", contains="₹250.00", save="request_msg")],
    )
    world.inject("processor.authorize", outcome="declined", code="insufficient_funds")
    asha.taps("pay", on="request_msg")
    world.expect(asha=[says("pay.choose_method")])
    asha.taps(label_contains="4242")
    world.expect(asha=[says("pin.ask")])
    asha.enters_pin("2580")
    world.expect(
        asha=[says("pay.failed", contains="not enough money")],
        shop=[says("pay.attempt_failed")],
    )
    asha.taps(label_contains="4242")
    world.expect(asha=[says("pin.ask")])
    asha.enters_pin("2580")
    world.expect(
        asha=[says("pay.succeeded"), edit(of="request_msg", says="request.paid")],
        shop=[says(paid_key)],
    )
    world.advance("1d")
    world.expect_state(
        {"request": "${req}", "status": "paid"},
        {"balance": "asha", "amount": {"delta_since": "start", "eq": "INR -250.00"}},
    )


async def yaml_twin(tmp_path: Path, settings: Settings, via: str, paid_key: str) -> str:
    """Run TWIN (with `paid_key`) as a file; its report ("" when it passed)."""
    path = tmp_path / "twin.convo.yaml"
    path.write_text(TWIN.replace("PAID_KEY", paid_key), encoding="utf-8")
    result = await run_case(cases(path)[0], settings, via=via)
    return "" if result.passed else result.report


def test_a_yaml_scenario_and_its_python_twin_both_pass(
    paychat_world: ConvoWorld, settings: Settings, tmp_path: Path
) -> None:
    assert asyncio.run(yaml_twin(tmp_path, settings, paychat_world.via, "pay.received")) == ""
    twin_in_python(paychat_world, "pay.received")
    assert paychat_world.vars["req"].startswith("PR-")


def test_a_wrong_expectation_fails_both_twins_with_the_same_report(
    paychat_world: ConvoWorld, settings: Settings, tmp_path: Path
) -> None:
    report = asyncio.run(yaml_twin(tmp_path, settings, paychat_world.via, "pay.attempt_failed"))
    with pytest.raises(ScenarioFailed) as failed:
        twin_in_python(paychat_world, "pay.attempt_failed")
    assert failed.value.message == (
        "shop: expected {says: pay.attempt_failed} but send pay.received: it says pay.received"
    )
    yaml_lines, python_lines = report.splitlines(), failed.value.report.splitlines()
    # The first line names where: the YAML step's line, or the Python call's.
    assert yaml_lines[0].endswith("step failed in 'twin'")
    assert python_lines[0].startswith(f"{__file__}:")
    # Then the same words, transcript and state. (Through Telegram, two chats' messages of one
    # step may arrive in either order, as the adapter sends them concurrently.)
    if paychat_world.via == "simulator":
        assert yaml_lines[1:] == python_lines[1:]
    else:
        assert sorted(yaml_lines[1:]) == sorted(python_lines[1:])


def test_an_injected_fault_that_never_fires_fails_a_python_scenario(
    paychat_world: ConvoWorld,
) -> None:
    world = paychat_world
    world.party("asha", role="customer", phone="+91 98123 45678", name="Asha")
    world.inject("processor.authorize", outcome="timeout")
    with pytest.raises(ScenarioFailed, match=r"injected faults never fired: processor\.author"):
        world.finish()


def test_a_step_without_expect_is_strict(paychat_world: ConvoWorld) -> None:
    world = paychat_world
    world.party("asha", role="customer", phone="+91 98123 45678", name="Asha")
    world.party("asha").sends("/help")
    with pytest.raises(ScenarioFailed, match="unexpected message to asha: send help"):
        world.advance("1m")  # the next step runs the last: nothing was expected of /help


def test_a_step_is_linted_as_in_a_file(paychat_world: ConvoWorld, tmp_path: Path) -> None:
    """An unknown message key is refused before the step runs, in the words `paychat lint`
    uses for the same step in a file."""
    path = tmp_path / "typo.convo.yaml"
    path.write_text(
        "version: 1\nparties:\n  asha: {role: customer, phone: '+91 98123 45678'}\n"
        "steps:\n  - asha: /help\n    expect: {asha: [{says: halp}]}\n",
        encoding="utf-8",
    )
    (problem,) = lint(path)
    world = paychat_world
    world.party("asha", role="customer", phone="+91 98123 45678")
    world.party("asha").sends("/help")
    with pytest.raises(ScenarioFailed) as failed:
        world.expect(asha=[says("halp")])
    assert failed.value.message == problem.problem == "says: unknown message key 'halp'"


def test_a_yaml_partial_and_a_race_from_python(paychat_world: ConvoWorld) -> None:
    """`include` runs a YAML partial's steps (its exports become variables) and `together`
    delivers two PINs before either is answered: one charge (as payments/double_tap does)."""
    world = paychat_world
    world.options(invariants=["ledger_balanced", "one_payment_per_request"])
    world.party("shop", role="business", phone="+91 98765 43210", name="Chai Point")
    asha = world.party("asha", role="customer", phone="+91 98123 45678", name="Asha")
    world.given(
        shop={"payments": {"bank": "HDFC Bank"}},
        asha={"pin": "2580", "methods": [{"card": "4242 4242 4242 4242"}]},
    )
    world.include(
        "scenarios/partials/request.partial.yaml",
        with_={
            "business": "shop",
            "customer": "asha",
            "phone": "+91 98123 45678",
            "amount": "250",
            "shown": "₹250.00",
            "note": "chai",
        },
        exports=["req"],
    )
    assert world.vars["req"].startswith("PR-")
    asha.taps("pay")
    world.expect(asha=[says("pay.choose_method")])
    asha.taps(label_contains="4242")
    world.expect(asha=[says("pin.ask")])
    world.together({"asha": {"pin": "2580"}}, {"asha": {"pin": "2580"}})
    world.expect(
        asha=[
            says("pay.succeeded"),
            edit(says="request.paid"),
            says("pin.not_expected", not_contains="understand"),
        ],
        shop=[says("pay.received")],
    )
    world.expect_calls({"processor.authorize": {"count": 1}})

"""Typed refs survive the wire: pack then unpack gives the same ref, other text gives None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.refs import (
    AccountButton,
    BankButton,
    InboundMessage,
    MenuButton,
    MethodButton,
    PinPrompt,
    Ref,
    RequestMessage,
    RequestOwnerMessage,
    WalletButton,
)

ids = st.from_regex(r"[A-Z0-9_-]{1,14}", fullmatch=True)  # the ids PayChat makes


@given(ids, ids)
def test_every_ref_round_trips(first: str, second: str) -> None:
    refs: list[Ref] = [
        RequestMessage(first),
        RequestOwnerMessage(first),
        PinPrompt(first),
        PinPrompt(first, f"tg:{second}:7"),
        MenuButton(first),
        MethodButton(first),
        MethodButton(first, second),
        BankButton(first),
        AccountButton(first),
        WalletButton(first),
        InboundMessage(f"tg:{first}:{second}"),  # the last field keeps its own colons
    ]
    for ref in refs:
        assert type(ref).unpack(ref.pack()) == ref


def test_packed_forms_are_the_public_ones_scenarios_tap() -> None:
    assert MenuButton("link").pack() == "menu:link"
    assert RequestMessage("PR-1").pack() == "rq:PR-1"
    assert MethodButton("PM-1").pack() == "m:PM-1"
    assert MethodButton("PM-1", "PR-2").pack() == "m:PM-1:PR-2"
    assert BankButton.at(2).pack() == "bank:2"


@pytest.mark.parametrize("text", ["", "rq", "rq:", "menu:link", "m", "xrq:PR-1"])
def test_text_of_another_kind_is_not_a_request_message(text: str) -> None:
    assert RequestMessage.unpack(text) is None


def test_a_button_ref_that_would_not_fit_telegram_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        MethodButton("PM-" + "X" * 40, "PR-" + "Y" * 40).pack()
    assert BankButton.unpack("bank:x") == BankButton("x")
    assert BankButton("x").position is None

"""Names are cleaned where they enter: nothing in one can fake a line of the bot's text."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from core.names import NAME_LIMIT, clean_name


def test_a_name_that_fakes_a_payment_line_reads_as_one_plain_line() -> None:
    assert clean_name("Asha\u200b\u202e\npaid you ₹50,000.00 for\x00") == (
        "Asha paid you ₹50,000.00 for"
    )
    assert clean_name("Ｃｈａｉ\u2067 Point\u2069") == "Chai Point"  # full-width, bidi isolate
    assert clean_name("\u200d \n\t ") == ""  # nothing visible: no name


@given(st.text())
def test_whatever_is_typed_the_name_has_no_hidden_or_breaking_characters(text: str) -> None:
    name = clean_name(text)
    assert len(name) <= NAME_LIMIT
    assert name == name.strip()
    assert "  " not in name
    assert all(
        (unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cs", "Cn"} and ch in " ")
        or not ch.isspace()
        for ch in name
    )
    assert clean_name(name) == name  # cleaning twice changes nothing

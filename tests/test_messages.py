"""`Outbound.numbered` copies every field: a field added later is neither shifted nor forgotten."""

from __future__ import annotations

from dataclasses import fields, replace

from core.messages import Button, Outbound


def test_numbering_an_outbound_keeps_every_field() -> None:
    out = Outbound(
        kind="edit",
        to="asha",
        key="pay.succeeded",
        text="Paid",
        buttons=((Button("receipt", "Receipt"),),),
        ref="rq:PR-1",
        ask_contact="Share my number",
        pin_pad=True,
        phone="+919812345678",
        qr="upi://pay?pa=shop@oksbi&pn=Shop",
        seq=3,
    )
    # Every field differs from a bare Outbound's, so a new field fails here until it is set
    # above, and then below until `numbered` copies it.
    bare = Outbound("send", "", "")
    assert [
        f.name for f in fields(Outbound) if getattr(out, f.name) == getattr(bare, f.name)
    ] == []
    assert out.numbered(9) == replace(out, seq=9)

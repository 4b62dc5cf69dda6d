from __future__ import annotations

from sim.diagrams import render
from tests.conftest import ROOT


def test_the_flow_diagrams_in_the_docs_are_generated_from_the_code() -> None:
    committed = (ROOT / "docs/flows.md").read_text(encoding="utf-8")
    assert committed == render(), "run `paychat diagrams` and commit docs/flows.md"


def test_every_flow_has_a_diagram_with_its_transitions() -> None:
    text = render()
    for name in ("onboarding", "payment_setup", "methods", "pin", "request", "pay"):
        assert f"## `{name}`" in text
    assert "AUTHORISE --> DONE" in text

"""`paychat test --html`: one self-contained file with every case, its chats as bubbles, the
failing step outlined with expected vs actual and the state then, secrets masked, and
transcript text escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main
from tests.conftest import ROOT

SMS_CODE = ROOT / "tests/scenarios/setup/wrong_code_then_right.convo.yaml"

FAILING = """version: 1
name: A request expected to fail that succeeds
parties:
  shop: {role: business, phone: "+91 98765 43210", name: "Chai Point"}
  asha: {role: customer, phone: "+91 98123 45678", name: "Asha"}
given:
  shop: {payments: {bank: HDFC Bank}}
steps:
  - asha: "hello <script>alert('x')</script>"
    expect: {asha: [{says: error.not_understood}]}
  - include: PARTIALS/request.partial.yaml
    with: {business: shop, customer: asha, phone: "+91 98123 45678", amount: "250",
           shown: "₹250.00", note: "tea"}
    exports: [req]
  - asha: {tap: decline}
    expect: {asha: [{says: request.declined}]}
""".replace("PARTIALS", str(ROOT / "tests/scenarios/partials"))


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    failing = tmp_path / "failing.convo.yaml"
    failing.write_text(FAILING)
    out = tmp_path / "report.html"
    code = main(
        [
            "test",
            str(SMS_CODE),
            str(failing),
            "--html",
            str(out),
            "--artifacts",
            str(tmp_path / "artifacts"),
        ]
    )
    assert code == 1  # the second case fails
    return out.read_text(encoding="utf-8")


def test_every_case_is_there_with_its_status_and_time(report: str) -> None:
    assert "1 passed" in report
    assert "1 failed" in report
    assert "A wrong SMS code says how many tries are left" in report
    assert "A request expected to fail that succeeds" in report
    assert len(re.findall(r'class="badge (passed|failed)"', report)) == 2
    assert re.search(r"\d+ ms", report)


def test_the_chats_are_bubbles_with_keys_buttons_deletes_and_sms(report: str) -> None:
    assert 'class="bubble b-action">/request' in report  # what a party did
    assert "request.ask_customer" in report  # what it was sent, by key
    assert '<span class="button">Decline</span>' in report
    assert "deleted · chat.deleted" in report  # the typed code, deleted
    assert 'class="bubble b-sms"' in report


def test_the_failing_step_is_outlined_with_expected_actual_and_state(report: str) -> None:
    failed = re.findall(r'<div class="step fail">\s*<div class="where">([^<]+)</div>', report)
    assert failed == ["failing.convo.yaml:15 · this step failed"]
    assert "expected {says: request.declined}" in report
    assert "request.confirm_decline" in report  # what came instead
    assert "State at that moment" in report
    assert re.search(r"request PR-[A-Z0-9]+: status=open", report)


def test_secrets_are_masked_as_in_the_text_report(report: str) -> None:
    sms = re.findall(r'<div class="bubble b-sms">(.*?)</div>', report, re.S)
    assert sms
    assert all("••••••" in s for s in sms)
    assert not any(re.search(r"\b\d{6}\b", s) for s in sms)  # no code in an SMS bubble
    assert "000000" not in report  # the wrong code typed was deleted from the chat


def test_transcript_text_is_escaped(report: str) -> None:
    assert "<script>alert" not in report
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in report


def test_it_needs_nothing_from_the_network(report: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", report, re.I)
    assert "url(" not in report
    assert "@import" not in report
    assert "<script" not in report.lower()
    assert "<link" not in report.lower()
    assert "<style>" in report  # the CSS is inline

"""Flow coverage: what a run exercised is recorded from the flows themselves, reported per flow
and overall, drawn on the diagrams, merged over pytest-xdist workers, and --fail-under fails a
run below its floor with its own exit code."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from sim.cli import main
from sim.coverage import BELOW_FAIL_UNDER, Coverage, recording, summarise, transitions
from sim.coverage_report import NEVER_STYLE, flowchart
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case
from tests.conftest import ROOT

TERMS = ROOT / "tests/scenarios/setup/terms_declined.convo.yaml"


def _run(path: Path, settings: Settings) -> Coverage:
    coverage = Coverage()
    with recording(coverage):
        for case in cases(path):
            assert asyncio.run(run_case(case, settings)).passed
    return coverage


def test_a_run_records_the_transitions_and_keys_it_exercised(settings: Settings) -> None:
    coverage = _run(TERMS, settings)
    # The scenario opens the wizard at the terms and declines them: those two transitions.
    assert {t for t in coverage.fired if t[0] == "payment_setup"} == {
        ("payment_setup", "START", "begin", "TERMS"),
        ("payment_setup", "TERMS", "tap", "DONE"),
    }
    assert {"payments.not_set_up", "setup.terms", "setup.terms_declined"} <= coverage.said
    assert "pay.succeeded" not in coverage.said
    assert set(coverage.fired) <= set(transitions())


def test_nothing_is_recorded_outside_a_recording(settings: Settings) -> None:
    coverage = Coverage()
    with recording(coverage):
        pass
    assert asyncio.run(run_case(cases(TERMS)[0], settings)).passed
    assert coverage == Coverage()


def test_the_summary_counts_per_flow_and_overall() -> None:
    every = transitions()
    coverage = Coverage({every[0], every[1]}, {"welcome"})
    summary = summarise(coverage)
    assert summary.total == len(every)
    assert summary.exercised == 2
    first = next(f for f in summary.flows if f.flow == every[0][0])
    assert every[0] not in first.never
    assert every[2] in first.never
    data = summary.as_dict()
    assert data["transitions"] == {
        "exercised": 2,
        "total": len(every),
        "percent": round(200 / len(every), 2),
    }
    assert "welcome" not in data["message_keys"]["never"]
    assert "button.pay" not in data["message_keys"]["never"]  # a label, not a message


def test_workers_coverage_merges_through_json() -> None:
    every = transitions()
    one, two = Coverage({every[0]}, {"welcome"}), Coverage({every[5]}, {"menu"})
    merged = Coverage.from_json(one.to_json())
    merged.merge(Coverage.from_json(two.to_json()))
    assert merged == Coverage({every[0], every[5]}, {"welcome", "menu"})


def test_the_diagram_draws_the_unexercised_transitions_red_and_dashed() -> None:
    setup = [t for t in transitions() if t[0] == "payment_setup"]
    chart = flowchart("payment_setup", Coverage({setup[0]}))
    edges = [line for line in chart.splitlines() if "-->" in line]
    assert len(edges) == len(setup)
    never = re.search(r"linkStyle ([\d,]+) " + re.escape(NEVER_STYLE), chart)
    assert never is not None
    assert never[1].split(",") == [str(i) for i in range(1, len(setup))]
    assert "✗" not in edges[0]
    assert all("✗" in e for e in edges[1:])


def test_paychat_test_reports_coverage_and_fails_under_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "cov.json"
    md = tmp_path / "cov.md"
    args = ["test", str(TERMS), "--coverage-json", str(out), "--coverage-md", str(md)]
    assert main([*args, "--fail-under", "50"]) == BELOW_FAIL_UNDER
    printed = capsys.readouterr().out
    assert "payment_setup" in printed
    assert "below --fail-under 50%" in printed
    data = json.loads(out.read_text())
    assert data["flows"]["payment_setup"]["exercised"] == 2
    assert "```mermaid" in md.read_text()
    assert NEVER_STYLE in md.read_text()
    assert main([*args, "--fail-under", "1"]) == 0


def test_the_pytest_plugin_merges_xdist_workers(tmp_path: Path, settings: Settings) -> None:
    # Two files, one per worker: the merged coverage has what each exercised.
    for name in ("terms_declined", "customer_cannot_set_up"):
        source = ROOT / f"tests/scenarios/setup/{name}.convo.yaml"
        (tmp_path / f"{name}.convo.yaml").write_text(source.read_text())
    out = tmp_path / "cov.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-v",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--paychat-config",
            str(ROOT / "config.yaml"),
            "--paychat-via=simulator",
            "--paychat-coverage-json",
            str(out),
            "--paychat-fail-under",
            "90",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == BELOW_FAIL_UNDER, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert "[gw0]" in run.stdout
    assert "[gw1]" in run.stdout
    data = json.loads(out.read_text())
    never = set(data["message_keys"]["never"])
    assert "setup.terms_declined" not in never  # said only in the first file
    assert "error.not_allowed" not in never  # said only in the second
    single = Coverage()
    for name in ("terms_declined", "customer_cannot_set_up"):
        single.merge(_run(tmp_path / f"{name}.convo.yaml", settings))
    assert data["transitions"]["exercised"] == summarise(single).exercised

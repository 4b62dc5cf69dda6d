"""Scenario files written to hurt (by mistake or not) end as a clear problem with file:line,
never a hang or a traceback: a regex that backtracks, anchors that expand to billions of
values, includes nested past any sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from sim.patterns import SlowPattern, search
from sim.scenarios.lint import MAX_INCLUDE_DEPTH, lint
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case

BACKTRACKS = "(a|aa)+$"  # exponential in a run of a's that ends before the text does


def test_a_pattern_that_backtracks_is_stopped() -> None:
    assert search(BACKTRACKS, "a" * 8) is not None  # an ordinary match is still a match
    with pytest.raises(SlowPattern, match="did not finish in 1 s on 61 characters"):
        search(BACKTRACKS, "a" * 60 + "b")


async def test_a_step_whose_regex_backtracks_fails_with_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "slow.convo.yaml"
    path.write_text(
        f"""version: 1
name: a regex that backtracks
parties:
  shop: {{role: business, phone: "+91 98765 43210", name: "Chai Point"}}
  asha: {{role: customer, phone: "+91 98123 45678", name: "Asha"}}
given:
  shop: {{payments: {{bank: HDFC Bank}}}}
steps:
  - shop: /request
    expect: {{shop: [{{says: request.ask_customer}}]}}
  - shop: "+91 98123 45678"
    expect: {{shop: [{{says: request.ask_amount}}]}}
  - shop: "250"
    expect: {{shop: [{{says: request.ask_note}}]}}
  - shop: "{"a" * 60}b"
    expect:
      shop: [{{says: request.sent, regex: '{BACKTRACKS}'}}, {{says: code.qr, kind: photo}}]
      asha: [{{says: request.received}}]
"""
    )
    assert lint(path) == []
    result = await run_case(cases(path)[0], settings)
    assert not result.passed
    assert result.report.startswith(f"{path}:15: step failed")
    assert "did not finish in 1 s" in result.report


def test_anchors_and_aliases_are_refused_before_they_expand(tmp_path: Path) -> None:
    path = tmp_path / "laughs.convo.yaml"
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path.write_text(
        "version: 1\nname: laughs\nparties:\n"
        '  asha: {role: customer, phone: "+91 98123 45678"}\n'
        + "\n".join(levels)
        + "\nsteps:\n  - note: *i\n    asha: /start\n"
    )
    problems = lint(path)  # 9^9 values if expanded
    assert [str(p) for p in problems] == [
        f"{path}:5: this value (&anchor) is used again by an alias (*anchor): anchors and "
        "aliases are not supported, write the value out"
    ]


def test_includes_nested_too_deep_are_a_problem_not_a_crash(tmp_path: Path) -> None:
    depth = MAX_INCLUDE_DEPTH + 10
    for n in range(depth):
        (tmp_path / f"p{n}.partial.yaml").write_text(
            "version: 1\nsteps:\n"
            + (f"  - include: p{n + 1}.partial.yaml\n" if n + 1 < depth else "  - note: end\n")
        )
    path = tmp_path / "deep.convo.yaml"
    path.write_text(
        "version: 1\nname: deep\nparties:\n"
        '  asha: {role: customer, phone: "+91 98123 45678"}\n'
        "steps:\n  - include: p0.partial.yaml\n"
    )
    problems = [str(p) for p in lint(path)]
    assert problems == [
        f"{tmp_path / f'p{MAX_INCLUDE_DEPTH - 1}.partial.yaml'}:3: "
        f"includes nest more than {MAX_INCLUDE_DEPTH} deep"
    ]

"""The scenario format's own guarantees: the schema is honest, lint finds what it should."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from sim.cli import main
from sim.scenarios.lint import lint
from sim.scenarios.loader import load_yaml
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "sim/scenarios/convo.schema.json").read_text())
FILES = sorted((ROOT / "tests/scenarios").rglob("*.yaml"))


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_shipped_scenario_matches_the_schema_and_lints_clean(path: Path) -> None:
    jsonschema.validate(json.loads(json.dumps(load_yaml(path))), SCHEMA)
    if path.name.endswith(".convo.yaml"):
        assert [str(p) for p in lint(path)] == []


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.convo.yaml"
    path.write_text(text)
    return path


BASE = """version: 1
parties:
  shop: {role: business, phone: "+91 98765 43210"}
steps:
"""


@pytest.mark.parametrize(
    ("steps", "line", "problem"),
    [
        ("  - shop: hi\n    expct: {}\n", 5, "unknown step key 'expct'"),
        ("  - ravi: hi\n", 5, "unknown step key 'ravi' (not a declared party)"),
        (
            "  - shop: hi\n    expect: {shop: [{says: no.such.key}]}\n",
            6,
            "unknown message key 'no.such.key'",
        ),
        ("  - shop: '${tx}'\n", 5, "${tx} is used before it is defined"),
        ("  - advance: soon\n", 5, "is not a duration"),
        ("  - advance: 30m1h\n", 5, "is not a duration"),
        ("  - inject: {processor.charge: [{outcome: timeout}]}\n", 5, "unknown rail call"),
        ("  - shop: {tapp: pay}\n", 5, "unknown action 'tapp'"),
        ("  - shop: [hi\n", 6, "not valid YAML"),
        ("  - ? [shop, ravi]\n    : hi\n", 5, "a key must be text"),
    ],
)
def test_lint_names_file_line_and_problem(
    tmp_path: Path, steps: str, line: int, problem: str
) -> None:
    problems = lint(write(tmp_path, BASE + steps))
    assert any(p.line == line and problem in p.problem for p in problems), problems


def test_lint_finds_include_cycles(tmp_path: Path) -> None:
    (tmp_path / "a.partial.yaml").write_text("version: 1\nsteps:\n  - include: b.partial.yaml\n")
    (tmp_path / "b.partial.yaml").write_text("version: 1\nsteps:\n  - include: a.partial.yaml\n")
    problems = lint(write(tmp_path, BASE + "  - include: a.partial.yaml\n"))
    assert any("include cycle" in p.problem for p in problems), problems


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["test", "-k", "no such case", "tests/scenarios/links"], "no scenario selected"),
        (["lint", "docs"], "no *.convo.yaml in docs"),
    ],
)
def test_running_nothing_is_not_a_pass(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mistyped path or filter in CI must not read as "0 failed".
    assert main(argv) == 5
    assert says in capsys.readouterr().out


def test_a_report_that_cannot_be_written_stops_before_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["test", "--junitxml", "/no/such/folder/report.xml"])
    assert stop.value.code == 2
    assert "cannot write /no/such/folder/report.xml" in capsys.readouterr().err

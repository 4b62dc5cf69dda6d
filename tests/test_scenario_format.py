"""The scenario format's own guarantees: the schema is honest, lint finds what it should."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from core.money import Money
from payments.rails import Rails
from payments.rails.base import CALL_NAMES, Fault
from sim.cli import main
from sim.scenarios.lint import lint
from sim.scenarios.loader import load_yaml
from sim.scenarios.spec import CALL_WHEN, CALL_WITH
from sim.scenarios.world import World
from storage.base import Tx
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
        # too long for a clock (it was an OverflowError in the runner, lint said nothing)
        ("  - advance: 99999999999999999999d\n", 5, "longer than the longest step"),
        ("  - advance: 3661d\n", 5, "longer than the longest step"),
        ("  - inject: {processor.charge: [{outcome: timeout}]}\n", 5, "unknown rail call"),
        ("  - shop: {tapp: pay}\n", 5, "unknown action 'tapp'"),
        ("  - shop: [hi\n", 6, "not valid YAML"),
        ("  - ? [shop, ravi]\n    : hi\n", 5, "a key must be text"),
        # a raw control character: yaml's ReaderError, which carries no mark (a traceback before)
        ("  - shop: hi\n  - shop: bell \x07\n", 6, "control characters are not allowed"),
    ],
)
def test_lint_names_file_line_and_problem(
    tmp_path: Path, steps: str, line: int, problem: str
) -> None:
    problems = lint(write(tmp_path, BASE + steps))
    assert any(p.line == line and problem in p.problem for p in problems), problems


def test_a_file_that_is_not_utf8_is_a_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.convo.yaml"
    path.write_bytes((BASE + '  - shop: "caf\xe9"\n').encode("latin-1"))  # a traceback before
    problems = lint(path)
    assert [(p.line, p.problem) for p in problems] == [(5, "not UTF-8 text (byte 0xe9)")]


def schema_accepts(path: Path) -> bool:
    return bool(
        jsonschema.Draft202012Validator(SCHEMA).is_valid(json.loads(json.dumps(load_yaml(path))))
    )


@pytest.mark.parametrize(
    ("steps", "line", "problem"),
    [
        # Inside actions: the runner reads only the keys it knows, so each of these typos would
        # change what the step does without a word.
        ("  - shop: {tap: {lable: Pay}}\n", 5, "unknown key 'lable' in button (tap)"),
        ("  - shop: {tap: {label: Pay, label_contains: P}}\n", 5, "a button names one of"),
        ("  - shop: {tap: {label: Pay, nth: 0}}\n", 5, "nth: 0 is not a whole number"),
        (
            "  - shop: {tap: pay, text: hi}\n",
            5,
            "an action does one thing, this one has tap, text",
        ),
        ("  - shop: {text: hi, on: msg}\n", 5, "'on' goes with tap"),
        ("  - shop: {biometric: yes please}\n", 5, "is not approve or refuse"),
        ("  - shop: {share_contact: 5}\n", 5, "share_contact: true (your own) or a phone"),
        # Inside matchers, and the buttons they name
        ("  - shop: hi\n    expect: {shop: [{says: help, contians: y}]}\n", 6, "'contians'"),
        (
            "  - shop: hi\n    expect:\n      shop:\n        - says: help\n"
            "          buttons_include: [{lable: Pay}]\n",
            9,
            "unknown key 'lable' in button (buttons_include)",
        ),
        (
            "  - shop: hi\n    expect: {shop: [{buttons: [[pay, {labl: x}]]}]}\n",
            6,
            "unknown key 'labl' in button (buttons)",
        ),
        # Probes
        ("  - expect_state: [{request: PR-1, stauts: paid}]\n", 5, "unknown field 'stauts'"),
        ("  - expect_state: [{ledger: balanced, extra: 1}]\n", 5, "unknown field 'extra'"),
        ("  - expect_state: [{balance: shop, amount: {eqq: 1}}]\n", 5, "comparison 'eqq'"),
        # Faults, their filters, and call counts
        (
            "  - inject:\n      processor.authorize:\n        - {outcome: declined, cod: x}\n",
            7,
            "unknown key 'cod' in processor.authorize fault",
        ),
        (
            "  - inject: {bank.transfer: [{outcome: timeout, when: {amont: INR 1.00}}]}\n",
            5,
            "unknown key 'amont' in `when` of bank.transfer; expected one of amount",
        ),
        ("  - inject: {sms.send: [{outcome: lost}]}\n", 5, "outcome 'lost' is not one of"),
        ("  - inject: {sms.send: [{outcome: delay, by: soon}]}\n", 5, "by: 'soon' is not a"),
        ("  - inject: {sms.send: [{outcome: timeout, times: 0}]}\n", 5, "times must be"),
        ("  - inject: {sms.send: {outcome: timeout}}\n", 5, "a list of faults"),
        ("  - expect_calls: {sms.send: {cuont: 1}}\n", 5, "unknown key 'cuont'"),
        (
            "  - expect_calls: {bank.transfer: {count: 1, with: {amont: INR 1.00}}}\n",
            5,
            "unknown key 'amont' in `with` of bank.transfer; expected one of amount, payment",
        ),
        ("  - expect_calls: {sms.send: {ge: 1}}\n", 5, "unknown key 'ge' in expect_calls"),
        ("  - expect_quiet: {for: 1h, forr: 2h}\n", 5, "unknown key 'forr' in expect_quiet"),
    ],
)
def test_lint_names_unknown_keys_inside_actions_matchers_probes_and_faults(
    tmp_path: Path, steps: str, line: int, problem: str
) -> None:
    path = write(tmp_path, BASE + steps)
    problems = lint(path)
    assert any(p.line == line and problem in p.problem for p in problems), problems
    # The schema editors validate with agrees: the same file is refused there too.
    assert not schema_accepts(path)


@pytest.mark.parametrize(
    ("top", "line", "problem"),
    [
        ('clock: {start: "2026-03-01T10:00:00+05:30", strat: x}\n', 2, "'strat' in clock"),
        ("given:\n  shop: {payments: {bank: HDFC Bank, acount: 1}}\n", 3, "'acount'"),
    ],
)
def test_lint_names_unknown_keys_in_clock_and_given(
    tmp_path: Path, top: str, line: int, problem: str
) -> None:
    path = write(tmp_path, "version: 1\n" + top + BASE.removeprefix("version: 1\n"))
    path.write_text(path.read_text() + "  - shop: hi\n")
    problems = lint(path)
    assert any(p.line == line and problem in p.problem for p in problems), problems
    assert not schema_accepts(path)


def test_lint_names_what_a_schema_cannot_know(tmp_path: Path) -> None:
    # A parameter the partial does not take, a `together` entry keyed by no party: both read
    # fine to a schema, which knows neither the partial nor the parties.
    (tmp_path / "p.partial.yaml").write_text(
        "version: 1\nparams: [who]\nsteps:\n  - ${who}: {tap: {lable: x}}\n"
    )
    path = write(
        tmp_path,
        BASE + "  - include: p.partial.yaml\n    with: {who: shop, whoo: shop}\n"
        "  - together: [{shop: hi, shpo: hi}]\n",
    )
    problems = {(p.file.rsplit("/", 1)[-1], p.line, p.problem) for p in lint(path)}
    assert (
        "x.convo.yaml",
        6,
        "include p.partial.yaml: unknown parameter 'whoo'; its params: who",
    ) in problems
    assert ("x.convo.yaml", 7, "together: 'shpo' is not a declared party") in problems
    assert any(f == "p.partial.yaml" and n == 4 and "'lable'" in p for f, n, p in problems)


def test_durations_combine_units_wherever_a_duration_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE + "  - advance: 23h59m\n  - expect_quiet: {for: 1h30m}\n"
        "  - inject: {processor.authorize: [{outcome: delay, by: 1m30s}]}\n"
        "  - shop: {tap: {label_contains: x, nth: 2}}\n"
        "  - expect_calls: {processor.authorize: {count: {ge: 0}, with: {amount: INR 1.00}}}\n",
    )
    assert lint(path) == []
    assert schema_accepts(path)


def test_lint_prints_each_problem_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `file:line: problem` is what editors and grep read; a problem wrapped at the console's
    # width would lose its tail.
    path = write(
        tmp_path, BASE + "  - shop: hi\n    expect: {shop: [{says: help, contians: y}]}\n"
    )
    assert main(["lint", str(path)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{path}:6: unknown matcher 'contians'")
    assert first.endswith("regex, save, says, text")


AMOUNT = Money.of("INR 1.00")
EXAMPLES = {
    "amount": "INR 1.00",
    "payment": "TX-LINT",
    "bank": "HDFC Bank",
    "phone": "+919812345678",
}
RAIL_CALLS: dict[str, Callable[[Rails, Tx], Any]] = {
    "processor.authorize": lambda r, tx: r.processor.authorize(tx, "TX-LINT", "tok", AMOUNT),
    "processor.status": lambda r, tx: r.processor.status(tx, "TX-LINT"),
    "processor.refund": lambda r, tx: r.processor.refund(tx, "TX-LINT", "tok", AMOUNT),
    "bank.accounts": lambda r, tx: r.banks.accounts(tx, "+919812345678", "HDFC Bank", "INR"),
    "bank.transfer": lambda r, tx: r.banks.transfer(tx, "TX-LINT", "a", "b", AMOUNT),
    "bank.refund": lambda r, tx: r.banks.refund(tx, "TX-LINT", "a", "b", AMOUNT),
    "sms.send": lambda r, _: r.sms.send("+919812345678", "bank_verification"),
}


async def test_the_call_fields_lint_accepts_are_the_rails_own(world: World) -> None:
    # lint refuses `when:` and `with:` keys outside spec.CALL_WHEN / CALL_WITH; they must be
    # what the simulated rails really filter faults by and log.
    assert set(RAIL_CALLS) == set(CALL_NAMES) == set(CALL_WHEN) == set(CALL_WITH)
    rails = world.rails
    for name, call in RAIL_CALLS.items():
        for field in CALL_WHEN[name]:
            rails.injections.queue(name, Fault("ok", when={field: EXAMPLES[field]}))
            await world.store.run(partial(call, rails))
            assert rails.injections.unconsumed() == [], f"{name} is not filtered by {field}"
        assert set(rails.log.calls[-1][1]) == CALL_WITH[name], name


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


@pytest.mark.parametrize("option", ["--junitxml", "--html", "--coverage-json", "--coverage-md"])
def test_a_report_that_cannot_be_written_stops_before_the_run(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["test", option, "/no/such/folder/report.xml"])
    assert stop.value.code == 2
    assert "cannot write /no/such/folder/report.xml" in capsys.readouterr().err
    # a folder named where the file goes (a traceback after the whole run before)
    with pytest.raises(SystemExit) as stop:
        main(["test", option, str(tmp_path)])
    assert stop.value.code == 2
    assert f"cannot write {tmp_path}: it is a folder" in capsys.readouterr().err


def test_a_party_locale_must_be_an_installed_language(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('43210"}', '43210", locale: pt_PT}') + "  - shop: hi\n")
    assert "locale: pt_PT" in path.read_text()
    problems = lint(path)
    assert any("locale must be one of en, bn, en_XA, hi, pt_BR" in p.problem for p in problems)
    assert not schema_accepts(path)


def test_the_schema_lists_the_installed_languages() -> None:
    from bot.catalogs import catalog_locales

    party = SCHEMA["properties"]["parties"]["additionalProperties"]["properties"]
    assert sorted(party["locale"]["enum"]) == sorted(catalog_locales())

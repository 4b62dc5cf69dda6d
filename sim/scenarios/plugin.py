"""A pytest plugin: every `*.convo.yaml` is collected, one test per case (parametrize row).

Registered as the `paychat` pytest11 entry point, so `pytest` in any project with PayChat
installed runs scenario files beside unit tests. Options: `--paychat-config` (default
`config.yaml` in the rootdir), `--paychat-artifacts` (where failing transcripts go) and
`--paychat-via` (`simulator`, `telegram` through the real adapter and the Bot API emulator, or
`both`: each case twice; a case the transport cannot run is reported skipped, with why);
`--paychat-storage` (a PostgreSQL URL: every case in a fresh schema there).
`--paychat-coverage` (with `-json FILE`, `-md FILE`, `--paychat-fail-under N`) reports the flow
coverage of the scenario files and the tests written with `paychat_world` (not of other unit
tests), merged over pytest-xdist's workers: each
worker sends its own to the controller when it finishes (`workeroutput`), which reports once.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Generator, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from core.settings import Settings, load_settings
from sim.coverage import BELOW_FAIL_UNDER, Coverage, Summary, recording, summarise
from sim.coverage_report import markdown, print_table, write_json
from sim.errors import SimError
from sim.scenarios.loader import Case, ScenarioError, cases
from sim.scenarios.python_api import ConvoWorld
from sim.scenarios.runner import run_case


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paychat")
    group.addoption("--paychat-config", default=None, help="config.yaml for scenarios")
    group.addoption(
        "--paychat-artifacts",
        default="artifacts/scenarios",
        help="folder for the transcripts of failing scenarios",
    )
    group.addoption(
        "--paychat-coverage",
        action="store_true",
        help="flow coverage of the scenarios: which transitions of each flow and which "
        "message keys they exercised (merged over pytest-xdist workers)",
    )
    group.addoption(
        "--paychat-coverage-json", metavar="FILE", help="also write the coverage as JSON"
    )
    group.addoption(
        "--paychat-coverage-md",
        metavar="FILE",
        help="also write the flows' diagrams with the transitions never exercised marked",
    )
    group.addoption(
        "--paychat-fail-under",
        type=float,
        metavar="N",
        help="exit 6 when every test passed but the scenarios exercised fewer than N%% of "
        "the flows' transitions",
    )
    group.addoption(
        "--paychat-via",
        choices=["simulator", "telegram", "both"],
        default="simulator",
        help="run each scenario in the simulator, through the Telegram adapter, or both",
    )
    group.addoption(
        "--paychat-storage",
        default=":memory:",
        metavar="URL",
        help="the database of each case: in-memory SQLite (the default), or a PostgreSQL URL "
        "(each case in a fresh schema there)",
    )


_COVERAGE = pytest.StashKey[Coverage]()
_SUMMARY = pytest.StashKey[Summary]()
_WORKER_KEY = "paychat_coverage"


def _wants_coverage(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--paychat-coverage")
        or config.getoption("--paychat-coverage-json")
        or config.getoption("--paychat-coverage-md")
        or config.getoption("--paychat-fail-under") is not None
    )


def pytest_configure(config: pytest.Config) -> None:
    if _wants_coverage(config):
        config.stash[_COVERAGE] = Coverage()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, on the controller
def pytest_testnodedown(node: Any, error: Any) -> None:
    found = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if found is not None and _COVERAGE in node.config.stash:
        node.config.stash[_COVERAGE].merge(Coverage.from_json(found))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _COVERAGE not in config.stash:
        return
    coverage = config.stash[_COVERAGE]
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller merges and reports
        config.workeroutput[_WORKER_KEY] = coverage.to_json()
        return
    summary = config.stash[_SUMMARY] = summarise(coverage)
    floor = config.getoption("--paychat-fail-under")
    if floor is not None and summary.percent < floor and session.exitstatus == 0:
        session.exitstatus = BELOW_FAIL_UNDER


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _SUMMARY not in config.stash:
        return
    summary = config.stash[_SUMMARY]
    text = io.StringIO()
    out = Console(file=text, width=terminalreporter._tw.fullwidth, force_terminal=False)
    print_table(summary, out)
    floor = config.getoption("--paychat-fail-under")
    if floor is not None and summary.percent < floor:
        out.print(f"flow coverage {summary.percent:.1f}% is below --paychat-fail-under {floor:g}%")
    terminalreporter.write(text.getvalue())
    if path := config.getoption("--paychat-coverage-json"):
        write_json(summary, Path(path))
    if path := config.getoption("--paychat-coverage-md"):
        Path(path).write_text(markdown(config.stash[_COVERAGE]), encoding="utf-8")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    if file_path.name.endswith(".convo.yaml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailure(SimError):
    """A case failed; the message is its report."""


_SETTINGS: dict[str, Settings] = {}


def _settings(config: pytest.Config) -> Settings:
    path = config.getoption("--paychat-config") or str(config.rootpath / "config.yaml")
    if path not in _SETTINGS:
        _SETTINGS[path] = load_settings(path)
    return _SETTINGS[path]


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            found = cases(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        chosen = self.config.getoption("--paychat-via")
        transports = ["simulator", "telegram"] if chosen == "both" else [chosen]
        for case in found:
            for via in transports:
                name = case.id if via == "simulator" else f"{case.id} [{via}]"
                item = ScenarioItem.from_parent(self, name=name, case=case, via=via)
                for tag in _tags(case):
                    self.config.addinivalue_line("markers", f"{tag}: scenario tag")
                    item.add_marker(tag)
                yield item


def _tags(case: Case) -> list[str]:
    from sim.scenarios.loader import load_yaml

    doc = load_yaml(case.path)
    return [str(t) for t in (doc.get("tags") or []) if str(t).isidentifier()]


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: Case, via: str = "simulator", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.via = via

    def runtest(self) -> None:
        artifacts = Path(self.config.getoption("--paychat-artifacts"))
        coverage = self.config.stash.get(_COVERAGE, None)
        storage = self.config.getoption("--paychat-storage")
        settings = _settings(self.config)
        with recording(coverage) if coverage is not None else nullcontext():
            result = asyncio.run(run_case(self.case, settings, artifacts, self.via, db=storage))
        if result.skipped:
            pytest.skip(result.skipped)
        if not result.passed:
            raise ScenarioFailure(result.report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.case.id} ({self.via})"


def _transports(config: pytest.Config) -> list[str]:
    chosen = str(config.getoption("--paychat-via"))
    return ["simulator", "telegram"] if chosen == "both" else [chosen]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test written with `paychat_world` runs on each transport `--paychat-via` names, as a
    scenario file does."""
    if "paychat_world" in metafunc.fixturenames:
        transports = _transports(metafunc.config)
        metafunc.parametrize("paychat_world", transports, indirect=True, ids=transports)


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def paychat_world(request: pytest.FixtureRequest) -> Iterator[ConvoWorld]:
    """A scenario in Python (sim/scenarios/python_api.py): the world of a `*.convo.yaml`
    (parties, given, clock, faults, probes) and its matchers, run by the same runner. After a
    test that passed, the last step runs and every injected fault must have fired."""
    via = getattr(request, "param", None) or _transports(request.config)[0]
    coverage = request.config.stash.get(_COVERAGE, None)  # a Python scenario counts too
    with recording(coverage) if coverage is not None else nullcontext():
        world = ConvoWorld(_settings(request.config), via, request.node.name)
        try:
            yield world
            if not request.node.stash.get(_FAILED, False):
                world.finish()
        finally:
            world.close()

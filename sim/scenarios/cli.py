"""`paychat test` and `paychat lint`: scenario files from the command line."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from core.settings import Settings
from sim.coverage import BELOW_FAIL_UNDER, Coverage, recording
from sim.coverage_report import outputs
from sim.scenarios.lint import lint
from sim.scenarios.loader import Case, ScenarioError, cases, load_yaml
from sim.scenarios.runner import CaseResult
from sim.scenarios.suite import run_suite

NOTHING_RUN = 5  # pytest's exit code when it collected no tests


def scenario_files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths or ["tests/scenarios"]:
        path = Path(raw)
        if path.is_dir():
            found += sorted(path.rglob("*.convo.yaml"))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{raw}: no such file or folder")
    return found


def _selected(case: Case, keyword: str | None, tags: list[str]) -> bool:
    if keyword:
        text = f"{case.path} {case.id}".lower()
        words = keyword.lower()
        if words.startswith("not "):
            if words[4:].strip() in text:
                return False
        elif words not in text:
            return False
    if tags:
        doc_tags = {str(t) for t in (load_yaml(case.path).get("tags") or [])}
        return bool(doc_tags & set(tags))
    return True


def run_lint(paths: list[str], console: Console) -> int:
    problems: list[ScenarioError] = []
    files = scenario_files(paths)
    if not files:
        console.print(f"no *.convo.yaml in {' '.join(paths)}", highlight=False)
        return NOTHING_RUN
    for path in files:
        problems += lint(path)
    for problem in problems:
        # One line each, however wide the terminal: editors and grep read `file:line: problem`.
        console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


@dataclass(frozen=True)
class Reports:
    """What `paychat test` produces besides its own lines: flow coverage (a table; JSON;
    the diagrams marked; a floor below which the run fails) and the HTML report."""

    coverage: bool = False
    coverage_json: str | None = None
    coverage_md: str | None = None
    fail_under: float | None = None
    html: str | None = None

    @property
    def wants_coverage(self) -> bool:
        return (
            self.coverage
            or bool(self.coverage_json or self.coverage_md)
            or (self.fail_under is not None)
        )


def run_tests(
    settings: Settings,
    paths: list[str],
    console: Console,
    keyword: str | None,
    tags: list[str],
    first_failure: bool,
    junitxml: str | None,
    artifacts: str,
    via: str = "simulator",
    reports: Reports | None = None,
    storage: str = ":memory:",
) -> int:
    reports = reports or Reports()
    all_cases: list[Case] = []
    for path in scenario_files(paths):
        try:
            all_cases += [c for c in cases(path) if _selected(c, keyword, tags)]
        except ScenarioError as exc:
            console.print(str(exc), markup=False)
            return 2
    if not all_cases:
        # A mistyped path or filter must not pass in CI as "0 failed".
        console.print(f"no scenario selected in {' '.join(paths)}", highlight=False)
        return NOTHING_RUN
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("scenarios", total=len(all_cases))
        coverage = Coverage()
        with recording(coverage) if reports.wants_coverage else nullcontext(coverage):
            results = asyncio.run(
                run_suite(
                    all_cases,
                    settings,
                    artifacts=Path(artifacts),
                    via=via,
                    db=storage,
                    stop_after_failure=first_failure,
                    done=lambda _: progress.advance(task),
                )
            )
    elapsed = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    skipped = [r for r in results if r.skipped]
    for result in results:
        if result.skipped:
            mark = f"[yellow]SKIPPED[/yellow] [dim]({escape(result.skipped)})[/dim]"
        elif result.passed:
            mark = f"[green]PASSED[/green] [dim]{result.seconds * 1000:.0f} ms[/dim]"
        else:
            mark = f"[red]FAILED[/red] [dim]{result.seconds * 1000:.0f} ms[/dim]"
        console.print(f"{escape(str(result.case.path))}::{escape(result.case.id)} {mark}")
    for result in failed:
        console.rule(f"[red]{escape(result.case.id)}")
        console.print(result.report, markup=False, highlight=False)
    if junitxml:
        _junit(results, junitxml, elapsed)
    if reports.html:
        from sim.scenarios.html_report import write_html

        write_html(results, reports.html, elapsed, via)
    below = reports.wants_coverage and _below_floor(coverage, console, reports)
    rate = len(results) / elapsed if elapsed else 0.0
    passed = len(results) - len(failed) - len(skipped)
    console.print(f"[dim]{rate:.1f} scenarios/s, {elapsed:.2f}s[/dim]")
    console.print(
        f"{passed} passed, {len(failed)} failed"
        + (f", {len(skipped)} skipped" if skipped else ""),
        highlight=False,
    )
    return 1 if failed else BELOW_FAIL_UNDER if below else 0


def _below_floor(coverage: Coverage, console: Console, reports: Reports) -> bool:
    """Show the coverage, write its files; whether it is below --fail-under."""
    summary = outputs(coverage, console, reports.coverage_json, reports.coverage_md)
    if reports.fail_under is None or summary.percent >= reports.fail_under:
        return False
    console.print(
        f"[red]flow coverage {summary.percent:.1f}% is below --fail-under "
        f"{reports.fail_under:g}%[/red]"
    )
    return True


def _junit(results: list[CaseResult], path: str, elapsed: float) -> None:
    suite = ET.Element(
        "testsuite",
        name="paychat-scenarios",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        skipped=str(sum(bool(r.skipped) for r in results)),
        time=f"{elapsed:.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(result.case.path),
            name=result.case.id,
            time=f"{result.seconds:.3f}",
        )
        if result.skipped:
            ET.SubElement(case, "skipped", message=result.skipped)
        elif not result.passed:
            failure = ET.SubElement(case, "failure", message=result.report.splitlines()[0])
            failure.text = result.report
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


async def rate(settings: Settings, paths: list[str]) -> tuple[int, float]:
    """Scenarios run and seconds taken, for the benchmark."""
    all_cases = [c for p in scenario_files(paths) for c in cases(p)]
    started = time.perf_counter()
    results = await run_suite(all_cases, settings)
    seconds = time.perf_counter() - started
    for result in results:
        if not result.passed:
            raise RuntimeError(f"scenario failed during the benchmark: {result.case.id}")
    return len(results), seconds

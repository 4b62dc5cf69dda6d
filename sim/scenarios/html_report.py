"""`paychat test --html FILE`: one self-contained HTML file (inline CSS, no script, nothing
fetched) with every case, its status and time, and each case's conversation as chat bubbles,
one column per party: what a party did on the right of its column, what it was sent on the
left (buttons, edits, deletes, toasts, SMS). A failing step is outlined, with what was expected
and what came instead, and the state the probes read at that moment.

Everything shown goes through the text report's masking (`report.mask`: card numbers, and every
code-like number in an SMS); typed PINs, cards and codes are already out of the transcript
(`[PIN entered]`, `[deleted message]`). The template autoescapes: transcript text is what
people typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sim.scenarios.report import mask
from sim.scenarios.runner import CaseResult, StepLog
from sim.simulator import SeenEvent

_ACTION = re.compile(r"^> (?P<party>[^:]+): (?P<shown>.*)$")


@dataclass
class Bubble:
    kind: str  # action, send, edit, delete, toast, sms
    text: str
    key: str = ""
    buttons: list[list[str]] = field(default_factory=list)


@dataclass
class StepView:
    where: str
    notes: list[str]
    columns: dict[str, list[Bubble]]
    failed: bool = False


@dataclass
class CaseView:
    id: str
    path: str
    status: str  # passed, failed, skipped
    ms: float
    why_skipped: str
    steps: list[StepView]
    failure: str = ""
    state: list[str] = field(default_factory=list)
    report: str = ""


def _bubble(event: SeenEvent) -> Bubble:
    sms = event.channel == "sms"
    return Bubble(
        "sms" if sms else event.kind,
        mask(event.text, sms),
        event.key,
        [[b.label for b in row] for row in event.buttons],
    )


def _step(log: StepLog, parties: list[str], failed: bool) -> StepView:
    columns: dict[str, list[Bubble]] = {p: [] for p in parties}
    notes = []
    for line in log.lines:
        action = _ACTION.match(line)
        if action and action["party"] in columns:
            columns[action["party"]].append(Bubble("action", mask(action["shown"])))
        else:
            notes.append(mask(line.lstrip("#~ ").strip()))
    for event in log.events:
        columns.setdefault(event.party, []).append(_bubble(event))
    return StepView(f"{Path(log.file).name}:{log.line}", notes, columns, failed)


def _parties(result: CaseResult) -> list[str]:
    acting = [a["party"] for log in result.log for line in log.lines if (a := _ACTION.match(line))]
    seeing = [e.party for log in result.log for e in log.events]
    return list(dict.fromkeys(acting + seeing))


def _case(result: CaseResult) -> CaseView:
    status = "skipped" if result.skipped else "passed" if result.passed else "failed"
    parties = _parties(result)
    failure = result.failure
    # The failing step: the last one run at the failure's file and line (a partial's step may
    # run several times).
    failed_at = -1
    if failure is not None:
        for index, log in enumerate(result.log):
            if (log.file, log.line) == (failure.file, failure.line):
                failed_at = index
    return CaseView(
        result.case.id,
        str(result.case.path),
        status,
        result.seconds * 1000,
        result.skipped,
        [_step(log, parties, i == failed_at) for i, log in enumerate(result.log)],
        mask(failure.message) if failure else "",
        [mask(line.strip()) for line in failure.state] if failure else [],
        mask(result.report) if not result.passed else "",
    )


def render_html(results: list[CaseResult], elapsed: float, via: str) -> str:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    views = [_case(r) for r in results]
    counts = {s: sum(v.status == s for v in views) for s in ("passed", "failed", "skipped")}
    return env.get_template("html_report.j2").render(
        cases=views,
        counts=counts,
        elapsed=elapsed,
        via=via,
        made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_html(results: list[CaseResult], path: str, elapsed: float, via: str) -> None:
    Path(path).write_text(render_html(results, elapsed, via), encoding="utf-8")

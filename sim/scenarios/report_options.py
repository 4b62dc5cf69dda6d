"""`paychat test`'s options for flow coverage and the HTML report (kept here so the CLI's own
module only adds them)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module at start-up; the runner only when it runs
    from sim.scenarios.cli import Reports


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 100")
    return value


def add_report_options(test: argparse.ArgumentParser, writable: Callable[[str], str]) -> None:
    group = test.add_argument_group("flow coverage and reports")
    group.add_argument(
        "--coverage",
        action="store_true",
        help="after the run, show which transitions of each flow (source, trigger, "
        "destination) and which message keys the cases exercised, and which never",
    )
    group.add_argument(
        "--coverage-json",
        type=writable,
        metavar="FILE",
        help="also write the coverage as JSON to FILE, for CI (implies --coverage)",
    )
    group.add_argument(
        "--coverage-md",
        type=writable,
        metavar="FILE",
        help="also write every flow's diagram (mermaid) to FILE with the transitions never "
        "exercised drawn red and dashed (implies --coverage)",
    )
    group.add_argument(
        "--fail-under",
        type=_percent,
        metavar="N",
        help="exit 6 when every case passed but fewer than N%% of the flows' transitions were "
        "exercised (implies --coverage)",
    )
    group.add_argument(
        "--html",
        type=writable,
        metavar="FILE",
        help="also write a self-contained HTML report to FILE: every case, its status and "
        "time, its chats as bubbles, a failing step's expected and actual",
    )


def reports_of(args: argparse.Namespace) -> Reports:
    from sim.scenarios.cli import Reports

    return Reports(
        coverage=args.coverage,
        coverage_json=args.coverage_json,
        coverage_md=args.coverage_md,
        fail_under=args.fail_under,
        html=args.html,
    )

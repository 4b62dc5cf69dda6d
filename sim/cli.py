"""`paychat`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from core.errors import ConfigError, PayChatError
from core.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl+C: stop as a shell tool does, without a traceback. Every unit of work is one
        # transaction, so what was committed stays and nothing is half-written.
        print("paychat: interrupted", file=sys.stderr)
        return 130
    except PayChatError as exc:
        # The tree's root (core/errors.py): a store that cannot be opened, a Bot API that cannot
        # be used. One line and exit 2, as for a bad configuration; never a traceback.
        print(f"paychat: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="paychat", description="PayChat: chat payments.")
    parser.add_argument("--config", default="config.yaml", help="path to config.yaml")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play the showcase conversation offline")
    demo.add_argument("--db", default=".paychat/demo.db")
    chat = sub.add_parser("chat", help="interactive multi-party simulator")
    chat.add_argument("--db", default=".paychat/chat.db")
    chat.add_argument("--fresh", action="store_true", help="start from an empty database")
    sub.add_parser("check-config", help="validate config.yaml and exit")
    test = sub.add_parser("test", help="run conversation scenarios (*.convo.yaml)")
    test.add_argument("paths", nargs="*", default=["tests/scenarios"])
    test.add_argument("-k", dest="keyword", help="only cases whose file or name has this text")
    test.add_argument("--tag", action="append", default=[], help="only scenarios with a tag")
    test.add_argument("-x", dest="first_failure", action="store_true", help="stop at a failure")
    test.add_argument("--junitxml", type=_writable, help="write a JUnit XML report here")
    test.add_argument(
        "--via",
        choices=["simulator", "telegram"],
        default="simulator",
        help="run in-process, or through the Telegram adapter and the emulator",
    )
    test.add_argument(
        "--artifacts",
        default="artifacts/scenarios",
        help="folder for the transcripts of failing scenarios",
    )
    sub.add_parser("diagrams", help="write each flow's state diagram to docs/flows.md")
    bench = sub.add_parser("bench", help="the performance benchmark")
    bench.add_argument("--conversations", type=_whole(1, 100_000), default=1000)
    bench.add_argument(
        "--payments", type=_whole(1, 1000), default=3, help="payments per conversation"
    )
    bench.add_argument("--durability", choices=["normal", "full"], default="normal")
    bench.add_argument(
        "--idle",
        type=_whole(0, 10_000_000),
        default=100_000,
        help="conversations started and left idle for the memory figure",
    )
    bench.add_argument(
        "--pin-cost",
        type=_whole(1, 20),
        default=None,
        help="scrypt cost (log2 N) for the PINs, 1-20; default: config.yaml's",
    )
    bench.add_argument(
        "--no-scenarios", action="store_true", help="skip the scenarios-per-second figure"
    )
    bench.add_argument(
        "--latency-seconds",
        type=_seconds,
        default=10.0,
        help="how long the open-loop latency phase runs",
    )
    bench.add_argument("--json", type=_writable, help="also write the figures as JSON here")
    tg = sub.add_parser("telegram", help="run the bot on Telegram (token: TELEGRAM_BOT_TOKEN)")
    tg.add_argument("--base-url", help="a local Bot API server, e.g. http://127.0.0.1:8081/bot")
    tg.add_argument("--webhook", metavar="URL", help="receive updates by webhook at this URL")
    tg.add_argument("--listen", default="127.0.0.1", help="webhook: address to listen on")
    tg.add_argument("--port", type=int, default=8443, help="webhook: port to listen on")
    tg.add_argument("--secret", help="webhook: the secret token Telegram sends back")
    emu = sub.add_parser("emulator", help="a local Telegram Bot API emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8081)
    emu.add_argument("--token", default="123456:EMULATOR")
    lint = sub.add_parser("lint", help="check scenario files without running them")
    lint.add_argument("paths", nargs="*", default=["tests/scenarios"])
    args = parser.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"paychat: bad configuration\n{exc}", file=sys.stderr)
        return 2
    console = Console(width=None if sys.stdout.isatty() else 120)
    if args.command == "check-config":
        console.print(f"{args.config}: OK ({', '.join(settings.markets)})")
        return 0
    if args.command == "demo":
        from sim.demo import run_demo

        return asyncio.run(run_demo(settings, Path(args.db), console))
    if args.command == "telegram":
        from bot.telegram_main import run_bot

        return asyncio.run(
            run_bot(
                settings, console, args.base_url, args.webhook, args.listen, args.port, args.secret
            )
        )
    if args.command == "emulator":
        from sim.emulator import run_emulator

        return run_emulator(
            console, args.host, args.port, args.token, settings.telegram.bot_username
        )
    if args.command == "bench":
        from sim.bench import report, run

        result = asyncio.run(
            run(
                settings,
                args.conversations,
                args.payments,
                args.durability,
                args.idle,
                args.pin_cost,
                not args.no_scenarios,
                args.latency_seconds,
            )
        )
        # Through the console, which ends quietly if the reader goes away (`| head`).
        console.out(report(result, args.json), highlight=False)
        return 0
    if args.command == "diagrams":
        from sim.diagrams import write

        changed = write(Path("docs/flows.md"))
        console.print("docs/flows.md " + ("written" if changed else "is up to date"))
        return 0
    if args.command in ("test", "lint"):
        from sim.scenarios.cli import run_lint, run_tests

        try:
            if args.command == "lint":
                return run_lint(args.paths, console)
            return run_tests(
                settings,
                args.paths,
                console,
                args.keyword,
                args.tag,
                args.first_failure,
                args.junitxml,
                args.artifacts,
                args.via,
            )
        except FileNotFoundError as exc:
            print(f"paychat: {exc}", file=sys.stderr)
            return 2
    if args.command == "chat":
        from sim.repl import run_repl

        return run_repl(settings, Path(args.db), console, fresh=args.fresh)
    return _unreachable(settings)


def _unreachable(settings: Settings) -> int:
    raise AssertionError("argparse accepted an unknown command")


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number within [low, high], or a clear error (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _writable(text: str) -> str:
    """An argparse type: a file to write at the end of a long run, checked before the run."""
    folder = Path(text).parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: no folder {folder}")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {folder} is not writable")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 3600 seconds")
    return value


if __name__ == "__main__":
    sys.exit(main())

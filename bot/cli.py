"""`paychat`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rich.console import Console

from bot.config import ConfigError, Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="paychat", description="PayChat: chat payments.")
    parser.add_argument("--config", default="config.yaml", help="path to config.yaml")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play the showcase conversation offline")
    demo.add_argument("--db", default=".paychat/demo.db")
    chat = sub.add_parser("chat", help="interactive multi-party simulator")
    chat.add_argument("--db", default=".paychat/chat.db")
    chat.add_argument("--fresh", action="store_true", help="start from an empty database")
    sub.add_parser("check-config", help="validate config.yaml and exit")
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
        from bot.demo import run_demo

        asyncio.run(run_demo(settings, Path(args.db), console))
        return 0
    if args.command == "chat":
        from bot.repl import run_repl

        return asyncio.run(run_repl(settings, Path(args.db), console, fresh=args.fresh))
    return _unreachable(settings)


def _unreachable(settings: Settings) -> int:
    raise AssertionError("argparse accepted an unknown command")


if __name__ == "__main__":
    sys.exit(main())

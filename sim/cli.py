"""`paychat`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from core.errors import ConfigError, PayChatError
from core.settings import Settings, load_settings
from sim.scenarios.report_options import add_report_options, reports_of


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl+C: stop as a shell tool does, without a traceback. Every unit of work is one
        # transaction, so what was committed stays and nothing is half-written.
        print("paychat: interrupted", file=sys.stderr)
        return 130
    except ConfigError as exc:  # found when the engine is built (a language without templates)
        return _bad_config(exc)
    except PayChatError as exc:
        # The tree's root (core/errors.py): a store that cannot be opened, a Bot API that cannot
        # be used. One line and exit 2, as for a bad configuration; never a traceback.
        print(f"paychat: {exc}", file=sys.stderr)
        return 2


# `--config` is read before the command and after it (`paychat test --config x.yaml`): each
# command takes it too, without a default of its own, so the one given last wins and an absent
# one leaves the top level's default alone.
_CONFIG_HELP = (
    "the configuration (markets, security, payments, storage, telegram) to load and validate "
    "first; default: config.yaml in the current folder. It may come before or after the command"
)
_TELEGRAM = """Run the bot on Telegram: long polling, or a webhook with --webhook.

environment:
  TELEGRAM_BOT_TOKEN  the bot's token from @BotFather (required)
  PAYCHAT_SECRET_KEY  the key that seals secrets at rest; else the key file
                      PAYCHAT_KEY_FILE names, else ~/.config/paychat/secret.key,
                      never beside the database (README, What protects what)
  PAYCHAT_DATABASE_URL
                      the database, over storage.url and storage.path:
                      postgresql://user@host/db, or a SQLite file

database:
  the SQLite file at storage.path in the configuration (--config; the shipped
  config.yaml says paychat.db, in the folder the bot starts in), created on
  first start, or PostgreSQL when storage.url (or PAYCHAT_DATABASE_URL) is
  postgresql://...: several workers may share it. Conversations, requests,
  payments, the ledger and the outbox live there, so a restart resumes them."""


class _Help(argparse.HelpFormatter):
    """Paragraphs are filled to the terminal's width; indented lines (the environment and
    database sections) are kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            line
            if not line or line[0].isspace()
            else textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            for line in text.splitlines()
        )


def parser() -> argparse.ArgumentParser:
    """Every command and option, each with what it means (`paychat COMMAND --help`)."""
    top = argparse.ArgumentParser(
        prog="paychat",
        description="PayChat: chat payments, on Telegram and offline. "
        "`paychat COMMAND --help` explains each command.",
    )
    top.add_argument("--config", default="config.yaml", metavar="FILE", help=_CONFIG_HELP)
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help=_CONFIG_HELP)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=summary, description=description, parents=[config], formatter_class=_Help
        )

    demo = command(
        "demo",
        "play the showcase conversation offline",
        "Play the showcase scenario (tests/scenarios/showcase/whole_story.convo.yaml) offline "
        "and print every party's chat side by side.",
    )
    demo.add_argument(
        "--db",
        default=".paychat/demo.db",
        metavar="FILE",
        help="the SQLite file the demo writes: deleted (with its -wal and -shm) and created "
        "afresh at every run, 0600, its folder 0700 when created (default: %(default)s)",
    )
    demo.add_argument(
        "--lang",
        default="en",
        choices=["en", "pt_BR", "hi", "bn"],
        help="play the story in this language: pt_BR is a Brazilian bakery paid by Pix, hi "
        "and bn the Indian tea shop (default: %(default)s)",
    )
    chat = command(
        "chat",
        "interactive multi-party simulator",
        "An interactive, multi-party simulator: add parties, act as any of them, read their "
        "chats and SMS inboxes, move the virtual clock (:help at the prompt lists how). "
        ":quit, Ctrl+D or Ctrl+C ends it.",
    )
    chat.add_argument(
        "--db",
        default=".paychat/chat.db",
        metavar="FILE",
        help="the SQLite file the session lives in; kept between runs, so the parties and "
        "payments of earlier sessions are still there (default: %(default)s)",
    )
    chat.add_argument(
        "--fresh",
        action="store_true",
        help="delete --db (with its -wal and -shm) first: start from an empty database",
    )
    chat.add_argument(
        "--record",
        type=_writable,
        metavar="FILE",
        help="write the session as a scenario (FILE.convo.yaml) that `paychat test` replays; "
        "the session must start from an empty database (--fresh)",
    )
    command(
        "check-config",
        "validate the configuration and exit",
        "Load the configuration and validate every value: exit 0 when it is valid, 2 with the "
        "problems, each naming its key.",
    )
    test = command(
        "test",
        "run conversation scenarios (*.convo.yaml)",
        "Run conversation scenarios (the format: docs/scenarios.md). Exit 0 when all passed, 1 "
        "when a case failed, 2 for a bad argument or file, 5 when nothing was selected, 6 when "
        "every case passed but flow coverage was below --fail-under.",
    )
    test.add_argument(
        "paths",
        nargs="*",
        default=["tests/scenarios"],
        metavar="PATH",
        help="scenario files, or folders searched for *.convo.yaml (default: tests/scenarios)",
    )
    test.add_argument(
        "-k",
        dest="keyword",
        metavar="TEXT",
        help="only cases whose file or name contains TEXT ('not TEXT': all the others)",
    )
    test.add_argument(
        "--tag",
        action="append",
        default=[],
        help="only scenarios with this tag (repeat it for any of several)",
    )
    test.add_argument(
        "-x",
        dest="first_failure",
        action="store_true",
        help="stop at the first failing case: no case starts after one fails (those already "
        "running, up to 15 in the simulator, finish and are reported)",
    )
    test.add_argument(
        "--junitxml",
        type=_writable,
        metavar="FILE",
        help="also write a JUnit XML report to FILE (its folder must exist)",
    )
    test.add_argument(
        "--via",
        choices=["simulator", "telegram"],
        default="simulator",
        help="simulator: run in-process (the default); telegram: through the real Telegram "
        "adapter and the Bot API emulator over loopback",
    )
    test.add_argument(
        "--storage",
        type=_case_storage,
        default=":memory:",
        metavar="URL",
        help="postgresql://…: run every case on PostgreSQL, each in a fresh schema of its own "
        "(default: a fresh in-memory SQLite database per case)",
    )
    test.add_argument(
        "--artifacts",
        default="artifacts/scenarios",
        metavar="DIR",
        help="folder for the transcripts of failing cases (default: %(default)s)",
    )
    add_report_options(test, _writable)
    command(
        "migrate",
        "bring the database's schema up to date, then exit",
        "Apply the schema migrations the database (storage.url, storage.path or "
        "PAYCHAT_DATABASE_URL) has not seen, then exit. Workers do it on start as well; on "
        "PostgreSQL one migrates while the others wait.",
    )
    move = command(
        "migrate-data",
        "copy a SQLite database into an empty PostgreSQL one, checked",
        "Copy every row of a SQLite database into an empty PostgreSQL database (same sealing "
        "key: PAYCHAT_SECRET_KEY or the key file), then check row counts, that the ledger "
        "balances and that the newest payment reads the same on both. Exit 0 when it did, 2 "
        "when it could not (nothing is left half copied).",
    )
    move.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SQLITE",
        help="the SQLite database to copy: a path or sqlite:///path (left as it is)",
    )
    move.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the PostgreSQL database to fill: postgresql://…, migrated first, holding no data",
    )
    command(
        "diagrams",
        "write each flow's state diagram to docs/flows.md",
        "Write each flow's state diagram to docs/flows.md, and say whether it changed.",
    )
    bench = command(
        "bench",
        "the performance benchmark",
        "The performance benchmark (README, Performance): N concurrent two-party payment "
        "conversations through the engine on a SQLite file, as fast as replies come back, "
        "then at half that rate for latency; the storage ceiling; the memory of idle "
        "conversations; scenarios per second.",
    )
    bench.add_argument(
        "--conversations",
        type=_whole(1, 100_000),
        default=1000,
        metavar="N",
        help="concurrent conversations, 1-100000 (default: %(default)s)",
    )
    bench.add_argument(
        "--payments",
        type=_whole(1, 1000),
        default=3,
        metavar="M",
        help="payments per conversation, 1-1000 (default: %(default)s)",
    )
    bench.add_argument(
        "--durability",
        choices=["normal", "full"],
        default="normal",
        help="SQLite's synchronous setting for the run. normal: in WAL mode a power cut may "
        "lose the last commits, never corrupt the file; full: every commit is on disk before "
        "it is acknowledged (default: %(default)s)",
    )
    bench.add_argument(
        "--idle",
        type=_whole(0, 10_000_000),
        default=100_000,
        metavar="K",
        help="conversations started and left idle for the memory figure (default: %(default)s)",
    )
    bench.add_argument(
        "--pin-cost",
        type=_whole(1, 20),
        default=None,
        metavar="C",
        help="scrypt cost (log2 N) for the PINs, 1-20; default: the configuration's",
    )
    bench.add_argument(
        "--no-scenarios", action="store_true", help="skip the scenarios-per-second figure"
    )
    bench.add_argument(
        "--scenarios-only",
        action="store_true",
        help="only the scenarios-per-second figure: tests/scenarios in the simulator, in this "
        "process, once to warm up, then five timed passes; the median is the figure (at "
        "--pin-cost when given; --json writes every pass)",
    )
    bench.add_argument(
        "--latency-seconds",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="how long the open-loop latency phase runs, up to 3600 (default: %(default)s)",
    )
    bench.add_argument(
        "--json", type=_writable, metavar="FILE", help="also write the figures as JSON to FILE"
    )
    bench.add_argument(
        "--storage",
        metavar="URL",
        help="instead of the full benchmark: the payment conversations on this database "
        "(postgresql://…, in a fresh schema; or a SQLite path for comparison), shared by "
        "--workers processes, each with --conversations of its own",
    )
    bench.add_argument(
        "--workers",
        type=_whole(1, 64),
        default=1,
        metavar="N",
        help="with --storage: worker processes sharing the database (default: %(default)s)",
    )
    tg = command("telegram", "run the bot on Telegram (token: TELEGRAM_BOT_TOKEN)", _TELEGRAM)
    tg.add_argument(
        "--base-url",
        metavar="URL",
        help="a Bot API server other than Telegram's, e.g. `paychat emulator`'s "
        "http://127.0.0.1:8081/bot",
    )
    tg.add_argument(
        "--webhook",
        metavar="URL",
        help="receive updates by webhook at this URL (default: config.yaml's telegram.mode and "
        "webhook_url); its path is the one served",
    )
    tg.add_argument(
        "--listen",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="webhook: the address its server listens on (default: %(default)s)",
    )
    tg.add_argument(
        "--port",
        type=int,
        default=8443,
        help="webhook: the port its server listens on (default: %(default)s)",
    )
    tg.add_argument(
        "--secret",
        metavar="TOKEN",
        help="webhook: the secret token Telegram sends back with every update (1-256 of A-Z, "
        "a-z, 0-9, _, -); updates without it are refused. Without --secret a random one is "
        "generated at each start and given to Telegram, never shown: pass one only when a "
        "proxy in front checks it too",
    )
    emu = command(
        "emulator",
        "a local Telegram Bot API emulator",
        "A local Telegram Bot API, to run the bot offline: the Bot API at "
        "http://HOST:PORT/bot<token>/<method> and a control API at /control to act as users "
        "and to script faults (README, On Telegram). It prints both at start.",
    )
    emu.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the address to serve on (default: %(default)s)",
    )
    emu.add_argument(
        "--port", type=int, default=8081, help="the port to serve on (default: %(default)s)"
    )
    emu.add_argument(
        "--token",
        default="123456:EMULATOR",
        help="the one bot token it accepts; start the bot with the same TELEGRAM_BOT_TOKEN "
        "(default: %(default)s)",
    )
    emu.add_argument(
        "--duplicates",
        action="store_true",
        help="deliver every update twice, with the same update_id (Telegram delivers at least "
        "once)",
    )
    web = command(
        "web",
        "the simulator in a browser: phones side by side",
        "Serve the simulator as a page: one phone per party side by side, the clock, faults, "
        "the domain's state, scenarios played step by step, the session exported as a scenario "
        "(README, In a browser). Every "
        "asset is served from here; nothing is fetched from elsewhere.",
    )
    web.add_argument(
        "--db",
        default=".paychat/web.db",
        metavar="FILE",
        help="the SQLite file the world lives in; loading a scenario deletes it and starts "
        "afresh (default: %(default)s)",
    )
    web.add_argument("--scenario", metavar="FILE", help="start from this scenario (*.convo.yaml)")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the address to serve on (default: %(default)s)",
    )
    web.add_argument(
        "--port",
        type=_whole(0, 65535),
        default=8080,
        help="the port to serve on; 0 picks a free one (default: %(default)s)",
    )
    lint = command(
        "lint",
        "check scenario files without running them",
        "Check scenario files without running them: every key, parties, message keys, "
        "variables, includes. One `file:line: problem` a line; exit 0 when clean, 1 with "
        "problems, 5 when no file was found.",
    )
    lint.add_argument(
        "paths",
        nargs="*",
        default=["tests/scenarios"],
        metavar="PATH",
        help="scenario files, or folders searched for *.convo.yaml (default: tests/scenarios)",
    )
    return top


def _main(argv: list[str] | None) -> int:
    parser_ = parser()
    args = parser_.parse_args(argv)

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        return _bad_config(exc)
    console = Console(width=None if sys.stdout.isatty() else 120)
    if args.command == "check-config":
        from bot.runtime import check_settings

        check_settings(settings)  # what the engine would refuse at start: the templates
        console.print(f"{args.config}: OK ({', '.join(settings.markets)})")
        return 0
    if args.command == "demo":
        from sim.demo import SHOWCASES, run_demo

        return asyncio.run(run_demo(settings, Path(args.db), console, SHOWCASES[args.lang]))
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
            console,
            args.host,
            args.port,
            args.token,
            settings.telegram.bot_username,
            duplicates=args.duplicates,
        )
    if args.command == "bench" and args.scenarios_only:
        from sim.bench_scenarios import scenario_rate

        measured = asyncio.run(scenario_rate(settings, args.pin_cost))
        console.out(measured.line(), highlight=False)
        if args.json:
            measured.save(args.json)
        return 0
    if args.command == "bench" and args.storage:
        from sim.bench_workers import report as report_workers
        from sim.bench_workers import run_workers

        shared = asyncio.run(
            run_workers(
                settings,
                args.storage,
                args.workers,
                args.conversations,
                args.payments,
                args.config,
            )
        )
        console.out(report_workers(shared), highlight=False)
        return 0
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
    if args.command == "migrate":
        from core.errors import StorageError
        from storage.opening import migrate

        try:
            done = asyncio.run(migrate(settings.storage.database()))
            console.print(done, highlight=False, soft_wrap=True)
        except StorageError as exc:
            print(f"paychat migrate: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "migrate-data":
        from sim.migrate_data import run_migrate_data

        return run_migrate_data(args.source, args.target, console)
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
                reports_of(args),
                args.storage,
            )
        except FileNotFoundError as exc:
            print(f"paychat: {exc}", file=sys.stderr)
            return 2
    if args.command == "web":
        from sim.web.server import run_web

        scenario = Path(args.scenario) if args.scenario else None
        return run_web(settings, Path(args.db), scenario, args.host, args.port)
    if args.command == "chat":
        from sim.repl import run_repl

        record = Path(args.record) if args.record else None
        return run_repl(settings, Path(args.db), console, fresh=args.fresh, record=record)
    return _unreachable(settings)


def _bad_config(exc: ConfigError) -> int:
    for problem in str(exc).splitlines():  # one line a problem, each naming its key
        print(f"paychat: bad configuration: {problem}", file=sys.stderr)
    return 2


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
    if Path(text).is_dir():  # found only at the end of the run otherwise, as a traceback
        raise argparse.ArgumentTypeError(f"cannot write {text}: it is a folder; name a file")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: no folder {folder}")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {folder} is not writable")
    return text


def _case_storage(text: str) -> str:
    """An argparse type: where scenario cases run; one shared SQLite file would let cases see
    each other's rows, so only PostgreSQL (a schema per case) or the in-memory default."""
    if text == ":memory:" or text.startswith(("postgresql://", "postgres://")):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a postgresql:// URL")


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

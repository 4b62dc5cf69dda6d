"""`paychat chat`: act as any party, see every chat and SMS inbox, move the clock."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import re
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from bot import qr
from bot.catalogs import catalog_locales
from core.clock import SecureIds
from core.languages import autonym
from core.records import User
from core.settings import Settings
from sim.app import session
from sim.errors import SimError
from sim.recorder import Recorder
from sim.repl_seeding import fault_spec, given_spec
from sim.scenarios.loader import ScenarioError
from sim.scenarios.report import mask
from sim.scenarios.spec import LONGEST, duration
from sim.scenarios.world import World, seed
from sim.simulator import Simulator, TapError
from sim.view import chat_panel, side_by_side
from storage.base import Store
from storage.rails_rows import TxWithRails
from storage.sqlite import remove_database

HELP = """Anything you type is sent as the current party (a /command or text). Simulator commands:
  :new NAME PHONE [SHOWN NAME]   add a party, e.g.  :new asha +919812345678 Asha
  :party NAME ROLE PHONE [SHOWN NAME]   add a party already signed up (business|customer)
  :given NAME KEY=VALUE ...      seed it: pin=2580 bank="HDFC Bank" biometric=true
                                 card="4242 4242 4242 4242" expiry=12/30 upi=asha@okhdfc ...
  :as NAME                       act as NAME
  :tap N | :tap ID               tap a button by its number (on the newest buttons) or its id
  :contact [PHONE]               share your own contact, or someone else's
  :pin 2580                      enter a PIN (never shown)
  :link URL                      open a payment link
  :paycode TEXT                  your bank app scans or pastes a payment code (Pix, UPI, PayNow)
  :bio approve|refuse            answer a biometric prompt
  :advance 1h                    move the clock (s, m, h, d); due jobs fire
  :inject CALL OUTCOME [CODE|BY] [times=N]   queue a fault, e.g.
                                 :inject processor.authorize declined insufficient_funds
  :lang pt_BR                    switch your language (as /language does; en_XA to test)
  :sms [NAME]                    read an SMS inbox
  :code                          type the code of your newest SMS (scripts cannot know it)
  :show [NAME]   :all            a chat, or every chat side by side
  :parties   :help   :quit"""

# What each command needs: its arguments (how many, and how to write them), and whether it acts
# as the current party.
_USAGE = {
    "new": (2, ":new NAME PHONE [SHOWN NAME]"),
    "as": (1, ":as NAME"),
    "tap": (1, ":tap N | :tap ID"),
    "pin": (1, ":pin 2580"),
    "link": (1, ":link URL"),
    "paycode": (1, ":paycode TEXT"),
    "bio": (1, ":bio approve|refuse"),
    "advance": (1, ":advance 1h"),
    "party": (3, ":party NAME ROLE PHONE [SHOWN NAME]"),
    "given": (2, ":given NAME KEY=VALUE ..."),
    "inject": (2, ":inject CALL OUTCOME [CODE|BY] [times=N]"),
    "lang": (1, ":lang pt_BR"),
}
_ACTS = {"tap", "contact", "pin", "link", "bio", "code", "lang", "paycode"}
_NO_PARTY = "Add or pick a party first (:new NAME PHONE, :as NAME)."
REOPENED = (
    "{db} has the parties of earlier sessions: :as NAME brings one back. "
    "paychat chat --fresh starts from an empty database."
)


def parse_duration(text: str) -> timedelta:
    try:
        return duration(text)
    except ValueError:
        raise ValueError(
            f"write a duration like 30s, 5m, 1h, 1h30m or 2d (at most {LONGEST.days}d)"
        ) from None


def run_repl(
    settings: Settings,
    db: Path,
    console: Console,
    fresh: bool = False,
    record: Path | None = None,
) -> int:
    """The prompt loop. The prompt is read on the main thread, outside the event loop, so Ctrl+C
    there raises KeyboardInterrupt at once. (Read on a worker thread, as it was, the interrupt
    stopped the loop but its shutdown then waited for that thread's input() to return: the
    process hung until Enter.) The simulator is opened and closed on one `asyncio.Runner`, and
    each line runs on it; the store is closed however the loop ends.

    Commands come from a terminal (a prompt, line editing) or from a pipe or file (no prompt,
    no banner; a bad line is reported on stderr as `<stdin>:N:` and the session goes on; the
    exit status is 2 if any line was bad). `record`: the session is written there as a
    scenario when it ends (sim/recorder.py)."""
    if fresh:
        remove_database(str(db))
    reopened = db.is_file() and db.stat().st_size > 0  # (the store creates a missing folder)
    if record is not None and reopened:
        # A recording replays from an empty world: parties and payments of earlier sessions
        # would be missing from it.
        sys.stderr.write(
            f"paychat: --record starts from an empty database, and {db} has earlier sessions: "
            "add --fresh or choose another --db\n"
        )
        return 2
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):  # line editing and history, where there is one
            importlib.import_module("readline")
    start = datetime.now(UTC).replace(microsecond=0)
    with asyncio.Runner() as runner:
        opened = contextlib.AsyncExitStack()
        # Random ids, as in production: a database reopened holds the requests, payments and
        # codes of earlier sessions, and a seeded source would draw the same ids again.
        world = runner.run(
            opened.enter_async_context(session(settings, str(db), start, SecureIds()))
        )
        recorder = Recorder(world.sim, f"Recorded: {record.name}") if record else None
        try:
            repl = Repl(world.sim, console, world.store, world=world, interactive=interactive)
            if interactive:
                console.print(HELP)
            if reopened:
                console.print(REOPENED.format(db=db), highlight=False)
            if not interactive:
                return _read_lines(repl, runner)
            return _prompt(repl, runner)
        finally:
            try:
                if recorder is not None and record is not None:
                    recorder.save(record)
                    sys.stderr.write(f"paychat: recorded the session in {record}\n")
            finally:
                runner.run(opened.aclose())


def _prompt(repl: Repl, runner: asyncio.Runner) -> int:
    while True:
        try:
            line = input(f"{repl.current or '-'}> ")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            repl.console.print()  # end the prompt's line before the CLI says it was interrupted
            raise
        if line.strip() in (":quit", ":q"):
            return 0
        runner.run(repl.line(line))


def _read_lines(repl: Repl, runner: asyncio.Runner) -> int:
    """Commands from a pipe or a file, one a line, until the end or :quit."""
    for number, line in enumerate(sys.stdin, 1):
        if line.strip() in (":quit", ":q"):
            break
        runner.run(repl.line(line, number))
        sys.stdout.flush()  # a program driving the session reads each answer before it goes on
    return 2 if repl.bad_lines else 0


class Repl:
    def __init__(
        self,
        sim: Simulator,
        console: Console,
        store: Store[TxWithRails] | None = None,
        *,
        world: World | None = None,
        interactive: bool = True,
    ) -> None:
        self.sim = sim
        self.console = console
        self.store = store  # where the parties of earlier sessions are found
        self.world = world  # what :party and :given seed through, as scenarios do
        self.interactive = interactive
        self.current = ""
        self.seen = 0
        self.bad_lines = 0

    async def line(self, line: str, number: int = 0) -> None:
        line = line.strip()
        if not line:
            return
        if not line.isascii() and not line.isprintable():
            try:  # bytes that were not UTF-8 arrive as lone surrogates (surrogateescape)
                line.encode("utf-8")
            except UnicodeEncodeError:
                self.problem("not UTF-8 text: save the file as UTF-8 (nothing was sent)", number)
                return
        try:
            if line.split(None, 1)[0] == ":paycode":
                # A code is taken as written (a Pix code has spaces, quotes are its own).
                await self.command("paycode", *line.removeprefix(":paycode").split(None, 0))
            elif line.startswith(":"):
                await self.command(*shlex.split(line[1:]))
            elif not self.current:
                raise ValueError(_NO_PARTY)
            else:
                await self.sim.text(self.current, line)
        except (TapError, ValueError, SimError) as exc:
            self.problem(str(exc), number)
        except KeyError as exc:  # its str() is the repr of its argument
            self.problem(str(exc.args[0] if exc.args else exc), number)
        self.show_new()

    def problem(self, message: str, number: int) -> None:
        """A line that could not be done: said in red at a terminal; from a pipe, on stderr with
        its line number, so a script's author finds it."""
        self.bad_lines += 1
        message = mask(message)  # a card number written wrong is not repeated back
        if self.interactive:
            self.console.print(f"[red]{escape(message)}[/red]")
        else:
            sys.stderr.write(f"<stdin>:{number}: {message}\n")

    async def command(self, name: str = "", *args: str) -> None:
        sim, me = self.sim, self.current
        needs, usage = _USAGE.get(name, (0, ""))
        if len(args) < needs:
            raise ValueError(f"write it as {usage}")
        if name in _ACTS and not me:
            raise ValueError(_NO_PARTY)
        if name == "new":
            if await self._earlier(args[0]) is None:
                sim.add_party(args[0], " ".join(args[2:]), phone=args[1])
            self.current = args[0]
        elif name == "as":
            self.current = await self._party(args[0])
        elif name == "tap":
            await self.tap(args[0])
        elif name == "contact":
            # A number as people write it: `:contact +91 98123 45678` is one number.
            await sim.share_contact(me, " ".join(args) if args else None)
        elif name == "pin":
            await sim.pin(me, args[0])
        elif name == "link":
            await sim.open_link(me, args[0])
        elif name == "paycode":
            await sim.pay_code(me, args[0])
        elif name == "bio":
            await sim.biometric(me, "approve" if args[0] == "approve" else "refuse")
        elif name == "advance":
            await sim.advance(parse_duration(args[0]))
        elif name == "code":
            await sim.text(me, self._sms_code())
        elif name == "party":
            await self.party(*args)
        elif name == "given":
            await self._seed({}, {args[0]: given_spec(args[1:])})
        elif name == "inject":
            sim.inject(args[0], *fault_spec(args[1:]))
        elif name == "lang":
            await self.language(me, args[0])
        elif name == "sms":
            party = sim.parties[await self._party(args[0] if args else me)]
            self.console.print("\n".join(party.sms) or "(no SMS)")
        elif name == "show":
            party = sim.parties[await self._party(args[0] if args else me)]
            self.console.print(chat_panel(party, width=70, secrets=True))
        elif name == "all":
            self.console.print(side_by_side(list(sim.parties.values())))
        elif name == "parties":
            for p in sim.parties.values():
                self.console.print(f"{p.name}: {p.display_name} {p.phone}")
        elif name == "help":
            self.console.print(HELP)
        else:
            raise ValueError(f"no command :{name}; :help lists them")

    async def party(self, name: str, role: str, phone: str, *shown: str) -> None:
        if role not in ("business", "customer"):
            raise ValueError(f"a party is a business or a customer, not {role!r}")
        if name in self.sim.parties or await self._earlier(name) is not None:
            raise ValueError(f"there is a party {name!r} already")
        spec = {"role": role, "phone": phone, "name": " ".join(shown) or name.capitalize()}
        await self._seed({name: spec}, {})
        self.current = name

    async def _seed(self, parties: dict[str, Any], given: dict[str, Any]) -> None:
        """Seed as a scenario's `parties` and `given` do (sim/scenarios/world.py)."""
        if self.world is None:
            raise ValueError("this session cannot seed parties")
        for name in given:
            await self._party(name)
        try:
            await seed(self.world, parties, given)
        except ScenarioError as exc:
            raise ValueError(exc.problem) from None

    def _sms_code(self) -> str:
        for text in reversed(self.sim.parties[self.current].sms):
            found = re.search(r"(?<!\d)\d{4,8}(?!\d)", text)
            if found:
                return found[0]
        raise ValueError(f"{self.current} has no SMS with a code")

    async def language(self, party: str, locale: str) -> None:
        """The party's app language (what an unregistered party is first written in) and, once
        registered, the language kept for them. A language the party's market offers is chosen
        as a person would, with `/language <locale>` (so a recording replays it); any other
        installed one, the pseudo-locale too, is set directly, for trying it out. A direct
        switch goes through the simulator, so a recorder writes it as the party's `locale:` (or
        refuses it, after the party's first action, before anything changed)."""
        if locale not in catalog_locales():
            raise ValueError(f"no language {locale!r}; installed: {', '.join(catalog_locales())}")
        user_id = self.sim.user_id(party)
        user = None if self.store is None else await self.store.run(lambda tx: tx.user(user_id))
        offered = (
            ()
            if user is None or self.world is None
            else self.world.settings.languages(user.market)
        )
        if locale in offered:
            # The app's language too, though a registered party reads its kept one.
            self.sim.parties[party].language = locale
            await self.sim.text(party, f"/language {locale}")
            return
        self.sim.set_language(party, locale)
        if user is not None and self.store is not None:
            await self.store.run(lambda tx: tx.set_locale(user_id, locale))
        # (not registered yet: onboarding reads the app's language)
        self.console.print(f"{party} now reads {autonym(locale)} ({locale})", highlight=False)

    async def _party(self, name: str) -> str:
        if not name:
            raise ValueError(_NO_PARTY)
        if name not in self.sim.parties and await self._earlier(name) is None:
            raise ValueError(f"no party {name!r}; add it with :new")
        return name

    async def _earlier(self, name: str) -> User | None:
        """`name` as an earlier session on this database left it, now back in this one (with
        what was still undelivered to it); None when the database does not know it."""
        if self.store is None or name in self.sim.parties:
            return None
        user = await self.store.run(lambda tx: tx.user(name))
        if user is None:
            return None
        self.sim.add_party(name, user.name, user.locale, phone=user.phone)
        self.console.print(
            f"{name} is back from an earlier session: {user.name}, a {user.role}, {user.phone} "
            "(paychat chat --fresh starts from an empty database)",
            highlight=False,
        )
        await self.sim.settle()
        return user

    async def tap(self, which: str) -> None:
        if not which.isdigit():
            await self.sim.tap(self.current, which)
            return
        for message in reversed(self.sim.parties[self.current].chat):
            buttons = [b for row in message.buttons for b in row]
            if message.from_bot and buttons:
                index = int(which) - 1
                if not 0 <= index < len(buttons):
                    raise ValueError(f"pick 1 to {len(buttons)}")
                await self.sim.tap(self.current, buttons[index].id, on=message.ref)
                return
        raise ValueError("no buttons to tap")

    def show_new(self) -> None:
        for event in self.sim.events[self.seen :]:
            where = f"{event.party}{'.sms' if event.channel == 'sms' else ''}"
            tag = "" if event.kind == "send" else f" ({event.kind})"
            self.console.print(f"[bold]{where}[/bold]{tag} [dim]{event.key}[/dim]")
            if event.qr:  # a photo: its QR symbol, in blocks a phone camera can scan
                self.console.print(Text(qr.terminal(event.qr)), no_wrap=True, crop=False)
            # A code in a caption stays on one line, so it can be copied whole.
            self.console.print(event.text, soft_wrap=bool(event.qr))
            n = 1
            for row in event.buttons:
                labels = []
                for b in row:
                    labels.append(f"{n}. {b.label}")
                    n += 1
                self.console.print("   " + "   ".join(labels), style="cyan")
        self.seen = len(self.sim.events)

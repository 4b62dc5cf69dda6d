"""`paychat chat` by hand: the REPL's own line handler onboards a business and a customer, and
the real command at a terminal (a pty) stops when asked."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console

from sim.repl import Repl, parse_duration
from sim.scenarios.world import World
from sim.simulator import Simulator
from tests.conftest import ROOT


async def test_a_person_onboards_two_parties_in_the_simulator(world: World) -> None:
    out = io.StringIO()
    repl = Repl(world.sim, Console(file=out, width=120))
    for line in (
        ":new shop +919876543210 Chai Point",
        "/start",
        ":tap 1",
        ":contact",
        "Chai Point",
        ":new asha +919812345678 Asha",
        "/start",
        ":tap customer",
        ":contact +919876543210",
        ":contact",
        ":all",
        ":advance 1h",
        ":sms",
        ":tap 9",
        ":nonsense",
    ):
        await repl.line(line)
    shown = out.getvalue()
    assert "All set, Chai Point!" in shown
    assert "someone else's" in shown
    assert "All set, Asha!" in shown
    assert "pick 1 to" in shown  # a bad button number is explained, not a crash
    assert await world.store.run(lambda tx: tx.user("asha")) is not None


async def test_a_contact_is_shared_as_people_write_numbers(world: World) -> None:
    """`:contact +91 98123 45678` is one number (it was read as "+91" and refused)."""
    out = io.StringIO()
    repl = Repl(world.sim, Console(file=out, width=120))
    for line in (":new asha +919812345678 Asha", "/start", ":tap customer"):
        await repl.line(line)
    await repl.line(":contact +91 98123 45678")
    assert "All set, Asha!" in out.getvalue()
    assert repl.bad_lines == 0


async def test_lang_switches_a_partys_language(world: World) -> None:
    out = io.StringIO()
    repl = Repl(world.sim, Console(file=out, width=200), world.store, world=world)
    await repl.line(":new loja +551134567890 Loja")
    await repl.line(":lang pt_BR")
    await repl.line("/start")  # not registered yet: the app's language decides
    await repl.line(":tap business")
    await repl.line(":contact")
    await repl.line("Loja")
    await repl.line(":lang en")  # offered in Brazil: chosen as a person would, with /language
    await repl.line(":lang bn")  # not offered there: set directly, to try it out
    await repl.line("/help")
    await repl.line(":lang xx")
    await repl.line(":all")
    shown = out.getvalue()
    assert "Boas-vindas ao PayChat" in shown
    assert "Tudo pronto, Loja!" in shown
    assert "PayChat now writes to you in English" in shown
    assert [e.key for e in world.sim.events].count("language.set") == 1
    assert "আপনি যা করতে পারেন" in shown
    assert "no language 'xx'" in shown
    user = await world.store.run(lambda tx: tx.user("loja"))
    assert user is not None
    assert user.locale == "bn"


def test_durations_are_read_like_the_scenarios() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2d").days == 2
    assert parse_duration("23h59m").total_seconds() == 23 * 3600 + 59 * 60
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("3660d").days == 3660
    # too long for the clock: a clear answer, not an OverflowError out of timedelta or datetime
    for wrong in (
        "",
        "soon",
        "30m1h",
        "1.5h",
        "h",
        "3661d",
        "99999999999999999999d",
        "9" * 5000 + "s",
    ):
        with pytest.raises(ValueError, match="1h30m"):
            parse_duration(wrong)


async def test_every_command_written_wrong_is_explained_and_the_repl_goes_on(
    sim: Simulator,
) -> None:
    out = io.StringIO()
    repl = Repl(sim, Console(file=out, width=120))
    lines = (":tap 1", ":pin", ":as", ":as nobody", ":sms nobody", ":show", ":link", ":bio")
    for line in (*lines, ":advance", ":new x", ':new "unclosed'):
        await repl.line(line)  # none of them may raise
    shown = out.getvalue()
    assert shown.count("Add or pick a party first") == 2  # :tap 1 and :show
    for usage in (":pin 2580", ":as NAME", ":link URL", ":bio approve|refuse", ":advance 1h"):
        assert f"write it as {usage}" in shown
    assert shown.count("no party 'nobody'") == 2
    assert "write it as :new NAME PHONE" in shown
    assert "No closing quotation" in shown
    await repl.line(":new asha +919812345678 Asha")
    await repl.line(":pin")
    assert shown.count(":pin 2580") < out.getvalue().count(":pin 2580")
    # a byte that is not UTF-8 (a Latin-1 file piped in): refused, nothing sent (it was sent,
    # and a --record file then held "\uDCFF", which is not valid YAML and never replayed)
    await repl.line(b"caf\xe9".decode("utf-8", "surrogateescape"))
    assert "not UTF-8 text" in out.getvalue()
    assert not sim.parties["asha"].chat


ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")


class Terminal:
    """`paychat chat` on a pseudo-terminal of its own, as a person runs it: the pty is its
    controlling terminal, so ^C typed there is the kernel's SIGINT, not one sent by the test."""

    def __init__(self, child: subprocess.Popen[bytes], fd: int) -> None:
        self.child, self.fd, self.seen = child, fd, b""
        self.mark = 0  # where the output since the last keys typed starts

    def read_until(self, wanted: bytes, within: float = 30.0) -> str:
        """Read what the program writes until `wanted` appears after the last keys typed; the
        text since those keys. `within` bounds a hang, it is not a wait (reading returns as
        soon as there is output)."""
        deadline = time.monotonic() + within
        while wanted not in self.seen[self.mark :]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {wanted!r} in {self.seen.decode(errors='replace')!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the program closed the terminal
                    chunk = b""
                assert chunk, f"ended before {wanted!r}: {self.seen.decode(errors='replace')}"
                self.seen += chunk
        text = self.seen[self.mark :].decode(errors="replace").replace("\r", "")
        return ANSI.sub("", text)  # bold and the like; the words are what is compared

    def wait_reading(self, within: float = 30.0) -> None:
        """Until the program sits in read() on the terminal. A person presses Ctrl+C long after
        the prompt; a test can be faster than the program's step from printing the prompt to
        reading, and a SIGINT in that gap is one CPython handles without waking the read."""
        # read, poll, select, pselect6, ppoll (readline waits in select)
        waits = {"x86_64": {"0", "7", "23", "270", "271"}, "aarch64": {"63", "72", "73"}}
        reading = waits.get(os.uname().machine)
        status = Path(f"/proc/{self.child.pid}/syscall")
        if reading is None or not status.exists():
            return  # no way to tell here: the prompt must do
        deadline = time.monotonic() + within
        while status.read_text().split(" ", 1)[0] not in reading:
            assert time.monotonic() < deadline, "the program never waited for input"
            select.select([], [], [], 0.001)  # a bounded poll of another process's state

    def type(self, keys: bytes) -> None:
        self.mark = len(self.seen)
        os.write(self.fd, keys)


def _controlling_terminal() -> None:
    # In the child, after setsid (start_new_session): make the pty (fd 0) its terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextmanager
def terminal(*args: str) -> Iterator[Terminal]:
    main, other = pty.openpty()
    # Wide enough that no line of the walkthrough wraps.
    fcntl.ioctl(other, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        stdin=other,
        stdout=other,
        stderr=other,
        cwd=ROOT,
        env={**os.environ, "TERM": "xterm", "NO_COLOR": "1"},
        start_new_session=True,
        preexec_fn=_controlling_terminal,  # subprocess has no option for a controlling tty
    )
    os.close(other)
    try:
        yield Terminal(child, main)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        os.close(main)


def test_ctrl_c_at_the_prompt_exits_at_once(tmp_path: Path) -> None:
    with terminal("chat", "--db", str(tmp_path / "chat.db")) as term:
        term.read_until(b"-> ")
        term.type(b":new shop +919876543210 Chai Point\r")
        term.read_until(b"shop> ")
        term.wait_reading()
        term.type(b"\x03")  # ^C, as typed
        # Before, the interrupt stopped the event loop, whose shutdown then waited for the
        # thread still blocked in input(): nothing happened until Enter.
        assert term.child.wait(timeout=40) == 130
        term.read_until(b"paychat: interrupted")
    assert b"Traceback" not in term.seen


def test_ctrl_d_at_the_prompt_ends_the_session(tmp_path: Path) -> None:
    with terminal("chat", "--db", str(tmp_path / "chat.db")) as term:
        term.read_until(b"-> ")
        term.type(b"\x04")  # ^D: end of input
        assert term.child.wait(timeout=10) == 0
    assert b"Traceback" not in term.seen


PROMPT = re.compile(r"^([a-z]+|-)> (.*?)(?:\s+# .*)?$")


def walkthrough() -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """README's `paychat chat` walkthrough: the command (`$ ...`), then each line typed at a
    prompt with the lines of output shown after it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Trying it by hand") :]
    block = section[section.index("```text\n") + 8 : section.index("\n```\n")]
    lines = block.splitlines()
    assert lines[0].startswith("$ .venv/bin/paychat "), lines[0]
    command = lines[0].removeprefix("$ .venv/bin/paychat ").split()
    typed: list[tuple[str, str, list[str]]] = []
    for line in lines[1:]:
        if found := PROMPT.match(line):
            typed.append((found[1], found[2], []))
        else:
            typed[-1][2].append(line)
    return command, typed


def walk_through(db: Path) -> str:
    """Type the walkthrough as written; each prompt must be the one README shows next, and the
    output README shows must be there. The SMS code is the one thing typed differently: the
    code the `:sms` before it showed, where README writes 123456."""
    command, typed = walkthrough()
    with terminal(*command, "--db", str(db)) as term:
        shown = term.read_until(b"-> ")
        code = ""
        for (_, keys, outputs), following in zip(typed, [*typed[1:], None], strict=True):
            if keys == "123456":
                keys = code
            term.type(keys.encode() + b"\r")
            prompt = f"{following[0]}> " if following else ""
            shown = term.read_until(prompt.encode() if following else b"> ")
            if found := re.search(r"code is (\d{6})", shown):
                code = found[1]
            folded = " ".join(shown.split())
            for output in outputs:
                assert " ".join(output.split()) in folded, f"after {keys!r}: {shown}"
            assert "Something went wrong" not in shown, f"after {keys!r}: {shown}"
            assert "Traceback" not in shown
        term.type(b"\x04")
        assert term.child.wait(timeout=10) == 0
    return term.seen.decode(errors="replace")


def test_the_readme_walkthrough_works_as_written_again_and_again(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    walk_through(db)
    walk_through(db)  # on a database that already has all of it: --fresh, as README says


def test_a_reopened_database_brings_its_parties_back(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    walk_through(db)
    with terminal("chat", "--db", str(db)) as term:
        shown = term.read_until(b"-> ")
        assert "has the parties of earlier sessions" in shown
        term.type(b":as shop\r")
        assert "shop is back from an earlier session: Chai Point" in term.read_until(b"shop> ")
        # A new request gets an id of its own: a seeded source drew the first session's again,
        # and the unique key turned /request into "Something went wrong".
        for keys in ("/request", "+919812345678", "99", "samosa"):
            term.type(keys.encode() + b"\r")
            shown = term.read_until(b"shop> ")
        assert "shop request.sent" in shown
        term.type(b":as asha\r")  # what reached asha while she was away
        assert "asha request.received" in term.read_until(b"asha> ")
        term.type(b"\x04")
        assert term.child.wait(timeout=10) == 0

"""`paychat chat` by hand: the REPL's own line handler onboards a business and a customer, and
the real command at a terminal (a pty) stops when asked."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
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


def test_durations_are_read_like_the_scenarios() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2d").days == 2
    assert parse_duration("23h59m").total_seconds() == 23 * 3600 + 59 * 60
    assert parse_duration("1h30m").total_seconds() == 5400
    for wrong in ("", "soon", "30m1h", "1.5h", "h"):
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


class Terminal:
    """`paychat chat` on a pseudo-terminal of its own, as a person runs it: the pty is its
    controlling terminal, so ^C typed there is the kernel's SIGINT, not one sent by the test."""

    def __init__(self, child: subprocess.Popen[bytes], fd: int) -> None:
        self.child, self.fd, self.seen = child, fd, b""

    def read_until(self, wanted: bytes, within: float = 30.0) -> None:
        """Read what the program writes until `wanted` appears; `within` bounds a hang, it is
        not a wait (reading returns as soon as there is output)."""
        deadline = time.monotonic() + within
        while wanted not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {wanted!r} in {self.seen.decode(errors='replace')!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the program closed the terminal
                    chunk = b""
                if not chunk:
                    assert wanted in self.seen, self.seen.decode(errors="replace")
                    return
                self.seen += chunk

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)


def _controlling_terminal() -> None:
    # In the child, after setsid (start_new_session): make the pty (fd 0) its terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextmanager
def terminal(*args: str) -> Iterator[Terminal]:
    main, other = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        stdin=other,
        stdout=other,
        stderr=other,
        cwd=ROOT,
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
        term.type(b"\x03")  # ^C, as typed
        # Before, the interrupt stopped the event loop, whose shutdown then waited for the
        # thread still blocked in input(): nothing happened until Enter.
        assert term.child.wait(timeout=10) == 130
        term.read_until(b"paychat: interrupted")
    assert b"Traceback" not in term.seen


def test_ctrl_d_at_the_prompt_ends_the_session(tmp_path: Path) -> None:
    with terminal("chat", "--db", str(tmp_path / "chat.db")) as term:
        term.read_until(b"-> ")
        term.type(b"\x04")  # ^D: end of input
        assert term.child.wait(timeout=10) == 0
    assert b"Traceback" not in term.seen

"""Recording a session into a scenario (sim/recorder.py): the real `paychat chat --record` fed
through a pipe, its file linted and replayed by the real `paychat test`, and proof that what it
recorded is checked (a wrong expectation, a dropped fault, fail the replay)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from sim.recorder import Recorder
from sim.scenarios.loader import cases
from sim.scenarios.runner import run_case
from sim.scenarios.world import World
from tests.conftest import ROOT

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}


class Piped:
    """`paychat chat` with its stdin a pipe the test writes, line by line, reading what it
    answers (each answer is flushed before the next line is read)."""

    def __init__(self, *args: str) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "chat", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=ENV,
        )
        self.out = b""

    def send(self, *lines: str) -> None:
        assert self.child.stdin is not None
        self.child.stdin.write("".join(f"{line}\n" for line in lines).encode())
        self.child.stdin.flush()

    def read_until(self, pattern: str, within: float = 60.0) -> re.Match[str]:
        """What the session printed until `pattern` appears. `within` bounds a hang; reading
        returns as soon as there is output."""
        assert self.child.stdout is not None
        fd = self.child.stdout.fileno()
        deadline = time.monotonic() + within
        while (found := re.search(pattern, self.out.decode(errors="replace"))) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"no /{pattern}/ in {self.out.decode(errors='replace')!r}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"ended before /{pattern}/: {self.out.decode(errors='replace')}"
                self.out += chunk
        return found

    def finish(self) -> tuple[int, str, str]:
        out, err = self.child.communicate(timeout=120)
        return self.child.returncode, (self.out + out).decode(), err.decode()


def paychat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=300,
        check=False,
    )


def recording_chat(tmp_path: Path, name: str) -> tuple[Piped, Path]:
    """`paychat chat --fresh --record TMP/NAME.convo.yaml` on a pipe, and that file."""
    recording = tmp_path / f"{name}.convo.yaml"
    chat = Piped("--fresh", "--db", str(tmp_path / "chat.db"), "--record", str(recording))
    return chat, recording


def record_a_session(tmp_path: Path) -> Path:
    """A business that signs up and sets up payments by SMS code, a seeded customer, a request
    paid after an injected decline, a refund by the payment's id, an hour later a payment link
    opened by the customer: every value that differs per run is read back from the session's
    own answers, as a person at the terminal would."""
    chat, recording = recording_chat(tmp_path, "session")
    chat.send(
        ":new shop +919876543210 Chai Point",
        "/start",
        ":tap business",
        ":contact",
        "Chai Point",
        "/settings",
        ":tap payments",
        ":tap add_method",
        ":tap accept",
        ':tap "bank:1"',
        ":code",  # the SMS code, which a script cannot know
        ":tap 1",
        ":tap confirm",
        ":party asha customer +919812345678 Asha",
        ':given asha pin=2580 card="4242 4242 4242 4242" expiry=12/30 upi=asha@okhdfc',
        ":as shop",
        "/request",
        "+91 98123 45678",
        "250",
        "2 masala chai",
        ":as asha",
        ":tap pay",
        ":tap 1",
        ":inject processor.authorize declined insufficient_funds",
        ":pin 2580",
        ":tap 2",  # the UPI id, on the list the failure offered
        ":pin 2580",
    )
    tx = chat.read_until(r"TX-[A-Z0-9]{10}")[0]
    chat.send(":as shop", f"/refund {tx} 50", ":advance 1h", "/link", "100", "tea")
    link = chat.read_until(r"https://t\.me/\S+start=[A-Za-z0-9_-]+")[0]
    chat.send(":as asha", f":link {link}", ":tap decline")
    status, out, err = chat.finish()
    assert status == 0, err
    assert "> " not in out
    assert "Simulator commands" not in out
    assert f"recorded the session in {recording}" in err
    return recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_a_session(tmp_path_factory.mktemp("recorded"))


def test_a_session_recorded_through_a_pipe_replays_green_and_lints(recording: Path) -> None:
    text = recording.read_text(encoding="utf-8")
    # Its volatile values are captured where they appeared and typed again as variables.
    assert "/refund ${tx} 50" in text
    assert "{open_link: '${link}'}" in text
    assert "- shop: ${code}" in text
    assert "inject:" in text
    assert "insufficient_funds" in text
    assert "advance: 1h" in text
    assert "given:" in text
    assert "registered: false" in text
    assert "tap: {label: Visa •••• 4242}" in text  # a method's id differs per run
    assert text.count("4242 4242 4242 4242") == 1  # the card once, in `given`, as replay needs
    linted = paychat("lint", str(recording))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    for via in ("simulator", "telegram"):  # through PTB and the Bot API emulator too
        replayed = paychat("test", "--via", via, str(recording))
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "1 passed, 0 failed" in replayed.stdout


def test_a_recorded_expectation_is_checked(recording: Path, tmp_path: Path) -> None:
    """The recorded expects are real: a wrong message key, or the fault left out, fails."""
    text = recording.read_text(encoding="utf-8")
    wrong = tmp_path / "wrong_key.convo.yaml"
    wrong.write_text(text.replace("says: refund.done", "says: refund.received", 1), "utf-8")
    result = paychat("test", str(wrong))
    assert result.returncode == 1
    assert "expected {says: refund.received} but send refund.done: it says refund.done" in (
        result.stdout
    )
    no_fault = tmp_path / "no_fault.convo.yaml"
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- inject:"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("- "))
    no_fault.write_text("\n".join(lines[:start] + lines[end:]) + "\n", "utf-8")
    result = paychat("test", str(no_fault))
    assert result.returncode == 1
    assert "it says pay.succeeded" in result.stdout  # the decline was what the session saw


def test_bad_lines_from_a_pipe_are_explained_and_the_session_goes_on(tmp_path: Path) -> None:
    chat = Piped("--fresh", "--db", str(tmp_path / "chat.db"))
    chat.send(
        ":tap 1",
        ":nonsense",
        ":party x wizard +919812345678",
        ":given nobody pin=2580",
        ":party asha customer +919812345678 Asha",
        ":given asha colour=red",
        ":given asha 4242424242424242",
        ':given asha card="4242 4242 4242 4242" expiry=01/20',
        ":inject processor.authorize maybe",
        ':new "unclosed',
        "/start",
    )
    status, out, err = chat.finish()  # the end of the input ends the session
    assert status == 2  # some lines were bad
    assert err.splitlines() == [
        "<stdin>:1: Add or pick a party first (:new NAME PHONE, :as NAME).",
        "<stdin>:2: no command :nonsense; :help lists them",
        "<stdin>:3: a party is a business or a customer, not 'wizard'",
        "<stdin>:4: no party 'nobody'; add it with :new",
        "<stdin>:6: no colour= to seed; known: account, added, balance, bank, biometric, card, "
        "expiry, funds, paynow, pin, pix, upi, wallet",
        '<stdin>:7: write each seed as KEY=VALUE, e.g. pin=2580 or card="4242 …"',
        "<stdin>:8: card '•••• (card number)': expired",  # masked, as in reports
        "<stdin>:9: no outcome 'maybe'; known: declined, delay, error, ok, timeout",
        "<stdin>:10: No closing quotation",
    ]
    assert "asha menu" in out  # the session went on: the seeded party is at its menu


def test_a_recording_starts_from_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    chat = Piped("--db", str(db))
    chat.send(":party asha customer +919812345678 Asha")
    assert chat.finish()[0] == 0
    again = paychat("chat", "--db", str(db), "--record", str(tmp_path / "r.convo.yaml"))
    assert again.returncode == 2
    assert "--record starts from an empty database" in again.stderr
    assert not (tmp_path / "r.convo.yaml").exists()


async def test_every_scenario_recorded_as_it_runs_replays_green(
    settings: Settings, tmp_path: Path
) -> None:
    """The recorder watching the scenario runner: each file of tests/scenarios (first case),
    recorded while it runs, is itself a scenario that passes, so the recorder writes every
    action, tap, capture, clock move and fault the suite uses in a way the runner replays."""
    recorders: list[Recorder] = []

    def attach(world: World) -> None:
        recorders.append(Recorder(world.sim))

    replayed = 0
    for path in sorted((ROOT / "tests" / "scenarios").rglob("*.convo.yaml")):
        case = cases(path)[0]
        result = await run_case(case, settings, opened=attach)
        assert result.passed, result.report
        recorded = tmp_path / f"{replayed}.convo.yaml"
        recorded.write_text(recorders[-1].to_yaml(), encoding="utf-8")
        again = await run_case(cases(recorded)[0], settings)
        assert again.passed, f"{path}:\n{again.report}"
        replayed += 1
    assert replayed > 60


def _locales(found: dict[str, str]) -> Callable[[World], Awaitable[None]]:
    """An `after` for run_case: the locale each party's user row was left with, into `found`."""

    async def read(world: World) -> None:
        for name in world.sim.parties:
            user = await world.store.run(lambda tx, name=name: tx.user(world.sim.user_id(name)))
            found[name] = user.locale if user else ""

    return read


async def test_a_language_switched_before_a_party_acts_is_replayed(
    settings: Settings, tmp_path: Path
) -> None:
    """`:lang` before a party's first action: an unregistered party's app language (Hindi, kept
    when it signs up) and a registered party's language its market does not offer (the
    pseudo-locale) are written as their `locale:`; a language the market offers, for a
    registered party, is the `/language` step it was typed as. The replay, on both transports,
    leaves each party in the language the session did."""
    chat, recording = recording_chat(tmp_path, "lang")
    chat.send(
        ":new asha +919812345678 Asha",
        ":lang hi",
        "/start",
        ":tap customer",
        ":contact",
        "Asha",
        ":party shop business +919876543210 Chai Point",
        ":lang en_XA",
        "/help",
        ":party ravi customer +919812345679 Ravi",
        ":lang bn",
    )
    status, _, err = chat.finish()
    assert status == 0, err
    parties = yaml.safe_load(recording.read_text(encoding="utf-8"))["parties"]
    assert parties["asha"]["locale"] == "hi"
    assert parties["shop"]["locale"] == "en_XA"
    assert parties["ravi"]["locale"] == "en"  # switched by its /language step
    assert "- ravi: /language bn" in recording.read_text(encoding="utf-8")
    for via in ("simulator", "telegram"):
        replayed = paychat("test", "--via", via, str(recording))
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        found: dict[str, str] = {}
        result = await run_case(cases(recording)[0], settings, via=via, after=_locales(found))
        assert result.passed, result.report
        assert found == {"asha": "hi", "shop": "en_XA", "ravi": "bn"}, via


def test_a_language_switch_after_a_party_acted_is_refused_while_recording(
    tmp_path: Path,
) -> None:
    """A scenario cannot switch an app's language mid-session: the switch is refused (the line
    is reported, the party keeps its language) rather than recorded as a file that replays in
    another language; the rest of the session is recorded and replays."""
    chat, recording = recording_chat(tmp_path, "late")
    chat.send(":new asha +919812345678 Asha", "/start", ":lang hi", ":tap customer")
    status, _, err = chat.finish()
    assert status == 2
    assert err.splitlines()[0] == (
        "<stdin>:3: asha has already acted, and a recording can set a party's language only "
        "before its first action (its locale: in the scenario): switch it before, or once signed "
        "up type /language, which is recorded as a step"
    )
    assert yaml.safe_load(recording.read_text(encoding="utf-8"))["parties"]["asha"]["locale"] == (
        "en"
    )
    replayed = paychat("test", "--via", "simulator", str(recording))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr


def test_without_a_recording_a_late_language_switch_is_kept(tmp_path: Path) -> None:
    """Only a recording refuses it: a plain session switches the app's language at any time."""
    chat = Piped("--fresh", "--db", str(tmp_path / "chat.db"))
    chat.send(":new asha +919812345678 Asha", "/start", ":lang hi")
    status, out, err = chat.finish()
    assert status == 0, err
    assert "asha now reads" in out

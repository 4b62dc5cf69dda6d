"""A scenario's regular expressions (`regex:`, `label_regex:`, the `regex` comparison), run
with a time limit.

`re` has none, and a match runs in C without giving Ctrl+C a chance: one pattern that
backtracks (`(a+)+$` against forty a's and a b) held `paychat test`, or the web server's only
loop, until the process was killed. The `regex` module reads `re`'s syntax, avoids most such
backtracking by itself and stops a match that takes longer than its timeout.
"""

from __future__ import annotations

import regex

from sim.errors import SimError

LIMIT_SECONDS = 1.0  # far beyond any sane pattern on a chat message


class SlowPattern(SimError):
    """A pattern that did not finish within the time limit (it backtracks)."""


def search(pattern: str, text: str) -> regex.Match[str] | None:
    try:
        return regex.search(pattern, text, timeout=LIMIT_SECONDS)
    except TimeoutError:
        raise SlowPattern(
            f"/{pattern}/ did not finish in {LIMIT_SECONDS:g} s on {len(text)} characters: it "
            "backtracks (nested repeats such as (a+)+); write it without them"
        ) from None


def problem(pattern: str) -> str | None:
    """Why `pattern` is not a regular expression (None when it is)."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None


def names(pattern: str) -> set[str]:
    """The named groups of a valid `pattern` (what a `regex:` matcher captures)."""
    return set(regex.compile(pattern).groupindex)

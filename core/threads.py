"""Worker threads never take the process's signals.

The kernel delivers a process-directed signal (Ctrl+C's SIGINT, a supervisor's SIGTERM) to any
thread that does not block it. When it lands on a worker (the database's thread, a PIN-hash
thread), Python only sets a flag for the main thread, which may be asleep in `input()` or a
`select()` that nothing wakes: the interrupt is lost until something else happens (seen: `paychat
chat` ignoring Ctrl+C under load). Threads start with the mask of the thread that creates them,
so each PayChat worker is created with these signals blocked, and only the main thread sees them.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def block_signals() -> None:
    """For a worker thread to call first (a thread pool's `initializer`)."""
    if hasattr(signal, "pthread_sigmask"):  # not on Windows, which has no such delivery
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


@contextmanager
def threads_without_signals() -> Iterator[None]:
    """Threads started inside this block are born with the signals blocked; the calling thread
    gets them back at the end (a signal that came meanwhile is delivered then)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)

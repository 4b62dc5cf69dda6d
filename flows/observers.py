"""Who is told what the flows did: the flow coverage of a scenario run (`sim/coverage.py`)
listens here. Nothing listens in a running bot, and then telling costs one empty-list check.

Listeners are plain callables, called on whichever thread runs the unit of work; they must be
quick and must not raise (a listener's error would fail the person's event).
"""

from __future__ import annotations

from collections.abc import Callable

# (flow, source state, trigger, destination state); an internal transition's destination is
# its source.
Fired = Callable[[str, str, str, str], None]
Said = Callable[[str], None]  # a reply's message key

fired_listeners: list[Fired] = []
said_listeners: list[Said] = []


def fired(flow: str, source: str, trigger: str, dest: str) -> None:
    for listener in fired_listeners:
        listener(flow, source, trigger, dest)


def said(key: str) -> None:
    for listener in said_listeners:
        listener(key)

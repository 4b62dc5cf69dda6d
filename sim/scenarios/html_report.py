"""Placeholder replaced below."""

from __future__ import annotations

from typing import Any


def write_html(results: list[Any], path: str, elapsed: float, via: str) -> None:
    raise NotImplementedError

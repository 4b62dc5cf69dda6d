"""Saying that the database cannot take writes once, not once per retry.

When the disk is full (or the database is locked, read-only, failing), every update is left for
the platform to send again and retried, every due job and every delivery record fails too: one
log line per attempt would bury the one thing the operator must read. A transport reports each
failure and each success here; the log gets one error when the outage begins, with the reason,
and one warning when writes work again, with how many attempts failed in between.
"""

from __future__ import annotations

import logging

from core.errors import StorageError


class StorageOutage:
    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self.failures = 0  # attempts that failed since the outage began (0: no outage)

    def failed(self, what: str, exc: StorageError) -> None:
        self.failures += 1
        if self.failures == 1:
            self._log.error(
                "the database cannot take writes (%s): %s failed; updates are left for "
                "Telegram to send again and nobody is answered until it can. Retrying; "
                "this is said once",
                exc,
                what,
            )
        else:
            self._log.debug("still cannot write: %s (%s)", what, exc)

    def worked(self) -> None:
        if self.failures:
            self._log.warning(
                "the database takes writes again, after %d failed attempts", self.failures
            )
            self.failures = 0

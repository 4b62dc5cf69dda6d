"""Every error PayChat raises on purpose, in one tree (the model: httpx's `_exceptions.py`).

    PayChatError                 the root: `except PayChatError` catches every one of them
    ├── ConfigError              config.yaml cannot be used (the message names file, key, problem)
    ├── StorageError             the database failed; the unit of work did not commit
    │   ├── RuleRefused          a database rule refused a write: the same write always will
    │   │   └── DuplicateError   a uniqueness rule refused a write (a second payment, a phone)
    │   ├── Contended            PostgreSQL: another worker holds a party (storage/pg_rows.py;
    │   │                        the adapter runs the unit again, it never reaches a caller)
    │   └── Unstarted            PostgreSQL: the connection was found lost at a batch's BEGIN
    │                            (storage/pg_session.py; the batch runs again once reconnected)
    ├── InvariantBroken          a rule the data always keeps does not hold: a bug, never input
    │   └── IllegalMove          a status move the lifecycle table does not allow (payments/)
    ├── RailRefused              a simulated rail would not answer (an injected fault, an outage)
    ├── TemplateProblem          a template cannot be rendered (a missing template or variable)
    ├── TransportError           a chat platform cannot be used at start-up
    └── SimError                 the offline tools (sim/errors.py draws this branch)
        ├── ScenarioError        a scenario file is not valid (file:line: ...)
        ├── StepFailed           a scenario step did not see what it expected
        ├── ScenarioFailure      a failed case, as pytest reports it
        ├── ScenarioFailed       a failed step of a scenario written in Python (its report)
        ├── TapError             a tap on a button that is not there
        ├── PathsDisagree        the Telegram runner's two views of a chat differ
        ├── BadInput             a page action `paychat web` cannot do (its HTTP 400)
        ├── NotRecordable        a session holds what a recorded scenario cannot say
        ├── SlowPattern          a scenario's regex did not finish within its time limit
        └── ApiError             the Bot API emulator refuses a call (an HTTP error envelope)
            └── Dropped          a scripted fault: no answer at all, the connection closes

Foreign exceptions are translated once, at the edge that meets them, and go no further:

    pydantic ValidationError, yaml YAMLError, OSError reading the file  → ConfigError
        core/settings.py
    sqlite3.Error, a sealed value the key cannot open                   → StorageError
        storage/sqlite.py, storage/sqlite_rows/, storage/sealer.py
    psycopg.Error (IntegrityError → RuleRefused, UniqueViolation where the unit expects one
    → DuplicateError)                                                   → StorageError
        storage/postgres.py, storage/pg_rows.py, storage/transfer.py
    sqlite3.IntegrityError (a unique, check or foreign key rule)        → RuleRefused
        storage/sqlite.py (DuplicateError where the unit expects one: storage/sqlite_rows/)
    jinja2's UndefinedError                                             → TemplateProblem
        bot/render.py
    PTB's TelegramError at start-up, OSError binding the webhook port   → TransportError
        bot/transports/telegram.py (once running, the sender logs, retries or drops instead);
        OSError binding `paychat web`'s port: sim/web/server.py

What a person gets wrong is never an exception: a flow answers it with a template, and domain
outcomes are values (`PinCheck`, `RailResult`, `LimitHit`). `Engine.handle` is the one catch-all
for a failing event (the person gets `error.internal`); a command-line tool turns a
`PayChatError` at start-up into one line on stderr and exit code 2.
"""

from __future__ import annotations


class PayChatError(Exception):
    """The root of every error PayChat raises on purpose."""


class ConfigError(PayChatError):
    """The configuration cannot be used; the message names the file, the key and the problem."""


class StorageError(PayChatError):
    """The database failed (disk full, locked, corrupt, not openable); the unit of work did not
    commit."""


class RuleRefused(StorageError):
    """A rule of the database (unique, check, foreign key) refused a write. Unlike the rest of
    `StorageError` (a full disk, a lock) it is no outage: the same event breaks the same rule
    every time, so the engine answers it as a failing event instead of leaving it for the
    transport to redeliver, forever."""


class DuplicateError(RuleRefused):
    """A uniqueness rule refused a write (e.g. a second live payment for one request)."""


class InvariantBroken(PayChatError):
    """A rule the stored data always keeps does not hold (a row a conversation relies on is gone,
    a ledger posting does not balance): a bug or a hand-edited database, never a person's input.
    The event rolls back and the person is told something went wrong."""


class RailRefused(PayChatError):
    """A rail would not answer (an injected fault or an outage); `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TemplateProblem(PayChatError):
    """A template could not be rendered: a missing variable or template (a bug, not input)."""


class TransportError(PayChatError):
    """A chat platform cannot be used at start-up: its API unreachable, the token refused, the
    webhook's port not ours to bind. The message never holds the token."""

"""The offline tools' branch of PayChat's exception tree (drawn whole in core/errors.py).

    SimError                 the root of this branch; a PayChatError
    ├── ScenarioError        a scenario file is not valid: `file:line: problem`  (scenarios/loader)
    ├── StepFailed           a step did not see what it expected                 (scenarios/runner)
    ├── ScenarioFailure      a failed case, as pytest reports it                 (scenarios/plugin)
    ├── ScenarioFailed       a failed step of a scenario in Python          (scenarios/python_api)
    ├── TapError             a tap on a button that is not there                 (simulator)
    ├── PathsDisagree        the Telegram runner's two views of a chat differ    (simulator)
    ├── BadInput             a page action `paychat web` cannot do (HTTP 400)    (web/session)
    ├── NotRecordable        a session holds what a recording cannot say         (recorder)
    ├── SlowPattern          a scenario's regex did not finish in time           (patterns)
    └── ApiError             the Bot API emulator refuses a call                 (telegram_api)
        └── Dropped          a scripted fault: the connection closes, no answer  (telegram_api)

Each is defined beside the code that raises it. None is an `AssertionError`: a scenario that
fails is a finding the runner reports, not a broken assumption of the code.
"""

from __future__ import annotations

from core.errors import PayChatError


class SimError(PayChatError):
    """An error of the simulator, the scenario runner or the Bot API emulator."""

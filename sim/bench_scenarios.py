"""`paychat bench --scenarios-only`: scenarios per second for `tests/scenarios`, in this process.

One untimed pass first (templates compiled, files parsed and linted: as after the full bench's
other phases, which warm the process before its own scenario figure), then several timed ones.
On a shared machine one pass can take half as long again as the next, so the figure is the
median pass, with the best and the worst beside it; the target (issue 19: 250 a second on a
2-core machine) is judged on the median. CPU time says what a pass cost when other processes
share the cores: more than its wall time, because PIN hashes run on a second thread.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.settings import Settings

TARGET = 250  # scenarios a second (issue 19)
PASSES = 5


@dataclass(frozen=True)
class ScenarioRate:
    cases: int
    seconds: tuple[float, ...]  # each timed pass's wall time
    cpu_seconds: tuple[float, ...]  # and its CPU time (every thread of the process)
    pin_hash_cost: int

    @property
    def per_second(self) -> float:
        """The median pass's rate."""
        return self.cases / statistics.median(self.seconds)

    def save(self, path: str) -> None:
        """The figures as JSON (`--json`), the median rate with them."""
        Path(path).write_text(json.dumps({**asdict(self), "per_second": self.per_second}))

    def line(self) -> str:
        best, worst = self.cases / min(self.seconds), self.cases / max(self.seconds)
        verdict = "met" if self.per_second >= TARGET else "not met"
        return (
            f"scenarios / s (tests/scenarios): {self.per_second:.1f}, the median of "
            f"{len(self.seconds)} passes (best {best:.1f}, worst {worst:.1f}); {self.cases} "
            f"cases, {statistics.median(self.seconds):.2f} s and "
            f"{statistics.median(self.cpu_seconds):.2f} s of CPU a pass, PINs at scrypt "
            f"2^{self.pin_hash_cost}; target ≥ {TARGET}: {verdict}"
        )


async def scenario_rate(
    settings: Settings, pin_cost: int | None, passes: int = PASSES
) -> ScenarioRate:
    """Every case of `tests/scenarios` in the simulator, once untimed and `passes` times timed
    (at `pin_cost` when given, else the configuration's PIN cost)."""
    from sim.scenarios.cli import rate

    cost = pin_cost or settings.security.pin_hash_cost
    settings = settings.model_copy(
        update={"security": settings.security.model_copy(update={"pin_hash_cost": cost})}
    )
    await rate(settings, ["tests/scenarios"])
    seconds, cpu_seconds, count = [], [], 0
    for _ in range(passes):
        cpu = time.process_time()
        count, taken = await rate(settings, ["tests/scenarios"])
        seconds.append(taken)
        cpu_seconds.append(time.process_time() - cpu)
    return ScenarioRate(count, tuple(seconds), tuple(cpu_seconds), cost)

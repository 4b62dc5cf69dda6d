"""One PayChat worker process for tests/test_workers.py: the real engine on a shared PostgreSQL,
fed events as JSON lines on stdin, answering each with its replies as a JSON line on stdout.

    python -m tests.pg_worker URL START

Requests: {"id": n, "now": iso, "inbound": {...}} (Engine.handle) or {"id": n, "now": iso,
"due": true} (Engine.run_due); each is handled as it arrives, concurrently, as a transport
would. Answers: {"id": n, "outs": [[seq, outbound JSON], ...]}. The test SIGKILLs it at random
points; whatever it committed must survive that, and whatever it did not must be redone once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from bot.runtime import open_engine
from core.clock import SecureIds, VirtualClock
from core.messages import Inbound, Outbound
from core.settings import load_settings
from storage.sqlite_rows.outbox import outbound_to_json
from tests.conftest import ROOT


def _answer(request_id: int, outs: list[Outbound]) -> str:
    return json.dumps({"id": request_id, "outs": [[o.seq, outbound_to_json(o)] for o in outs]})


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, start: str) -> None:
    settings = load_settings(ROOT / "config.yaml")
    clock = VirtualClock(datetime.fromisoformat(start))
    async with open_engine(settings, url, clock=clock, ids=SecureIds()) as engine:
        _say(json.dumps({"ready": True, "worker": getattr(engine.store, "worker", 0)}))
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks: set[asyncio.Task[None]] = set()

        async def serve(request: dict[str, Any]) -> None:
            now = datetime.fromisoformat(request["now"])
            if now > clock.now():
                clock.set(now)
            if request.get("due"):
                outs = await engine.run_due()
            else:
                outs = await engine.handle(Inbound(**request["inbound"]))
            _say(_answer(request["id"], outs))

        while line := await reader.readline():
            task = asyncio.create_task(serve(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

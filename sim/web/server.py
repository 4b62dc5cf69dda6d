"""`paychat web`: the page and its JSON API (Starlette under uvicorn), on one `WebSession`.

The transport is thin: each POST is one `WebSession` call (a page action becomes a Simulator
call); `/api/view` and the `/api/events` stream (Server-Sent Events) carry what every phone shows
as JSON, the whole view at each change, so several tabs stay in step and a reload loses nothing.
A bad input is a 4xx with `{"error": message}`, which the page shows; never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.errors import PayChatError, TransportError
from core.settings import Settings
from sim.scenarios.cli import scenario_files
from sim.scenarios.loader import ScenarioError
from sim.web import view
from sim.web.session import BadInput, WebSession, read_scenario

STATIC = Path(__file__).parent / "static"
KEEP_ALIVE = 15.0  # seconds between comments on an idle event stream (proxies close silent ones)
log = logging.getLogger("paychat.web")

Handler = Callable[[Request], Awaitable[Response]]


def app(session: WebSession, scenarios: Path = Path("tests/scenarios")) -> Starlette:
    async def body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            raise BadInput("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise BadInput("the request body is a JSON object")
        return data

    def text(data: dict[str, Any], name: str, default: str | None = None) -> str:
        value = data.get(name, default)
        if value is None:
            raise BadInput(f"{name} is missing")
        if not isinstance(value, str):
            raise BadInput(f"{name} is text")
        if not value.isascii():
            try:  # JSON may carry a lone surrogate (\ud800): no page or database can hold it
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadInput(f"{name} is not valid Unicode text") from None
        return value

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def get_view(request: Request) -> Response:
        return JSONResponse(await view.build(session))

    latest: dict[int, str] = {}  # the newest view as sent, by version: one build for all tabs

    async def rendered() -> str:
        if session.version not in latest:
            built = await view.build(session)
            latest.clear()
            latest[built["version"]] = json.dumps(built)
        return next(iter(latest.values()))

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            seen = -1
            while not session.stopping:
                version = await session.wait_change(seen, KEEP_ALIVE)
                if session.stopping:
                    return
                if version == seen:
                    yield ": still here\n\n"
                    continue
                seen = version
                yield f"data: {await rendered()}\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def add_party(request: Request) -> Response:
        data = await body(request)
        name = await session.add_party(
            text(data, "name"),
            text(data, "phone"),
            text(data, "country", ""),
            text(data, "role", ""),
            text(data, "language", ""),
        )
        return JSONResponse({"party": name})

    async def act(request: Request) -> Response:
        data = await body(request)
        fields = {k: text(data, k) for k in ("text", "button", "message") if k in data}
        await session.act(text(data, "party"), text(data, "action"), **fields)
        return JSONResponse({"ok": True})

    async def advance(request: Request) -> Response:
        await session.advance(text(await body(request), "by"))
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        data = await body(request)
        times = data.get("times", 1)
        if isinstance(times, str) and times.isdigit():
            times = int(times)
        if not isinstance(times, int) or isinstance(times, bool):
            raise BadInput("times is a whole number")
        await session.queue_fault(
            text(data, "call"), text(data, "outcome"), text(data, "code", ""), times
        )
        return JSONResponse({"ok": True})

    async def list_scenarios(request: Request) -> Response:
        return JSONResponse({"files": _files(scenarios)})

    async def load(request: Request) -> Response:
        await session.load_scenario(Path(text(await body(request), "path")))
        return JSONResponse({"ok": True})

    async def play(request: Request) -> Response:
        how = request.path_params["how"]
        if how not in ("step", "all"):
            raise BadInput(f"play 'step' or 'all', not {how!r}")
        await session.play(all_steps=how == "all")
        return JSONResponse({"ok": True})

    async def export(request: Request) -> Response:
        return Response(
            await session.export(),
            media_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="session.convo.yaml"'},
        )

    async def bad_input(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def failure(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            {
                "error": f"the simulator failed on this action ({type(exc).__name__}); "
                "the server's log has the details"
            },
            status_code=500,
        )

    routes = [
        Route("/", index),
        Route("/api/view", get_view),
        Route("/api/events", events),
        Route("/api/parties", add_party, methods=["POST"]),
        Route("/api/act", act, methods=["POST"]),
        Route("/api/advance", advance, methods=["POST"]),
        Route("/api/faults", faults, methods=["POST"]),
        Route("/api/export", export),
        Route("/api/scenarios", list_scenarios),
        Route("/api/scenario", load, methods=["POST"]),
        Route("/api/scenario/{how:str}", play, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            BadInput: bad_input,
            ScenarioError: bad_input,
            HTTPException: http_error,
            Exception: failure,
        },
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: it waits for open connections to close and
    then raises the signal again, and an event stream never closes by itself. `serve` handles
    Ctrl+C and SIGTERM: the streams end, uvicorn stops, the database closes, exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _files(folder: Path) -> list[str]:
    return [str(p) for p in scenario_files([str(folder)])] if folder.is_dir() else []


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts: a port in use is found first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise TransportError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


async def serve(settings: Settings, db: Path, scenario: Path | None, host: str, port: int) -> int:
    """Check the scenario, bind, open the world, then serve until Ctrl+C. Any start-up failure
    raises `PayChatError` (the CLI prints it, exit 2) with nothing left running."""
    if scenario is not None:
        try:
            read_scenario(scenario)  # checked before anything starts (it is read again later)
        except BadInput as exc:
            raise PayChatError(f"the scenario cannot be played: {exc}") from None
    session = WebSession(settings, db)
    sock = listen(host, port)
    try:
        await session.open()
        try:
            if scenario is not None:
                try:
                    await session.load_scenario(scenario)
                except BadInput as exc:
                    raise PayChatError(f"the scenario cannot be played: {exc}") from None
            bound = sock.getsockname()
            where = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            print(f"PayChat web: http://{where}:{bound[1]}/  (database {db}; Ctrl+C stops it)")
            sys.stdout.flush()
            config = uvicorn.Config(
                app(session), log_level="warning", lifespan="off", timeout_graceful_shutdown=5
            )
            server = _Server(config)
            loop = asyncio.get_running_loop()

            stopping: list[asyncio.Task[None]] = []

            def stop() -> None:  # the event streams end, then their connections, then uvicorn
                server.should_exit = True
                stopping.append(loop.create_task(session.stop()))

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop)
            try:
                await server.serve(sockets=[sock])
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        finally:
            await session.close()
    finally:
        sock.close()
    return 0


def run_web(settings: Settings, db: Path, scenario: Path | None, host: str, port: int) -> int:
    return asyncio.run(serve(settings, db, scenario, host, port))

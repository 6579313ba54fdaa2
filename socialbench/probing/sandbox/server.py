"""Serving the sandbox over loopback with uvicorn (httptools and uvloop when installed).

`serve_in_thread` runs a server on its own event loop in a background thread (tests,
benchmarks, the demo); `serve` blocks; `run_server` is the whole ``socialbench sandbox
serve`` command: build the world, announce the URL, serve until interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import uvicorn

from socialbench.probing.sandbox.app import create_app
from socialbench.probing.sandbox.world import World

START_TIMEOUT_S = 10.0


class _Server(uvicorn.Server):
    """A uvicorn server that calls back once its sockets are bound."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[_Server], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started(self)

    def port(self) -> int:
        """The port actually bound (the chosen one when asked for port 0)."""
        return self.servers[0].sockets[0].getsockname()[1]


def _config(world: World, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(world),
        host=host,
        port=port,
        loop="uvloop" if find_spec("uvloop") else "asyncio",
        http="httptools" if find_spec("httptools") else "h11",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


@dataclass
class ServerHandle:
    """A server running in a background thread."""

    url: str
    world: World
    _server: _Server
    _thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit, wait for its thread, close the world's truth file (its
        events stay readable in memory)."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self.world.close()


def serve_in_thread(world: World, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve ``world`` from a background thread; returns once the port is bound."""
    started = threading.Event()
    server = _Server(_config(world, host, port), on_started=lambda _: started.set())
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT_S):
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        raise RuntimeError(f"the sandbox server did not start on {host}:{port}")
    return ServerHandle(f"http://{host}:{server.port()}", world, server, thread)


def serve(
    world: World,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Serve ``world`` until interrupted; ``on_started`` gets the URL once bound."""

    def announce(server: _Server) -> None:
        if on_started is not None:
            on_started(f"http://{host}:{server.port()}")

    _Server(_config(world, host, port), on_started=announce).run()


def run_server(
    *,
    port: int = 8000,
    profile_path: Path | str | None = None,
    seed: int = 0,
    speed: float = 1.0,
    truth_path: Path | str | None = None,
    start: str | None = None,
    host: str = "127.0.0.1",
) -> None:
    """``socialbench sandbox serve``: print ``sandbox listening on URL`` and serve."""
    world = World.create(
        profile_path=profile_path, seed=seed, speed=speed, truth_path=truth_path, start=start
    )
    try:
        serve(
            world,
            host,
            port,
            on_started=lambda url: print(f"sandbox listening on {url}", flush=True),
        )
    finally:
        world.close()

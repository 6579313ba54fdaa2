"""Serving the sandbox over loopback with uvicorn (httptools and uvloop when installed).

`serve_in_thread` runs a server on its own event loop in a background thread (tests,
benchmarks, the demo); `serve` blocks; `run_server` is the whole ``socialbench sandbox
serve`` command: build the world, announce the URL, serve until interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from socialbench.probing import serving
from socialbench.probing.sandbox.app import create_app
from socialbench.probing.sandbox.world import World

START_TIMEOUT_S = 10.0


def _config(world: World, host: str, port: int) -> uvicorn.Config:
    return serving.config(create_app(world), host, port)


@dataclass
class ServerHandle:
    """A server running in a background thread."""

    url: str
    world: World
    _server: serving.AnnouncingServer
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
    config = _config(world, host, port)
    server = serving.AnnouncingServer(config, on_started=lambda _: started.set())
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

    def announce(server: serving.AnnouncingServer) -> None:
        if on_started is not None:
            on_started(f"http://{host}:{server.port()}")

    serving.AnnouncingServer(_config(world, host, port), on_started=announce).run()


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

"""Serving the sandbox over loopback with uvicorn (httptools and uvloop when installed).

`serve_in_thread` runs a server on its own event loop in a background thread (tests,
benchmarks, the demo); `serve` blocks; `run_server` is the whole ``socialbench sandbox
serve`` command: build the world, announce the URL, serve until interrupted. With an
``admin_token`` the /_sandbox routes need it (`admin`); `run_server` takes it from the
environment and refuses to serve beyond loopback without one. When a server stops, the
injected faults' waits end (their requests are answered 503), so none is cut off with a
traceback.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from socialbench.probing import serving
from socialbench.probing.sandbox import admin
from socialbench.probing.sandbox.app import Waits, create_app
from socialbench.probing.sandbox.world import World

START_TIMEOUT_S = 10.0


def _server(
    world: World,
    host: str,
    port: int,
    admin_token: str | None,
    on_started: Callable[[serving.AnnouncingServer], None],
) -> serving.AnnouncingServer:
    waits = Waits()
    app = create_app(world, admin_token=admin_token, waits=waits)
    config = serving.config(app, host, port)
    return serving.AnnouncingServer(config, on_started=on_started, on_stopping=waits.stop)


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


def serve_in_thread(
    world: World, host: str = "127.0.0.1", port: int = 0, *, admin_token: str | None = None
) -> ServerHandle:
    """Serve ``world`` from a background thread; returns once the port is bound."""
    started = threading.Event()
    server = _server(world, host, port, admin_token, lambda _: started.set())
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
    admin_token: str | None = None,
) -> None:
    """Serve ``world`` until interrupted; ``on_started`` gets the URL once bound."""

    def announce(server: serving.AnnouncingServer) -> None:
        if on_started is not None:
            on_started(f"http://{host}:{server.port()}")

    _server(world, host, port, admin_token, announce).run()


def run_server(
    *,
    port: int = 8000,
    profile_path: Path | str | None = None,
    seed: int = 0,
    speed: float = 1.0,
    truth_path: Path | str | None = None,
    start: str | None = None,
    host: str = "127.0.0.1",
    environ: Mapping[str, str] | None = None,
) -> None:
    """``socialbench sandbox serve``: print ``sandbox listening on URL`` and serve. The admin
    token is ``environ``'s (by default the process's) `admin.ADMIN_TOKEN_ENV`; UsageError
    for a host beyond loopback without one."""
    token = admin.token_from(os.environ if environ is None else environ)
    admin.require_for(host, token)
    world = World.create(
        profile_path=profile_path, seed=seed, speed=speed, truth_path=truth_path, start=start
    )
    try:
        serve(
            world,
            host,
            port,
            on_started=lambda url: print(f"sandbox listening on {url}", flush=True),
            admin_token=token,
        )
    finally:
        world.close()

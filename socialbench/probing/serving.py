"""Serving an ASGI app with uvicorn, as the sandbox and ``observe`` both do: httptools and
uvloop when installed, no access log, and a callback once the sockets are bound (so a port
asked as 0 can be announced)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec

import uvicorn


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_started(server)`` once its sockets are bound."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[AnnouncingServer], None]):
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started(self)

    def port(self) -> int:
        """The port actually bound (the chosen one when asked for port 0)."""
        return self.servers[0].sockets[0].getsockname()[1]


def config(app, host: str, port: int, **options) -> uvicorn.Config:
    """A quiet uvicorn configuration on the fastest loop and HTTP parser installed;
    ``options`` override (e.g. ``lifespan``, ``timeout_graceful_shutdown``)."""
    settings = {
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
        "ws": "none",
        "lifespan": "off",
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 1,
    }
    return uvicorn.Config(app, host=host, port=port, **(settings | options))

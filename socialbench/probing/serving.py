"""Serving an ASGI app with uvicorn, as the sandbox and ``observe`` both do: httptools and
uvloop when installed, no access log, a callback once the sockets are bound (so a port
asked as 0 can be announced) and one when the server starts stopping; and `BodyLimit`, which
caps a request's body before the app sees it."""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec

import uvicorn


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_started(server)`` once its sockets are bound, and
    ``on_stopping()`` when it starts shutting down (before it waits for the requests in
    flight, so that an app can end its long waits then)."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_started: Callable[[AnnouncingServer], None],
        on_stopping: Callable[[], None] | None = None,
    ):
        super().__init__(config)
        self._on_started = on_started
        self._on_stopping = on_stopping

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_started(self)

    async def shutdown(self, sockets=None) -> None:
        if self._on_stopping is not None:
            self._on_stopping()
        await super().shutdown(sockets=sockets)

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


class _Gone(Exception):
    """The client left before its request's body was read."""


class BodyLimit:
    """ASGI middleware: an HTTP request's body is read here, at most ``limit`` bytes, before
    ``app`` sees it (as one message). A body declared longer (Content-Length) is refused
    before any of it is read, and one sent without a length (chunked) as soon as what was
    read passes the limit: ``too_large(scope)`` (an ASGI app, e.g. a Starlette Response)
    answers, with ``Connection: close`` added so that the rest is not read."""

    def __init__(self, app, *, limit: int, too_large: Callable[[dict], object]) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = None if self._declared_over(scope) else await self._read(receive)
        except _Gone:
            return  # nobody to answer
        if body is None:
            await self._refuse(scope, receive, send)
            return
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if delivered:
                return await receive()  # e.g. http.disconnect
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _declared_over(self, scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return not value.strip().isdigit() or int(value) > self.limit
        return False

    async def _read(self, receive) -> bytes | None:
        """The whole body, or None once it passes the limit (the rest left unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope, receive, send) -> None:
        async def closing(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.too_large(scope)(scope, receive, closing)

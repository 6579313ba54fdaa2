"""An HTTP receiver for bots that post their replies back to the run (Rasa's callback
channel): a Starlette app served by uvicorn on a thread of its own, listening on one
address while the run goes on, accepting POSTs at its routes only.

Stored before acknowledged: each accepted post is committed to the run's inbox
(``store.Inbox``) before it is answered 200, so a post the bot saw accepted survives the run
being killed. A post at any other path is answered 404 (a route may end in a secret, which
is compared in constant time and never logged: the access log is off); a body that is not
JSON, is over ``MAX_BODY`` or that the protocol's ``parse`` refuses is answered 400, and
nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import sqlite3
import threading
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from socialbench.probing.connectors.base import RunFailed
from socialbench.probing.store import Inbox

MAX_BODY = 64 * 1024  # bytes of one post
START_TIMEOUT_S = 10.0
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# a post's JSON -> its messages, each (whom it is for, the message); ValueError: refused
Parse = Callable[[object], list[tuple[str, object]]]


class Receiver:
    """Listens on ``listen`` (HOST:PORT) for posts at ``routes`` (each path, secret
    included, with the source its posts are stored under) into the inbox of the run in
    ``directory``; ``clock`` stamps them (platform time)."""

    def __init__(self, listen: str, routes: dict[str, str], *, directory, parse: Parse, clock):
        self.listen = listen
        self.inbox: Inbox | None = None
        self._routes = [(path.encode(), source) for path, source in routes.items()]
        self._directory = directory
        self._parse = parse
        self._clock = clock
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        """Open the inbox, bind the address and serve from a thread; returns once serving.
        RunFailed when the address cannot be listened on."""
        self.inbox = Inbox.open(self._directory)
        try:
            self._socket = _bind(self.listen)
            app = Starlette(routes=[Route("/{path:path}", self._handle, methods=_METHODS)])
            self._server = uvicorn.Server(_config(app))
            self._thread = threading.Thread(
                target=self._server.run, kwargs={"sockets": [self._socket]},
                name=f"callback receiver {self.listen}", daemon=True,
            )  # fmt: skip
            self._thread.start()
            await self._started()
        except BaseException:
            self.stop()
            raise

    async def _started(self) -> None:
        assert self._server is not None and self._thread is not None
        for _ in range(int(START_TIMEOUT_S / 0.01)):
            if self._server.started:
                return
            if not self._thread.is_alive():
                break
            await asyncio.sleep(0.01)
        raise RunFailed(f"the callback receiver did not start on {self.listen}")

    def stop(self) -> None:
        """Stop serving (posts in flight are finished and stored) and close the inbox."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(START_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        if self.inbox is not None:
            self.inbox.close()
        self.inbox = self._server = self._thread = self._socket = None

    async def _handle(self, request: Request) -> Response:
        source = self._source(request.scope["path"])
        if source is None:
            return PlainTextResponse("not found", status_code=404)
        if request.method != "POST":
            return PlainTextResponse("POST only", status_code=405, headers={"Allow": "POST"})
        body = await _read(request)
        if body is None:
            return _refused(f"a body over {MAX_BODY // 1024} KiB")
        try:
            data = json.loads(body, parse_constant=_no_constant)
        except ValueError:  # not JSON, nor UTF-8
            return _refused("not JSON")
        try:
            messages = self._parse(data)
        except ValueError as exc:  # not what the protocol posts
            return _refused(str(exc))
        assert self.inbox is not None
        try:
            self.inbox.add(source, messages, self._clock.now())
        except sqlite3.Error:
            return PlainTextResponse("not stored; post again", status_code=503)
        return JSONResponse({"stored": len(messages)})

    def _source(self, path: str) -> str | None:
        """The source of the route at ``path`` (every route compared, in constant time)."""
        found = None
        for route, source in self._routes:
            if hmac.compare_digest(route, path.encode()):
                found = source
        return found


def _bind(listen: str) -> socket.socket:
    """A socket bound to HOST:PORT (IPv6 hosts in brackets); RunFailed if it cannot be."""
    host, _, port = listen.rpartition(":")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise RunFailed(
            f"the callback receiver cannot listen on {listen}: {exc.strerror or exc}"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise RunFailed(
            f"the callback receiver cannot listen on {listen}: {exc.strerror or exc}"
        ) from None
    return sock


def _config(app) -> uvicorn.Config:
    return uvicorn.Config(
        app, loop="asyncio", ws="none", lifespan="off", log_level="warning",
        access_log=False, server_header=False, timeout_graceful_shutdown=1,
    )  # fmt: skip


async def _read(request: Request) -> bytes | None:
    """The body, or None when it is over ``MAX_BODY`` (not read further)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def _refused(reason: str) -> Response:
    return PlainTextResponse(f"refused: {reason}", status_code=400)


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON

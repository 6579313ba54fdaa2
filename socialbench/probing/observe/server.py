"""The webhook receiver of ``socialbench observe``: Meta's webhooks for Messenger, Instagram
and the WhatsApp Cloud API at ``/webhooks/meta``, each event stored before the 200.

- ``GET``: Meta's verification handshake: ``hub.mode=subscribe`` with the verify token
  answers ``hub.challenge``; anything else 403.
- ``POST``: the body's ``X-Hub-Signature-256`` (``sha256=`` and the HMAC-SHA256 of the raw
  body under the app secret) is checked first: missing 401, wrong 403, and nothing of the
  body is read further. A body over ``MAX_BODY``, not JSON, or not a webhook of a known
  object is answered 400. An accepted body's events (``events.split``) are committed to the
  store in one transaction, a retry's already-stored events ignored, and only then is 200
  answered: an acknowledged event survives a kill -9.

Rejections are logged one line each, naming the reason and never the body, the token or the
secret. The app is plain ASGI (no framework on the hot path).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from urllib.parse import parse_qs

from socialbench.errors import WriteFailed
from socialbench.probing.observe import events

PATH = "/webhooks/meta"
MAX_BODY = 1024 * 1024  # bytes; Meta's bodies are a few kilobytes
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class Receiver:
    """The ASGI app: ``save(events, received_at)`` stores and commits (returns how many
    were new), ``clock()`` gives epoch seconds, ``log(line)`` reports a rejection."""

    def __init__(
        self,
        *,
        verify_token: str,
        app_secret: str,
        save: Callable[[list[events.Event], float], int],
        clock: Callable[[], float],
        log: Callable[[str], None],
    ) -> None:
        self._token = verify_token.encode()
        self._secret = app_secret.encode()
        self._save = save
        self._clock = clock
        self._log = log
        self.accepted = 0  # bodies
        self.stored = 0  # new events

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != PATH:
            await _answer(send, 404, b"not found")
        elif scope["method"] == "GET":
            await self._verify(scope, send)
        elif scope["method"] == "POST":
            await self._post(scope, receive, send)
        else:
            await _answer(send, 405, b"method not allowed", [(b"allow", b"GET, POST")])

    async def _verify(self, scope, send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        mode = query.get("hub.mode", [""])[0]
        token = query.get("hub.verify_token", [""])[0].encode()
        challenge = query.get("hub.challenge", [""])[0]
        if mode == "subscribe" and challenge and hmac.compare_digest(token, self._token):
            await _answer(send, 200, challenge.encode())
            return
        self._log("verification refused: wrong mode or verify token")
        await _answer(send, 403, b"forbidden")

    async def _post(self, scope, receive, send) -> None:
        body = await _body(receive)
        if body is None:
            await self._refuse(send, 400, f"body over {MAX_BODY} bytes")
            return
        signature = _header(scope, b"x-hub-signature-256")
        if signature is None:
            await self._refuse(send, 401, "no X-Hub-Signature-256 header")
            return
        expected = b"sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(signature.strip().lower(), expected):
            await self._refuse(send, 403, "wrong X-Hub-Signature-256")
            return
        try:
            found = events.split(json.loads(body))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and BadBody alike
            reason = str(exc) if isinstance(exc, events.BadBody) else "the body is not JSON"
            await self._refuse(send, 400, reason)
            return
        try:
            self.stored += self._save(found, self._clock())
        except WriteFailed as exc:  # a full disk: not acknowledged, so Meta sends it again
            await self._refuse(send, 503, f"not stored: {exc}")
            return
        self.accepted += 1
        await _answer(send, 200, b"EVENT_RECEIVED")

    async def _refuse(self, send, status: int, reason: str) -> None:
        self._log(f"refused a webhook ({status}): {reason}")
        await _answer(send, status, reason.encode())


async def _body(receive) -> bytes | None:
    """The request body, or None once it passes MAX_BODY."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


async def _answer(send, status: int, body: bytes, headers=()) -> None:
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": [*_TEXT, *length, *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

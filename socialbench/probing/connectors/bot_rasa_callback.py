"""Rasa's callback channel: the customer's message is posted to ``/webhooks/callback/webhook``
as ``{"sender", "message"}`` and Rasa answers ``success``; each of the bot's messages is
posted by Rasa, one JSON object per post (``recipient_id``, and ``text``, ``image``,
``buttons``, ``attachment`` or ``custom``), to the ``url`` of the ``callback:`` entry of its
credentials.yml. Rasa makes those posts while it handles the customer's message, so they
may come before its ``success`` does.

The endpoint's ``url`` is the callback webhook's whole URL and its ``session`` the sender id;
its ``callback`` says where the run receives the posts: a ``receiver.Receiver`` on
``callback.listen``, at ``callback.path``, or, with a ``token``, at ``PATH/SECRET`` only
(Rasa cannot sign its posts, but the URL it posts to can carry a secret, read from the
environment variable the token names). Each post is stored in the run's inbox before it is
answered, and ``fetch`` reads a conversation's messages from there, so a resumed run still
has those that came before it was stopped; posts made while no run listens are lost (Rasa
logs the failure).
"""

from __future__ import annotations

import re

from socialbench.errors import ConfigError
from socialbench.probing.connectors.base import RunFailed
from socialbench.probing.connectors.bot_rasa import _text as _rest_text
from socialbench.probing.connectors.bots import BotError, Call, Reply, Request, render
from socialbench.probing.connectors.receiver import Receiver
from socialbench.scenarios.models import secret_problem

ASYNC = True  # replies arrive later, posted to the run's receiver
_SECRET = re.compile(r"[A-Za-z0-9._~-]{16,}")
# the receivers running in this process: listening address -> (its connector, receiver)
_listening: dict[str, tuple[object, Receiver]] = {}


async def start(connector, endpoints) -> None:
    """A receiver on each address the endpoints' callbacks listen on, storing into the
    run's inbox. ConfigError for a token variable not set or not a usable secret; RunFailed
    for an address that cannot be listened on."""
    if connector.out_dir is None:
        raise RunFailed("rasa-callback: the run has no directory to store the bot's posts in")
    routes = _routes(endpoints, connector.env)
    try:
        for listen, paths in routes.items():
            receiver = Receiver(
                listen, paths, directory=connector.out_dir, parse=_messages, clock=connector.clock
            )
            await receiver.start()
            _listening[listen] = (connector, receiver)
    except BaseException:
        await stop(connector)
        raise


async def stop(connector) -> None:
    """Stop the receivers ``start`` started for ``connector``."""
    for listen, (owner, receiver) in list(_listening.items()):
        if owner is connector:
            del _listening[listen]
            receiver.stop()


async def say(call: Call, text: str) -> list[Reply]:
    """Post the customer's message; Rasa's plain ``success`` is its whole answer."""
    url = render(call.endpoint.url, call.context)
    body = {"sender": _sender(call), "message": text}
    response = await call.send(Request("POST", url, body, {}))
    if response.text.strip() != "success":
        kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        raise BotError(
            f"answered something else than the callback channel's success ({kind}); is url "
            "Rasa's …/webhooks/callback/webhook?"
        )
    return []  # the bot's messages are posted to the receiver: see fetch


async def fetch(call: Call) -> list[Reply]:
    """The bot's messages to this conversation's sender received since the last fetch (a
    resumed run's first fetch reads them all; their ids keep them from being stored twice)."""
    callback = call.endpoint.callback
    running = _listening.get(callback.listen)
    if running is None or running[1].inbox is None:
        raise BotError(f"no receiver is listening on {callback.listen}")
    rows = running[1].inbox.rows(
        call.state.get("seq", 0), source=_source(callback), key=_sender(call)
    )
    if rows:
        call.state["seq"] = rows[-1].seq
    return [
        Reply(text, raw=row.body, id=f"rasa-cb:{row.seq}", at=row.received_at)
        for row in rows
        if (text := _text(row.body))
    ]


def _sender(call: Call) -> str:
    return str(call.context["session"])


def _source(callback) -> str:
    """What the posts to ``callback`` are stored under (the secret left out)."""
    return f"{callback.listen}{callback.path}"


def _routes(endpoints, env) -> dict[str, dict[str, str]]:
    """Per listening address, each path a post is accepted at, with its source."""
    found: dict[str, dict[str, str]] = {}
    for endpoint in endpoints:
        callback = endpoint.callback
        path = callback.path
        if callback.token is not None:
            path = f"{path.rstrip('/')}/{_secret(callback.token.env, env)}"
        found.setdefault(callback.listen, {})[path] = _source(callback)
    return found


def _secret(name: str, env) -> str:
    """The secret in variable ``name``; ConfigError (never showing it) if it is unusable."""
    if (problem := secret_problem(env, name)) is not None:
        raise ConfigError(f"callback.token.env: {problem}")
    value = env[name]
    where = f"callback.token.env: environment variable {name}"
    if not _SECRET.fullmatch(value):
        raise ConfigError(
            f"{where} must hold at least 16 characters among A-Z a-z 0-9 . _ ~ - "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    return value


def _messages(data) -> list[tuple[str, object]]:
    """A post's messages, each with its ``recipient_id``: one message object (what Rasa
    posts) or a list of them (what its documentation shows). ValueError otherwise."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError("no message")
    found = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("a message is not a JSON object")
        recipient = item.get("recipient_id")
        if not isinstance(recipient, str) or not recipient:
            raise ValueError("a message has no recipient_id")
        found.append((recipient, item))
    return found


def _text(message: dict) -> str:
    """As the REST channel's messages, with an attachment or a custom payload named so
    that they count as an answer."""
    extra = [f"[{name}]" for name in ("attachment", "custom") if message.get(name)]
    return " ".join(part for part in (_rest_text(message), *extra) if part)

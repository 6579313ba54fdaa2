"""The bots target: every probe sent, as the customer, to its brand's chatbot or webchat over
HTTP (the suite's ``brands[].endpoints``, one per channel), each probe its own conversation.

A protocol module per kind of endpoint (``PROTOCOLS``) turns one customer message into an
HTTP exchange and the replies that came back: ``bot_http`` (a JSON endpoint the suite
describes), ``bot_rasa`` (Rasa's REST channel). Replies arrive with the send, so they are
stored with it in one transaction; nothing is left to poll. Whether a reply is automated
comes from the endpoint's ``automated`` and ``human`` rules.

A bot conversation cannot be searched afterwards: a probe whose send was cut short by a
crash is marked failed on resume rather than sent again (the bot may have received it).
Credentials come from environment variables named in the suite; they are sent in headers
and never written anywhere.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass

import httpx

from socialbench.errors import ConfigError
from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import Observed, SendFailed, Sent, WallClock, iso

CHANNELS = None  # any channel a brand has an endpoint on
LIVE = True  # real endpoints
PROTOCOLS = {
    "http": "socialbench.probing.connectors.bot_http",
    "rasa": "socialbench.probing.connectors.bot_rasa",
}
_MARKER = re.compile(r"\s*\(ref:p[0-9a-f]+\)\s*$")


@dataclass(frozen=True)
class Reply:
    """One reply of a bot: its text, whether the protocol says it is automated (None: the
    suite's rule decides), and what the endpoint sent (stored redacted)."""

    text: str
    automated: bool | None = None
    raw: object = None


class BotError(Exception):
    """An endpoint that misbehaved: the probe fails with this reason, the run goes on."""


def check(suite, probes, env) -> None:
    """ConfigError naming, at its line, every brand and channel of ``probes`` without an
    endpoint, every template that does not render, and every credential variable not set."""
    from socialbench.yamlfile import field, report

    index = {brand.id: number for number, brand in enumerate(suite.brands)}
    found = []
    for number, channel in sorted({(index[p.brand], p.channel) for p in probes}):
        brand = suite.brands[number]
        endpoint = brand.endpoints.get(channel)
        loc: tuple = ("brands", number, "endpoints")
        if endpoint is None:
            problem = f"brand {brand.id!r} has no endpoint for {channel}"
        else:
            loc, problem = _endpoint_problem(endpoint, (*loc, channel), env)
            if problem is None:
                continue
        found.append((suite.line(loc), field(loc), problem))
    if found:
        raise ConfigError(report(suite.path, found))


def _endpoint_problem(endpoint, loc: tuple, env) -> tuple[tuple, str | None]:
    if endpoint.auth is not None and not env.get(endpoint.auth.env):
        state = "empty" if endpoint.auth.env in env else "not set"
        return (*loc, "auth", "env"), f"environment variable {endpoint.auth.env} is {state}"
    try:
        render(endpoint.session, _context_example())
        protocol(endpoint).request(endpoint, _context_example())
    except BotError as exc:
        return loc, str(exc)
    return loc, None


def protocol(endpoint):
    return importlib.import_module(PROTOCOLS[endpoint.protocol])


def _context_example() -> dict:
    return {"text": "hello", "session": "s", "probe_id": "p", "brand": "b", "persona": "c",
            "channel": "webchat"}  # fmt: skip


async def open_target(context: TargetContext) -> BotsConnector:
    return BotsConnector(context.suite, context.env)


class BotsConnector:
    """Sends each probe to its brand's endpoint for the probe's channel."""

    name = "bots"
    poll_every_s = 1.0
    poll_max_s = 60.0
    replies_with_send = True  # the run ends when the last probe has its answer
    own_conversations = True  # a session per probe: private probes need not wait in turn

    def __init__(self, suite, env, *, transport: httpx.AsyncBaseTransport | None = None):
        self.clock = WallClock()
        self._brands = {brand.id: brand for brand in suite.brands}
        self._env = env
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False)

    async def send(self, probe) -> Sent:
        endpoint = self._brands[probe.brand].endpoints[probe.channel]
        context = _context(probe, endpoint)
        sent_at = iso(self.clock.now())
        try:
            replies = await self._exchange(endpoint, context)
        except BotError as exc:
            raise SendFailed(f"{probe.brand} {probe.channel} bot: {exc}") from None
        at = iso(self.clock.now())
        platform_id = f"{context['session']}:{probe.probe_id}"
        observed = tuple(
            _observed(probe, endpoint, platform_id, context["session"], n, reply, at)
            for n, reply in enumerate(replies)
        )
        return Sent(platform_id, context["session"], sent_at, observed)

    async def _exchange(self, endpoint, context: dict) -> list[Reply]:
        module = protocol(endpoint)
        request = module.request(endpoint, context)
        headers = {**endpoint.headers, **request.headers, **self._auth(endpoint)}
        try:
            response = await self._client.request(
                request.method, request.url, json=request.body, headers=headers,
                timeout=endpoint.timeout,
            )  # fmt: skip
        except httpx.TimeoutException:
            raise BotError(f"no answer within {endpoint.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise BotError(f"could not reach {request.url}: {type(exc).__name__}") from None
        return module.replies(endpoint, _json(response))

    def _auth(self, endpoint) -> dict[str, str]:
        auth = endpoint.auth
        if auth is None:
            return {}
        token = self._env.get(auth.env, "")
        return {auth.header: f"{auth.scheme} {token}".strip() if auth.scheme else token}

    async def find_sent(self, probe):
        raise SendFailed(
            "the run stopped while this probe was being sent to its bot; it is not sent again, "
            "because the bot may have received it"
        )

    async def poll(self, watch) -> list[Observed]:
        return []  # every reply came with its send

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


@dataclass(frozen=True)
class Request:
    """What a protocol module asks to send."""

    method: str
    url: str
    body: object
    headers: dict


def _context(probe, endpoint) -> dict:
    """The variables of an endpoint's templates for one probe (the text without the marker
    X needs to find a post again: a bot has nothing to search)."""
    context = {
        "text": _MARKER.sub("", probe.text),
        "probe_id": probe.probe_id,
        "brand": probe.brand,
        "persona": probe.persona_handle,
        "channel": probe.channel,
    }
    return context | {"session": render(endpoint.session, context)}


def render(value, context: dict):
    """``value`` with every string in it rendered as a Jinja template (sandboxed); BotError
    naming the template when one does not render."""
    if isinstance(value, str):
        import jinja2

        try:
            return _template(value).render(context)
        except jinja2.TemplateError as exc:
            raise BotError(f"template {value!r}: {exc}") from None
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


@functools.cache
def environment():
    """The sandboxed Jinja environment of endpoints' templates and reply expressions (an
    undefined variable is an error, not an empty string)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=jinja2.StrictUndefined)


@functools.lru_cache(maxsize=256)
def _template(text: str):
    """A template compiled once for every probe that uses it."""
    import jinja2

    try:
        return environment().from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise BotError(f"template {text!r}: {exc.message}") from None


def _json(response: httpx.Response):
    """The answer's JSON; BotError for an HTTP error or an answer that is not JSON."""
    if response.status_code >= 400:
        raise BotError(f"answered HTTP {response.status_code}")
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    try:
        return response.json()
    except ValueError:
        raise BotError(f"answered with something that is not JSON ({kind})") from None


def _observed(probe, endpoint, platform_id, session, n: int, reply: Reply, at: str) -> Observed:
    automated = endpoint.automated if reply.automated is None else reply.automated
    if any(re.search(p, reply.text, re.IGNORECASE) for p in endpoint.human):
        automated = False
    return Observed(
        id=f"{platform_id}:{n + 1}",
        channel=probe.channel,
        surface="private",
        conversation_id=session,
        parent_id=platform_id,
        author=probe.brand_handle,
        author_id=probe.brand_handle,
        created_at=at,
        text=reply.text,
        automated=automated,
        raw={"reply": reply.raw},
    )

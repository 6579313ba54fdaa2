"""The bots target: every probe sent, as the customer, to its brand's chatbot or webchat over
HTTP (the suite's ``brands[].endpoints``, one per channel), each probe its own conversation.

A protocol module per kind of endpoint (``PROTOCOLS``) speaks to one bot through a ``Call``
(one probe's conversation: its client, endpoint, template variables and the protocol's own
state). A module defines either ``request`` and ``replies`` (one customer message is one HTTP
exchange whose answer holds the replies: ``bot_http``, ``bot_rasa``) or ``say`` itself; it
may define ``open`` (start a conversation) and, when ``ASYNC`` is true, ``fetch`` (the
replies that arrived since the last fetch: ``bot_directline``). Replies that come with the
send are stored with it in one transaction; an asynchronous bot's are polled through the
probe's window. Whether a reply is automated comes from the protocol where it says so, else
from the endpoint's ``automated`` and ``human`` rules.

A bot conversation cannot be searched afterwards: a probe whose send was cut short by a
crash is marked failed on resume rather than sent again (the bot may have received it).
Credentials come from environment variables named in the suite; they are sent in headers
and never written anywhere.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass, field

import httpx

from socialbench.errors import ConfigError
from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import (
    Observed,
    PollFailed,
    SendFailed,
    Sent,
    WallClock,
    Watch,
    iso,
)
from socialbench.scenarios import patterns, templates
from socialbench.scenarios.models import secret_problem

CHANNELS = None  # any channel a brand has an endpoint on
DIALOGUE_CHANNELS = None  # a scripted dialogue on any of them
LIVE = True  # real endpoints
PROTOCOLS = {
    "http": "socialbench.probing.connectors.bot_http",
    "rasa": "socialbench.probing.connectors.bot_rasa",
    "rasa-callback": "socialbench.probing.connectors.bot_rasa_callback",
    "directline": "socialbench.probing.connectors.bot_directline",
}
_DIALOGUE_POLL_S = 0.1  # real seconds between reads of a bot a dialogue waits for
_POLLS_AT_ONCE = 32  # conversations read concurrently in one poll
_MARKER = re.compile(r"\s*\(ref:p[0-9a-f]+\)\s*$")


@dataclass(frozen=True)
class Reply:
    """One reply of a bot: its text, whether the protocol says it is automated (None: the
    suite's rule decides), what the endpoint sent (stored redacted), and where the protocol
    gives them, the platform's id and time of the reply (epoch seconds; None: its arrival)."""

    text: str
    automated: bool | None = None
    raw: object = None
    id: str | None = None
    at: float | None = None


@dataclass(frozen=True)
class Said:
    """A customer's turn of a scripted dialogue: its text and when it was said."""

    text: str
    at: float


@dataclass
class Call:
    """One probe's conversation with a bot, as a protocol module sees it: ``conversation``
    is its id (the rendered ``session`` until the protocol's ``open`` names another), and
    ``state`` what the protocol keeps between calls (a watermark, a hand-off)."""

    client: httpx.AsyncClient
    endpoint: object  # scenarios.models.Endpoint
    context: dict
    headers: dict
    conversation: str
    state: dict = field(default_factory=dict)

    async def send(self, request: Request) -> httpx.Response:
        """Send ``request``; its successful answer. BotError for a timeout, a connection
        failure or an HTTP error."""
        headers = {**self.headers, **request.headers}
        try:
            response = await self.client.request(
                request.method, request.url, json=request.body, headers=headers,
                params=request.params, timeout=self.endpoint.timeout,
            )  # fmt: skip
        except httpx.TimeoutException:
            raise BotError(f"no answer within {self.endpoint.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise BotError(f"could not reach {request.url}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise BotError(f"answered HTTP {response.status_code}{_error_detail(response)}")
        return response

    async def exchange(self, request: Request):
        """``send``, and the answer's JSON (None for an empty success); BotError as
        ``send``, or for an answer that is not JSON."""
        return _json(await self.send(request))


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
    if endpoint.auth is not None and (problem := secret_problem(env, endpoint.auth.env)):
        return (*loc, "auth", "env"), problem
    token = getattr(endpoint.callback, "token", None)
    if token is not None and (problem := secret_problem(env, token.env)):
        return (*loc, "callback", "token", "env"), problem
    try:
        render(endpoint.session, _context_example())
        module = protocol(endpoint)
        if hasattr(module, "request"):
            module.request(endpoint, _context_example())
    except BotError as exc:
        return loc, str(exc)
    return loc, None


def protocol(endpoint):
    return importlib.import_module(PROTOCOLS[endpoint.protocol])


def _context_example() -> dict:
    return {"text": "hello", "session": "s", "probe_id": "p", "brand": "b", "persona": "c",
            "channel": "webchat"}  # fmt: skip


async def open_target(context: TargetContext) -> BotsConnector:
    return BotsConnector(context.suite, context.env, out_dir=context.out_dir)


class BotsConnector:
    """Sends each probe to its brand's endpoint for the probe's channel."""

    name = "bots"
    poll_every_s = 1.0
    poll_max_s = 60.0
    own_conversations = True  # a session per probe: private probes need not wait in turn

    def __init__(
        self,
        suite,
        env,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock=None,
        out_dir=None,
    ) -> None:
        self.clock = clock or WallClock()
        self.out_dir = out_dir  # the run's directory (its store), for protocols that listen
        self._brands = {brand.id: brand for brand in suite.brands}
        self.env = env
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._calls: dict[str, tuple] = {}  # conversation id -> (probe, platform id, Call)
        self._started: list = []  # protocol modules whose stop runs at close
        # the run ends when the last probe has its answer, unless some bot answers later
        self.replies_with_send = not any(
            getattr(protocol(e), "ASYNC", False)
            for brand in suite.brands for e in brand.endpoints.values()
        )  # fmt: skip

    async def start(self) -> None:
        """The HTTP client; then each protocol in use that has a ``start(connector,
        endpoints)`` (a receiver for bots that post their replies back) starts."""
        self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False)
        for _, _, call in self._calls.values():  # a resumed run's, made before the client
            call.client = self._client
        for module, endpoints in self._protocols().items():
            if hasattr(module, "start"):
                await module.start(self, endpoints)
                self._started.append(module)

    def _protocols(self) -> dict:
        """Each protocol module in use, with its endpoints."""
        found: dict = {}
        for brand in self._brands.values():
            for endpoint in brand.endpoints.values():
                found.setdefault(protocol(endpoint), []).append(endpoint)
        return found

    async def send(self, probe) -> Sent:
        endpoint = self._brands[probe.brand].endpoints[probe.channel]
        module = protocol(endpoint)
        call = self._call(probe, endpoint, None)
        sent_at = iso(self.clock.now())
        try:
            if hasattr(module, "open"):
                await module.open(call)
            replies = await say(module, call, call.context["text"])
        except BotError as exc:
            raise SendFailed(f"{probe.brand} {probe.channel} bot: {exc}") from None
        platform_id = f"{call.conversation}:{probe.probe_id}"
        if getattr(module, "ASYNC", False):
            self._calls[call.conversation] = (probe, platform_id, call)
        if probe.dialogue:
            replies = replies + await self._converse(probe, module, call, replies)
        observed = self._observed(probe, platform_id, call, replies)
        return Sent(platform_id, call.conversation, sent_at, observed)

    async def _converse(self, probe, module, call: Call, heard: list[Reply]) -> list:
        """The probe's scripted dialogue, after its text: a ``bot`` step waits (up to its
        time, on the platform's clock) for a reply since the customer last spoke that
        matches its pattern; a ``me`` step says its text. A bot step not met, or a bot that
        fails mid-dialogue, ends the dialogue; what was said and heard until then is kept
        (``Said`` for the customer's turns, ``Reply`` for the bot's)."""
        said: list = []
        fresh = list(heard)  # the replies since the customer last spoke
        try:
            for kind, value, within in probe.dialogue:
                if kind == "me":
                    said.append(Said(value, self.clock.now()))
                    fresh = await say(module, call, value)
                    said.extend(fresh)
                    continue
                deadline = self.clock.now() + within
                while not any(patterns.search(value, r.text) for r in fresh):
                    if not getattr(module, "ASYNC", False) or self.clock.now() >= deadline:
                        return said
                    await self._pause(deadline)
                    more = await _fetch_or_rewind(module, call)
                    said.extend(more)
                    fresh.extend(more)
        except BotError:
            pass  # the probe was sent: it is measured on what came before
        return said

    async def _pause(self, deadline: float) -> None:
        """A short real-time pause before reading an asynchronous bot again, never past
        ``deadline`` (platform time)."""
        import asyncio

        speed = getattr(self.clock, "speed", 1.0)
        await asyncio.sleep(max(0.0, min(_DIALOGUE_POLL_S, (deadline - self.clock.now()) / speed)))

    def _call(self, probe, endpoint, conversation: str | None) -> Call:
        context = _context(probe, endpoint)
        headers = {**endpoint.headers, **self._auth(endpoint)}
        return Call(self._client, endpoint, context, headers, conversation or context["session"])

    def _observed(self, probe, platform_id: str, call: Call, replies) -> tuple[Observed, ...]:
        """Replies (and a dialogue's customer turns, ``Said``) as observed messages."""
        at = iso(self.clock.now())
        return tuple(
            _said(probe, platform_id, call.conversation, n, reply)
            if isinstance(reply, Said)
            else _observed(probe, call.endpoint, platform_id, call.conversation, n, reply, at)
            for n, reply in enumerate(replies)
        )

    def _auth(self, endpoint) -> dict[str, str]:
        auth = endpoint.auth
        if auth is None:
            return {}
        token = self.env.get(auth.env, "")
        return {auth.header: f"{auth.scheme} {token}".strip() if auth.scheme else token}

    async def find_sent(self, probe):
        raise SendFailed(
            "the run stopped while this probe was being sent to its bot; it is not sent again, "
            "because the bot may have received it"
        )

    def watching(self, probe, platform_id: str, conversation_id: str) -> None:
        """A sent probe (this run's, or one a resumed run found in its store) whose
        conversation an asynchronous bot may still answer in: polled from now on."""
        endpoint = self._brands[probe.brand].endpoints.get(probe.channel)
        if conversation_id in self._calls or endpoint is None:
            return
        if getattr(protocol(endpoint), "ASYNC", False):
            call = self._call(probe, endpoint, conversation_id)
            self._calls[conversation_id] = (probe, platform_id, call)

    async def poll(self, watch: Watch) -> list[Observed]:
        """What asynchronous bots said since the last poll in the watched conversations
        (replies that came with their send were stored then)."""
        import asyncio
        import copy

        watched = [self._calls[c] for c, _ in watch.conversations if c in self._calls]
        saved = [copy.deepcopy(call.state) for _, _, call in watched]
        gate = asyncio.Semaphore(_POLLS_AT_ONCE)

        async def fetch(call) -> list[Reply]:
            async with gate:
                return await protocol(call.endpoint).fetch(call)

        results = await asyncio.gather(*(fetch(c) for _, _, c in watched), return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:  # all or nothing: every conversation is read again next time
            for (_, _, call), state in zip(watched, saved, strict=True):
                call.state = state
            if not isinstance(failed, BotError):
                raise failed
            probe = watched[results.index(failed)][0]
            raise PollFailed(f"{probe.brand} {probe.channel} bot: {failed}") from None
        found: list[Observed] = []
        for (probe, platform_id, call), replies in zip(watched, results, strict=True):
            found.extend(self._observed(probe, platform_id, call, replies))
            if call.state.get("ended"):  # the bot closed the conversation: nothing more
                self._calls.pop(call.conversation, None)
        return found

    async def close(self) -> None:
        try:
            for module in reversed(self._started):
                await module.stop(self)
        finally:
            self._started = []
            if self._client is not None:
                await self._client.aclose()


@dataclass(frozen=True)
class Request:
    """What a protocol module asks to send."""

    method: str
    url: str
    body: object
    headers: dict
    params: dict | None = None


async def say(module, call: Call, text: str) -> list[Reply]:
    """Send one customer message in ``call``: the replies that came with it."""
    if hasattr(module, "say"):
        return await module.say(call, text)
    context = call.context | {"text": text}
    answer = await call.exchange(module.request(call.endpoint, context))
    return module.replies(call.endpoint, answer)


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
            return templates.render(_template(value), context)
        except jinja2.TemplateError as exc:
            raise BotError(f"template {value!r}: {exc}") from None
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def environment():
    """The sandboxed Jinja environment of endpoints' templates and reply expressions (an
    undefined variable is an error, not an empty string), bounded as query texts are."""
    return templates.environment()


@functools.lru_cache(maxsize=256)
def _template(text: str):
    """A template compiled once for every probe that uses it."""
    import jinja2

    try:
        return templates.template(text, environment())
    except jinja2.TemplateSyntaxError as exc:
        raise BotError(f"template {text!r}: {exc.message}") from None


def _json(response: httpx.Response):
    """A successful answer's JSON (None when empty); BotError when it is not JSON."""
    if response.status_code == 204 or not response.content.strip():
        return None
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's stack
        raise BotError(f"answered with something that is not JSON ({kind})") from None


async def _fetch_or_rewind(module, call: Call) -> list[Reply]:
    """``module.fetch(call)``; when it fails, the call's state as it was before, so that
    what it had read is read again later rather than lost."""
    import copy

    saved = copy.deepcopy(call.state)
    try:
        return await module.fetch(call)
    except BaseException:
        call.state = saved
        raise


def _error_detail(response: httpx.Response) -> str:
    """`` (code: message)`` of an error answer in the usual JSON shape (Direct Line's
    ErrorResponse, many APIs'), shortened; empty otherwise."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    words = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
    return f" ({words[:160]})" if words else ""


def _observed(probe, endpoint, platform_id, session, n: int, reply: Reply, at: str) -> Observed:
    automated = endpoint.automated if reply.automated is None else reply.automated
    if any(patterns.search(p, reply.text) for p in endpoint.human):
        automated = False
    return Observed(
        id=reply.id or f"{platform_id}:{n + 1}",
        channel=probe.channel,
        surface="private",
        conversation_id=session,
        parent_id=platform_id,
        author=probe.brand_handle,
        author_id=probe.brand_handle,
        created_at=at if reply.at is None else iso(reply.at),
        text=reply.text,
        automated=automated,
        raw={"reply": reply.raw},
    )


def _said(probe, platform_id: str, session: str, n: int, said: Said) -> Observed:
    """The customer's turn of a dialogue, in the probe's conversation."""
    return Observed(
        id=f"{platform_id}:me{n + 1}",
        channel=probe.channel,
        surface="private",
        conversation_id=session,
        parent_id=platform_id,
        author=probe.persona_handle,
        author_id=probe.persona_handle,
        created_at=iso(said.at),
        text=said.text,
    )

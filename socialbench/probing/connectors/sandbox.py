"""The sandbox target: the simulated platform, over real HTTP, through the connectors that
talk to the real ones. Probes on x go through the ``XConnector`` that talks to api.x.com;
probes on the chat channels (messenger, whatsapp, webchat) go through the bots target's
``BotsConnector``, speaking Direct Line 3.0 to each brand's simulated bot on that channel.

Without ``--endpoint`` the sandbox starts in this process on a free loopback port and writes
its ground truth to ``DIR/sandbox_truth.jsonl``; with one, a running ``socialbench sandbox
serve`` is used. Either way the suite's brands, personas and bots are registered first (the
sandbox's only non-platform endpoint), which gives the personas' X tokens and the bots'
Direct Line secrets. A chat probe's time is the platform's: the timestamp the sandbox gave
the customer's message, read back from the conversation. When the run's environment sets
``SB_SANDBOX_ADMIN_TOKEN``, the sandbox's own routes are called with it, and the in-process
sandbox requires it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, replace

import httpx

from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import (
    Observed,
    RunFailed,
    Sent,
    SpeedClock,
    Watch,
)
from socialbench.probing.connectors.bots import BotsConnector
from socialbench.probing.connectors.x import Credential, XConnector
from socialbench.probing.connectors.x_api import default_transport
from socialbench.probing.probes import Probe
from socialbench.probing.sandbox import admin
from socialbench.probing.sandbox.world import MAX_LATE_S

CHANNELS = ("x", "messenger", "whatsapp", "webchat")  # X, and the brands' chatbots
CHAT_CHANNELS = frozenset(CHANNELS[1:])
DIALOGUE_CHANNELS = tuple(CHANNELS[1:])  # a scripted dialogue is held with a bot
LIVE = False  # simulated: no credentials


TRUTH_FILE = "sandbox_truth.jsonl"
_DIRECTLINE = "/v3/directline/conversations"


@dataclass(frozen=True)
class _BotBrand:
    """A brand as the BotsConnector sees one: its Direct Line endpoint per chat channel."""

    id: str
    endpoints: dict


@dataclass(frozen=True)
class _BotSuite:
    brands: tuple[_BotBrand, ...]


class SandboxConnector:
    """Sends x probes through an XConnector and chat probes through a BotsConnector (either
    may be None when the run has no probes for it); stops the in-process sandbox it
    started."""

    name = "sandbox"
    own_conversations = CHAT_CHANNELS  # every chat probe opens a conversation of its own
    replies_with_send = False  # bots answer later: every window is watched to its end

    def __init__(
        self,
        *,
        clock: SpeedClock,
        x: XConnector | None,
        bots: BotsConnector | None,
        secrets: dict[tuple[str, str], str],
        base_url: str,
        server=None,
    ) -> None:
        self.clock = clock
        self.x = x
        self.bots = bots
        self._secrets = secrets  # (brand, channel) -> the bot's Direct Line secret
        self._base_url = base_url
        self._server = server
        self._client: httpx.AsyncClient | None = None
        self._chats: set[str] = set()  # conversation ids of chat probes
        self._held: list[Observed] = []  # read in a poll that failed elsewhere
        self.start_given = False  # the run gave the in-process platform its start
        self.restart = False  # start() runs the platform from its start again (planned)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self._base_url, timeout=5.0)
        if self.x is not None:
            await self.x.start()
        if self.bots is not None:
            await self.bots.start()
        self._restart()

    def _restart(self) -> None:
        """With a start given and the run just planned, the in-process platform runs from
        that start again now that the connectors are ready, so that the first probes are
        on time however long getting ready took."""
        if not (self.restart and self._server is not None):
            return
        self.restart = False
        world = self._server.world
        with world.lock:
            now = time.monotonic()
            world.clock.restart(now)
            self.clock.origin, self.clock.anchor = world.clock.start_ms / 1000.0, now

    async def send(self, probe: Probe) -> Sent:
        if probe.channel not in CHAT_CHANNELS:
            return await self._x().send(probe)
        sent = await self._bots().send(probe)
        self._chats.add(sent.conversation_id)
        return await self._at_platform_time(probe, sent)

    async def find_sent(self, probe: Probe) -> Sent | None:
        if probe.channel in CHAT_CHANNELS:
            return await self._bots().find_sent(probe)
        return await self._x().find_sent(probe)

    def watching(self, probe: Probe, platform_id: str, conversation_id: str) -> None:
        """A chat probe's conversation is read by the BotsConnector from now on."""
        if probe.channel in CHAT_CHANNELS:
            self._chats.add(conversation_id)
            self._bots().watching(probe, platform_id, conversation_id)

    async def poll(self, watch: Watch) -> list[Observed]:
        """X's posts and DMs, and the chats' activities, read at once. What one side read
        while the other failed is held for the next poll (the bots' watermarks have moved
        on), and the failure raised."""
        chats = tuple(c for c in watch.conversations if c[0] in self._chats)
        posts = tuple(c for c in watch.conversations if c[0] not in self._chats)
        jobs = []
        if self.x is not None and (posts or watch.personas):
            jobs.append(self.x.poll(Watch(posts, watch.personas)))
        if self.bots is not None and chats:
            jobs.append(self.bots.poll(Watch(chats)))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if not isinstance(result, BaseException):
                self._held.extend(result)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        found, self._held = self._held, []
        return found

    def planned(self, due: dict[str, float]) -> None:
        """The run's schedule (probe id -> platform epoch seconds). With ``--start`` (a
        reproducible run) it is given to the in-process sandbox: a probe arriving a little
        after its time is dated then, so that the same suite, seed and start give the same
        figures however fast this machine is. Otherwise probes are dated on arrival, as a
        platform does (a wait for a rate limit is then visible in their times)."""
        if self._server is None or not self.start_given:
            return
        world = self._server.world
        with world.lock:
            world.due.update({pid: round(at * 1000) for pid, at in due.items()})
        self.restart = True  # once the connectors are ready (start)

    def dm_cursor(self, handle: str) -> str | None:
        return self.x.dm_cursor(handle) if self.x is not None else None

    def set_dm_cursor(self, handle: str, value: str | None) -> None:
        if self.x is not None:
            self.x.set_dm_cursor(handle, value)

    async def close(self) -> None:
        try:
            for part in (self.bots, self.x):
                if part is not None:
                    await part.close()
            if self._client is not None:
                await self._client.aclose()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None

    def _x(self) -> XConnector:
        assert self.x is not None, "a probe on x in a run that opened no X connector"
        return self.x

    def _bots(self) -> BotsConnector:
        assert self.bots is not None, "a chat probe in a run that opened no bots connector"
        return self.bots

    async def _at_platform_time(self, probe: Probe, sent: Sent) -> Sent:
        """``sent`` with the probe's time as the sandbox gave it: the timestamp of the
        customer's first message in the conversation (kept as it was if not found)."""
        assert self._client is not None
        secret = self._secrets[(probe.brand, probe.channel)]
        try:
            answer = await self._client.get(
                f"{_DIRECTLINE}/{sent.conversation_id}/activities",
                headers={"Authorization": f"Bearer {secret}"},
            )
            activities = answer.json().get("activities", []) if answer.is_success else []
        except (httpx.HTTPError, ValueError):
            return sent
        for activity in activities:
            sender = activity.get("from") or {}
            if activity.get("type") == "message" and sender.get("id") == probe.probe_id:
                return replace(sent, sent_at=activity["timestamp"])
        return sent


async def open_target(context: TargetContext) -> SandboxConnector:
    server = None
    url = context.endpoint
    if url is None:
        server = _start_in_process(context)
        url = server.url
    try:
        headers = admin.headers(context.env)  # the admin token, when one is set
        async with httpx.AsyncClient(base_url=url, timeout=10.0, headers=headers) as client:
            accounts = await _register(client, context)
            clock, rtt = await _clock(client)
    except BaseException as exc:
        if server is not None:
            server.stop()
        if isinstance(exc, httpx.HTTPError):
            raise RunFailed(f"sandbox at {url} is unreachable: {exc}") from None
        raise
    secrets = _secrets(context, accounts)
    connector = SandboxConnector(
        clock=clock,
        x=_x_connector(context, accounts, clock, url),
        bots=_bots_connector(secrets, clock, url),
        secrets=secrets,
        base_url=url,
        server=server,
    )
    connector.start_given = server is not None and context.start is not None
    if connector.start_given and connector.x is not None:  # probes dated up to MAX_LATE_S
        connector.x.search_lag_s = MAX_LATE_S * clock.speed  # back: DMs read that far back
    speed = clock.speed
    connector.settle_s = 2.0 + 4 * rtt * speed  # platform seconds the clock estimate may be off
    connector.poll_every_s = min(max(60.0 / speed, 0.25), 60.0)
    connector.poll_max_s = connector.poll_every_s * 5
    return connector


def _x_connector(context: TargetContext, accounts: dict, clock, url: str) -> XConnector | None:
    """The X connector for the run's x probes, with their personas' sandbox tokens (None
    without x probes)."""
    personas = {p.persona_handle for p in context.probes if p.channel == "x"}
    if not personas:
        return None
    tokens = accounts["tokens"]
    return XConnector(
        clock=clock,
        credentials={handle: Credential("sandbox", tokens[handle]) for handle in personas},
        brand_handles=_x_handles(context.suite),
        base_url=url,
        max_query_length=4096,
        search_lag_s=0.0,
        timeout_s=5.0,
        backoff_s=0.05,
    )


def _x_handles(suite) -> list[str]:
    """The brands' handles and aliases on x, lower-cased (the accounts registered on X)."""
    return sorted(
        {
            handle.lower()
            for brand in suite.brands
            if "x" in brand.handles
            for handle in (brand.handles["x"], *brand.aliases.get("x", []))
        }
    )


def _secrets(context: TargetContext, accounts: dict) -> dict[tuple[str, str], str]:
    """The Direct Line secret of each (brand, chat channel) the run's probes go to."""
    bots = accounts.get("bots", {})
    pairs = {(p.brand, p.channel) for p in context.probes if p.channel in CHAT_CHANNELS}
    missing = sorted(f"{b} on {c}" for b, c in pairs if c not in bots.get(b, {}))
    if missing:
        raise RunFailed(f"the sandbox has no bot for {', '.join(missing)}")
    return {(brand, channel): bots[brand][channel] for brand, channel in sorted(pairs)}


def _bots_connector(secrets: dict, clock, url: str) -> BotsConnector | None:
    """A BotsConnector whose every endpoint is a bot of the sandbox, over Direct Line, its
    secret in a made-up variable of its own environment (None without chat probes)."""
    from socialbench.scenarios.models import Endpoint

    if not secrets:
        return None
    env: dict[str, str] = {}
    endpoints: dict[str, dict] = defaultdict(dict)
    for number, ((brand, channel), secret) in enumerate(secrets.items()):
        variable = f"SB_SANDBOX_BOT_{number}"
        env[variable] = secret
        endpoints[brand][channel] = Endpoint.model_validate(
            {"protocol": "directline", "url": url, "auth": {"env": variable}, "timeout": 5.0}
        )
    suite = _BotSuite(tuple(_BotBrand(brand, found) for brand, found in endpoints.items()))
    # aiohttp's pool, as the X connector's: a fraction of httpx's CPU per request, which a
    # sped-up sandbox needs (bench/README.md)
    return BotsConnector(suite, env, clock=clock, transport=default_transport())


def _start_in_process(context: TargetContext):
    from socialbench.probing import sandbox

    truth = context.out_dir / TRUTH_FILE if context.out_dir is not None else None
    world = sandbox.World.create(
        profile_path=context.profile, seed=context.seed, speed=context.speed, truth_path=truth,
        start=context.start,
    )  # fmt: skip
    token = admin.token_from(context.env)
    return sandbox.serve_in_thread(world, host="127.0.0.1", port=0, admin_token=token)


async def _register(client: httpx.AsyncClient, context: TargetContext) -> dict:
    from socialbench import scenarios

    body = scenarios.sandbox_accounts(context.suite)
    body["answers"] = {
        p.probe_id: text for p in context.probes if (text := answer_text(p)) is not None
    }
    # each probe's course drawn from its stable key: the same whatever the run is called
    body["keys"] = {p.probe_id: p.key for p in context.probes if p.key}
    response = await client.post("/_sandbox/accounts", json=body)
    if response.status_code != 200:
        raise RunFailed(f"sandbox refused the accounts: {response.status_code} {response.text}")
    return response.json()


async def _clock(client: httpx.AsyncClient) -> tuple[SpeedClock, float]:
    """The sandbox clock, estimated from its answer at the midpoint of the request."""
    before = time.monotonic()
    reading = (await client.get("/_sandbox/clock")).json()
    after = time.monotonic()
    clock = SpeedClock(reading["epoch"], reading["speed"], anchor=(before + after) / 2)
    return clock, after - before


def answer_text(probe: Probe) -> str | None:
    """A reply that satisfies the probe's answer key, for the sandbox's brands to give."""
    key = probe.expect.resolution
    if key is None or key.is_empty():
        return None
    if key.example:
        return key.example
    parts = list(key.keywords)
    if key.link_domain:
        parts.append(f"https://{key.link_domain}/help")
    return " ".join(parts) or None

"""The sandbox target: the X connector pointed at the simulated platform.

Without ``--endpoint`` the sandbox starts in this process on a free loopback port and writes
its ground truth to ``DIR/sandbox_truth.jsonl``; with one, a running ``socialbench sandbox
serve`` is used. Either way the suite's brands and personas are registered first (the
sandbox's only non-X endpoint), and every probe then goes over real HTTP through the same
``XConnector`` that talks to api.x.com.
"""

from __future__ import annotations

import time

import httpx

from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import RunFailed, SpeedClock
from socialbench.probing.connectors.x import Credential, XConnector
from socialbench.probing.probes import Probe

CHANNELS = ("x",)  # the simulated platform speaks X
LIVE = False  # simulated: no credentials


TRUTH_FILE = "sandbox_truth.jsonl"


class SandboxConnector(XConnector):
    """An XConnector that also stops the in-process sandbox it started."""

    def __init__(self, *, server=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._server = server

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None


async def open_target(context: TargetContext) -> SandboxConnector:
    server = None
    url = context.endpoint
    if url is None:
        server = _start_in_process(context)
        url = server.url
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
            accounts = await _register(client, context)
            clock, rtt = await _clock(client)
    except httpx.HTTPError as exc:
        if server is not None:
            server.stop()
        raise RunFailed(f"sandbox at {url} is unreachable: {exc}") from None
    credentials = {
        handle: Credential("sandbox", token) for handle, token in accounts["tokens"].items()
    }
    connector = SandboxConnector(
        server=server,
        clock=clock,
        credentials={p.persona_handle: credentials[p.persona_handle] for p in context.probes},
        brand_handles=context.brand_handles(),
        base_url=url,
        max_query_length=4096,
        search_lag_s=0.0,
        timeout_s=5.0,
        backoff_s=0.05,
    )
    speed = clock.speed
    connector.settle_s = 2.0 + 4 * rtt * speed  # platform seconds the clock estimate may be off
    connector.poll_every_s = min(max(60.0 / speed, 0.25), 60.0)
    connector.poll_max_s = connector.poll_every_s * 5
    return connector


def _start_in_process(context: TargetContext):
    from socialbench.probing import sandbox

    truth = context.out_dir / TRUTH_FILE if context.out_dir is not None else None
    world = sandbox.World.create(
        profile_path=context.profile, seed=context.seed, speed=context.speed, truth_path=truth
    )
    return sandbox.serve_in_thread(world, host="127.0.0.1", port=0)


async def _register(client: httpx.AsyncClient, context: TargetContext) -> dict:
    from socialbench import scenarios

    body = scenarios.sandbox_accounts(context.suite)
    body["answers"] = {
        p.probe_id: text for p in context.probes if (text := answer_text(p)) is not None
    }
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

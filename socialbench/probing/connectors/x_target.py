"""The live X target: the X API v2 at api.x.com, personas' OAuth 2.0 user tokens from the
environment variables the suite names."""

from __future__ import annotations

from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import WallClock
from socialbench.probing.connectors.x import Credential, XConnector

CHANNELS = ("x",)  # the X API
LIVE = True


BASE_URL = "https://api.x.com"


async def open_target(context: TargetContext) -> XConnector:
    credentials = {}
    for probe in context.probes:
        if probe.channel == "x" and probe.credential:
            token = context.env.get(probe.credential, "")
            credentials[probe.persona_handle] = Credential(probe.credential, token)
    connector = XConnector(
        clock=WallClock(),
        credentials=credentials,
        brand_handles=context.brand_handles(),
        base_url=context.endpoint or BASE_URL,
    )
    connector.poll_every_s = 60.0
    connector.poll_max_s = 600.0
    connector.settle_s = connector.search_lag_s
    return connector

"""Suite files in, probes out: customer queries replayed against brand accounts.

A suite file names its brands (a handle per channel, alias handles, support hours), its
personas (the customer accounts that send, with follower counts and the *names* of the
environment variables holding their tokens) and its queries. Each query's text is a Jinja
template; ``expand`` renders it for every variant, combination of the query's variables,
brand, channel, surface, persona and repetition, giving one ``Probe`` each::

    suite: demo
    window: 24h
    repetitions: 1
    pacing: {gap: 2m, concurrency: 8, spread: 24h}
    brands:
      - id: acme
        name: Acme Air
        handles: {x: AcmeAir}
        aliases: {x: [AcmeAirHelp]}
        hours: {timezone: Europe/London, weekly: {mon: ["09:00-17:00"]}, holidays: GB}
    personas:
      - id: small
        handles: {x: jo_small}
        followers: 250
        credentials: {x: SB_X_TOKEN_SMALL}
    queries:
      - id: late-delivery
        category: delivery
        channels: [x]
        surfaces: [public]
        text: "my order {{ order }} hasn't arrived, can you help?"
        variables: {order: ["#1234", "#5678"]}
        expect: {deadline: 4h, resolution: {keywords: [refund]}}

Problems are reported as ``file:line: field.path: problem``, every one at once.
"""

from __future__ import annotations

from socialbench.scenarios.expand import (
    brand_book,
    check_credentials,
    concurrency,
    counts,
    credential_variables,
    expand,
    pacing,
    sandbox_accounts,
    window_s,
)
from socialbench.scenarios.load import is_suite, load_suite
from socialbench.scenarios.models import CHANNELS, SURFACES, Suite
from socialbench.scenarios.starter import write_starter

__all__ = [
    "CHANNELS",
    "SURFACES",
    "Suite",
    "brand_book",
    "check_credentials",
    "concurrency",
    "counts",
    "credential_variables",
    "expand",
    "is_suite",
    "json_schema",
    "load_suite",
    "pacing",
    "sandbox_accounts",
    "window_s",
    "write_starter",
]


def json_schema() -> dict:
    """The suite file's JSON Schema, for editors and ``socialbench schema``."""
    schema = Suite.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}

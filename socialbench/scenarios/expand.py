"""From a loaded suite to what the rest of socialbench uses: probes, counts, credentials, the
brand book."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from socialbench.conversations import brands
from socialbench.errors import ConfigError
from socialbench.probing.pacing import Pacing
from socialbench.probing.probes import (
    Expectation,
    Probe,
    Resolution,
    marker,
    probe_id,
    run_probe_id,
)
from socialbench.scenarios import load
from socialbench.scenarios.models import CHANNELS, Brand, Expect, Suite, secret_problem
from socialbench.scenarios.render import Entry
from socialbench.yamlfile import field, report


def expand(suite: Suite, *, run: str | None = None) -> list[Probe]:
    """Every probe of the suite, ordered by query, variant, variable combination, brand,
    channel, surface, persona and repetition; ``run`` labels the run (see
    ``probes.run_probe_id``)."""
    probes = []
    for entry in load.entries(suite):
        expect = _expectation(entry.query.expect)
        for repetition in range(suite.repetitions):
            probes.append(_probe(suite.suite, entry, repetition, expect, run))
    return probes


def _probe(
    suite: str, entry: Entry, repetition: int, expect: Expectation, run: str | None
) -> Probe:
    key = probe_id(
        suite=suite,
        scenario=entry.query.id,
        variant=entry.variant,
        variables=entry.variables,
        brand=entry.brand.id,
        channel=entry.channel,
        surface=entry.surface,
        persona=entry.persona.id,
        repetition=repetition,
    )
    pid = run_probe_id(key, run)
    return Probe(
        probe_id=pid,
        suite=suite,
        scenario=entry.query.id,
        category=entry.query.category,
        brand=entry.brand.id,
        brand_handle=entry.brand.handles[entry.channel],
        channel=entry.channel,
        surface=entry.surface,
        persona=entry.persona.id,
        persona_handle=entry.persona.handles[entry.channel],
        followers=entry.persona.followers,
        credential=entry.persona.credentials.get(entry.channel),
        text=f"{entry.text} {marker(pid)}",
        variant=entry.variant,
        repetition=repetition,
        variables=dict(entry.variables),
        expect=expect,
        key=key,
        dialogue=entry.dialogue,
    )


def _expectation(expect: Expect) -> Expectation:
    key = expect.resolution
    resolution = None
    if key is not None:
        resolution = Resolution(
            keywords=tuple(key.keywords),
            patterns=tuple(key.patterns),
            link_domain=key.link_domain,
            example=key.example,
        )
    return Expectation(
        reply=expect.reply,
        deadline_s=expect.deadline,
        link=expect.link,
        dm=expect.dm,
        resolution=resolution,
    )


def counts(probes: list[Probe]) -> list[tuple[str, str, str, int]]:
    """(brand, channel, surface, number of probes), sorted."""
    tally = Counter((p.brand, p.channel, p.surface) for p in probes)
    return sorted((*key, n) for key, n in tally.items())


def check_credentials(suite: Suite, probes: list[Probe], env: Mapping[str, str]) -> None:
    """Raise ConfigError naming every persona and channel of ``probes`` whose credential
    variable is missing from the suite or not set (or empty) in ``env``. Values never appear."""
    index = {persona.id: number for number, persona in enumerate(suite.personas)}
    needed = sorted(
        {(index[p.persona], p.channel) for p in probes},
        key=lambda pair: (pair[0], CHANNELS.index(pair[1])),
    )
    found = []
    for number, channel in needed:
        persona = suite.personas[number]
        name = persona.credentials.get(channel)
        if name is None:
            loc: tuple = ("personas", number, "credentials")
            problem = f"persona {persona.id!r} names no environment variable for {channel}"
        elif (problem := secret_problem(env, name)) is not None:
            loc = ("personas", number, "credentials", channel)
        else:
            continue
        found.append((suite.line(loc), field(loc), problem))
    if found:
        raise ConfigError(report(suite.path, found))


def brand_book(suite: Suite) -> brands.BrandBook:
    """The suite's brands as a brand book: name = brand id, every handle and alias."""
    return brands.BrandBook(
        brands=[
            brands.Brand(name=brand.id, handles=_every_handle(brand), hours=brand.hours)
            for brand in suite.brands
        ]
    )


def _every_handle(brand: Brand) -> list[str]:
    handles = [*brand.handles.values(), *(h for hs in brand.aliases.values() for h in hs)]
    first: dict[str, str] = {}
    for handle in handles:
        first.setdefault(handle.lower(), handle)
    return list(first.values())


def window_s(suite: Suite) -> float:
    """How long each probe is watched, in seconds."""
    return suite.window


def pacing(suite: Suite) -> Pacing:
    """The suite's pacing for the scheduler and the runner (platform seconds)."""
    return Pacing(gap_s=suite.pacing.gap, spread_s=suite.pacing.spread, window_s=suite.window)


def concurrency(suite: Suite) -> int:
    """How many requests a run keeps in flight."""
    return suite.pacing.concurrency


def credential_variables(suite: Suite) -> list[str]:
    """The names of every environment variable the personas name, sorted, each once."""
    return sorted({name for p in suite.personas for name in p.credentials.values()})


def sandbox_accounts(suite: Suite) -> dict:
    """The body of the sandbox's ``POST /_sandbox/accounts``: brands and personas on x, and
    the brands' chatbots (their handles on the chat channels) with their support hours."""
    chat = ("messenger", "whatsapp", "webchat")
    return {
        "brands": [
            {
                "id": brand.id,
                "name": brand.display_name,
                "handle": brand.handles["x"],
                "aliases": [h for h in brand.aliases.get("x", []) if h != brand.handles["x"]],
                "hours": brand.hours.model_dump(mode="json") if brand.hours else None,
            }
            for brand in suite.brands
            if "x" in brand.handles
        ],
        "personas": [
            {"handle": p.handles["x"]} | ({"followers": p.followers} if p.followers else {})
            for p in suite.personas
            if "x" in p.handles
        ],
        "bots": [
            {
                "id": brand.id,
                "name": brand.display_name,
                "handles": {c: h for c, h in brand.handles.items() if c in chat},
                "hours": brand.hours.model_dump(mode="json") if brand.hours else None,
            }
            for brand in suite.brands
            if any(c in chat for c in brand.handles)
        ],
    }

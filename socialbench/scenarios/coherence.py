"""Coherence across a suite's values: ids, references, handles per channel, answer keys.

Each check yields ``(loc, problem)`` pairs; ``loc`` is the YAML path the problem is reported at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from socialbench.durations import format_seconds
from socialbench.probing.probes import link_pattern
from socialbench.scenarios import patterns
from socialbench.scenarios.models import PRIVATE_ONLY, AnswerKey, Query, Suite

Problem = tuple[tuple, str]

RESERVED = frozenset({"brand", "persona", "query", "channel", "surface"})
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_X_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def problems(suite: Suite) -> Iterator[Problem]:
    """Every cross-value problem of ``suite``."""
    yield from _duplicates(suite)
    yield from _handle_owners(suite)
    yield from _x_handles(suite)
    yield from _credentials(suite)
    for index, query in enumerate(suite.queries):
        yield from _query(suite, ("queries", index), query)
    yield from _thresholds(suite)


SCOPED_TAGS = ("brand", "channel", "surface", "category", "scenario", "persona")


def tag_values(suite: Suite) -> dict[str, set[str]]:
    """The values each probe tag can take in a run of ``suite`` (what its queries send)."""
    values: dict[str, set[str]] = {tag: set() for tag in SCOPED_TAGS}
    for query in suite.queries:
        values["category"].add(query.category)
        values["scenario"].add(query.id)
        values["brand"].update(query.brands or [b.id for b in suite.brands])
        values["persona"].update(query.personas or [p.id for p in suite.personas])
        for channel in query.channels:
            values["channel"].add(channel)
            values["surface"].update(surfaces(query, channel))
    return values


def _thresholds(suite: Suite) -> Iterator[Problem]:
    """The ``thresholds:`` grammar, and scopes naming values no probe of the suite has
    (follower tiers are checked at run time, against the run's ``--tiers``)."""
    from socialbench.verdict.thresholds import grammar, sources

    yield from sources.suite_problems(suite.thresholds)
    known = tag_values(suite)
    keys = {loc[0]: threshold for loc, threshold in grammar.section(suite.thresholds)[0]}
    for key, threshold in keys.items():
        for tag, value in threshold.scope:
            names = {v.lower(): v for v in known.get(tag, ())}
            if tag in known and value.lower() not in names:
                choices = ", ".join(sorted(names.values())) or "none"
                yield (
                    ("thresholds", key),
                    f"no probe of this suite has {tag} {value!r} ({tag}s: {choices})",
                )


def surfaces(query: Query, channel: str) -> list[str]:
    """The surfaces ``query`` is sent on over ``channel``, in the order written."""
    wanted = query.surfaces or ([query.surface] if query.surface else None)
    if wanted is None:
        return ["private" if channel in PRIVATE_ONLY else "public"]
    return [s for s in wanted if not (s == "public" and channel in PRIVATE_ONLY)]


def _duplicates(suite: Suite) -> Iterator[Problem]:
    for section, items in (
        ("brands", suite.brands),
        ("personas", suite.personas),
        ("queries", suite.queries),
    ):
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.id in first:
                where = suite.line((section, first[item.id], "id"))
                yield (section, index, "id"), f"duplicate id {item.id!r} (first at line {where})"
            first.setdefault(item.id, index)


def _handle_owners(suite: Suite) -> Iterator[Problem]:
    """A handle speaks for one account on every channel, as in the brand book."""
    owner: dict[str, str] = {b.id: f"brand {b.id!r}" for b in suite.brands}
    for loc, handle in _handles(suite):
        section, index = loc[0], loc[1]
        account = suite.brands[index] if section == "brands" else suite.personas[index]
        claimant = f"{section[:-1]} {account.id!r}"
        other = owner.setdefault(handle.lower(), claimant)
        if other != claimant:
            yield loc, f"handle {handle!r} already belongs to {other}"


def _x_handles(suite: Suite) -> Iterator[Problem]:
    """X handles are 1 to 15 letters, digits and underscores."""
    for loc, handle in _handles(suite):
        if loc[3] == "x" and not _X_HANDLE_RE.match(handle):
            yield loc, f"{handle!r} is not an X handle (1 to 15 letters, digits and _)"


def _handles(suite: Suite) -> Iterator[tuple[tuple, str]]:
    """Every handle and alias of every brand and persona, at its loc (the channel is loc[3])."""
    for index, brand in enumerate(suite.brands):
        for channel, handle in brand.handles.items():
            yield ("brands", index, "handles", channel), handle
        for channel, handles in brand.aliases.items():
            for number, handle in enumerate(handles):
                yield ("brands", index, "aliases", channel, number), handle
    for index, persona in enumerate(suite.personas):
        for channel, handle in persona.handles.items():
            yield ("personas", index, "handles", channel), handle


def _credentials(suite: Suite) -> Iterator[Problem]:
    for index, persona in enumerate(suite.personas):
        for channel in persona.credentials:
            if channel not in persona.handles:
                loc = ("personas", index, "credentials", channel)
                yield loc, f"persona {persona.id!r} has no handle on {channel}"


def _query(suite: Suite, at: tuple, query: Query) -> Iterator[Problem]:
    if query.surface is not None and query.surfaces is not None:
        yield (*at, "surface"), "give either surface or surfaces, not both"
    yield from _repeats((*at, "channels"), query.channels, "channel")
    yield from _references(at, query.brands, [b.id for b in suite.brands], "brand")
    yield from _references(at, query.personas, [p.id for p in suite.personas], "persona")
    yield from _channels(suite, at, query)
    yield from _variables((*at, "variables"), query.variables)
    yield from _expect(suite, (*at, "expect"), query)


def _repeats(at: tuple, values: list[str], noun: str) -> Iterator[Problem]:
    for index, value in enumerate(values):
        if value in values[:index]:
            yield (*at, index), f"{noun} {value!r} is listed twice"


def _references(
    at: tuple, chosen: list[str] | None, known: list[str], noun: str
) -> Iterator[Problem]:
    section = f"{noun}s"
    for index, ref in enumerate(chosen or []):
        if ref not in known:
            names = ", ".join(dict.fromkeys(known))
            yield (*at, section, index), f"unknown {noun} {ref!r} (known: {names})"
    yield from _repeats((*at, section), chosen or [], noun)


def _channels(suite: Suite, at: tuple, query: Query) -> Iterator[Problem]:
    brands = [b for b in suite.brands if query.brands is None or b.id in query.brands]
    personas = [p for p in suite.personas if query.personas is None or p.id in query.personas]
    for index, channel in enumerate(query.channels):
        loc = (*at, "channels", index)
        if not surfaces(query, channel):
            yield loc, f"{channel} has no public surface (use surface: private)"
        for brand in brands:
            if channel not in brand.handles:
                yield loc, f"brand {brand.id!r} has no handle on {channel}"
        for persona in personas:
            if channel not in persona.handles:
                yield loc, f"persona {persona.id!r} has no handle on {channel}"


def _variables(at: tuple, variables: dict) -> Iterator[Problem]:
    for name in variables:
        if not _NAME_RE.match(name):
            yield (*at, name), f"variable name {name!r} is not an identifier (letters, digits, _)"
        elif name in RESERVED:
            yield (*at, name), f"variable name {name!r} is reserved ({', '.join(sorted(RESERVED))})"


def _expect(suite: Suite, at: tuple, query: Query) -> Iterator[Problem]:
    expect = query.expect
    if expect.deadline is not None and expect.deadline > suite.window:
        yield (
            (*at, "deadline"),
            (
                f"the deadline ({format_seconds(expect.deadline)}) is longer than the suite's "
                f"window ({format_seconds(suite.window)})"
            ),
        )
    key = expect.resolution
    if key is None:
        return
    if not (key.keywords or key.patterns or key.link_domain):
        yield (*at, "resolution"), "give at least one of keywords, patterns, link_domain"
    elif key.example is not None and not satisfies(key, key.example):
        yield (*at, "resolution", "example"), "the example does not satisfy the answer key"


def satisfies(key: AnswerKey, text: str) -> bool:
    """Whether ``text`` matches the answer key (any keyword, pattern or link domain)."""
    folded = text.casefold()
    return (
        any(word.casefold() in folded for word in key.keywords)
        or any(patterns.search(p, text) for p in key.patterns)
        or (key.link_domain is not None and _links_to(text, key.link_domain))
    )


def _links_to(text: str, domain: str) -> bool:
    return re.search(link_pattern(domain), text, re.IGNORECASE) is not None

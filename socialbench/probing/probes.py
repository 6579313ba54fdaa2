"""A probe of a probe run: one query, sent by one persona, to one brand, on one channel.

``scenarios.expand`` turns a suite into probes; the runner sends them through a connector;
the sandbox and the connectors find a probe again by the marker in its text.

Every probe's text ends with a marker ``(ref:p0123456789a)`` carrying its ``probe_id``:
platforms reject duplicate posts, so repetitions must differ, and the marker lets a resumed
run find a probe that was sent but whose platform id was never stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

PUBLIC = "public"
PRIVATE = "private"

REPLY_REQUIRED = "required"
REPLY_OPTIONAL = "optional"
# link and dm expectations
ALLOWED = "allowed"
FORBIDDEN = "forbidden"
REQUIRED = "required"

MARKER_RE = re.compile(r"\(ref:(p[0-9a-f]{11})\)")


def probe_id(
    *,
    suite: str,
    scenario: str,
    variant: int,
    variables: dict,
    brand: str,
    channel: str,
    surface: str,
    persona: str,
    repetition: int,
) -> str:
    """A suite entry's stable key: the same entry always gives the same key ("p" + 11 hex
    digits); see ``run_probe_id`` for the id a probe carries in one run."""
    key = json.dumps(
        [suite, scenario, variant, variables, brand, channel, surface, persona, repetition],
        sort_keys=True,
        ensure_ascii=True,
    )
    return "p" + hashlib.sha256(key.encode()).hexdigest()[:11]


def question_key(probe: Probe) -> str:
    """The question a probe asks, the same on every channel and surface it is sent on: its
    suite entry's key without the channel and surface ("q" + 11 hex digits). Cross-channel
    consistency compares a question's answers across channels."""
    key = json.dumps(
        [probe.suite, probe.scenario, probe.variant, probe.variables, probe.brand,
         probe.persona, probe.repetition],
        sort_keys=True, ensure_ascii=True, default=str,
    )  # fmt: skip
    return "q" + hashlib.sha256(key.encode()).hexdigest()[:11]


def run_probe_id(key: str, run: str | None) -> str:
    """The id a probe carries in one run: its suite entry's ``key`` mixed with the run's
    label, so that running the same suite again (next month, against the same brands) sends
    texts the platform has not seen before. Without a label the key itself."""
    if not run:
        return key
    return "p" + hashlib.sha256(f"{key}|{run}".encode()).hexdigest()[:11]


def link_pattern(domain: str) -> str:
    """A regular expression for a link to ``domain`` or a subdomain, with or without a
    scheme, not an e-mail address (use case-insensitively)."""
    return r"(?<![\w.@-])(?:https?://)?(?:[a-z0-9-]+\.)*" + re.escape(domain) + r"(?![\w-]|\.\w)"


def marker(pid: str) -> str:
    """The marker appended to a probe's text."""
    return f"(ref:{pid})"


def find_marker(text: str) -> str | None:
    """The probe id marked in ``text``, or None."""
    found = MARKER_RE.search(text or "")
    return found.group(1) if found else None


@dataclass(frozen=True)
class Resolution:
    """A query's answer key: the rule holds for a brand message matching any of these."""

    keywords: tuple[str, ...] = ()  # case-insensitive substrings
    patterns: tuple[str, ...] = ()  # RE2 regular expressions, case-insensitive
    link_domain: str | None = None  # a URL on this domain (or a subdomain)
    example: str | None = None  # a reply text that satisfies the key (the sandbox uses it)

    def is_empty(self) -> bool:
        return not (self.keywords or self.patterns or self.link_domain)


@dataclass(frozen=True)
class Expectation:
    """What a query expects of a brand's answer."""

    reply: str = REPLY_REQUIRED  # required | optional
    deadline_s: float | None = None
    link: str = ALLOWED  # allowed | forbidden | required
    dm: str = ALLOWED  # allowed | forbidden | required
    resolution: Resolution | None = None


@dataclass(frozen=True)
class Probe:
    """One expanded probe; everything a runner, connector or report needs to know of it."""

    probe_id: str  # unique to the run (see run_probe_id)
    suite: str
    scenario: str  # the query id
    category: str
    brand: str  # brand id
    brand_handle: str  # the brand's handle on this channel (no "@")
    channel: str  # x, facebook, ...
    surface: str  # public | private
    persona: str  # persona id
    persona_handle: str  # the persona's handle on this channel (no "@")
    followers: int | None  # the persona's follower count as configured
    credential: str | None  # name of the environment variable holding the persona's token
    text: str  # rendered text, marker included
    variant: int = 0
    repetition: int = 0
    variables: dict = field(default_factory=dict, hash=False, compare=False)
    expect: Expectation = field(default_factory=Expectation)
    key: str = ""  # the suite entry's stable id, the same in every run of the suite
    # a scripted dialogue after the text: ("me", text, 0) or ("bot", pattern, within_s)
    dialogue: tuple[tuple[str, str, float], ...] = ()

"""A brand's decision for one probe: whether, when and what it answers.

Everything random is drawn from `random.Random` seeded with a hash of (seed, probe id), in
a fixed order whatever the outcome, so a probe's decision never depends on arrival order
or on other probes, and changing one knob (say the persona's follower count) moves the
same draws against new thresholds: more followers can only make a reply likelier and
sooner.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from socialbench.probing.sandbox import phrases
from socialbench.probing.sandbox.business import BusinessClock
from socialbench.probing.sandbox.profile import Behaviour
from socialbench.probing.sandbox.rng import seeded

HABITS = ("answer", "link", "dm", "phone", "email")


@dataclass(frozen=True)
class Planned:
    """One brand message: when, what, and which alias (index) posts it, if any."""

    at_ms: int
    parts: dict[str, int]
    types: tuple[str, ...]
    alias: int | None


@dataclass(frozen=True)
class Situation:
    """What a decision may depend on besides the seed and probe id."""

    behaviour: Behaviour
    followers: int
    probe_ms: int
    private: bool
    aliases: int  # how many alias accounts the brand has
    business: BusinessClock | None
    answer_types: tuple[str, ...] | None  # the registered answer's own types, None if none


def plan(key: str, *, seed: int, situation: Situation) -> list[Planned]:
    """The brand messages answering a probe (none, one, or a reply and a follow-up);
    ``key``: the probe's stable key when the run gave it (the same in every run of the
    suite), else its id."""
    rng = seeded(seed, "probe", key)
    behaviour = situation.behaviour
    factor = behaviour.follower_factor(situation.followers)
    replies = rng.random() < min(1.0, behaviour.reply_rate * factor)
    first = behaviour.latency.sample(rng) / factor
    follows = rng.random() < behaviour.follow_up_rate
    second = behaviour.latency.sample(rng) / factor
    if not replies:
        return []
    clock = situation.business if behaviour.honour_hours else None
    out: list[Planned] = []
    at = situation.probe_ms
    for latency in (first, second) if follows else (first,):
        moment = later(at, latency, clock)
        if moment is None:
            break
        at = moment
        out.append(message(rng, at, situation))
    return out


def later(start_ms: int, seconds: float, clock: BusinessClock | None) -> int | None:
    """``seconds`` after ``start_ms``, in support hours when a clock is given; >= 1 ms."""
    if clock is None:
        return start_ms + max(1, round(seconds * 1000.0))
    end = clock.add(start_ms, seconds)
    return None if end is None else max(end, start_ms + 1)


def message(rng: random.Random, at_ms: int, situation: Situation) -> Planned:
    """One brand message at ``at_ms``: its phrases, types and alias, drawn in a fixed order."""
    habits = situation.behaviour.habits
    ack_draw = rng.random()
    draws = [rng.random() for _ in HABITS]
    alias_draw, alias_pick = rng.random(), rng.random()
    ack_only = ack_draw < habits.ack_only
    drawn = tuple(
        h for h, u in zip(HABITS, draws, strict=True) if not ack_only and u < getattr(habits, h)
    )
    if situation.answer_types is None:
        drawn = tuple(h for h in drawn if h != "answer")
    parts = phrases.choose(rng, ack_only=ack_only, components=drawn)
    alias = None
    if situation.aliases and not situation.private:
        if alias_draw < situation.behaviour.alias_rate:
            alias = int(alias_pick * situation.aliases)
    return Planned(at_ms, parts, _types(ack_only, drawn, situation.answer_types), alias)


def _types(ack_only: bool, drawn: tuple[str, ...], answer_types: tuple[str, ...] | None):
    if ack_only:
        return ("ack_only",)
    found = set(drawn)
    if "answer" in found and answer_types:
        found.update(answer_types)
    return tuple(t for t in ("answer", "link", "dm", "phone", "email") if t in found)

"""The sandbox profile: how simulated brands behave, rate limits and injected faults.

A profile is a YAML file validated into `Profile` (errors name ``file:line: field: problem``).
``brands`` maps a brand id, or ``default``, to its behaviour; a listed brand's fields
override the ``default`` section's, field by field (``habits`` and ``bot`` too, field by
field), and both override the built-in values of `Behaviour`. A brand neither listed nor
covered by a ``default`` section gets a behaviour derived from the seed and its id
(`derived_behaviour`), so a demo without a profile shows a spread of brands. Durations are
``45m``, ``6h``, ``90s`` or a number of seconds. The built-in profile is ``Profile()``:
X-like limits, no faults, no brand sections.

Follower preference: a persona with ``f`` followers gets
``factor = clip(1 + follower_preference * log10(max(f, 1) / 1000), 0.25, 4)``; its reply
probability is ``min(1, reply_rate * factor)`` and each latency is divided by ``factor``
(1000 followers is neutral; 100,000 followers with preference 0.5 doubles the chance and
halves the wait).

A brand's ``bot`` section is its chatbot on the chat channels (messenger, whatsapp, webchat;
see `socialbench.probing.sandbox.chatbot`): the automated acknowledgement's delay, the chance
and delay of an automated question, the chance of a hand-off to a person and the wait for
one. The person writes as the brand's agents do on X (``habits``, ``follow_up_rate`` and
``latency`` for a follow-up, support hours when ``honour_hours``); ``reply_rate`` and
``follower_preference`` do not apply to chats.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import BeforeValidator, Field

from socialbench import durations
from socialbench.errors import UsageError
from socialbench.probing.sandbox.rng import seeded
from socialbench.yamlfile import load_model

EXAMPLE_PROFILE = """\
brands:
  default:                       # every brand not listed below
    reply_rate: 0.8              # probability of answering at all
    latency: {lognormal: {median: 45m, p90: 6h}}   # or {fixed: 10m} or {uniform: [1m, 2h]}
    honour_hours: true           # count latency in the brand's support hours only
    follow_up_rate: 0.2          # probability of a second message after the first
    habits:                      # per reply, independent, except ack_only (exclusive)
      link: 0.3
      dm: 0.4
      phone: 0.1
      email: 0.1
      ack_only: 0.15
      answer: 0.6                # include the probe's registered answer text
    follower_preference: 0.5     # >= 0; see the module documentation
    alias_rate: 0.1              # share of public replies posted by an alias handle
    bot:                         # the brand's chatbot on messenger, whatsapp and webchat
      ack: {uniform: [2s, 10s]}  # the automated acknowledgement, after the customer's message
      question_rate: 0.5         # probability that the bot then asks for an order number...
      question: {uniform: [5s, 20s]}   # ... this long after the acknowledgement
      handoff_rate: 0.7          # probability that a person takes the chat over at all
      handoff: {lognormal: {median: 15m, p90: 2h}}  # the wait for that person (hours honoured)
  acme:                          # overrides default for brand id "acme"
    reply_rate: 0.95
    latency: {fixed: 10m}
    habits: {link: 0.9}
    bot: {handoff_rate: 1.0}     # overrides default's bot section field by field
limits:                          # [requests, window seconds] per (token, endpoint)
  users_me: [75, 900]
  users_by: [900, 900]
  tweets_post: [300, 900]
  search_recent: [180, 900]
  dm_post: [200, 900]
  dm_events: [300, 900]
faults:                          # probabilities per /2 request, exclusive; all 0 by default
  rate_limit: 0.01               # spurious 429, reset after reset_s platform seconds
  reset_s: 60
  server_error: 0.01             # 503 before handling
  timeout: 0.005                 # handle, then hang timeout_s real seconds
  timeout_s: 10
  slow: 0.02                     # wait slow_s real seconds, then handle
  slow_s: 0.5
"""

ENDPOINT_KEYS = ("users_me", "users_by", "tweets_post", "search_recent", "dm_post", "dm_events")
EndpointKey = Literal[
    "users_me", "users_by", "tweets_post", "search_recent", "dm_post", "dm_events"
]
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "users_me": (75, 900.0),
    "users_by": (900, 900.0),
    "tweets_post": (300, 900.0),
    "search_recent": (180, 900.0),
    "dm_post": (200, 900.0),
    "dm_events": (300, 900.0),
}
FACTOR_RANGE = (0.25, 4.0)
_Z90 = 1.2815515655446004  # the standard normal's 90th percentile


def _duration(value: object) -> object:
    """A duration as seconds, text or a number alike: finite and at most a year."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return durations.parse(value)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("duration: ")) from None
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
# a wait in real seconds: finite, zero to a year
Wait = Annotated[float, Field(ge=0, le=durations.MAX_SECONDS, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Lognormal(pydantic.BaseModel, extra="forbid"):
    """A log-normal latency given by its median and 90th percentile."""

    median: Duration
    p90: Duration

    @pydantic.model_validator(mode="after")
    def _check(self) -> Lognormal:
        if self.p90 < self.median:
            raise ValueError("p90 must not be below the median")
        return self


class Latency(pydantic.BaseModel, extra="forbid"):
    """A latency distribution: exactly one of lognormal, fixed, uniform."""

    lognormal: Lognormal | None = None
    fixed: Duration | None = None
    uniform: tuple[Duration, Duration] | None = None

    @pydantic.model_validator(mode="after")
    def _check(self) -> Latency:
        given = [name for name in ("lognormal", "fixed", "uniform") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of lognormal, fixed, uniform")
        if self.uniform is not None and self.uniform[1] < self.uniform[0]:
            raise ValueError("uniform: the upper bound must not be below the lower")
        return self

    def sample(self, rng: random.Random) -> float:
        """One latency in seconds."""
        if self.fixed is not None:
            return self.fixed
        if self.uniform is not None:
            return rng.uniform(*self.uniform)
        assert self.lognormal is not None
        mu = math.log(self.lognormal.median)
        sigma = (math.log(self.lognormal.p90) - mu) / _Z90
        return math.exp(rng.gauss(mu, sigma))


class Habits(pydantic.BaseModel, extra="forbid"):
    """Probabilities, per reply, that it contains each component."""

    link: Probability = 0.2
    dm: Probability = 0.3
    phone: Probability = 0.05
    email: Probability = 0.05
    ack_only: Probability = 0.1
    answer: Probability = 0.7


class Bot(pydantic.BaseModel, extra="forbid"):
    """How a brand's chatbot (on messenger, whatsapp and webchat) answers a chat: an
    automated acknowledgement, perhaps an automated question, then perhaps a person."""

    ack: Latency = Latency(uniform=(2.0, 10.0))
    question_rate: Probability = 0.5
    question: Latency = Latency(uniform=(5.0, 20.0))
    handoff_rate: Probability = 0.7
    handoff: Latency = Latency(lognormal=Lognormal(median=900.0, p90=7200.0))


class Behaviour(pydantic.BaseModel, extra="forbid"):
    """How one brand answers probes (``bot``: in chats)."""

    reply_rate: Probability = 0.8
    latency: Latency = Latency(lognormal=Lognormal(median=2700.0, p90=21600.0))
    honour_hours: bool = True
    follow_up_rate: Probability = 0.1
    habits: Habits = Habits()
    follower_preference: float = Field(default=0.0, ge=0)
    alias_rate: Probability = 0.0
    bot: Bot = Bot()

    def follower_factor(self, followers: int) -> float:
        """The reply-rate multiplier and latency divisor for a persona's follower count."""
        raw = 1.0 + self.follower_preference * math.log10(max(followers, 1) / 1000.0)
        return min(max(raw, FACTOR_RANGE[0]), FACTOR_RANGE[1])


class Faults(pydantic.BaseModel, extra="forbid"):
    """Injected faults: exclusive probabilities per /2 request, and their parameters."""

    rate_limit: Probability = 0.0
    reset_s: Duration = 60.0
    server_error: Probability = 0.0
    timeout: Probability = 0.0
    timeout_s: Wait = 10.0
    slow: Probability = 0.0
    slow_s: Wait = 1.0

    @pydantic.model_validator(mode="after")
    def _check(self) -> Faults:
        if self.rate_limit + self.server_error + self.timeout + self.slow > 1:
            raise ValueError("the fault probabilities must add up to 1 at most")
        return self

    def thresholds(self) -> tuple[tuple[float, str], ...]:
        """Cumulative probabilities and kinds, for one uniform draw per request."""
        out, total = [], 0.0
        for kind in ("rate_limit", "server_error", "timeout", "slow"):
            total += getattr(self, kind)
            out.append((total, kind))
        return tuple(out)


class Profile(pydantic.BaseModel, extra="forbid"):
    """A whole sandbox profile."""

    brands: dict[str, Behaviour] = {}
    limits: dict[EndpointKey, tuple[Annotated[int, Field(gt=0)], Duration]] = {}
    faults: Faults = Faults()

    def limit(self, key: str) -> tuple[int, float]:
        """(requests, window seconds) of an endpoint key."""
        return self.limits.get(key, DEFAULT_LIMITS[key])  # type: ignore[call-overload]

    def behaviour(self, brand_id: str, *, seed: int) -> Behaviour:
        """The behaviour of a brand: its section over default, or derived from the seed."""
        default = self.brands.get("default")
        own = self.brands.get(brand_id) if brand_id != "default" else None
        if own is not None:
            return _overlay(default, own) if default is not None else own
        return default if default is not None else derived_behaviour(seed, brand_id)


def _overlay(base: pydantic.BaseModel, top: pydantic.BaseModel):
    """``base`` with the fields set explicitly in ``top``; nested Habits and Bot sections
    overlay too (a latency is replaced whole)."""
    update = {}
    for name in top.model_fields_set:
        value, old = getattr(top, name), getattr(base, name)
        update[name] = _overlay(old, value) if isinstance(value, Habits | Bot) else value
    return base.model_copy(update=update)


def derived_behaviour(seed: int, brand_id: str) -> Behaviour:
    """A varied behaviour from the seed and the brand id alone (for demos)."""
    rng = seeded(seed, "brand", brand_id)
    median = math.exp(rng.uniform(math.log(120), math.log(3 * 3600)))
    behaviour = Behaviour(
        reply_rate=rng.uniform(0.3, 0.95),
        latency=Latency(lognormal=Lognormal(median=median, p90=median * rng.uniform(2, 8))),
        honour_hours=rng.random() < 0.6,
        follow_up_rate=rng.uniform(0.0, 0.4),
        habits=Habits(
            link=rng.uniform(0.0, 0.6),
            dm=rng.uniform(0.0, 0.7),
            phone=rng.uniform(0.0, 0.3),
            email=rng.uniform(0.0, 0.3),
            ack_only=rng.uniform(0.0, 0.3),
            answer=rng.uniform(0.3, 0.9),
        ),
        follower_preference=rng.choice((0.0, 0.25, 0.5, 1.0)),
        alias_rate=rng.uniform(0.0, 0.3),
    )
    return behaviour.model_copy(update={"bot": _derived_bot(rng)})


def _derived_bot(rng: random.Random) -> Bot:
    """A varied chatbot, drawn after the rest of the brand's behaviour (so adding it changed
    none of those draws)."""
    ack = rng.uniform(1.0, 5.0)
    wait = math.exp(rng.uniform(math.log(60), math.log(2 * 3600)))
    return Bot(
        ack=Latency(uniform=(ack, ack + rng.uniform(1.0, 20.0))),
        question_rate=rng.uniform(0.2, 0.8),
        handoff_rate=rng.uniform(0.4, 0.95),
        handoff=Latency(lognormal=Lognormal(median=wait, p90=wait * rng.uniform(2, 6))),
    )


def load_profile(path: Path | str | None) -> Profile:
    """The profile in a YAML file, or the built-in one for None; ConfigError when invalid."""
    if path is None:
        return Profile()
    return load_model(Path(path), Profile)

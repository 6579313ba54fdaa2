"""Tests for the sandbox's pure parts: clock, ids, profile, phrases, query grammar, decisions."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

import pandas as pd
import pytest

from socialbench.errors import ConfigError, UsageError
from socialbench.measure.calendar import SupportHours, business_seconds
from socialbench.measure.classify import classify_text
from socialbench.probing.sandbox import query as q
from socialbench.probing.sandbox.business import BusinessClock
from socialbench.probing.sandbox.clock import (
    PlatformClock,
    Snowflakes,
    first_snowflake_after,
    iso_ms,
    parse_iso_ms,
    snowflake_ms,
)
from socialbench.probing.sandbox.decide import Situation, plan
from socialbench.probing.sandbox.phrases import (
    ACK,
    COMPONENTS,
    PHRASES,
    PLAIN,
    answer_types,
    render,
)
from socialbench.probing.sandbox.profile import (
    EXAMPLE_PROFILE,
    Behaviour,
    Habits,
    Latency,
    Lognormal,
    Profile,
    derived_behaviour,
    load_profile,
)
from socialbench.probing.sandbox.rng import seeded
from socialbench.probing.sandbox.timeline import Tweet

START = "2026-01-05T09:00:00Z"  # a Monday
START_MS = parse_iso_ms(START)
FLAGS = ("link", "dm", "phone", "email", "ack_only")
ANSWER = "Go to Settings > Account > Reset password and choose a new one."
OFFICE = SupportHours(
    timezone="Europe/London",
    weekly={d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
)

# ------------------------------------------------------------------------------- clock, ids


def test_iso_round_trip_keeps_milliseconds():
    ms = parse_iso_ms("2026-11-22T13:45:07.123Z")
    assert iso_ms(ms) == "2026-11-22T13:45:07.123Z"
    assert parse_iso_ms("2026-11-22T13:45:07.123") == ms  # no offset: UTC
    assert parse_iso_ms("2026-11-22T14:45:07.123+01:00") == ms


def test_clock_runs_at_speed_from_a_fixed_start_and_can_be_advanced():
    clock = PlatformClock(start=START, speed=0)
    assert clock.now_ms() == START_MS
    clock.advance(90.5)
    assert clock.now_ms() == START_MS + 90_500
    fast = PlatformClock(start=START, speed=1e6)
    assert fast.now_ms() >= START_MS
    with pytest.raises(UsageError, match="start"):
        PlatformClock(start="yesterday")


def test_snowflakes_are_unique_increase_with_time_and_encode_it():
    ids = Snowflakes()
    same = [ids.make(START_MS) for _ in range(5)]
    later = ids.make(START_MS + 1)
    assert same == sorted(same) and len(set(same)) == 5
    assert later > max(same)
    assert {snowflake_ms(i) for i in same} == {START_MS}
    assert max(same) < first_snowflake_after(START_MS) <= later


# ----------------------------------------------------------------------------------- profile


def test_example_profile_validates_and_overlays_brand_over_default(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(EXAMPLE_PROFILE, encoding="utf-8")
    profile = load_profile(path)
    acme, other = profile.behaviour("acme", seed=1), profile.behaviour("zeta", seed=1)
    assert acme.reply_rate == 0.95 and acme.latency.fixed == 600
    assert acme.habits.link == 0.9 and acme.habits.dm == 0.4  # habit by habit
    assert acme.follower_preference == 0.5  # from default
    assert other == profile.brands["default"]
    assert profile.limit("tweets_post") == (300, 900)
    assert profile.faults.reset_s == 60


def test_brands_without_a_section_get_a_seeded_spread():
    profile = Profile()
    rates = [profile.behaviour(f"brand{i}", seed=3).reply_rate for i in range(40)]
    assert all(0.3 <= r <= 0.95 for r in rates)
    assert max(rates) - min(rates) > 0.4
    assert profile.behaviour("brand1", seed=3) == derived_behaviour(3, "brand1")
    assert profile.behaviour("brand1", seed=4) != derived_behaviour(3, "brand1")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(
            "brands:\n  acme:\n    reply_rate: 1.5\n", ":3: brands.acme.reply_rate", id="rate"
        ),
        pytest.param(
            "brands:\n  default:\n    latency: {fixed: soon}\n",
            ":3: brands.default.latency.fixed",
            id="duration",
        ),
        pytest.param(
            "brands:\n  default:\n    latency: {fixed: 1m, uniform: [1m, 2m]}\n",
            ":3: brands.default.latency",
            id="two-latencies",
        ),
        pytest.param("limits:\n  tweets_get: [1, 2]\n", ":2: limits.tweets_get", id="endpoint"),
        pytest.param("faults:\n  slow: 0.7\n  timeout: 0.7\n", ":2: faults", id="fault-sum"),
        pytest.param("brands:\n  acme:\n    habbits: {}\n", ":3: brands.acme.habbits", id="extra"),
    ],
)
def test_invalid_profile_names_file_line_and_field(tmp_path, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert f"{path}{where}" in str(caught.value)


def test_latency_distributions_sample_as_specified():
    rng = seeded(1)
    lognormal = Latency(lognormal=Lognormal(median="45m", p90="6h"))
    draws = sorted(lognormal.sample(rng) for _ in range(4000))
    assert statistics.median(draws) == pytest.approx(2700, rel=0.1)
    assert draws[3600] == pytest.approx(21600, rel=0.15)
    assert Latency(fixed="10m").sample(rng) == 600
    assert all(60 <= Latency(uniform=["1m", "2h"]).sample(rng) <= 7200 for _ in range(100))


# ----------------------------------------------------------------------------------- phrases


def _flags(text: str) -> set[str]:
    return {name for name, hit in classify_text(text).items() if hit and name in FLAGS}


def _phrase_cases():
    for index in range(len(PHRASES[ACK])):
        yield pytest.param({ACK: index}, {"ack_only"}, id=f"ack-{index}")
    for index in range(len(PHRASES[PLAIN])):
        yield pytest.param({PLAIN: index}, set(), id=f"plain-{index}")
    for size in range(1, len(COMPONENTS) + 1):
        for combo in itertools.combinations(COMPONENTS, size):
            for variant in range(3):  # every phrase variant appears in some combination
                parts = {name: variant % len(PHRASES[name]) for name in combo}
                expected = set(combo) - {"answer"}
                yield pytest.param(parts, expected, id="+".join(combo) + f"-{variant}")


@pytest.mark.parametrize(("parts", "expected"), list(_phrase_cases()))
def test_every_reply_composition_is_classified_as_recorded(parts, expected):
    text = render(parts, persona="jo_99", brand_slug="acme-bank", answer=ANSWER)
    assert _flags(text) == expected, text


def test_answer_texts_are_typed_by_the_classifier():
    types = answer_types({"p1": ANSWER, "p2": "See https://acme.example/reset or DM us."})
    assert types == {"p1": (), "p2": ("link", "dm")}


# ------------------------------------------------------------------------------------- query


def _tweet(text: str, *, author="1", conversation=10, to=()) -> Tweet:
    return Tweet(11, text, author, START_MS, conversation, None, None, tuple(to))


@pytest.mark.parametrize(
    ("query", "text", "hit"),
    [
        pytest.param("router", "My ROUTER is down", True, id="word-case"),
        pytest.param("fix", "it was fixed", False, id="word-boundary"),
        pytest.param("ref:p0123456789a", "help (ref:p0123456789a)", True, id="marker-word"),
        pytest.param('"is down"', "My router IS DOWN now", True, id="phrase"),
        pytest.param('"is down"', "is not down", False, id="phrase-miss"),
        pytest.param("router wifi", "router ok", False, id="and"),
        pytest.param("router OR wifi", "wifi ok", True, id="or"),
        pytest.param("cat dog OR fish", "fish", True, id="and-binds-tighter"),
        pytest.param("cat (dog OR fish)", "fish", False, id="parentheses"),
        pytest.param("cat (dog OR fish)", "cat fish", True, id="parentheses-hit"),
        pytest.param("from:jo", "x", True, id="from"),
        pytest.param("from:@JO", "x", True, id="from-at-case"),
        pytest.param("from:al", "x", False, id="from-miss"),
        pytest.param("to:brand", "x", True, id="to"),
        pytest.param("conversation_id:10", "x", True, id="conversation"),
        pytest.param("conversation_id:10 OR conversation_id:12", "x", True, id="conversations"),
        pytest.param("conversation_id:12 (from:jo OR to:brand)", "x", False, id="nested"),
        pytest.param("router -is:retweet", "router down", True, id="not-retweet"),
        pytest.param("router -wifi", "router and wifi", False, id="not-word"),
        pytest.param('router -"is down"', "router IS DOWN", False, id="not-phrase"),
        pytest.param("router -(wifi OR modem)", "router modem", False, id="not-group"),
        pytest.param("router -(wifi OR modem)", "router ok", True, id="not-group-hit"),
        pytest.param("from:jo -to:brand", "x", False, id="not-operator"),
        pytest.param("router is:reply", "router", False, id="is-reply"),
        pytest.param("router is:retweet", "router", False, id="is-retweet"),
        pytest.param("has:links", "see https://acme.example/x", True, id="has-links"),
        pytest.param("has:mentions", "hi @brand", True, id="has-mentions"),
        pytest.param("has:media", "x", False, id="has-media"),
    ],
)
def test_query_matching(query, text, hit):
    ids = {"jo": "1", "brand": "2"}
    node = q.bind(q.parse(query), ids.get)
    assert q.matches(node, _tweet(text, to=("2",))) is hit


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("(router", id="open"),
        pytest.param("router)", id="close"),
        pytest.param("()", id="empty-group"),
        pytest.param("OR router", id="leading-or"),
        pytest.param("router OR", id="trailing-or"),
        pytest.param('"unterminated', id="quote"),
        pytest.param('""', id="empty-phrase"),
        pytest.param("conversation_id:abc", id="conversation-not-id"),
        pytest.param("from:", id="from-empty"),
        pytest.param("-router", id="negation-only"),
        pytest.param("-is:retweet OR -from:jo", id="negations-only-group"),
        pytest.param("is:foo", id="unknown-is"),
        pytest.param("lang:en", id="operator"),
        pytest.param("x" * 4097, id="too-long"),
    ],
)
def test_malformed_queries_are_refused(query):
    with pytest.raises(q.QueryError):
        q.parse(query)


def test_candidates_come_from_indexes_and_fall_back_to_a_scan_only_when_needed():
    index = {("conversation_id", "1"): [1, 2], ("conversation_id", "2"): [3], ("from", "9"): [2, 3]}

    def lookup(term):
        return index.get((term.kind, term.value), [])

    def found(query):
        return q.candidates(q.parse(query), lookup)

    assert found("conversation_id:1 OR conversation_id:2") == {1, 2, 3}
    assert found("(conversation_id:1 OR conversation_id:2) from:9") == {2, 3}
    assert found("conversation_id:1 router") == {1, 2}
    assert found("conversation_id:1 OR router") is None
    assert found("router") is None
    assert found("conversation_id:1 -is:retweet -from:9") == {1, 2}  # negations filter
    assert found("router -conversation_id:1") is None


# --------------------------------------------------------------------------------- decisions


def _situation(behaviour: Behaviour, **changes) -> Situation:
    values = dict(
        behaviour=behaviour,
        followers=1000,
        probe_ms=START_MS,
        private=False,
        aliases=0,
        business=None,
        answer_types=(),
    )
    values.update(changes)
    return Situation(**values)


def test_decisions_depend_on_seed_and_probe_id_only():
    behaviour = derived_behaviour(5, "acme")
    first = [plan(f"p{i:011x}", seed=5, situation=_situation(behaviour)) for i in range(50)]
    again = [
        plan(f"p{i:011x}", seed=5, situation=_situation(behaviour)) for i in reversed(range(50))
    ]
    assert first == again[::-1]
    other_seed = [plan(f"p{i:011x}", seed=6, situation=_situation(behaviour)) for i in range(50)]
    assert first != other_seed


def test_more_followers_never_lower_the_chance_or_lengthen_the_wait():
    behaviour = Behaviour(reply_rate=0.5, follower_preference=1.0, follow_up_rate=0)
    sooner = replied_more = 0
    for i in range(300):
        small = plan(f"p{i:011x}", seed=1, situation=_situation(behaviour, followers=10))
        big = plan(f"p{i:011x}", seed=1, situation=_situation(behaviour, followers=1_000_000))
        assert len(big) >= len(small)
        if small:
            assert big[0].at_ms < small[0].at_ms
            sooner += 1
        replied_more += len(big) > len(small)
    assert sooner > 20 and replied_more > 100
    assert behaviour.follower_factor(1000) == 1.0
    assert behaviour.follower_factor(1_000_000) == 4.0
    assert behaviour.follower_factor(0) == 0.25


def test_ack_only_replies_have_nothing_else_and_answers_need_an_answer_text():
    habits = Habits(link=1, dm=1, phone=1, email=1, ack_only=0.5, answer=1)
    behaviour = Behaviour(reply_rate=1, habits=habits, follow_up_rate=1)
    seen = set()
    for i in range(40):
        for planned in plan(
            f"p{i:011x}", seed=2, situation=_situation(behaviour, answer_types=None)
        ):
            seen.add(planned.types)
            if "ack_only" in planned.types:
                assert list(planned.parts) == [ACK]
    assert seen == {("ack_only",), ("link", "dm", "phone", "email")}


def test_business_clock_counts_only_open_time():
    clock = BusinessClock(OFFICE)
    saturday = parse_iso_ms("2026-01-10T12:00:00Z")
    assert clock.add(saturday, 600) == parse_iso_ms("2026-01-12T09:10:00Z")
    friday = parse_iso_ms("2026-01-09T16:30:00Z")
    assert clock.add(friday, 3600) == parse_iso_ms("2026-01-12T09:30:00Z")
    assert BusinessClock(SupportHours(timezone="UTC", weekly={})).add(saturday, 1) is None


def test_honoured_hours_make_the_business_latency_exact():
    behaviour = Behaviour(reply_rate=1, latency=Latency(uniform=["10m", "20h"]), follow_up_rate=0)
    probe_ms = parse_iso_ms("2026-01-10T12:00:00.250Z")  # a Saturday: closed
    situation = _situation(behaviour, probe_ms=probe_ms, business=BusinessClock(OFFICE))
    ends, latencies = [], []
    for i in range(30):
        (reply,) = plan(f"p{i:011x}", seed=4, situation=situation)
        ends.append(dt.datetime.fromtimestamp(reply.at_ms / 1000, dt.UTC))
        latencies.append(behaviour.latency.sample(_draws_after_reply_decision(4, f"p{i:011x}")))
    starts = [dt.datetime.fromtimestamp(probe_ms / 1000, dt.UTC)] * len(ends)
    measured = business_seconds(pd.Series(starts), pd.Series(ends), OFFICE)
    assert measured.to_numpy() == pytest.approx(latencies, abs=0.001)
    assert all(e.weekday() < 5 and 9 <= e.hour < 17 for e in ends)


def _draws_after_reply_decision(seed: int, probe_id: str):
    """The probe's random stream positioned at its first latency (decide.plan's order)."""
    rng = seeded(seed, "probe", probe_id)
    rng.random()  # the reply decision
    return rng

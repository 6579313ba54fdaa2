"""Aggregates: Wilson intervals, Kaplan–Meier shares, quantiles, small groups, tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socialbench.measure import metrics

WEEK = 7 * 86400.0


def probes(ttfr: list[float | None], **columns) -> pd.DataFrame:
    n = len(ttfr)
    base = {
        "probe_id": [str(i) for i in range(n)],
        "brand": ["Acme"] * n,
        "channel": ["x"] * n,
        "surface": ["public"] * n,
        "persona": [f"p{i}" for i in range(n)],
        "followers": [np.nan] * n,
        "category": [None] * n,
        "scenario": [None] * n,
        "responded": [t is not None for t in ttfr],
        "ttfr_s": [np.nan if t is None else t for t in ttfr],
        "ttfr_business_s": [np.nan if t is None else t for t in ttfr],
        "watched_s": [WEEK] * n,
        "weekday": ["Mon"] * n,
        "hour": [9] * n,
        **{flag: [False] * n for flag in ("link", "dm", "phone", "email", "ack_only")},
        "resolved": [False] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def settings(**kw) -> metrics.MetricSettings:
    return metrics.MetricSettings(window_s=WEEK, **{"min_group": 1, **kw})


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        pytest.param(5, 10, 0.2366, 0.7634, id="half"),
        pytest.param(0, 10, 0.0, 0.2775, id="none"),
        pytest.param(10, 10, 0.7225, 1.0, id="all"),
        pytest.param(81, 263, 0.2553, 0.3662, id="newcombe-example"),
    ],
)
def test_wilson_interval(k, n, low, high):
    lo, hi = metrics.wilson(k, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_plain_aggregates():
    frame = probes(
        [60.0, 120.0, 600.0, 7200.0, None],
        link=[True, False, False, False, False],
        dm=[False, True, False, False, False],
        phone=[False, True, False, False, False],
        resolved=[True, False, False, False, False],
    )
    out = metrics.aggregate(frame, settings())
    assert out["probes"] == 5 and out["responded"] == 4
    assert out["response_rate"] == 0.8
    assert out["ttfr_median_s"] == 360.0  # linear: between 120 and 600
    assert out["ttfr_p90_s"] == pytest.approx(600 + 0.7 * (7200 - 600))
    assert out["ttfr_mean_s"] == (60 + 120 + 600 + 7200) / 4
    assert out["within"] == {"15m": 0.6, "1h": 0.6, "4h": 0.8, "24h": 0.8, "window": 0.8}
    assert (out["link_rate"], out["dm_rate"], out["deflection_rate"]) == (0.25, 0.25, 0.25)
    assert out["resolution_rate"] == 0.2
    assert "small" not in out


def test_quantiles_match_pandas_default():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    out = metrics.aggregate(probes(values), settings())
    series = pd.Series(values)
    assert out["ttfr_median_s"] == series.quantile(0.5)
    assert out["ttfr_p90_s"] == pytest.approx(series.quantile(0.9), rel=1e-12)


def test_nothing_answered_leaves_times_undefined():
    out = metrics.aggregate(probes([None, None]), settings())
    assert out["response_rate"] == 0.0
    assert out["ttfr_median_s"] is None and out["link_rate"] is None


def test_small_groups_say_so_instead_of_a_number():
    out = metrics.aggregate(probes([60.0, None, 120.0]), settings(min_group=5))
    assert (out["probes"], out["responded"]) == (3, 2)
    assert out["response_rate"] is None and out["ttfr_median_s"] is None
    assert out["small"] == [
        "probes 3 < 5",
        "responded 2 < 5",
        "probes with a resolution rule 3 < 5",
    ]


def test_kaplan_meier_with_censoring_by_hand():
    # Answered at 10, 30; unanswered watched 20 and 100. At t=10: 4 at risk, 1 event -> S=3/4.
    # At t=30: at risk = answered>=30 (1) + watched>=30 (1) = 2, 1 event -> S = 3/4 * 1/2.
    share = metrics.kaplan_meier_share(np.array([10.0, 30.0]), np.array([20.0, 100.0]), 50.0)
    assert share == pytest.approx(1 - 3 / 8)


def test_within_uses_kaplan_meier_only_when_censored_before_the_horizon():
    ttfr = [100.0, 5000.0, None, None]
    fully = metrics.aggregate(probes(ttfr), settings())["within"]
    assert fully["1h"] == 0.25 and fully["window"] == 0.5
    partly = metrics.aggregate(probes(ttfr, watched_s=[WEEK, WEEK, 600.0, WEEK]), settings())
    within = partly["within"]
    assert within["15m"] == 0.25  # censoring at 600 s is after the only event before 900 s
    # At 5000 s: at risk = answered >= 5000 (1) + watched >= 5000 (1); S = 3/4 * 1/2.
    assert within["4h"] == pytest.approx(1 - (3 / 4) * (1 / 2))  # the plain share would be 0.5
    assert partly["response_rate"] == 0.5


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11, 101])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_grouped_quantiles_equal_numpy_linear(n, q):
    rng = np.random.default_rng(n)
    values = rng.integers(0, 100000, size=n).astype(float)
    frame = probes(list(values) * 2, brand=["a"] * n + ["b"] * n)
    groups = metrics.ProbeArrays(frame).groups(pd.factorize(frame["brand"])[0], 2)
    got = groups.quantile("ttfr", q)
    assert got[0] == got[1] == pytest.approx(np.quantile(values, q), rel=1e-12, abs=1e-9)


def test_grouped_quantile_is_exactly_rounded_for_integer_seconds():
    # (n - 1) * 0.9 = 8.1 for n = 10: 10 + (20 - 10) * 0.1 must be exactly 11.0.
    frame = probes([10.0] * 8 + [10.0, 20.0])
    assert metrics.aggregate(frame, settings())["ttfr_p90_s"] == 11.0


def test_groups_left_out_and_empty_groups():
    frame = probes([60.0, None, 120.0], category=["a", None, "b"])
    rows = metrics.group_rows(metrics.with_tiers(frame, (1000.0,)), "category", settings())
    assert [(r["category"], r["probes"], r["ttfr_median_s"]) for r in rows] == [
        ("a", 1, 60.0),
        ("b", 1, 120.0),
    ]


def test_follower_tiers_and_labels():
    frame = probes([60.0] * 4, followers=[10.0, 2500.0, 25000.0, np.nan])
    tiers = metrics.with_tiers(frame, (1000.0, 10000.0))["follower_tier"].tolist()
    assert tiers == ["<1k", "1k–10k", "≥10k", "(unknown)"]
    assert metrics.tier_labels((250.0, 1e6)) == ["<250", "250–1M", "≥1M"]


def test_fairness_compares_highest_and_lowest_tier():
    frame = probes(
        [60.0] * 20 + [None] * 20 + [600.0] * 10 + [None] * 30,
        followers=[25000.0] * 40 + [250.0] * 40,
    )
    result = metrics.summarize(frame, settings())["fairness"]
    compare = result["compare"]
    assert [t["tier"] for t in result["tiers"]] == ["<1k", "≥10k"]
    assert (compare["high"], compare["low"]) == ("≥10k", "<1k")
    assert compare["response_rate_diff"] == pytest.approx(0.5 - 0.25)
    assert compare["ttfr_median_ratio_low_over_high"] == 10.0
    assert 0 < compare["fisher_p"] < 0.05 and compare["mannwhitney_p"] < 0.05


def test_summary_groups_and_persona_pooling():
    frame = probes(
        [60.0, None, 120.0, 300.0],
        persona=["a", "a", "b", "c"],
        hour=[9, 9, 14, 9],
        weekday=["Tue", "Mon", "Mon", "Sun"],
    )
    summary = metrics.summarize(frame, settings(min_group=2))
    groups = summary["groups"]
    assert set(groups) == set(metrics.GROUPS)
    assert [r["persona"] for r in groups["persona"]] == ["a", "(other personas)"]
    assert [r["weekday"] for r in groups["weekday"]] == ["Mon", "Tue", "Sun"]
    assert [r["hour"] for r in groups["hour"]] == [9, 14]
    assert groups["category"] == []
    for row in groups["brand"]:
        assert set(metrics.AGGREGATE_KEYS) <= set(row)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["30", "4", None, "30", "7", "4"], id="integers"),
        pytest.param(["30", "x", "30"], id="text"),
        pytest.param(["007", "7"], id="leading zero"),
        pytest.param(["5", str(10**15)], id="sparse"),
        pytest.param([None, None], id="missing"),
        pytest.param(["a", "a"], id="one value"),
    ],
)
@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", object])
def test_factorize_numbers_values_in_order_of_first_appearance(values, dtype) -> None:
    """Grouping values (persona ids among them) get codes in order of first appearance, -1
    for missing, so ties among the largest personas break the same way."""
    codes, distinct = metrics._factorize(pd.Series(values, dtype=dtype))
    present = [v for v in values if v is not None]
    expected = list(dict.fromkeys(present))
    assert list(distinct) == expected
    assert codes.tolist() == [-1 if v is None else expected.index(v) for v in values]


def test_persona_ties_pool_in_order_of_first_appearance() -> None:
    """With more than MAX_PERSONAS personas of equal size, the first to appear are shown."""
    names = [str(60 - i) for i in range(60)]  # numeric ids, not in sorted order
    frame = probes([60.0] * 120, persona=pd.Series(names * 2, dtype="string[pyarrow]"))
    rows = metrics.summarize(frame, settings(min_group=2))["groups"]["persona"]
    shown = [r["persona"] for r in rows]
    assert shown[-1] == metrics.OTHER_PERSONAS and rows[-1]["probes"] == 20
    assert sorted(shown[:-1], key=str.lower) == shown[:-1]
    assert set(shown[:-1]) == set(names[: metrics.MAX_PERSONAS])


@pytest.mark.parametrize("seed", range(6))
def test_grouped_rows_equal_each_groups_own_aggregate(seed) -> None:
    """Every figure of a grouping (counts, sums, horizon buckets, Kaplan–Meier for censored
    groups, quantiles, flag rates) is exactly that of the group's probes on their own."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    answered = rng.random(n) < 0.6
    ttfr = np.where(answered, rng.exponential(5000, n), np.nan)
    flags = {f: list(rng.random(n) < 0.3) for f in metrics.TYPE_FLAGS}
    frame = probes(
        [float(t) if a else None for a, t in zip(answered, ttfr, strict=True)],
        # few categories: counted per flag pattern; 200: counted probe by probe
        category=[None if x < 0 else f"c{x}" for x in rng.integers(-1, 200 if seed % 2 else 7, n)],
        watched_s=list(rng.choice([600.0, 5000.0, WEEK], n)),
        resolved=pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        **flags,
    )
    table = metrics.with_tiers(frame, (1000.0,))
    rows = metrics.group_rows(table, "category", settings(min_group=2))
    assert sum(row["probes"] for row in rows) == frame["category"].notna().sum()
    for row in rows:
        own = metrics.aggregate(frame[frame["category"] == row["category"]], settings(min_group=2))
        assert {k: row[k] for k in own} == own

"""The summary computed on the engine (``conversations.aggregate``) equals ``metrics.summarize``
on the same probe table: keys, group rows and order, small-sample rules, Kaplan–Meier,
fairness. Counts and labels exactly, floats to rounding (relative 1e-12)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import msg, write_fixture

from socialbench import conversations, sources
from socialbench.conversations import brands, duck, frames
from socialbench.measure import aggregate, metrics
from socialbench.measure.calendar import SupportHours
from socialbench.sources import fixture

WEEK = 7 * 86400.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
REL = 1e-12


class SpyEngine(duck.DuckEngine):
    """A DuckDB engine that records how many rows each query brought back to Python."""

    fetched: list[tuple[str, int]]

    def __init__(self) -> None:
        self.fetched = []
        super().__init__()

    def rows(self, sql: str) -> list[tuple]:
        found = super().rows(sql)
        self.fetched.append((sql, len(found)))
        return found

    def arrow(self, sql: str):
        found = super().arrow(sql)
        self.fetched.append((sql, found.num_rows))
        return found


@pytest.fixture(scope="module")
def engine():
    db = SpyEngine()
    yield db
    db.close()


def on_engine(engine: SpyEngine, frame: pd.DataFrame, settings, **kw) -> dict:
    """``aggregate.summarize`` of ``frame`` loaded as the engine's table ``probes``."""
    engine.con.register("frame", frame)
    engine.create("probes", "SELECT * FROM frame")
    engine.con.unregister("frame")
    engine.fetched.clear()
    return aggregate.summarize(engine, "probes", settings, **kw)


def assert_same(got, want, path: str = "summary") -> None:
    """Equal values of equal types; dict keys in the same order; floats to REL."""
    assert type(got) is type(want), (path, got, want)
    if isinstance(want, dict):
        assert list(got) == list(want), path
        for key in want:
            assert_same(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), (path, got, want)
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(want, float):
        assert math.isclose(got, want, rel_tol=REL), (path, got, want)
    else:
        assert got == want, (path, got, want)


def random_probes(seed: int, n: int, *, window: float = WEEK, censored: bool = True):
    """A probe table with every kind of value the summary treats apart: missing keys, case
    variants, more than MAX_PERSONAS personas, NaN and infinite followers, ties and exact
    horizons among response times, resolution without a rule, probes watched less."""
    rng = np.random.default_rng(seed)
    answered = rng.random(n) < 0.6
    raw = np.where(rng.random(n) < 0.3, rng.integers(0, 20000, n), rng.exponential(5000, n))
    raw = np.where(rng.random(n) < 0.05, rng.choice([900.0, 3600.0, 14400.0, 86400.0], n), raw)
    ttfr = np.where(answered, np.minimum(raw, window), np.nan)
    watched = [600.0, 5000.0, 20000.0, window, window] if censored else [window]

    def pick(values, missing: float = 0.0) -> np.ndarray:
        out = rng.choice(values, n).astype(object)
        out[rng.random(n) < missing] = None
        return out

    automated = rng.integers(0, 2, n) * (rng.random(n) < 0.4)
    ttfa = np.where(automated > 0, rng.choice([0.0, 5.0, 5.0, 30.0, 600.0], n), np.nan)
    handoff = np.where(answered & (automated > 0) & (ttfr >= ttfa), ttfr - ttfa, np.nan)
    personas = [f"p{i}" for i in range(70)] + ["Bob", "bob"]
    weights = rng.random(len(personas)) ** 2
    persona = rng.choice(personas, n, p=weights / weights.sum()).astype(object)
    persona[rng.random(n) < 0.02] = None
    return pd.DataFrame(
        {
            "probe_id": [f"m{i}" for i in range(n)],
            "brand": pick(["Acme", "acme", "Globex", "Initech", "(unknown)"], 0.01),
            "channel": pick(["x", "x", "whatsapp", "messenger"], 0.01),
            "surface": pick(["public", "private"]),
            "persona": persona,
            "followers": rng.choice([np.nan, 10, 999, 1000, 5000, 1e4, 25000, np.inf], n),
            "category": pick(["billing", "delivery", "Returns"], 0.2),
            "scenario": pick([f"s{i}" for i in range(40)], 0.1),
            # strictly increasing: the row order is (sent_at, probe_id), the default order
            "sent_at": pd.Timestamp("2024-03-04", tz="UTC")
            + pd.to_timedelta(np.cumsum(rng.integers(1, 600, n)), unit="s"),
            "responded": answered,
            "ttfr_s": ttfr,
            "ttfr_business_s": np.where(rng.random(n) < 0.5, ttfr, ttfr * rng.random(n)),
            **{flag: rng.random(n) < 0.3 for flag in metrics.TYPE_FLAGS},
            "resolved": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "brand_messages": rng.integers(0, 3, n),
            "watched_s": rng.choice(watched, n),
            "automated_messages": automated,
            "ttfa_s": ttfa,
            "bot_only": (automated > 0) & ~answered,
            "handoff_s": handoff,
            "weekday": pick(list(WEEKDAYS), 0.01),
            "hour": rng.integers(0, 24, n),
        }
    )


@pytest.mark.parametrize(
    ("seed", "n", "settings"),
    [
        pytest.param(0, 3000, metrics.MetricSettings(WEEK, min_group=5), id="default"),
        pytest.param(1, 3000, metrics.MetricSettings(WEEK, min_group=1), id="min-group-1"),
        pytest.param(2, 400, metrics.MetricSettings(WEEK, min_group=20), id="small-groups"),
        pytest.param(3, 3000, metrics.MetricSettings(WEEK, 0, (10.0, 1e3, 1e6)), id="3-tiers"),
        pytest.param(4, 1500, metrics.MetricSettings(WEEK, 10, (1000.0,)), id="one-tier-edge"),
    ],
)
def test_random_tables_equal_metrics(engine, seed, n, settings) -> None:
    frame = random_probes(seed, n, window=settings.window_s)
    assert_same(on_engine(engine, frame, settings), metrics.summarize(frame, settings))


def test_groups_are_counted_on_the_engine(engine) -> None:
    """Without censoring, nothing but per-group rows and the two tiers' response times comes
    back from the engine."""
    frame = random_probes(5, 3000, censored=False)
    summary = on_engine(engine, frame, metrics.MetricSettings(WEEK, min_group=5))
    groups = 1 + sum(len(rows) for rows in summary["groups"].values())
    times = [k for sql, k in engine.fetched if "follower_tier IN" in sql]
    others = [k for sql, k in engine.fetched if "follower_tier IN" not in sql]
    assert len(times) == 1 and max(others) <= groups
    assert summary["overall"]["within"]["24h"] > 0


@pytest.mark.parametrize("censored", [False, True], ids=["watched-window", "watched-less"])
def test_window_shorter_than_a_horizon(engine, censored) -> None:
    """A 1 h window: every probe without an answer is censored before 4 h and 24 h; the
    estimate there is the plain share, which Kaplan–Meier equals."""
    settings = metrics.MetricSettings(3600.0, min_group=5)
    frame = random_probes(6, 2000, window=3600.0, censored=censored)
    assert_same(on_engine(engine, frame, settings), metrics.summarize(frame, settings))


def probes(ttfr: list[float | None], **columns) -> pd.DataFrame:
    """A probe table of one brand, the given response times (None: no answer)."""
    n = len(ttfr)
    base = {
        "probe_id": [f"m{i:04d}" for i in range(n)],
        "brand": ["Acme"] * n,
        "channel": ["x"] * n,
        "surface": ["public"] * n,
        "persona": [f"p{i}" for i in range(n)],
        "followers": [np.nan] * n,
        "category": pd.array([None] * n, dtype="string"),
        "scenario": pd.array([None] * n, dtype="string"),
        "sent_at": pd.Timestamp("2024-03-04", tz="UTC") + pd.to_timedelta(np.arange(n), "s"),
        "responded": [t is not None for t in ttfr],
        "ttfr_s": [np.nan if t is None else t for t in ttfr],
        "ttfr_business_s": [np.nan if t is None else t for t in ttfr],
        **{flag: [False] * n for flag in metrics.TYPE_FLAGS},
        "resolved": [False] * n,
        "brand_messages": [1] * n,
        "watched_s": [WEEK] * n,
        "automated_messages": [0] * n,
        "ttfa_s": [np.nan] * n,
        "bot_only": [False] * n,
        "handoff_s": [np.nan] * n,
        "weekday": ["Mon"] * n,
        "hour": [9] * n,
    }
    return pd.DataFrame(base | columns)


def test_kaplan_meier_where_probes_were_watched_less(engine) -> None:
    ttfr = [100.0, 5000.0, None, None]
    frame = probes(ttfr, watched_s=[WEEK, WEEK, 600.0, WEEK])
    settings = metrics.MetricSettings(WEEK, min_group=1)
    summary = on_engine(engine, frame, settings)
    # at 5000 s: at risk, the answer at 5000 s and the probe watched a week; S = 3/4 * 1/2
    assert summary["overall"]["within"]["4h"] == pytest.approx(1 - 3 / 8, rel=REL)
    assert summary["overall"]["within"]["15m"] == 0.25
    assert_same(summary, metrics.summarize(frame, settings))


def test_persona_ties_pool_in_order_of_first_appearance(engine) -> None:
    names = [str(60 - i) for i in range(60)]  # numeric ids, not in sorted order
    frame = probes([60.0] * 120, persona=pd.Series(names * 2, dtype="string[pyarrow]"))
    settings = metrics.MetricSettings(WEEK, min_group=2)
    summary = on_engine(engine, frame, settings)
    rows = summary["groups"]["persona"]
    assert rows[-1]["persona"] == metrics.OTHER_PERSONAS and rows[-1]["probes"] == 20
    assert_same(summary, metrics.summarize(frame, settings))


def test_case_variants_and_tiers_in_order_of_first_appearance(engine) -> None:
    """Values equal but for case, and follower tiers, are listed as metrics lists them: in
    the order they first appear in the table."""
    frame = probes(
        [60.0, None, 120.0, 30.0, None, 10.0],
        brand=["acme", "Acme", "acme", "ACME", "Acme", "acme"],
        persona=["Bob", "bob", "bob", "Bob", "BOB", "bob"],
        followers=[25000.0, np.nan, 10.0, 2500.0, 10.0, 25000.0],
    )
    settings = metrics.MetricSettings(WEEK, min_group=1)
    summary = on_engine(engine, frame, settings)
    assert [r["brand"] for r in summary["groups"]["brand"]] == ["acme", "Acme", "ACME"]
    tiers = [r["follower_tier"] for r in summary["groups"]["follower_tier"]]
    assert tiers == ["≥10k", "<1k", "1k–10k", "(unknown)"]
    assert_same(summary, metrics.summarize(frame, settings))


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(probes([]), id="empty"),
        pytest.param(probes([None, None, None]), id="nothing-answered"),
        pytest.param(probes([5.0, None], followers=[10.0, 20.0]), id="one-tier"),
        pytest.param(probes([5.0, 7.0], resolved=pd.array([None, None], "boolean")), id="no-rule"),
    ],
)
def test_degenerate_tables(engine, frame) -> None:
    settings = metrics.MetricSettings(WEEK, min_group=2)
    assert_same(on_engine(engine, frame, settings), metrics.summarize(frame, settings))


def test_spellings_of_each_engine() -> None:
    duck_sql = aggregate.Spellings()
    spark_sql = aggregate.SparkSpellings()
    assert duck_sql.quantiles("x", (0.5, 0.9)) == "quantile_cont(x, [0.5, 0.9])"
    assert spark_sql.quantiles("x", (0.5, 0.9)) == "percentile(x, array(0.5, 0.9))"
    assert (duck_sql.row_key(["a", "b"]), spark_sql.row_key(["a", "b"])) == (
        "row(a, b)",
        "struct(a, b)",
    )


# ------------------------------------------------------------------- from the messages on


def conversations_rows(seed: int) -> list[dict]:
    """Customers asking two brands (one with support hours), on a public and a private
    channel; answered late, never, or by a bot only."""
    rng = np.random.default_rng(seed)
    rows, next_id = [], 1000
    for i in range(150):
        brand = ["Acme", "Globex"][i % 2]
        extra = {"followers": int(rng.choice([50, 5000, 50000]))} if i % 7 else {}
        if i % 5 == 0:
            extra |= {"channel": "messenger", "surface": "private", "account": brand}
        at = 37 * i + int(rng.integers(0, 30))
        rows.append(msg(i, f"cust{i % 60}", at, f"@{brand} help", **extra))
        delay = int(rng.choice([5, 30, 90, 200, 2000]))
        if rng.random() < 0.7:
            text = rng.choice(["Sorry! See https://acme.com/t", "Please DM us", "We're on it"])
            where = {k: v for k, v in extra.items() if k != "followers"}
            reply = f"@cust{i % 60} {text}"
            rows.append(msg(next_id, brand, at + delay, reply, parent=i, brand=True, **where))
            next_id += 1
    return rows


def test_probe_table_from_messages(engine, tmp_path: Path) -> None:
    hours = SupportHours(timezone="Europe/London", weekly={"mon": ["09:00-17:00"]})
    book = brands.BrandBook(brands=[brands.Brand(name="Acme", hours=hours)])
    path = write_fixture(tmp_path / "f.jsonl", conversations_rows(7))
    messages = fixture.read(path, sources.ReadOptions(brand_handles=book.handles()))
    settings = conversations.Settings(window_s=7200.0, brand_book=book)
    frame = frames.probe_table(messages, settings)
    assert frame["ttfr_business_s"].ne(frame["ttfr_s"]).any()  # the business clock differs
    metric_settings = metrics.MetricSettings(settings.window_s, min_group=5)
    summary = on_engine(engine, frame, metric_settings)
    assert summary["overall"]["probes"] == 150
    assert_same(summary, metrics.summarize(frame, metric_settings))


@pytest.mark.skipif(
    not os.environ.get("SOCIALBENCH_TEST_SPARK"), reason="Spark: set SOCIALBENCH_TEST_SPARK=1"
)
def test_on_spark() -> None:  # pragma: no cover - opt-in, starts a local Spark
    from socialbench.conversations import spark

    settings = metrics.MetricSettings(WEEK, min_group=5)
    frame = random_probes(8, 2000)
    db = spark.SparkEngine(conversations.EngineOptions(kind="spark", threads=2))
    try:
        with spark._no_pandas_warning():  # PySpark warns about pandas 3
            db.spark.createDataFrame(frame).createOrReplaceTempView("probes")
        assert_same(aggregate.summarize(db, "probes", settings), metrics.summarize(frame, settings))
    finally:
        db.close()


def test_consistency_across_channels(engine) -> None:
    """METRICS.md: per brand and query, over the channels that answered, consistent when the
    answer key held on all of them or on none; the share among pairs answered on two
    channels or more."""
    cases = [  # brand, query, channel, answered, answer key held (None: no key)
        ("Acme", "q1", "x", True, True), ("Acme", "q1", "whatsapp", True, True),
        ("Acme", "q2", "x", True, True), ("Acme", "q2", "whatsapp", True, False),
        ("Acme", "q3", "x", True, True),  # one channel: not a pair
        ("Acme", "q4", "x", True, False), ("Acme", "q4", "whatsapp", False, False),
        ("Acme", "q5", "x", True, None), ("Acme", "q5", "whatsapp", True, None),
        ("Beta", "q1", "x", True, False), ("Beta", "q1", "messenger", True, False),
    ]  # fmt: skip
    brand, query, channel, answered, held = (list(c) for c in zip(*cases, strict=True))
    frame = probes(
        [60.0 if a else None for a in answered],
        brand=brand, scenario=pd.array(query, dtype="string"), channel=channel,
        resolved=pd.array(held, dtype="boolean"),
    )  # fmt: skip
    settings = metrics.MetricSettings(WEEK, min_group=1)
    summary = on_engine(engine, frame, settings)
    assert_same(summary, metrics.summarize(frame, settings))
    consistency = summary["omnichannel"]["consistency"]
    assert (consistency["pairs"], consistency["consistent"]) == (3, 2)
    assert [(r["brand"], r["pairs"], r["consistent"]) for r in consistency["by_brand"]] == [
        ("Acme", 2, 1),
        ("Beta", 1, 1),
    ]
    cells = {(c["brand"], c["channel"]): c for c in summary["omnichannel"]["matrix"]}
    assert cells["Acme", "whatsapp"]["probes"] == 4
    assert cells["Acme", "whatsapp"]["response_rate"] == 0.75
    assert cells["Acme", "x"]["resolution_rate"] == 3 / 4
    assert list(cells) == [("Acme", "whatsapp"), ("Acme", "x"), ("Beta", "messenger"),
                           ("Beta", "x")]  # fmt: skip

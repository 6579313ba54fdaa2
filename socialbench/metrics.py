"""The aggregates of METRICS.md: probe table in, summary dict out. Pure: no I/O, no printing.

Every group row and ``overall`` carry AGGREGATE_KEYS. A figure is ``None`` when it is
undefined (no responded probe for a time) or when its sample is smaller than ``min_group``
(``small`` then lists which samples were too small): a number from three probes means
nothing, and the report says so instead of printing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1
Z95 = 1.959963984540054
WITHIN = {"15m": 900.0, "1h": 3600.0, "4h": 14400.0, "24h": 86400.0}
GROUPS = (
    "brand",
    "channel",
    "surface",
    "category",
    "scenario",
    "persona",
    "follower_tier",
    "weekday",
    "hour",
)
TYPE_FLAGS = ("link", "dm", "phone", "email", "ack_only")
AGGREGATE_KEYS = (
    "probes",
    "responded",
    "response_rate",
    "response_rate_ci",
    "ttfr_median_s",
    "ttfr_p90_s",
    "ttfr_mean_s",
    "within",
    "ttfr_business_median_s",
    "ttfr_business_p90_s",
    "link_rate",
    "dm_rate",
    "phone_rate",
    "email_rate",
    "ack_only_rate",
    "deflection_rate",
    "resolution_rate",
)
OTHER_PERSONAS = "(other personas)"
UNKNOWN_TIER = "(unknown)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class MetricSettings:
    window_s: float
    min_group: int = 10
    tiers: tuple[float, ...] = (1000.0, 10000.0)


def summarize(probes: pd.DataFrame, settings: MetricSettings) -> dict:
    """The whole ``summary.json`` document for a probe table."""
    probes = with_tiers(probes, settings.tiers)
    return {
        "schema_version": SCHEMA_VERSION,
        "window_s": settings.window_s,
        "min_group": settings.min_group,
        "overall": aggregate(probes, settings),
        "groups": {name: group_rows(probes, name, settings) for name in GROUPS},
        "fairness": fairness(probes, settings),
    }


def aggregate(frame: pd.DataFrame, settings: MetricSettings) -> dict:
    """Every aggregate of one group of probes."""
    n = len(frame)
    responded = frame["responded"].to_numpy(dtype=bool)
    r = int(responded.sum())
    answered = frame[responded]
    ttfr = answered["ttfr_s"].to_numpy(dtype=float)
    business = answered["ttfr_business_s"].to_numpy(dtype=float)
    watched = frame.loc[~responded, "watched_s"].to_numpy(dtype=float)
    small = []
    rates_ok = _enough(n, settings, small, "probes")
    times_ok = _enough(r, settings, small, "responded")
    flags = {
        f: answered[f].to_numpy(dtype=bool) for f in ("link", "dm", "phone", "email", "ack_only")
    }
    resolution = _resolution_rate(frame, settings, small)
    out = {
        "probes": n,
        "responded": r,
        "response_rate": r / n if rates_ok and n else None,
        "response_rate_ci": list(wilson(r, n)) if rates_ok and n else None,
        "ttfr_median_s": _quantile(ttfr, 0.5) if times_ok else None,
        "ttfr_p90_s": _quantile(ttfr, 0.9) if times_ok else None,
        "ttfr_mean_s": float(ttfr.mean()) if times_ok and r else None,
        "within": within(ttfr, watched, n, settings.window_s) if rates_ok and n else None,
        "ttfr_business_median_s": _quantile(business, 0.5) if times_ok else None,
        "ttfr_business_p90_s": _quantile(business, 0.9) if times_ok else None,
        **{f"{f}_rate": _share(v, times_ok) for f, v in flags.items()},
        "deflection_rate": _share(flags["dm"] | flags["phone"] | flags["email"], times_ok),
        "resolution_rate": resolution,
    }
    if small:
        out["small"] = small
    return out


def _enough(count: int, settings: MetricSettings, small: list, what: str) -> bool:
    if count < settings.min_group:
        small.append(f"{what} {count} < {settings.min_group}")
        return False
    return True


def _share(values: np.ndarray, ok: bool) -> float | None:
    return float(values.mean()) if ok and len(values) else None


def _quantile(values: np.ndarray, q: float) -> float | None:
    return float(np.quantile(values, q)) if len(values) else None


def _resolution_rate(frame: pd.DataFrame, settings: MetricSettings, small: list) -> float | None:
    applies = frame["resolved"].notna().to_numpy()
    n = int(applies.sum())
    if n == 0:
        return None
    if not _enough(n, settings, small, "probes with a resolution rule"):
        return None
    return float(frame.loc[applies, "resolved"].astype(bool).sum() / n)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def within(ttfr: np.ndarray, watched: np.ndarray, n: int, window_s: float) -> dict:
    """Share of all probes answered within each horizon (Kaplan–Meier under censoring).

    ``ttfr`` are the response times of responded probes, ``watched`` how long each
    unanswered probe was watched. When every unanswered probe was watched past a horizon,
    the estimate is exactly the plain share, and that is what is computed.
    """
    horizons = {**WITHIN, "window": float(window_s)}
    return {
        key: (
            float((ttfr <= h).sum() / n)
            if not len(watched) or watched.min() >= h
            else kaplan_meier_share(ttfr, watched, h)
        )
        for key, h in horizons.items()
    }


def kaplan_meier_share(events: np.ndarray, censored: np.ndarray, horizon: float) -> float:
    """1 − S(horizon): the Kaplan–Meier estimate of the share answered by ``horizon``.

    Censored probes are at risk at their own censoring time (the usual convention).
    """
    times, deaths = np.unique(events[events <= horizon], return_counts=True)
    if not len(times):
        return 0.0
    at_risk = (len(events) - np.searchsorted(np.sort(events), times, side="left")) + (
        len(censored) - np.searchsorted(np.sort(censored), times, side="left")
    )
    return float(1.0 - np.prod(1.0 - deaths / at_risk))


def with_tiers(probes: pd.DataFrame, tiers: tuple[float, ...]) -> pd.DataFrame:
    """Add ``follower_tier`` (labels like ``<1k``, ``1k–10k``, ``≥10k``; unknown apart)."""
    labels = tier_labels(tiers)
    edges = [-math.inf, *tiers, math.inf]
    tier = pd.cut(probes["followers"], bins=edges, right=False, labels=labels)
    tier = tier.cat.add_categories([UNKNOWN_TIER]).fillna(UNKNOWN_TIER)
    return probes.assign(follower_tier=tier)


def tier_labels(tiers: tuple[float, ...]) -> list[str]:
    names = [_short(t) for t in tiers]
    middle = [f"{a}–{b}" for a, b in zip(names, names[1:], strict=False)]
    return [f"<{names[0]}", *middle, f"≥{names[-1]}"]


def _short(value: float) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if value >= size and value % (size / 10) == 0:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def group_rows(probes: pd.DataFrame, name: str, settings: MetricSettings) -> list[dict]:
    """One row per value of a grouping column (missing values left out), in a stable order."""
    key = _group_key(probes, name, settings)
    rows = []
    for value, index in key.groupby(key, sort=False, observed=True).groups.items():
        rows.append({name: _jsonable(value), **aggregate(probes.loc[index], settings)})
    return sorted(rows, key=lambda row: _order(name, row[name]))


def _group_key(probes: pd.DataFrame, name: str, settings: MetricSettings) -> pd.Series:
    key = probes[name]
    if name == "persona":
        counts = key.value_counts()
        many = counts.index[counts >= settings.min_group]
        key = key.where(key.isin(many) | key.isna(), OTHER_PERSONAS)
    return key


def _order(name: str, value) -> tuple:
    if name == "weekday" and value in WEEKDAYS:
        return (0, WEEKDAYS.index(value), "")
    if name == "hour":
        return (0, value, "")
    if name == "follower_tier":
        return (1, 0, "") if value == UNKNOWN_TIER else (0, 0, "")
    return (1 if str(value).startswith("(") else 0, 0, str(value).lower())


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def fairness(probes: pd.DataFrame, settings: MetricSettings) -> dict:
    """Per follower tier: response rate and median TTFR; highest tier against lowest."""
    from scipy import stats

    known = probes[probes["follower_tier"] != UNKNOWN_TIER]
    tiers = [t for t in tier_labels(settings.tiers) if (known["follower_tier"] == t).any()]
    rows = [_tier_row(known[known["follower_tier"] == t], t) for t in tiers]
    result = {"tiers": rows, "compare": None}
    if len(tiers) < 2:
        return result
    low, high = rows[0], rows[-1]
    lo, hi = (
        known[known["follower_tier"] == low["tier"]],
        known[known["follower_tier"] == high["tier"]],
    )
    table = [
        [high["responded"], high["probes"] - high["responded"]],
        [low["responded"], low["probes"] - low["responded"]],
    ]
    lo_t, hi_t = _ttfr(lo), _ttfr(hi)
    result["compare"] = {
        "high": high["tier"],
        "low": low["tier"],
        "response_rate_diff": high["response_rate"] - low["response_rate"],
        "fisher_p": float(stats.fisher_exact(table).pvalue),
        "ttfr_median_ratio_low_over_high": (
            low["ttfr_median_s"] / high["ttfr_median_s"]
            if low["ttfr_median_s"] is not None and high["ttfr_median_s"]
            else None
        ),
        "mannwhitney_p": (
            float(stats.mannwhitneyu(hi_t, lo_t).pvalue) if len(lo_t) and len(hi_t) else None
        ),
        "small": min(low["probes"], high["probes"]) < settings.min_group,
    }
    return result


def _ttfr(frame: pd.DataFrame) -> np.ndarray:
    return frame.loc[frame["responded"], "ttfr_s"].to_numpy(dtype=float)


def _tier_row(frame: pd.DataFrame, tier: str) -> dict:
    ttfr = _ttfr(frame)
    return {
        "tier": tier,
        "probes": len(frame),
        "responded": len(ttfr),
        "response_rate": len(ttfr) / len(frame),
        "ttfr_median_s": _quantile(ttfr, 0.5),
    }

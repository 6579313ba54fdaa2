"""The HTML report's charts as data: specs that the page's script hands to Chart.js.

Each spec is ``{"id", "kind", "title", ...}``; kinds: ``interval`` (a share with its 95%
interval per label), ``box`` (response-time quantiles per label), ``steps`` (Kaplan–Meier
"answered within t" curves, drawn as small multiples: one small chart per brand on shared
axes) and ``bars`` (grouped or stacked bars). Figures come from summary.json where it has
them; curves and quartiles are computed here from the probes, withholding groups below the
small-group rule exactly as summary.json does.

Charts stay readable with a hundred brands: they show the ``MAX_CHART_LABELS`` brands with
the most probes and fold the rest into one "other N brands" row, whose figures are
``metrics.aggregate`` of those brands' probes (the definitions summary.json uses).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from socialbench.measure import metrics
from socialbench.report import html_sections as sections
from socialbench.report.html_data import inert
from socialbench.report.references import for_metric

MAX_CURVE_POINTS = 400  # a Kaplan–Meier curve with more steps is sampled on a log grid
MAX_CHART_LABELS = 12  # charts show the largest groups and fold the rest; tables show all


def km_curve(events: np.ndarray, censored: np.ndarray, *, start: float, end: float) -> list:
    """The Kaplan–Meier share answered within t, as ``[t, share]`` step points.

    ``events``: response times of answered probes; ``censored``: how long each unanswered
    probe was watched (at risk up to and including that time, as metrics.kaplan_meier_share).
    With every probe watched for the whole window it is the plain cumulative share.
    """
    events, censored = np.sort(events), np.sort(censored)
    if not len(events) + len(censored):
        return []
    times, deaths = np.unique(events[events <= end], return_counts=True)
    at_risk = (len(events) - np.searchsorted(events, times, side="left")) + (
        len(censored) - np.searchsorted(censored, times, side="left")
    )
    share = 1.0 - np.cumprod(1.0 - deaths / at_risk)
    if len(times) > MAX_CURVE_POINTS:
        grid = np.geomspace(max(start, times[0]), end, MAX_CURVE_POINTS)
        index = np.searchsorted(times, grid, side="right") - 1
        times, share = grid, np.where(index >= 0, share[np.maximum(index, 0)], 0.0)
    times = np.maximum(times, start)
    last = float(share[-1]) if len(share) else 0.0
    points = [[start, 0.0]] + [[_round(t), _round(s, 6)] for t, s in zip(times, share, strict=True)]
    return points + [[end, _round(last, 6)]]


def _round(value: float, digits: int = 1) -> float:
    return round(float(value), digits)


def axis_start(times: np.ndarray) -> float:
    """The left end of a logarithmic time axis: a power of ten at or below the fastest."""
    positive = times[times > 0]
    fastest = float(positive.min()) if len(positive) else 60.0
    return float(10 ** math.floor(math.log10(max(min(fastest, 60.0), 1.0))))


def km_chart(
    probes: pd.DataFrame, brands: list[str], window_s: float, min_group: int,
    other: list[str] = (),
) -> dict:  # fmt: skip
    """'Answered within t' overall, for each of ``brands`` with at least ``min_group`` probes
    (the page draws one small chart each, on the same axes) and for the ``other`` brands
    pooled, when they are at least ``min_group`` probes together."""
    responded = probes["responded"].fillna(False).to_numpy(dtype=bool)
    ttfr = probes["ttfr_s"].to_numpy(dtype=float)
    watched = probes["watched_s"].to_numpy(dtype=float)
    brand = probes["brand"].to_numpy(dtype=object)
    start = axis_start(ttfr[responded])

    def curve(mine: np.ndarray) -> list:
        return km_curve(
            ttfr[mine & responded], watched[mine & ~responded], start=start, end=window_s
        )

    everyone = np.ones(len(brand), dtype=bool)
    series = [{"label": "All brands", "points": curve(everyone), "strong": True}]
    for name in brands:
        mine = brand == name
        if mine.sum() >= min_group:
            series.append({"label": name, "points": curve(mine)})
    pooled = np.isin(brand, list(other)) if len(other) else np.zeros(len(brand), dtype=bool)
    if pooled.sum() >= min_group:
        series.append({"label": _other_label(len(other)), "points": curve(pooled), "other": True})
    return {
        "id": "chart-km",
        "kind": "steps",
        "title": "Share of all probes answered within t (Kaplan–Meier)",
        "series": series,
        "xmin": start,
        "xmax": float(window_s),
    }


def _other_label(count: int) -> str:
    return f"other {count} brand" + ("" if count == 1 else "s")


def other_row(probes: pd.DataFrame, names: list[str], summary: dict) -> dict | None:
    """The figures of the brands ``names`` pooled, as a summary.json group row labelled
    "other N brands" (None when there are none)."""
    if not names:
        return None
    mine = probes[probes["brand"].isin(names).to_numpy(dtype=bool)]
    settings = metrics.MetricSettings(
        window_s=float(summary["window_s"]), min_group=summary.get("min_group", 10)
    )
    return {"brand": _other_label(len(names)), **metrics.aggregate(mine, settings)}


def box_chart(probes: pd.DataFrame, rows: list[dict], min_group: int) -> dict:
    """Time to first response per brand: p10, quartiles and p90 over answered probes.

    The median and p90 are summary.json's; p10 and the quartiles are computed the same way
    (linear interpolation) from the probes. Brands whose figures are withheld are left out.
    """
    answered = probes[probes["responded"].fillna(False).to_numpy(dtype=bool)]
    brand = answered["brand"].astype(object)
    other = next((r for r in rows if r.get("other")), None)
    if other is not None:  # the brands not shown, pooled under the "other" row's label
        shown = [r["brand"] for r in rows if not r.get("other")]
        brand = brand.where(brand.isin(shown), other["brand"])
    times = answered.groupby(brand, sort=False)["ttfr_s"]
    quartiles = times.quantile([0.1, 0.25, 0.75]).unstack() if len(answered) else None
    labels, whisker, box, median = [], [], [], []
    for row in rows:
        if row["ttfr_median_s"] is None or quartiles is None or row["brand"] not in quartiles.index:
            continue
        q = quartiles.loc[row["brand"]]
        labels.append(row["brand"])
        whisker.append([_round(q[0.1]), _round(row["ttfr_p90_s"])])
        box.append([_round(q[0.25]), _round(q[0.75])])
        median.append(_round(row["ttfr_median_s"]))
    return {
        "id": "chart-box",
        "kind": "box",
        "title": "Time to first response of answered probes: p10–p90, quartiles and median",
        "labels": labels,
        "whisker": whisker,
        "box": box,
        "median": median,
    }


def interval_chart(chart_id: str, title: str, rows: list[dict], key: str, refs=()) -> dict:
    """Response rate and its 95% interval per row (rows without one are left out)."""
    shown = [r for r in rows if r["response_rate"] is not None]
    return {
        "id": chart_id,
        "kind": "interval",
        "title": title,
        "labels": [str(r[key]) for r in shown],
        "value": [r["response_rate"] for r in shown],
        "interval": [r["response_rate_ci"] for r in shown],
        "refs": [{"label": f"{ref.source}: {ref.text}", "value": ref.value} for ref in refs],
    }


def bars_chart(
    chart_id: str, title: str, labels: list[str], series: dict[str, list], *, unit: str,
    stacked: bool = False, colors: dict[str, str] | None = None,
) -> dict:  # fmt: skip
    """Grouped (or stacked) horizontal bars; ``unit`` is ``share``, ``seconds`` or ``count``."""
    colors = colors or {}
    return {
        "id": chart_id,
        "kind": "bars",
        "title": title,
        "labels": labels,
        "series": [
            {
                "label": k,
                "values": v,
                **({"color": colors[k]} if k in colors else {}),
            }
            for k, v in series.items()
        ],
        "unit": unit,
        "stacked": stacked,
    }


def has_data(spec: dict) -> bool:
    """Whether a chart has anything to draw."""
    if spec["kind"] == "steps":
        return any(len(s["points"]) > 0 for s in spec["series"])
    if spec["kind"] == "bars":
        return any(v is not None for s in spec["series"] for v in s["values"])
    return bool(spec["labels"])


def _inert_labels(spec: dict) -> dict:
    """Chart labels are drawn as canvas text (never markup), but still lose bidi overrides."""
    out = dict(spec)
    if "labels" in out:
        out["labels"] = [inert(str(label)) for label in out["labels"]]
    if "series" in out:
        out["series"] = [{**s, "label": inert(str(s["label"]))} for s in out["series"]]
    return out


def report_charts(report, probes: pd.DataFrame, scenarios: list[dict]) -> list[dict]:
    """Every chart of the report, labels made inert."""
    return [_inert_labels(spec) for spec in _specs(report, probes, scenarios)]


def top_brands(probes: pd.DataFrame, summary: dict) -> tuple[list[dict], dict | None]:
    """The ``MAX_CHART_LABELS`` brands with the most probes, and the rest pooled (or None)."""
    brands = sections.by_probes(summary["groups"]["brand"])
    shown, rest = brands[:MAX_CHART_LABELS], brands[MAX_CHART_LABELS:]
    return shown, other_row(probes, [r["brand"] for r in rest], summary)


def _specs(report, probes: pd.DataFrame, scenarios: list[dict]) -> list[dict]:
    summary = report.summary
    groups = summary["groups"]
    shown, other = top_brands(probes, summary)
    folded = [other | {"other": True}] if other else []
    ranked = sections.by_rate(shown) + folded
    window_s = float(summary["window_s"])
    minimum = summary.get("min_group", 10)
    clocks = [b for b in shown + folded if b["ttfr_median_s"] is not None]
    channel_rows = [{"label": f"channel {r['channel']}", **r} for r in groups.get("channel", [])]
    channel_rows += [{"label": f"{r['surface']} surface", **r} for r in groups.get("surface", [])]
    tiers = [r for r in groups.get("follower_tier", []) if r["follower_tier"] != "(unknown)"]
    rest = [b["brand"] for b in sections.by_probes(groups["brand"])[MAX_CHART_LABELS:]]
    specs = [
        interval_chart("chart-leaderboard", "Share answered, with 95% interval",
                       ranked, "brand", for_metric("response_rate")),
        box_chart(probes, shown + folded, minimum),
        km_chart(probes, [b["brand"] for b in shown], window_s, minimum, rest),
        bars_chart(
            "chart-clocks", "Median time to first response: calendar and support-hours clocks",
            [b["brand"] for b in clocks],
            {"calendar clock": [b["ttfr_median_s"] for b in clocks],
             "support-hours clock": [b["ttfr_business_median_s"] for b in clocks]},
            unit="seconds",
        ),
        interval_chart("chart-channels", "Share answered by channel and surface",
                       channel_rows[:MAX_CHART_LABELS], "label"),
        bars_chart(
            "chart-reply-types", "Reply types, all brands (share of answered probes)",
            [label for _, label in sections.REPLY_TYPES],
            {"all brands": [summary["overall"][key] for key, _ in sections.REPLY_TYPES]},
            unit="share",
        ),
        interval_chart("chart-fairness", "Share answered by follower count",
                       tiers, "follower_tier"),
    ]  # fmt: skip
    if report.is_probe_run:
        shown_scenarios = scenarios[:MAX_CHART_LABELS]
        specs.append(
            bars_chart(
                "chart-scenarios", "Probes that met or missed their expectations",
                [r["scenario"] for r in shown_scenarios],
                {"met": [r["met"] for r in shown_scenarios],
                 "missed": [r["missed"] for r in shown_scenarios]},
                unit="count", stacked=True, colors={"met": "#0f8a5f", "missed": "#c2362b"},
            )
        )  # fmt: skip
    return specs

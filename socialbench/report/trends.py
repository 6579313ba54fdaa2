"""Trends: the figures week by week (when the data spans more than a week) and the change
against a baseline run.

Weekly figures are computed from the probe table by one grouped aggregation (no loop over
rows), with the report's small-group rule: a week's response rate needs ``min_group``
probes and its median time ``min_group`` answered probes, else it is None ("–"). Weeks
start on Monday, 00:00 UTC, and are labelled by that date.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TOP_BRANDS = 5
MAX_WEEKS = 26  # the latest weeks shown; older ones are named as left out
WEEK = pd.Timedelta(days=7)
ALL = "All brands"
# the figures of a baseline comparison shown (compare.FIGURES keys), in this order
HEADLINE = (
    "probes", "response_rate", "ttfr_median_s", "ttfr_p90_s", "within.1h", "within.24h",
    "link_rate", "deflection_rate", "resolution_rate",
)  # fmt: skip


def spans_weeks(probes: pd.DataFrame) -> bool:
    """The probes were sent over more than a week."""
    sent = probes["sent_at"].dropna() if "sent_at" in probes else pd.Series(dtype=object)
    return len(sent) > 1 and sent.max() - sent.min() > WEEK


def weekly(probes: pd.DataFrame, *, min_group: int, top: int = TOP_BRANDS) -> dict | None:
    """Response rate and median time to first response per week, for all brands and the
    ``top`` brands with the most probes; None unless the probes span more than a week.

    ``weeks``: the Mondays (``YYYY-MM-DD``); ``rows``: ``{"brand", "cells"}`` with a cell
    ``{"probes", "rate", "median"}`` per week; ``omitted_weeks`` and ``brands`` (how many
    brands there are in all) say what is left out.
    """
    if not spans_weeks(probes):
        return None
    frame = _frame(probes)
    weeks = pd.date_range(frame["week"].min(), frame["week"].max(), freq="7D")
    leaders = frame["brand"].value_counts(sort=True).index[:top].tolist()
    ranked = frame[frame["brand"].isin(leaders)]
    cells = pd.concat([_cells(frame.assign(brand=ALL), weeks, [ALL], min_group),
                       _cells(ranked, weeks, leaders, min_group)])  # fmt: skip
    # weeks and brands without a single figure are left out (a row or column of "–" says
    # nothing); of the weeks with one, the latest MAX_WEEKS are shown
    figured = (cells["rate"].notna() | cells["median"].notna()).unstack("week")
    dated = figured.columns[figured.any(axis=0).to_numpy()]
    shown = dated[-MAX_WEEKS:]
    brands = [b for b in [ALL, *leaders] if figured.loc[b, shown].any()]
    picked = cells.loc[pd.MultiIndex.from_product([brands, shown], names=["brand", "week"])]
    picked = picked.astype(object).where(picked.notna(), None)
    rows = [{"brand": b, "cells": picked.loc[b].to_dict("records")} for b in brands]
    return {
        "weeks": [f"{w:%Y-%m-%d}" for w in shown],
        "labels": [f"{w.day}\u00a0{w:%b}" for w in shown],  # 2 Mar: no break inside
        "years": _years(shown),
        "rows": rows,
        "omitted_weeks": len(dated) - len(shown),
        "empty_weeks": len(weeks) - len(dated),
        "brands": int(frame["brand"].nunique()),
        "leaders": len(leaders),
        "min_group": min_group,
    }


def _years(weeks) -> str:
    if not len(weeks):
        return ""
    first, last = weeks[0].year, weeks[-1].year
    return f"{first}" if first == last else f"{first}–{last}"


def _frame(probes: pd.DataFrame) -> pd.DataFrame:
    sent = probes["sent_at"]
    day = sent.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    answered = probes["responded"].fillna(False).to_numpy(dtype=bool)
    ttfr = probes["ttfr_s"].to_numpy(dtype=float)
    frame = pd.DataFrame({
        "brand": probes["brand"].astype(object).where(probes["brand"].notna(), "(unknown)"),
        "week": day - pd.to_timedelta(day.dt.day_of_week, unit="D"),
        "answered": answered,
        "ttfr": np.where(answered, ttfr, np.nan),
    })  # fmt: skip
    return frame[sent.notna().to_numpy()]


def _cells(frame: pd.DataFrame, weeks, brands: list, min_group: int) -> pd.DataFrame:
    """Per (brand, week) of ``brands`` × ``weeks``: probes, response rate and median time
    (NaN under the small-group rule)."""
    grid = pd.MultiIndex.from_product([brands, weeks], names=["brand", "week"])
    table = (
        frame.groupby(["brand", "week"])
        .agg(probes=("answered", "size"), answered=("answered", "sum"), median=("ttfr", "median"))
        .reindex(grid)
    )
    probes = table["probes"].fillna(0).astype(int)
    answered = table["answered"].fillna(0).astype(int)
    rate = (answered / probes.where(probes > 0)).where(probes >= min_group)
    median = table["median"].where(answered >= min_group)
    return pd.DataFrame({"probes": probes, "rate": rate, "median": median})


def against(baseline: Path, directory: Path) -> dict:
    """``compare.compare_runs`` of the ``baseline`` run (A) with the run in ``directory``
    (B): the report's ``baseline``. Runs are named by their folder's name, never a path."""
    from socialbench.measure import compare

    return compare.compare_runs(Path(baseline), Path(directory))


def baseline_rows(comparison: dict, *, figures: tuple[str, ...] = HEADLINE) -> list[dict]:
    """The headline figures of a ``compare.compare`` result (baseline = A, this run = B),
    each with both values, the change and the verdict of its test, as display text."""
    from socialbench.measure import compare

    by_key = {row["figure"]: row for row in comparison["rows"] if row["group"] is None}
    known = {f.key: f for f in compare.FIGURES}
    out = []
    for key in figures:
        row = by_key.get(key)
        if row is None:
            continue
        figure = known[key]
        out.append({
            "figure": figure.label,
            "baseline": compare.format_value(figure.kind, row["a"]),
            "run": compare.format_value(figure.kind, row["b"]),
            "change": compare.format_change(figure.kind, row["change"], row["relative"]),
            "p": compare.format_p(row["p_value"]),
            "verdict": row["verdict"] or "not tested",
        })  # fmt: skip
    return out

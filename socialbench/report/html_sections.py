"""What each section of the HTML report shows, as plain data for its template.

Figures come from summary.json; the few that summary.json does not hold (the weekday × hour
grid, per-scenario expectations, time to resolution, one-touch shares) are computed here
from the probe table with the same small-group rule: a share needs ``min_group`` probes and a
time needs ``min_group`` answered (or resolved) probes, else it is ``None`` and shows "–".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from socialbench.durations import format_seconds
from socialbench.measure.metrics import WEEKDAYS
from socialbench.report import references
from socialbench.report.terminal import by_response_rate

EXPECTATIONS = ("reply", "deadline", "link", "dm", "resolution")
REPLY_TYPES = (
    ("link_rate", "link"),
    ("dm_rate", "DM"),
    ("phone_rate", "phone"),
    ("email_rate", "email"),
    ("ack_only_rate", "acknowledgement only"),
    ("deflection_rate", "deflection (DM, phone or email)"),
)
WITHIN_KEYS = ("15m", "1h", "4h", "24h", "window")
# a weekday × hour grid is drawn when at least this share of its non-empty rows × columns
# has figures; a sparser grid is not drawn (the weekday and hour margins always are)
HEATMAP_MIN_FILLED = 0.5


DASH = "–"


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage (``58.1%``); "–" when withheld."""
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def ci(values: list[float] | None) -> str:
    """A 95% interval (``49.1–66.7%``); "–" when withheld."""
    return DASH if values is None else f"{100 * values[0]:.1f}–{100 * values[1]:.1f}%"


def dur(seconds: float | None) -> str:
    """A duration as the terminal shows it (``42s``, ``11.5m``, ``3.2h``); "–" when withheld."""
    return DASH if seconds is None else format_seconds(seconds)


by_rate = by_response_rate


def by_probes(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: -r["probes"])


def resolution_method(report) -> str:
    if report.is_probe_run:
        return "answer key"
    return "customer confirmed, a heuristic"


def card(metric: str, label: str, value, unit: str, detail: str = "", refs=None) -> dict:
    return {
        "metric": metric,
        "label": label,
        "value": value,
        "unit": unit,
        "detail": detail,
        "refs": references.for_metric(metric) if refs is None else refs,
    }


def headline(report, resolution: dict) -> list[dict]:
    """The headline figures, each with the published figures it compares with."""
    o = report.summary["overall"]
    within = o["within"] or {}
    probes_detail = f"{o['responded']:,} answered"
    if report.is_probe_run:
        run = report.summary["run"]
        probes_detail += f"; {run['planned']:,} planned, {len(run['failed']):,} never sent"
    business, business_p90 = dur(o["ttfr_business_median_s"]), dur(o["ttfr_business_p90_s"])
    if o["ttfr_business_median_s"] == 0:
        business += " (answered while support was closed)"
    cards = [
        card("probes", "Probes", o["probes"], "count", probes_detail, refs=[]),
        card("response_rate", "Answered", o["response_rate"], "share",
             f"95% CI {ci(o['response_rate_ci'])}; of all probes, unanswered ones included"),
        card("ttfr_median_s", "Median time to first response", o["ttfr_median_s"], "seconds",
             f"support-hours clock: {business}; over answered probes"),
        card("ttfr_p90_s", "90th percentile time to first response", o["ttfr_p90_s"], "seconds",
             f"support-hours clock: {business_p90}"),
        card("ttfr_mean_s", "Mean time to first response", o["ttfr_mean_s"], "seconds",
             "over answered probes"),
        card("within.1h", "Answered within 1 hour", within.get("1h"), "share",
             "share of all probes"),
        card("within.24h", "Answered within 24 hours", within.get("24h"), "share",
             "share of all probes"),
        card("link_rate", "Replies with a link", o["link_rate"], "share",
             "share of answered probes"),
        card("dm_rate", "Replies moving to DM", o["dm_rate"], "share",
             "share of answered probes"),
        card("deflection_rate", "Deflected (DM, phone or email)", o["deflection_rate"], "share",
             "share of answered probes"),
        card("resolution_rate", f"Resolved ({resolution_method(report)})", o["resolution_rate"],
             "share", "share of probes a resolution rule applies to"),
    ]  # fmt: skip
    if report.is_probe_run:
        cards.append(
            card("ttr_mean_s", "Mean time to resolution", resolution["overall"]["ttr_mean_s"],
                 "seconds", "over resolved probes (answer key)")
        )  # fmt: skip
    return cards + automated_cards(o)


def automated_cards(o: dict) -> list[dict]:
    """Automated replies (bots, away messages), when some probe had one: they never count as
    the first response, so they get figures of their own."""
    if not o.get("automated"):
        return []
    handoff = dur(o.get("handoff_median_s"))
    return [
        card("automated_rate", "Probes with an automated reply", o.get("automated_rate"),
             "share", f"{o['automated']:,} probes; share of all probes", refs=[]),
        card("ttfa_median_s", "Median time to the automated reply", o.get("ttfa_median_s"),
             "seconds", "over probes with an automated reply", refs=[]),
        card("bot_only_rate", "Answered only by automation", o.get("bot_only_rate"), "share",
             f"share of all probes; hand-off to a human: median {handoff}", refs=[]),
    ]  # fmt: skip


def omnichannel(summary: dict) -> dict:
    """The brand × channel cells of the brands seen on more than one channel, and the
    consistency of answers across channels (an older summary without them: none)."""
    found = summary.get("omnichannel") or {}
    cells = found.get("matrix", [])
    channels: dict = {}
    for cell in cells:
        channels[cell["brand"]] = channels.get(cell["brand"], 0) + 1
    compared = [cell for cell in cells if channels[cell["brand"]] > 1]
    consistency = found.get("consistency") or {"pairs": 0}
    return {"compared": bool(compared), "cells": compared, "consistency": consistency}


def brand_names(report) -> dict[str, str]:
    """Brand id -> display name from the suite (probe runs), when it differs."""
    names = {}
    for brand in (report.suite or {}).get("brands") or []:
        if isinstance(brand, dict) and brand.get("name") and brand.get("name") != brand.get("id"):
            names[str(brand.get("id"))] = str(brand["name"])
    return names


def _ok(count: float, minimum: int) -> bool:
    return count >= minimum


def _figure(value: float, ok: bool) -> float | None:
    return float(value) if ok and not (isinstance(value, float) and math.isnan(value)) else None


def heatmap(probes: pd.DataFrame, summary: dict) -> dict:
    """Response rate and median time by local weekday × hour, with summary.json's margins."""
    minimum = summary.get("min_group", 10)
    frame = probes[["weekday", "hour", "responded", "ttfr_s"]].dropna(subset=["weekday", "hour"])
    answered = frame["responded"].fillna(False).to_numpy(dtype=bool)
    keys = [frame["weekday"].astype(object), frame["hour"].astype(int)]
    n = frame.groupby(keys).size()
    r = pd.Series(answered, index=frame.index).groupby(keys).sum()
    median = frame[answered].groupby([k[answered] for k in keys])["ttfr_s"].median()
    by_day = {row["weekday"]: row for row in summary["groups"].get("weekday", [])}
    by_hour = {row["hour"]: row for row in summary["groups"].get("hour", [])}
    rows = []
    for day in WEEKDAYS:
        cells = []
        for hour in range(24):
            count = int(n.get((day, hour), 0))
            answered_count = int(r.get((day, hour), 0))
            cells.append({
                "probes": count,
                "rate": _figure(answered_count / count, _ok(count, minimum)) if count else None,
                "median": _figure(median.get((day, hour), math.nan),
                                  _ok(answered_count, minimum)),
            })  # fmt: skip
        margin = by_day.get(day)
        rows.append({"day": day, "cells": cells, "all": margin})
    hours = [by_hour.get(h) for h in range(24)]
    grid = {"rows": rows, "hours": hours, "overall": summary["overall"], "min_group": minimum}
    return grid | heatmap_layout(rows, hours)


def _filled(cell: dict | None, keys: tuple[str, ...]) -> bool:
    return cell is not None and any(cell.get(k) is not None for k in keys)


def heatmap_layout(rows: list[dict], hours: list[dict | None]) -> dict:
    """What the weekday × hour section draws: for the share answered (``rate``) and the median
    time (``speed``) a grid without its empty weekdays and hours (none of their cells has that
    figure), or no grid when most of what is left would be dashes (its ``reason`` says so in
    one line); and the weekdays and hours with a figure, each on its own (summary.json's
    margins)."""
    keys = ("response_rate", "ttfr_median_s")
    return {
        "rate": _grid(rows, "rate", "share answered"),
        "speed": _grid(rows, "median", "median time"),
        "day_columns": [(row["day"], row["all"]) for row in rows if _filled(row["all"], keys)],
        "hour_columns": [(f"{h:02d}", row) for h, row in enumerate(hours) if _filled(row, keys)],
    }


def _grid(rows: list[dict], key: str, what: str) -> dict:
    days = [i for i, row in enumerate(rows) if any(_filled(c, (key,)) for c in row["cells"])]
    shown = [h for h in range(24) if any(_filled(rows[d]["cells"][h], (key,)) for d in days)]
    cells = len(days) * len(shown)
    filled = sum(_filled(rows[d]["cells"][h], (key,)) for d in days for h in shown)
    # a grid needs two weekdays and two hours; a single row or column is the margins' job
    drawn = min(len(days), len(shown)) >= 2 and filled >= HEATMAP_MIN_FILLED * cells
    if drawn:
        reason = None
    elif not filled:
        reason = f"No weekday × hour cell has enough probes for its {what}, so no grid is drawn."
    else:
        reason = (
            f"No weekday × hour grid of the {what}: only {filled} of its {7 * 24} cells "
            f"{'have' if filled > 1 else 'has'} enough probes for one; "
            "the weekday and hour tables below have it."
        )
    return {
        "drawn": drawn,
        "reason": reason,
        "trimmed": drawn and cells < 7 * 24,
        "rows": [
            {"day": rows[d]["day"], "cells": [rows[d]["cells"][h] for h in shown]} for d in days
        ],  # fmt: skip
        "hours": shown,
    }


def rate_class(value: float | None) -> str:
    """Heat class h0..h9 of a share (darker = more answered)."""
    if value is None:
        return "na"
    return f"h{min(9, max(0, int(value * 10)))}"


def speed_class(value: float | None, window_s: float) -> str:
    """Heat class of a time, on a log scale from 1 minute to the window (darker = faster)."""
    if value is None:
        return "na"
    span = math.log(max(window_s, 120) / 60)
    slow = math.log(max(value, 60) / 60) / span
    return f"h{min(9, max(0, 9 - int(slow * 9.999)))}"


def resolution(probes: pd.DataFrame, summary: dict, is_probe_run: bool) -> dict:
    """Resolution per brand and overall: summary.json's rate and counts; for probe runs also
    the one-touch share (among probes with an answer key) and the time to resolution."""
    minimum = summary.get("min_group", 10)
    rule = probes["resolved"].notna().to_numpy()
    resolved = probes["resolved"].fillna(False).to_numpy(dtype=bool) & rule
    frame = pd.DataFrame({"rule": rule, "resolved": resolved}, index=probes.index)
    timed = is_probe_run and "one_touch" in probes and "ttr_s" in probes
    if timed:
        one_touch = probes["one_touch"].fillna(False).to_numpy(dtype=bool) & rule
        ttr = probes["ttr_s"].to_numpy(dtype=float)
        frame = frame.assign(one_touch=one_touch, ttr=np.where(resolved, ttr, np.nan))
    everyone = pd.Series("", index=probes.index)
    per_brand = _resolution_rows(frame, probes["brand"].astype(object), minimum, timed)
    empty = {"with_rule": 0, "resolved": 0, "one_touch_rate": None, "ttr_median_s": None,
             "ttr_mean_s": None}  # fmt: skip
    overall = _resolution_rows(frame, everyone, minimum, timed).get("", empty)
    return {
        "overall": {**overall, "probes": summary["overall"]["probes"],
                    "resolution_rate": summary["overall"]["resolution_rate"]},
        "brands": [
            {**per_brand.get(row["brand"], empty), "brand": row["brand"], "probes": row["probes"],
             "resolution_rate": row["resolution_rate"]}
            for row in summary["groups"]["brand"]
        ],
    }  # fmt: skip


def _resolution_rows(frame: pd.DataFrame, key: pd.Series, minimum: int, timed: bool) -> dict:
    grouped = frame.groupby(key.to_numpy(), sort=False)
    sums = grouped[["rule", "resolved"] + (["one_touch"] if timed else [])].sum()
    if timed:
        times = grouped["ttr"].agg(["median", "mean", "count"])
    out = {}
    for name, row in sums.iterrows():
        keyed = int(row["rule"])
        entry = {"with_rule": keyed, "resolved": int(row["resolved"]), "one_touch_rate": None,
                 "ttr_median_s": None, "ttr_mean_s": None}  # fmt: skip
        if timed:
            enough = times.loc[name, "count"] >= minimum
            entry["one_touch_rate"] = _figure(row["one_touch"] / max(keyed, 1), keyed >= minimum)
            entry["ttr_median_s"] = _figure(times.loc[name, "median"], enough)
            entry["ttr_mean_s"] = _figure(times.loc[name, "mean"], enough)
        out[name] = entry
    return out


def scenarios(probes: pd.DataFrame, summary: dict) -> list[dict]:
    """Per scenario: probes, expectations met and missed, and how often each one was missed,
    beside summary.json's response rate and median for the scenario."""
    if "expectations_met" not in probes or "scenario" not in probes:
        return []
    frame = probes.dropna(subset=["scenario"])
    scenario = frame["scenario"].astype(object)
    met = frame["expectations_met"]
    counts = pd.DataFrame(
        {
            "probes": 1,
            "met": met.fillna(False).to_numpy(dtype=bool),
            "missed": (met == False).fillna(False).to_numpy(dtype=bool),  # noqa: E712
        },
        index=frame.index,
    )
    missed = frame["expectations_missed"].fillna("").astype(str).str.get_dummies(sep=";")
    counts = counts.join(missed.reindex(columns=list(EXPECTATIONS), fill_value=0))
    totals = counts.groupby(scenario.to_numpy(), sort=False).sum()
    rows = {r["scenario"]: r for r in summary["groups"].get("scenario", [])}
    out = []
    for name, total in totals.iterrows():
        row = rows.get(name)
        out.append({
            "scenario": name,
            "probes": int(total["probes"]),
            "met": int(total["met"]),
            "missed": int(total["missed"]),
            "misses": {e: int(total[e]) for e in EXPECTATIONS},
            "response_rate": row["response_rate"] if row else None,
            "ttfr_median_s": row["ttfr_median_s"] if row else None,
        })  # fmt: skip
    return sorted(out, key=lambda r: str(r["scenario"]).lower())


def fairness_sentences(summary: dict) -> list[str]:
    """The follower-tier comparison in plain words, from summary["fairness"]."""
    fair = summary.get("fairness") or {}
    tiers, compare = fair.get("tiers") or [], fair.get("compare")
    if not tiers:
        return ["No probe has a known follower count, so tiers cannot be compared."]
    if compare is None:
        return [f"All probes with a known follower count are in one tier ({tiers[0]['tier']}); "
                "there is nothing to compare."]  # fmt: skip
    by_tier = {t["tier"]: t for t in tiers}
    high, low = by_tier[compare["high"]], by_tier[compare["low"]]
    who_high = f"customers with {compare['high']} followers"
    who_low = f"those with {compare['low']}"
    diff = 100 * compare["response_rate_diff"]
    out = [
        f"{who_high.capitalize()} were answered {pct(high['response_rate'])} of the time, "
        f"against {pct(low['response_rate'])} for {who_low} ({diff:+.1f} points; "
        f"Fisher's exact test {p_text(compare['fisher_p'])}): {_verdict(compare['fisher_p'])}."
    ]
    ratio = compare["ttfr_median_ratio_low_over_high"]
    if ratio is None:
        out.append("Too few answers in one of the tiers to compare response times.")
    else:
        medians = f"median {dur(high['ttfr_median_s'])} against {dur(low['ttfr_median_s'])}"
        test = compare["mannwhitney_p"]
        test_text = f"Mann–Whitney U test {p_text(test)}" if test is not None else "no test"
        out.append(
            f"When answered, {who_high} were answered {_times(ratio)} than {who_low} "
            f"({medians}; {test_text})" + (f": {_verdict(test)}." if test is not None else ".")
        )
    if compare["small"]:
        out.append(
            f"One of the compared tiers has fewer than {summary.get('min_group', 10)} probes: "
            "read these comparisons with great care."
        )
    return out


def _times(ratio: float) -> str:
    if math.isclose(ratio, 1.0, rel_tol=0.005):
        return "as fast"
    if ratio > 1:
        return f"{ratio:.1f}× faster"
    return f"{1 / ratio:.1f}× slower"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _verdict(p: float) -> str:
    if p < 0.05:
        return "a difference this large would be unlikely if both tiers were treated alike"
    return "a difference this large could well arise by chance with these numbers of probes"

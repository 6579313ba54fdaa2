"""The Markdown report: a compact summary for a pull-request comment or a GitHub step summary.

What the run is, the headline figures beside the closest published reference, a brand
leaderboard, fairness by follower tier in plain words, and the rules behind '-'. Bounded in
size whatever the run (about 50 lines, well under 64 KB): long names are shortened, long
lists cut.

Every value that comes from data (brand names, the suite, source paths, tier labels) goes
through ``escape``: GitHub renders Markdown and inline HTML, autolinks URLs and notifies
``@mentioned`` users, and social-media data is untrusted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from socialbench.durations import format_seconds
from socialbench.report import findings, trends
from socialbench.report.methodology import file_name
from socialbench.report.model import Report
from socialbench.report.references import Reference, for_metric
from socialbench.report.terminal import automated_lines, ci, leaderboard_rows, pct

DEFAULT_NAME = "report.md"  # beside the run's files
TOP_BRANDS = 15
TOP_BRANDS_WITH_BASELINE = 10  # the baseline's table takes the others' lines
BASELINE_FIGURES = (
    "response_rate", "ttfr_median_s", "ttfr_p90_s", "within.1h", "deflection_rate",
    "resolution_rate",
)  # fmt: skip
MAX_TEXT = 80  # characters of one untrusted value shown
MAX_SOURCES = 3
HEADLINE = ("figure", "this run", "closest published reference")
LEADERBOARD = ("brand", "probes", "answered", "95% CI", "median", "p90", "≤1h", "link", "DM")

# Control characters (terminal escapes), bidirectional overrides and invisible format
# characters: removed. Whitespace of any kind (newlines included) collapses to one space.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SPACE = re.compile(r"\s+")
# HTML as entities; Markdown punctuation (and '$' of GitHub's math) backslashed.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"} | {c: "\\" + c for c in "\\`*_[]()#|!~$"}
)
_SCHEME = re.compile(r":(?!\s|$)")  # javascript:…, http://…: a colon not followed by a space
_MENTION = re.compile(r"@(?=\w)")  # @name notifies a GitHub user
_WWW = re.compile(r"(?i)\b(www)\.")  # GitHub autolinks www.example.com


def escape(value: object, *, limit: int | None = MAX_TEXT) -> str:
    """``value`` as inert Markdown text on one line, at most ``limit`` characters shown."""
    text = _SPACE.sub(" ", _INVISIBLE.sub("", str(value))).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _SCHEME.sub(r"\:", text.translate(_ESCAPES))
    text = _MENTION.sub("@\u2060", text)  # a word joiner: shown as '@', not a mention
    return _WWW.sub(r"\1\\.", text)


def write(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


def render(report: Report) -> str:
    summary = report.summary
    lines = [f"# {escape(report.title, limit=MAX_TEXT + 30)}", ""]
    client = report.branding.client
    prepared = f"Prepared for **{escape(client)}**. " if client else ""
    lines += [prepared + _about(report) + _span(report), ""]
    lines += [*_summary(report), ""]
    lines += _table(HEADLINE, _headline(summary), align="lrl")
    if report.baseline:
        lines += ["", *_baseline(report.baseline)]
    top = TOP_BRANDS_WITH_BASELINE if report.baseline else TOP_BRANDS
    lines += ["", *_leaderboard(summary, top), ""]
    lines += ["### Fairness by follower tier", "", *_fairness(summary), ""]
    lines += ["### Notes", "", *_notes(summary)]
    return "\n".join(lines) + "\n"


def _about(report: Report) -> str:
    """One line: which run, how many probes, how final; or which recordings."""
    summary = report.summary
    window = f"window {format_seconds(summary['window_s'])}"
    probes = summary["overall"]["probes"]
    if report.is_probe_run:
        run = summary["run"]
        kind = report.run_kind
        failed = f", {len(run['failed']):,} failed" if run["failed"] else ""
        state = "complete" if run["complete"] else f"in progress as of {_when(run['as_of'])}"
        if kind == "simulated":
            state += " (simulated platform time)" if not run["complete"] else ""
        return (
            f"**Probe run** of suite {escape(run['suite'])} against {escape(run['target'])} "
            f"({kind}): {probes:,} of {run['planned']:,} planned probes sent{failed}; "
            f"{state}; {window}."
        )
    observed = summary.get("observed")
    if isinstance(observed, dict):
        notes = "".join(f" {escape(note)}." for note in observed.get("notes", []))
        return (
            f"**Observed inbox** (webhooks) since {_when(observed.get('since'))}: "
            f"{probes:,} probes from {observed['events']:,} events, as of "
            f"{_when(observed.get('as_of'))}; open windows count as watched until then; "
            f"{window}.{notes}"
        )
    sources = summary.get("sources") or []
    named = ", ".join(
        f"{escape(file_name(s['path']))} ({escape(s['format'])}, {s['messages']:,} messages)"
        for s in sources[:MAX_SOURCES]
    )
    if len(sources) > MAX_SOURCES:
        named += f" and {len(sources) - MAX_SOURCES:,} more"
    extra = ""
    if summary.get("skipped_rows"):
        extra += f"; {summary['skipped_rows']:,} unreadable rows skipped"
    if summary.get("reopen_after_s"):
        extra += f"; reopened after {format_seconds(summary['reopen_after_s'])} of silence"
    return f"**Recorded archive**: {probes:,} probes from {named or 'no sources'}{extra}; {window}."


def _summary(report: Report) -> list[str]:
    """The executive summary (findings.py) as a list, values from data escaped."""
    found = findings.summarise(report.summary, kind=report.run_kind, text=escape)
    if not found:
        return ["### Summary", "", "No finding: too few probes for any figure."]
    return ["### Summary", "", *(f"- {f.sentence}" for f in found)]


def _baseline(comparison: dict) -> list[str]:
    """The headline figures against a baseline run (trends.baseline_rows)."""
    name = escape(comparison["a"]["directory"] or "the baseline")
    head = ("figure", "baseline", "this run", "change", "p", "verdict")
    rows = [
        tuple(escape(row[k], limit=None) for k in ("figure", "baseline", "run", "change", "p",
                                                   "verdict"))
        for row in trends.baseline_rows(comparison, figures=BASELINE_FIGURES)
    ]  # fmt: skip
    notes = [f"- Not like-for-like: {escape(w, limit=None)}." for w in comparison["warnings"]]
    title = f"### Against the baseline run {name}"
    return [title, "", *_table(head, rows, align="lrrrrl"), *([""] + notes if notes else [])]


def _span(report: Report) -> str:
    """`` Data: FIRST to LAST (platform time).``: the first probe to the last message."""
    span = report.data_span()
    if span is None:
        return ""
    clock = "simulated platform time" if report.simulated_clock else "platform time"
    return f" Data: {span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} UTC ({clock})."


def _when(timestamp: str | None) -> str:
    if not timestamp:
        return "the last poll"
    try:
        return pd.Timestamp(timestamp).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, TypeError):
        return escape(timestamp)


def _headline(summary: dict) -> list[tuple[str, str, str]]:
    o = summary["overall"]
    within = o["within"] or {}
    method = "answer key" if "run" in summary else "customer confirmation (heuristic)"
    answered = f"{pct(o['response_rate'])} ({o['responded']:,} of {o['probes']:,}"
    answered += f"; 95% CI {ci(o['response_rate_ci'])})" if o["response_rate_ci"] else ")"
    rows = (
        ("probes", f"{o['probes']:,}", None),
        ("answered", answered, "response_rate"),
        ("median time to first response", format_seconds(o["ttfr_median_s"]), "ttfr_mean_s"),
        ("p90 time to first response", format_seconds(o["ttfr_p90_s"]), None),
        ("answered within 1 h", pct(within.get("1h")), "within.1h"),
        ("answered within 24 h", pct(within.get("24h")), None),
        ("replies with a link", pct(o["link_rate"]), "link_rate"),
        ("replies moving to DM", pct(o["dm_rate"]), "deflection_rate"),
        (f"resolved, by {method}", pct(o["resolution_rate"]), "ttr_mean_s"),
    )
    rows += tuple((label, value, None) for label, value in automated_lines(o))
    return [(label, value, _reference(metric)) for label, value, metric in rows]


def _reference(metric: str | None) -> str:
    """The closest published figure: the first listed for the metric (references.py lists
    the most comparable study first)."""
    found: list[Reference] = for_metric(metric) if metric else []
    if not found:
        return ""
    return f"{escape(found[0].text, limit=None)} ({escape(found[0].source, limit=None)})"


def _leaderboard(summary: dict, top: int) -> list[str]:
    brands = summary["groups"]["brand"]
    rows = leaderboard_rows(summary, top, text=escape)
    head = f"### Brands (top {len(rows):,} of {len(brands):,} by response rate)"
    if not rows:
        return ["### Brands", "", "No brand has probes."]
    return [head, "", *_table(LEADERBOARD, rows, align="l" + "r" * (len(LEADERBOARD) - 1))]


def _fairness(summary: dict) -> list[str]:
    fairness = summary.get("fairness") or {}
    compare = fairness.get("compare")
    if not compare:
        return ["Not measured: the probes' customers fall in fewer than two known follower tiers."]
    tiers = {t["tier"]: t for t in fairness.get("tiers") or []}
    high, low = tiers.get(compare["high"], {}), tiers.get(compare["low"], {})
    who = f"customers with {escape(compare['high'])} followers"
    than = f"those with {escape(compare['low'])}"
    lines = [
        f"Comparing {who} ({high.get('probes', 0):,} probes) "
        f"with {than} ({low.get('probes', 0):,} probes):",
        "",
        f"- {_speed(compare, high, low, who, than)}",
        f"- {_rate(compare, high, low, who, than)}",
    ]
    if compare.get("small"):
        lines.append(
            f"- Caution: a compared tier has fewer than {summary.get('min_group', 10)} probes."
        )
    return lines


def _speed(compare: dict, high: dict, low: dict, who: str, than: str) -> str:
    ratio = compare.get("ttfr_median_ratio_low_over_high")
    if ratio is None:
        return "Response times could not be compared (a tier has no answered probe)."
    medians = (
        f"median {format_seconds(high.get('ttfr_median_s'))} "
        f"vs {format_seconds(low.get('ttfr_median_s'))}"
    )
    if ratio >= 1.05:
        how = f"{ratio:.1f}× faster than"
    elif ratio <= 1 / 1.05:
        how = f"{1 / ratio:.1f}× slower than"
    else:
        how = "about as fast as"
    return f"{_cap(who)} were answered {how} {than} ({medians}){_p(compare, 'mannwhitney_p')}."


def _rate(compare: dict, high: dict, low: dict, who: str, than: str) -> str:
    diff = 100 * compare["response_rate_diff"]
    if abs(diff) < 0.05:
        how = "as often as"
    else:
        how = f"{abs(diff):.1f} percentage points {'more' if diff > 0 else 'less'} often than"
    rates = f"{pct(high.get('response_rate'))} vs {pct(low.get('response_rate'))}"
    return f"{_cap(who)} were answered {how} {than} ({rates}){_p(compare, 'fisher_p')}."


def _p(compare: dict, key: str) -> str:
    p = compare.get(key)
    if p is None:
        return ""
    test = "Mann–Whitney U" if key == "mannwhitney_p" else "Fisher's exact test"
    shown = "p < 0.001" if p < 0.001 else (f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}")
    verdict = "" if p < 0.05 else ", not significant at the 5% level"
    return f"; {shown}, {test}{verdict}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _notes(summary: dict) -> list[str]:
    n = summary.get("min_group", 10)
    notes = []
    run = summary.get("run")
    if run is not None:
        failed = len(run["failed"])
        notes.append(
            f"- Failed probes (never sent): {failed:,} of {run['planned']:,} planned"
            + (", listed in summary.json `run.failed`." if failed else ".")
        )
    notes += [
        f"- '-' marks a figure withheld for a small sample (fewer than {n}): probes for "
        "rates, answered probes for times and reply types, probes a resolution rule applies "
        "to for resolution.",
        "- Reply types (link, DM) are shares of answered probes; 'answered' and 'within' "
        "shares are of all probes, unanswered ones included.",
    ]
    if run is None:
        notes.append(
            "- Resolution in recorded data is a heuristic: the customer later says the "
            "problem is solved."
        )
    return notes


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], *, align: str) -> list[str]:
    """A GitHub table; ``align`` has an ``l`` or ``r`` per column. Cells are escaped already."""
    rule = "|".join("---" if a == "l" else "--:" for a in align)
    lines = ["| " + " | ".join(header) + " |", f"|{rule}|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]

"""The HTML report: one self-contained file a consultant can send to a client.

Everything is inline (styles, Chart.js, our script, the data) and a Content-Security-Policy
forbids fetching anything, so the file opens offline and a mistake cannot leak a request.
Text from data is untrusted: Jinja escapes it in markup, ``html_data.script_json`` in the
embedded JSON, and the page's script inserts it with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from socialbench import __version__
from socialbench.report import findings, trends
from socialbench.report import html_charts as charts
from socialbench.report import html_data as data
from socialbench.report import html_sections as sections
from socialbench.report.methodology import file_name
from socialbench.report.model import Report
from socialbench.report.references import REFERENCES, TWCS_CAVEAT

DEFAULT_NAME = "report.html"  # beside the run's files
HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
TEMPLATES = HERE / "templates"
CHART_LIBRARY = "chart.umd.min.js"
CHART_LIBRARY_NAME = "Chart.js 4.6.1"
TEXT_COLUMNS = ("brand", "channel", "surface", "persona", "category", "scenario")
NA = Markup('<span class="na" title="not shown: too few probes, or undefined">–</span>')
SECTIONS = (
    ("summary", "Summary"),
    ("headline", "Headline figures"),
    ("trends", "Trends"),
    ("leaderboard", "Brand leaderboard"),
    ("speed", "Time to first response"),
    ("clocks", "Calendar and support-hours clocks"),
    ("channels", "By channel and surface"),
    ("heatmap", "By weekday and hour"),
    ("reply-types", "Reply types"),
    ("resolution", "Resolution"),
    ("fairness", "Fairness by follower count"),
    ("scenarios", "Scenarios"),
    ("probes", "Probes"),
    ("methodology", "Methodology"),
)


def write(report: Report, path: Path) -> Path:
    """Write the report's HTML to ``path`` (parent folders created); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


def render(report: Report) -> str:
    """The whole report as one HTML document."""
    return environment().get_template("report.html.j2").render(**context(report))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        pct=_na(sections.pct),
        pct0=_na(lambda v: sections.pct(v, 0)),
        ci=_na(sections.ci),
        dur=_na(sections.dur),
        thousands=_na(lambda v: f"{v:,}"),
        sortkey=lambda v: "" if v is None else repr(float(v)),
        rate_class=sections.rate_class,
        speed_class=sections.speed_class,
    )
    return env


def _finalize(value):
    """Every ``{{ }}`` value: None is the withheld-figure dash; text loses control and
    bidirectional-override characters (then autoescape escapes it)."""
    if value is None:
        return NA
    if isinstance(value, str) and not isinstance(value, Markup):
        return data.inert(value)
    return value


def _na(format_value):
    def formatted(value):
        return NA if value is None else format_value(value)

    return formatted


@cache
def assets() -> dict:
    """The inline assets and the Content-Security-Policy that allows exactly them."""
    css = (ASSETS / "report.css").read_text(encoding="utf-8").rstrip("\n")
    printed = (ASSETS / "print.css").read_text(encoding="utf-8").rstrip("\n")
    css += f"\n@media print {{\n{printed}\n}}\n"  # after report.css: its rules win in print
    # one script: the charting library, then ours
    script = "\n".join(
        (ASSETS / name).read_text(encoding="utf-8").rstrip("\n")
        for name in (CHART_LIBRARY, "report.js")
    )
    if "</script" in script.lower() or "<!--" in script:
        raise ValueError("an inline script may not contain '</script' or '<!--'")
    csp = "; ".join([
        "default-src 'none'",
        f"script-src {_hash(script)}",
        f"style-src {_hash(css)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])  # fmt: skip
    return {"css": Markup(css), "script": Markup(script), "csp": csp}


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def normalised_probes(report: Report):
    """The probe table with text columns as summary.json has them (the CSV guard undone)."""
    probes = report.probes
    return probes.assign(**{c: data.unguard(probes[c]) for c in TEXT_COLUMNS if c in probes})


def context(report: Report) -> dict:
    summary = report.summary
    probes = normalised_probes(report)
    groups = summary["groups"]
    brands = groups["brand"]
    resolution = sections.resolution(probes, summary, report.is_probe_run)
    scenarios = sections.scenarios(probes, summary) if report.is_probe_run else []
    chart_specs = charts.report_charts(report, probes, scenarios)
    charts_json = data.script_json(chart_specs)
    probes_json = data.script_json(data.probe_table(probes))
    extra = summary_and_trends(report, probes, sections.brand_names(report))
    has_trends = extra["weekly"] is not None or extra["baseline"] is not None
    transcripts = None
    if report.transcripts:
        rest = len(probes_json) + len(charts_json) + _page_bytes(len(brands))
        transcripts = data.transcript_table(
            report.transcripts,
            probes["probe_id"].astype(str).tolist(),
            data.epoch_seconds(probes["sent_at"]),
            budget=max(data.MIN_TRANSCRIPT_BYTES, data.PAGE_BYTES - rest),
        )
    return {
        **assets(),
        "report": report,
        "summary": summary,
        "overall": summary["overall"],
        "run": summary.get("run"),
        "min_group": summary.get("min_group", 10),
        "version": __version__,
        "chart_library": CHART_LIBRARY_NAME,
        "names": sections.brand_names(report),
        "cards": sections.headline(report, resolution),
        "leaderboard": sections.by_rate(brands),
        "brands": sections.by_probes(brands),
        "groups": groups,
        "heatmap": sections.heatmap(probes, summary),
        "omnichannel": sections.omnichannel(summary),
        "resolution": resolution,
        "resolution_method": sections.resolution_method(report),
        "fairness_sentences": sections.fairness_sentences(summary),
        "scenarios": scenarios,
        "expectations": sections.EXPECTATIONS,
        "reply_types": sections.REPLY_TYPES,
        "within_keys": sections.WITHIN_KEYS,
        "references": REFERENCES,
        "methodology": report.methodology(),
        "chart_ids": {spec["id"]: charts.has_data(spec) for spec in chart_specs},
        "charts_json": Markup(charts_json),
        "probes_json": Markup(probes_json),
        "transcripts_json": Markup(data.script_json(transcripts)) if transcripts else None,
        "transcripts_omitted": transcripts["omitted"] if transcripts else 0,
        "probe_count": len(probes),
        "max_chart_labels": charts.MAX_CHART_LABELS,
        **cover(report),
        **extra,
        "sections": [s for s in SECTIONS if s[0] != "trends" or has_trends],
    }


def cover(report: Report) -> dict:
    """The page's header: branding, sources by file name only, and the two times, the
    wall-clock time the report was made and the platform time the data spans."""
    span = report.data_span()
    sources = report.summary.get("sources") or []
    return {
        "branding": report.branding,
        "sources": [source | {"path": file_name(source.get("path"))} for source in sources],
        "span": span and tuple(f"{t:%Y-%m-%d %H:%M}" for t in span),
        "simulated_clock": report.simulated_clock,
        "twcs_caveat": TWCS_CAVEAT if any(s.get("format") == "twcs" for s in sources) else "",
    }


def summary_and_trends(report: Report, probes, names: dict[str, str]) -> dict:
    summary = report.summary
    zero = [
        row for row in [summary["overall"], *summary["groups"].get("brand", [])]
        if row.get("ttfr_business_median_s") == 0
    ]  # fmt: skip
    return {
        "findings": findings.summarise(
            summary, kind=report.run_kind, text=lambda v: names.get(str(v), str(v))
        ),
        "weekly": trends.weekly(probes, min_group=summary.get("min_group", 10)),
        "baseline": report.baseline,
        "baseline_rows": trends.baseline_rows(report.baseline) if report.baseline else [],
        "business_zero": bool(zero),
    }


def _page_bytes(brands: int) -> int:
    """About how many bytes the page holds besides its data: assets and the tables."""
    fixed = sum(len(assets()[name]) for name in ("css", "script"))
    return fixed + 60_000 + 3_000 * brands

"""The executive summary's rules (each fires, or stays silent, as its data says), the weekly
trends and the baseline comparison, branding (title, client, logo) and the honesty rules of
reports handed to a client: no machine paths, wall-clock and platform times kept apart."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from socialbench import cli
from socialbench.errors import InputError
from socialbench.report import findings, html, markdown, model, trends
from socialbench.report.branding import Branding, logo_uri
from socialbench.report.references import TWCS_CAVEAT
from tests.test_report_html import make_report, parse, probe_frame

REPORT_DATA = Path(__file__).parent / "data" / "report"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4"><rect width="4" height="4"/></svg>'


def overall(**figures) -> dict:
    base = {
        "probes": 200, "responded": 120, "automated": 0, "response_rate": 0.6,
        "response_rate_ci": [0.53, 0.67], "ttfr_median_s": 1800.0, "ttfr_p90_s": 7200.0,
        "within": {"1h": 0.4, "24h": 0.6}, "ttfr_business_median_s": 900.0,
        "link_rate": 0.2, "dm_rate": 0.05, "phone_rate": 0.02, "email_rate": 0.01,
        "deflection_rate": 0.08, "bot_only_rate": 0.0, "resolution_rate": 0.3,
    }  # fmt: skip
    return base | figures


def brand(name: str, probes: int, responded: int) -> dict:
    return {"brand": name, "probes": probes, "responded": responded,
            "response_rate": responded / probes}  # fmt: skip


def summary(*, brands=(), fairness=None, sources=("csv",), **figures) -> dict:
    return {
        "min_group": 10,
        "overall": overall(**figures),
        "groups": {"brand": list(brands)},
        "fairness": fairness or {"tiers": [], "compare": None},
        "sources": [{"path": f"in.{f}", "format": f, "messages": 1} for f in sources],
    }


def rules(found) -> list[str]:
    return [f.rule for f in found]


# ---- response rate and the published reference ----


@pytest.mark.parametrize(
    ("interval", "side"),
    [
        pytest.param([0.70, 0.80], "above", id="above"),
        pytest.param([0.50, 0.60], "below", id="below"),
        pytest.param([0.60, 0.70], "in line with", id="interval-holds-it"),
    ],
)
def test_response_rate_is_above_or_below_the_reference_only_beyond_its_interval(interval, side):
    facts = findings.Facts(summary(response_rate_ci=interval), "recorded", str)
    finding = findings.response_rate(facts)
    assert f"That is {side} the 64.6% that Brandwatch measured in 2015" in finding.sentence
    assert ("Brandwatch, 2015", "64.6%") in finding.figures


def test_response_rate_is_silent_without_a_rate():
    facts = findings.Facts(summary(response_rate=None, response_rate_ci=None), "recorded", str)
    assert findings.response_rate(facts) is None


def test_a_twcs_archive_carries_its_caveat_and_others_do_not():
    twcs = findings.response_rate(findings.Facts(summary(sources=("twcs",)), "recorded", str))
    other = findings.response_rate(findings.Facts(summary(), "recorded", str))
    assert TWCS_CAVEAT in twcs.sentence and "answer a lot" in TWCS_CAVEAT
    assert TWCS_CAVEAT not in other.sentence


@pytest.mark.parametrize("kind", ["simulated", "replay"])
def test_simulated_runs_are_not_compared_with_real_brands(kind):
    found = findings.summarise(summary(deflection_rate=0.5, dm_rate=0.5), kind=kind)
    text = " ".join(f.sentence for f in found)
    assert "Brandwatch" not in text and "not how real brands answer" in text


# ---- best and worst brand ----


def test_best_and_worst_names_both_and_calls_a_tested_gap_significant():
    found = findings.best_and_worst(
        findings.Facts(
            summary(brands=[brand("Good", 100, 90), brand("Bad", 100, 30)]), "recorded", str
        )  # fmt: skip
    )
    assert "Good answered most often (90.0% of 100)" in found.sentence
    assert "Bad least often (30.0% of 100)" in found.sentence
    assert "a significant gap (Fisher's exact test, p < 0.001)" in found.sentence


def test_a_small_gap_is_said_not_to_be_significant():
    data = summary(brands=[brand("A", 40, 22), brand("B", 40, 20)])
    found = findings.best_and_worst(findings.Facts(data, "recorded", str))
    assert "not significant at the 5% level" in found.sentence
    assert "a significant gap" not in found.sentence


@pytest.mark.parametrize(
    "brands",
    [
        pytest.param([brand("A", 100, 90), brand("B", 19, 1)], id="one-brand-has-enough"),
        pytest.param([brand("A", 100, 50), brand("B", 50, 25)], id="a-tie"),
        pytest.param([], id="no-brands"),
    ],
)
def test_best_and_worst_stays_silent(brands):
    assert findings.best_and_worst(findings.Facts(summary(brands=brands), "recorded", str)) is None


def test_brand_names_go_through_the_renderers_escape():
    data = summary(brands=[brand("@evil[x](y)", 100, 90), brand("B", 100, 30)])
    found = findings.summarise(data, kind="recorded", text=markdown.escape)
    sentence = next(f.sentence for f in found if f.rule == "best_and_worst")
    assert "@\u2060evil\\[x\\]\\(y\\)" in sentence


# ---- fairness, speed, deflection, automation ----


def fairness(fisher_p, mannwhitney_p, *, diff=0.3, ratio=2.0) -> dict:
    tiers = [
        {"tier": "≥10k", "probes": 80, "response_rate": 0.75, "ttfr_median_s": 600.0},
        {"tier": "<1k", "probes": 80, "response_rate": 0.45, "ttfr_median_s": 1200.0},
    ]
    compare = {"high": "≥10k", "low": "<1k", "response_rate_diff": diff, "fisher_p": fisher_p,
               "ttfr_median_ratio_low_over_high": ratio, "mannwhitney_p": mannwhitney_p,
               "small": False}  # fmt: skip
    return {"tiers": tiers, "compare": compare}


def test_fairness_speaks_only_of_significant_gaps():
    rate_only = findings.fairness(findings.Facts(summary(fairness=fairness(0.001, 0.4)),
                                                 "recorded", str))  # fmt: skip
    assert "30.0 percentage points more often" in rate_only.sentence
    assert "faster" not in rate_only.sentence
    both = findings.fairness(findings.Facts(summary(fairness=fairness(0.01, 0.02)), "x", str))
    assert "2.0× faster at the median" in both.sentence and "Mann–Whitney U" in both.sentence


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(fairness(0.2, 0.5), id="no-gap-significant"),
        pytest.param(fairness(0.05, 0.05), id="p-at-alpha"),
        pytest.param({"tiers": [], "compare": None}, id="not-measured"),
    ],
)
def test_fairness_stays_silent(data):
    assert findings.fairness(findings.Facts(summary(fairness=data), "recorded", str)) is None


def test_speed_states_median_and_within_an_hour_with_the_reference():
    found = findings.speed(findings.Facts(summary(), "recorded", str))
    assert "within 30.0m" in found.sentence and "40.0% of all probes" in found.sentence
    assert "(Brandwatch, 2015: 11.2%)" in found.sentence
    assert findings.speed(findings.Facts(summary(ttfr_median_s=None), "recorded", str)) is None


@pytest.mark.parametrize(("rate", "fires"), [(0.19, False), (0.20, True), (0.6, True)])
def test_deflection_fires_from_its_threshold(rate, fires):
    found = findings.deflection(findings.Facts(summary(deflection_rate=rate), "recorded", str))
    assert (found is not None) == fires
    if fires:
        assert f"{100 * rate:.1f}% of answered probes were sent elsewhere" in found.sentence


@pytest.mark.parametrize(
    ("automated", "rate", "fires"),
    [(30, 0.10, True), (30, 0.04, False), (0, 0.10, False), (30, None, False)],
)
def test_bot_only_fires_when_automation_alone_answered_enough(automated, rate, fires):
    data = summary(automated=automated, bot_only_rate=rate)
    assert (findings.bot_only(findings.Facts(data, "recorded", str)) is not None) == fires


def test_at_most_five_findings_most_important_first():
    data = summary(
        brands=[brand("A", 100, 90), brand("B", 100, 30)], fairness=fairness(0.001, 0.001),
        deflection_rate=0.5, automated=40, bot_only_rate=0.2,
    )  # fmt: skip
    found = findings.summarise(data, kind="recorded")
    assert rules(found) == ["response_rate", "best_and_worst", "fairness", "speed", "deflection"]


def test_an_empty_run_has_no_findings():
    empty = summary(probes=0, responded=0, response_rate=None, response_rate_ci=None,
                    ttfr_median_s=None, deflection_rate=None, within={})  # fmt: skip
    assert findings.summarise(empty, kind="recorded") == []


# ---- trends ----


def test_weekly_figures_equal_a_direct_computation():
    probes = probe_frame(600)
    found = trends.weekly(probes, min_group=10, top=2)
    assert found["rows"][0]["brand"] == trends.ALL and len(found["rows"]) == 3
    assert found["weeks"][0] == "2026-03-02"  # a Monday
    sent = probes["sent_at"].dt.tz_convert(None)
    week = sent.dt.normalize() - pd.to_timedelta(sent.dt.day_of_week, unit="D")
    first = probes[week == pd.Timestamp("2026-03-02")]
    cell = found["rows"][0]["cells"][0]
    assert cell["probes"] == len(first)
    assert cell["rate"] == pytest.approx(first["responded"].mean())
    assert cell["median"] == pytest.approx(first.loc[first["responded"], "ttfr_s"].median())
    leader = probes["brand"].value_counts().index[0]
    assert found["rows"][1]["brand"] == leader


def test_weekly_withholds_small_weeks_and_needs_more_than_a_week():
    probes = probe_frame(60)
    found = trends.weekly(probes, min_group=1000)
    assert found["rows"] == [] and found["weeks"] == [] and found["empty_weeks"] == 2
    one_week = probes[probes["sent_at"] < probes["sent_at"].min() + pd.Timedelta(days=6)]
    assert trends.weekly(one_week, min_group=1) is None


def test_weeks_and_brands_without_a_figure_are_left_out():
    """Two busy weeks five weeks apart and a brand too small for any figure: the weeks
    between and that brand are not shown as rows and columns of dashes."""
    probes = probe_frame(600)
    early = probes["sent_at"] < pd.Timestamp("2026-03-09T00:00:00Z")  # the first week
    later = probes[early].assign(sent_at=probes.loc[early, "sent_at"] + pd.Timedelta(weeks=5))
    small = probes.iloc[:3].assign(brand="Tiny")
    found = trends.weekly(pd.concat([probes[early], later, small]), min_group=10, top=3)
    assert found["weeks"] == ["2026-03-02", "2026-04-06"] and found["empty_weeks"] == 4
    assert "Tiny" not in [row["brand"] for row in found["rows"]]
    assert all(len(row["cells"]) == 2 for row in found["rows"])


def test_baseline_rows_come_from_compare(tmp_path):
    report = model.load(REPORT_DATA / "archive")
    report.baseline = trends.against(REPORT_DATA / "probe_run", REPORT_DATA / "archive")
    rows = {row["figure"]: row for row in trends.baseline_rows(report.baseline)}
    a = model.load(REPORT_DATA / "probe_run").summary["overall"]["response_rate"]
    b = report.summary["overall"]["response_rate"]
    assert rows["response rate"]["baseline"] == f"{100 * a:.1f}%"
    assert rows["response rate"]["change"] == f"{100 * (b - a):+.1f}pp"
    assert report.baseline["a"]["directory"] == "probe_run"  # a name, never a path
    assert any("different kinds of run" in w for w in report.baseline["warnings"])


# ---- branding ----


@pytest.mark.parametrize(
    ("content", "mime"),
    [(PNG, "image/png"), (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
     (SVG, "image/svg+xml")],
)  # fmt: skip
def test_logo_becomes_a_data_uri(tmp_path, content, mime):
    path = tmp_path / "logo"
    path.write_bytes(content)
    assert logo_uri(path) == f"data:{mime};base64,{base64.b64encode(content).decode()}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"GIF89a", "not a PNG, JPEG or SVG image", id="gif"),
        pytest.param(b"<html><script>x</script></html>", "not a PNG", id="html"),
        pytest.param(b'<!DOCTYPE svg [<!ENTITY a "b">]><svg/>', "not a PNG", id="entities"),
        pytest.param(PNG + b"\x00" * 1_000_000, "the limit of 1,000,000", id="too-big"),
    ],
)
def test_a_bad_logo_is_refused(tmp_path, content, problem):
    path = tmp_path / "logo.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        logo_uri(path)


def test_a_logo_that_is_a_pipe_is_refused_without_waiting_on_it(tmp_path):
    import os

    path = tmp_path / "logo.png"
    os.mkfifo(path)
    with pytest.raises(InputError, match="is a pipe or a device"):
        logo_uri(path)


def test_the_logo_is_an_image_only_never_markup(tmp_path):
    path = tmp_path / "logo.svg"
    path.write_bytes(SVG.replace(b"<rect", b"<script>alert(1)</script><rect"))
    branding = Branding(title="Q4 audit", client="Acme <Ltd>", logo=logo_uri(path))
    report = make_report(probe_frame(50), tmp_path)
    report.branding = branding
    page = html.render(report)
    dom = parse(page)
    logo = dom.find("img", class_="logo")
    assert logo.attrs["src"].startswith("data:image/svg+xml;base64,")
    assert "<svg" not in page and "alert(1)" not in page
    assert dom.find("h1").text() == "Q4 audit" and dom.find("title").text() == "Q4 audit"
    assert "Prepared for Acme <Ltd>" in dom.find("header").text()
    assert (
        "img-src data:"
        in dom.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    )


# ---- honesty: paths, times, copy ----


def hidden_path_report(tmp_path) -> model.Report:
    report = make_report(probe_frame(300, probe_run=False), tmp_path, probe_run=False)
    report.summary["sources"] = [
        {"path": "/home/alice/clients/acme/twcs.csv", "format": "twcs", "messages": 10},
        {"path": "C:\\Users\\bob\\export.jsonl", "format": "fixture", "messages": 5},
    ]
    return report


def test_reports_name_sources_by_file_name_only(tmp_path):
    report = hidden_path_report(tmp_path)
    for text in (html.render(report), markdown.render(report)):
        assert "twcs.csv" in text and "export.jsonl" in text
        assert "/home/alice" not in text and "Users" not in text and "clients/acme" not in text


def test_generated_time_and_data_span_are_stated_apart(tmp_path):
    report = hidden_path_report(tmp_path)
    items = [li.text() for li in parse(html.render(report)).find("ul", class_="meta-list")
             .find_all("li")]  # fmt: skip
    first, last = report.data_span()
    assert f"Report generated {report.generated_at}" in items[0]
    assert items[1].startswith("Data (platform time): ")
    assert f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" in items[1]
    assert last >= report.probes["first_response_at"].max()


def test_a_complete_sandbox_run_gives_no_simulated_date_as_of(tmp_path):
    report = make_report(probe_frame(100), tmp_path)  # a complete sandbox run
    header = parse(html.render(report)).find("header").text()
    assert "as of" not in header and "Complete: every probe sent, every window ended" in header
    assert "Simulated platform time" in header and "not when the run took place" in header


def test_a_zero_support_hours_median_is_explained(tmp_path):
    report = make_report(probe_frame(100), tmp_path)
    assert "business-zero-note" not in html.render(report)
    report.summary["overall"]["ttfr_business_median_s"] = 0.0
    note = parse(html.render(report)).find("p", id="business-zero-note").text()
    assert "while the brand's support was closed" in note


def test_the_summary_section_lists_the_findings(tmp_path):
    report = hidden_path_report(tmp_path)
    section = parse(html.render(report)).find("section", id="summary")
    items = section.find("ol", class_="findings").find_all("li")
    expected = findings.summarise(report.summary, kind=report.run_kind)
    assert [li.attrs["data-rule"] for li in items] == [f.rule for f in expected]
    assert "twcs-caveat" in html.render(report)


def test_the_trends_section_shows_weeks_or_is_left_out(tmp_path):
    report = make_report(probe_frame(300), tmp_path)
    dom = parse(html.render(report))
    table = dom.find("table", id="weekly-rate-table")
    week = table.find("thead").find_all("th")[1]
    assert week.find("time").attrs["datetime"] == "2026-03-02" and week.text() == "2\u00a0Mar"
    assert "by week, 2026 (" in table.find("caption").text()
    report = make_report(probe_frame(50).assign(sent_at=lambda f: f["sent_at"].min()), tmp_path)
    dom = parse(html.render(report))  # within one week, no baseline: no section, no link
    assert dom.find_all("section", id="trends") == []
    assert dom.find_all("a", href="#trends") == []


# ---- the command line ----


def test_report_command_brands_and_compares(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli.main, [
        "report", str(REPORT_DATA / "archive"), "-o", str(out), "--client", "Acme",
        "--title", "Care audit", "--logo", str(logo), "--baseline", str(REPORT_DATA / "archive"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    dom = parse(out.read_text())
    assert dom.find("h1").text() == "Care audit"
    assert dom.find("table", id="baseline-table")
    assert str(tmp_path) not in out.read_text() and str(REPORT_DATA) not in out.read_text()


def test_a_bad_logo_is_one_line_and_exit_code_2(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_text("not an image")
    result = CliRunner().invoke(
        cli.main, ["report", str(REPORT_DATA / "archive"), "--logo", str(logo)]
    )
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "--logo: not a PNG, JPEG or SVG image" in result.output


def test_markdown_report_leads_with_the_summary_and_stays_small():
    report = model.load(REPORT_DATA / "archive", branding=Branding(client="Acme"))
    report.baseline = trends.against(REPORT_DATA / "probe_run", REPORT_DATA / "archive")
    text = markdown.render(report)
    assert text.index("### Summary") < text.index("| figure |")
    assert "### Against the baseline run probe\\_run" in text
    assert "Prepared for **Acme**" in text and len(text.splitlines()) <= 60
    assert json.loads(json.dumps(text))

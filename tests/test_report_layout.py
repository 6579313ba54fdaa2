"""The HTML report's layout rules, checked without a browser: charts fold the brands past the
first few into one "other N brands" row whose figures are summary.json's definitions, the
Kaplan–Meier curves come one per brand, the weekday × hour grid is drawn only where its cells
have figures, no table shows rows of dashes (they are folded behind a button), every table
scrolls inside its card, and the heat colours keep WCAG AA contrast with their text."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_report_html import Node, data_block, make_report, parse, probe_frame

from socialbench.measure import metrics
from socialbench.report import html, html_charts, html_sections

CSS = (html.ASSETS / "report.css").read_text(encoding="utf-8")
INK, WHITE = "#1b1f24", "#ffffff"


def brands_frame(
    count: int, *, per_brand: int = 30, small: int = 0, probe_run: bool = True
) -> pd.DataFrame:
    """``count`` brands of ``per_brand`` probes (brand00 the largest), and ``small`` brands
    of 3 probes each."""
    names = [f"brand{i:02d}" for i in range(count)]
    frames = [
        probe_frame(per_brand + (count - i), seed=i, brands=(n,), probe_run=probe_run)
        for i, n in enumerate(names)
    ]
    frames += [
        probe_frame(3, seed=500 + i, brands=(f"tiny{i:02d}",), probe_run=probe_run)
        for i in range(small)
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(probe_id=pd.array([f"p{i:011x}" for i in range(len(frame))], dtype="str"))


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    return make_report(brands_frame(30, small=5), tmp_path_factory.mktemp("many"))


def charts(report) -> dict:
    return {spec["id"]: spec for spec in data_block(parse(html.render(report)), "sb-charts")}


# ---- charts: the first brands, and the rest folded ----


def test_brand_charts_show_the_largest_brands_and_the_rest_together(many):
    specs = charts(many)
    brands = many.summary["groups"]["brand"]
    rest = len(brands) - html_charts.MAX_CHART_LABELS
    for chart in ("chart-leaderboard", "chart-box", "chart-clocks"):
        labels = specs[chart]["labels"]
        assert len(labels) == html_charts.MAX_CHART_LABELS + 1, chart
        assert labels[-1] == f"other {rest} brands", chart
    largest = {r["brand"] for r in html_sections.by_probes(brands)[: html_charts.MAX_CHART_LABELS]}
    assert set(specs["chart-leaderboard"]["labels"][:-1]) == largest


def test_the_other_row_has_summary_figures_of_those_brands(many):
    shown, other = html_charts.top_brands(many.probes, many.summary)
    names = {r["brand"] for r in shown}
    mine = many.probes[~many.probes["brand"].isin(names)]
    expected = metrics.aggregate(mine, metrics.MetricSettings(window_s=86400.0))
    assert other == {"brand": other["brand"], **expected}
    assert other["probes"] == len(mine)
    assert other["response_rate"] == pytest.approx(mine["responded"].mean())
    spec = charts(many)["chart-leaderboard"]
    assert spec["value"][-1] == pytest.approx(other["response_rate"])
    assert spec["interval"][-1] == pytest.approx(other["response_rate_ci"])


def test_kaplan_meier_is_one_small_chart_per_brand(many):
    spec = charts(many)["chart-km"]
    labels = [s["label"] for s in spec["series"]]
    assert labels[0] == "All brands" and spec["series"][0]["strong"]
    assert labels[-1].startswith("other ") and spec["series"][-1]["other"]
    assert len(labels) == html_charts.MAX_CHART_LABELS + 2
    page = html.render(many)
    assert page.count('<div class="multiples" id="chart-km" role="group"') == 1
    assert 'id="chart-km" role="img"' not in page  # no single chart of every line


def test_few_brands_have_no_other_row(tmp_path):
    report = make_report(probe_frame(300), tmp_path)
    specs = charts(report)
    assert not any(label.startswith("other ") for label in specs["chart-leaderboard"]["labels"])
    assert not any(s.get("other") for s in specs["chart-km"]["series"])


# ---- the weekday × hour grid ----


def _grid(filled: dict[tuple[int, int], float]) -> list[dict]:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    rows = []
    for d, day in enumerate(days):
        cells = [{"probes": 10 if (d, h) in filled else 2, "rate": filled.get((d, h)),
                  "median": filled.get((d, h))} for h in range(24)]  # fmt: skip
        rows.append({"day": day, "cells": cells, "all": None})
    return rows


def test_a_sparse_weekday_hour_grid_is_not_drawn_and_says_why():
    filled = {(0, 9): 0.5, (3, 14): 0.7, (5, 20): 0.2}  # a third of their 3 × 3 cells
    layout = html_sections.heatmap_layout(_grid(filled), [None] * 24)
    assert not layout["rate"]["drawn"] and not layout["speed"]["drawn"]
    assert "only 3 of its 168 cells have enough probes" in layout["rate"]["reason"]


def test_a_grid_drops_its_empty_weekdays_and_hours():
    filled = {(d, h): 0.5 for d in (0, 1) for h in (9, 10, 11)}
    layout = html_sections.heatmap_layout(_grid(filled), [None] * 24)
    grid = layout["rate"]
    assert grid["drawn"] and grid["trimmed"] and grid["reason"] is None
    assert [r["day"] for r in grid["rows"]] == ["Mon", "Tue"] and grid["hours"] == [9, 10, 11]
    assert all(c["rate"] == 0.5 for r in grid["rows"] for c in r["cells"])


def test_a_single_filled_cell_is_no_grid():
    layout = html_sections.heatmap_layout(_grid({(2, 5): 0.4}), [None] * 24)
    assert not layout["rate"]["drawn"]
    assert "only 1 of its 168 cells has" in layout["rate"]["reason"]


def test_the_report_says_why_there_is_no_grid(tmp_path):
    report = make_report(probe_frame(60), tmp_path)  # 60 probes over two weeks: sparse
    page = parse(html.render(report))
    section = page.find("section", id="heatmap")
    assert not section.find_all("table", id="heat-rate")
    assert "grid" in section.find("p", id="heat-rate-reason").text()
    assert section.find("table", id="heat-weekday")  # the weekdays on their own


# ---- tables ----


def _body_rows(table) -> list[list[str]]:
    """The cells (row headers included) of the table's first <tbody>, the shown rows."""
    return [
        [c.text() for c in tr.children if isinstance(c, Node) and c.tag in ("th", "td")]
        for tr in table.find("tbody").find_all("tr")
    ]


def test_rows_without_figures_are_folded_behind_a_button(many):
    page = parse(html.render(many))
    for table_id in ("leaderboard-table", "within-table", "clocks-table", "reply-types-table",
                     "resolution-table"):  # fmt: skip
        table = page.find("table", id=table_id)
        shown = _body_rows(table)
        assert not any(row[0].startswith("tiny") for row in shown), table_id
        folded = table.find("tbody", id=f"{table_id}-small")
        assert "hidden" in folded.attrs and "folded" in folded.classes()
        assert {tr.find("td").text() for tr in folded.find_all("tr")} == {
            f"tiny{i:02d}" for i in range(5)
        }
        button = page.find("button", **{"aria-controls": f"{table_id}-small"})
        assert button.attrs["aria-expanded"] == "false" and "data-fold" in button.attrs
        assert button.text().startswith("Show the 5 brands with fewer than 10 ")


# the sections whose tables fold their rows without figures
FOLDING = ("leaderboard", "speed", "clocks", "channels", "heatmap", "reply-types", "resolution",
           "fairness", "scenarios")  # fmt: skip


@pytest.mark.parametrize("kind", ["probe run", "archive"])
def test_no_shown_row_is_only_dashes(kind, tmp_path):
    probes = brands_frame(14, small=4, probe_run=kind == "probe run")
    report = make_report(probes, tmp_path, probe_run=kind == "probe run")
    page = parse(html.render(report))
    checked = 0
    for section in FOLDING:
        for table in page.find("section", id=section).find_all("table"):
            for row in _body_rows(table):
                figures = [c for c in row[1:] if not re.fullmatch(r"[\d,]+", c)]
                assert "–" not in figures or set(figures) != {"–"}, (table.attrs.get("id"), row)
                checked += 1
    assert checked > 50


def test_every_table_scrolls_inside_its_card(many):
    page = parse(html.render(many))
    tables = page.find_all("table")
    assert tables
    for table in tables:
        assert "table-wrap" in table.parent.classes(), table.attrs.get("id")
    assert re.search(r"\.table-wrap \{[^}]*overflow-x: auto", CSS)


# ---- colours and focus ----


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_helper():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#78a5e1", "#ffffff") == pytest.approx(2.53, abs=0.01)  # the old h5


def test_heat_colours_keep_aa_contrast_with_their_text():
    rules = re.findall(
        r"table\.heat td\.h(\d) \{ background: (#[0-9a-f]{6});( color: #fff;)? \}", CSS
    )
    assert [int(r[0]) for r in rules] == list(range(10))
    for _, background, white in rules:
        text = WHITE if white else INK
        assert contrast(background, text) >= 4.5, (background, text)


def test_darker_heat_means_more():
    rules = re.findall(r"table\.heat td\.h\d \{ background: (#[0-9a-f]{6});", CSS)
    shades = [_luminance(c) for c in rules]
    assert shades == sorted(shades, reverse=True)
    assert html_sections.rate_class(0.95) == "h9" and html_sections.rate_class(0.05) == "h0"


def test_keyboard_focus_is_visible():
    rule = re.search(r"([^{}]*:focus-visible[^{}]*)\{([^}]*)\}", CSS)
    assert rule is not None and "outline: 3px solid" in rule.group(2)
    for control in ("button", "a", "summary", "[tabindex]"):
        assert f"{control}:focus-visible" in rule.group(1)

"""The text reports (Markdown, JSON, CSV): golden files, round trips and hostile data.

Goldens are rendered from the fixed run folders in tests/data/report/ (a probe run in
progress and a recorded archive). After an intended change to a renderer, regenerate them
with ``SOCIALBENCH_REGOLD=1 .venv/bin/pytest tests/test_report_text.py`` and read the diff.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import DATA
from markdown_it import MarkdownIt

from socialbench.measure import metrics
from socialbench.report import csv_format, json_format, markdown, model, output

REPORT_DATA = DATA / "report"
FOLDERS = ("probe_run", "archive")
REGOLD = os.environ.get("SOCIALBENCH_REGOLD") == "1"
BASE = pd.Timestamp("2024-03-04T09:00:00Z")  # a Monday
FLAGS = ("link", "dm", "phone", "email", "ack_only")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![i](http://evil/x.png)",
    '=HYPERLINK("http://evil","x")',
    "\x1b[31mred",
    "\u202egnp.exe",
    "ok\n| fake | row |",
)
# Raw forms that must not survive into Markdown: tags, link and image syntax, schemes,
# terminal escapes, bidi overrides, a table row injected by a newline.
LIVE_IN_MARKDOWN = (
    "<script",
    "<img",
    "](",
    "javascript:",
    "http://",
    "\x1b",
    "\u202e",
    "\n| fake",
    "| fake | row |",
)


def assert_golden(name: str, text: str) -> None:
    """``text`` equals tests/data/report/``name`` (rewritten instead under REGOLD)."""
    path = REPORT_DATA / name
    if REGOLD:
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.read_bytes().decode("utf-8") == text, (
        f"{name} differs from the renderer's output; if intended, regenerate with "
        "SOCIALBENCH_REGOLD=1 and review the diff"
    )


def probe_table(rows: list[dict], *, run: bool, window_s: float, as_of=None) -> pd.DataFrame:
    """A probe table from short specs: ``brand``, ``persona``, ``minute`` (sent, after BASE),
    ``ttfr_m`` (None: unanswered), ``flags``, ``resolved``; the rest has plain defaults."""
    out = []
    for i, spec in enumerate(rows):
        sent = BASE + pd.Timedelta(minutes=spec["minute"])
        ttfr = None if spec.get("ttfr_m") is None else 60.0 * spec["ttfr_m"]
        first = pd.NaT if ttfr is None else sent + pd.Timedelta(seconds=ttfr)
        watched = window_s if as_of is None else min(window_s, (as_of - sent).total_seconds())
        flags = set(spec.get("flags", ())) if ttfr is not None else set()
        resolved = spec.get("resolved")
        row = {
            "probe_id": spec.get("probe_id", f"p{i:011x}" if run else str(1000 + i)),
            "brand": spec["brand"],
            "channel": spec.get("channel", "x"),
            "surface": spec.get("surface", "public"),
            "persona": spec["persona"],
            "followers": spec.get("followers"),
            "category": spec.get("category"),
            "scenario": spec.get("scenario"),
            "sent_at": sent,
            "responded": ttfr is not None,
            "first_response_at": first,
            "ttfr_s": ttfr,
            "ttfr_business_s": ttfr,
            **{flag: flag in flags for flag in FLAGS},
            "resolved": resolved,
            "brand_messages": 0 if ttfr is None else 1 + ("dm" in flags),
            "conversation_id": spec.get("conversation_id", str(2_000_000 + i)),
            "watched_s": watched,
            "automated_messages": 0,
            "weekday": sent.strftime("%a"),
            "hour": sent.hour,
        }
        if run:
            missed = [
                k for k, bad in (("reply", ttfr is None), ("resolution", not resolved)) if bad
            ]
            row |= {
                "platform_id": spec.get("platform_id", str(1_700_000_000_000 + i)),
                "resolved_at": first if resolved else pd.NaT,
                "ttr_s": ttfr if resolved else None,
                "one_touch": bool(resolved),
                "expectations_met": not missed,
                "expectations_missed": spec.get("expectations_missed", ";".join(missed)),
            }
        out.append(row)
    frame = pd.DataFrame(out)
    return frame.assign(
        resolved=frame["resolved"].astype("boolean"),
        followers=pd.to_numeric(frame["followers"]),
        ttfr_s=pd.to_numeric(frame["ttfr_s"]),
        ttfr_business_s=pd.to_numeric(frame["ttfr_business_s"]),
    )


def write_run_folder(
    path: Path, probes: pd.DataFrame, settings: metrics.MetricSettings, extra: dict
) -> Path:
    """A run folder as socialbench writes it: probes.csv and summary.json."""
    path.mkdir(parents=True, exist_ok=True)
    output.write_probes_csv(probes, path / "probes.csv")
    output.write_json(metrics.summarize(probes, settings) | extra, path / "summary.json")
    return path


def hostile_run(tmp_path: Path, *, probe_run: bool) -> model.Report:
    """Every brand, persona, scenario and category (and the suite, target, source and
    errors) named with something that would be live somewhere."""
    n = len(HOSTILE)
    rows = [
        {
            "brand": HOSTILE[i % n],
            "persona": HOSTILE[(i + 1) % n],
            "scenario": HOSTILE[(i + 2) % n],
            "category": HOSTILE[(i + 3) % n],
            "followers": 100 if i % 2 else 50_000,
            "minute": 7 * i,
            "ttfr_m": None if i % 3 == 0 else 5 + i,
            "flags": ("link",) if i % 2 else ("dm",),
            "resolved": bool(i % 2),
            "platform_id": "=1+1",
            "expectations_missed": "-2+3",
        }
        for i in range(3 * n)
    ]
    bad = HOSTILE[0] + HOSTILE[7]
    if probe_run:
        failed = {"probe_id": "px", "brand": bad, "scenario": bad, "error": bad}
        extra = {
            "run": {"suite": bad, "target": bad, "live": False, "complete": False,
                    "as_of": "2024-03-05T00:00:00Z", "planned": 3 * n + 1, "failed": [failed]}
        }  # fmt: skip
    else:
        extra = {"sources": [{"path": bad, "format": bad, "messages": 9}], "skipped_rows": 0}
    probes = probe_table(rows, run=probe_run, window_s=86400.0)
    settings = metrics.MetricSettings(window_s=86400.0, min_group=1)
    return model.load(write_run_folder(tmp_path / "hostile", probes, settings, extra))


def html_of(text: str) -> str:
    """Markdown rendered as GitHub would parse it (CommonMark, inline HTML on, tables)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)


@pytest.mark.parametrize("folder", FOLDERS)
def test_markdown_matches_its_golden_file(folder):
    text = markdown.render(model.load(REPORT_DATA / folder))
    assert_golden(f"{folder}.md", text)
    assert len(text.splitlines()) <= 60


@pytest.mark.parametrize("folder", FOLDERS)
def test_json_matches_its_golden_file_and_is_the_summary(folder):
    report = model.load(REPORT_DATA / folder)
    text = json_format.render(report)
    assert_golden(f"{folder}.json", text)
    assert json.loads(text) == json.loads((REPORT_DATA / folder / "summary.json").read_text())
    assert json.loads(text)["schema_version"] == 1


def test_markdown_says_what_kind_of_run_it_is():
    run = markdown.render(model.load(REPORT_DATA / "probe_run"))
    archive = markdown.render(model.load(REPORT_DATA / "archive"))
    assert "(simulated)" in run and "in progress as of 2024-03-05 09:30 UTC" in run
    assert "resolved, by answer key" in run and "Failed probes (never sent): 1 of 30" in run
    assert "**Recorded archive**" in archive
    assert "resolved, by customer confirmation (heuristic)" in archive
    assert "Not measured" in archive  # no follower counts in the archive


@pytest.mark.parametrize(
    ("live", "target", "complete", "expected"),
    [
        pytest.param(True, "x", True, "(live)", id="live"),
        pytest.param(False, "fixture", True, "(replay)", id="replay"),
        pytest.param(False, "sandbox", True, "; complete;", id="complete"),
    ],
)
def test_markdown_run_line(live, target, complete, expected):
    report = model.load(REPORT_DATA / "probe_run")
    report.summary = report.summary | {
        "run": report.summary["run"] | {"live": live, "target": target, "complete": complete}
    }
    assert expected in markdown.render(report).splitlines()[2]


def test_markdown_tables_parse_as_tables():
    html = html_of(markdown.render(model.load(REPORT_DATA / "probe_run")))
    assert html.count("<table>") == 2
    assert "<a " not in html and "<img" not in html


def test_markdown_stays_small_whatever_the_run(tmp_path):
    report = model.load(REPORT_DATA / "archive")
    row = report.summary["groups"]["brand"][0]
    brands = [row | {"brand": f"{i}" + "<&|" * 5000} for i in range(5000)]
    sources = [{"path": "x" * 10_000, "format": "twcs", "messages": 1}] * 500
    report.summary = report.summary | {"groups": {"brand": brands}, "sources": sources}
    text = markdown.render(report)
    assert len(text.splitlines()) <= 60
    assert len(text.encode("utf-8")) < 16 * 1024
    assert "top 15 of 5,000" in text and "and 497 more" in text


def test_a_run_without_probes(tmp_path):
    spec = [{"brand": "a", "persona": "b", "minute": 0}]
    probes = probe_table(spec, run=False, window_s=3600.0).iloc[:0]
    settings = metrics.MetricSettings(window_s=3600.0)
    report = model.load(write_run_folder(tmp_path / "empty", probes, settings, {"sources": []}))
    assert "No brand has probes." in markdown.render(report)
    assert json.loads(json_format.render(report))["overall"]["probes"] == 0
    overall = pd.read_csv(csv_format.write(report, tmp_path / "csv") / "overall.csv")
    assert overall["probes"].tolist() == [0] and overall["response_rate"].isna().all()


def test_csv_round_trips_every_number(tmp_path):
    report = model.load(REPORT_DATA / "probe_run")
    folder = csv_format.write(report, tmp_path / "csv")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["probes.csv", "overall.csv"] + [f"groups_{name}.csv" for name in metrics.GROUPS]
    )
    assert (folder / "probes.csv").read_bytes() == (
        REPORT_DATA / "probe_run" / "probes.csv"
    ).read_bytes()
    pd.testing.assert_frame_equal(model.read_probes(folder / "probes.csv"), report.probes)
    overall = pd.read_csv(folder / "overall.csv").iloc[0]
    expected = report.summary["overall"]
    assert overall["probes"] == expected["probes"]
    assert overall["response_rate"] == expected["response_rate"]
    assert overall["response_rate_ci_low"] == expected["response_rate_ci"][0]
    assert overall["response_rate_ci_high"] == expected["response_rate_ci"][1]
    assert overall["within_1h"] == expected["within"]["1h"]
    assert overall["within_window"] == expected["within"]["window"]
    for name in metrics.GROUPS:
        table = pd.read_csv(folder / f"groups_{name}.csv", keep_default_na=False, na_values=[""])
        rows = report.summary["groups"][name]
        assert len(table) == len(rows), name
        for got, want in zip(table.to_dict("records"), rows, strict=True):
            assert str(got[name]) == str(want[name])
            for key in ("probes", "responded", "response_rate", "ttfr_median_s", "link_rate"):
                assert same(got[key], want[key]), (name, key)
            assert same(got["within_24h"], (want["within"] or {}).get("24h"))
            assert same(got["response_rate_ci_low"], (want["response_rate_ci"] or [None])[0])


def same(got, want) -> bool:
    """A number read back from CSV is the summary's, or both are unknown."""
    return pd.isna(got) if want is None else got == want


def test_csv_of_an_archive_and_empty_groups(tmp_path):
    folder = csv_format.write(model.load(REPORT_DATA / "archive"), tmp_path / "csv")
    header = (folder / "groups_scenario.csv").read_text(encoding="utf-8")
    assert header.startswith('"scenario","probes",') and header.count("\n") == 1
    assert "within_15m" in header and "response_rate_ci_high" in header


def test_hostile_names_are_inert_in_markdown(tmp_path):
    for probe_run in (True, False):
        text = markdown.render(hostile_run(tmp_path / str(probe_run), probe_run=probe_run))
        for raw in LIVE_IN_MARKDOWN:
            assert raw not in text, (probe_run, raw)
        assert "=HYPERLINK\\(" in text and "&lt;script&gt;" in text
        html = html_of(text)
        assert "<script" not in html and "<img" not in html and "<a " not in html
        board = html.split("<table>")[2].split("</table>")[0]
        assert board.count("<tr>") == 1 + len(HOSTILE)  # no injected row
        assert all(row.count("<td") == 9 for row in board.split("<tr>")[2:])


def test_hostile_names_are_inert_in_json(tmp_path):
    report = hostile_run(tmp_path, probe_run=True)
    text = json_format.render(report)
    for raw in ("<script", "<img", "\x1b", "\u202e", "\n| fake"):
        assert raw not in text, raw
    assert json.loads(text) == json.loads((report.directory / "summary.json").read_text())


def test_hostile_names_are_inert_in_csv(tmp_path):
    report = hostile_run(tmp_path, probe_run=True)
    folder = csv_format.write(report, tmp_path / "csv")
    seen = set()
    for path in folder.iterdir():
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if not _is_number(cell):
                        assert not cell.startswith(FORMULA_START), (path.name, cell)
                    seen.add(cell)
    assert "'" + HOSTILE[4] in seen and "'=1+1" in seen and "'-2+3" in seen
    brands = pd.read_csv(folder / "groups_brand.csv", keep_default_na=False)
    assert set(brands["brand"]) == {("'" + b if b.startswith("=") else b) for b in HOSTILE}


def _is_number(cell: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", cell) is not None


def test_renderers_on_real_runs(tmp_path):
    from socialbench.cli import main

    runner = CliRunner()
    suite = DATA / "suites" / "run_small.yaml"
    result = runner.invoke(
        main, ["run", str(suite), "--speed", "20000", "--out", str(tmp_path / "run"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = model.load(tmp_path / "run")
    for module in (markdown, json_format):
        target = module.write(report, tmp_path / module.DEFAULT_NAME)
        assert target.read_text(encoding="utf-8") == module.render(report)
    assert "run\\_small" in markdown.render(report)
    folder = csv_format.write(report, tmp_path / "report-csv")
    assert (folder / "probes.csv").read_bytes() == (tmp_path / "run" / "probes.csv").read_bytes()

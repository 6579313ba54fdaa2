"""A check's verdict as a GitHub step summary, from real runs: a synthetic archive
(recorded), the demo suite against the sandbox (simulated) and a replay of a recording;
hostile names from data; the step summary's 1 MiB cap; where the figures came from, as the
summary and the JUnit file say it (the JUnit file itself: test_junit.py).
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pytest
from archive_runs import archive_run, hostile_run, invoke, thresholds
from conftest import DATA
from markdown_it import MarkdownIt

from socialbench.report import verdict_markdown
from socialbench.report.markdown import escape
from socialbench.verdict import check, junit
from socialbench.verdict.thresholds.grammar import parse_option

DEMO = DATA.parents[1] / "scenarios" / "demo.yaml"
PAIR = DATA / "suites" / "run_pair.yaml"
EVIL = "<script>alert(1)</script>]]>\x1b[31m|\x00 @team [x](javascript:alert(1))"
ILLEGAL_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NOTE = re.compile(r"^… (\d+) more rows not shown \(see the JUnit file or the terminal output\)$")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A recorded archive: 300 synthetic conversations with 4 brands."""
    return archive_run(tmp_path_factory.mktemp("recorded"), conversations=300, seed=3)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """The demo suite against the in-process sandbox: 117 probes with expectations."""
    out = tmp_path_factory.mktemp("simulated") / "run"
    invoke("run", DEMO, "--speed", 50_000, "--out", out, "--quiet")
    return check.load_run(out)


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """The two-probe suite against the sandbox, recorded, then replayed."""
    base = tmp_path_factory.mktemp("replay")
    recording = base / "live" / "run" / "rec.jsonl"
    invoke(
        "run",
        PAIR,
        "--speed",
        20_000,
        "--record",
        recording,
        "--out",
        base / "live" / "run",
        "--quiet",
    )
    invoke(
        "run",
        PAIR,
        "--target",
        "fixture",
        "--fixtures",
        recording,
        "--out",
        base / "replayed" / "run",
        "--quiet",
    )
    return check.load_run(base / "replayed" / "run")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A recorded archive whose brand is named with markup, escapes and a NUL."""
    return hostile_run(tmp_path_factory.mktemp("hostile"), EVIL)


def parse(verdict) -> ET.Element:
    return ET.fromstring(junit.render(verdict).encode("utf-8"))


def html(text: str) -> str:
    """Markdown as GitHub parses it (CommonMark with inline HTML, and tables)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table"]).render(text)


def table_lines(text: str) -> list[str]:
    """The table's body rows."""
    return [line for line in text.splitlines() if line.startswith("| ")][1:]


def cells(line: str) -> int:
    """Cells in a table line, counting only the pipes Markdown does not take as escaped."""
    unescaped, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        unescaped += line[i] == "|"
        i += 1
    return unescaped - 1


# -- hostile data ---------------------------------------------------------------------------


def hostile_verdict(hostile):
    """Two failing thresholds: one on the hostile brand, and one whose scope holds a lone
    surrogate and U+FFFE (put in after judging: the evaluation cannot compare them)."""
    verdict = check.judge(
        hostile,
        [
            parse_option(f"ttfr{{brand:{EVIL}}}: p(90) < 1s"),
            parse_option("ttfr{brand:nobody}: p(90) < 1s"),
        ],
    )
    outcome = verdict.outcomes[1]
    scope = (("brand", "lone \ud800 surrogate \ufffe"),)
    threshold = dataclasses.replace(outcome.threshold, scope=scope)
    verdict.outcomes[1] = dataclasses.replace(outcome, threshold=threshold)
    return verdict


def test_hostile_names_make_inert_markdown(hostile):
    text = verdict_markdown.render(
        hostile_verdict(hostile), limit=verdict_markdown.STEP_SUMMARY_LIMIT
    )
    assert not ILLEGAL_IN_XML.search(text) and "\x1b" not in text
    lines = table_lines(text)
    assert len(lines) == 2
    assert [cells(line) for line in lines] == [6, 6]
    rendered = html(text)
    assert "<script" not in rendered and "<a " not in rendered and "href" not in rendered
    assert rendered.count("<tr>") == 3 and rendered.count("<td") == 12
    assert "&lt;script&gt;alert(1)&lt;/script&gt;]]&gt;[31m|" in rendered  # shown as text


# -- the step summary -----------------------------------------------------------------------


def many_rows(run):
    """28 thresholds: every fourth fails, every seventh warns, the rest pass."""
    specs = []
    for i in range(28):
        if i % 4 == 3:
            specs.append(f"p({i + 50}) < 1s")
        elif i % 7 == 5:
            specs.append({"threshold": f"p({i + 50}) < 1s", "severity": "warn"})
        else:
            specs.append(f"p({i + 50}) < 100d")
    return check.judge(run, thresholds({"ttfr": specs}))


def test_the_full_table_puts_failing_rows_first_then_warnings(recorded):
    verdict = many_rows(recorded)
    text = verdict_markdown.render(verdict, limit=verdict_markdown.STEP_SUMMARY_LIMIT)
    statuses = [line.rsplit("|", 2)[1].strip() for line in table_lines(text)]
    assert statuses == ["**FAIL**"] * 7 + ["WARN — severity: warn"] * 3 + ["PASS"] * 18
    assert text.startswith("### socialbench check: FAIL\n")
    assert escape(verdict.headline(), limit=None) in text
    assert not NOTE.search(text.splitlines()[-1])


@pytest.mark.parametrize(
    "limit, already",
    [
        pytest.param(1500, 0, id="empty-file"),
        pytest.param(2400, 900, id="partly-full"),
        pytest.param(1200, 600, id="nearly-full"),
        pytest.param(
            verdict_markdown.STEP_SUMMARY_LIMIT,
            verdict_markdown.STEP_SUMMARY_LIMIT - 1400,
            id="github-cap",
        ),
    ],
)
def test_the_step_summary_stays_within_the_cap(recorded, tmp_path, limit, already):
    verdict = many_rows(recorded)
    path = tmp_path / "summary.md"
    before = ("é" * (already // 2)).encode("utf-8")  # other steps' content, 2 bytes a char
    path.write_bytes(before)
    appended = verdict_markdown.append_step_summary(verdict, path, limit=limit)
    data = path.read_bytes()
    assert 0 < appended == len(data) - len(before)
    assert len(data) <= limit
    assert data.startswith(before)
    added = data[len(before) :].decode("utf-8")
    assert added.startswith(("\n" if before else "") + "### socialbench check: FAIL\n")
    shown = table_lines(added)
    failing = ["| **FAIL** |" in line for line in shown]
    assert shown and failing == sorted(failing, reverse=True)  # the failing rows first
    assert sum(failing) == min(7, len(shown))
    note = NOTE.match(added.splitlines()[-1])
    assert note and int(note.group(1)) == 28 - len(shown)


def test_truncation_keeps_the_failing_rows(recorded):
    verdict = many_rows(recorded)
    full = verdict_markdown.render(verdict, limit=verdict_markdown.STEP_SUMMARY_LIMIT)
    head = full.split("| metric")[0]
    limit = len(head.encode("utf-8")) + 600
    text = verdict_markdown.render(verdict, limit=limit)
    assert len(text.encode("utf-8")) <= limit
    shown = table_lines(text)
    assert 0 < len(shown) <= 7
    assert all(line.endswith("| **FAIL** |") for line in shown)
    assert NOTE.match(text.splitlines()[-1]).group(1) == str(28 - len(shown))
    assert html(text).count("<table>") == 1


@pytest.mark.parametrize(
    "size, limit",
    [
        pytest.param(2000, 1000, id="already-over"),
        pytest.param(1000, 1000, id="exactly-full"),
        pytest.param(990, 1000, id="no-room-for-the-heading"),
    ],
)
def test_a_full_summary_file_is_left_alone(recorded, tmp_path, size, limit):
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * size)
    verdict = check.judge(recorded, [parse_option("ttfr: p(90) < 1s")])
    assert verdict_markdown.append_step_summary(verdict, path, limit=limit) == 0
    assert path.read_bytes() == b"x" * size


def test_a_heading_alone_when_nothing_else_fits(recorded):
    verdict = check.judge(recorded, [parse_option("ttfr: p(90) < 1s")])
    heading = "### socialbench check: FAIL\n"
    assert verdict_markdown.render(verdict, limit=len(heading)) == heading
    assert verdict_markdown.render(verdict, limit=len(heading) - 1) == ""


# -- where the figures came from ------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, source",
    [
        pytest.param("recorded", "recorded", id="recorded"),
        pytest.param("simulated", "simulated", id="simulated"),
        pytest.param("replay", "replay", id="replay"),
    ],
)
def test_both_outputs_say_where_the_figures_came_from(request, fixture, source):
    run = request.getfixturevalue(fixture)
    verdict = check.judge(run, [parse_option("probes: count >= 1")])
    properties = {p.get("name"): p.get("value") for p in parse(verdict).iter("property")}
    assert properties["source"] == source
    assert properties["source_text"] == check.SOURCES[source]
    assert properties["directory"] == str(run.directory)
    text = verdict_markdown.render(verdict, limit=verdict_markdown.STEP_SUMMARY_LIMIT)
    assert f"\nFigures from: {escape(check.SOURCES[source], limit=None)}\n" in text
    assert f"Figures from: {check.SOURCES[source]}" in html(text)  # as GitHub shows it

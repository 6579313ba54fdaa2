"""A check's verdict as JUnit XML and as a GitHub step summary, from real runs: a synthetic
archive (recorded), the demo suite against the sandbox (simulated) and a replay of a
recording; hostile names from data; the step summary's 1 MiB cap.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pytest
import synth
from click.testing import CliRunner
from conftest import DATA, msg, write_fixture
from markdown_it import MarkdownIt

from socialbench.cli import main
from socialbench.report import verdict_markdown
from socialbench.report.markdown import escape
from socialbench.verdict import check, junit, rows
from socialbench.verdict.thresholds import regression
from socialbench.verdict.thresholds.grammar import parse_option, section

DEMO = DATA.parents[1] / "scenarios" / "demo.yaml"
PAIR = DATA / "suites" / "run_pair.yaml"
EVIL = "<script>alert(1)</script>]]>\x1b[31m|\x00 @team [x](javascript:alert(1))"
ILLEGAL_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NOTE = re.compile(r"^… (\d+) more rows not shown \(see the JUnit file or the terminal output\)$")


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def archive_run(base, *, conversations: int, seed: int):
    archive = base / f"archive-{seed}.jsonl"
    options = {"--conversations": conversations, "--brands": 4, "--seed": seed, "-o": archive}
    synth.main([str(part) for pair in options.items() for part in pair])
    invoke("run", "--fixtures", archive, "--out", base / f"recorded-{seed}", "--quiet")
    return check.load_run(base / f"recorded-{seed}")


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
    base = tmp_path_factory.mktemp("hostile")
    path = write_fixture(
        base / "hostile.jsonl",
        [
            msg("1", "cust", 0, "@x hi"),
            msg("2", EVIL, 5, "hello", parent="1", brand=True),
            msg("3", "cust2", 0, "@x hi"),
            msg("4", EVIL, 50, "hello", parent="3", brand=True),
        ],
    )
    invoke("run", "--fixtures", path, "--out", base / "run", "--quiet")
    return check.load_run(base / "run")


def thresholds(spec: dict):
    """Thresholds from a ``thresholds:`` mapping, as a suite or file would give them."""
    found, problems = section(spec)
    assert not problems, problems
    return [threshold for _, threshold in found]


def parse(verdict) -> ET.Element:
    return ET.fromstring(junit.render(verdict).encode("utf-8"))


def suite(root: ET.Element, name: str) -> ET.Element:
    (found,) = [s for s in root.iter("testsuite") if s.get("name") == name]
    return found


def counts(element: ET.Element) -> tuple[int, int, int]:
    return tuple(int(element.get(k)) for k in ("tests", "failures", "skipped"))


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


# -- JUnit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, child, status",
    [
        pytest.param("p(90) < 100d", None, "PASS", id="pass"),
        pytest.param("p(90) < 1s", "failure", "FAIL", id="fail"),
        pytest.param(
            {"threshold": "p(90) < 1s", "severity": "warn"},
            "system-out",
            "WARN",
            id="warn-severity",
        ),
        pytest.param(
            {"threshold": "p(90) < 1h", "min_samples": 100_000},
            "failure",
            "NO DATA",
            id="no-data-fails",
        ),
        pytest.param(
            {"threshold": "p(90) < 1h", "min_samples": 100_000, "on_no_data": "warn"},
            "system-out",
            "NO DATA",
            id="no-data-warns",
        ),
        pytest.param(
            {"threshold": "p(90) < 1h", "min_samples": 100_000, "on_no_data": "skip"},
            "skipped",
            "NO DATA",
            id="no-data-skipped",
        ),
    ],
)
def test_each_outcome_is_one_case_of_its_kind(recorded, spec, child, status):
    verdict = check.judge(recorded, thresholds({"ttfr": [spec]}))
    (row,) = rows(verdict)
    assert row.status == status
    root = parse(verdict)
    (case,) = suite(root, "thresholds").iter("testcase")
    assert case.get("classname") == "socialbench.thresholds"
    assert case.get("name") == f"ttfr {row.expression}"
    assert [c.tag for c in case] == ([child] if child else [])
    failed, skipped = child == "failure", child == "skipped"
    assert counts(root) == counts(suite(root, "thresholds")) == (1, failed, skipped)
    if child in ("failure", "skipped"):
        assert (
            case.find(child)
            .get("message")
            .startswith(f"observed {row.observed} over {row.samples} samples")
        )
    if child == "system-out":
        assert case.find(child).text.startswith(f"{status}: ttfr {row.expression}: observed")


def test_a_failure_message_carries_the_observed_figure(recorded):
    verdict = check.judge(
        recorded,
        [
            parse_option("probes: count >= 1000000"),
            parse_option("ttfr{brand:AcmeCare}: p(90) < 1s"),
        ],
    )
    first, second = suite(parse(verdict), "thresholds").iter("testcase")
    probes = len(recorded.probes)
    assert first.get("name") == "probes count >= 1000000"
    assert first.find("failure").get("message") == f"observed {probes:,} over {probes:,} samples"
    assert second.get("name") == "ttfr{brand:AcmeCare} p(90) < 1s"
    answered = recorded.probes[recorded.probes["brand"] == "AcmeCare"]["ttfr_s"].notna().sum()
    assert answered > 0
    assert f"over {answered:,} samples" in second.find("failure").get("message")
    assert "written at --threshold" in second.find("failure").text


def test_counts_cover_every_threshold_regression_and_run_problem(recorded, tmp_path):
    baseline = archive_run(tmp_path, conversations=600, seed=4)
    found = thresholds(
        {
            "probes": ["count >= 1"],
            "ttfr": ["p(90) < 1s", {"threshold": "p(90) < 1s", "severity": "warn"}],
            "ttfr{brand:AcmeCare}": [
                {"threshold": "p(90) < 1h", "min_samples": 10**6, "on_no_data": "skip"}
            ],
        }
    )
    request = check.Request(
        regressions=(regression.parse("probes=10"), regression.parse("response_rate=100pp")),
        baseline=baseline.directory,
        require_live=True,  # a run problem: the figures are from recorded conversations
    )
    verdict = check.judge(recorded, found, request=request, baseline=baseline)
    root = parse(verdict)
    thresholds_suite = suite(root, "thresholds")
    names = [c.get("name") for c in thresholds_suite.iter("testcase")]
    assert names[:4] == [
        "probes count >= 1",
        "ttfr p(90) < 1s",
        "ttfr p(90) < 1s",
        "ttfr{brand:AcmeCare} p(90) < 1h",
    ]
    assert names[4:6] == [
        "probes count at most 10 worse than baseline",
        "response_rate rate at most 100pp worse than baseline",
    ]
    assert names[6:] == ["run"]
    # failing: ttfr < 1s, 300 probes against 600 in the baseline, the run itself
    assert counts(root) == (7, 3, 1)
    assert root.findall("testsuite") == [thresholds_suite]  # recorded: no expectations
    cases = list(thresholds_suite.iter("testcase"))
    assert "baseline 600" in cases[4].find("failure").get("message")
    assert cases[6].find("failure").get("message") == (
        f"--require-live: the figures are from {check.SOURCES['recorded']}"
    )
    properties = {p.get("name"): p.get("value") for p in thresholds_suite.iter("property")}
    assert properties["baseline"] == str(baseline.directory)
    assert properties["status"] == "FAIL" and properties["exit_code"] == "1"
    assert thresholds_suite.find("system-out").text == verdict.headline()


def test_expectations_are_one_informational_case_per_probe_and_expectation(simulated):
    verdict = check.judge(simulated, [parse_option("expectations_met: rate >= 0")])
    assert verdict.status == "PASS"
    root = parse(verdict)
    cases = list(suite(root, "expectations").iter("testcase"))
    missed = [c for c in cases if c.find("failure") is not None]
    assert len(cases) == len(verdict.expectations) > len(simulated.probes)
    assert 0 < len(missed) < len(cases)
    assert counts(suite(root, "expectations")) == (len(cases), len(missed), 0)
    assert counts(root) == (len(cases) + 1, len(missed), 0)
    assert counts(suite(root, "thresholds")) == (1, 0, 0)  # the gate passes regardless
    first = verdict.expectations[0]
    assert cases[0].get("classname") == f"socialbench.expectations.{first['scenario']}"
    assert cases[0].get("name") == (
        f"{first['probe_id']} {first['brand']}/{first['persona']} "
        f"{first['channel']}/{first['surface']}: {first['expectation']}"
    )
    item = next(e for e in verdict.expectations if not e["met"])
    case = cases[verdict.expectations.index(item)]
    assert case.find("failure").get("message") == item["detail"] != ""
    per_probe = {(c.get("name").split()[0]) for c in cases}
    assert per_probe == set(simulated.probes["probe_id"])


def test_write_is_the_rendering_and_replaces_the_file_atomically(recorded, tmp_path):
    verdict = check.judge(recorded, [parse_option("ttfr: p(90) < 1s")])
    path = tmp_path / "reports" / "junit.xml"
    path.parent.mkdir()
    path.write_text("old", encoding="utf-8")
    assert junit.write(verdict, path) == path
    data = path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert data.decode("utf-8") == junit.render(verdict)
    assert ET.parse(path).getroot().get("failures") == "1"
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]  # no partial file left


# -- hostile data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kept",
    [
        pytest.param("tab\tnewline\ncr\r", "tab\tnewline\ncr\r", id="whitespace-kept"),
        pytest.param("nul\x00 esc\x1b[31m bell\x07", "nul esc[31m bell", id="c0-controls"),
        pytest.param("lone \ud800\udfff", "lone ", id="lone-surrogates"),
        pytest.param("\ufffe\uffff\ufffd", "\ufffd", id="non-characters"),
        pytest.param("é 😀 \u202e \x85", "é 😀 \u202e \x85", id="legal-unicode-kept"),
    ],
)
def test_legal_keeps_only_what_xml_can_hold(text, kept):
    assert junit.legal(text) == kept
    ET.fromstring(f"<a b='{junit.legal(text)}'>{junit.legal(text)}</a>".encode())


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


def test_hostile_names_make_well_formed_junit(hostile, tmp_path):
    verdict = hostile_verdict(hostile)
    path = junit.write(verdict, tmp_path / "junit.xml")
    text = path.read_text(encoding="utf-8")
    assert not ILLEGAL_IN_XML.search(text)
    assert "<script>" not in text and "]]>" not in text
    first, second = ET.parse(path).getroot().iter("testcase")
    legal = EVIL.replace("\x1b", "").replace("\x00", "")
    assert first.get("name") == f"ttfr{{brand:{legal}}} p(90) < 1s"  # text, round-tripped
    # replies after 5m and 50m: p(90) = 5m + 0.9 * 45m
    assert first.find("failure").get("message") == "observed 45.5m over 2 samples"
    assert second.get("name") == "ttfr{brand:lone  surrogate } p(90) < 1s"


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

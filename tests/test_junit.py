"""A check's verdict as JUnit XML, from real runs: a synthetic archive (recorded), the demo
suite replayed from its shipped recordings (a probe run with expectations), hostile names
from data. The file's cases fail exactly when the verdict fails, and every file is valid
against Jenkins xunit-plugin's junit-10.xsd (tests/data/junit/README.md).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
import xmlschema
from archive_runs import archive_run, hostile_run, invoke, thresholds
from conftest import DATA

from socialbench.verdict import check, junit, rows
from socialbench.verdict.thresholds import regression
from socialbench.verdict.thresholds.grammar import parse_option

ROOT = DATA.parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
RECORDING = ROOT / "scenarios" / "recordings" / "demo.jsonl"
SCHEMA = DATA / "junit" / "junit-10.xsd"
EVIL = "<script>alert(1)</script>]]>\x1b[31m|\x00\x0c @team 😀 [x](javascript:alert(1))"
ILLEGAL_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A recorded archive: 300 synthetic conversations with 4 brands."""
    return archive_run(tmp_path_factory.mktemp("recorded"), conversations=300, seed=3)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo suite replayed from its shipped recordings: its thresholds pass, and many
    of its probes miss an expectation of their query."""
    out = tmp_path_factory.mktemp("demo") / "run"
    invoke("run", DEMO, "--target", "fixture", "--fixtures", RECORDING, "--out", out, "--quiet")
    return check.load_run(out)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A recorded archive whose brand is named with markup, escapes, controls and emoji."""
    return hostile_run(tmp_path_factory.mktemp("hostile"), EVIL)


def demo_verdict(run, *options: str):
    """The demo run judged on its suite's thresholds and ``options``."""
    return check.check(run, check.Request(options=options))


def with_run(run, **changes):
    """``run`` as if its summary's ``run`` section had ``changes``."""
    summary = {**run.summary, "run": {**run.summary["run"], **changes}}
    return dataclasses.replace(run, summary=summary)


def parse(verdict) -> ET.Element:
    return ET.fromstring(junit.render(verdict).encode("utf-8"))


def cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("testsuite/testcase")


def names(found: list[ET.Element]) -> list[str]:
    return [case.get("name") for case in found]


def red(root: ET.Element) -> list[ET.Element]:
    """The cases a reporter shows as failed: a failure or an error."""
    return [c for c in cases(root) if c.find("failure") is not None or c.find("error") is not None]


def counts(element: ET.Element) -> tuple[int, ...]:
    keys = ("tests", "failures", "errors") + (("skipped",) if element.tag == "testsuite" else ())
    return tuple(int(element.get(k)) for k in keys)


def properties(root: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in root.iter("property")}


@functools.cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA)


# -- one case per threshold -----------------------------------------------------------------


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
    (case,) = cases(root)
    assert case.get("classname") == "socialbench.thresholds"
    assert case.get("name") == f"ttfr {row.expression}"
    assert [c.tag for c in case] == ([child] if child else [])
    failed, skipped = child == "failure", child == "skipped"
    assert counts(root) == (1, failed, 0)
    assert counts(root.find("testsuite")) == (1, failed, 0, skipped)
    assert bool(red(root)) == bool(verdict.exit_code)
    if child in ("failure", "skipped"):
        assert (
            case.find(child)
            .get("message")
            .startswith(f"observed {row.observed} over {row.samples} samples")
        )
    if child == "system-out":
        assert case.find(child).text.startswith(f"{row.status_text}: ttfr {row.expression}: ")


def test_a_failure_message_carries_the_observed_figure(recorded):
    verdict = check.judge(
        recorded,
        [
            parse_option("probes: count >= 1000000"),
            parse_option("ttfr{brand:AcmeCare}: p(90) < 1s"),
        ],
    )
    first, second = cases(parse(verdict))
    probes = len(recorded.probes)
    assert first.get("name") == "probes count >= 1000000"
    assert first.find("failure").get("message") == f"observed {probes:,} over {probes:,} samples"
    assert first.find("failure").get("type") == "FAIL"
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
    assert names(cases(root)) == [
        "probes count >= 1",
        "ttfr p(90) < 1s",
        "ttfr p(90) < 1s",
        "ttfr{brand:AcmeCare} p(90) < 1h",
        "probes count at most 10 worse than baseline",
        "response_rate rate at most 100pp worse than baseline",
        "run",
    ]
    # failing: ttfr < 1s, 300 probes against 600 in the baseline, the run itself
    assert names(red(root)) == [
        "ttfr p(90) < 1s",
        "probes count at most 10 worse than baseline",
        "run",
    ]
    assert counts(root) == (7, 3, 0)
    (suite,) = root.findall("testsuite")  # recorded: no expectations
    assert counts(suite) == (7, 3, 0, 1)
    found_cases = cases(root)
    assert "baseline 600" in found_cases[4].find("failure").get("message")
    assert found_cases[6].find("failure").get("message") == (
        f"--require-live: the figures are from {check.SOURCES['recorded']}"
    )
    assert properties(root)["baseline"] == str(baseline.directory)
    assert properties(root)["status"] == "FAIL" and properties(root)["exit_code"] == "1"
    assert suite.find("system-out").text == verdict.headline()


# -- a probe run: the thresholds decide, expectations only through a gate -------------------


def test_a_passing_demo_has_no_failing_case_however_many_expectations_it_missed(demo):
    verdict = demo_verdict(demo)
    assert verdict.exit_code == 0 and verdict.warnings
    missed = sum(not item["met"] for item in verdict.expectations)
    assert missed > 0  # informational: no case of its own
    root = parse(verdict)
    assert names(cases(root)) == [junit.case_name(row) for row in rows(verdict)]
    assert red(root) == [] and counts(root) == (len(verdict.outcomes), 0, 0)
    assert "expectation" not in junit.render(verdict).replace('name="expectations', "")
    assert properties(root)["expectations"] == str(len(verdict.expectations))
    assert properties(root)["expectations_missed"] == str(missed)


def test_a_failing_threshold_fails_exactly_its_case(demo):
    verdict = demo_verdict(demo, "response_rate: rate >= 99%", "probes: count >= 1")
    assert verdict.exit_code == 1
    root = parse(verdict)
    assert names(red(root)) == ["response_rate rate >= 99%"]
    assert counts(root) == (len(verdict.outcomes), 1, 0)


@pytest.mark.parametrize(
    "gate, fails",
    [
        pytest.param("expectations_met: rate >= 0", False, id="gate-passes"),
        pytest.param("expectations_met: rate >= 99%", True, id="gate-fails"),
    ],
)
def test_an_expectations_met_threshold_is_the_one_gate_and_lists_the_misses(demo, gate, fails):
    verdict = demo_verdict(demo, gate)
    assert verdict.exit_code == int(fails)
    root = parse(verdict)
    assert len(cases(root)) == len(verdict.outcomes)  # still no case per probe
    assert names(red(root)) == (["expectations_met rate >= 99%"] if fails else [])
    (case,) = [c for c in cases(root) if c.get("name").startswith("expectations_met ")]
    out = case.find("system-out").text.splitlines()
    missed = [item for item in verdict.expectations if not item["met"]]
    probes = {item["probe_id"] for item in verdict.expectations}
    by = {item["probe_id"] for item in missed}
    assert out[0] == (
        f"{len(missed):,} of {len(verdict.expectations):,} expectation(s) missed, by "
        f"{len(by):,} of {len(probes):,} probe(s):"
    )
    assert len(out) == 1 + len(missed) <= 1 + junit.MISSES_SHOWN
    first = missed[0]
    assert out[1] == (
        f"{first['probe_id']} {first['brand']}/{first['persona']} "
        f"{first['channel']}/{first['surface']}: {first['expectation']}: {first['detail']}"
    )
    assert first["detail"].startswith("expected ")


def test_a_scoped_gate_says_its_list_covers_the_whole_run(demo):
    verdict = demo_verdict(demo, "expectations_met{channel:x}: rate >= 0")
    (case,) = [c for c in cases(parse(verdict)) if c.get("name").startswith("expectations_met")]
    assert "(every probe of the run, not only {channel:x}):" in case.find("system-out").text


def test_a_regression_on_expectations_is_a_gate_too(demo):
    request = check.Request(
        regressions=(regression.parse("expectations_met=0pp"),), baseline=demo.directory
    )
    verdict = check.check(demo, request)
    (case,) = [c for c in cases(parse(verdict)) if c.get("name").startswith("expectations_met")]
    assert case.find("failure") is None  # no worse than itself
    assert "expectation(s) missed" in case.find("system-out").text


def test_a_long_list_of_misses_is_cut_with_a_count(demo, monkeypatch):
    monkeypatch.setattr(junit, "MISSES_SHOWN", 3)
    verdict = demo_verdict(demo, "expectations_met: rate >= 0")
    (case,) = [c for c in cases(parse(verdict)) if c.get("name").startswith("expectations_met")]
    out = case.find("system-out").text.splitlines()
    missed = sum(not item["met"] for item in verdict.expectations)
    assert len(out) == 5
    assert out[-1] == f"… and {missed - 3:,} more (probes.csv: expectations_missed)"


# -- the run itself -------------------------------------------------------------------------


def test_probes_that_could_not_be_sent_are_an_error_of_the_run_case(demo):
    failed = [{"probe_id": "p1", "scenario": "s", "error": "HTTP 403"}] * 2
    verdict = demo_verdict(with_run(demo, failed=failed, complete=False))
    assert verdict.exit_code == check.EXIT_RUN_FAILED
    root = parse(verdict)
    assert names(red(root)) == ["run"]
    (error,) = root.findall("testsuite/testcase/error")
    assert error.get("type") == "RUN FAILED"
    assert error.get("message").endswith("; 2 probe(s) could not be sent")
    assert error.text.splitlines()[-1] == "2 probe(s) could not be sent"
    assert counts(root) == (len(verdict.outcomes) + 1, 0, 1)
    assert properties(root)["exit_code"] == "3"


def test_a_run_in_progress_fails_the_run_case(demo):
    verdict = demo_verdict(with_run(demo, complete=False))
    assert verdict.exit_code == 1
    root = parse(verdict)
    assert names(red(root)) == ["run"]
    assert root.find("testsuite/testcase/failure").get("message").startswith("the run is still")


# -- time and timestamp ---------------------------------------------------------------------


def test_time_and_timestamp_come_from_the_verdict(recorded):
    verdict = check.judge(recorded, [parse_option("probes: count >= 1")])
    paris = timezone(timedelta(hours=2))
    verdict.checked_at = datetime(2024, 3, 4, 11, 5, 6, 789, tzinfo=paris)
    verdict.duration_s = 2.34567
    root = parse(verdict)
    suite = root.find("testsuite")
    assert root.get("time") == suite.get("time") == "2.346"
    assert suite.get("timestamp") == "2024-03-04T09:05:06"  # UTC, no zone suffix
    assert root.get("timestamp") is None  # not allowed on <testsuites>
    schema().validate(junit.render(verdict))


def test_nothing_timed_is_zero_seconds_and_no_timestamp(recorded):
    verdict = check.judge(recorded, [parse_option("probes: count >= 1")])
    verdict.checked_at, verdict.duration_s = None, 0.0
    root = parse(verdict)
    assert float(root.get("time")) == float(root.find("testsuite").get("time")) == 0
    assert root.find("testsuite").get("timestamp") is None


# -- the schema -----------------------------------------------------------------------------


def gate_with_hostile_names(demo):
    verdict = demo_verdict(demo, "expectations_met: rate >= 99%")
    verdict.expectations = [{**item, "brand": EVIL} for item in verdict.expectations]
    return verdict


def hostile_scopes(hostile):
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


def timed(recorded):
    verdict = check.judge(recorded, thresholds({"ttfr": ["p(90) < 1s"]}))
    verdict.checked_at, verdict.duration_s = datetime.now(UTC), 12345.6789
    return verdict


VERDICTS = {
    "demo-passes": lambda r: demo_verdict(r["demo"]),
    "threshold-fails": lambda r: demo_verdict(r["demo"], "response_rate: rate >= 99%"),
    "gate-passes": lambda r: demo_verdict(r["demo"], "expectations_met: rate >= 0"),
    "gate-fails": lambda r: demo_verdict(r["demo"], "expectations_met: rate >= 99%"),
    "run-failed": lambda r: demo_verdict(with_run(r["demo"], failed=[{"probe_id": "p"}])),
    "in-progress": lambda r: demo_verdict(with_run(r["demo"], complete=False)),
    "warning": lambda r: check.judge(
        r["recorded"], thresholds({"ttfr": [{"threshold": "p(90) < 1s", "severity": "warn"}]})
    ),
    "skip": lambda r: check.judge(
        r["recorded"],
        thresholds(
            {"ttfr": [{"threshold": "p(9) < 1h", "min_samples": 10**6, "on_no_data": "skip"}]}
        ),
    ),
    "regressions": lambda r: check.judge(
        r["recorded"],
        [parse_option("probes: count >= 1")],
        request=check.Request(
            regressions=(regression.parse("probes=0"),), baseline=r["demo"].directory
        ),
        baseline=r["demo"],
    ),
    "hostile-scopes": lambda r: hostile_scopes(r["hostile"]),
    "hostile-gate": lambda r: gate_with_hostile_names(r["demo"]),
    "timed": lambda r: timed(r["recorded"]),
}


@pytest.mark.parametrize("kind", list(VERDICTS))
def test_every_file_is_valid_junit_and_red_exactly_when_the_check_fails(
    kind, recorded, demo, hostile
):
    verdict = VERDICTS[kind]({"recorded": recorded, "demo": demo, "hostile": hostile})
    text = junit.render(verdict)
    schema().validate(text)  # raises, saying where, when the file is not valid
    assert not ILLEGAL_IN_XML.search(text)
    root = parse(verdict)
    failing = sum(row.failing for row in rows(verdict)) + bool(verdict.problems)
    assert len(red(root)) == failing
    assert bool(failing) == bool(verdict.exit_code)
    assert root.get("skipped") is None


def test_the_schema_rejects_what_the_library_would_write_unaided():
    """The vendored schema is the strict one: ``skipped`` on <testsuites> (junitparser's
    default flavour) and a time with more than three decimals are errors."""
    good = '<testsuites tests="0" failures="0" errors="0" time="0.5"/>'
    schema().validate(good)
    assert not schema().is_valid('<testsuites tests="0" skipped="0"/>')
    assert not schema().is_valid('<testsuites time="0.0001"/>')


# -- writing, and what XML cannot hold ------------------------------------------------------


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


def test_hostile_names_are_kept_as_text(hostile, demo, tmp_path):
    path = junit.write(hostile_scopes(hostile), tmp_path / "junit.xml")
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text and "]]>" not in text
    first, second = ET.parse(path).getroot().iter("testcase")
    legal = EVIL.replace("\x1b", "").replace("\x00", "").replace("\x0c", "")
    assert "😀" in legal
    assert first.get("name") == f"ttfr{{brand:{legal}}} p(90) < 1s"  # text, round-tripped
    # replies after 5m and 50m: p(90) = 5m + 0.9 * 45m
    assert first.find("failure").get("message").startswith("observed 45.5m over 2 samples")
    assert second.get("name") == "ttfr{brand:lone  surrogate } p(90) < 1s"
    gate = parse(gate_with_hostile_names(demo)).find("testsuite/testcase[failure]/system-out")
    assert f" {legal}/" in gate.text.splitlines()[1]

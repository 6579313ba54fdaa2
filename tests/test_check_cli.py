"""``socialbench check``, ``run --check`` and ``compare`` as a CI job uses them: exit codes,
configuration errors before anything runs, the step summary, baselines and the source of the
figures."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from socialbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
RECORDING = ROOT / "scenarios" / "recordings" / "demo.jsonl"


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> Path:
    """The demo suite replayed against the shipped recordings (recorded timing)."""
    out = tmp_path_factory.mktemp("replay") / "run"
    result = invoke("run", DEMO, "--target", "fixture", "--fixtures", RECORDING, "--out", out,
                    "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("archive")
    import synth

    csv = tmp / "a.csv"
    synth.main(["--conversations", "400", "--brands", "4", "--seed", "3", "-o", str(csv)])
    out = tmp / "run"
    result = invoke("run", "--fixtures", csv, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def copy_run(run: Path, tmp_path: Path, **changes) -> Path:
    """A copy of a run folder whose summary's ``run`` section has ``changes``."""
    target = tmp_path / run.name
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("run.lock", "*-wal", "*-shm"))
    summary = json.loads((target / "summary.json").read_text())
    summary["run"].update(changes)
    (target / "summary.json").write_text(json.dumps(summary))
    return target


def test_the_suites_thresholds_pass_on_its_recordings(replay):
    result = invoke("check", replay)
    assert result.exit_code == 0, result.output
    assert "PASS: all 8 check(s) passed" in result.output
    assert "figures from a replay of recorded conversations" in result.output
    assert "WARN" in result.output  # deflection_rate has severity: warn


@pytest.mark.parametrize(
    "threshold, code",
    [
        pytest.param("response_rate: rate >= 10%", 0, id="pass"),
        pytest.param("response_rate: rate >= 99%", 1, id="fail"),
        pytest.param("ttfr{brand:acme}: p(90) < 1s", 1, id="scoped-fail"),
        pytest.param("ttfr: p90 < 4h", 2, id="syntax"),
        pytest.param("ttfr{brand:acmee}: p(90) < 4h", 2, id="unknown-brand"),
        pytest.param("ttfr{colour:red}: p(90) < 4h", 2, id="unknown-tag"),
        pytest.param("latency: p(90) < 4h", 2, id="unknown-metric"),
    ],
)
def test_exit_codes(replay, threshold, code):
    result = invoke("check", replay, "--threshold", threshold)
    assert result.exit_code == code, result.output
    if code == 2:
        assert "Traceback" not in result.output and result.output.startswith("error: ")


def test_probes_that_could_not_be_sent_fail_the_run_itself(replay, tmp_path):
    failed = [{"probe_id": "p1", "scenario": "s", "brand": "acme", "persona": "casual",
               "channel": "x", "surface": "public", "error": "HTTP 403"}]  # fmt: skip
    run = copy_run(replay, tmp_path, failed=failed)
    result = invoke("check", run, "--threshold", "response_rate: rate >= 10%")
    assert result.exit_code == 3, result.output
    assert "1 probe(s) could not be sent" in result.output


def test_a_run_in_progress_never_passes_unless_allowed(replay, tmp_path):
    run = copy_run(replay, tmp_path, complete=False)
    args = ("check", run, "--threshold", "response_rate: rate >= 10%")
    assert invoke(*args).exit_code == 1
    assert invoke(*args, "--allow-incomplete").exit_code == 0


def test_require_live_refuses_a_replay(replay):
    result = invoke("check", replay, "--threshold", "probes: count >= 1", "--require-live")
    assert result.exit_code == 1
    assert "--require-live: the figures are from a replay" in result.output


def test_no_thresholds_is_a_configuration_error(archive):
    result = invoke("check", archive)
    assert result.exit_code == 2
    assert "no thresholds to check" in result.output


def test_a_suite_file_lends_its_thresholds_to_an_archive(archive, tmp_path):
    suite = tmp_path / "s.yaml"
    text = DEMO.read_text()
    suite.write_text(text[: text.index("thresholds:")] + 'thresholds:\n  probes: ["count >= 1"]\n')
    result = invoke("check", archive, "--thresholds", suite)
    assert result.exit_code == 0, result.output


def test_run_check_refuses_bad_thresholds_before_sending(tmp_path):
    out = tmp_path / "never"
    result = invoke("run", DEMO, "--out", out, "--threshold", "ttfr{persona:nobody}: med < 1h")
    assert result.exit_code == 2
    assert "no probe of this run can have persona 'nobody'" in result.output
    assert not out.exists()


def test_run_fixtures_check_writes_nothing_on_a_bad_scope(archive, tmp_path):
    csv = next(archive.parent.glob("*.csv"))
    out = tmp_path / "out"
    result = invoke("run", "--fixtures", csv, "--out", out, "--check", "--threshold",
                    "ttfr{brand:NoSuchBrand}: med < 1h")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert not out.exists()


def test_run_fixtures_check_fails_and_still_writes(archive, tmp_path):
    csv = next(archive.parent.glob("*.csv"))
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    result = invoke("run", "--fixtures", csv, "--out", out, "--junit", junit, "--threshold",
                    "response_rate: rate >= 99%", "--threshold", "probes: count >= 1")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert (out / "summary.json").is_file() and (out / "probes.csv").is_file()
    suite = ET.parse(junit).getroot().find("testsuite[@name='thresholds']")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")


def test_step_summary_is_appended(replay, tmp_path):
    summary = tmp_path / "step.md"
    summary.write_text("# earlier step\n")
    result = invoke("check", replay, "--threshold", "response_rate: rate >= 99%",
                    env={"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "### socialbench check: FAIL" in text and "replay" in text
    assert "| response\\_rate | \\(all\\) | rate &gt;= 99% |" in text


def test_baseline_regressions(replay, archive):
    spec = ("--threshold", "probes: count >= 1", "--baseline", archive)
    better = invoke("check", replay, *spec, "--max-regression", "probes.count=1000")
    assert better.exit_code == 0, better.output
    worse = invoke("check", replay, *spec, "--max-regression", "probes.count=10")
    assert worse.exit_code == 1, worse.output  # 117 probes against the archive's 400
    assert "at most 10 worse than baseline" in worse.output


def test_max_regression_needs_a_baseline(replay):
    result = invoke("check", replay, "--threshold", "probes: count >= 1",
                    "--max-regression", "ttfr.p(90)=20%")  # fmt: skip
    assert result.exit_code == 2 and "needs --baseline" in result.output


def test_quiet_prints_only_a_failing_verdict(replay):
    ok = invoke("check", replay, "--quiet", "--threshold", "probes: count >= 1")
    assert (ok.exit_code, ok.output) == (0, "")
    bad = invoke("check", replay, "--quiet", "--threshold", "probes: count >= 1000")
    assert bad.exit_code == 1 and bad.output.startswith("FAIL: 1 of 9")


def test_compare_runs(replay, archive):
    result = invoke("compare", archive, replay, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    probes = next(r for r in doc["rows"] if r["figure"] == "probes")
    assert (probes["a"], probes["b"], probes["change"]) == (400, 243, -157)
    assert any("kind" in w for w in doc["warnings"])
    assert doc["alpha"] == 0.05
    rate, p90 = (next(r for r in doc["rows"] if r["figure"] == f)
                 for f in ("response_rate", "ttfr_p90_s"))  # fmt: skip
    assert (rate["test"], p90["test"]) == ("fisher", "mann-whitney")
    for row in (rate, p90):
        assert 0 <= row["p_value"] <= 1 and row["significant"] == (row["p_value"] < 0.05)
        assert row["verdict"] in ("better", "worse", "no significant change")
    text = invoke("compare", archive, replay).output
    assert "time to first response, p(90)" in text and "p90" not in text


def test_an_unwritable_junit_path_is_an_input_error_after_the_verdict(replay, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("check", replay, "--threshold", "probes: count >= 1",
                    "--junit", blocker / "junit.xml")  # fmt: skip
    assert result.exit_code == 2
    assert "PASS: all 9 check(s) passed" in result.output
    assert "--junit: cannot write" in result.output


def test_an_unwritable_step_summary_is_a_warning(replay, tmp_path):
    missing = tmp_path / "no" / "such" / "file"
    result = invoke("check", replay, "--threshold", "probes: count >= 1",
                    env={"GITHUB_STEP_SUMMARY": str(missing)})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning: GITHUB_STEP_SUMMARY" in result.output


def test_validate_counts_a_suites_thresholds():
    result = invoke("validate", DEMO)
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith("243 probes, 8 threshold(s)")


def test_a_baseline_that_is_not_a_run_is_refused_before_anything_is_written(archive, tmp_path):
    csv = next(archive.parent.glob("*.csv"))
    out = tmp_path / "out"
    result = invoke("run", "--fixtures", csv, "--out", out, "--threshold", "probes: count >= 1",
                    "--baseline", tmp_path)  # fmt: skip
    assert result.exit_code == 2
    assert "no summary.json here" in result.output
    assert not out.exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """Ten probes, three answered, measured with the default --min-group (10): the summary
    withholds its times, as the starter suite's run does."""
    from conftest import msg, write_fixture

    tmp = tmp_path_factory.mktemp("small")
    rows = []
    for n in range(10):
        rows.append(msg(f"{n}0", f"cust{n}", n * 20_000, "@AcmeHelp my order is late"))
        if n < 3:
            rows.append(msg(f"{n}1", "AcmeHelp", n * 20_000 + 30 * (n + 1), "On it!",
                            parent=f"{n}0", brand=True))  # fmt: skip
    fixture = write_fixture(tmp / "small.jsonl", rows)
    result = invoke("run", "--fixtures", fixture, "--out", tmp / "run", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp / "run" / "summary.json").read_text())["overall"]["ttfr_p90_s"] is None
    return tmp / "run"


@pytest.mark.parametrize(
    "policy, code, junit_child",
    [
        pytest.param(None, 1, "failure", id="default-fail"),
        pytest.param("fail", 1, "failure", id="fail"),
        pytest.param("warn", 0, "system-out", id="warn"),
        pytest.param("pass", 0, None, id="pass"),
        pytest.param("skip", 0, "skipped", id="skip"),
    ],
)
def test_a_percentile_on_fewer_samples_than_min_group_is_no_data(
    small, tmp_path, policy, code, junit_child
):
    """check judges no figure the summary withholds: p(90) of 3 answered probes with
    --min-group 10 is NO DATA, and its on_no_data policy decides the exit code."""
    item = {"threshold": "p(90) < 24h"} | ({"on_no_data": policy} if policy else {})
    targets = tmp_path / "targets.yaml"
    targets.write_text(json.dumps({"ttfr": [item]}))  # JSON is YAML
    junit = tmp_path / "junit.xml"
    result = invoke("check", small, "--thresholds", targets, "--junit", junit)
    assert result.exit_code == code, result.output
    shown = policy or "fail"
    [line] = [x for x in result.output.splitlines() if x.lstrip().startswith("ttfr ")]
    assert line.split()[-4:] == ["3", "NO", "DATA", f"({shown})"]
    note = f"note: ttfr p(90) < 24h: 3 sample(s) < 10 needed (--min-group); on_no_data: {shown}"
    assert note in result.output
    assert "1 without enough samples" in result.output
    case = ET.parse(junit).getroot().find(".//testcase[@classname='socialbench.thresholds']")
    if junit_child is not None:
        said = [*case.itertext(), *(v for child in case for v in child.attrib.values())]
        assert any("3 sample(s) < 10 needed (--min-group)" in text for text in said)


def test_min_samples_overrides_min_group(small, tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text('ttfr:\n  - {threshold: "p(90) < 24h", min_samples: 3}\n')
    result = invoke("check", small, "--thresholds", targets)
    assert result.exit_code == 0, result.output
    assert "PASS: all 1 check(s) passed" in result.output


@pytest.mark.parametrize(
    "option, text, right",
    [
        pytest.param("--max-regression", "ttfr.p90=20%", "ttfr.p(90)=20%", id="regression"),
        pytest.param("--threshold", "ttfr: p90 < 4h", "p(90)", id="threshold"),
    ],
)
def test_p90_is_a_one_line_usage_error_naming_p_of_90(replay, archive, option, text, right):
    result = invoke("check", replay, "--threshold", "probes: count >= 1", "--baseline", archive,
                    option, text)  # fmt: skip
    assert result.exit_code == 2, result.output
    [line] = result.output.splitlines()
    assert line.startswith(f"error: {option} {text!r}: ")
    assert "write percentiles as p(90), not p90" in line and right in line

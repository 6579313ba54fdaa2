"""The threshold grammar and its evaluation against a hand-made probe table."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.errors import ConfigError, UsageError
from socialbench.verdict import FAILED, PASSED, SKIPPED, WARNED, check, rows
from socialbench.verdict.thresholds import grammar, regression, sources
from socialbench.verdict.thresholds.evaluate import FAIL, NO_DATA, PASS, WARN
from tests.conftest import msg, write_fixture


def parse(text: str) -> grammar.Threshold:
    return grammar.parse_option(text)


@pytest.mark.parametrize(
    "text, aggregate, percentile, op, value",
    [
        pytest.param("response_rate: rate >= 0.9", "rate", None, ">=", 0.9, id="share"),
        pytest.param("response_rate: rate >= 90%", "rate", None, ">=", 0.9, id="percent"),
        pytest.param("ttfr: p(90) < 4h", "p", 90.0, "<", 14400.0, id="p90-hours"),
        pytest.param("ttfr: p(99.5)<=1h30m", "p", 99.5, "<=", 5400.0, id="no-spaces"),
        pytest.param("ttfr: med < 30m", "med", None, "<", 1800.0, id="median"),
        pytest.param("ttfr: avg > 90s", "avg", None, ">", 90.0, id="seconds"),
        pytest.param("ttfr: min >= 0", "min", None, ">=", 0.0, id="zero"),
        pytest.param("ttfr: max != 1d", "max", None, "!=", 86400.0, id="days"),
        pytest.param("ttfr: count == 12", "count", None, "==", 12.0, id="trend-count"),
        pytest.param("ttfr_business: p(90) < 1h", "p", 90.0, "<", 3600.0, id="business"),
        pytest.param("probes: count >= 50", "count", None, ">=", 50.0, id="probes"),
        pytest.param("response_rate: count > 3", "count", None, ">", 3.0, id="rate-count"),
        pytest.param("deflection_rate: rate <= 15%", "rate", None, "<=", 0.15, id="deflection"),
        pytest.param("ttfr: med < 120", "med", None, "<", 120.0, id="bare-seconds"),
    ],
)
def test_expressions(text, aggregate, percentile, op, value):
    expression = parse(text).expression
    assert (expression.aggregate, expression.percentile, expression.op) == (
        aggregate,
        percentile,
        op,
    )
    assert expression.value == pytest.approx(value)


@pytest.mark.parametrize(
    "key, scope",
    [
        pytest.param("ttfr", (), id="none"),
        pytest.param("ttfr{channel:x}", (("channel", "x"),), id="one"),
        pytest.param(
            "ttfr{channel:x,category:complaint}",
            (("channel", "x"), ("category", "complaint")),
            id="two",
        ),
        pytest.param("ttfr{ channel : x }", (("channel", "x"),), id="spaces"),
        pytest.param("ttfr{follower_tier:<1k}", (("follower_tier", "<1k"),), id="tier-low"),
        pytest.param("ttfr{follower_tier:1k-10k}", (("follower_tier", "1k–10k"),), id="tier-dash"),
        pytest.param("ttfr{follower_tier:>=10k}", (("follower_tier", "≥10k"),), id="tier-ge"),
        pytest.param("ttfr{weekday:monday}", (("weekday", "Mon"),), id="weekday"),
        pytest.param("ttfr{hour:09}", (("hour", "9"),), id="hour"),
    ],
)
def test_scopes(key, scope):
    assert grammar.parse_key(key)[1] == scope


@pytest.mark.parametrize(
    "text, problem",
    [
        pytest.param("latency: avg < 1s", "unknown metric 'latency'", id="metric"),
        pytest.param("ttfr{chanel:x}: med < 1h", "unknown tag 'chanel'", id="tag"),
        pytest.param("ttfr{channel}: med < 1h", "is not tag:value", id="tag-value"),
        pytest.param("ttfr{brand:a,brand:b}: med < 1h", "given twice", id="tag-twice"),
        pytest.param("ttfr{hour:25}: med < 1h", "from 0 to 23", id="hour"),
        pytest.param("ttfr{weekday:funday}: med < 1h", "is not one of Mon", id="weekday"),
        pytest.param("ttfr: p90 < 1h", "write percentiles as p(90)", id="p90"),
        pytest.param("ttfr: p(101) < 1h", "from 0 to 100", id="percentile"),
        pytest.param("ttfr: rate < 1h", "ttfr has no aggregate 'rate'", id="trend-rate"),
        pytest.param("response_rate: p(90) > 0.5", "no aggregate 'p(90)'", id="rate-p"),
        pytest.param("probes: rate > 0.5", "probes has no aggregate", id="probes-rate"),
        pytest.param("ttfr: med < 10%", "durations", id="trend-percent"),
        pytest.param("ttfr: med < soon", "is not a duration", id="duration"),
        pytest.param("response_rate: rate >= 90", "say 90%?", id="rate-90"),
        pytest.param("response_rate: rate >= 4h", "a share (0.9)", id="rate-duration"),
        pytest.param("response_rate: rate >= 120%", "from 0 to 1", id="rate-over"),
        pytest.param("probes: count >= 1.5", "whole number", id="count-fraction"),
        pytest.param("ttfr: med <", "no value after", id="no-value"),
        pytest.param("ttfr: med ~ 1h", "AGGREGATE OP VALUE", id="operator"),
        pytest.param("ttfr med < 1h", "write it as", id="no-colon"),
    ],
)
def test_bad_thresholds_are_usage_errors(text, problem):
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert problem in str(caught.value)
    assert text in str(caught.value)


def test_long_form_options():
    found, problems = grammar.section(
        {
            "ttfr": [
                "med < 1h",
                {"threshold": "p(90) < 4h", "severity": "warn", "min_samples": 20,
                 "on_no_data": "skip"},
            ]
        }
    )  # fmt: skip
    assert problems == []
    (_, short), (loc, long) = found
    assert (short.severity, short.min_samples, short.on_no_data) == ("fail", None, "fail")
    assert (long.severity, long.min_samples, long.on_no_data) == ("warn", 20, "skip")
    assert loc == ("ttfr", 1)


@pytest.mark.parametrize(
    "item, loc, problem",
    [
        pytest.param({"threshold": "med < 1h", "severity": "loud"}, ("severity",), "fail, warn",
                     id="severity"),
        pytest.param({"threshold": "med < 1h", "on_no_data": "maybe"}, ("on_no_data",),
                     "fail, warn, pass, skip", id="on-no-data"),
        pytest.param({"threshold": "med < 1h", "min_samples": 0}, ("min_samples",),
                     "at least 1", id="min-samples"),
        pytest.param({"threshold": "med < 1h", "abortOnFail": True}, ("abortOnFail",),
                     "unknown key", id="unknown-key"),
        pytest.param({"severity": "warn"}, (), "needs threshold", id="no-threshold"),
        pytest.param({"threshold": "p90 < 1h"}, ("threshold",), "p(90)", id="bad-expression"),
    ],
)  # fmt: skip
def test_long_form_problems_are_located(item, loc, problem):
    found, problems = grammar.section({"ttfr": [item]})
    assert found == []
    [(where, message)] = problems
    assert where == ("ttfr", 0, *loc)
    assert problem in message


def test_thresholds_file_names_the_line(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text('thresholds:\n  ttfr: ["med < 1h"]\n  ttfr{brand:x}: ["p90 < 4h"]\n')
    with pytest.raises(ConfigError) as caught:
        sources.from_file(path)
    assert str(caught.value) == (
        f"{path}:3: thresholds.ttfr{{brand:x}}.0: 'p90 < 4h': write percentiles as p(90), not p90"
    )


def test_thresholds_file_origins(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text('response_rate: ["rate >= 90%"]\nttfr:\n  - med < 1h\n  - p(90) < 4h\n')
    found = sources.from_file(path)
    assert [t.origin for t in found] == [f"{path}:1", f"{path}:3", f"{path}:4"]


@pytest.mark.parametrize(
    "content, problem",
    [
        pytest.param("", "the file is empty", id="empty"),
        pytest.param("{}\n", "no thresholds in this file", id="no-thresholds"),
        pytest.param("ttfr: [med < 1h\n", ":2: invalid YAML", id="yaml"),
        pytest.param(
            'ttfr: ["med < 1h"]\nttfr: ["p(90) < 4h"]\n',
            ":2: ttfr: duplicate key",
            id="duplicate-key",
        ),
        pytest.param(b'ttfr: ["med < 1h \xff"]\n', "not UTF-8", id="utf8"),
    ],
)
def test_bad_thresholds_files(tmp_path, content, problem):
    path = tmp_path / "t.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match=problem):
        sources.from_file(path)


def test_scoped_keys_are_plain_yaml_keys():
    data = yaml.safe_load('ttfr{channel:x,category:complaint}: ["p(90) < 1h"]\n')
    [(_, threshold)], problems = grammar.section(data)
    assert problems == [] and threshold.scope_text == "channel:x,category:complaint"


@pytest.mark.parametrize(
    "text, metric, aggregate, limit, relative",
    [
        pytest.param("ttfr.p(90)=20%", "ttfr", "p", 0.2, True, id="p90"),
        pytest.param("ttfr.p(99.5)=20%", "ttfr", "p", 0.2, True, id="p99.5"),
        pytest.param("ttfr.p(95)=30m", "ttfr", "p", 1800.0, False, id="duration"),
        pytest.param("ttfr.med{brand:acme}=10%", "ttfr", "med", 0.1, True, id="scoped"),
        pytest.param("response_rate=5pp", "response_rate", "rate", 0.05, False, id="points"),
        pytest.param("response_rate=0.05", "response_rate", "rate", 0.05, False, id="share"),
        pytest.param("probes.count=10", "probes", "count", 10.0, False, id="count"),
    ],
)
def test_regression_specs(text, metric, aggregate, limit, relative):
    spec = regression.parse(text)
    assert spec.threshold.metric == metric
    assert spec.threshold.expression.aggregate == aggregate
    assert (spec.limit, spec.relative) == (pytest.approx(limit), relative)


@pytest.mark.parametrize(
    "text", ["ttfr=20%", "ttfr.p(90)", "ttfr.rate=5%", "ttfr.p(90)=5pp", "latency.p(90)=1%"]
)
def test_bad_regression_specs(text):
    with pytest.raises(UsageError, match="--max-regression"):
        regression.parse(text)


@pytest.mark.parametrize(
    "option, text, problem",
    [
        pytest.param("--max-regression", "ttfr.p90=20%", "p(90), not p90 ('ttfr.p(90)=20%')",
                     id="regression"),
        pytest.param("--max-regression", "ttfr.p99.9{brand:acme}=30m",
                     "p(99.9), not p99.9 ('ttfr.p(99.9){brand:acme}=30m')", id="regression-scoped"),
        pytest.param("--threshold", "ttfr: p95 < 1h", "write percentiles as p(95), not p95",
                     id="threshold"),
        pytest.param("--threshold", "ttfr: p99.9<=1h", "write percentiles as p(99.9), not p99.9",
                     id="threshold-decimal"),
    ],
)  # fmt: skip
def test_percentiles_are_written_p_of_n_everywhere(option, text, problem):
    """One spelling, k6's: ``p90`` is refused in thresholds and regressions alike, in one
    line naming the option and the right spelling."""
    parser = regression.parse if option == "--max-regression" else parse
    with pytest.raises(UsageError) as caught:
        parser(text)
    message = str(caught.value)
    assert message.startswith(f"{option} {text!r}: ") and problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "higher_is_better, current, baseline, worse",
    [
        pytest.param("ttfr.p(90)=20%", 120.0, 100.0, 0.2, id="slower-is-worse"),
        pytest.param("ttfr.p(90)=20%", 80.0, 100.0, -0.2, id="faster-is-better"),
        pytest.param("response_rate=5pp", 0.8, 0.9, 0.1, id="lower-rate-is-worse"),
        pytest.param("dm_rate=5pp", 0.3, 0.1, 0.2, id="more-dm-is-worse"),
    ],
)
def test_regression_direction(higher_is_better, current, baseline, worse):
    assert regression.parse(higher_is_better).worse_by(current, baseline) == pytest.approx(worse)


# -- evaluation against a real probe table --------------------------------------------------


@pytest.fixture(scope="module")
def archive_run(tmp_path_factory):
    """Six probes with known answers: acme answers after 10, 20 and 30 min and misses one
    (where a bot answers after 2 min); globex's bot after 1 min, then a human after 60 min
    (with a link) and 240 min (asking for a DM)."""
    tmp = tmp_path_factory.mktemp("archive")
    rows = []
    for n, (brand, minutes, text) in enumerate([
        ("AcmeHelp", 10, "Sorry about that!"),
        ("AcmeHelp", 20, "We're on it."),
        ("AcmeHelp", 30, "Fixed now."),
        ("AcmeHelp", None, ""),
        ("GlobexCares", 60, "See https://globex.example/help"),
        ("GlobexCares", 240, "Please DM us your order number."),
    ]):  # fmt: skip
        start = n * 1000
        rows.append(msg(f"{n}0", f"cust{n}", start, f"@{brand} help please"))
        if minutes is not None:
            rows.append(msg(f"{n}1", brand, start + minutes, text, parent=f"{n}0", brand=True))
        if brand == "GlobexCares" or minutes is None:  # a bot first: after 1 min, or 2 alone
            bot = "Thanks, we'll be right with you"
            rows.append(msg(f"{n}2", brand, start + 1 + (minutes is None), bot, parent=f"{n}0",
                            brand=True, automated=True))  # fmt: skip
    fixture = write_fixture(tmp / "small.jsonl", rows)
    out = tmp / "run"
    result = CliRunner().invoke(
        main, ["run", "--fixtures", str(fixture), "--out", str(out), "--quiet", "--min-group", "1"]
    )
    assert result.exit_code == 0, result.output
    return check.load_run(out)


@pytest.mark.parametrize(
    "text, observed, samples, status",
    [
        pytest.param("probes: count >= 6", 6, 6, PASS, id="probes"),
        pytest.param("response_rate: rate >= 0.9", 5 / 6, 6, FAIL, id="rate-fails"),
        pytest.param("response_rate: count == 5", 5, 6, PASS, id="rate-count"),
        pytest.param("response_rate{brand:acmehelp}: rate == 75%", 0.75, 4, PASS, id="folded"),
        pytest.param("ttfr{brand:AcmeHelp}: med == 20m", 1200.0, 3, PASS, id="median"),
        pytest.param("ttfr{brand:AcmeHelp}: p(90) == 1680", 1680.0, 3, PASS, id="p90"),
        pytest.param("ttfr{brand:AcmeHelp}: avg == 20m", 1200.0, 3, PASS, id="avg"),
        pytest.param("ttfr: min == 10m", 600.0, 5, PASS, id="min"),
        pytest.param("ttfr: max < 4h", 14400.0, 5, FAIL, id="max"),
        pytest.param("ttfr: count == 5", 5, 5, PASS, id="trend-count"),
        pytest.param("link_rate{brand:GlobexCares}: rate == 50%", 0.5, 2, PASS, id="link"),
        pytest.param("dm_rate: rate == 0.2", 0.2, 5, PASS, id="dm"),
        pytest.param("deflection_rate: rate < 0.1", 0.2, 5, FAIL, id="deflection"),
        pytest.param("probes{brand:GlobexCares,channel:x}: count == 2", 2, 2, PASS, id="two-tags"),
        pytest.param("probes{channel:whatsapp}: count >= 1", 0, 0, FAIL, id="count-empty"),
        pytest.param("ttfr{follower_tier:≥10k}: med < 1h", None, 0, NO_DATA, id="no-data"),
        pytest.param("automated_rate: rate == 50%", 0.5, 6, PASS, id="automated"),
        pytest.param("bot_only_rate{brand:AcmeHelp}: rate == 25%", 0.25, 4, PASS, id="bot-only"),
        pytest.param("ttfa: med == 1m", 60.0, 3, PASS, id="ttfa"),
        pytest.param("handoff{brand:GlobexCares}: max == 239m", 14340.0, 2, PASS, id="handoff"),
    ],
)
def test_observed_figures(archive_run, text, observed, samples, status):
    [outcome] = check.judge(archive_run, [parse(text)]).outcomes
    assert outcome.observed == (None if observed is None else pytest.approx(observed))
    assert (outcome.samples, outcome.status) == (samples, status)


def test_figures_equal_the_summary(archive_run):
    """A threshold's figure is the one summary.json reports for the same probes (to
    floating-point rounding: the summary is computed by the engine's SQL, a threshold by
    numpy on the probe table, and their linear interpolations may differ in the last bit)."""
    overall = archive_run.summary["overall"]
    expected = {
        "ttfr: med < 1d": overall["ttfr_median_s"],
        "ttfr: p(90) < 1d": overall["ttfr_p90_s"],
        "ttfr: avg < 1d": overall["ttfr_mean_s"],
        "ttfr_business: p(90) < 1d": overall["ttfr_business_p90_s"],
        "response_rate: rate > 0": overall["response_rate"],
        "link_rate: rate > 0": overall["link_rate"],
        "deflection_rate: rate > 0": overall["deflection_rate"],
        "automated_rate: rate > 0": overall["automated_rate"],
        "bot_only_rate: rate > 0": overall["bot_only_rate"],
        "ttfa: med < 1d": overall["ttfa_median_s"],
        "handoff: med < 1d": overall["handoff_median_s"],
    }
    verdict = check.judge(archive_run, [parse(t) for t in expected])
    observed = [o.observed for o in verdict.outcomes]
    assert observed == [pytest.approx(v, rel=1e-12) for v in expected.values()]


ACME, NOBODY = "ttfr{brand:AcmeHelp}", "ttfr{follower_tier:≥10k}"  # 3 samples; none


@pytest.mark.parametrize(
    "key, item, status, failing",
    [
        pytest.param(NOBODY, {}, NO_DATA, True, id="no-data-fails-by-default"),
        pytest.param(NOBODY, {"on_no_data": "warn"}, NO_DATA, False, id="no-data-warns"),
        pytest.param(NOBODY, {"on_no_data": "skip"}, NO_DATA, False, id="no-data-skipped"),
        pytest.param(NOBODY, {"on_no_data": "pass"}, NO_DATA, False, id="no-data-passes"),
        pytest.param(NOBODY, {"severity": "warn"}, NO_DATA, False, id="warn-severity-no-data"),
        pytest.param(NOBODY, {"severity": "warn", "on_no_data": "fail"}, NO_DATA, True,
                     id="warn-severity-no-data-fail"),
        pytest.param(ACME, {"min_samples": 4}, NO_DATA, True, id="below-min-samples"),
        pytest.param(ACME, {"min_samples": 3}, PASS, False, id="min-samples-met"),
        pytest.param(ACME, {"severity": "warn", "threshold": "med < 1m"}, WARN, False,
                     id="warn-severity"),
        pytest.param(ACME, {"threshold": "med < 1m"}, FAIL, True, id="fail-severity"),
    ],
)  # fmt: skip
def test_no_data_min_samples_and_severity(archive_run, key, item, status, failing):
    [(_, threshold)], problems = grammar.section({key: [{"threshold": "med < 1h", **item}]})
    assert problems == []
    [outcome] = check.judge(archive_run, [threshold]).outcomes
    assert (outcome.status, outcome.failing) == (status, failing)


def with_min_group(run: check.RunData, min_group: int) -> check.RunData:
    """``run`` as if it had been measured with ``--min-group min_group``."""
    return check.RunData(run.directory, {**run.summary, "min_group": min_group}, run.probes)


@pytest.mark.parametrize(
    "policy, failing, warning, counts",
    [
        pytest.param(None, True, False, FAILED, id="default-fails"),
        pytest.param("fail", True, False, FAILED, id="fail"),
        pytest.param("warn", False, True, WARNED, id="warn"),
        pytest.param("pass", False, False, PASSED, id="pass"),
        pytest.param("skip", False, False, SKIPPED, id="skip"),
    ],
)
def test_too_few_samples_for_min_group_apply_the_no_data_policy(
    archive_run, policy, failing, warning, counts
):
    """The issue's case: with --min-group 10 the summary withholds a p(90) of 3 answered
    probes, and a threshold on it is not judged either; its policy decides."""
    item = {"threshold": "p(90) < 24h"} | ({"on_no_data": policy} if policy else {})
    [(_, threshold)], problems = grammar.section({ACME: [item]})
    assert problems == []
    verdict = check.judge(with_min_group(archive_run, 10), [threshold])
    [outcome] = verdict.outcomes
    assert (outcome.status, outcome.samples, outcome.needed) == (NO_DATA, 3, 10)
    assert (outcome.failing, outcome.warning) == (failing, warning)
    assert outcome.observed == pytest.approx(1680.0)  # shown, not judged
    [row] = rows(verdict)
    shown = policy or "fail"
    assert (row.status, row.no_data, row.min_samples, row.counts) == (NO_DATA, shown, 10, counts)
    assert row.cells()[-1] == f"NO DATA ({shown})"
    assert row.detail == f"3 sample(s) < 10 needed (--min-group); on_no_data: {shown}"
    assert verdict.exit_code == int(failing)
    assert "1 without enough samples" in verdict.headline()


@pytest.mark.parametrize(
    "text, item, status",
    [
        pytest.param(ACME, {"threshold": "p(90) < 24h", "min_samples": 3}, PASS,
                     id="min-samples-overrides-min-group"),
        pytest.param(ACME, {"threshold": "p(90) < 24h", "min_samples": 11}, NO_DATA,
                     id="min-samples-above-min-group"),
        pytest.param(ACME, {"threshold": "med < 1h"}, NO_DATA, id="median"),
        pytest.param(ACME, {"threshold": "avg < 1h"}, NO_DATA, id="mean"),
        pytest.param(ACME, {"threshold": "max < 1h"}, NO_DATA, id="max"),
        pytest.param("response_rate{brand:AcmeHelp}", {"threshold": "rate > 0.5"}, NO_DATA,
                     id="rate"),
        pytest.param("probes{brand:AcmeHelp}", {"threshold": "count >= 4"}, PASS,
                     id="count-needs-no-minimum"),
        pytest.param(ACME, {"threshold": "count == 3"}, PASS, id="trend-count"),
    ],
)  # fmt: skip
def test_min_group_is_every_sampled_figures_default_minimum(archive_run, text, item, status):
    [(_, threshold)], problems = grammar.section({text: [item]})
    assert problems == []
    [outcome] = check.judge(with_min_group(archive_run, 10), [threshold]).outcomes
    assert outcome.status == status


def test_a_run_measured_with_min_group_1_judges_every_sample(archive_run):
    [outcome] = check.judge(
        with_min_group(archive_run, 1), [parse(f"{ACME}: p(90) < 24h")]
    ).outcomes
    assert (outcome.status, outcome.needed) == (PASS, 1)


def test_regressions_need_min_group_samples_on_both_sides(archive_run):
    small = with_min_group(archive_run, 10)
    request = check.Request(
        regressions=(
            regression.parse("ttfr.p(90){brand:AcmeHelp}=20%"),
            regression.parse("probes.count{brand:AcmeHelp}=1"),
        ),
        baseline=archive_run.directory,
    )
    verdict = check.judge(small, [parse("probes: count >= 1")], request=request, baseline=small)
    p90, count = verdict.regressions
    assert (p90.status, p90.failing) == (NO_DATA, True)
    assert p90.detail == "this run: 3 sample(s) < 10 needed (--min-group)"
    assert (count.status, count.failing) == (PASS, False)
    assert rows(verdict)[1].cells(with_baseline=True)[-1] == "NO DATA (fail)"


def test_unknown_scope_values_are_configuration_errors(archive_run):
    request = check.Request(options=("ttfr{brand:AcmeHlep}: med < 1h",))
    with pytest.raises(ConfigError) as caught:
        check.check(archive_run, request)
    assert "no probe of this run can have brand 'AcmeHlep'" in str(caught.value)
    assert "AcmeHelp, GlobexCares" in str(caught.value)


def test_probe_run_metrics_are_refused_for_recorded_data(archive_run):
    with pytest.raises(ConfigError, match="probe runs only"):
        check.check(archive_run, check.Request(options=("ttr: med < 1h",)))


def test_no_thresholds_is_a_configuration_error(archive_run):
    with pytest.raises(ConfigError, match="no thresholds to check"):
        check.check(archive_run, check.Request())

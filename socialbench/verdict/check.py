"""``socialbench check``: a finished run's figures against thresholds (and a baseline run),
as a Verdict. Decides; never exits or prints (cli.py does both).

A verdict never passes by accident: a run with no thresholds to check is a configuration
error; a threshold with no data, or with fewer samples than the run's ``--min-group`` (the
size below which its summary withholds the figure), fails unless told otherwise (its
``min_samples`` and ``on_no_data``); a regression on too few samples fails; a run still in
progress fails (its figures are provisional); and probes that could not be sent make the run
itself a failure. The verdict says where its figures came from: a live run, the sandbox, a
replay of recordings (with the recorded timing) or recorded conversations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import pandas as pd

from socialbench.errors import ConfigError, InputError
from socialbench.measure.summaries import read_summary, run_kind
from socialbench.verdict.thresholds import evaluate as ev
from socialbench.verdict.thresholds.grammar import Threshold
from socialbench.verdict.thresholds.regression import Regression

EXIT_PASS, EXIT_FAIL, EXIT_RUN_FAILED = 0, 1, 3
DEFAULT_TIERS = (1000.0, 10000.0)
SOURCES = {
    "live": "a live run against real brand accounts",
    "simulated": "a simulated run against the sandbox",
    "replay": "a replay of recorded conversations (figures keep the recorded timing)",
    "recorded": "recorded conversations (an archive or export)",
    "observed": "a brand's own inbox, observed through its webhooks (figures as of the check)",
}


@dataclass
class RunData:
    """What a check reads from a run directory."""

    directory: Path
    summary: dict
    probes: pd.DataFrame
    suite: object | None = None  # the run's suite (probe runs)

    @property
    def kind(self) -> str:
        """live, simulated, replay (probe runs) or recorded (archives)."""
        return run_kind(self.summary)

    @property
    def tiers(self) -> tuple[float, ...]:
        return tuple(float(t) for t in self.summary.get("tiers", DEFAULT_TIERS))

    @property
    def min_group(self) -> int:
        """The run's ``--min-group``: the samples a figure needs unless a threshold says."""
        value = self.summary.get("min_group", ev.DEFAULT_MIN_GROUP)
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else ev.DEFAULT_MIN_GROUP

    @property
    def complete(self) -> bool:
        return self.summary.get("run", {}).get("complete", True)

    @property
    def failed_sends(self) -> list[dict]:
        return self.summary.get("run", {}).get("failed", [])

    @cached_property
    def table(self) -> ev.ProbeTable:
        """The probe table as thresholds read it (prepared once)."""
        return ev.ProbeTable(self.probes, self.tiers)

    def check_scopes(self, thresholds: list[Threshold]) -> None:
        known = ev.known_values(tiers=self.tiers, suite_values=_suite_values(self.suite))
        ev.check_scopes(thresholds, known, self.table)


def load_run(directory: Path) -> RunData:
    """The summary, probe table and (probe runs) suite stored in ``directory``."""
    from socialbench.report.model import read_probes

    directory = Path(directory)
    summary = read_summary(directory)
    probes = read_probes(directory / "probes.csv")
    suite = None
    if "run" in summary and (directory / "suite.yaml").is_file():
        from socialbench import scenarios

        suite = scenarios.load_suite(directory / "suite.yaml")
    return RunData(directory, summary, probes, suite)


@dataclass(frozen=True)
class RegressionOutcome:
    regression: Regression
    current: float | None
    baseline: float | None
    worse_by: float | None
    status: str
    failing: bool
    detail: str = ""


@dataclass
class Verdict:
    outcomes: list[ev.Outcome]
    source: str  # live, simulated, replay or recorded
    directory: Path
    regressions: list[RegressionOutcome] = field(default_factory=list)
    baseline: Path | None = None
    problems: list[str] = field(default_factory=list)  # the run's own (incomplete, ...)
    failed_sends: int = 0
    expectations: list[dict] = field(default_factory=list)  # per probe, for JUnit
    checked_at: datetime | None = None  # when the check began (UTC), for JUnit
    duration_s: float = 0.0  # how long judging took, in seconds

    @property
    def failures(self) -> int:
        return sum(o.failing for o in self.outcomes) + sum(r.failing for r in self.regressions)

    @property
    def warnings(self) -> int:
        return sum(o.warning for o in self.outcomes)

    @property
    def no_data(self) -> int:
        """Thresholds and regressions not judged for want of samples, whatever they did."""
        outcomes = [*self.outcomes, *self.regressions]
        return sum(o.status == ev.NO_DATA for o in outcomes)

    @property
    def exit_code(self) -> int:
        if self.failed_sends:
            return EXIT_RUN_FAILED
        return EXIT_FAIL if self.failures or self.problems else EXIT_PASS

    @property
    def status(self) -> str:
        return {EXIT_PASS: "PASS", EXIT_FAIL: "FAIL", EXIT_RUN_FAILED: "RUN FAILED"}[self.exit_code]

    @property
    def source_text(self) -> str:
        return SOURCES[self.source]

    def headline(self) -> str:
        """One line: the verdict, the counts, where the figures came from."""
        checked = len(self.outcomes) + len(self.regressions)
        parts = [
            f"{self.failures} of {checked} check(s) failed"
            if self.failures
            else f"all {checked} check(s) passed"
        ]
        if self.warnings:
            parts.append(f"{self.warnings} warning(s)")
        if self.no_data:
            parts.append(f"{self.no_data} without enough samples")
        parts += self.problems
        return f"{self.status}: {'; '.join(parts)} — figures from {self.source_text}"


@dataclass(frozen=True)
class Request:
    """What a check was asked to do (``check`` and ``run --check`` options)."""

    files: tuple[Path, ...] = ()  # --thresholds FILE
    options: tuple[str, ...] = ()  # --threshold "METRIC: EXPR"
    regressions: tuple[Regression, ...] = ()  # --max-regression
    baseline: Path | None = None
    allow_incomplete: bool = False
    require_live: bool = False

    def __post_init__(self) -> None:
        if self.regressions and self.baseline is None:
            raise ConfigError("--max-regression needs --baseline DIR (the run to compare with)")


def check_run(directory: Path, request: Request) -> Verdict:
    """``socialbench check DIR``: the verdict on the finished run in ``directory``."""
    run = load_run(directory)
    return check(run, request)


def check(run: RunData, request: Request) -> Verdict:
    """The verdict on ``run`` (read from its folder, or just computed by ``run --check``)."""
    thresholds = thresholds_for(run, request)
    return judge(run, thresholds, request=request, baseline=load_baseline(request.baseline))


def preflight(request: Request, *, suite=None, tiers: tuple[float, ...] = DEFAULT_TIERS) -> None:
    """Before a run sends or reads anything: every threshold parses, there is at least one,
    a suite's scopes name values its probes can have, and the baseline is a run folder."""
    from socialbench.verdict.thresholds import sources

    found = sources.gather(suite=suite, files=request.files, options=request.options)
    _require_some(found, "the run")
    if suite is not None:
        _check_metrics(found, probe_run=True)
        ev.check_scopes(found, ev.known_values(tiers=tiers, suite_values=_suite_values(suite)))
    if request.baseline is not None:  # a run folder (read when the run is judged)
        _run_folder(request.baseline)
        if not (Path(request.baseline) / "probes.csv").is_file():
            raise InputError(request.baseline, "--baseline: no probes.csv in this run folder")


def thresholds_for(run: RunData, request: Request) -> list[Threshold]:
    """The run's suite thresholds, then the files', then the options'; ConfigError when there
    are none, when a metric does not apply to this kind of run, or when a scope names a tag
    value no probe of the run can have."""
    from socialbench.verdict.thresholds import sources

    found = sources.gather(suite=run.suite, files=request.files, options=request.options)
    _require_some(found, str(run.directory))
    _check_metrics(found, probe_run="run" in run.summary)
    run.check_scopes(found)
    return found


def _require_some(found: list[Threshold], what: str) -> None:
    if not found:
        raise ConfigError(
            f'{what}: no thresholds to check (give --threshold "METRIC: EXPR" or '
            "--thresholds FILE, or a thresholds: section in the suite)"
        )


def _check_metrics(found: list[Threshold], *, probe_run: bool) -> None:
    from socialbench.verdict.thresholds.catalog import METRICS

    wrong = [t for t in found if METRICS[t.metric].probe_runs_only and not probe_run]
    if wrong:
        raise ConfigError(
            "\n".join(
                f"{t.origin + ': ' if t.origin else ''}{t.name}: {t.metric} is measured in probe "
                "runs only (recorded conversations have no answer keys or expectations)"
                for t in wrong
            )
        )


def judge(
    run: RunData,
    thresholds: list[Threshold],
    *,
    request: Request | None = None,
    baseline: RunData | None = None,
) -> Verdict:
    """The verdict on ``run``."""
    started, clock = datetime.now(UTC), time.perf_counter()
    request = request or Request()
    outcomes = ev.evaluate(run.table, thresholds, min_group=run.min_group)
    verdict = Verdict(outcomes, run.kind, run.directory, failed_sends=len(run.failed_sends))
    if baseline is not None:
        verdict.baseline = baseline.directory
        verdict.outcomes = _with_baseline(outcomes, baseline)
        verdict.regressions = [_regression(r, run, baseline) for r in request.regressions]
    if request.require_live and run.kind != "live":
        verdict.problems.append(f"--require-live: the figures are from {SOURCES[run.kind]}")
    if not run.complete and not request.allow_incomplete:
        verdict.problems.append(
            "the run is still in progress (its figures are provisional; check it when it "
            "is complete, or pass --allow-incomplete)"
        )
    if verdict.failed_sends:
        verdict.problems.append(f"{verdict.failed_sends} probe(s) could not be sent")
    if run.suite is not None:
        verdict.expectations = expectations(run)
    verdict.checked_at, verdict.duration_s = started, time.perf_counter() - clock
    return verdict


def _with_baseline(outcomes: list[ev.Outcome], baseline: RunData) -> list[ev.Outcome]:
    from dataclasses import replace

    return [replace(o, baseline=ev.observe(baseline.table, o.threshold)[0]) for o in outcomes]


def _regression(regression: Regression, run: RunData, baseline: RunData) -> RegressionOutcome:
    """The regression's figure in both runs; NO DATA (failing) when either has fewer samples
    than its figure needs (as a threshold's default: none for a count, else the run's
    ``--min-group``)."""
    current, n_current = ev.observe(run.table, regression.threshold)
    before, n_before = ev.observe(baseline.table, regression.threshold)
    for side, figure, samples, data in (
        ("this run", current, n_current, run),
        ("the baseline", before, n_before, baseline),
    ):
        needed, source = ev.needed_samples(regression.threshold, min_group=data.min_group)
        if figure is None or samples < needed:
            why = f"{side}: {ev.too_few(samples, needed, source)}"
            return RegressionOutcome(regression, current, before, None, ev.NO_DATA, True, why)
    worse = regression.worse_by(current, before)
    failing = worse > regression.limit
    return RegressionOutcome(
        regression, current, before, worse, ev.FAIL if failing else ev.PASS, failing
    )


def expectations(run: RunData) -> list[dict]:
    """Per probe of a probe run, each expectation of its query that can fail, and whether it
    held: ``{"probe_id", "scenario", "brand", "persona", "channel", "surface",
    "expectation", "met", "detail"}``."""
    from socialbench import scenarios
    from socialbench.verdict.thresholds import expectations as exp

    by_scenario = {p.scenario: p.expect for p in scenarios.expand(run.suite)}
    return exp.cases(run.probes, by_scenario)


def load_baseline(directory: Path | None) -> RunData | None:
    if directory is None:
        return None
    _run_folder(directory)
    return load_run(directory)


def _run_folder(directory: Path) -> None:
    if not Path(directory).is_dir():
        raise InputError(directory, "--baseline: no such run folder")
    read_summary(directory)


def _suite_values(suite) -> dict[str, set[str]] | None:
    """The tag values a run of ``suite`` can have (None: no suite, recorded conversations)."""
    if suite is None:
        return None
    from socialbench.scenarios.coherence import tag_values

    return tag_values(suite)

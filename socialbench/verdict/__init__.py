"""A run's figures and thresholds in, a Verdict out: pass or fail, and why.

- ``thresholds/``: the grammar, where thresholds are written, their evaluation;
- ``check``: judges a finished run (and a baseline) against them;
- ``junit``: the verdict as JUnit XML; the terminal and Markdown renderings are in
  ``report`` (``verdict_terminal``, ``verdict_markdown``).

Every rendering takes its cells from ``rows`` here, so all say the same thing: a threshold
judged on too few samples is ``NO DATA`` with the ``on_no_data`` policy that decided it
(``NO DATA (fail)``, ``(warn)``, ``(pass)``, ``(skip)``), and its ``detail`` says how many
samples it had and needed. Cells are
plain text; values that come from data or configuration (scope values: brand names from an
archive) are untrusted, and each renderer escapes them for its medium.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialbench.durations import format_seconds
from socialbench.verdict.thresholds.evaluate import unit_of
from socialbench.verdict.thresholds.regression import expression_text

COLUMNS = ("metric", "scope", "expression", "observed", "samples", "status")
# how a row counts in the verdict (and as a JUnit case)
FAILED, WARNED, SKIPPED, PASSED = "failed", "warned", "skipped", "passed"


@dataclass(frozen=True)
class Row:
    metric: str
    scope: str
    expression: str
    observed: str
    samples: str
    status: str
    detail: str
    baseline: str | None  # the baseline run's figure, when there is a baseline
    origin: str  # where the threshold was written
    counts: str = PASSED  # FAILED, WARNED, SKIPPED or PASSED
    no_data: str | None = None  # NO DATA rows: the policy that decided (fail/warn/pass/skip)
    min_samples: int | None = None  # the samples the figure needed (None: regressions)

    @property
    def failing(self) -> bool:
        """The row makes the check fail."""
        return self.counts == FAILED

    @property
    def status_text(self) -> str:
        """The status as tables show it: ``NO DATA (warn)`` says what no data did."""
        return f"{self.status} ({self.no_data})" if self.no_data else self.status

    def cells(self, *, with_baseline: bool = False) -> tuple[str, ...]:
        cells = (
            self.metric,
            self.scope or "(all)",
            self.expression,
            self.observed,
            self.samples,
            self.status_text,
        )
        return (*cells[:4], self.baseline or "-", *cells[4:]) if with_baseline else cells


def figure(value: float | None, unit: str) -> str:
    """A figure as a person reads it: ``93.2%``, ``4.1h``, ``117``; ``-`` for none."""
    if value is None:
        return "-"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "seconds":
        return format_seconds(value)
    return f"{value:,.0f}"


def rows(verdict) -> list[Row]:
    """One Row per threshold, then one per regression, in the order they were given."""
    out = []
    for o in verdict.outcomes:
        t = o.threshold
        out.append(
            Row(
                t.metric,
                t.scope_text,
                t.expression.text,
                figure(o.observed, o.unit),
                f"{o.samples:,}",
                o.status,
                o.detail,
                figure(o.baseline, o.unit) if verdict.baseline is not None else None,
                t.origin,
                _counts(o),
                o.no_data,
                o.needed,
            )
        )
    for r in verdict.regressions:
        t = r.regression.threshold
        unit = unit_of(t)
        observed = figure(r.current, unit)
        if r.worse_by is not None:
            observed += f" ({_change(r)})"
        out.append(
            Row(
                t.metric,
                t.scope_text,
                expression_text(r.regression),
                observed,
                "-",
                r.status,
                r.detail,
                figure(r.baseline, unit),
                "--max-regression",
                FAILED if r.failing else PASSED,
                "fail" if r.status == "NO DATA" else None,
            )
        )
    return out


def _counts(outcome) -> str:
    if outcome.failing:
        return FAILED
    if outcome.warning:
        return WARNED
    return SKIPPED if outcome.no_data == "skip" else PASSED


def _change(r) -> str:
    """How much worse (+) or better (-) than the baseline, in the limit's terms."""
    worse = r.worse_by
    word = "worse" if worse > 0 else "better"
    unit = unit_of(r.regression.threshold)
    if r.regression.relative:
        amount = "∞" if worse == float("inf") else f"{100 * abs(worse):.1f}%"
    elif unit == "share":
        amount = f"{100 * abs(worse):.1f}pp"
    else:
        amount = figure(abs(worse), unit)
    return f"{amount} {word}" if worse else "unchanged"

"""Regressions against a baseline run: ``--max-regression "ttfr.p(90)=20%"``.

``METRIC[.AGGREGATE][{tag:value,...}]=LIMIT``: the figure may be at most LIMIT worse than in
the baseline run. The aggregate is written as in thresholds (``p(90)``, ``med``, ``avg``;
``p90`` is an error naming ``p(90)``). "Worse" follows the metric: higher times, counts below
the baseline, lower response, link and resolution rates, higher DM, phone, email, ack-only
and deflection rates. LIMIT is relative to the baseline's figure (``20%``), in percentage
points for rates (``5pp``), or absolute in the metric's unit (``30m`` for times, ``0.05`` for
rates, ``10`` for counts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from socialbench.errors import UsageError
from socialbench.verdict.thresholds.catalog import METRICS, RATE, TREND
from socialbench.verdict.thresholds.grammar import (
    Expression,
    GrammarError,
    Threshold,
    bare_percentile,
    parse_expression,
    parse_key,
    parse_seconds,
)

_SPEC = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)"  # metric
    r"(?:\.([A-Za-z]+[\d.]*(?:\([^)]*\))?))?"  # .aggregate: p(90), med, rate (and p90)
    r"\s*(\{.*\})?"  # {tag:value,...}
    r"\s*=\s*(.+?)\s*$"  # =limit
)
_BARE = re.compile(r"^p(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Regression:
    threshold: Threshold  # the figure compared (its expression's value is unused)
    limit: float
    relative: bool  # limit is a fraction of the baseline's figure
    text: str  # as written

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.threshold.metric].higher_is_better

    def worse_by(self, current: float, baseline: float) -> float:
        """How much worse ``current`` is than ``baseline`` (negative: better), in the
        limit's terms."""
        worse = baseline - current if self.higher_is_better else current - baseline
        if not self.relative:
            return worse
        if baseline == 0:
            return 0.0 if worse <= 0 else math.inf
        return worse / abs(baseline)


def parse(text: str) -> Regression:
    """``ttfr.p(90)=20%`` -> a Regression; UsageError naming the option otherwise."""
    try:
        return _parse(text)
    except GrammarError as exc:
        raise UsageError(f"--max-regression {text!r}: {exc}") from None


def _parse(text: str) -> Regression:
    match = _SPEC.match(text)
    if not match:
        raise GrammarError(
            'write it as METRIC[.AGGREGATE][{tag:value}]=LIMIT, e.g. "ttfr.p(90)=20%"'
        )
    name, aggregate, scope, raw = match.groups()
    metric, tags = parse_key(name + (scope or ""))
    aggregate = aggregate or metric.default_aggregate
    if aggregate is None:
        raise GrammarError(f"{metric.name} needs an aggregate, e.g. {metric.name}.p(90) or .med")
    bare = _BARE.match(aggregate)
    if bare:
        number = bare.group(1)
        fixed = text.strip().replace(f".p{number}", f".p({number})", 1)
        raise GrammarError(f"{bare_percentile(number)} ({fixed!r})")
    expression = parse_expression(f"{aggregate} >= 0", metric)  # checks the aggregate
    limit, relative = _limit(raw.strip(), metric, expression)
    threshold = Threshold(metric.name, tags, expression, origin="--max-regression")
    return Regression(threshold, limit, relative, " ".join(text.split()))


def _limit(raw: str, metric, expression: Expression) -> tuple[float, bool]:
    number = raw.rstrip("%").removesuffix("pp").strip()
    try:
        value = float(number) if number else math.nan
    except ValueError:
        value = math.nan
    if raw.endswith("%") and value >= 0:
        return value / 100, True
    if raw.endswith("pp"):
        if metric.kind != RATE or expression.aggregate != "rate" or not value >= 0:
            raise GrammarError(f"{raw!r}: percentage points (pp) are for rates only")
        return value / 100, False
    if metric.kind == TREND and expression.aggregate != "count":
        return parse_seconds(raw), False
    if value >= 0:
        return value, False
    raise GrammarError(f"{raw!r} is not a limit (examples: 20%, 5pp, 30m, 0.05)")


def expression_text(regression: Regression) -> str:
    """``p(90) at most 20% worse than baseline``: what the check asks, for tables."""
    from socialbench.durations import format_seconds
    from socialbench.verdict.thresholds.evaluate import unit_of

    limit, unit = regression.limit, unit_of(regression.threshold)
    if regression.relative:
        amount = f"{100 * limit:g}%"
    elif unit == "share":
        amount = f"{100 * limit:g}pp"
    elif unit == "seconds":
        amount = format_seconds(limit)
    else:
        amount = f"{limit:g}"
    return f"{regression.threshold.expression.label} at most {amount} worse than baseline"

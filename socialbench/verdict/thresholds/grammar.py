"""The threshold grammar, modelled on k6's, with human units.

A threshold is ``METRIC[{tag:value,...}]`` and an expression ``AGGREGATE OP VALUE``:

    response_rate: ["rate >= 0.9"]            ttfr: ["p(90) < 4h", "med < 30m"]
    ttfr{channel:x,category:complaint}: ["p(90) < 1h"]
    probes: ["count >= 50"]
    ttfr_business:
      - {threshold: "p(90) < 1h", severity: warn, min_samples: 20, on_no_data: warn}

Percentiles are written ``p(N)`` only, as k6 writes them (``p90`` is an error that names the
right spelling, here and in ``--max-regression``).

Every parser here reports problems as ``(loc, problem)`` pairs or raises SocialbenchError
subclasses; nothing is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from socialbench import durations
from socialbench.errors import UsageError
from socialbench.verdict.thresholds.catalog import COUNTER, METRICS, RATE, TAGS, Metric

OPERATORS = ("<=", ">=", "==", "!=", "<", ">")
SEVERITIES = ("fail", "warn")
# what a threshold with too few samples does: fail the check, warn, pass; ``skip`` passes
# too, but is reported as skipped (a skipped JUnit case)
ON_NO_DATA = ("fail", "warn", "pass", "skip")
LONG_FORM_KEYS = ("threshold", "severity", "min_samples", "on_no_data")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\{(.*)\})?\s*$", re.DOTALL)
_EXPR = re.compile(
    r"^\s*(count|rate|avg|min|max|med|p\s*\(\s*([^)]*?)\s*\))\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*$",
    re.DOTALL,
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_BARE_PERCENTILE = re.compile(r"^\s*p(\d+(?:\.\d+)?)\b")
_ZERO_DURATION = re.compile(r"^0+(\.0*)?[smhdw]?$")

Problem = tuple[tuple, str]


class GrammarError(ValueError):
    """One problem in one threshold; the caller says where it was written."""


@dataclass(frozen=True)
class Expression:
    aggregate: str  # count, rate, avg, min, max, med or p
    percentile: float | None  # N of p(N)
    op: str
    value: float  # seconds for times, a fraction for rates, a number for counts
    text: str  # as written

    @property
    def label(self) -> str:
        """The aggregate as written in the grammar: ``p(90)``, ``med``."""
        return f"p({self.percentile:g})" if self.aggregate == "p" else self.aggregate

    def holds(self, observed: float) -> bool:
        return {
            "<": observed < self.value,
            "<=": observed <= self.value,
            ">": observed > self.value,
            ">=": observed >= self.value,
            "==": observed == self.value,
            "!=": observed != self.value,
        }[self.op]


@dataclass(frozen=True)
class Threshold:
    metric: str
    scope: tuple[tuple[str, str], ...]  # (tag, value) pairs, all must hold
    expression: Expression
    severity: str = "fail"
    min_samples: int | None = None  # None: the run's --min-group (0 for count)
    on_no_data: str = "fail"
    origin: str = ""  # where it was written, for messages: "suite.yaml:41", "--threshold"

    @property
    def scope_text(self) -> str:
        return ",".join(f"{k}:{v}" for k, v in self.scope)

    @property
    def name(self) -> str:
        """``ttfr{channel:x} p(90) < 4h``: the threshold as one line."""
        scope = f"{{{self.scope_text}}}" if self.scope else ""
        return f"{self.metric}{scope} {self.expression.text}"


def parse_key(text: str) -> tuple[Metric, tuple[tuple[str, str], ...]]:
    """``ttfr{channel:x}`` -> (the metric, (("channel", "x"),))."""
    match = _KEY.match(str(text))
    if not match:
        raise GrammarError(f"{text!r} is not METRIC or METRIC{{tag:value,...}}")
    name, scope_text = match.group(1), match.group(2)
    metric = METRICS.get(name)
    if metric is None:
        raise GrammarError(f"unknown metric {name!r}; metrics: {', '.join(METRICS)}")
    return metric, parse_scope(scope_text) if scope_text is not None else ()


def parse_scope(text: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        tag, sep, value = (s.strip() for s in part.partition(":"))
        if not sep or not tag or not value:
            raise GrammarError(f"scope {{{text}}}: {part.strip()!r} is not tag:value")
        if tag not in TAGS:
            raise GrammarError(f"unknown tag {tag!r}; tags: {', '.join(TAGS)}")
        if any(tag == seen for seen, _ in pairs):
            raise GrammarError(f"scope {{{text}}}: tag {tag!r} is given twice")
        pairs.append((tag, tag_value(tag, value)))
    return tuple(pairs)


def tag_value(tag: str, value: str) -> str:
    """A tag value in the probe table's spelling: follower tiers with ``–`` and ``≥``,
    weekdays as ``Mon``, hours as ``0``..``23``."""
    if tag == "follower_tier":
        return value.replace(">=", "≥").replace("-", "–")
    if tag == "weekday":
        day = value[:3].title()
        if day not in WEEKDAYS or value.lower() not in (day.lower(), _full_day(day)):
            raise GrammarError(f"weekday {value!r} is not one of {', '.join(WEEKDAYS)}")
        return day
    if tag == "hour":
        if not value.isdigit() or not 0 <= int(value) <= 23:
            raise GrammarError(f"hour {value!r} is not a whole hour from 0 to 23")
        return str(int(value))
    return value


def _full_day(day: str) -> str:
    return {
        "Mon": "monday",
        "Tue": "tuesday",
        "Wed": "wednesday",
        "Thu": "thursday",
        "Fri": "friday",
        "Sat": "saturday",
        "Sun": "sunday",
    }[day]


def parse_expression(text: str, metric: Metric) -> Expression:
    """``p(90) < 4h`` for ``metric``: the aggregate must be one the metric has, and the
    value in its unit (a duration for times, a share for rates, a whole number for counts)."""
    if not isinstance(text, str):
        raise GrammarError(f'{text!r} is not an expression like "p(90) < 4h"')
    match = _EXPR.match(text)
    bare = _BARE_PERCENTILE.match(text)
    if not match and bare:
        raise GrammarError(f"{text.strip()!r}: {bare_percentile(bare.group(1))}")
    if not match:
        raise GrammarError(
            f"{text.strip()!r} is not AGGREGATE OP VALUE (aggregates: count, rate, avg, min, max, "
            "med, p(N); operators: < <= > >= == !=)"
        )
    aggregate, inside, op, raw = match.groups()
    aggregate = "p" if aggregate.replace(" ", "").startswith("p(") else aggregate
    if aggregate not in metric.aggregates:
        raise GrammarError(
            f"{metric.name} has no aggregate {match.group(1)!r} "
            f"(it takes {', '.join('p(N)' if a == 'p' else a for a in metric.aggregates)})"
        )
    percentile = _percentile(inside) if aggregate == "p" else None
    if not raw:
        raise GrammarError(f"{text!r}: no value after {op!r}")
    value = _value(raw, metric, aggregate)
    return Expression(aggregate, percentile, op, value, _canonical(text))


def bare_percentile(number: str) -> str:
    """The message for ``p90``: percentiles are written ``p(90)`` (k6's spelling)."""
    return f"write percentiles as p({number}), not p{number}"


def _canonical(text: str) -> str:
    return " ".join(text.split())


def _percentile(text: str) -> float:
    if not _NUMBER.match(text) or not 0 <= float(text) <= 100:
        raise GrammarError(f"p({text}): the percentile must be a number from 0 to 100")
    return float(text)


def _value(raw: str, metric: Metric, aggregate: str) -> float:
    if aggregate == "count":
        if not raw.isdigit():
            raise GrammarError(f"count is compared with a whole number, not {raw!r}")
        return float(raw)
    if metric.kind == RATE:
        return _share(raw)
    if metric.kind == COUNTER:  # pragma: no cover - counters only have count
        raise GrammarError(f"{metric.name} takes count only")
    return parse_seconds(raw)


def _share(raw: str) -> float:
    if raw.endswith("%") and _NUMBER.match(raw[:-1].strip()):
        value = float(raw[:-1]) / 100
    elif _NUMBER.match(raw):
        value = float(raw)
        if value > 1:
            raise GrammarError(f"a rate is from 0 to 1, or a percentage: {raw!r} (say {raw}%?)")
    else:
        raise GrammarError(
            f"a rate is compared with a share (0.9) or a percentage (90%), not {raw!r}"
        )
    if not 0 <= value <= 1:
        raise GrammarError(f"a rate is from 0 to 1 (0% to 100%), not {raw!r}")
    return value


def parse_seconds(raw: str) -> float:
    if raw.endswith("%"):
        raise GrammarError(f"times are compared with durations (30m, 4h, 1h30m), not {raw!r}")
    if _ZERO_DURATION.match(raw.lower()):
        return 0.0
    try:
        return durations.parse(raw)
    except UsageError as exc:
        if "is not a duration" not in str(exc):  # infinite, or longer than the limit
            raise GrammarError(str(exc).removeprefix("duration: ")) from None
        raise GrammarError(
            f"{raw!r} is not a duration (examples: 90s, 30m, 4h, 1d, 1h30m; a bare number "
            "is seconds)"
        ) from None


def section(mapping: object) -> tuple[list[tuple[tuple, Threshold]], list[Problem]]:
    """A ``thresholds:`` mapping -> its thresholds, each at its YAML path ``(key, index)``,
    and every problem, at YAML paths relative to the mapping (``(key, index, field)``)."""
    if not isinstance(mapping, dict):
        return [], [((), "thresholds must be a mapping of METRIC: [expressions]")]
    found: list[tuple[tuple, Threshold]] = []
    problems: list[Problem] = []
    for key, items in mapping.items():
        for loc, item in _entries(str(key), items):
            (found if isinstance(item, Threshold) else problems).append((loc, item))
    return found, problems


def _entries(key: str, items: object) -> Iterator[tuple[tuple, Threshold | str]]:
    try:
        metric, scope = parse_key(key)
    except GrammarError as exc:
        yield (key,), str(exc)
        return
    if isinstance(items, str | dict):
        items = [items]
    if not isinstance(items, list) or not items:
        yield (key,), 'give a list of expressions, e.g. ["p(90) < 4h"]'
        return
    for index, item in enumerate(items):
        try:
            yield (key, index), _entry(metric, scope, item)
        except _Located as exc:
            yield (key, index, *exc.loc), exc.problem


class _Located(Exception):
    def __init__(self, loc: tuple, problem: str) -> None:
        self.loc, self.problem = loc, problem


def _entry(metric: Metric, scope, item: object) -> Threshold:
    options: dict = {}
    if isinstance(item, dict):
        unknown = [k for k in item if k not in LONG_FORM_KEYS]
        if unknown:
            raise _Located(
                (unknown[0],), f"unknown key; a threshold takes {', '.join(LONG_FORM_KEYS)}"
            )
        if "threshold" not in item:
            raise _Located((), 'the long form needs threshold: "EXPRESSION"')
        options = _options(item)
        item = item["threshold"]
    try:
        expression = parse_expression(item, metric)
    except GrammarError as exc:
        raise _Located(("threshold",) if options else (), str(exc)) from None
    return Threshold(metric.name, scope, expression, **options)


def _options(item: dict) -> dict:
    options = {}
    severity = item.get("severity", "fail")
    if severity not in SEVERITIES:
        raise _Located(("severity",), f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    options["severity"] = severity
    # a warning-only threshold never fails the check, with or without data
    on_no_data = item.get("on_no_data", "warn" if severity == "warn" else "fail")
    if on_no_data not in ON_NO_DATA:
        raise _Located(("on_no_data",), f"{on_no_data!r} is not one of {', '.join(ON_NO_DATA)}")
    options["on_no_data"] = on_no_data
    if "min_samples" in item:
        value = item["min_samples"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _Located(("min_samples",), f"{value!r} is not a whole number of at least 1")
        options["min_samples"] = value
    return options


def parse_option(text: str) -> Threshold:
    """``--threshold "ttfr{channel:x}: p(90) < 4h"`` -> a Threshold; UsageError otherwise."""
    key, expression = _split_option(text)
    try:
        metric, scope = parse_key(key)
        parsed = parse_expression(expression, metric)
    except GrammarError as exc:
        raise UsageError(f"--threshold {text!r}: {exc}") from None
    return Threshold(metric.name, scope, parsed, origin="--threshold")


def _split_option(text: str) -> tuple[str, str]:
    """The first ``:`` outside the braces separates METRIC[{scope}] from the expression."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == ":" and depth == 0:
            return text[:index], text[index + 1 :]
    raise UsageError(f'--threshold {text!r}: write it as "METRIC[{{tag:value}}]: EXPRESSION"')

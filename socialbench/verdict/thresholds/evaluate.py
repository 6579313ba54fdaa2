"""Thresholds against a probe table: each threshold's observed figure, its samples and its
status. Decides pass or fail; never exits, never prints.

A figure computed over a sample (a rate, a percentile, a median, a mean, a minimum or a
maximum) is judged only on at least ``min_samples`` samples; by default the run's
``--min-group``, the size below which ``summary.json`` withholds the same figure. With fewer,
the threshold is NO DATA and its ``on_no_data`` policy decides: fail (the default; warn for
a threshold of ``severity: warn``), warn, pass, or skip (passes, reported as skipped). A
``count`` needs no minimum unless given one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from socialbench.errors import ConfigError
from socialbench.measure import metrics
from socialbench.verdict.thresholds.catalog import (
    ALL,
    COUNTER,
    FOLDED_TAGS,
    METRICS,
    RATE,
    RESOLVED,
    RESPONDED,
    TAGS,
    WITH_RULE,
    Metric,
)
from socialbench.verdict.thresholds.grammar import WEEKDAYS, Threshold

PASS, FAIL, WARN, NO_DATA = "PASS", "FAIL", "WARN", "NO DATA"
DEFAULT_MIN_GROUP = 10  # metrics.MetricSettings' default, for summaries that do not say


@dataclass(frozen=True)
class Outcome:
    """One threshold's result. ``failing``: it makes the check fail (exit code 1)."""

    threshold: Threshold
    observed: float | None
    samples: int
    status: str
    failing: bool
    detail: str = ""  # why there is no figure, or what the severity did
    baseline: float | None = None  # the same figure in the baseline run (--baseline)
    needed: int = 0  # the samples the figure needs (min_samples, or the run's --min-group)

    @property
    def no_data(self) -> str | None:
        """The ``on_no_data`` policy that decided a NO DATA outcome (None otherwise)."""
        return self.threshold.on_no_data if self.status == NO_DATA else None

    @property
    def unit(self) -> str:
        """How ``observed`` reads: ``count``, ``share`` or ``seconds``."""
        return unit_of(self.threshold)

    @property
    def warning(self) -> bool:
        return self.status == WARN or self.no_data == "warn"


def unit_of(threshold: Threshold) -> str:
    if threshold.expression.aggregate == "count":
        return "count"
    return "share" if METRICS[threshold.metric].kind == RATE else "seconds"


class ProbeTable:
    """A probe table as thresholds read it: follower tiers and the deflection flag added,
    only the columns thresholds read kept, each tag's values folded once for matching."""

    def __init__(self, probes: pd.DataFrame, tiers: tuple[float, ...]) -> None:
        frame = metrics.with_tiers(probes, tiers)
        flags = {f: frame[f].fillna(False).astype(bool) for f in ("responded", "dm", "phone",
                                                                   "email")}  # fmt: skip
        keep = [c for c in frame.columns if c in _READ]
        self.frame = frame[keep].assign(
            responded=flags["responded"], deflected=flags["dm"] | flags["phone"] | flags["email"]
        )
        if "automated_messages" in frame:  # a probe with an automated reply
            self.frame["automated"] = frame["automated_messages"].fillna(0).astype(int) > 0
        self._folded: dict[str, pd.Series] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def folded(self, tag: str) -> pd.Series:
        """The tag's value per probe as thresholds match it ("\0" where missing)."""
        if tag not in self._folded:
            self._folded[tag] = _tag_values(self.frame, tag)
        return self._folded[tag]

    def has(self, tag: str, value: str) -> bool:
        """Whether some probe has ``value`` for ``tag``."""
        return bool(self.folded(tag).eq(_fold(tag, value)).any())

    def values(self, tag: str) -> list[str]:
        """The tag's distinct values, as written in the data (for messages)."""
        if tag not in self.frame:
            return []
        return sorted(str(v) for v in self.frame[tag].dropna().unique()[:1000])


_READ = frozenset(
    {*TAGS, "responded", "link", "dm", "phone", "email", "ack_only", "resolved",
     "expectations_met", "ttfr_s", "ttfr_business_s", "ttr_s", "bot_only", "ttfa_s",
     "handoff_s"}
)  # fmt: skip


def evaluate(
    table: ProbeTable, thresholds: Iterable[Threshold], *, min_group: int = 1
) -> list[Outcome]:
    """Every threshold's outcome over ``table``, in the order given; ``min_group``: the run's
    ``--min-group``, the samples a threshold needs unless it says (``min_samples``)."""
    return [judge(t, *observe(table, t), min_group=min_group) for t in thresholds]


def observe(table: ProbeTable, threshold: Threshold) -> tuple[float | None, int]:
    """The threshold's figure (None when there are no samples) and its number of samples."""
    metric = METRICS[threshold.metric]
    pool = _samples(table.frame[scope_mask(table, threshold.scope)], metric)
    n = len(pool)
    expression = threshold.expression
    if metric.kind == COUNTER:
        return float(n), n
    if expression.aggregate == "count":
        return float(pool[metric.column].sum() if metric.kind == RATE else n), n
    if n == 0:
        return None, 0
    if metric.kind == RATE:
        return float(pool[metric.column].sum()) / n, n
    return _time_figure(pool[metric.column].to_numpy(dtype=float), expression), n


def _samples(frame: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    if metric.column is not None and metric.column not in frame:
        return frame.iloc[0:0]  # e.g. ttr or expectations_met in recorded data
    if metric.samples == ALL:
        pool = frame
    elif metric.samples == RESPONDED:
        pool = frame[frame["responded"]]
    elif metric.samples == WITH_RULE:
        pool = frame[frame["resolved"].notna()]
    else:
        assert metric.samples == RESOLVED
        pool = frame[frame["resolved"].fillna(False).astype(bool)]
    if metric.column is None:
        return pool
    pool = pool[pool[metric.column].notna()]
    return pool.assign(
        **{metric.column: pool[metric.column].astype(bool if metric.kind == RATE else float)}
    )


def _time_figure(values: np.ndarray, expression) -> float:
    aggregate = expression.aggregate
    if aggregate == "avg":  # summed as summary.json's ttfr_mean_s is
        return float(
            np.bincount(np.zeros(len(values), dtype=np.int64), weights=values)[0] / len(values)
        )
    if aggregate == "min":
        return float(values.min())
    if aggregate == "max":
        return float(values.max())
    q = 0.5 if aggregate == "med" else expression.percentile / 100
    return metrics.quantile(values, q)


def scope_mask(table: ProbeTable, scope: tuple[tuple[str, str], ...]) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    for tag, value in scope:
        mask &= table.folded(tag).eq(_fold(tag, value)).to_numpy(dtype=bool)
    return mask


def _tag_values(frame: pd.DataFrame, tag: str) -> pd.Series:
    if tag not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype=object)
    column = frame[tag].astype("string[pyarrow]").fillna("\0")
    if tag == "hour":
        return column.str.replace(r"\.0$", "", regex=True)
    return column.str.lower() if tag in FOLDED_TAGS else column


def _fold(tag: str, value: str) -> str:
    return value.lower() if tag in FOLDED_TAGS else value


def judge(
    threshold: Threshold, observed: float | None, samples: int, *, min_group: int = 1
) -> Outcome:
    expression = threshold.expression
    needed, source = needed_samples(threshold, min_group=min_group)
    if observed is None or samples < needed:
        policy = threshold.on_no_data
        detail = f"{too_few(samples, needed, source)}; on_no_data: {policy}"
        return Outcome(
            threshold, observed, samples, NO_DATA, policy == "fail", detail, needed=needed
        )
    if expression.holds(observed):
        return Outcome(threshold, observed, samples, PASS, False, needed=needed)
    if threshold.severity == "warn":
        return Outcome(threshold, observed, samples, WARN, False, "severity: warn", needed=needed)
    return Outcome(threshold, observed, samples, FAIL, True, needed=needed)


def too_few(samples: int, needed: int, source: str) -> str:
    """Why a figure is not judged: ``3 sample(s) < 10 needed (--min-group)``."""
    if not samples:
        return "no samples in this scope"
    return f"{samples:,} sample(s) < {needed:,} needed ({source})"


def needed_samples(threshold: Threshold, *, min_group: int) -> tuple[int, str]:
    """The samples ``threshold``'s figure needs, and where that number comes from: its
    ``min_samples``; else none for a count, and the run's ``--min-group`` (at least 1) for a
    figure computed over a sample."""
    if threshold.min_samples is not None:
        return threshold.min_samples, "min_samples"
    if threshold.expression.aggregate == "count":
        return 0, ""
    return max(1, min_group), "--min-group"


# -- which tag values a run can have ----------------------------------------------------------


def known_values(
    *, tiers: tuple[float, ...], suite_values: dict[str, set[str]] | None = None
) -> dict[str, dict[str, str]]:
    """The values each tag can take whatever the data (folded for matching -> as written):
    the suite's queries (probe runs: ``scenarios.tag_values``), tiers, weekdays and hours."""
    found: dict[str, set[str]] = {tag: set() for tag in TAGS}
    for tag, values in (suite_values or {}).items():
        found[tag] |= values
    found["follower_tier"] = {*metrics.tier_labels(tiers), metrics.UNKNOWN_TIER}
    found["weekday"] = set(WEEKDAYS)
    found["hour"] = {str(h) for h in range(24)}
    return {tag: {_fold(tag, v): v for v in sorted(values)} for tag, values in found.items()}


def check_scopes(
    thresholds: Iterable[Threshold],
    known: dict[str, dict[str, str]],
    table: ProbeTable | None = None,
) -> None:
    """ConfigError listing every threshold scoped to a tag value no probe of the run can
    have (``known``, or some probe of ``table``): a typo would otherwise pass as "no data",
    or hide a brand."""
    problems = []
    for threshold in thresholds:
        for tag, value in threshold.scope:
            if _fold(tag, value) in known[tag] or (table is not None and table.has(tag, value)):
                continue
            choices = sorted({*known[tag].values(), *(table.values(tag) if table else [])})
            where = f"{threshold.origin}: " if threshold.origin else ""
            problems.append(
                f"{where}{threshold.name}: no probe of this run can have {tag} {value!r}"
                f"{_choices(tag, choices)}"
            )
    if problems:
        raise ConfigError("\n".join(problems))


def _choices(tag: str, values: list[str], shown: int = 12) -> str:
    if not values:
        return f" (no probe of this run has a {tag})"
    more = ", …" if len(values) > shown else ""
    return f" ({tag}s here: {', '.join(values[:shown])}{more})"

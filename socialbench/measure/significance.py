"""Whether a difference between two runs is more than chance: the tests behind ``compare``.

Each compared figure (``compare.Figure``) names its ``sample`` in the probe table and so its
test:

- a share (``"FLAG/AMONG"``: the probes with FLAG among all probes, the answered ones or
  those with a resolution rule): Fisher's exact test on the 2×2 table of counts, two-sided.
  Exact at any size, where a two-proportion z-test's normal approximation fails on the small
  counts of a suite (3 phone numbers in 52 replies); the test METRICS.md uses between
  follower tiers. Conservative on small runs: it errs towards "no significant change".
- times (a column of seconds): the Mann–Whitney U test on the answered probes' times,
  two-sided. Rank-based, so a few very long waits do not swamp it. It asks whether one run's
  times tend to be longer, not whether one statistic moved, so its direction (the sign of
  U - n_a n_b / 2) is returned with its p-value, for ``compare`` to call a median, p(90) or
  mean better or worse only when it moved that way.

A test runs on the exact samples behind both summary figures or not at all (``_behind``).
Pure: a probe table in, p-values out; pandas and scipy are imported when a test runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from socialbench.measure.summaries import GROUPS

if TYPE_CHECKING:
    import pandas as pd

FISHER, MANN_WHITNEY = "fisher", "mann-whitney"


def samples_of(probes: pd.DataFrame, *, tiers=None) -> pd.DataFrame:
    """A probe table reduced to what the tests read: the group columns (follower tiers added
    as ``summary.json`` made them), the flags as booleans, the times in seconds."""
    import pandas as pd

    from socialbench.measure import metrics

    if "followers" in probes and tiers:
        probes = metrics.with_tiers(probes, tuple(float(t) for t in tiers))
    flag = {c: _flag(probes, c) for c in ("responded", "link", "dm", "phone", "email",
                                          "ack_only")}  # fmt: skip
    frame = pd.DataFrame({g: probes[g] for g in GROUPS if g in probes} | flag)
    frame["deflected"] = flag["dm"] | flag["phone"] | flag["email"]
    resolved = probes["resolved"] if "resolved" in probes else pd.Series(None, index=probes.index)
    frame["with_rule"] = resolved.notna()
    frame["resolved"] = resolved.where(frame["with_rule"], False).astype(bool)
    for column in ("ttfr_s", "ttfr_business_s"):
        values = probes[column] if column in probes else pd.Series(None, index=probes.index)
        frame[column] = pd.to_numeric(values, errors="coerce")
    for key, seconds in (("1h", 3600.0), ("24h", 86400.0)):
        frame[f"within_{key}"] = flag["responded"] & (frame["ttfr_s"] <= seconds)
    return frame


def _flag(probes: pd.DataFrame, column: str):
    import pandas as pd

    if column not in probes:
        return pd.Series(False, index=probes.index)
    return probes[column].fillna(False).astype(bool)


class Significance:
    """The tests of one comparison: each run's probes per group, and each distinct test run
    once (the median, p(90) and mean of the same times share theirs)."""

    def __init__(self, samples: tuple, by: str | None) -> None:
        self.samples, self.by = samples, by
        self._groups: list[dict | None] = [None, None]
        self._done: dict = {}

    def test(self, figure, group, row_a: dict, row_b: dict) -> tuple[float, int] | None:
        """(p-value, the sign of B's difference from A) of ``figure``'s test in ``group``;
        None when it is not tested or its samples are not the figures'."""
        if figure.sample is None or any(s is None for s in self.samples):
            return None
        key = (figure.sample, group)
        if key not in self._done:
            frames = (self._group(0, group), self._group(1, group))
            missing = frames[0] is None or frames[1] is None
            self._done[key] = None if missing else _test(figure, frames)
        done = self._done[key]
        if done is None or not all(
            _behind(figure, row, sample)
            for row, sample in zip((row_a, row_b), done[2], strict=True)
        ):
            return None
        return done[0], done[1]

    def _group(self, side: int, group):
        frame = self.samples[side]
        if self.by is None:
            return frame
        if self.by not in frame:
            return None
        if self._groups[side] is None:
            self._groups[side] = {
                key: frame.iloc[rows]
                for key, rows in frame.groupby(_group_key(frame[self.by], self.by), sort=False,
                                               observed=True).indices.items()
            }  # fmt: skip
        return self._groups[side].get(_value_key(group))


def _group_key(column, by: str):
    import pandas as pd

    if by == "hour":
        column = pd.to_numeric(column, errors="coerce").astype("Int64")
    return column.astype("string")


def _value_key(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _test(figure, frames) -> tuple[float, int, tuple] | None:
    """(p-value, direction, each side's sample summary) of ``figure``'s test on two groups
    of probes; None when a side has no sample."""
    from scipy import stats

    if figure.test == FISHER:
        (xa, na), (xb, nb) = (_counts(frame, figure.sample) for frame in frames)
        if not na or not nb:
            return None
        p_value = stats.fisher_exact([[xa, na - xa], [xb, nb - xb]]).pvalue
        direction = _sign(xb / nb - xa / na)
        return float(p_value), direction, ((xa, na), (xb, nb))
    ta, tb = (_times(frame, figure.sample) for frame in frames)
    if not len(ta) or not len(tb):
        return None
    result = stats.mannwhitneyu(tb, ta, alternative="two-sided")
    direction = _sign(float(result.statistic) - len(ta) * len(tb) / 2)  # + : B's times longer
    return float(result.pvalue), direction, ((len(ta),), (len(tb),))


def _counts(frame, sample: str) -> tuple[int, int]:
    flag, _, among = sample.partition("/")
    pool = frame if among == "probes" else frame[frame[among]]
    return int(pool[flag].sum()), len(pool)


def _times(frame, column: str):
    return frame.loc[frame["responded"], column].dropna().to_numpy(dtype=float)


def _behind(figure, row: dict, sample: tuple) -> bool:
    """Whether the test's sample is the one behind the summary's figure: a share of exactly
    these counts (not a Kaplan–Meier estimate, not a pooled group), times of every answered
    probe."""
    if figure.test == FISHER:
        (hits, n), value = sample, figure.value(row)
        return value is not None and math.isclose(hits / n, value, rel_tol=1e-9, abs_tol=1e-12)
    return sample[0] == row.get("responded")


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)

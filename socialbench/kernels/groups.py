"""The counts and sums of ``metrics.Groups`` in one pass over the probes per grouping.

``metrics`` defines every figure with numpy: ``bincount`` per count and sum, a joint count
of the flags, a bucket count for the response-time horizons, a stable sort of the answered
probes by group for quantiles. Each of those read every probe again, a dozen passes per
grouping; here one pass gives the counts, the sum of response times (added in row order,
as ``bincount`` adds them, so the sums are the same to the last bit), the horizon buckets
and which groups have probes still being watched, and a second one, over the answered
probes already in order of response time, the counting sort by group.
"""

from __future__ import annotations

import numpy as np

from socialbench.kernels import jit, readonly


@jit
def _measure(codes, responded, bits, ttfr, watched, limits, horizons, n, joint, sums, cells,
             censored):  # fmt: skip  # pragma: no cover - compiled
    patterns = joint.shape[1]
    for i in range(len(codes)):
        g = codes[i]
        if g < 0:
            continue
        n[g] += 1
        if patterns:
            joint[g, bits[i]] += 1
        if responded[i]:
            t = ttfr[i]
            sums[g] += t
            b = 0
            if t != t:  # NaN sorts after every limit, as in numpy.searchsorted
                b = len(limits)
            else:
                while b < len(limits) and limits[b] < t:
                    b += 1
            cells[g, b] += 1
        else:
            w = watched[i]
            for h in range(len(horizons)):
                if w < horizons[h]:
                    censored[g, h] = True


@jit
def _sort(codes, values, count, out_values, out_codes):  # pragma: no cover - compiled
    starts = np.zeros(count + 1, dtype=np.int64)
    for j in range(len(codes)):
        g = codes[j]
        if g >= 0:
            starts[g + 1] += 1
    for g in range(count):
        starts[g + 1] += starts[g]
    for j in range(len(codes)):
        g = codes[j]
        if g >= 0:
            at = starts[g]
            out_values[at] = values[j]
            out_codes[at] = g
            starts[g] = at + 1
    return starts[count - 1] if count else 0


class Measured:
    """One grouping's counts: ``n`` per group, ``joint`` (per group and bit pattern of the
    flags; empty when not asked for), ``sums`` of response times, ``cells`` (per group, how
    many answered within each of ``limits``' buckets), ``censored`` (per group and horizon,
    whether a probe without an answer was watched for less than the horizon)."""

    def __init__(self, codes, count, responded, bits, patterns, ttfr, watched, limits, horizons):
        self.n = np.zeros(count, dtype=np.int64)
        self.joint = np.zeros((count, patterns), dtype=np.int64)
        self.sums = np.zeros(count, dtype=np.float64)
        self.cells = np.zeros((count, len(limits) + 1), dtype=np.int64)
        self.censored = np.zeros((count, len(horizons)), dtype=np.bool_)
        inputs = [readonly(a) for a in (codes, responded, bits, ttfr, watched)]
        limits, horizons = (readonly(np.asarray(h, dtype=np.float64)) for h in (limits, horizons))
        _measure(
            *inputs, limits, horizons, self.n, self.joint, self.sums, self.cells, self.censored
        )


def sort_by_group(codes, values, count) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (sorted by value) sorted by (group, value): a stable counting sort by
    ``codes``, one per value (-1: left out); and their codes. Both are read in order."""
    out_values = np.empty(len(values), dtype=np.float64)
    out_codes = np.empty(len(values), dtype=np.int64)
    codes, values = (readonly(a) for a in (codes, values))
    kept = _sort(codes, values, count, out_values, out_codes)
    return out_values[:kept], out_codes[:kept]


def warm() -> None:
    codes = np.array([0, 1, -1, 0])
    flags = np.array([True, False, True, True])
    times = np.array([5.0, np.nan, 1.0, 900.0])
    Measured(codes, 2, flags, np.array([1, 0, 1, 3]), 4, times, times, [900.0], [900.0])
    Measured(codes, 2, flags, np.array([1, 0, 1, 3]), 0, times, times, [], [])
    sort_by_group(codes[[2, 0, 3]], times[[2, 0, 3]], 2)

"""The compiled grouped counts against the numpy reductions ``metrics`` defined them with."""

from __future__ import annotations

import numpy as np
import pytest

from socialbench.kernels import groups


@pytest.mark.parametrize("seed", range(12))
def test_measured_equals_bincounts(seed) -> None:
    rng = np.random.default_rng(seed)
    n, count, patterns = int(rng.integers(0, 300)), int(rng.integers(1, 6)), 8
    codes = rng.integers(-1, count, n)
    responded = rng.random(n) < 0.6
    bits = rng.integers(0, patterns, n)
    ttfr = np.where(responded, rng.exponential(5000, n), np.nan)
    watched = rng.choice([600.0, 7 * 86400.0], n)
    horizons = (900.0, 3600.0, 3600.0, 604800.0)
    limits = sorted(set(horizons))
    got = groups.Measured(codes, count, responded, bits, patterns, ttfr, watched, limits, horizons)
    keep = codes >= 0
    c, r = codes[keep], responded[keep]
    assert got.n.tolist() == np.bincount(c, minlength=count).tolist()
    joint = np.bincount(c * patterns + bits[keep], minlength=count * patterns)
    assert got.joint.tolist() == joint.reshape(count, patterns).tolist()
    sums = np.bincount(c[r], weights=ttfr[keep][r], minlength=count)
    assert got.sums.tolist() == sums.tolist()  # the same additions in the same order
    bucket = np.searchsorted(limits, ttfr[keep][r], side="left")
    cells = np.bincount(c[r] * (len(limits) + 1) + bucket, minlength=count * (len(limits) + 1))
    assert got.cells.tolist() == cells.reshape(count, -1).tolist()
    for h, horizon in enumerate(horizons):
        censored = np.unique(c[~r & (watched[keep] < horizon)])
        assert np.flatnonzero(got.censored[:, h]).tolist() == censored.tolist()


@pytest.mark.parametrize("seed", range(8))
def test_sort_by_group_equals_a_stable_sort(seed) -> None:
    rng = np.random.default_rng(seed)
    n, count = int(rng.integers(0, 200)), int(rng.integers(0, 5))
    codes = rng.integers(-1, max(count, 1), n) if count else np.full(n, -1)
    values = rng.integers(0, 20, n).astype(float)
    by_value = np.argsort(values, kind="stable")
    kept = by_value[codes[by_value] >= 0]
    order = kept[np.argsort(codes[kept], kind="stable")]
    got_values, got_codes = groups.sort_by_group(codes[by_value], values[by_value], count)
    assert got_values.tolist() == values[order].tolist()
    assert got_codes.tolist() == codes[order].tolist()

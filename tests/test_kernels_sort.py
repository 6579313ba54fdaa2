"""The compiled radix argsort against numpy's stable argsort: the same permutation."""

from __future__ import annotations

import numpy as np
import pytest

from socialbench.kernels import sort


@pytest.mark.parametrize("seed", range(40))
def test_argsort_equals_numpy_stable(seed) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    values = [
        rng.integers(-5, 5, n).astype(np.int64),  # many ties
        rng.integers(-(2**62), 2**62, n).astype(np.int64),  # every bit
        rng.integers(1.5e9, 1.6e9, n).astype(np.int64) * 1_000_000_000,  # whole seconds
        np.append(rng.integers(0, 9, n).astype(np.int64) * 10**9, 7),  # not all whole
        rng.choice([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 1e-300, -5e-324], n),
        rng.normal(0, 1e6, n),
    ][seed % 6]
    got = sort.argsort(values)
    assert got.dtype == np.int64
    assert got.tolist() == np.argsort(values, kind="stable").tolist()

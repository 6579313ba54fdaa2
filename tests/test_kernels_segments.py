"""The compiled per-segment reductions against numpy's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from socialbench.kernels import segments


def reference(mask: np.ndarray, starts: np.ndarray):
    bounds = [*starts.tolist(), len(mask)]
    first, count = [], []
    for a, b in zip(bounds, bounds[1:], strict=False):
        hits = np.flatnonzero(mask[a:b])
        first.append(a + int(hits[0]) if len(hits) else -1)
        count.append(int(mask[a:b].sum()))
    return np.array(first, dtype=np.int64), np.array(count, dtype=np.int64)


@pytest.mark.parametrize("seed", range(15))
def test_first_and_count_equal_the_definition(seed) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    mask = rng.random(n) < [0.0, 0.2, 0.9][seed % 3]
    starts = np.flatnonzero(rng.random(n) < 0.3) if n else np.zeros(0, dtype=np.int64)
    if n and (not len(starts) or starts[0] != 0):
        starts = np.concatenate([[0], starts]).astype(np.int64)
    first, count = reference(mask, starts)
    assert segments.first(mask, starts).tolist() == first.tolist()
    assert segments.count(mask, starts).tolist() == count.tolist()
    seg = np.cumsum(np.isin(np.arange(n), starts)) - 1
    rows = np.flatnonzero(rng.random(n) < 0.5)
    values = rng.random(len(rows)) < 0.5
    expected = np.zeros(len(starts), dtype=bool)
    expected[seg[rows[values]]] = True
    assert segments.any_of(seg, rows, values, len(starts)).tolist() == expected.tolist()

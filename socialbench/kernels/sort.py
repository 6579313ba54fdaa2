"""A stable argsort of integer or float keys by radix (``numpy.argsort(kind="stable")``
sorts int64 and float64 by merging: 0.11 s for a million probe times, 0.04 s here).

The keys, less their minimum (and divided by 10^9 when all are whole seconds of
nanosecond times, which keeps their order), are sorted 11 bits at a time from the lowest,
each pass a stable counting sort that carries each key beside its row (reads stay
sequential); only as many passes as the keys' range needs. Floats become unsigned
integers in the same order (the sign bit flipped, or every bit of a negative), -0.0 the
same as 0.0 and NaN last, as numpy orders them; so the permutation is numpy's, ties in
row order.
"""

from __future__ import annotations

import numpy as np

from socialbench.kernels import jit
from socialbench.kernels.memory import leading_zeros

_DIGIT = 11
_MASK = np.uint64((1 << _DIGIT) - 1)
_SECOND = 1_000_000_000  # a nanosecond timestamp's second


@jit
def _radix(keys, order):  # pragma: no cover - compiled
    """Sort ``order`` (0..n-1) by ``keys`` (uint64, consumed), stably."""
    n = len(keys)
    top = np.uint64(0)
    for i in range(n):
        order[i] = i
        if keys[i] > top:
            top = keys[i]
    bits = 64 - np.int64(leading_zeros(top)) if top else 0
    other_keys = np.empty(n, dtype=np.uint64)
    other_order = np.empty(n, dtype=np.int64)
    count = np.empty((1 << _DIGIT) + 1, dtype=np.int64)
    for shift in range(0, bits, _DIGIT):
        s = np.uint64(shift)
        count[:] = 0
        for i in range(n):
            count[((keys[i] >> s) & _MASK) + 1] += 1
        for d in range(1 << _DIGIT):
            count[d + 1] += count[d]
        for i in range(n):
            d = (keys[i] >> s) & _MASK
            at = count[d]
            count[d] = at + 1
            other_keys[at] = keys[i]
            other_order[at] = order[i]
        keys, other_keys = other_keys, keys
        order, other_order = other_order, order
    return order


def argsort(values: np.ndarray) -> np.ndarray:
    """``numpy.argsort(values, kind="stable")`` for a 1-d int64 or float64 array."""
    values = np.asarray(values)
    if values.dtype == np.float64:
        bits = np.where(values == 0, 0.0, values).view(np.uint64)  # -0.0 as 0.0
        negative = bits >> np.uint64(63) == 1
        keys = np.where(negative, ~bits, bits | np.uint64(1 << 63))
        keys[np.isnan(values)] = np.uint64(2**64 - 1)
    elif values.dtype == np.int64:
        keys = values.view(np.uint64) ^ np.uint64(1 << 63)  # signed order as unsigned
    else:
        return np.argsort(values, kind="stable")
    if len(keys):
        keys = keys - keys.min()
        if values.dtype == np.int64 and not (keys % np.uint64(_SECOND)).any():
            keys //= np.uint64(_SECOND)  # times in whole seconds: 30 bits fewer to sort
    order = np.empty(len(keys), dtype=np.int64)
    return _radix(keys, order)


def warm() -> None:
    argsort(np.array([3, -1, 3, 0], dtype=np.int64))
    argsort(np.array([2.5, -0.0, np.nan, 0.0, -3.0]))

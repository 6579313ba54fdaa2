"""Per-segment reductions of a sorted table (``threads.Conversations``: one segment per probe).

numpy's ``reduceat`` needs its input as numbers (a bool mask became a column of int64 first)
and a "first row where" needed two more column-sized arrays; here each is one pass over the
mask, writing only the per-segment answers.
"""

from __future__ import annotations

import numpy as np

from socialbench.kernels import jit


@jit
def _first(mask, starts, out):  # pragma: no cover - compiled
    n = len(mask)
    for s in range(len(starts)):
        end = starts[s + 1] if s + 1 < len(starts) else n
        out[s] = -1
        for k in range(starts[s], end):
            if mask[k]:
                out[s] = k
                break


@jit
def _count(mask, starts, out):  # pragma: no cover - compiled
    n = len(mask)
    for s in range(len(starts)):
        end = starts[s + 1] if s + 1 < len(starts) else n
        total = 0
        for k in range(starts[s], end):
            total += mask[k]
        out[s] = total


@jit
def _any(seg, rows, values, out):  # pragma: no cover - compiled
    for j in range(len(rows)):
        if values[j]:
            out[seg[rows[j]]] = True


def first(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per segment (``starts``: each one's first row), the first row where ``mask`` holds,
    or -1."""
    out = np.empty(len(starts), dtype=np.int64)
    _first(mask, starts, out)
    return out


def count(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per segment, how many rows ``mask`` holds for."""
    out = np.empty(len(starts), dtype=np.int64)
    _count(mask, starts, out)
    return out


def any_of(seg: np.ndarray, rows: np.ndarray, values: np.ndarray, segments: int) -> np.ndarray:
    """Per segment (``seg``: each row's), whether ``values`` holds for one of its ``rows``."""
    out = np.zeros(segments, dtype=np.bool_)
    _any(seg, rows, values, out)
    return out


def warm() -> None:
    mask, starts = np.array([False, True, True]), np.array([0, 2])
    first(mask, starts)
    count(mask, starts)
    any_of(np.array([0, 0, 1]), np.array([2]), np.array([True]), 2)

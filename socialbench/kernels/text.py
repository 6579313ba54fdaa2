"""Tests on the edges of Arrow strings, one pass over the offsets (``arrowtext`` defines
them; its numpy form made several column-sized arrays per test)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench.arrowtext import TextBuffers
from socialbench.kernels import jit


@jit
def _any_edge(data, offsets, filled, wanted):  # pragma: no cover - compiled
    for i in range(len(offsets) - 1):
        a, b = offsets[i], offsets[i + 1]
        if filled[i] and (wanted[data[a]] or wanted[data[b - 1]]):
            return True
    return False


def any_edge(column: pa.ChunkedArray, wanted: np.ndarray) -> bool:
    """Whether some value's first or last byte is one of ``wanted`` (a bool per byte)."""
    for chunk in column.chunks:
        text = TextBuffers(chunk)
        if text.data is None:
            continue
        if _any_edge(text.data, text.offsets, text.filled, wanted):  # filled: not empty or null
            return True
    return False


def warm() -> None:
    wanted = np.zeros(256, dtype=np.bool_)
    for kind in (pa.string(), pa.large_string()):
        any_edge(pa.chunked_array([pa.array(["a ", None], kind)]), wanted)

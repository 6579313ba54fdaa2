"""Cheap tests on Arrow string columns, read in place: the first and last byte of each value.

Trimming or rewriting a column of millions of strings allocates a copy of it; most columns
need neither (ids and handles have no surrounding spaces, few cells start like a formula), and
looking at one byte per value, through the offsets buffer, says so without a copy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NONE = -1  # the "byte" of an empty or null value
_ASCII_SPACE = np.array([ord(c) for c in " \t\n\v\f\r\x1c\x1d\x1e\x1f"], dtype=np.int16)


def edge_bytes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's first and last byte (UTF-8), NONE for an empty or null value."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_edges(chunk) for chunk in chunks]
    if not parts:
        return np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int16)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _edges(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        raise TypeError(f"not a string column: {chunk.type}")
    n = len(chunk)
    first, last = np.full(n, NONE, dtype=np.int16), np.full(n, NONE, dtype=np.int16)
    buffers = chunk.buffers()
    if n == 0 or buffers[2] is None:
        return first, last
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[chunk.offset : chunk.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    start, end = offsets[:-1], offsets[1:]
    filled = end > start
    if chunk.null_count:
        filled &= chunk.is_valid().to_numpy(zero_copy_only=False)
    first[filled] = data[start[filled]]
    last[filled] = data[end[filled] - 1]
    return first, last


def trim_whitespace(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``pyarrow.compute.utf8_trim_whitespace``, without its copy when no value starts or
    ends with whitespace (an ASCII space character, or any non-ASCII byte: it may begin or
    end a Unicode space, so such a column is trimmed in full)."""
    first, last = edge_bytes(column)
    if not (_maybe_space(first).any() or _maybe_space(last).any()):
        return column
    return pc.utf8_trim_whitespace(column)


def _maybe_space(byte: np.ndarray) -> np.ndarray:
    return (byte >= 0x80) | np.isin(byte, _ASCII_SPACE)

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
# byte + 1 -> whether the byte may be (part of) whitespace: ASCII spaces, and every non-ASCII
# byte (it may begin or end a Unicode space)
_MAYBE_SPACE = np.zeros(257, dtype=bool)
_MAYBE_SPACE[[1 + ord(c) for c in " \t\n\v\f\r\x1c\x1d\x1e\x1f"]] = True
_MAYBE_SPACE[1 + 0x80 :] = True


def edge_bytes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's first and last byte (UTF-8), NONE for an empty or null value."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_edges(chunk) for chunk in chunks]
    if not parts:
        return np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int16)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _checked(chunk: pa.Array) -> pa.Array:
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        raise TypeError(f"not a string column: {chunk.type}")
    return chunk


def _edges(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    view = TextBuffers(_checked(chunk))
    if view.data is None:
        none = np.full(len(chunk), NONE, dtype=np.int16)
        return none, none.copy()
    first = view.byte(view.start).astype(np.int16)
    last = view.byte(view.end - 1).astype(np.int16)
    if not view.filled.all():
        first[~view.filled] = NONE
        last[~view.filled] = NONE
    return first, last


class TextBuffers:
    """A string array's offsets (from 0) and data bytes, read in place (``data`` is None when
    every value is empty); ``filled``: the values that are neither empty nor null."""

    def __init__(self, chunk: pa.Array) -> None:
        buffers = chunk.buffers()
        wide = pa.types.is_large_string(chunk.type)
        n = len(chunk)
        offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)
        offsets = offsets[chunk.offset : chunk.offset + n + 1].astype(np.int64)
        base, top = (int(offsets[0]), int(offsets[-1])) if n else (0, 0)
        self.data = None
        if buffers[2] is not None and top > base:
            self.data = np.frombuffer(buffers[2], dtype=np.uint8)[base:top]
        if base:
            offsets -= base  # a copy already (astype): writable, as kernels are compiled for
        self.offsets = offsets
        self.start, self.end = self.offsets[:-1], self.offsets[1:]
        self.filled = self.end > self.start
        if chunk.null_count:
            self.filled &= chunk.is_valid().to_numpy(zero_copy_only=False)

    def byte(self, at: np.ndarray) -> np.ndarray:
        """The byte at each position, clipped into the data (callers mask what is outside)."""
        return self.data[np.clip(at, 0, len(self.data) - 1)]


def trim_whitespace(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``pyarrow.compute.utf8_trim_whitespace``, without its copy when no value starts or
    ends with whitespace (an ASCII space character, or any non-ASCII byte: it may begin or
    end a Unicode space, so such a column is trimmed in full)."""
    from socialbench.kernels import text  # numba: loaded only where archives are read

    if not text.any_edge(column, _MAYBE_SPACE[1:]):
        return column
    return pc.utf8_trim_whitespace(column)


def cut_suffix(column: pa.ChunkedArray, suffix: str) -> pa.ChunkedArray:
    """Every value ending with the ASCII ``suffix`` without it (others unchanged): one
    compiled pass copying the kept bytes (``kernels.ids``), instead of Arrow's per-value
    slicing."""
    if not (suffix and suffix.isascii()):
        raise ValueError("the suffix must be non-empty ASCII")
    from socialbench.kernels import ids  # numba: loaded only where archives are read

    cut = [ids.cut_suffix(chunk, suffix.encode()) for chunk in column.chunks]
    return pa.chunked_array(cut, column.type)


def only_value(column: pa.ChunkedArray) -> pa.Scalar | None:
    """The one value a column holds throughout (no nulls, every value equal: its least is
    its greatest), else None."""
    if column.null_count or not len(column):
        return None
    low, high = pc.min_max(column).values()
    return low if low == high else None


def empty_as_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Empty values as nulls, the text left in place (only the validity bitmap is new); the
    column itself when it has no empty value."""
    chunks = [_empty_as_null(chunk) for chunk in column.chunks]
    if all(new is old for new, old in zip(chunks, column.chunks, strict=True)):
        return column
    return pa.chunked_array(chunks, column.type)


def _empty_as_null(chunk: pa.Array) -> pa.Array:
    view = TextBuffers(chunk)
    if view.filled.sum() == len(chunk) - chunk.null_count:  # filled: valid and not empty
        return chunk
    buffers = chunk.buffers()
    validity = pa.py_buffer(np.packbits(view.filled, bitorder="little"))
    offsets_at = chunk.offset * (8 if pa.types.is_large_string(chunk.type) else 4)
    return pa.Array.from_buffers(
        chunk.type,
        len(chunk),
        [validity, buffers[1].slice(offsets_at), buffers[2]],
        null_count=int(len(chunk) - view.filled.sum()),
    )

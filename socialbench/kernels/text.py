"""Arrow strings: tests on their edges, one pass over the offsets (``arrowtext`` defines them;
its numpy form made several column-sized arrays per test), and chosen rows copied out with
text around each (``gather``), where Arrow took a filter, a concatenation of chunks and a
join, each a copy of every byte.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench.arrowtext import TextBuffers
from socialbench.kernels import jit
from socialbench.kernels.memory import get, load_word, put, store_word


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


@jit
def _lengths(offsets, filled, rows, out):  # pragma: no cover - compiled
    for j in range(len(rows)):
        r = rows[j]
        out[j] = offsets[r + 1] - offsets[r] if filled[r] else 0


@jit
def _fill(data, offsets, filled, rows, slots, out_offsets, out, before, after):  # pragma: no cover
    """Write each row's bytes, between ``before`` and ``after``, at its slot's offset in
    ``out``: whole words of eight bytes, then the rest byte by byte (never past the slot:
    slots of other chunks may be written already)."""
    for j in range(len(rows)):
        r, at = rows[j], out_offsets[slots[j]]
        for k in range(len(before)):
            put(out, at + k, get(before, k))
        at += len(before)
        if filled[r]:
            a, n = offsets[r], offsets[r + 1] - offsets[r]
            words = n - n % 8
            for k in range(0, words, 8):
                store_word(out, at + k, load_word(data, a + k))
            for k in range(words, n):
                put(out, at + k, get(data, a + k))
            at += n
        for k in range(len(after)):
            put(out, at + k, get(after, k))


def gather(
    column: pa.ChunkedArray, rows: np.ndarray, before: bytes = b"", after: bytes = b""
) -> pa.Array:
    """``before + column[row] + after`` for each of ``rows`` (positions in the column, in any
    order; a null counts as ""), as one large_string array: each byte copied once."""
    rows = np.asarray(rows, dtype=np.int64)
    bounds = np.cumsum([0] + [len(chunk) for chunk in column.chunks])
    chunk_of = np.searchsorted(bounds, rows, side="right") - 1
    parts = []
    lengths = np.empty(len(rows), dtype=np.int64)
    for c, chunk in enumerate(column.chunks):
        slots = np.flatnonzero(chunk_of == c) if len(column.chunks) > 1 else np.arange(len(rows))
        if not len(slots):
            continue
        text = TextBuffers(chunk)
        local = rows[slots] - bounds[c]
        picked = np.empty(len(slots), dtype=np.int64)
        _lengths(text.offsets, text.filled, local, picked)
        lengths[slots] = picked
        parts.append((text, local, slots))
    offsets = np.empty(len(rows) + 1, dtype=np.int64)
    offsets[0] = 0
    np.cumsum(lengths + (len(before) + len(after)), out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    pads = [np.frombuffer(b, dtype=np.uint8) for b in (before, after)]
    for text, local, slots in parts:
        data = text.data if text.data is not None else _EMPTY
        _fill(data, text.offsets, text.filled, local, slots, offsets, out, *pads)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(out)]
    return pa.Array.from_buffers(pa.large_string(), len(rows), buffers)


_EMPTY = np.zeros(8, dtype=np.uint8)

# byte -> whether it is a handle character, [A-Za-z0-9_]
_HANDLE = np.zeros(256, dtype=np.bool_)
_HANDLE[[ord(c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"]] = True
_AT = ord("@")


@jit
def _mention_tokens(data, offsets, filled, handle, starts, ends, owners):  # pragma: no cover
    """Every @mention of every text, in order: an "@" not after a handle character,
    followed by handle characters (all of them: the token). Returns how many, and whether
    a non-ASCII byte follows an "@" or a token (where a case-insensitive match of a handle
    could read a letter that folds onto an ASCII one)."""
    n = 0
    beside = False
    for i in range(len(offsets) - 1):
        if not filled[i]:
            continue
        a, b = offsets[i], offsets[i + 1]
        k = a
        while k < b:
            if data[k] == _AT and (k == a or not handle[data[k - 1]]):
                e = k + 1
                while e < b and handle[data[e]]:
                    e += 1
                if e < b and data[e] >= 0x80:
                    beside = True
                if e > k + 1:
                    starts[n], ends[n], owners[n] = k + 1, e, i
                    n += 1
                k = e
            else:
                k += 1
    return n, beside


@jit
def _copy_slices(data, starts, ends, offsets, out):  # pragma: no cover - compiled
    at = 0
    offsets[0] = 0
    for j in range(len(starts)):
        for k in range(starts[j], ends[j]):
            out[at] = data[k]
            at += 1
        offsets[j + 1] = at


def mentions(texts: pa.Array) -> tuple[pa.Array, np.ndarray, bool]:
    """Every @mention handle of a string array, in order (as large strings), the row of
    each (``(?:^|[^A-Za-z0-9_])@([A-Za-z0-9_]+)`` found again and again, in one pass), and
    whether a non-ASCII character follows an "@" or a handle somewhere."""
    view = TextBuffers(texts)
    if view.data is None:
        return pa.array([], pa.large_string()), np.zeros(0, dtype=np.int64), False
    most = len(view.data) // 2 + 1  # a mention takes two bytes at least
    starts, ends, owners = (np.empty(most, dtype=np.int64) for _ in range(3))
    n, beside = _mention_tokens(view.data, view.offsets, view.filled, _HANDLE, starts, ends, owners)
    starts, ends = starts[:n], ends[:n]
    offsets = np.empty(n + 1, dtype=np.int64)
    out = np.empty(int((ends - starts).sum()), dtype=np.uint8)
    _copy_slices(view.data, starts, ends, offsets, out)
    tokens = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)]
    )
    return tokens, owners[:n], beside


def warm() -> None:
    wanted = np.zeros(256, dtype=np.bool_)
    for kind in (pa.string(), pa.large_string()):
        column = pa.chunked_array([pa.array(["a ", None], kind), pa.array(["bc"], kind)])
        any_edge(column, wanted)
        gather(column, np.array([2, 0, 1]), b" ", b" \x1f")
        mentions(pa.array(["@a hi @b_2", "x@y", None, ""], kind))

"""Message ids: integer keys straight from the text, and the ``.0`` of float-written ids cut.

``threads._keys`` defines the keys: an id is its integer value when every id of the column is
a plain non-negative decimal integer without leading zeros ("007" and "7" must stay two ids),
else the ids are dictionary-encoded. Arrow's cast plus the checks on first bytes and lengths
took four passes and three column-sized arrays; here it is one pass over the bytes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench.arrowtext import TextBuffers
from socialbench.kernels import jit

_INT64_MAX = np.iinfo(np.int64).max


@jit
def _integers(data, offsets, valid, out):  # pragma: no cover - compiled
    """Fill ``out`` with each valid value's integer (-1 for a null); False as soon as one
    is not canonical (empty, a non-digit, a leading zero, beyond int64)."""
    limit = _INT64_MAX // 10
    for i in range(len(out)):
        if not valid[i]:
            out[i] = -1
            continue
        a, b = offsets[i], offsets[i + 1]
        if b == a or (data[a] == 48 and b - a > 1):
            return False
        value = 0
        for k in range(a, b):
            digit = data[k] - 48
            if digit < 0 or digit > 9:
                return False
            if value > limit or (value == limit and digit > _INT64_MAX % 10):
                return False
            value = value * 10 + digit
        out[i] = value
    return True


def integer_keys(column: pa.ChunkedArray) -> np.ndarray | None:
    """The values as int64 (-1 for null) when each is a plain non-negative decimal integer
    without leading zeros that fits in int64, else None."""
    out = np.empty(len(column), dtype=np.int64)
    at = 0
    for chunk in column.chunks:
        n = len(chunk)
        if chunk.null_count == n:
            out[at : at + n] = -1
        else:
            text = TextBuffers(chunk)
            data = text.data if text.data is not None else np.zeros(1, dtype=np.uint8)
            if not _integers(data, text.offsets, _validity(chunk), out[at : at + n]):
                return None
        at += n
    return out


def _validity(chunk: pa.Array) -> np.ndarray:
    if chunk.null_count:
        return chunk.is_valid().to_numpy(zero_copy_only=False)
    return np.ones(len(chunk), dtype=np.bool_)


@jit
def _ends_with(data, a, b, suffix):  # pragma: no cover - compiled
    """Whether data[a:b] ends with the bytes of ``suffix``."""
    width = len(suffix)
    if b - a < width:
        return False
    for k in range(width):
        if data[b - width + k] != suffix[k]:
            return False
    return True


@jit
def _cut(data, offsets, valid, suffix, new_offsets):  # pragma: no cover - compiled
    """Offsets without the suffix where a value ends with it; the bytes kept, packed."""
    width = len(suffix)
    kept = np.empty(len(data), dtype=np.uint8)
    size = 0
    new_offsets[0] = 0
    for i in range(len(offsets) - 1):
        a, b = offsets[i], offsets[i + 1]
        if valid[i] and _ends_with(data, a, b, suffix):
            b -= width
        for k in range(a, b):
            kept[size] = data[k]
            size += 1
        new_offsets[i + 1] = size
    return kept[:size]


@jit
def _any_suffix(data, offsets, valid, suffix):  # pragma: no cover - compiled
    for i in range(len(offsets) - 1):
        a, b = offsets[i], offsets[i + 1]
        if valid[i] and _ends_with(data, a, b, suffix):
            return True
    return False


def cut_suffix(chunk: pa.Array, suffix: bytes) -> pa.Array:
    """A string array with ``suffix`` cut from every value that ends with it (the chunk
    itself when none does): one pass that copies the kept bytes."""
    text = TextBuffers(chunk)
    if text.data is None:
        return chunk
    valid = _validity(chunk)
    pattern = np.frombuffer(suffix, dtype=np.uint8)
    if not _any_suffix(text.data, text.offsets, valid, pattern):
        return chunk
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.empty(len(chunk) + 1, dtype=np.int64 if wide else np.int32)
    kept = _cut(text.data, text.offsets, valid, pattern, offsets)
    validity = None
    if chunk.null_count:
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        chunk.type,
        len(chunk),
        [validity, pa.py_buffer(offsets), pa.py_buffer(kept)],
        null_count=chunk.null_count,
    )


@jit
def _first_appearance(keys, top, codes):  # pragma: no cover - compiled
    code_of = np.full(top + 1, -1, dtype=np.int64)
    distinct = np.empty(len(keys), dtype=np.int64)
    n = 0
    for i in range(len(keys)):
        k = keys[i]
        if k < 0:
            codes[i] = -1
            continue
        c = code_of[k]
        if c < 0:
            c = n
            code_of[k] = n
            distinct[n] = k
            n += 1
        codes[i] = c
    return distinct[:n]


def first_appearance(keys: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes numbering the distinct keys (0..``top``; -1: none) in order of first appearance,
    and those keys in that order: one pass, a table indexed by key."""
    codes = np.empty(len(keys), dtype=np.int64)
    return codes, _first_appearance(keys, top, codes)


@jit
def _positions(keys, table):  # pragma: no cover - compiled
    """table[key] = the first row holding each key (the table holds -1); whether a key
    repeats."""
    repeated = False
    for i in range(len(keys)):
        k = keys[i]
        if table[k] < 0:
            table[k] = i
        else:
            repeated = True
    return repeated


@jit
def _firsts(keys, table, keep):  # pragma: no cover - compiled
    for i in range(len(keys)):
        keep[i] = table[keys[i]] == i


@jit
def _lookup(table, refs, out):  # pragma: no cover - compiled
    top = len(table)
    for j in range(len(refs)):
        r = refs[j]
        out[j] = table[r] if 0 <= r < top else -1


class DenseIndex:
    """Rows by integer key for keys 0..top (``threads.KeyIndex`` when keys are dense): a
    table of each key's first row, built in one pass; lookups one pass each."""

    def __init__(self, keys: np.ndarray, top: int) -> None:
        self.keys = keys
        self.table = np.full(top + 1, -1, dtype=np.int64)
        self.repeated = _positions(keys, self.table)

    def first_occurrences(self) -> np.ndarray | None:
        """A mask keeping each key's first row, or None when no key repeats."""
        if not self.repeated:
            return None
        keep = np.empty(len(self.keys), dtype=np.bool_)
        _firsts(self.keys, self.table, keep)
        return keep

    def lookup(self, refs: np.ndarray) -> np.ndarray:
        """The row each reference names, -1 when none or not a key."""
        out = np.empty(len(refs), dtype=np.int64)
        _lookup(self.table, refs, out)
        return out


def warm() -> None:
    first_appearance(np.array([3, -1, 3, 0], dtype=np.int64), 3)
    index = DenseIndex(np.array([2, 0, 2], dtype=np.int64), 2)
    index.first_occurrences()
    index.lookup(np.array([-1, 0, 2, 5], dtype=np.int64))
    for kind in (pa.string(), pa.large_string()):
        column = pa.chunked_array([pa.array(["12", None, "3.0"], kind)])
        integer_keys(column)
        cut_suffix(column.chunk(0), b".0")

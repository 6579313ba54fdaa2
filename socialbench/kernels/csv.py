"""CSV text of an Arrow table, a batch of rows at a time, in one pass per column.

``output.write_probes_arrow`` defines the text: times as ISO 8601 UTC (``output.iso_utc``),
formula-like text defused (``output.defuse_formulas``), whole floats as integers
(``output.whole_numbers``), then Arrow's CSV writer with ``quoting_style="needed"``: every
string quoted with its quotes doubled, numbers and true/false bare, nothing for null, the
header quoted. That preparation makes a new column for each conversion, and Arrow's writer
copies each batch through several buffers; here each batch of rows is formatted once,
straight from the table's own buffers, into one reused buffer that goes to the file.

A batch is written column by column (a kernel is called once per column, never per row):
each row gets a slot as wide as its text can be (a string's length twice, a number's widest
text), every column writes its cells at each row's running position in its slot, and the
rows are then moved together. Measuring each cell exactly first took as long as writing it.
The kernels avoid branches the processor cannot predict (a row's bool, a number's digit
count, a string's length), and write 8 bytes at a time where they can: both cost more than
the arithmetic.

``write_table`` declines (returns False, writes nothing) a table whose text could differ
from the Arrow path's: other column types, floats that are not all whole, times with a
fraction of a second or beyond what the Arrow path can represent; the caller then uses it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from socialbench.kernels import jit, readonly
from socialbench.kernels.memory import get as _get
from socialbench.kernels.memory import leading_zeros
from socialbench.kernels.memory import load_word as _load_word
from socialbench.kernels.memory import put as _put
from socialbench.kernels.memory import store_word as _store_word

# rows formatted at a time: their slots (about 340 bytes a probe) stay in the second-level
# cache while the columns write into them in turn, and there are few calls per batch
BATCH_ROWS = 1 << 12
_QUOTE, _APOSTROPHE, _COMMA, _NEWLINE = ord('"'), ord("'"), ord(","), ord("\n")
_TEN, _HUNDRED, _10K = np.uint64(10), np.uint64(100), np.uint64(10_000)
_POWERS = np.array([10**k for k in range(20)], dtype=np.uint64)
_PAIRS = np.frombuffer("".join(f"{v:02d}" for v in range(100)).encode(), dtype=np.uint8)
_PAIR_WORDS = _PAIRS.view(np.uint16).astype(np.uint64)  # "07" for 7, as a little-endian word
_ONES, _HIGHS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
_QUOTES = np.uint64(0x2222222222222222)  # '"' in each byte
_BYTE = np.uint64(255)
_WHOLE_LIMIT = 2.0**53  # output.whole_numbers: beyond this a float64 may not be exact
_INT64_MAX = 2**63 - 1
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_NS = 1_000_000_000
# read-only, as views of Arrow buffers are: one compiled version of each kernel serves both
_NOTHING = np.frombuffer(b"", dtype=np.uint8)

TEXT, BOOL, SIGNED, UNSIGNED, WHOLE, TIME, EMPTY = range(7)


@jit
def _bit(bits, at):  # pragma: no cover - compiled
    return (_get(bits, at >> 3) >> (at & 7)) & 1


@jit
def _missing(bits, first, i):  # pragma: no cover - compiled
    """Whether value i is null (a column without nulls has a bitmap of ones: reading it
    costs less than a branch on whether there is one)."""
    return _bit(bits, first + i) == 0


@jit
def _empty_cell(bits, first, row, out, p, pos, i, sep):  # pragma: no cover - compiled
    """For a null value: its empty cell (only the separator) written; whether it was one."""
    if not _missing(bits, first, row):
        return False
    _put(out, p, sep)
    _put(pos, i, p + 1)
    return True


@jit
def _risky(byte):  # pragma: no cover - compiled
    """output.defuse_formulas: a first byte a spreadsheet would start a formula with."""
    return byte == 61 or byte == 43 or byte == 45 or byte == 64 or byte == 9 or byte == 13


@jit
def _has_quote(word, count):  # pragma: no cover - compiled
    """Whether one of the first ``count`` bytes (all 8 if more) of the word is a quote: a
    byte of word ^ quotes is zero exactly there (the classic zero-byte test; a false flag
    only ever appears above a true one, so masking off the upper bytes is exact)."""
    x = word ^ _QUOTES
    flags = (x - _ONES) & ~x & _HIGHS
    if count < 8:
        flags &= (np.uint64(1) << np.uint64(8 * count)) - np.uint64(1)
    return flags != 0


@jit
def _write_text(
    offsets, data, bits, first, defuse, row0, out, pos, ends, sep
):  # pragma: no cover - compiled
    """Quoted strings. One without a quote is copied a word at a time when its words lie
    within the data and within its row: what the last word writes past the string's end is
    written over after it, by this column or a later one; so is the apostrophe, written
    before every string and kept (without a branch) before a risky one."""
    closing = np.uint64(_QUOTE) | (np.uint64(sep) << np.uint64(8))
    for i in range(len(pos)):
        p = _get(pos, i)
        if _empty_cell(bits, first, row0 + i, out, p, pos, i, sep):
            continue
        a, b = _get(offsets, row0 + i), _get(offsets, row0 + i + 1)
        length = b - a
        words = (length + 7) >> 3
        # (inline: numba passes arrays to a function that is not inlined by value, which
        # cost more than the copy)
        if p + 8 * words + 10 <= _get(ends, i) and a + 8 * words + 8 <= len(data):
            word = _load_word(data, a)
            _put(out, p, _QUOTE)
            _put(out, p + 1, _APOSTROPHE)
            p += 1 + (defuse and length > 0 and _risky(np.int64(word & _BYTE)))
            plain = True
            for j in range(words):
                word = _load_word(data, a + 8 * j) if j else word
                if _has_quote(word, length - 8 * j):
                    plain = False
                    break
                _store_word(out, p + 8 * j, word)
            if plain:  # the closing quote and the separator in one word
                _store_word(out, p + length, closing)
                _put(pos, i, p + length + 2)
                continue
        else:
            _put(out, p, _QUOTE)
            p += 1
            if defuse and length > 0 and _risky(data[a]):
                _put(out, p, _APOSTROPHE)
                p += 1
        p = _copy_quoted(out, p, data, a, b)
        _put(out, p, _QUOTE)
        _put(out, p + 1, sep)
        _put(pos, i, p + 2)


@jit
def _copy_quoted(out, p, data, a, b):  # pragma: no cover - compiled
    """data[a:b] at out[p:] with each quote doubled; returns the end."""
    for k in range(a, b):
        byte = data[k]
        out[p] = byte
        p += 1
        if byte == _QUOTE:
            out[p] = _QUOTE
            p += 1
    return p


@jit
def _write_bool(
    values, start, bits, first, row0, out, pos, ends, sep
):  # pragma: no cover - compiled
    """Booleans: ``true`` or ``false`` and the separator as one word, chosen without a
    branch (bytes when the word would reach past the row)."""
    true = _TRUE | (np.uint64(sep) << np.uint64(32))
    false = _FALSE | (np.uint64(sep) << np.uint64(40))
    for i in range(len(pos)):
        p = _get(pos, i)
        if _empty_cell(bits, first, row0 + i, out, p, pos, i, sep):
            continue
        v = _bit(values, start + row0 + i)
        size = 6 - v
        if p + 8 <= _get(ends, i):
            _store_word(out, p, true if v else false)
        else:
            word = true if v else false
            for k in range(size):
                _put(out, p + k, np.uint8((word >> np.uint64(8 * k)) & np.uint64(255)))
        _put(pos, i, p + size)


_TRUE = np.frombuffer(b"true\0\0\0\0", dtype=np.uint64)[0]
_FALSE = np.frombuffer(b"false\0\0\0", dtype=np.uint64)[0]


@jit
def _digits(u):  # pragma: no cover - compiled
    """Decimal digits of the uint64 u without a branch, from its bit length (Bit Twiddling
    Hacks, "integer log base 10")."""
    one = u | np.uint64(1)
    bits = 64 - np.int64(leading_zeros(one))
    guess = (bits * 1233) >> 12
    return guess + 1 - (one < _get(_POWERS, guess))


@jit
def _number_word(u, n, sep):  # pragma: no cover - compiled
    """The n (at most 7) decimal digits of the uint64 u then sep as one little-endian word:
    u as 8 zero-padded digits from four independent pairs (a digit at a time would be a
    chain of divisions), shifted down to its n digits."""
    shift = np.uint64(8 * n)
    if u < _HUNDRED:  # counts and hours: one pair
        return (_PAIR_WORDS[u] >> (np.uint64(16) - shift)) | (np.uint64(sep) << shift)
    high, low = u // _10K, u % _10K
    padded = _PAIR_WORDS[high // _HUNDRED] | (_PAIR_WORDS[high % _HUNDRED] << np.uint64(16))
    padded |= _PAIR_WORDS[low // _HUNDRED] << np.uint64(32)
    padded |= _PAIR_WORDS[low % _HUNDRED] << np.uint64(48)
    return (padded >> (np.uint64(64) - shift)) | (np.uint64(sep) << shift)


@jit
def _put_digits(out, p, u, n, sep):  # pragma: no cover - compiled
    """The n decimal digits of u then sep at out[p:], a byte at a time; returns the end."""
    for k in range(n - 1, -1, -1):
        out[p + k] = np.uint8(u % _TEN) + 48
        u //= _TEN
    out[p + n] = sep
    return p + n + 1


@jit
def _magnitude(v):  # pragma: no cover - compiled
    """|v| of an int64 as uint64, int64's minimum included."""
    if v >= 0:
        return np.uint64(v)
    return np.uint64(-(v + 1)) + np.uint64(1)


@jit
def _write_signed(values, bits, first, row0, out, pos, ends, sep):  # pragma: no cover
    """Signed integers, or whole floats (checked by ``_whole``) as integers. A null is a
    number of no digits, without a branch (nulls come at random, a mispredicted branch
    each)."""
    for i in range(len(pos)):
        p = _get(pos, i)
        value = _get(values, row0 + i)  # read whether null or not: then no branch on it
        valid = not _missing(bits, first, row0 + i)
        v = np.int64(value if valid else 0)
        _put(out, p, 45)  # "-", written over by the first digit when v >= 0
        p += v < 0
        u = _magnitude(v)
        n = _digits(u) * valid
        if n <= 7 and p + 8 <= _get(ends, i):
            _store_word(out, p, _number_word(u, n, sep))
            _put(pos, i, p + n + 1)
        else:  # a call (not inlined: see _write_text), for long numbers near row ends
            _put(pos, i, _put_digits(out, p, u, n, sep))


@jit
def _write_unsigned(values, bits, first, row0, out, pos, ends, sep):  # pragma: no cover
    """As ``_write_signed``, for uint64 (beyond int64)."""
    for i in range(len(pos)):
        p = _get(pos, i)
        value = _get(values, row0 + i)
        valid = not _missing(bits, first, row0 + i)
        u = value if valid else np.uint64(0)
        n = _digits(u) * valid
        if n <= 7 and p + 8 <= _get(ends, i):
            _store_word(out, p, _number_word(u, n, sep))
            _put(pos, i, p + n + 1)
        else:
            _put(pos, i, _put_digits(out, p, u, n, sep))


@jit
def _seconds(v, per_second):  # pragma: no cover - compiled
    """v // per_second for the four Arrow units, each a constant divisor (a multiplication,
    where dividing by a variable takes tens of cycles)."""
    if per_second == 1_000_000_000:
        return v // 1_000_000_000
    if per_second == 1_000_000:
        return v // 1_000_000
    if per_second == 1_000:
        return v // 1_000
    return v


@jit
def _write_time(
    values, per_second, bits, first, row0, out, pos, ends, sep
):  # pragma: no cover - compiled
    """Whole seconds (checked by ``_whole_seconds``) as ISO 8601 UTC, with its separator
    as four overlapping words within the cell: ``"YYYY-MM``, ``Y-MM-DDT`` (made once a day:
    probes come in time order), ``HH:MM:SS`` and ``MM:SSZ",``. A null is written as the
    last time (within the row's slot, which has room for it) and cut to its separator."""
    date = np.zeros(16, dtype=np.uint8)
    head = tail = np.uint64(0)
    last_day = np.int64(-(2**62))
    end = (np.uint64(90) << np.uint64(40)) | (np.uint64(_QUOTE) << np.uint64(48))
    end |= np.uint64(sep) << np.uint64(56)
    seconds = np.int64(0)
    for i in range(len(pos)):
        p = _get(pos, i)
        value = _seconds(_get(values, row0 + i), per_second)
        valid = not _missing(bits, first, row0 + i)
        seconds = value if valid else seconds
        day = seconds // 86400
        if day != last_day:
            _civil_date(day, date)
            head, tail = _load_word(date, 0), _load_word(date, 4)
            last_day = day
        clock = _clock(np.uint64(seconds - day * 86400))
        _store_word(out, p, head)
        _store_word(out, p + 4, tail)
        _store_word(out, p + 12, clock)
        _store_word(out, p + 15, (clock >> np.uint64(24)) | end)  # MM:SS of the clock
        _put(out, p + 22 * valid, sep)
        _put(pos, i, p + 1 + 22 * valid)


@jit
def _clock(second):  # pragma: no cover - compiled
    """``HH:MM:SS`` of a second of the day (a uint64: unsigned division is the shorter)."""
    hours = second // np.uint64(3600)
    rest = second - hours * np.uint64(3600)
    minutes = rest // np.uint64(60)
    seconds = rest - minutes * np.uint64(60)
    clock = _PAIR_WORDS[hours] | _COLONS | (_PAIR_WORDS[minutes] << np.uint64(24))
    return clock | (_PAIR_WORDS[seconds] << np.uint64(48))


_COLONS = (np.uint64(58) << np.uint64(16)) | (np.uint64(58) << np.uint64(40))  # HH:MM:SS


@jit
def _civil_date(days, date):  # pragma: no cover - compiled
    """``"YYYY-MM-DDT`` of days since 1970-01-01 into date (fasttime.civil_from_days)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    date[0] = _QUOTE
    _pair(date, 1, year // 100)
    _pair(date, 3, year % 100)
    date[5] = 45  # "-"
    _pair(date, 6, month)
    date[8] = 45
    _pair(date, 9, day)
    date[11] = 84  # "T"


@jit
def _pair(out, p, v):  # pragma: no cover - compiled
    """The two digits of v (0..99) at out[p], out[p + 1]."""
    out[p] = _PAIRS[2 * v]
    out[p + 1] = _PAIRS[2 * v + 1]


@jit
def _write_empty(row0, out, pos, ends, sep):  # pragma: no cover - compiled
    for i in range(len(pos)):
        p = _get(pos, i)
        _put(out, p, sep)
        _put(pos, i, p + 1)


@jit
def _text_slots(offsets, row0, slots):  # pragma: no cover - compiled
    """Add each string's widest text to its row's slot: every byte a doubled quote, two
    quotes, the apostrophe and the separator."""
    for i in range(len(slots)):
        width = _get(offsets, row0 + i + 1) - _get(offsets, row0 + i)
        _put(slots, i, _get(slots, i) + 2 * width + 4)


@jit
def _place(slots, starts, pos, ends):  # pragma: no cover - compiled
    """Lay the slots end to end: each row's start (into starts and pos, its running
    position) and end; returns the batch's size."""
    total = 0
    for i in range(len(slots)):
        starts[i] = pos[i] = total
        total += slots[i]
        ends[i] = total
    return total


@jit
def _compact(out, starts, pos):  # pragma: no cover - compiled
    """Move each row's text (starts[i] to pos[i]) to follow the last one's, a word at a
    time (a row only moves toward the front: each word is read before anything is written
    over it); returns the size of the text."""
    q = 0
    for i in range(len(starts)):
        a, b = _get(starts, i), _get(pos, i)
        if q == a:
            q = b
        elif b - a >= 8:  # the last word read first, written last, overlapping the others
            last = _load_word(out, b - 8)
            end = q + b - a
            while a + 8 < b:
                _store_word(out, q, _load_word(out, a))
                q += 8
                a += 8
            _store_word(out, end - 8, last)
            q = end
        else:
            for k in range(a, b):
                _put(out, q, _get(out, k))
                q += 1
    return q


@jit
def _whole(values, bits, first):  # pragma: no cover - compiled
    """output.whole_numbers turns the column into int64: every value whole, below 2**53 in
    size, not -0.0 (written "-0"); NaN, which that cast refuses, is not whole here. (No
    branch in the loop: one pass whatever the values, several at a time.)"""
    odd = False
    for i in range(len(values)):
        v = values[i]
        bad = (abs(v) >= _WHOLE_LIMIT) | (v != np.floor(v)) | ((v == 0) & np.signbit(v))
        odd |= bad & (_bit(bits, first + i) == 1)
    return not odd


@jit
def _whole_seconds(values, per_second, low, high, bits, first):  # pragma: no cover
    """output.iso_utc writes whole seconds without a fraction; it first makes nanoseconds,
    which fails outside [low, high] (about 1677-2262). (No branch, as in ``_whole``.)"""
    odd = False
    for i in range(len(values)):
        v = values[i]
        bad = (v < low) | (v > high) | (_seconds(v, per_second) * per_second != v)
        odd |= bad & (_bit(bits, first + i) == 1)
    return not odd


@dataclass(frozen=True)
class _Column:
    """How one column is written: its kind, and for text whether it is defused, for times
    the unit's ticks per second."""

    kind: int
    defuse: bool = False
    per_second: int = 1


def write_table(
    table: pa.Table, path: Path | str, *, defuse: Collection[str], times: Collection[str]
) -> bool:
    """Write ``table`` as ``output.write_probes_arrow`` would (``defuse``: text columns that
    get the formula prefix; ``times``: time columns written as ISO text) and return True; or
    return False, writing nothing, when some column's type or values are not handled here."""
    columns = plan(table, defuse=defuse, times=times)
    if columns is None:
        return False
    with open(path, "wb", buffering=0) as file:
        for part in formatted(table, columns):
            file.write(part)
    return True


def plan(
    table: pa.Table, *, defuse: Collection[str], times: Collection[str]
) -> list[_Column] | None:
    """Each column's way of writing, or None when some column is not handled."""
    names = table.column_names
    if not names or len(set(names)) < len(names):
        return None
    fields = table.schema
    columns = [_column(fields.field(i).type, n in defuse, n in times) for i, n in enumerate(names)]
    if any(c is None for c in columns):
        return None
    for column, chunked in zip(columns, table.columns, strict=True):
        if not all(_fits(column, chunk) for chunk in chunked.chunks):
            return None
    return columns


def _column(kind: pa.DataType, defused: bool, timed: bool) -> _Column | None:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return None if timed else _Column(TEXT, defuse=defused)
    if pa.types.is_null(kind):  # empty as text, as time, as anything
        return _Column(EMPTY)
    if defused:  # the Arrow path writes other types in text columns as strings
        return None
    if pa.types.is_timestamp(kind):
        return _Column(TIME, per_second=_PER_SECOND[kind.unit]) if timed else None
    if timed:
        return None
    if pa.types.is_boolean(kind):
        return _Column(BOOL)
    if pa.types.is_integer(kind):
        return _Column(UNSIGNED if kind == pa.uint64() else SIGNED)
    if kind == pa.float64():
        return _Column(WHOLE)
    return None


def _fits(column: _Column, chunk: pa.Array) -> bool:
    """Whether the chunk's values are written here as the Arrow path writes them."""
    if chunk.null_count == len(chunk):  # written as EMPTY (its values may be absent)
        return True
    if column.kind == WHOLE:
        return _whole(_values(chunk), *_validity(chunk))
    if column.kind == TIME:
        to_ns = _NS // column.per_second
        low, high = -((_INT64_MAX + 1) // to_ns), _INT64_MAX // to_ns
        return _whole_seconds(_values(chunk), column.per_second, low, high, *_validity(chunk))
    return True


def header(names: list[str]) -> bytes:
    """The quoted column names, as Arrow writes them."""
    quoted = ['"' + name.replace('"', '""') + '"' for name in names]
    return (",".join(quoted) + "\n").encode()


def formatted(table: pa.Table, columns: list[_Column], batch_rows: int | None = None):
    """The CSV text, header first, then a batch of rows at a time (``BATCH_ROWS``): each
    part is a view of one reused buffer, valid until the next part is asked for."""
    batch_rows = batch_rows or BATCH_ROWS
    yield header(table.column_names)
    slots = np.empty(batch_rows, dtype=np.int64)
    starts, pos, ends = (np.empty(batch_rows, dtype=np.int64) for _ in range(3))
    out = np.empty(0, dtype=np.uint8)
    last = len(columns) - 1
    for batch in table.to_batches():  # whole chunks, aligned across columns
        cells = [_cells(c, a) for c, a in zip(columns, batch.columns, strict=True)]
        text = [args[0] for kind, args in cells if kind == TEXT]
        fixed = sum(_WIDEST[kind] for kind, _ in cells if kind != TEXT)
        for row0 in range(0, batch.num_rows, batch_rows):
            n = min(batch_rows, batch.num_rows - row0)
            rows = slots[:n]
            rows[:] = fixed
            for offsets in text:
                _text_slots(offsets, row0, rows)
            size = _place(rows, starts[:n], pos[:n], ends[:n])
            if size > len(out):
                out = np.empty(max(size, 2 * len(out)), dtype=np.uint8)
            for k, (kind, args) in enumerate(cells):
                sep = _COMMA if k < last else _NEWLINE
                _WRITE[kind](*args, row0, out, pos[:n], ends[:n], sep)
            yield out[: _compact(out, starts[:n], pos[:n])]


def _cells(column: _Column, chunk: pa.Array) -> tuple[int, tuple]:
    """The kernel arguments for one batch of a column (views of its buffers, no copies)."""
    kind = column.kind
    if kind == EMPTY or chunk.null_count == len(chunk):
        return EMPTY, ()
    validity = _validity(chunk)
    if kind == TEXT:
        return kind, (*_text(chunk), *validity, column.defuse)
    if kind == BOOL:
        return kind, (_view(chunk.buffers()[1], np.uint8), chunk.offset, *validity)
    if kind == TIME:
        return kind, (_values(chunk), column.per_second, *validity)
    return kind, (_values(chunk), *validity)


def _validity(chunk: pa.Array) -> tuple[np.ndarray, int]:
    """The validity bitmap and the chunk's first bit in it (ones when there is none)."""
    if chunk.null_count:
        return _view(chunk.buffers()[0], np.uint8), chunk.offset
    ones = _ALL_VALID[0]  # (read once: another thread may replace it meanwhile)
    if 8 * len(ones) <= len(chunk):
        ones = _ALL_VALID[0] = _view(b"\xff" * ((len(chunk) >> 3) + 1), np.uint8)
    return ones, 0


def _values(chunk: pa.Array) -> np.ndarray:
    """A fixed-width chunk's values in place (narrow integers widened: rare in a table)."""
    kind = chunk.type
    dtype = np.dtype(np.int64) if pa.types.is_timestamp(kind) else np.dtype(kind.to_pandas_dtype())
    values = _view(chunk.buffers()[1], dtype, chunk.offset + len(chunk))[chunk.offset :]
    if dtype.kind in "iu" and dtype.itemsize < 8:
        values = readonly(values.astype(np.int64))
    return values


def _text(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string chunk's offsets (into the whole data buffer) and data bytes, in place.
    (``arrowtext.TextBuffers`` rebases the offsets into a new int64 array and tells null
    from empty only through ``filled``: CSV writes those two differently.)"""
    wide = pa.types.is_large_string(chunk.type)
    buffers = chunk.buffers()
    offsets = _view(buffers[1], np.int64 if wide else np.int32)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    data = _NOTHING if buffers[2] is None else _view(buffers[2], np.uint8)
    return offsets, data


def _view(buffer, dtype, count: int = -1) -> np.ndarray:
    """An Arrow buffer as a read-only numpy array. Arrow's own buffers are writable, those
    from numpy (a pandas column) may not be: numba compiles each kernel once for each, so
    every view is made read-only to be one type (the one ``warm`` compiles)."""
    return readonly(np.frombuffer(buffer, dtype=dtype, count=count))


_ALL_VALID = [_view(b"\xff", np.uint8)]  # the validity of the longest column yet without nulls


# the widest text of a cell and its separator: int64's minimum; 2**53 with its sign; a time
_WIDEST = {BOOL: 6, SIGNED: 21, UNSIGNED: 21, WHOLE: 18, TIME: 23, EMPTY: 1}
_WRITE = {
    TEXT: _write_text,
    BOOL: _write_bool,
    SIGNED: _write_signed,
    WHOLE: _write_signed,
    UNSIGNED: _write_unsigned,
    TIME: _write_time,
    EMPTY: _write_empty,
}


def warm() -> None:
    """Every kernel once, on tiny tables of every handled type (nulls or not, the argument
    types are the same)."""
    times = pa.array([0, None], pa.timestamp("ns", tz="UTC"))
    table = pa.table(
        {
            "s": pa.array(["=a", None], pa.string()),
            "l": pa.array(['"', "b"], pa.large_string()),
            "e": pa.array(["", ""], pa.string()),
            "b": pa.array([True, None]),
            "i": pa.array([-1, None], pa.int64()),
            "n": pa.array([1, 2], pa.int32()),
            "u": pa.array([2**64 - 1, None], pa.uint64()),
            "f": pa.array([1.0, None], pa.float64()),
            "t": times,
            "z": pa.array([None, None], pa.null()),
        }
    )
    for each in (table, pa.table({"t": times.fill_null(0), "f": [2.0, 3.0]})):
        columns = plan(each, defuse={"s", "l"}, times={"t"})
        for _ in formatted(each, columns):
            pass

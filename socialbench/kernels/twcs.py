"""The twcs CSV layout read in one compiled pass per part of the file, the parts in parallel.

``sources.twcs`` defines what a file means: Arrow's CSV reader (quoted fields, doubled
quotes, newlines inside quotes, CRLF or LF line ends, empty lines skipped, every value a
string), then trimming, the ``.0`` of float-written ids cut, ``inbound`` as true/false in any
case and Twitter timestamps. With newlines allowed inside values Arrow reads on one core
(1.25 s for 275 MB), and each conversion after it is another pass making another column.
Here each part of the file is read by one kernel that finds the fields, checks them,
converts them and copies the strings out, in one pass over its bytes, eight at a time.

The kernel reads only the plain form of the layout and declines (``parse`` gives a reason
and no columns) any file where its answer could differ from the definition's, which the
general reader then reads and where it names every problem: a field that needs trimming;
an id that is not a canonical integer (digits, no leading zero, int64, an optional ``.0``);
an empty id or author; ``inbound`` other than true/false; a time not in the Twitter layout
or outside pandas' nanosecond range (1677 to 2262); a field that is not UTF-8; a quote
inside an unquoted field or text after a closing quote; a wrong number of fields; a
carriage return not followed by a line feed (which the general reader rewrites).

Parts: the file is cut after a line end outside quotes. Quotes counted from the first data
byte to a cut say whether it falls inside a quoted field, and the part before the cut must
end exactly there when read (it checks every quote's place), so a wrong cut is never used.

The time of a row is ``kernels.times``' parse, compiled into this kernel: numba's cache
does not notice when that module changes, so after editing it, delete
``socialbench/kernels/__pycache__`` (``python -m socialbench.kernels`` compiles them again).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from socialbench.kernels import jit
from socialbench.kernels.memory import get, load_word, popcount, put, store_word, trailing_zeros
from socialbench.kernels.times import WIDTH, _row

# what the kernel does with each field of a row
SKIP, CHECK, ID, AUTHOR, INBOUND, CREATED, TEXT, PARENT = range(8)
ROLES = {
    "tweet_id": ID,
    "author_id": AUTHOR,
    "inbound": INBOUND,
    "created_at": CREATED,
    "text": TEXT,
    "in_response_to_tweet_id": PARENT,
    "response_tweet_id": SKIP,  # not read by the general reader either (so not checked)
}
# the shortest row the kernel accepts: id, author, inbound, a Twitter time and five commas
_SHORTEST_ROW = 1 + 1 + 4 + WIDTH + 5
_NS = 1_000_000_000
# times are nanoseconds in int64 (as in pandas): 1677-09-21 to 2262-04-11; others decline
_LAST_SECOND = (2**63 - 1) // _NS
_FIRST_SECOND = -_LAST_SECOND  # whole seconds only: 1677-09-21 00:12:43 is out

_QUOTE, _COMMA, _LF, _CR, _DOT, _ZERO = (ord(c) for c in '",\n\r.0')
_INT64_MAX = np.iinfo(np.int64).max
_ONES, _HIGHS, _LOWS = (np.uint64(0x0101010101010101 * b) for b in (0x01, 0x80, 0x7F))
_QUOTES, _COMMAS, _LFS, _CRS = (_ONES * np.uint64(b) for b in b'",\n\r')

# byte -> may be (part of) whitespace: ASCII spaces, and every non-ASCII byte (it may begin
# or end a Unicode space); a field trimmed by the definition must not start or end with one
_SPACE = np.zeros(256, dtype=np.bool_)
_SPACE[[ord(c) for c in " \t\n\v\f\r\x1c\x1d\x1e\x1f"]] = True
_SPACE[0x80:] = True

# why the kernel declined (tests read these; callers only see None)
OK, SHAPE, QUOTING, NUMBER, EMPTY, FLAG, TIME, UTF8, SPACE, FULL, BARE_CR = range(11)


@jit
def _zeros(x):  # pragma: no cover - compiled
    """High bit set in the lowest zero byte of x (and maybe in bytes above it): the first
    match, eight bytes at a time."""
    return (x - _ONES) & ~x & _HIGHS


@jit
def _first(t):  # pragma: no cover - compiled
    """The byte of the lowest high bit set in t."""
    return np.int64(trailing_zeros(t)) >> 3


@jit
def _quotes(data, a, b):  # pragma: no cover - compiled
    """How many quote bytes data[a:b] holds (exactly: each zero byte's high bit alone)."""
    count = 0
    k = a
    while k + 8 <= b:
        x = load_word(data, k) ^ _QUOTES
        count += np.int64(popcount(~(((x & _LOWS) + _LOWS) | x) & _HIGHS))
        k += 8
    while k < b:
        count += get(data, k) == _QUOTE
        k += 1
    return count


@jit
def _find(data, k, end, byte):  # pragma: no cover - compiled
    """The first ``byte`` from k, or end."""
    pattern = _ONES * np.uint64(byte)
    while k + 8 <= end:
        t = _zeros(load_word(data, k) ^ pattern)
        if t:
            return k + _first(t)
        k += 8
    while k < end and get(data, k) != byte:
        k += 1
    return k


@jit
def _find_stop(data, k, end):  # pragma: no cover - compiled
    """The first comma, quote, line feed or carriage return from k, or end."""
    while k + 8 <= end:
        w = load_word(data, k)
        t = _zeros(w ^ _COMMAS) | _zeros(w ^ _QUOTES) | _zeros(w ^ _LFS) | _zeros(w ^ _CRS)
        if t:
            return k + _first(t)
        k += 8
    while k < end:
        c = get(data, k)
        if c == _COMMA or c == _QUOTE or c == _LF or c == _CR:
            return k
        k += 1
    return k


@jit
def _bare_cr(data, a, b):  # pragma: no cover - compiled
    """Whether data[a:b] holds a carriage return not followed by a line feed."""
    k = a
    while k < b:
        k = _find(data, k, b, _CR)
        if k < b and (k + 1 == b or get(data, k + 1) != _LF):
            return True
        k += 1
    return False


@jit
def _boundaries(data, begin, end, parts):  # pragma: no cover - compiled
    """``parts + 1`` cut positions from ``begin`` to ``end``: each cut just after the first
    line end, from an even share on, where an even number of quotes precede it."""
    cuts = np.empty(parts + 1, dtype=np.int64)
    cuts[0] = begin
    quotes = 0
    at = begin
    for p in range(1, parts):
        target = max(begin + (end - begin) * p // parts, at)
        quotes += _quotes(data, at, target)
        k = target
        while k < end:
            c = get(data, k)
            if c == _LF and quotes % 2 == 0:
                break
            quotes += c == _QUOTE
            k += 1
        at = min(k + 1, end)
        cuts[p] = at
    cuts[parts] = end
    return cuts


@jit
def _utf8(data, a, b):  # pragma: no cover - compiled
    """Whether data[a:b] is valid UTF-8 (no overlong forms, surrogates or values past
    U+10FFFF, as Arrow's check)."""
    k = a
    while k < b:
        c = data[k]
        if c < 0x80:
            k += 1
            continue
        if 0xC2 <= c <= 0xDF:
            more, low, high = 1, 0x80, 0xBF
        elif c == 0xE0:
            more, low, high = 2, 0xA0, 0xBF
        elif c == 0xED:
            more, low, high = 2, 0x80, 0x9F
        elif 0xE1 <= c <= 0xEF:
            more, low, high = 2, 0x80, 0xBF
        elif c == 0xF0:
            more, low, high = 3, 0x90, 0xBF
        elif 0xF1 <= c <= 0xF3:
            more, low, high = 3, 0x80, 0xBF
        elif c == 0xF4:
            more, low, high = 3, 0x80, 0x8F
        else:
            return False
        if k + more >= b:
            return False
        if not (low <= data[k + 1] <= high):
            return False
        for j in range(k + 2, k + 1 + more):
            if not (0x80 <= data[j] <= 0xBF):
                return False
        k += 1 + more
    return True


@jit
def _ascii(data, a, b):  # pragma: no cover - compiled
    """Whether data[a:b] is all ASCII, eight bytes at a time."""
    high = np.uint64(0)
    k = a
    while k + 8 <= b:
        high |= load_word(data, k)
        k += 8
    while k < b:
        high |= np.uint64(get(data, k))
        k += 1
    return (high & _HIGHS) == 0


@jit
def _copy(data, a, b, doubled, out, at):  # pragma: no cover - compiled
    """data[a:b] into out from ``at``, each doubled quote as one when ``doubled``; the end.
    Eight bytes at a time where both arrays have them (the bytes past b written meanwhile
    are overwritten by the next copy or left past the end)."""
    n = b - a
    if doubled:
        k = a
        while k < b:
            c = get(data, k)
            put(out, at, c)
            at += 1
            k += 2 if c == _QUOTE else 1
        return at
    if a + n + 8 <= len(data) and at + n + 8 <= len(out):
        for j in range(0, n, 8):
            store_word(out, at + j, load_word(data, a + j))
    else:
        for j in range(n):
            put(out, at + j, get(data, a + j))
    return at + n


@jit
def _number(data, a, b):  # pragma: no cover - compiled
    """The canonical integer written in data[a:b] (an optional ``.0`` after it), its digits'
    end; -1 when it is not one (empty, a non-digit, a leading zero, beyond int64)."""
    if b - a >= 2 and data[b - 1] == _ZERO and data[b - 2] == _DOT:
        b -= 2
    if b == a or (data[a] == _ZERO and b - a > 1):
        return -1, b
    limit = _INT64_MAX // 10
    value = 0
    for k in range(a, b):
        digit = np.int64(data[k]) - _ZERO
        if digit < 0 or digit > 9:
            return -1, b
        if value > limit or (value == limit and digit > _INT64_MAX % 10):
            return -1, b
        value = value * 10 + digit
    return value, b


@jit
def _flag(data, a, b):  # pragma: no cover - compiled
    """1 for "true", 0 for "false" in any case, -1 for anything else."""
    word = 0
    for k in range(a, b):
        word = word << 8 | (np.int64(data[k]) | 0x20)
    if b - a == 4 and word == 0x74727565:  # true
        return 1
    if b - a == 5 and word == 0x66616C7365:  # false
        return 0
    return -1


@jit
def _scan(
    data, begin, end, roles, nanoseconds, inbound, offsets, buffers, used
):  # pragma: no cover
    """Read the rows of data[begin:end] (``end`` must be a row boundary or the file's end).

    ``nanoseconds``: each row's time; ``offsets``/``buffers`` rows: ids, parents (empty where
    none), authors, texts (``used``: bytes written to each buffer). Returns (why, rows,
    position): why is OK, or the reason the kernel declines at ``position``."""
    fields = len(roles)
    capacity = len(inbound)
    size_id, size_parent, size_author, size_text = 0, 0, 0, 0
    for j in range(4):
        offsets[j, 0] = 0
    row = 0
    pos = begin
    while pos < end:
        c = get(data, pos)
        if c == _LF:  # an empty line
            pos += 1
            continue
        if c == _CR and pos + 1 < end and get(data, pos + 1) == _LF:
            pos += 2
            continue
        if row == capacity:
            return FULL, row, pos
        for f in range(fields):
            start = pos
            doubled = False
            if pos < end and get(data, pos) == _QUOTE:
                a = pos + 1
                k = a
                while True:
                    k = _find(data, k, end, _QUOTE)
                    if k >= end:
                        return QUOTING, row, start
                    if k + 1 < end and get(data, k + 1) == _QUOTE:
                        doubled = True
                        k += 2
                        continue
                    break
                b = k
                pos = k + 1
                if _bare_cr(data, a, b):
                    return BARE_CR, row, start
            else:
                a = pos
                b = _find_stop(data, pos, end)
                pos = b
            if f < fields - 1:
                if pos >= end or data[pos] != _COMMA:
                    return (QUOTING if pos < end and data[pos] == _QUOTE else SHAPE), row, start
                pos += 1
            elif pos < end:
                if get(data, pos) == _LF:
                    pos += 1
                elif data[pos] == _CR and pos + 1 < end and data[pos + 1] == _LF:
                    pos += 2
                else:
                    return (QUOTING if data[pos] == _QUOTE else SHAPE), row, start
            role = roles[f]
            if role == SKIP:
                continue
            if role == TEXT or role == CHECK:
                if not _ascii(data, a, b) and not _utf8(data, a, b):
                    return UTF8, row, start
                if role == TEXT:
                    size_text = _copy(data, a, b, doubled, buffers[3], size_text)
                    offsets[3, row + 1] = size_text
                continue
            if b > a and (_SPACE[data[a]] or _SPACE[data[b - 1]]):
                return SPACE, row, start
            if doubled:
                return QUOTING, row, start
            if role == ID or role == PARENT:
                if role == PARENT and b == a:
                    offsets[1, row + 1] = size_parent
                    continue
                value, digits = _number(data, a, b)
                if value < 0:
                    return NUMBER, row, start
                if role == ID:
                    size_id = _copy(data, a, digits, False, buffers[0], size_id)
                    offsets[0, row + 1] = size_id
                else:
                    size_parent = _copy(data, a, digits, False, buffers[1], size_parent)
                    offsets[1, row + 1] = size_parent
            elif role == AUTHOR:
                if b == a:
                    return EMPTY, row, start
                if not _ascii(data, a, b) and not _utf8(data, a, b):
                    return UTF8, row, start
                size_author = _copy(data, a, b, False, buffers[2], size_author)
                offsets[2, row + 1] = size_author
            elif role == INBOUND:
                flag = _flag(data, a, b)
                if flag < 0:
                    return FLAG, row, start
                inbound[row] = flag == 1
            elif role == CREATED:
                if b - a != WIDTH or not _ascii(data, a, b):  # the weekday is not read
                    return TIME, row, start
                value, valid = _row(data, np.uint64(a))
                if not valid or not (_FIRST_SECOND <= value <= _LAST_SECOND):
                    return TIME, row, start
                nanoseconds[row] = value * _NS
        row += 1
    used[0], used[1], used[2], used[3] = size_id, size_parent, size_author, size_text
    return OK, row, pos


@dataclass
class Columns:
    """What the general reader's conversion gives, for a file the kernel read: strings as
    Arrow large strings, pandas' own type (ids and parents cleaned, "" where none);
    ``inbound`` and the times (epoch nanoseconds) as numpy."""

    id: pa.ChunkedArray
    parent: pa.ChunkedArray
    author: pa.ChunkedArray
    text: pa.ChunkedArray
    inbound: np.ndarray
    nanoseconds: np.ndarray


class _Part:
    """One part's output arrays (sized for the most rows it can hold) and its result."""

    def __init__(self, data: np.ndarray, begin: int, end: int, roles: np.ndarray) -> None:
        self.args = (data, begin, end, roles)
        capacity = (end - begin) // _SHORTEST_ROW + 1
        self.nanoseconds = np.empty(capacity, dtype=np.int64)
        self.inbound = np.empty(capacity, dtype=np.bool_)
        self.offsets = np.empty((4, capacity + 1), dtype=np.int64)
        # pages are only touched as bytes are written, so four part-sized buffers cost
        # address space, not memory
        self.buffers = np.empty((4, max(end - begin, 1)), dtype=np.uint8)
        self.used = np.zeros(4, dtype=np.int64)
        self.result = (FULL, 0, begin)

    def __call__(self) -> None:
        self.result = _scan(
            *self.args, self.nanoseconds, self.inbound, self.offsets, self.buffers, self.used
        )

    def strings(self, j: int, rows: int) -> pa.Array:
        offsets = pa.py_buffer(self.offsets[j, : rows + 1])
        return pa.Array.from_buffers(
            pa.large_string(), rows, [None, offsets, pa.py_buffer(self.buffers[j, : self.used[j]])]
        )


def parse(
    data: np.ndarray, begin: int, header: list[str], *, parts: int | None = None
) -> tuple[int, int, Columns | None]:
    """Read the rows of ``data`` (the file's bytes) from ``begin`` (just after the header
    line), whose fields are named by ``header``: (OK, rows, the columns), or (the reason it
    declined, the row, None)."""
    if len(set(header)) < len(header):
        return SHAPE, 0, None
    roles = np.array([ROLES.get(name, CHECK) for name in header], dtype=np.int8)
    if sorted(r for r in roles if r > CHECK) != [ID, AUTHOR, INBOUND, CREATED, TEXT, PARENT]:
        return SHAPE, 0, None
    end = len(data)
    if parts is None:
        parts = os.cpu_count() or 1
    parts = max(1, parts)
    cuts = _boundaries(data, begin, end, parts)
    work = [_Part(data, int(a), int(b), roles) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    helpers = [threading.Thread(target=part) for part in work[1:]]
    for thread in helpers:
        thread.start()
    work[0]()
    for thread in helpers:
        thread.join()
    rows = 0
    for part, cut in zip(work, cuts[1:], strict=True):
        why, n, pos = part.result
        if why != OK:
            return why, rows + n, None
        if pos != cut:  # the part's last row ran past the cut: a quote was out of place
            return QUOTING, rows + n, None
        rows += n
    if not rows:
        return SHAPE, 0, None
    return OK, rows, _columns([p for p in work if p.result[1]])


def _columns(work: list[_Part]) -> Columns:
    counts = [part.result[1] for part in work]

    def numbers(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name)[:n] for p, n in zip(work, counts, strict=True)])

    def strings(j: int) -> pa.ChunkedArray:
        return pa.chunked_array(
            [part.strings(j, n) for part, n in zip(work, counts, strict=True)], pa.large_string()
        )

    return Columns(
        id=strings(0),
        parent=strings(1),
        author=strings(2),
        text=strings(3),
        inbound=numbers("inbound"),
        nanoseconds=numbers("nanoseconds"),
    )


def warm() -> None:
    """Compile (or load) the kernels on a two-row file, read in two parts."""
    text = (
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        '1,a,True,Tue Oct 31 22:10:47 +0000 2017,"hi ""x""\n\xc3\xa9",2,\n'
        "2,b,false,Tue Oct 31 22:11:47 +0000 2017,ok,,1.0\r\n"
    ).encode()
    data = np.frombuffer(text, dtype=np.uint8)
    begin = text.index(b"\n") + 1
    parse(data, begin, text[: begin - 1].decode().split(","), parts=2)

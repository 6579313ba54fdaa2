"""Twitter timestamps (``Tue Oct 31 22:10:47 +0000 2017``) to epoch seconds in one pass.

The vectorised parse read each field through a strided view of Arrow's string buffer and
made dozens of column-sized arrays on the way; here each row's 30 bytes are read once, in
place, and only the seconds and the validity mask are written. What is valid is unchanged:
the weekday is not read; the month's letters match in either case; digits, separators and a
``+`` or ``-`` sign must be where the layout puts them; day 1 to the month's length (leap
years proleptic Gregorian, year 0000 included), hour < 24, minute < 60, second < 61 (a leap
second counts into the next minute); the offset's hhmm are any digits.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench import arrowtext
from socialbench.kernels import jit

WIDTH = 30  # "Tue Oct 31 22:10:47 +0000 2017"
_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_KEYS = tuple(int.from_bytes(name.encode(), "big") for name in _NAMES)  # upper-cased letters
_LENGTHS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CASES = 0xDFDFDF  # clears three ASCII letters' lower-case bit
_SPACE, _COLON, _PLUS, _MINUS, _ZERO = (ord(c) for c in " :+-0")


@jit
def _parse(data, offsets, seconds, ok):  # pragma: no cover - compiled
    """Fill seconds and ok for every row; False (rows left unfilled) as soon as a row is not
    WIDTH bytes wide, before reading it."""
    for i in range(len(offsets) - 1):
        if offsets[i + 1] - offsets[i] != WIDTH:
            return False
        seconds[i], ok[i] = _row(data, np.uint64(offsets[i]))
    return True


@jit
def _byte(data, at, k):  # pragma: no cover - compiled
    """Byte ``k`` of the row at ``at``, as a signed integer. ``at`` is unsigned: a signed
    index costs a test for Python's negative indices at every byte (a quarter of the time)."""
    return np.int64(data[at + np.uint64(k)])


@jit
def _row(data, at):  # pragma: no cover - compiled
    """(epoch seconds, True) of the row at ``at``, (0, False) when it is not a valid time.
    Straight-line code: every check is folded into one test per kind, not a branch per byte."""
    month = _month(data, at, 4)
    day, year = _number(data, at, 8, 2), _number(data, at, 26, 4)
    hh, mi, ss = _number(data, at, 11, 2), _number(data, at, 14, 2), _number(data, at, 17, 2)
    oh, om = _number(data, at, 21, 2), _number(data, at, 23, 2)
    if not _separators(data, at) or month == 0 or (day | year | hh | mi | ss | oh | om) < 0:
        return 0, False
    if day < 1 or hh > 23 or mi > 59 or ss > 60 or day > _month_length(year, month):
        return 0, False
    zone = oh * 3600 + om * 60
    if _byte(data, at, 20) == _MINUS:
        zone = -zone
    return _days_from_civil(year, month, day) * 86400 + hh * 3600 + mi * 60 + ss - zone, True


@jit
def _separators(data, at):  # pragma: no cover - compiled
    """Spaces, colons and the offset's sign where the layout has them."""
    spaces = 0
    for k in (3, 7, 10, 19, 25):
        spaces |= _byte(data, at, k) ^ _SPACE
    colons = _byte(data, at, 13) ^ _COLON | _byte(data, at, 16) ^ _COLON
    sign = _byte(data, at, 20)
    return (spaces | colons) == 0 and (sign == _PLUS or sign == _MINUS)


@jit
def _month(data, at, k):  # pragma: no cover - compiled
    """1..12 for the three-letter month name at byte ``k``, in any case; 0 for anything else."""
    key = _byte(data, at, k) << 16 | _byte(data, at, k + 1) << 8 | _byte(data, at, k + 2)
    key &= _CASES
    for m in range(12):
        if key == _KEYS[m]:
            return m + 1
    return 0


@jit
def _number(data, at, k, digits):  # pragma: no cover - compiled
    """The decimal number of ``digits`` bytes from byte ``k``, -1 unless all are digits
    (a byte outside 0..9 makes ``digit`` or ``9 - digit`` negative, and so ``check``)."""
    value = 0
    check = 0
    for j in range(digits):
        digit = _byte(data, at, k + j) - _ZERO
        value = value * 10 + digit
        check |= digit | (9 - digit)
    return value if check >= 0 else -1


@jit
def _month_length(year, month):  # pragma: no cover - compiled
    """Days in a month of the proleptic Gregorian calendar (the day's upper bound)."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return _LENGTHS[month - 1] + (1 if leap and month == 2 else 0)


@jit
def _days_from_civil(year, month, day):  # pragma: no cover - compiled
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm;
    ``//`` floors, as for year 0's January and February)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_twitter(chunks: list[pa.Array]) -> tuple[np.ndarray, np.ndarray] | None:
    """Epoch seconds (0 where not valid) and validity of the texts of string ``chunks``, in
    one pair of arrays; None when there are none, or one is null or not WIDTH bytes wide."""
    n = sum(len(chunk) for chunk in chunks)
    if not n or any(chunk.null_count for chunk in chunks):
        return None
    seconds = np.empty(n, dtype=np.int64)
    ok = np.empty(n, dtype=np.bool_)
    start = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        text = arrowtext.TextBuffers(chunk)
        end = start + len(chunk)
        if text.data is None:  # every value empty
            return None
        if not _parse(text.data, text.offsets, seconds[start:end], ok[start:end]):
            return None
        start = end
    return seconds, ok


def warm() -> None:
    """Compile (or load) the kernel for the argument types callers pass: TextBuffers gives
    uint8 data and int64 offsets for string and large_string alike (and Arrow's buffers,
    CSV-read or computed, arrive writable, so one signature)."""
    sample = "Tue Oct 31 22:10:47 +0000 2017"
    for kind in (pa.string(), pa.large_string()):
        parse_twitter([pa.array([sample], kind)])

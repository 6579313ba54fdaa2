"""Fast, exact conversions between fixed-width time text and epoch seconds, with numpy.

Archives hold millions of timestamps in a handful of fixed-width layouts. Reading them in
place from Arrow's string buffer (a strided integer view per field) with integer date
arithmetic (Howard Hinnant's civil-date algorithms) is an order of magnitude faster than
general parsers; callers fall back to the general ones whenever a value does not fit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialbench import arrowtext

TWITTER_WIDTH = 30  # "Tue Oct 31 22:10:47 +0000 2017"
ISO_WIDTH = 20  # "2017-10-31T22:10:47Z"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZERO = ord("0")


def _month_table() -> np.ndarray:
    """Low 5 bits of each of three letters -> month 1..12 (0 for anything else)."""
    table = np.zeros(1 << 15, dtype=np.int64)
    for number, name in enumerate(_MONTHS, start=1):
        a, b, c = (ord(ch) & 31 for ch in name)
        table[a << 10 | b << 5 | c] = number
    return table


_MONTH_TABLE = _month_table()


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (vectorised)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (vectorised)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


class _Rows:
    """Fixed-width text rows read in place from an Arrow string array's data buffer."""

    def __init__(self, column: pa.Array, width: int) -> None:
        text = arrowtext.TextBuffers(column)
        self.fits = not column.null_count and bool(np.all(text.end - text.start == width))
        self.data = text.data if self.fits else None
        self.n, self.width = len(column), width

    def chars(self, at: int, count: int = 1) -> np.ndarray:
        """Characters [at, at + count) of every row as one little-endian unsigned integer."""
        dtype = {1: "u1", 2: "<u2", 4: "<u4"}[count]
        view = np.ndarray(
            (self.n,), dtype=dtype, buffer=self.data, offset=at, strides=(self.width,)
        )
        return view.astype(np.int64)

    def number(self, at: int, digits: int) -> tuple[np.ndarray, np.ndarray]:
        """The decimal number of 2 or 4 digits at ``at``, and whether they all are digits."""
        word = self.chars(at, digits)
        value = np.zeros(self.n, dtype=np.int64)
        ok = np.ones(self.n, dtype=bool)
        for i in range(digits):
            digit = ((word >> (8 * i)) & 0xFF) - _ZERO
            ok &= (digit >= 0) & (digit <= 9)
            value = value * 10 + digit
        return value, ok


def parse_twitter(
    column: pa.Array | pa.ChunkedArray, *, threads: int = 1
) -> tuple[np.ndarray, np.ndarray] | None:
    """Epoch seconds and a validity mask for ``Tue Oct 31 22:10:47 +0000 2017`` texts.

    None when some value is missing or not 30 characters wide (the caller then parses
    generally). Invalid values (bad digits, month, ranges or separators) are False in the mask.
    Chunks are parsed on ``threads`` threads (numpy releases the GIL).
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    rows = [_Rows(chunk, TWITTER_WIDTH) for chunk in chunks if len(chunk)]
    if not rows or not all(r.fits for r in rows):
        return None
    if threads > 1 and len(rows) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(_parse_twitter_rows, rows))
    else:
        parts = [_parse_twitter_rows(r) for r in rows]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _parse_twitter_rows(rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
    name = rows.chars(4, 4) & 0xFFFFFF  # the month's three letters
    code = ((name & 31) << 10) | (((name >> 8) & 31) << 5) | ((name >> 16) & 31)
    month = _MONTH_TABLE[code]
    ok = (month > 0) & _letters(name & 0xDFDFDF)
    day, hh, mi, ss = (_checked(rows.number(at, 2), ok) for at in (8, 11, 14, 17))
    oh, om = _checked(rows.number(21, 2), ok), _checked(rows.number(23, 2), ok)
    year = _checked(rows.number(26, 4), ok)
    sign_char = rows.chars(20)
    for at in (3, 7, 10, 19, 25):
        ok &= rows.chars(at) == ord(" ")
    ok &= (rows.chars(13) == ord(":")) & (rows.chars(16) == ord(":"))
    ok &= (sign_char == ord("+")) | (sign_char == ord("-"))
    ok &= (day >= 1) & (hh < 24) & (mi < 60) & (ss < 61) & (day <= _month_length(year, month))
    sign = np.where(sign_char == ord("-"), -1, 1)
    seconds = (_days(year, month, ok) + day - 1) * 86400 + hh * 3600 + mi * 60 + ss
    return seconds - sign * (oh * 3600 + om * 60), ok


def _checked(parsed: tuple[np.ndarray, np.ndarray], ok: np.ndarray) -> np.ndarray:
    value, fine = parsed
    ok &= fine
    return value


def _letters(upper: np.ndarray) -> np.ndarray:
    """Whether three upper-cased bytes packed little-endian are all ASCII letters."""
    ok = np.ones(len(upper), dtype=bool)
    for i in range(3):
        byte = (upper >> (8 * i)) & 0xFF
        ok &= (byte >= ord("A")) & (byte <= ord("Z"))
    return ok


def _days(year: np.ndarray, month: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Days since the epoch of the first of each (year, month), via a small lookup table."""
    ym = year * 12 + (month - 1)
    low, high = (int(ym[ok].min()), int(ym[ok].max())) if ok.any() else (0, 0)
    span = np.arange(low, high + 1)
    table = days_from_civil(span // 12, span % 12 + 1, np.ones_like(span))
    return table[np.clip(ym - low, 0, high - low)]


def _month_length(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    lengths = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return lengths[np.clip(month - 1, 0, 11)] + (leap & (month == 2))


def format_iso(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """``YYYY-MM-DDTHH:MM:SSZ`` texts for epoch seconds (years 0–9999); null where not valid.

    Each row is two lookups: its date in a table of the days the data spans (computed once
    per day) and its time of day in a table of the 86,400 seconds of a day."""
    n = len(seconds)
    days, rest = np.divmod(seconds.astype(np.int64), 86400)
    first = int(days.min()) if n else 0
    span = int(days.max()) - first + 1 if n else 0
    out = np.empty((n, ISO_WIDTH), dtype=np.uint8)
    if span <= max(n, 1 << 16):
        out[:, :10] = _dates(np.arange(first, first + span))[days - first]
    else:  # centuries apart: each row's own date
        out[:, :10] = _dates(days)
    out[:, 10] = ord("T")
    out[:, 11:19] = _time_of_day()[rest]
    out[:, 19] = ord("Z")
    offsets = np.arange(0, (n + 1) * ISO_WIDTH, ISO_WIDTH, dtype=np.int32)
    mask = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out), mask)


def _dates(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of each day since the epoch, as rows of 10 bytes."""
    year, month, day = civil_from_days(days)
    return _digits(((year, 4), (month, 2), (day, 2)), separator="-")


def _time_of_day() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day, as rows of 8 bytes (made once)."""
    global _TIME_OF_DAY
    if _TIME_OF_DAY is None:
        second = np.arange(86400)
        fields = ((second // 3600, 2), (second // 60 % 60, 2), (second % 60, 2))
        _TIME_OF_DAY = _digits(fields, separator=":")
    return _TIME_OF_DAY


_TIME_OF_DAY: np.ndarray | None = None


def _digits(fields, *, separator: str) -> np.ndarray:
    """Zero-padded decimal fields joined by ``separator``, one row of bytes per value."""
    width = sum(w for _, w in fields) + len(fields) - 1
    out = np.full((len(fields[0][0]), width), ord(separator), dtype=np.uint8)
    at = 0
    for value, digits in fields:
        for i in range(digits):
            out[:, at + i] = _ZERO + value // 10 ** (digits - 1 - i) % 10
        at += digits + 1
    return out

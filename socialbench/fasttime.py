"""Fast, exact conversions between fixed-width time text and epoch seconds, with numpy.

Archives hold millions of timestamps in a handful of fixed-width layouts. Parsing and
formatting them as byte matrices with integer date arithmetic (Howard Hinnant's civil-date
algorithms) is an order of magnitude faster than general parsers; callers fall back to the
general ones whenever a value does not fit the layout.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TWITTER_WIDTH = 30  # "Tue Oct 31 22:10:47 +0000 2017"
ISO_WIDTH = 20  # "2017-10-31T22:10:47Z"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_TABLE = np.zeros(1 << 15, dtype=np.int64)  # low 5 bits of 3 letters -> month 1..12
for _i, _name in enumerate(_MONTHS, start=1):
    _MONTH_TABLE[(ord(_name[0]) & 31) << 10 | (ord(_name[1]) & 31) << 5 | (ord(_name[2]) & 31)] = _i
_ZERO = ord("0")


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


def _matrix(column: pa.Array, width: int) -> np.ndarray | None:
    """The strings of ``column`` as an (n, width) uint8 matrix, or None if any differs."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if column.null_count or not len(column):
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=_offset_type(column))
    offsets = offsets[column.offset : column.offset + len(column) + 1]
    if not np.all(np.diff(offsets) == width):
        return None
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(column), width)


def _offset_type(column: pa.Array):
    return np.int64 if pa.types.is_large_string(column.type) else np.int32


def _number(columns: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits in character positions [start, stop) of a transposed (width, n) matrix."""
    digits = columns[start:stop] - np.uint8(_ZERO)  # non-digits wrap around to > 9
    ok = np.ones(columns.shape[1], dtype=bool)
    value = np.zeros(columns.shape[1], dtype=np.int64)
    for column in digits:
        ok &= column <= 9
        value = value * 10 + column
    return value, ok


def parse_twitter(column: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Epoch seconds and a validity mask for ``Tue Oct 31 22:10:47 +0000 2017`` texts.

    None when some value is not 30 characters wide (the caller parses generally then).
    Invalid values (bad digits, month, ranges or separators) are False in the mask.
    """
    m = _matrix(column, TWITTER_WIDTH)
    if m is None:
        return None
    code = ((m[:, 4] & 31).astype(np.int32) << 10) | ((m[:, 5] & 31).astype(np.int32) << 5)
    month = _MONTH_TABLE[code | (m[:, 6] & 31)]
    month_ok = (month > 0) & _letters(m[:, 4:7])
    columns = np.ascontiguousarray(m.T)
    fields = [_number(columns, a, b) for a, b in ((8, 10), (11, 13), (14, 16), (17, 19), (21, 23), (23, 25), (26, 30))]
    (day, d_ok), (hh, h_ok), (mi, mi_ok), (ss, s_ok), (oh, oh_ok), (om, om_ok), (year, y_ok) = fields
    sign = np.where(m[:, 20] == ord("-"), -1, 1)
    seps = np.all(m[:, [3, 7, 10, 19, 25]] == ord(" "), axis=1) & (m[:, 13] == ord(":")) & (m[:, 16] == ord(":"))
    ok = month_ok & d_ok & h_ok & mi_ok & s_ok & oh_ok & om_ok & y_ok & seps
    ok &= np.isin(m[:, 20], (ord("+"), ord("-"))) & (day >= 1) & (day <= 31) & (hh < 24) & (mi < 60) & (ss < 61)
    seconds = (_days(year, month, ok) + day - 1) * 86400 + hh * 3600 + mi * 60 + ss
    seconds -= sign * (oh * 3600 + om * 60)
    ok &= day <= _month_length(year, month)
    return seconds, ok


def _letters(block: np.ndarray) -> np.ndarray:
    """Rows of ``block`` that are ASCII letters only (the month table ignores case)."""
    upper = block & np.uint8(0xDF)
    return np.all((upper >= ord("A")) & (upper <= ord("Z")), axis=1)


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
    """``YYYY-MM-DDTHH:MM:SSZ`` texts for epoch seconds (years 0–9999); null where not valid."""
    n = len(seconds)
    days, rest = np.divmod(seconds.astype(np.int64), 86400)
    year, month, day = civil_from_days(days)
    out = np.empty((n, ISO_WIDTH), dtype=np.uint8)
    for value, start, width in ((year, 0, 4), (month, 5, 2), (day, 8, 2), (rest // 3600, 11, 2),
                                (rest // 60 % 60, 14, 2), (rest % 60, 17, 2)):
        for i in range(width):
            out[:, start + i] = _ZERO + value // 10 ** (width - 1 - i) % 10
    out[:, [4, 7]] = ord("-")
    out[:, 10] = ord("T")
    out[:, [13, 16]] = ord(":")
    out[:, 19] = ord("Z")
    offsets = np.arange(0, (n + 1) * ISO_WIDTH, ISO_WIDTH, dtype=np.int32)
    mask = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out), mask)

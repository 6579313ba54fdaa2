"""Fast, exact conversions between fixed-width time text and epoch seconds.

Archives hold millions of timestamps in a handful of fixed-width layouts. Reading them in
place from Arrow's string buffer with integer date arithmetic (Howard Hinnant's civil-date
algorithms) is an order of magnitude faster than general parsers; callers fall back to the
general ones whenever a value does not fit. Parsing is a compiled pass over each row's bytes
(``kernels.times``); formatting is vectorised numpy over lookup tables.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

ISO_WIDTH = 20  # "2017-10-31T22:10:47Z"
_ZERO = ord("0")


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


def parse_twitter(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """Epoch seconds and a validity mask for ``Tue Oct 31 22:10:47 +0000 2017`` texts.

    None when some value is missing or not 30 characters wide (the caller then parses
    generally). Invalid values (bad digits, month, ranges or separators) are False in the mask,
    their seconds 0. One compiled pass (``kernels.times``, loaded here: numba only where
    archives are read) takes tens of milliseconds for millions of rows.
    """
    from socialbench.kernels import times

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return times.parse_twitter(chunks)


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

"""Support hours and the business clock.

A brand's calendar (`SupportHours`) is an IANA time zone, weekly opening hours (several
intervals a day allowed) and closed dates (public holidays of a country or subdivision via
the `holidays` package, and listed dates). `business_seconds` counts only the seconds that
fall inside open intervals between two instants; `ttfr_business_s` is that count between a
probe and the brand's first response.

Methodology and the choices it rests on:

* Wall times are local to the brand's zone and converted to UTC one local day at a time with
  `zoneinfo` (the IANA time-zone database shipped as `tzdata`), so daylight-saving changes
  follow the database: a day of 23 or 25 hours is handled exactly.
* A local time that does not exist (the spring-forward gap) is taken as the first instant after
  the gap: on 2024-03-31 in Europe/London an opening at 01:30 opens at 02:00 BST (01:00 UTC).
  An interval lying wholly inside a gap is empty.
* A local time that occurs twice (the fall-back overlap) is taken at its first occurrence, so
  an interval that spans the repeated hour contains both passes through it.
* "24:00" is the next day's 00:00 local time, so "00:00-24:00" lasts 23 h or 25 h on
  changeover days and exactly covers the local day. Intervals never cross midnight: an
  overnight shift is written as "22:00-24:00" on one day and "00:00-06:00" on the next, and
  the two join into one open interval.
* A public holiday (default `holidays` categories, observed substitute days included) or a
  listed closed date closes the whole local day, i.e. every interval written for that day.
* A probe sent while closed starts its business clock at the next opening, since only open
  seconds are counted. Without a calendar the business clock equals the calendar clock.
* Seconds are float64 computed from integer nanoseconds, so exact inputs give exact integer
  results. An end before its start gives a negative count, as the calendar clock would; a
  missing start or end (NaT) gives NaN.

`business_seconds` is vectorised: it builds the open intervals in UTC once over the span of
the data (a Python loop over days, not probes) and evaluates a cumulative "open nanoseconds
before t" function with `numpy.searchsorted`; the answer is F(end) - F(start).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pydantic

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DAY_KEYS",
    "WEEKDAY_NAMES",
    "SupportHours",
    "business_seconds",
    "local_weekday_hour",
    "open_intervals",
]

DAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_UTC = dt.UTC
_NS = 1_000_000_000
_DAY_MINUTES = 24 * 60
_INTERVAL_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

Interval = tuple[int, int]  # minutes after local midnight, end exclusive, end <= 1440


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    """Return the `ZoneInfo` for an IANA name; ValueError naming the value when unknown."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"time zone must be a non-empty IANA name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r} (e.g. 'Europe/London')") from exc


def _minutes(hh: str, mm: str, *, is_end: bool, text: str) -> int:
    """Minutes after midnight for HH:MM; only an end may be 24:00."""
    hour, minute = int(hh), int(mm)
    if hour == 24 and minute == 0 and is_end:
        return _DAY_MINUTES
    if hour > 23:
        raise ValueError(f"{text!r}: hour {hh} is out of range 00-23 (24:00 only as an end)")
    if minute > 59:
        raise ValueError(f"{text!r}: minute {mm} is out of range 00-59")
    return hour * 60 + minute


def _parse_interval(text: str) -> Interval:
    """Parse 'HH:MM-HH:MM' into (start, end) minutes with end > start."""
    match = _INTERVAL_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an interval like '09:00-17:30'")
    start = _minutes(match[1], match[2], is_end=False, text=text)
    end = _minutes(match[3], match[4], is_end=True, text=text)
    if end <= start:
        raise ValueError(f"{text!r}: end must be after start")
    return start, end


def _parse_day(key: str, texts: list[str]) -> list[Interval]:
    """Parse one day's intervals, sorted; ValueError naming the day when two overlap."""
    try:
        spans = sorted(_parse_interval(text) for text in texts)
    except ValueError as exc:
        raise ValueError(f"weekly[{key!r}]: {exc}") from None
    for (s1, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ValueError(
                f"weekly[{key!r}]: intervals overlap ({_fmt(s1, e1)} and starts at {_fmt(s2)})"
            )
    return spans


def _fmt(start: int, end: int | None = None) -> str:
    one = f"{start // 60:02d}:{start % 60:02d}"
    return one if end is None else f"{one}-{end // 60:02d}:{end % 60:02d}"


def _parse_weekly(weekly: dict[str, list[str]]) -> dict[int, list[Interval]]:
    """Map weekday number (Mon=0) to its sorted intervals; check the day keys."""
    parsed: dict[int, list[Interval]] = {}
    for key, texts in weekly.items():
        if key not in DAY_KEYS:
            raise ValueError(f"weekly: unknown day {key!r}; use {', '.join(DAY_KEYS)}")
        parsed[DAY_KEYS.index(key)] = _parse_day(key, texts)
    return parsed


def _split_holidays(code: str) -> tuple[str, str | None]:
    """Validate 'CC' or 'CC-SUBDIV' against the `holidays` package; return canonical parts."""
    country, _, subdiv = code.strip().partition("-")
    import holidays as holidays_lib  # only for support hours that name holidays

    supported = holidays_lib.list_supported_countries()
    country = country.upper()
    if country not in supported:
        raise ValueError(f"holidays: unknown country code {code!r} (e.g. 'GB', 'US-CA')")
    if not subdiv:
        return country, None
    by_upper = {name.upper(): name for name in supported[country]}
    if subdiv.upper() not in by_upper:
        known = ", ".join(supported[country]) or "none"
        raise ValueError(f"holidays: {country} has no subdivision {subdiv!r} (known: {known})")
    return country, by_upper[subdiv.upper()]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class SupportHours(pydantic.BaseModel, extra="forbid"):
    """A brand's calendar: zone, weekly opening intervals and closed dates."""

    timezone: str
    weekly: dict[str, list[str]]
    closed: list[dt.date] = []
    holidays: str | None = None

    @pydantic.field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        _zone(value)
        return value

    @pydantic.field_validator("weekly")
    @classmethod
    def _check_weekly(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        _parse_weekly(value)
        return value

    @pydantic.field_validator("holidays")
    @classmethod
    def _check_holidays(cls, value: str | None) -> str | None:
        if value is None:
            return None
        country, subdiv = _split_holidays(value)
        return country if subdiv is None else f"{country}-{subdiv}"

    def closed_dates(self, first: dt.date, last: dt.date) -> set[dt.date]:
        """Local dates in [first, last] on which the brand is closed all day."""
        dates = {day for day in self.closed if first <= day <= last}
        if self.holidays is not None:
            country, subdiv = _split_holidays(self.holidays)
            years = range(first.year, last.year + 1)
            import holidays as holidays_lib

            table = holidays_lib.country_holidays(country, subdiv=subdiv, years=years)
            dates.update(day for day in table if first <= day <= last)
        return dates


# --------------------------------------------------------------------------------------------
# Local wall time -> UTC
# --------------------------------------------------------------------------------------------


def _first_instant_after_gap(wall: dt.datetime, zone: ZoneInfo) -> int:
    """UTC epoch seconds of the transition that skips `wall` (a nonexistent local time).

    fold=1 maps a gap time with the offset after the transition (an instant before it),
    fold=0 with the offset before (an instant after it); bisect between them to the second.
    """
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    lo, hi = min(lo, hi), max(lo, hi)
    after = dt.datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def _wall_to_utc_ns(day: dt.date, minute: int, zone: ZoneInfo) -> int:
    """UTC epoch nanoseconds of local `day` + `minute` (1440 = next day's 00:00)."""
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    aware = wall.replace(tzinfo=zone, fold=0)  # fold=0: first occurrence when ambiguous
    seconds = int(aware.timestamp())
    back = dt.datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)
    if back != wall:  # the wall time does not exist: spring-forward gap
        seconds = _first_instant_after_gap(wall, zone)
    return seconds * _NS


# --------------------------------------------------------------------------------------------
# Open intervals in UTC
# --------------------------------------------------------------------------------------------


def _merge(spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Sort, drop empty and merge overlapping or touching spans into start/end arrays."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    arr = np.array(merged, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _utc_spans(hours: SupportHours, first: dt.date, last: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Merged open intervals (UTC epoch ns) of the local days first..last inclusive."""
    zone = _zone(hours.timezone)
    weekly = _parse_weekly(hours.weekly)
    closed = hours.closed_dates(first, last)
    spans: list[tuple[int, int]] = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if day in closed:
            continue
        for start, end in weekly.get(day.weekday(), []):
            spans.append((_wall_to_utc_ns(day, start, zone), _wall_to_utc_ns(day, end, zone)))
    return _merge(spans)


def _local_date(ns: int, zone: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(ns // _NS, zone).date()


def _aware_ns(moment: dt.datetime) -> int:
    """UTC epoch nanoseconds of a tz-aware datetime or Timestamp."""
    import pandas as pd

    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"expected a time-zone-aware datetime, got {moment!r}")
    return int(stamp.as_unit("ns").value)


def open_intervals(
    hours: SupportHours, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Open intervals within [start, end] as UTC datetimes: sorted, merged, clipped."""
    lo, hi = _aware_ns(start), _aware_ns(end)
    if hi <= lo:
        return []
    zone = _zone(hours.timezone)
    one = dt.timedelta(days=1)
    starts, ends = _utc_spans(hours, _local_date(lo, zone) - one, _local_date(hi, zone) + one)
    result = []
    for s, e in zip(np.maximum(starts, lo), np.minimum(ends, hi), strict=True):
        if e > s:
            result.append((_ns_to_utc(int(s)), _ns_to_utc(int(e))))
    return result


def _ns_to_utc(ns: int) -> dt.datetime:
    import pandas as pd

    return pd.Timestamp(ns, unit="ns", tz="UTC").to_pydatetime(warn=False)


# --------------------------------------------------------------------------------------------
# The business clock
# --------------------------------------------------------------------------------------------


def _utc_ns(times: pd.Series, *, name: str) -> np.ndarray:
    """int64 UTC epoch nanoseconds of a tz-aware datetime Series (NaT -> int64 min)."""
    import pandas as pd

    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{name} must be a tz-aware datetime Series, got dtype {times.dtype}")
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _open_before(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """F(t): open nanoseconds in the intervals before instant t (vectorised)."""
    if starts.size == 0:
        return np.zeros_like(t)
    before = np.concatenate(([0], np.cumsum(ends - starts)))
    idx = np.searchsorted(starts, t, side="right") - 1  # last interval starting at or before t
    safe = np.maximum(idx, 0)
    inside = np.minimum(t, ends[safe]) - starts[safe]
    return np.where(idx >= 0, before[safe] + inside, 0)


def _seconds(ns: np.ndarray) -> np.ndarray:
    """Nanoseconds as float seconds, exact for whole seconds."""
    whole, frac = np.divmod(ns, _NS)
    return whole.astype(np.float64) + frac.astype(np.float64) / _NS


def business_seconds(start: pd.Series, end: pd.Series, hours: SupportHours | None) -> pd.Series:
    """Seconds inside open intervals between `start` and `end` (tz-aware Series, same index).

    NaT in either gives NaN; `hours=None` gives the plain calendar clock (end - start).
    """
    import pandas as pd

    if not start.index.equals(end.index):
        raise ValueError("start and end must share the same index")
    lo, hi = _utc_ns(start, name="start"), _utc_ns(end, name="end")
    missing = np.isnat(lo.view("datetime64[ns]")) | np.isnat(hi.view("datetime64[ns]"))
    lo, hi = np.where(missing, 0, lo), np.where(missing, 0, hi)
    if hours is None or missing.all():
        ns = hi - lo
    else:
        starts, ends = _spans_covering(hours, np.concatenate((lo[~missing], hi[~missing])))
        ns = _open_before(hi, starts, ends) - _open_before(lo, starts, ends)
    values = np.where(missing, np.nan, _seconds(ns))
    return pd.Series(values, index=start.index, dtype="float64")


def _spans_covering(hours: SupportHours, instants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open intervals over the local days of `instants`, one spare day on each side."""
    zone = _zone(hours.timezone)
    one = dt.timedelta(days=1)
    first = _local_date(int(instants.min()), zone) - one
    last = _local_date(int(instants.max()), zone) + one
    return _utc_spans(hours, first, last)


def local_weekday_hour(times: pd.Series, timezone: str | None) -> tuple[pd.Series, pd.Series]:
    """Local weekday name ("Mon".."Sun", ordered categorical) and hour (0..23, Int64).

    Times are converted to `timezone` (UTC when None); NaT gives missing values in both.
    """
    import pandas as pd

    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"times must be a tz-aware datetime Series, got dtype {times.dtype}")
    local = times.dt.tz_convert(_zone(timezone) if timezone else "UTC")
    codes = local.dt.day_of_week.fillna(-1).astype("int64").to_numpy()
    dtype = pd.CategoricalDtype(list(WEEKDAY_NAMES), ordered=True)
    weekday = pd.Series(
        pd.Categorical.from_codes(codes, dtype=dtype), index=times.index, name="weekday"
    )
    hour = local.dt.hour.astype("Int64").rename("hour")
    return weekday, hour

"""Tests for socialbench.measure.calendar: support hours and the business clock.

Expectations are computed by hand in the comments (UTC offsets: London GMT+0 / BST+1,
New York EST-5 / EDT-4, Sydney AEST+10 / AEDT+11).
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pydantic
import pytest

from socialbench.measure.calendar import (
    DAY_KEYS,
    SupportHours,
    business_seconds,
    local_weekday_hour,
    open_intervals,
)

UTC = dt.UTC
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

LONDON_OFFICE = SupportHours(
    timezone="Europe/London", weekly={d: ["09:00-12:30", "13:30-17:00"] for d in WEEKDAYS}
)
LONDON_OFFICE_GB = LONDON_OFFICE.model_copy(update={"holidays": "GB"})
LONDON_OFFICE_CLOSED = LONDON_OFFICE.model_copy(update={"closed": [dt.date(2024, 1, 10)]})
NY_OFFICE_US = SupportHours(
    timezone="America/New_York", weekly={d: ["09:00-17:00"] for d in WEEKDAYS}, holidays="US"
)
SYDNEY_OFFICE = SupportHours(
    timezone="Australia/Sydney", weekly={d: ["09:00-17:00"] for d in WEEKDAYS}
)
OVERNIGHT = SupportHours(
    timezone="Europe/London", weekly={"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]}
)


def sundays(zone: str, *intervals: str) -> SupportHours:
    """A calendar open only on Sundays (all DST changes below fall on a Sunday)."""
    return SupportHours(timezone=zone, weekly={"sun": list(intervals)})


def always(zone: str) -> SupportHours:
    return SupportHours(timezone=zone, weekly={d: ["00:00-24:00"] for d in DAY_KEYS})


def ts(text: str | pd.Timestamp) -> pd.Timestamp:
    """A UTC Timestamp; text without an offset is read as UTC."""
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def series(*texts: str | None) -> pd.Series:
    return pd.Series([ts(t) if t else pd.NaT for t in texts], dtype="datetime64[ns, UTC]")


def one(hours: SupportHours | None, start: str, end: str) -> float:
    return float(business_seconds(series(start), series(end), hours).iloc[0])


# --------------------------------------------------------------------------------------------
# business_seconds: hand-computed cases
# --------------------------------------------------------------------------------------------

CASES = [
    # Mon 2024-01-08 (GMT): 10:00 -> 10:45, inside 09:00-12:30.
    pytest.param(LONDON_OFFICE, "2024-01-08T10:00Z", "2024-01-08T10:45Z", 2700, id="within"),
    # Exactly one interval, boundary to boundary: 09:00 -> 12:30 = 3.5 h.
    pytest.param(LONDON_OFFICE, "2024-01-08T09:00Z", "2024-01-08T12:30Z", 12600, id="whole"),
    # 12:00 -> 14:00 across lunch: 12:00-12:30 + 13:30-14:00 = 1 h.
    pytest.param(LONDON_OFFICE, "2024-01-08T12:00Z", "2024-01-08T14:00Z", 3600, id="lunch"),
    # Sent during lunch, answered during lunch: 0.
    pytest.param(LONDON_OFFICE, "2024-01-08T12:40Z", "2024-01-08T13:20Z", 0, id="in-lunch"),
    # Mon 22:00 -> Tue 09:30: the clock starts at Tue 09:00 = 30 min.
    pytest.param(LONDON_OFFICE, "2024-01-08T22:00Z", "2024-01-09T09:30Z", 1800, id="night"),
    # Fri 2024-01-12 16:00 -> Mon 10:00: Fri 16-17 + Mon 9-10 = 2 h.
    pytest.param(LONDON_OFFICE, "2024-01-12T16:00Z", "2024-01-15T10:00Z", 7200, id="weekend"),
    # Sat -> Sun: closed all the time.
    pytest.param(LONDON_OFFICE, "2024-01-13T10:00Z", "2024-01-14T16:00Z", 0, id="sat-sun"),
    # Mon 2024-07-08 in BST: opens 09:00 BST = 08:00Z; 07:00Z -> 08:30Z = 30 min.
    pytest.param(LONDON_OFFICE, "2024-07-08T07:00Z", "2024-07-08T08:30Z", 1800, id="bst"),
    # Fractions of a second (GMT): opens at 09:00:00, so 08:59:59.5 -> 09:00:01.25 is 1.25 s.
    pytest.param(
        LONDON_OFFICE, "2024-01-08T08:59:59.5Z", "2024-01-08T09:00:01.25Z", 1.25, id="fraction"
    ),
    # Tue 2024-01-09 16:00 -> Thu 10:00, Wed 10 listed closed: Tue 16-17 + Thu 9-10 = 2 h.
    pytest.param(
        LONDON_OFFICE_CLOSED, "2024-01-09T16:00Z", "2024-01-11T10:00Z", 7200, id="closed-date"
    ),
    # The same span without the closed date: 1 h + 7 h (Wed) + 1 h = 9 h.
    pytest.param(LONDON_OFFICE, "2024-01-09T16:00Z", "2024-01-11T10:00Z", 32400, id="not-closed"),
    # Tue 2024-12-24 16:30 -> Fri 27 09:30; 25 and 26 are GB holidays: 30 min + 30 min.
    pytest.param(
        LONDON_OFFICE_GB, "2024-12-24T16:30Z", "2024-12-27T09:30Z", 3600, id="gb-christmas"
    ),
    # Without holidays: 30 min + 2 x 7 h + 30 min = 15 h.
    pytest.param(LONDON_OFFICE, "2024-12-24T16:30Z", "2024-12-27T09:30Z", 54000, id="no-holidays"),
    # Wed 2024-07-03 16:00 EDT -> Fri 05 10:00 EDT; Thu 4 is a US holiday: 1 h + 1 h.
    pytest.param(NY_OFFICE_US, "2024-07-03T20:00Z", "2024-07-05T14:00Z", 7200, id="us-july-4"),
    # Overnight shift Mon 22:00-24:00 + Tue 00:00-06:00: Mon 23:00 -> Tue 05:00 = 6 h.
    pytest.param(OVERNIGHT, "2024-01-08T23:00Z", "2024-01-09T05:00Z", 21600, id="overnight"),
    # London 2024-03-31 spring forward: 00:00-24:00 lasts 23 h.
    pytest.param(
        sundays("Europe/London", "00:00-24:00"),
        "2024-03-30T12:00Z",
        "2024-04-01T12:00Z",
        82800,
        id="london-spring-23h",
    ),
    # 01:30 does not exist on 2024-03-31: opens at 02:00 BST = 01:00Z, closes 03:00 BST = 02:00Z.
    pytest.param(
        sundays("Europe/London", "01:30-03:00"),
        "2024-03-31T00:00Z",
        "2024-03-31T12:00Z",
        3600,
        id="london-spring-gap-open",
    ),
    # An interval wholly inside the gap is empty.
    pytest.param(
        sundays("Europe/London", "01:10-01:50"),
        "2024-03-30T00:00Z",
        "2024-04-01T00:00Z",
        0,
        id="london-spring-gap-empty",
    ),
    # London 2024-10-27 fall back: 00:00-24:00 lasts 25 h.
    pytest.param(
        sundays("Europe/London", "00:00-24:00"),
        "2024-10-26T12:00Z",
        "2024-10-28T12:00Z",
        90000,
        id="london-fall-25h",
    ),
    # 01:30 occurs twice; first = 01:30 BST = 00:30Z; closes 09:00 GMT = 09:00Z: 8.5 h.
    pytest.param(
        sundays("Europe/London", "01:30-09:00"),
        "2024-10-26T12:00Z",
        "2024-10-28T12:00Z",
        30600,
        id="london-fall-ambiguous",
    ),
    # New York 2024-03-10 spring forward: 23 h.
    pytest.param(
        sundays("America/New_York", "00:00-24:00"),
        "2024-03-09T12:00Z",
        "2024-03-11T12:00Z",
        82800,
        id="ny-spring-23h",
    ),
    # 02:30 does not exist: opens 03:00 EDT = 07:00Z, closes 04:00 EDT = 08:00Z: 1 h.
    pytest.param(
        sundays("America/New_York", "02:30-04:00"),
        "2024-03-10T00:00Z",
        "2024-03-11T00:00Z",
        3600,
        id="ny-spring-gap",
    ),
    # New York 2024-11-03 fall back: 25 h.
    pytest.param(
        sundays("America/New_York", "00:00-24:00"),
        "2024-11-02T12:00Z",
        "2024-11-04T12:00Z",
        90000,
        id="ny-fall-25h",
    ),
    # 01:00 is ambiguous: first = 01:00 EDT = 05:00Z; 03:00 EST = 08:00Z: 3 h.
    pytest.param(
        sundays("America/New_York", "01:00-03:00"),
        "2024-11-03T00:00Z",
        "2024-11-04T00:00Z",
        10800,
        id="ny-fall-ambiguous",
    ),
    # Sydney, summer (AEDT): Mon 2024-01-08 09:00 = Sun 22:00Z; Sun 12:00Z -> Mon 00:00Z = 2 h.
    pytest.param(SYDNEY_OFFICE, "2024-01-07T12:00Z", "2024-01-08T00:00Z", 7200, id="syd-aedt"),
    # Sydney, winter (AEST): Mon 2024-07-08 09:00 = Sun 23:00Z; Sun 12:00Z -> Mon 01:00Z = 2 h.
    pytest.param(SYDNEY_OFFICE, "2024-07-07T12:00Z", "2024-07-08T01:00Z", 7200, id="syd-aest"),
    # Sydney DST ends Sun 2024-04-07 (03:00 AEDT -> 02:00 AEST): 25 h day.
    pytest.param(
        sundays("Australia/Sydney", "00:00-24:00"),
        "2024-04-05T00:00Z",
        "2024-04-08T00:00Z",
        90000,
        id="syd-fall-25h",
    ),
    # Sydney DST starts Sun 2024-10-06 (02:00 AEST -> 03:00 AEDT): 23 h day.
    pytest.param(
        sundays("Australia/Sydney", "00:00-24:00"),
        "2024-10-04T00:00Z",
        "2024-10-07T00:00Z",
        82800,
        id="syd-spring-23h",
    ),
    # 02:30 does not exist on 2024-10-06: 03:00 AEDT (16:00Z Sat) -> 03:30 AEDT: 30 min.
    pytest.param(
        sundays("Australia/Sydney", "02:30-03:30"),
        "2024-10-05T00:00Z",
        "2024-10-07T00:00Z",
        1800,
        id="syd-spring-gap",
    ),
    # A 24/7 calendar over the London spring change: the calendar clock, 48 h - 0 = 48 h.
    pytest.param(
        always("Europe/London"), "2024-03-30T00:00Z", "2024-04-01T00:00Z", 172800, id="24-7"
    ),
    # No calendar: the calendar clock.
    pytest.param(None, "2024-01-08T22:00Z", "2024-01-09T09:30Z", 41400, id="no-hours"),
    # Same instant: 0.
    pytest.param(LONDON_OFFICE, "2024-01-08T10:00Z", "2024-01-08T10:00Z", 0, id="same-instant"),
    # End before start: negative, like the calendar clock.
    pytest.param(LONDON_OFFICE, "2024-01-08T11:00Z", "2024-01-08T10:00Z", -3600, id="reversed"),
    # Non-UTC input is converted: 10:00+01:00 = 09:00Z -> 10:00Z = 1 h.
    pytest.param(
        LONDON_OFFICE, "2024-01-08T10:00+01:00", "2024-01-08T10:00Z", 3600, id="offset-input"
    ),
]


@pytest.mark.parametrize(("hours", "start", "end", "expected"), CASES)
def test_business_seconds_hand_computed(
    hours: SupportHours | None, start: str, end: str, expected: float
) -> None:
    assert one(hours, start, end) == expected


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Europe/London", id="london"),
        pytest.param("America/New_York", id="new-york"),
        pytest.param("Australia/Sydney", id="sydney"),
        pytest.param("Asia/Kolkata", id="kolkata"),
    ],
)
def test_always_open_equals_calendar_clock_across_dst(zone: str) -> None:
    starts = series("2024-03-09T13:17:05Z", "2024-10-26T00:00Z", "2024-04-06T08:00Z", "2024-01-01")
    ends = series("2024-03-31T02:00Z", "2024-11-04T07:00Z", "2024-10-07T09:59:59Z", "2025-01-01")
    got = business_seconds(starts, ends, always(zone))
    expected = (ends - starts).dt.total_seconds()
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_no_hours_equals_end_minus_start() -> None:
    starts = series("2024-01-01T00:00Z", "2024-06-01T10:00:00.250Z", "2023-12-31T23:00Z")
    ends = series("2024-01-02T00:00Z", "2024-06-01T10:00:01.750Z", "2024-03-31T03:00Z")
    got = business_seconds(starts, ends, None)
    assert got.tolist() == [86400.0, 1.5, (ts(ends[2]) - ts(starts[2])).total_seconds()]


@pytest.mark.parametrize(
    "hours",
    [pytest.param(None, id="no-hours"), pytest.param(LONDON_OFFICE, id="office")],
)
def test_nat_gives_nan(hours: SupportHours | None) -> None:
    starts = series("2024-01-08T10:00Z", "2024-01-08T10:00Z", None)
    ends = series("2024-01-08T11:00Z", None, "2024-01-08T11:00Z")
    got = business_seconds(starts, ends, hours)
    assert got.iloc[0] == 3600
    assert got.iloc[1:].isna().all()
    assert got.dtype == "float64"


@pytest.mark.parametrize(
    "hours",
    [pytest.param(None, id="no-hours"), pytest.param(LONDON_OFFICE, id="office")],
)
def test_all_missing_and_empty(hours: SupportHours | None) -> None:
    assert business_seconds(series(None, None), series(None, None), hours).isna().all()
    empty = pd.Series([], dtype="datetime64[ns, UTC]")
    got = business_seconds(empty, empty, hours)
    assert got.empty and got.dtype == "float64"


def test_index_and_unit_preserved() -> None:
    index = pd.Index(["p1", "p2"], name="probe")
    starts = series("2024-01-08T08:00Z", "2024-01-08T12:00Z").set_axis(index)
    ends = series("2024-01-08T10:00Z", "2024-01-08T14:00Z").set_axis(index)
    got = business_seconds(starts.dt.as_unit("s"), ends.dt.as_unit("us"), LONDON_OFFICE)
    assert got.index.equals(index)
    assert got.tolist() == [3600.0, 3600.0]


def test_closed_period_yields_zero_everywhere() -> None:
    hours = SupportHours(timezone="UTC", weekly={})
    got = business_seconds(series("2024-01-01"), series("2024-02-01"), hours)
    assert got.tolist() == [0.0]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        pytest.param(
            pd.Series(pd.to_datetime(["2024-01-01"])),
            series("2024-01-02"),
            "start must be a tz-aware",
            id="naive-start",
        ),
        pytest.param(
            series("2024-01-01"),
            pd.Series(["2024-01-02"]),
            "end must be a tz-aware",
            id="string-end",
        ),
        pytest.param(
            series("2024-01-01"),
            series("2024-01-02").set_axis([5]),
            "same index",
            id="index-mismatch",
        ),
    ],
)
def test_business_seconds_rejects_bad_input(start: pd.Series, end: pd.Series, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        business_seconds(start, end, LONDON_OFFICE)


# --------------------------------------------------------------------------------------------
# Vectorised result against a slow, minute-by-minute reference
# --------------------------------------------------------------------------------------------


def minute_reference(hours: SupportHours, start: dt.datetime, end: dt.datetime) -> float:
    """Step UTC minute by minute; a minute is open when its local wall time is in an interval.

    Only valid when no interval boundary falls strictly inside a repeated (fall-back) hour,
    which is why the random calendars below use whole-hour boundaries.
    """
    zone = ZoneInfo(hours.timezone)
    closed = hours.closed_dates(start.date() - dt.timedelta(2), end.date() + dt.timedelta(2))
    spans = {
        DAY_KEYS.index(day): [tuple(minutes(t) for t in text.split("-")) for text in texts]
        for day, texts in hours.weekly.items()
    }
    total, moment = 0, start
    while moment < end:
        local = moment.astimezone(zone)
        of_day = local.hour * 60 + local.minute
        if local.date() not in closed:
            total += any(a <= of_day < b for a, b in spans.get(local.weekday(), []))
        moment += dt.timedelta(minutes=1)
    return total * 60.0


def minutes(text: str) -> int:
    hh, mm = text.split(":")
    return int(hh) * 60 + int(mm)


def random_hours(rng: random.Random, zone: str) -> SupportHours:
    weekly = {}
    for day in DAY_KEYS:
        cuts = sorted(rng.sample(range(25), rng.choice([0, 2, 2, 4])))
        weekly[day] = [f"{a:02d}:00-{b:02d}:00" for a, b in zip(cuts[::2], cuts[1::2], strict=True)]
    return SupportHours(timezone=zone, weekly=weekly, closed=[dt.date(2024, 3, 29)])


CHANGES = {
    "Europe/London": ["2024-03-31T01:00Z", "2024-10-27T01:00Z"],
    "America/New_York": ["2024-03-10T07:00Z", "2024-11-03T06:00Z"],
    "Australia/Sydney": ["2024-04-06T16:00Z", "2024-10-05T16:00Z"],
    "Asia/Kolkata": ["2024-03-29T00:00Z", "2024-07-01T00:00Z"],
}


@pytest.mark.parametrize("zone", [pytest.param(z, id=z.split("/")[1]) for z in CHANGES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_matches_minute_reference(zone: str, seed: int) -> None:
    rng = random.Random(f"{zone}-{seed}")
    hours = random_hours(rng, zone)
    starts, ends = [], []
    for _ in range(12):
        centre = ts(rng.choice(CHANGES[zone])).to_pydatetime()
        start = centre + dt.timedelta(minutes=rng.randint(-3 * 1440, 1440))
        starts.append(start)
        ends.append(start + dt.timedelta(minutes=rng.randint(0, 3 * 1440)))
    got = business_seconds(pd.Series(starts), pd.Series(ends), hours)
    expected = [minute_reference(hours, s, e) for s, e in zip(starts, ends, strict=True)]
    assert got.tolist() == expected


def test_business_seconds_equals_sum_of_open_intervals() -> None:
    start = dt.datetime(2024, 3, 25, 7, 13, 11, tzinfo=UTC)
    end = dt.datetime(2024, 4, 9, 15, 2, 7, tzinfo=UTC)
    spans = open_intervals(LONDON_OFFICE_GB, start, end)
    expected = sum((b - a).total_seconds() for a, b in spans)
    assert one(LONDON_OFFICE_GB, start.isoformat(), end.isoformat()) == expected


# --------------------------------------------------------------------------------------------
# open_intervals
# --------------------------------------------------------------------------------------------


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


INTERVAL_CASES = [
    pytest.param(
        LONDON_OFFICE,
        utc(2024, 1, 8),
        utc(2024, 1, 9),
        [
            (utc(2024, 1, 8, 9), utc(2024, 1, 8, 12, 30)),
            (utc(2024, 1, 8, 13, 30), utc(2024, 1, 8, 17)),
        ],
        id="lunch-break",
    ),
    pytest.param(
        LONDON_OFFICE,
        utc(2024, 1, 8, 10),
        utc(2024, 1, 8, 14),
        [
            (utc(2024, 1, 8, 10), utc(2024, 1, 8, 12, 30)),
            (utc(2024, 1, 8, 13, 30), utc(2024, 1, 8, 14)),
        ],
        id="clipped",
    ),
    pytest.param(
        sundays("Europe/London", "00:00-24:00"),
        utc(2024, 3, 29),
        utc(2024, 4, 2),
        [(utc(2024, 3, 31), utc(2024, 3, 31, 23))],
        id="london-23h",
    ),
    pytest.param(
        sundays("Europe/London", "00:00-24:00"),
        utc(2024, 10, 25),
        utc(2024, 10, 29),
        [(utc(2024, 10, 26, 23), utc(2024, 10, 28))],
        id="london-25h",
    ),
    pytest.param(
        OVERNIGHT,
        utc(2024, 1, 8),
        utc(2024, 1, 10),
        [(utc(2024, 1, 8, 22), utc(2024, 1, 9, 6))],
        id="overnight-merged",
    ),
    pytest.param(
        SupportHours(timezone="Pacific/Apia", weekly={"fri": ["09:00-17:00"]}),
        utc(2011, 12, 28),
        utc(2012, 1, 2),
        [],
        id="samoa-skipped-friday",
    ),
    pytest.param(LONDON_OFFICE, utc(2024, 1, 9), utc(2024, 1, 8), [], id="reversed"),
]


@pytest.mark.parametrize(("hours", "start", "end", "expected"), INTERVAL_CASES)
def test_open_intervals(
    hours: SupportHours, start: dt.datetime, end: dt.datetime, expected: list
) -> None:
    assert open_intervals(hours, start, end) == expected


def test_open_intervals_accepts_other_zones_and_rejects_naive() -> None:
    paris = ZoneInfo("Europe/Paris")
    got = open_intervals(
        LONDON_OFFICE, dt.datetime(2024, 1, 8, 10, tzinfo=paris), utc(2024, 1, 8, 10)
    )
    assert got == [(utc(2024, 1, 8, 9), utc(2024, 1, 8, 10))]
    with pytest.raises(ValueError, match="time-zone-aware"):
        open_intervals(LONDON_OFFICE, dt.datetime(2024, 1, 8), utc(2024, 1, 9))


# --------------------------------------------------------------------------------------------
# local_weekday_hour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "when", "weekday", "hour"),
    [
        pytest.param(None, "2024-01-08T23:30Z", "Mon", 23, id="utc-default"),
        pytest.param("Europe/London", "2024-03-31T00:30Z", "Sun", 0, id="london-gmt"),
        pytest.param("Europe/London", "2024-03-31T01:30Z", "Sun", 2, id="london-bst"),
        pytest.param("America/New_York", "2024-01-01T03:00Z", "Sun", 22, id="new-york"),
        pytest.param("Australia/Sydney", "2024-01-07T22:00Z", "Mon", 9, id="sydney"),
    ],
)
def test_local_weekday_hour(zone: str | None, when: str, weekday: str, hour: int) -> None:
    days, hours = local_weekday_hour(series(when), zone)
    assert (days.iloc[0], hours.iloc[0]) == (weekday, hour)


def test_local_weekday_hour_types_and_nat() -> None:
    times = series("2024-01-08T10:00Z", None).set_axis(["a", "b"])
    days, hours = local_weekday_hour(times, "Europe/London")
    assert list(days.cat.categories) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert days.cat.ordered
    assert hours.dtype == "Int64"
    assert days.index.equals(times.index) and hours.index.equals(times.index)
    assert pd.isna(days.iloc[1]) and pd.isna(hours.iloc[1])
    with pytest.raises(ValueError, match="Mars/Olympus"):
        local_weekday_hour(times, "Mars/Olympus")


# --------------------------------------------------------------------------------------------
# SupportHours validation
# --------------------------------------------------------------------------------------------

BAD = [
    pytest.param({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus", id="bad-zone"),
    pytest.param({"timezone": ""}, "timezone", "non-empty", id="empty-zone"),
    pytest.param({"weekly": {"monday": ["09:00-17:00"]}}, "weekly", "'monday'", id="bad-day"),
    pytest.param(
        {"weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "weekly", "overlap", id="overlap"
    ),
    pytest.param({"weekly": {"tue": ["09:00-25:00"]}}, "weekly", "hour 25", id="hour-25"),
    pytest.param({"weekly": {"tue": ["24:00-24:00"]}}, "weekly", "hour 24", id="start-24"),
    pytest.param({"weekly": {"tue": ["09:60-10:00"]}}, "weekly", "minute 60", id="minute-60"),
    pytest.param({"weekly": {"wed": ["17:00-09:00"]}}, "weekly", "after start", id="reversed"),
    pytest.param({"weekly": {"wed": ["09:00-09:00"]}}, "weekly", "after start", id="empty"),
    pytest.param({"weekly": {"thu": ["9-17"]}}, "weekly", "'9-17'", id="format"),
    pytest.param({"holidays": "XX"}, "holidays", "'XX'", id="bad-country"),
    pytest.param({"holidays": "US-ZZ"}, "holidays", "'ZZ'", id="bad-subdivision"),
    pytest.param({"closed": ["2024-02-30"]}, "closed", "date", id="bad-date"),
    pytest.param({"hours": "9-5"}, "hours", "Extra inputs", id="extra-field"),
]


@pytest.mark.parametrize(("change", "field", "fragment"), BAD)
def test_validation_errors(change: dict, field: str, fragment: str) -> None:
    data = {"timezone": "Europe/London", "weekly": {"mon": ["09:00-17:00"]}} | change
    with pytest.raises(pydantic.ValidationError) as info:
        SupportHours(**data)
    errors = info.value.errors()
    assert errors[0]["loc"][0] == field
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("code", "normal"),
    [
        pytest.param("GB", "GB", id="country"),
        pytest.param("gb-sct", "GB-SCT", id="subdivision-lowercase"),
        pytest.param("US-CA", "US-CA", id="us-state"),
        pytest.param(None, None, id="none"),
    ],
)
def test_holiday_codes_normalised(code: str | None, normal: str | None) -> None:
    hours = SupportHours(timezone="UTC", weekly={}, holidays=code)
    assert hours.holidays == normal


def test_valid_edge_intervals_accepted() -> None:
    hours = SupportHours(
        timezone="UTC",
        weekly={"mon": ["12:00-13:00", "09:00-12:00"], "tue": [], "sun": ["00:00-24:00"]},
        closed=["2024-12-31"],
    )
    assert hours.closed == [dt.date(2024, 12, 31)]


def test_closed_dates_include_subdivision_holidays() -> None:
    hours = SupportHours(
        timezone="Europe/London", weekly={}, holidays="GB-SCT", closed=["2024-06-03"]
    )
    got = hours.closed_dates(dt.date(2024, 11, 1), dt.date(2024, 12, 31))
    # St Andrew's Day (Sat 30 Nov) and its observed Monday 2 Dec; Christmas and Boxing Day.
    assert got == {
        dt.date(2024, 11, 30),
        dt.date(2024, 12, 2),
        dt.date(2024, 12, 25),
        dt.date(2024, 12, 26),
    }


def test_large_span_is_vectorised() -> None:
    rng = np.random.default_rng(5)
    base = ts("2023-01-01").value
    starts = base + rng.integers(0, 730 * 86400, 50_000) * 1_000_000_000
    ends = starts + rng.integers(0, 5 * 86400, 50_000) * 1_000_000_000
    got = business_seconds(
        pd.Series(pd.to_datetime(starts, utc=True)),
        pd.Series(pd.to_datetime(ends, utc=True)),
        LONDON_OFFICE_GB,
    )
    assert got.between(0, (ends - starts) / 1e9).all()
    assert (got == np.floor(got)).all()

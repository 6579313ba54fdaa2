"""fasttime: fixed-width time text <-> epoch seconds, checked against Python's datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from socialbench import fasttime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(second: int) -> str:
    d = EPOCH + timedelta(seconds=int(second))  # strftime's %Y does not pad years < 1000
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


@pytest.mark.parametrize(
    "low, high",
    [
        (1_500_000_000, 1_500_000_000 + 90 * 86400),  # a few months: the per-day table
        (-62_135_596_800, 253_402_300_799),  # years 1 to 9999: each row's own date
    ],
)
def test_format_iso_matches_datetime(low: int, high: int) -> None:
    rng = np.random.default_rng(7)
    seconds = rng.integers(low, high, 20_000)
    seconds[:3] = [low, high, 951_782_400]  # both ends and 2000-02-29
    assert fasttime.format_iso(seconds).to_pylist() == [_iso(s) for s in seconds]


def test_format_iso_day_boundaries_and_nulls() -> None:
    seconds = np.array([-1, 0, 86399, 86400, 1_700_000_000])
    valid = np.array([True, True, False, True, True])
    assert fasttime.format_iso(seconds, valid).to_pylist() == [
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        None,
        "1970-01-02T00:00:00Z",
        "2023-11-14T22:13:20Z",
    ]
    assert fasttime.format_iso(np.array([], dtype=np.int64)).to_pylist() == []


def test_parse_twitter_matches_strptime() -> None:
    texts = [
        "Tue Oct 31 22:10:47 +0000 2017",
        "Thu Feb 29 00:00:00 +0100 2024",
        "Sun Mar 26 01:59:59 -0530 2017",
        "Mon Jan 01 00:00:00 +0000 1970",
    ]
    seconds, ok = fasttime.parse_twitter(pa.array(texts))
    expected = [datetime.strptime(t, "%a %b %d %H:%M:%S %z %Y").timestamp() for t in texts]
    assert ok.all()
    assert seconds.tolist() == expected


@pytest.mark.parametrize(
    "text",
    [
        "Tue Foo 31 22:10:47 +0000 2017",  # no such month
        "Tue Feb 30 22:10:47 +0000 2017",  # no such day
        "Tue Oct 31 24:10:47 +0000 2017",  # hour out of range
        "Tue Oct 31 22:10:47 *0000 2017",  # no sign
        "Tue Oct 31 22-10-47 +0000 2017",  # wrong separators
        "Tue Oct 3x 22:10:47 +0000 2017",  # not a digit
    ],
)
def test_parse_twitter_rejects_bad_values(text: str) -> None:
    _, ok = fasttime.parse_twitter(pa.array(["Tue Oct 31 22:10:47 +0000 2017", text]))
    assert ok.tolist() == [True, False]


def test_parse_twitter_declines_other_widths_and_nulls() -> None:
    assert fasttime.parse_twitter(pa.array(["2017-10-31T22:10:47Z"])) is None
    assert fasttime.parse_twitter(pa.array(["Tue Oct 31 22:10:47 +0000 2017", None])) is None

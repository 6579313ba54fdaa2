"""The compiled Twitter-timestamp kernel against the numpy parse it replaced and datetime."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from socialbench import fasttime
from socialbench.kernels import times

FORMAT = "%a %b %d %H:%M:%S %z %Y"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALID = "Tue Oct 31 22:10:47 +0000 2017"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DIGITS = (8, 9, 11, 12, 14, 15, 17, 18, 21, 22, 23, 24, 26, 27, 28, 29)
SEPARATORS = (3, 7, 10, 13, 16, 19, 20, 25)
STRING = pa.string()


# -- the numpy implementation fasttime had before the kernel, kept as the reference --------


def reference_days_from_civil(year, month, day):
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def reference_month_table() -> np.ndarray:
    table = np.zeros(1 << 15, dtype=np.int64)
    for number, name in enumerate(MONTHS, start=1):
        a, b, c = (ord(ch) & 31 for ch in name)
        table[a << 10 | b << 5 | c] = number
    return table


def reference_parse(texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """fasttime._parse_twitter_rows as it was: strided views of 30-byte rows."""
    data = np.frombuffer(b"".join(texts), dtype=np.uint8)
    n = len(texts)

    def chars(at, count=1):
        dtype = {1: "u1", 2: "<u2", 4: "<u4"}[count]
        view = np.ndarray((n,), dtype=dtype, buffer=data, offset=at, strides=(30,))
        return view.astype(np.int64)

    def number(at, digits):
        word = chars(at, digits)
        value = np.zeros(n, dtype=np.int64)
        for i in range(digits):
            digit = ((word >> (8 * i)) & 0xFF) - ord("0")
            ok[:] &= (digit >= 0) & (digit <= 9)
            value = value * 10 + digit
        return value

    name = chars(4, 4) & 0xFFFFFF
    code = ((name & 31) << 10) | (((name >> 8) & 31) << 5) | ((name >> 16) & 31)
    month = reference_month_table()[code]
    ok = month > 0
    for i in range(3):
        byte = ((name & 0xDFDFDF) >> (8 * i)) & 0xFF
        ok &= (byte >= ord("A")) & (byte <= ord("Z"))
    day, hh, mi, ss = (number(at, 2) for at in (8, 11, 14, 17))
    oh, om, year = number(21, 2), number(23, 2), number(26, 4)
    sign_char = chars(20)
    for at in (3, 7, 10, 19, 25):
        ok &= chars(at) == ord(" ")
    ok &= (chars(13) == ord(":")) & (chars(16) == ord(":"))
    ok &= (sign_char == ord("+")) | (sign_char == ord("-"))
    lengths = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = lengths[np.clip(month - 1, 0, 11)] + (leap & (month == 2))
    ok &= (day >= 1) & (hh < 24) & (mi < 60) & (ss < 61) & (day <= length)
    sign = np.where(sign_char == ord("-"), -1, 1)
    days = reference_days_from_civil(year, month, np.ones_like(year))
    seconds = (days + day - 1) * 86400 + hh * 3600 + mi * 60 + ss
    return seconds - sign * (oh * 3600 + om * 60), ok


# -- helpers -------------------------------------------------------------------------------


def raw_array(texts: list[bytes], kind: pa.DataType = STRING) -> pa.Array:
    """A string array of any bytes (no UTF-8 check), as an archive's buffer may hold."""
    offsets = np.arange(0, 30 * len(texts) + 1, 30, dtype=np.int64)
    if kind == STRING:
        offsets = offsets.astype(np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(texts))]
    return pa.Array.from_buffers(kind, len(texts), buffers)


def kernel(texts: list[bytes], kind: pa.DataType = STRING) -> tuple[np.ndarray, np.ndarray]:
    seconds, ok = times.parse_twitter([raw_array(texts, kind)])
    assert seconds.dtype == np.int64 and ok.dtype == np.bool_
    assert not seconds[~ok].any()  # 0 where not valid
    return seconds, ok


def assert_same_as_reference(texts: list[bytes]) -> np.ndarray:
    """The kernel's and the reference's masks, and seconds where valid, agree; the mask."""
    seconds, ok = kernel(texts)
    ref_seconds, ref_ok = reference_parse(texts)
    np.testing.assert_array_equal(ok, ref_ok)
    np.testing.assert_array_equal(seconds[ok], ref_seconds[ok])
    return ok


def strptime_seconds(text: str) -> int | None:
    try:
        return (datetime.strptime(text, FORMAT) - EPOCH) // timedelta(seconds=1)
    except ValueError:
        return None


def assert_same_as_strptime(texts: list[str]) -> None:
    seconds, ok = kernel([t.encode() for t in texts])
    for text, second, fine in zip(texts, seconds.tolist(), ok.tolist(), strict=True):
        assert (second if fine else None) == strptime_seconds(text), text


def twitter(y: int, mo: int, d: int, hh=0, mi=0, ss=0, zone="+0000", weekday="Mon") -> str:
    return f"{weekday} {MONTHS[mo - 1]} {d:02d} {hh:02d}:{mi:02d}:{ss:02d} {zone} {y:04d}"


def random_valid(rng, n: int) -> list[str]:
    """Valid times over years 0001-9999, every month and day, offsets of either sign within
    the +-23:59 datetime accepts, each with its true weekday."""
    texts = []
    for _ in range(n):
        y, mo = int(rng.integers(1, 10000)), int(rng.integers(1, 13))
        d = int(rng.integers(1, calendar.monthrange(y, mo)[1] + 1))
        hh, mi, ss = (int(v) for v in rng.integers(0, (24, 60, 60)))
        zone = f"{'+-'[int(rng.integers(2))]}{int(rng.integers(24)):02d}{int(rng.integers(60)):02d}"
        weekday = DAYS[calendar.weekday(y, mo, d)]
        texts.append(twitter(y, mo, d, hh, mi, ss, zone, weekday))
    return texts


def replaced(text: str, at: int, char: str) -> str:
    return text[:at] + char + text[at + 1 :]


# -- valid values --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_random_valid_times_match_strptime_and_reference(seed) -> None:
    texts = random_valid(np.random.default_rng(seed), 5000)
    assert_same_as_strptime(texts)
    assert assert_same_as_reference([t.encode() for t in texts]).all()


def test_every_month_first_and_last_day() -> None:
    texts = []
    for y in (1, 1969, 1970, 2017, 9999):
        for mo in range(1, 13):
            last = calendar.monthrange(y, mo)[1]
            texts += [twitter(y, mo, 1), twitter(y, mo, last, 23, 59, 59, "-2359")]
            texts.append(twitter(y, mo, last + 1) if last < 31 else twitter(y, mo, 32))
    assert_same_as_strptime(texts)
    assert_same_as_reference([t.encode() for t in texts])


@pytest.mark.parametrize("year, leap", [(1900, False), (2000, True), (2024, True), (2023, False)])
def test_february_29(year, leap) -> None:
    texts = [twitter(year, 2, 28), twitter(year, 2, 29), twitter(year, 3, 1, zone="+0100")]
    assert_same_as_strptime(texts)
    assert assert_same_as_reference([t.encode() for t in texts]).tolist() == [True, leap, True]


def test_offsets_of_either_sign() -> None:
    texts = [
        replaced(VALID, 20, sign)[:21] + f"{hm} 2017"
        for sign in "+-"
        for hm in ("0000", "0130", "0545", "1200", "2359")
    ]
    assert_same_as_strptime(texts)
    seconds, ok = kernel([t.encode() for t in texts])
    assert ok.all()
    assert seconds[8] - seconds[3] == 2 * (12 * 3600)  # -1200 is a day after +1200


def test_accepted_beyond_strptime_as_before() -> None:
    """What the numpy parse accepted and datetime does not, unchanged: any weekday text,
    year 0000, second 60, offset fields up to 99:99."""
    texts = [
        replaced(VALID, 0, "X"),
        twitter(0, 2, 29),
        twitter(0, 1, 1, zone="+0100"),
        twitter(2016, 12, 31, 23, 59, 60),
        twitter(2017, 1, 1, zone="+9999"),
        twitter(2017, 1, 1, zone="-2400"),
    ]
    assert assert_same_as_reference([t.encode() for t in texts]).all()


def test_month_names_in_any_case_as_strptime() -> None:
    texts = [
        replaced(replaced(VALID, 4, "o"), 6, "T"),
        VALID.replace("Oct", "oct"),
        VALID.replace("Oct", "OCT"),
    ]
    assert_same_as_strptime(texts)
    assert assert_same_as_reference([t.encode() for t in texts]).all()


# -- invalid values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        VALID.replace("Oct", "Foo"),
        VALID.replace("Oct", "O t"),
        VALID.replace("Oct", "Oc@"),
        VALID.replace("Oct", "Oc\x14"),  # low 5 bits of "t", not a letter
        twitter(2017, 10, 31, 24),
        twitter(2017, 10, 31, 22, 60),
        twitter(2017, 10, 31, 22, 10, 61),
        twitter(2017, 10, 0),
        twitter(2017, 10, 32),
        twitter(2017, 4, 31),
        twitter(2017, 2, 30),
        replaced(VALID, 20, "*"),
        VALID.replace(":", "-"),
    ],
)
def test_invalid_values(text: str) -> None:
    assert_same_as_strptime([VALID, text])
    assert assert_same_as_reference([VALID.encode(), text.encode()]).tolist() == [True, False]


@pytest.mark.parametrize("at", DIGITS)
def test_a_letter_for_any_digit(at) -> None:
    texts = [replaced(VALID, at, char) for char in "xO/:"]
    assert_same_as_strptime(texts)  # (not a space: strptime reads " 1" as a day, "Oct  1")
    texts.append(replaced(VALID, at, " "))
    assert not assert_same_as_reference([t.encode() for t in texts]).any()


@pytest.mark.parametrize("at", SEPARATORS)
def test_a_wrong_separator(at) -> None:
    texts = [replaced(VALID, at, char) for char in "x0_.\t" if char != VALID[at]]
    assert not assert_same_as_reference([t.encode() for t in texts]).any()


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_anywhere_match_reference(seed) -> None:
    """Valid rows with one to three bytes replaced by any byte value (0-255), and rows of
    random digits and separators: the kernel and the numpy parse agree row for row."""
    rng = np.random.default_rng(100 + seed)
    rows = np.frombuffer("".join(random_valid(rng, 4000)).encode(), dtype=np.uint8)
    rows = rows.reshape(-1, 30).copy()
    for _ in range(3):
        hit = rng.random(len(rows)) < 0.5
        rows[hit, rng.integers(0, 30, hit.sum())] = rng.integers(0, 256, hit.sum())
    mixed = rng.choice(np.frombuffer(b"0123456789 :+-", dtype=np.uint8), (4000, 30))
    mixed[:, 4:7] = rows[:4000, 4:7]
    texts = [row.tobytes() for row in np.concatenate([rows, mixed])]
    ok = assert_same_as_reference(texts)
    assert 0 < ok.sum() < len(texts)


# -- layout, chunks, the fasttime contract ------------------------------------------------


def test_chunks_slices_and_large_strings() -> None:
    texts = random_valid(np.random.default_rng(9), 300) + [VALID.replace("Oct", "Foo")]
    expected_seconds, expected_ok = kernel([t.encode() for t in texts])
    column = pa.chunked_array(
        [pa.array(texts[:100]), pa.array([], pa.string()), pa.array(texts)[100:]]
    )
    for value in (column, pa.array(texts, pa.large_string()), pa.array(["x"] + texts)[1:]):
        seconds, ok = fasttime.parse_twitter(value)
        np.testing.assert_array_equal(ok, expected_ok)
        np.testing.assert_array_equal(seconds, expected_seconds)
    np.testing.assert_array_equal(
        kernel([t.encode() for t in texts], pa.large_string())[0], expected_seconds
    )


@pytest.mark.parametrize(
    "column",
    [
        pa.array([], pa.string()),
        pa.chunked_array([], pa.string()),
        pa.array(["", ""]),
        pa.array([VALID, None]),
        pa.array([VALID, VALID[:-1]]),
        pa.array([VALID, VALID + " "]),
        pa.array([VALID, VALID.replace("Oct", "Öct")]),  # 31 bytes
        pa.chunked_array([pa.array([VALID]), pa.array([VALID, "2017-10-31T22:10:47Z"])]),
    ],
)
def test_declines_nulls_empties_and_other_widths(column) -> None:
    assert fasttime.parse_twitter(column) is None


def test_non_ascii_30_bytes_is_invalid() -> None:
    text = VALID.replace("Oct", "Öt")  # Ö is two bytes: still 30 bytes wide
    assert len(text.encode()) == 30
    assert fasttime.parse_twitter(pa.array([VALID, text]))[1].tolist() == [True, False]


def test_warm_compiles_on_tiny_inputs() -> None:
    times.warm()

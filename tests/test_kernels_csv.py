"""The compiled CSV writer against the Arrow path that defines the text, byte for byte."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from socialbench import output
from socialbench.kernels import csv

UTC = dt.UTC
# awkward strings: quotes (also past the first 8 bytes, where the copy goes a word at a
# time), separators, line ends, formula starts, multi-byte UTF-8, lengths around 8 and 16
AWKWARD = [
    None, "", '"', '""', 'a"b', "plain", "12345678", "123456789", "1234567812345678",
    '12345678"', '123456781234567"8', "x" * 40, "a,b", "line\nbreak", "cr\r", "\r\n",
    "=SUM(A1)", "+1", "-2", "@me", "\tt", "\rr", "'quoted", "é", "😀", "naïve 😀 \"q\"",
    " =not first", "=", "-", '"=x"',
]  # fmt: skip


def arrow_text(table: pa.Table, tmp_path) -> bytes:
    """What the Arrow path writes (the kernel is not involved)."""
    path = tmp_path / "arrow.csv"
    output.write_probes_arrow(table, path)
    return path.read_bytes()


def kernel_text(table: pa.Table, tmp_path) -> bytes:
    path = tmp_path / "kernel.csv"
    written = csv.write_table(table, path, defuse=output.TEXT_COLUMNS, times=output.TIME_COLUMNS)
    assert written, "the kernel declined a table it handles"
    return path.read_bytes()


def assert_same(table: pa.Table, tmp_path) -> None:
    expected = arrow_text(table, tmp_path)
    got = kernel_text(table, tmp_path)
    if got != expected:  # the first differing line, readably
        for want, have in zip(expected.split(b"\n"), got.split(b"\n"), strict=False):
            assert have == want
    assert got == expected


def test_awkward_text_defused_or_not(tmp_path) -> None:
    n = len(AWKWARD)
    table = pa.table(
        {
            "probe_id": pa.array(AWKWARD, pa.string()),
            "brand": pa.array(AWKWARD[::-1], pa.large_string()),
            "note": pa.array(AWKWARD, pa.large_string()),  # not defused
            "hour": pa.array(range(n), pa.int64()),
        }
    )
    assert_same(table, tmp_path)


@pytest.mark.parametrize("last", ["text", "number", "bool", "time"])
def test_rows_that_end_in_each_kind(tmp_path, last) -> None:
    """Words written past a cell's end must stay within its row, also in the last column
    and in short rows (a byte or two, moved together a byte at a time)."""
    column = {
        "text": pa.array(AWKWARD, pa.string()),
        "number": pa.array([None if i % 3 else i for i in range(len(AWKWARD))]),
        "bool": pa.array([None if i % 3 == 1 else i % 2 == 0 for i in range(len(AWKWARD))]),
        "time": pa.array(
            [None if i % 4 == 0 else i * 86_399 for i in range(len(AWKWARD))],
            pa.timestamp("s", tz="UTC"),
        ),
    }[last]
    name = "sent_at" if last == "time" else "last"
    assert_same(pa.table({"brand": AWKWARD, name: column}), tmp_path)
    assert_same(pa.table({name: column}), tmp_path)


def test_nulls_everywhere(tmp_path) -> None:
    n = 5
    table = pa.table(
        {
            "probe_id": pa.nulls(n, pa.string()),
            "brand": pa.nulls(n, pa.large_string()),
            "category": pa.nulls(n),  # null type, in a text column
            "sent_at": pa.nulls(n),  # null type, in a time column
            "first_response_at": pa.nulls(n, pa.timestamp("ns", tz="UTC")),
            "responded": pa.nulls(n, pa.bool_()),
            "brand_messages": pa.nulls(n, pa.int64()),
            "followers": pa.nulls(n, pa.float64()),
            "small": pa.nulls(n, pa.int8()),
            "big": pa.nulls(n, pa.uint64()),
            "nothing": pa.nulls(n),
        }
    )
    assert_same(table, tmp_path)


def test_integers_at_their_limits(tmp_path) -> None:
    tens = [10**k for k in range(19)]
    signed = [-(2**63), 2**63 - 1, 0, -1, 1, None, *tens, *(t - 1 for t in tens[1:])]
    signed += [-t for t in tens]
    n = len(signed)
    unsigned = [2**64 - 1, 2**63, 0, None, *(10**k for k in range(20)), 10**19 - 1]
    unsigned = (unsigned * n)[:n]
    table = pa.table(
        {
            "i64": pa.array(signed, pa.int64()),
            "u64": pa.array(unsigned, pa.uint64()),
            "i8": pa.array([(v or 0) % 256 - 128 for v in signed], pa.int8()),
            "i16": pa.array([(v or 0) % 65536 - 32768 for v in signed], pa.int16()),
            "i32": pa.array([None if v is None else v % 2**32 - 2**31 for v in signed]),
            "u8": pa.array([(v or 0) % 256 for v in signed], pa.uint8()),
            "u32": pa.array([(v or 0) % 2**32 for v in signed], pa.uint32()),
            "bools": pa.array([None if v is None else v % 2 == 0 for v in signed]),
        }
    )
    assert_same(table, tmp_path)


def test_whole_floats_are_written_as_integers(tmp_path) -> None:
    values = [0.0, 1.0, -1.0, None, 2.0**53 - 1, -(2.0**53 - 1), 604_800.0, 1e15, 99.0]
    values += [float(10**k) for k in range(16)] + [float(10**k - 1) for k in range(1, 16)]
    table = pa.table({"ttfr_s": pa.array(values), "hour": pa.array(range(len(values)))})
    assert_same(table, tmp_path)


def test_times_at_the_edges_of_what_the_arrow_path_writes(tmp_path) -> None:
    """The Arrow path makes nanoseconds first: 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z
    in whole seconds; before 1970 and leap days too."""
    seconds = [
        -9_223_372_036, 9_223_372_036, 0, -1, 1, None, 951_782_400, 951_868_799,  # 2000-02-29
        -2_208_988_800, -86_401, 4_102_444_800, 253_402_300_799 // 100,
    ]  # fmt: skip
    ns = [None if s is None else s * 1_000_000_000 for s in seconds]
    table = pa.table(
        {
            "sent_at": pa.array(ns, pa.timestamp("ns", tz="UTC")),
            "first_response_at": pa.array(
                [None if s is None else s * 1000 for s in seconds], pa.timestamp("ms")
            ),
            "resolved_at": pa.array(
                [None if s is None else s * 10**6 for s in seconds],
                pa.timestamp("us", tz="America/New_York"),
            ),
            "hour": pa.array(seconds, pa.int64()),
        }
    )
    assert_same(table, tmp_path)


def test_an_empty_table_and_one_row(tmp_path) -> None:
    schema = pa.schema(
        [
            ("probe_id", pa.string()),
            ("sent_at", pa.timestamp("ns", tz="UTC")),
            ("responded", pa.bool_()),
            ("ttfr_s", pa.float64()),
            ('quote" and, comma', pa.int64()),
        ]
    )
    assert_same(schema.empty_table(), tmp_path)
    one = pa.table(
        [["=1"], [dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)], [True], [3.0], [-7]],
        schema=schema,
    )
    assert_same(one, tmp_path)


def test_chunked_and_sliced_columns(tmp_path) -> None:
    """Chunks that do not line up across columns, and slices whose first bit is not the
    first of a byte."""
    text = pa.chunked_array([pa.array(AWKWARD[:7]), pa.array(AWKWARD[7:])])
    numbers = pa.array([None if i % 5 == 0 else i - 13 for i in range(40)]).slice(3, len(AWKWARD))
    bools = pa.array([None if i % 7 == 0 else i % 3 == 0 for i in range(50)]).slice(11)
    bools = pa.chunked_array([bools.slice(0, 4), bools.slice(4, len(AWKWARD) - 4)])
    times = pa.array(
        [None if i % 6 == 0 else i * 3600 * 10**9 for i in range(45)],
        pa.timestamp("ns", tz="UTC"),
    ).slice(5, len(AWKWARD))
    table = pa.table({"brand": text, "brand_messages": numbers, "link": bools, "sent_at": times})
    assert_same(table, tmp_path)


def test_many_batches(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csv, "BATCH_ROWS", 7)
    assert_same(random_table(np.random.default_rng(7), 500), tmp_path)


def random_text(rng, n: int, nulls: float) -> list:
    pieces = np.array(
        ['"', ",", "\n", "\r", "=", "+", "-", "@", "\t", "é", "😀", "a", "b", "7", " ", "'"]
    )
    out = []
    for length, missing in zip(rng.integers(0, 24, n), rng.random(n) < nulls, strict=True):
        common = rng.random(length) < 0.7  # mostly letters: long quote-free runs too
        chars = np.where(common, "x", rng.choice(pieces, length))
        out.append(None if missing else "".join(chars))
    return out


def random_table(rng, n: int) -> pa.Table:
    def maybe(values, share):
        missing = rng.random(n) < share
        return [None if m else v for v, m in zip(np.asarray(values).tolist(), missing, strict=True)]

    magnitude = 10.0 ** rng.integers(0, 16, n)
    whole = np.trunc(rng.uniform(-1, 1, n) * magnitude)
    whole[whole == 0] = 0.0  # no -0.0: the kernel declines that (test below)
    seconds = rng.integers(-3 * 10**9, 7 * 10**9, n)
    return pa.table(
        {
            "probe_id": pa.array(random_text(rng, n, 0.1), pa.large_string()),
            "brand": pa.array(random_text(rng, n, 0.0), pa.string()),
            "channel": pa.array(maybe(rng.choice(["x", "web", "=x"], n), 0.2)),
            "note": pa.array(random_text(rng, n, 0.3), pa.string()),
            "sent_at": pa.array(maybe(seconds * 10**9, 0.1), pa.timestamp("ns", tz="UTC")),
            "first_response_at": pa.array(maybe(seconds, 0.5), pa.timestamp("s")),
            "responded": pa.array(maybe(rng.random(n) < 0.5, 0.1)),
            "link": pa.array(rng.random(n) < 0.2),
            "ttfr_s": pa.array(maybe(whole, 0.4), pa.float64()),
            "brand_messages": pa.array(
                maybe((rng.integers(-(2**63), 2**63 - 1, n) >> rng.integers(0, 63, n)), 0.1),
                pa.int64(),
            ),
            "big": pa.array(
                maybe(rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True), 0.1),
                pa.uint64(),
            ),
            "hour": pa.array(rng.integers(0, 24, n), pa.int8()),
            "category": pa.nulls(n, pa.string()),
        }
    )


@pytest.mark.parametrize("seed", range(4))
def test_random_tables(tmp_path, seed) -> None:
    assert_same(random_table(np.random.default_rng(seed), 3000), tmp_path)


def test_a_probe_frame_through_write_probes_csv(tmp_path, monkeypatch) -> None:
    """pandas types as the run makes them (Arrow-backed strings, datetimes in UTC with NaT,
    floats with NaN, nullable integers); the kernel's file equals the Arrow path's."""
    n = 2000
    rng = np.random.default_rng(3)
    sent = pd.to_datetime(rng.integers(0, 2 * 10**9, n), unit="s", utc=True)
    sent = sent.as_unit("ns")  # as the run's table has them
    frame = pd.DataFrame(
        {
            "probe_id": pd.array(random_text(rng, n, 0.0), dtype="string[pyarrow]"),
            "brand": pd.array(random_text(rng, n, 0.1), dtype="string[python]"),
            "persona": random_text(rng, n, 0.1),  # object
            "sent_at": sent,
            "first_response_at": sent.where(rng.random(n) < 0.6),
            "responded": rng.random(n) < 0.5,
            "ttfr_s": np.where(rng.random(n) < 0.5, np.nan, rng.integers(0, 10**6, n)),
            "followers": np.full(n, np.nan),
            "brand_messages": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "hour": rng.integers(0, 24, n),
        }
    )
    frame.loc[::7, "brand_messages"] = pd.NA
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert table.schema.field("sent_at").type == pa.timestamp("ns", tz="UTC")
    monkeypatch.setattr(output, "_KERNEL_ROWS", 1)
    path = tmp_path / "probes.csv"
    output.write_probes_csv(frame, path)
    assert path.read_bytes() == arrow_text(table, tmp_path)
    assert_same(table, tmp_path)


def test_a_real_shaped_probe_table_across_chunks_and_batches(tmp_path, monkeypatch) -> None:
    """A probe table from pandas as write_probes_csv gets it (nullable booleans too), in two
    chunks, written in the usual batches and in small ones."""
    rng = np.random.default_rng(7)
    n = 5000
    sent = pd.Series(pd.to_datetime(rng.integers(1.5e9, 1.6e9, n), unit="s", utc=True))
    answered = rng.random(n) < 0.6
    first = sent + pd.to_timedelta(np.where(answered, rng.integers(1, 10**6, n), 0), unit="s")
    frame = pd.DataFrame(
        {
            "probe_id": pd.Series([str(v) for v in rng.integers(1, 10**12, n)], dtype="string"),
            "brand": pd.Series(rng.choice(["Acme", "=Evil", "Beta Co", None], n), dtype="string"),
            "sent_at": sent,
            "responded": answered,
            "first_response_at": first.where(answered),
            "ttfr_s": np.where(answered, (first - sent).dt.total_seconds(), np.nan),
            "link": rng.random(n) < 0.3,
            "resolved": pd.array(np.where(rng.random(n) < 0.5, None, rng.random(n) < 0.5),
                                 dtype="boolean"),
            "brand_messages": rng.integers(0, 5, n),
            "watched_s": np.full(n, 604800.0),
        }
    )  # fmt: skip
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = pa.concat_tables([table.slice(0, 1234), table.slice(1234)])
    assert_same(table, tmp_path)
    monkeypatch.setattr(csv, "BATCH_ROWS", 97)
    assert_same(table, tmp_path)


def declined_tables() -> list:
    ns = pa.timestamp("ns", tz="UTC")
    return [
        pytest.param(pa.table({"ttfr_s": [1.0, 1.5]}), id="a fraction"),
        pytest.param(pa.table({"ttfr_s": [1.0, -0.0]}), id="minus zero"),
        pytest.param(pa.table({"ttfr_s": [2.0**53]}), id="beyond 2**53"),
        pytest.param(pa.table({"ttfr_s": [1.0, float("inf")]}), id="infinity"),
        pytest.param(pa.table({"ttfr_s": pa.array([np.nan], from_pandas=False)}), id="a NaN value"),
        pytest.param(pa.table({"ttfr_s": pa.array([1.0], pa.float32())}), id="float32"),
        pytest.param(pa.table({"sent_at": pa.array([1], ns)}), id="a nanosecond"),
        pytest.param(
            pa.table({"sent_at": pa.array([1500], pa.timestamp("ms"))}), id="milliseconds"
        ),
        pytest.param(
            pa.table({"sent_at": pa.array([-62_135_596_800], pa.timestamp("s"))}),
            id="year 1",
        ),
        pytest.param(
            pa.table({"sent_at": pa.array([253_402_300_799], pa.timestamp("s"))}),
            id="year 9999",
        ),
        pytest.param(pa.table({"other_time": pa.array([0], ns)}), id="time not in times"),
        pytest.param(pa.table({"sent_at": ["2024-01-01T00:00:00Z"]}), id="text in times"),
        pytest.param(pa.table({"sent_at": pa.array([0], pa.date32())}), id="date"),
        pytest.param(pa.table({"probe_id": [1, 2]}), id="number in a text column"),
        pytest.param(pa.table({"d": pa.array(["a"]).dictionary_encode()}), id="dictionary"),
        pytest.param(pa.table({"d": [decimal.Decimal("1.5")]}), id="decimal"),
        pytest.param(pa.table({"d": pa.array([b"x"], pa.binary())}), id="binary"),
        pytest.param(pa.table({"d": [[1, 2]]}), id="list"),
        pytest.param(pa.table([[1], [2]], names=["a", "a"]), id="a name twice"),
        pytest.param(pa.table({}), id="no columns"),
    ]


@pytest.mark.parametrize("table", declined_tables())
def test_what_the_kernel_declines_it_leaves_unwritten(tmp_path, table) -> None:
    path = tmp_path / "probes.csv"
    assert not csv.write_table(table, path, defuse=output.TEXT_COLUMNS, times=output.TIME_COLUMNS)
    assert not path.exists()


def test_a_declined_table_takes_the_arrow_path(tmp_path) -> None:
    """At the size from which write_probes_csv tries the kernel, a table it declines (a
    fraction) is written by the Arrow path."""
    rows = output._KERNEL_ROWS
    frame = pd.DataFrame({"ttfr_s": np.full(rows, 1.5), "probe_id": ["=1"] * rows})
    output.write_probes_csv(frame, tmp_path / "probes.csv")
    text = (tmp_path / "probes.csv").read_bytes()
    assert text == arrow_text(pa.Table.from_pandas(frame, preserve_index=False), tmp_path)
    assert text.splitlines()[1] == b'1.5,"\'=1"'


def test_years_the_arrow_path_cannot_write_are_left_to_it(tmp_path) -> None:
    """Seconds in year 1 or 9999 overflow the Arrow path's nanoseconds: it fails, and the
    kernel, declining them, does not write what it would not."""
    table = pa.table({"sent_at": pa.array([-62_135_596_800], pa.timestamp("s", tz="UTC"))})
    with pytest.raises(pa.ArrowInvalid):
        output.write_probes_arrow(table, tmp_path / "arrow.csv")


def test_warm_compiles_what_a_probe_table_uses(tmp_path) -> None:
    """After warm() a probe-like table adds no compiled version of any kernel (numba would
    otherwise compile in the middle of a run)."""
    csv.warm()
    kernels = {
        name: getattr(csv, name) for name in dir(csv) if hasattr(getattr(csv, name), "signatures")
    }
    before = {name: len(k.signatures) for name, k in kernels.items()}
    frame = pd.DataFrame(
        {
            "probe_id": pd.array(["1", "=2"], dtype="string[pyarrow]"),
            "sent_at": pd.to_datetime([0, None], unit="s", utc=True),
            "responded": [True, False],
            "ttfr_s": [1.0, np.nan],
            "brand_messages": [1, 2],
        }
    )
    kernel_text(pa.Table.from_pandas(frame, preserve_index=False), tmp_path)
    assert {name: len(k.signatures) for name, k in kernels.items()} == before

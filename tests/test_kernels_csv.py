"""The compiled probes.csv writer against the Arrow path that defines its text, byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from socialbench import output
from socialbench.kernels import csv as kernel

NS = pa.timestamp("ns", tz="UTC")


def both(table: pa.Table, tmp_path, *, batch_rows: int | None = None) -> tuple[bytes, bytes]:
    """(kernel's bytes, Arrow path's bytes) for one table."""
    ours, theirs = tmp_path / "kernel.csv", tmp_path / "arrow.csv"
    defuse, times = output.TEXT_COLUMNS, output.TIME_COLUMNS
    if batch_rows is None:
        assert kernel.write_table(table, ours, defuse=defuse, times=times)
    else:
        columns = kernel.plan(table, defuse=defuse, times=times)
        assert columns is not None
        ours.write_bytes(b"".join(bytes(p) for p in kernel.formatted(table, columns, batch_rows)))
    output.write_probes_arrow(table, theirs)
    return ours.read_bytes(), theirs.read_bytes()


def assert_same(table: pa.Table, tmp_path, **kwargs) -> None:
    ours, theirs = both(table, tmp_path, **kwargs)
    assert ours == theirs


AWKWARD = [
    "plain", "", None, 'say "hi"', "a,b", "line\nbreak", "cr\rhere", "crlf\r\n", "é ü 日本",
    "emoji 🎉", "=SUM(A1)", "+1", "-2", "@handle", "\ttab", "\rcr", "'quoted", '"', '""',
]  # fmt: skip


def test_awkward_text_in_text_columns(tmp_path) -> None:
    n = len(AWKWARD)
    table = pa.table(
        {
            "probe_id": pa.array(AWKWARD, pa.large_string()),
            "brand": pa.array(AWKWARD[::-1], pa.string()),
            "note": pa.array(AWKWARD, pa.string()),  # not defused: no apostrophe
            "n": pa.array(range(n), pa.int64()),
        }
    )
    assert_same(table, tmp_path)


def test_numbers_bools_and_nulls(tmp_path) -> None:
    big = np.iinfo(np.int64)
    table = pa.table(
        {
            "i": pa.array([big.min, big.max, 0, -1, None, 7], pa.int64()),
            "small": pa.array([1, -2, 3, None, 0, 127], pa.int8()),
            "u": pa.array([0, 2**64 - 1, None, 1, 10, 2**63], pa.uint64()),
            "b": pa.array([True, False, None, True, False, None]),
            "f": pa.array([0.0, 2867.0, None, -5.0, 2.0**53 - 1, 1e15], pa.float64()),
            "nothing": pa.array([None] * 6, pa.null()),
        }
    )
    assert_same(table, tmp_path)


@pytest.mark.parametrize(
    "seconds",
    [
        pytest.param([0, 1, 86399, 86400], id="epoch"),
        pytest.param([-1, -86400, -86401, -(10**9)], id="before 1970"),
        pytest.param([-9223372036, 9223372036], id="the ends of nanosecond time"),
        pytest.param([951782400, 951868800, 1709164800], id="leap days"),
    ],
)
def test_times(seconds, tmp_path) -> None:
    ns = [s * 1_000_000_000 for s in seconds] + [None]
    table = pa.table({"sent_at": pa.array(ns, NS), "first_response_at": pa.array(ns[::-1], NS)})
    assert_same(table, tmp_path)


def test_a_real_shaped_probe_table_across_batches(tmp_path) -> None:
    """A probe table from pandas as write_probes_csv gets it, several chunks and batches."""
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
    assert_same(table, tmp_path, batch_rows=97)


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(pa.table({"f": pa.array([1.5, 2.0])}), id="fraction"),
        pytest.param(pa.table({"f": pa.array([-0.0, 1.0])}), id="negative zero"),
        pytest.param(pa.table({"f": pa.array([float("inf")])}), id="infinity"),
        pytest.param(pa.table({"f": pa.array([2.0**53])}), id="beyond 2**53"),
        pytest.param(
            pa.table({"sent_at": pa.array([1_500_000_000_123_000_000], NS)}), id="sub-second"
        ),
        pytest.param(pa.table({"d": pa.array([1.5], pa.float32())}), id="float32"),
        pytest.param(pa.table({"probe_id": pa.array([1, 2])}), id="number in a text column"),
        pytest.param(pa.table({"x": pa.array([[1]])}), id="list"),
    ],
)
def test_unhandled_tables_fall_back_and_write_nothing(table, tmp_path) -> None:
    path = tmp_path / "probes.csv"
    assert not kernel.write_table(
        table, path, defuse=output.TEXT_COLUMNS, times=output.TIME_COLUMNS
    )
    assert not path.exists()


def test_write_probes_csv_falls_back_to_arrow_for_what_the_kernel_declines(tmp_path) -> None:
    rows = output._KERNEL_ROWS
    frame = pd.DataFrame({"ttfr_s": np.full(rows, 1.5), "probe_id": ["=1"] * rows})
    output.write_probes_csv(frame, tmp_path / "a.csv")
    output.write_probes_arrow(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "b")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b").read_bytes()
    assert (tmp_path / "a.csv").read_bytes().splitlines()[1] == b"1.5,\"'=1\""


def test_empty_table(tmp_path) -> None:
    table = pa.table({"probe_id": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    assert_same(table, tmp_path)

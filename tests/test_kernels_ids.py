"""Integer keys and suffix cuts read from id text, against Arrow's own cast and slicing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialbench import arrowtext
from socialbench.kernels import ids


def reference_keys(column: pa.ChunkedArray) -> np.ndarray | None:
    """Arrow's cast plus the leading-zero and sign checks (threads' definition before the
    kernel)."""
    if column.null_count == len(column):
        return np.full(len(column), -1, dtype=np.int64)
    try:
        numbers = pc.cast(column, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    first, _ = arrowtext.edge_bytes(column)
    padded = (first == ord("0")) & (pc.fill_null(pc.binary_length(column), 0).to_numpy() > 1)
    if (padded | (first == ord("+")) | (first == ord("-"))).any():
        return None
    return pc.fill_null(numbers, -1).to_numpy()


def check(values, kind=None) -> None:
    column = pa.chunked_array([pa.array(values, kind or pa.string())])
    got, want = ids.integer_keys(column), reference_keys(column)
    if want is None:
        assert got is None, values
    else:
        assert got is not None, values
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["1", "22", "333"], id="plain"),
        pytest.param(["0", "10", None], id="zero and null"),
        pytest.param([None, None], id="all null"),
        pytest.param(["007", "7"], id="leading zero"),
        pytest.param(["+5"], id="plus"),
        pytest.param(["-5"], id="minus"),
        pytest.param([""], id="empty"),
        pytest.param([" 5"], id="space"),
        pytest.param(["5.0"], id="float"),
        pytest.param(["0x10"], id="hex"),
        pytest.param(["9223372036854775807"], id="int64 max"),
        pytest.param(["9223372036854775808"], id="int64 max + 1"),
        pytest.param(["99999999999999999999"], id="twenty digits"),
        pytest.param(["12a"], id="letter"),
        pytest.param(["١٢"], id="arabic digits"),
        pytest.param([], id="none"),
    ],
)
@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()], ids=str)
def test_integer_keys_cases(values, kind) -> None:
    check(values, kind)


@pytest.mark.parametrize("seed", range(20))
def test_integer_keys_random(seed) -> None:
    rng = np.random.default_rng(seed)
    values = [str(v) for v in rng.integers(0, 2**62, 200)]
    values += [None] * 5
    if seed % 2:  # one awkward value somewhere
        awkward = ["0", "00", "-1", "+1", "", " 1", "1 ", "1.0", "x", "٣", "18446744073709551616"]
        values[int(rng.integers(0, len(values)))] = awkward[seed % len(awkward)]
    rng.shuffle(values)
    check(values)


def test_integer_keys_across_chunks_and_slices() -> None:
    chunk = pa.array(["5", None, "6", "7"])
    column = pa.chunked_array([chunk.slice(1), pa.array([], pa.string()), chunk])
    assert ids.integer_keys(column).tolist() == [-1, 6, 7, 5, -1, 6, 7]


@pytest.mark.parametrize("seed", range(10))
def test_cut_suffix_random(seed) -> None:
    rng = np.random.default_rng(seed)
    pieces = ["", "1", ".0", "0", ".", "é", "x"]
    values = ["".join(rng.choice(pieces, int(rng.integers(0, 5)))) for _ in range(300)]
    values = [None if rng.random() < 0.1 else v for v in values]
    chunk = pa.array(values, pa.large_string() if seed % 2 else pa.string()).slice(3)
    expected = [v[:-2] if v is not None and v.endswith(".0") else v for v in values[3:]]
    assert ids.cut_suffix(chunk, b".0").to_pylist() == expected


@pytest.mark.parametrize("seed", range(10))
def test_first_appearance_numbers_keys_in_order_of_first_appearance(seed) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(-1, 30, int(rng.integers(0, 200))).astype(np.int64)
    codes, distinct = ids.first_appearance(keys, 30)
    seen = list(dict.fromkeys(int(k) for k in keys if k >= 0))
    assert distinct.tolist() == seen
    assert codes.tolist() == [seen.index(int(k)) if k >= 0 else -1 for k in keys]


@pytest.mark.parametrize("seed", range(10))
def test_dense_index_finds_each_key_s_first_row(seed) -> None:
    rng = np.random.default_rng(seed)
    top = int(rng.integers(0, 40))
    keys = rng.integers(0, top + 1, int(rng.integers(1, 60))).astype(np.int64)
    index = ids.DenseIndex(keys, top)
    first = {}
    for row, key in enumerate(keys.tolist()):
        first.setdefault(key, row)
    keep = index.first_occurrences()
    expected = [first[k] == row for row, k in enumerate(keys.tolist())]
    assert (keep is None) == all(expected)
    if keep is not None:
        assert keep.tolist() == expected
    refs = rng.integers(-2, top + 3, 50).astype(np.int64)
    assert index.lookup(refs).tolist() == [first.get(int(r), -1) for r in refs]

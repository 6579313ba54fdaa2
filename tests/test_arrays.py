"""measure.arrays: numpy <-> Arrow through buffers, checked against pyarrow's own conversions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialbench.measure import arrays


@pytest.mark.parametrize(
    "values",
    [
        np.array([True, False, True, True, False, False, False, True, True]),
        np.array([], dtype=bool),
        np.arange(-3, 7, dtype=np.int64),
        np.arange(5, dtype=np.int32)[::2],  # not contiguous
        np.array([1.5, -0.0, 3e300]),
    ],
)
def test_arrow_is_pa_array(values):
    assert arrays.arrow(values).equals(pa.array(values))


def test_bools_reads_slices_nulls_and_chunks_as_pyarrow_does():
    array = pa.array([True, None, False, True, True, None, False, False, True, True, None])
    for piece in (array, array.slice(3), array.slice(1, 7), array.slice(9), array.slice(11)):
        want = pc.fill_null(piece, False).to_numpy(zero_copy_only=False)
        assert arrays.bools(piece).tolist() == want.tolist()
    chunked = pa.chunked_array([array.slice(2), array, array.slice(0, 0)])
    assert arrays.bools(chunked).tolist() == (
        pc.fill_null(chunked, False).to_numpy(zero_copy_only=False).tolist()
    )
    assert arrays.bools(pa.chunked_array([], pa.bool_())).tolist() == []


@pytest.mark.parametrize(
    ("value", "kind"),
    [(False, pa.bool_()), (0, pa.int64()), (2.5, pa.float64()), ("", pa.string()),
     (" é'\x1f", pa.large_string())],
)  # fmt: skip
def test_scalar_is_pa_scalar(value, kind):
    assert arrays.scalar(value, kind).equals(pa.scalar(value, kind))


def test_floats_reads_numbers_with_nulls_as_nan():
    array = pa.array([1, None, 3, 4, None, 6], pa.int64())
    for piece in (array, array.slice(1), array.slice(2, 3), pa.array([], pa.float64())):
        want = pc.fill_null(piece.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(arrays.floats(piece), want)
    chunked = pa.chunked_array([array.slice(4), pa.array([2, None], pa.int64())])
    np.testing.assert_array_equal(arrays.floats(chunked), [np.nan, 6.0, 2.0, np.nan])

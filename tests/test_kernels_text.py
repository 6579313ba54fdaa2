"""The compiled edge test against the first and last bytes numpy reads."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from socialbench import arrowtext
from socialbench.kernels import text


@pytest.mark.parametrize("seed", range(20))
def test_any_edge_equals_edge_bytes(seed) -> None:
    rng = np.random.default_rng(seed)
    pieces = ["a", "1", " ", "\t", "é", "\u3000", ""]
    values = ["".join(rng.choice(pieces, int(rng.integers(0, 4)))) for _ in range(50)]
    values = [None if rng.random() < 0.1 else v for v in values]
    kind = pa.large_string() if seed % 2 else pa.string()
    column = pa.chunked_array([pa.array(values[:20], kind), pa.array(values[20:], kind).slice(2)])
    wanted = np.zeros(256, dtype=bool)
    wanted[rng.choice(256, 3)] = True
    wanted[ord(" ")] = seed % 3 == 0
    first, last = arrowtext.edge_bytes(column)
    edges = np.concatenate([first, last])
    expected = bool(wanted[edges[edges >= 0]].any())
    assert text.any_edge(column, wanted) is expected


def test_trim_whitespace_leaves_a_clean_column_alone() -> None:
    column = pa.chunked_array([pa.array(["a", None, "b c"])])
    assert arrowtext.trim_whitespace(column) is column
    assert arrowtext.trim_whitespace(pa.chunked_array([pa.array([" a", None])])).to_pylist() == [
        "a",
        None,
    ]

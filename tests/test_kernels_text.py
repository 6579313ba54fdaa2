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


@pytest.mark.parametrize("seed", range(20))
def test_gather_equals_take_and_join(seed) -> None:
    """``gather`` against its definition: Arrow's take, nulls as "", the padding joined."""
    rng = np.random.default_rng(seed)
    pieces = ["a", "bcdefghij", "é", '"', "\n", "0123456789abcdef", ""]
    values = ["".join(rng.choice(pieces, int(rng.integers(0, 5)))) for _ in range(120)]
    values = [None if rng.random() < 0.1 else v for v in values]
    kind = pa.large_string() if seed % 2 else pa.string()
    cuts = sorted(rng.choice(np.arange(1, 119), int(rng.integers(0, 4)), replace=False))
    bounds = [0, *cuts, 120]
    chunks = [pa.array(values[a:b], kind) for a, b in zip(bounds, bounds[1:], strict=False)]
    if seed % 3 == 0:  # a sliced chunk: offsets that do not start at 0
        chunks = [pa.array(["skip", *values[: bounds[1]]], kind).slice(1), *chunks[1:]]
    column = pa.chunked_array(chunks, kind)
    rows = rng.integers(0, 120, int(rng.integers(0, 200)))
    before, after = [(b"", b""), (b" ", b" \x1f"), (b"<<", b"")][seed % 3]
    expected = [before.decode() + (v or "") + after.decode() for v in column.take(rows).to_pylist()]
    got = text.gather(column, rows, before, after)
    assert got.type == pa.large_string()
    got.validate(full=True)
    assert got.to_pylist() == expected


def test_mentions_lists_every_handle_in_order() -> None:
    texts = pa.array(["@a hi @b_2", "x@y @", None, "", "é@Z,@@q", "@Acme\u017f"])
    tokens, rows, beside = text.mentions(texts)
    assert tokens.to_pylist() == ["a", "b_2", "Z", "q", "Acme"]
    assert rows.tolist() == [0, 0, 4, 4, 5]
    assert beside  # the long s after @Acme
    assert not text.mentions(texts.slice(0, 5))[2]

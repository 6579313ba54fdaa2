"""arrowtext: first and last bytes read in place, and the trim that skips its copy."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialbench import arrowtext
from socialbench.output import defuse_formulas

NONE = arrowtext.NONE
VALUES = ["abc", "", None, "é!", " x ", "\u00a0y", "z\u3000", "=1+2", "\t@a", "7"]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_edge_bytes_of_plain_sliced_and_chunked_columns(kind) -> None:
    whole = pa.array(VALUES, kind)
    expected_first = [ord("a"), NONE, NONE, 0xC3, ord(" "), 0xC2, ord("z"), ord("="), 9, ord("7")]
    expected_last = [ord("c"), NONE, NONE, ord("!"), ord(" "), ord("y"), 0x80, ord("2"), 97, 55]
    first, last = arrowtext.edge_bytes(whole)
    assert first.tolist() == expected_first
    assert last.tolist() == expected_last
    first, last = arrowtext.edge_bytes(whole.slice(3, 4))  # an offset into the buffers
    assert first.tolist() == expected_first[3:7]
    assert last.tolist() == expected_last[3:7]
    chunked = pa.chunked_array([whole.slice(0, 4), whole.slice(4)])
    assert arrowtext.edge_bytes(chunked)[0].tolist() == expected_first
    assert arrowtext.edge_bytes(pa.chunked_array([], kind))[0].tolist() == []


def test_edge_bytes_of_null_slots_with_data() -> None:
    """A null slot may still span bytes of the data buffer: it counts as no byte."""
    values = pa.array(["ab", "cd"])
    masked = pa.Array.from_buffers(
        pa.string(), 2, [pa.array([True, False]).buffers()[1], *values.buffers()[1:]]
    )
    assert arrowtext.edge_bytes(masked)[0].tolist() == [ord("a"), NONE]


def test_edge_bytes_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        arrowtext.edge_bytes(pa.array([1, 2]))


@pytest.mark.parametrize(
    "values",
    [
        VALUES,
        ["a", "b\u2003", "c"],  # a Unicode space at the end
        ["\x1cq", "r"],  # an ASCII information separator, a space to Unicode
        ["12", "34.0", None],
        ["\u00e9t\u00e9"],  # non-ASCII but no space: trimmed in full, unchanged
    ],
)
def test_trim_whitespace_equals_arrows(values: list) -> None:
    column = pa.chunked_array([pa.array(values)])
    assert arrowtext.trim_whitespace(column).equals(pc.utf8_trim_whitespace(column))


def test_trim_whitespace_skips_the_copy_when_nothing_to_trim() -> None:
    column = pa.chunked_array([pa.array(["12", "3", None, ""])])
    assert arrowtext.trim_whitespace(column) is column


def test_defuse_formulas_reads_first_bytes() -> None:
    column = pa.array(["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "ok", "", None, "é=", " =x"])
    assert defuse_formulas(column).to_pylist() == [
        "'=SUM(A1)",
        "'+1",
        "'-2",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        "",
        None,
        "é=",
        " =x",
    ]
    plain = pa.array(["a", "b"])
    assert defuse_formulas(plain) is plain


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize(
    "values",
    [
        ["3.0", "12.0", "", "7", "x.0", ".0", "0", "5.00", "é.0"],
        ["1.0", None, "2"],
        ["1", "2"],
        [""],
    ],
)
def test_cut_suffix_equals_slicing(kind, values: list) -> None:
    expected = [None if v is None else (v[:-2] if v.endswith(".0") else v) for v in values]
    column = pa.chunked_array([pa.array(values, kind)])
    assert arrowtext.cut_suffix(column, ".0").to_pylist() == expected
    sliced = pa.chunked_array([pa.array(values, kind).slice(1), pa.array(values, kind)])
    assert arrowtext.cut_suffix(sliced, ".0").to_pylist() == expected[1:] + expected


def test_cut_suffix_wants_ascii() -> None:
    with pytest.raises(ValueError):
        arrowtext.cut_suffix(pa.chunked_array([pa.array(["a"])]), "é")


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_empty_as_null_keeps_the_text_in_place(kind) -> None:
    values = pa.array(["1", "", None, "22", ""], kind)
    column = pa.chunked_array([values, values.slice(1), values.slice(2, 2)])
    got = arrowtext.empty_as_null(column)
    got.validate(full=True)
    expected = [None if v in ("", None) else v for v in column.to_pylist()]
    assert got.to_pylist() == expected
    assert got.null_count == expected.count(None)
    assert got.chunk(0).buffers()[2].address == values.buffers()[2].address
    whole = pa.chunked_array([pa.array(["a", "b"], kind)])
    assert arrowtext.empty_as_null(whole).chunk(0).buffers()[0] is None  # nothing became null

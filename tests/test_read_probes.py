"""Reading a probe table back: the types of every column, defused formulas restored, bad
files refused with a message."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from socialbench.errors import InputError
from socialbench.report import output
from socialbench.report.model import read_probes

HEADER = "probe_id,brand,responded,sent_at,ttfr_s,brand_messages,category\n"


def test_a_written_table_reads_back_with_its_types_and_text(tmp_path):
    probes = pd.DataFrame(
        {
            "probe_id": ["1", "2", "3"],
            "brand": ['=HYPERLINK("x")', "@acme", 'plain, with "quotes"\nand a newline'],
            "responded": [True, False, True],
            "sent_at": pd.to_datetime(["2024-03-04T09:00:00Z"] * 3, utc=True),
            "ttfr_s": [60.0, math.nan, 1.5],
            "brand_messages": [1, 0, 2],
            "category": [None, "billing", None],
        }
    )
    path = tmp_path / "probes.csv"
    output.write_probes_csv(probes, path)
    assert "'=HYPERLINK" in path.read_text()  # defused on disk
    back = read_probes(path)
    assert back["brand"].tolist() == probes["brand"].tolist()  # and restored
    assert back["responded"].tolist() == [True, False, True]
    assert str(back["responded"].dtype) == "boolean"
    assert back["sent_at"].dt.tz is not None and (back["sent_at"] == probes["sent_at"]).all()
    assert back["ttfr_s"].tolist()[::2] == [60.0, 1.5] and math.isnan(back["ttfr_s"][1])
    assert back["brand_messages"].tolist() == [1, 0, 2]
    assert back["category"].isna().tolist() == [True, False, True]


def test_unknown_booleans_and_numbers_are_missing(tmp_path):
    path = tmp_path / "probes.csv"
    path.write_text(HEADER + "1,a,maybe,2024-03-04T09:00:00Z,soon,x,\n2,b,TRUE,,5,3,\n")
    back = read_probes(path)
    assert back["responded"].isna().tolist() == [True, False]
    assert bool(back["responded"][1]) is True
    assert math.isnan(back["ttfr_s"][0]) and back["ttfr_s"][1] == 5.0
    assert back["brand_messages"].isna().tolist() == [True, False]
    assert back["sent_at"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    "content, problem",
    [
        pytest.param(None, "no such file", id="missing"),
        pytest.param(HEADER.encode() + b"1,\xff\xfe,true,,,,\n", "not a readable probe table",
                     id="not-utf8"),
        pytest.param(HEADER.encode() + b"1,a,true\n", "not a readable probe table",
                     id="short-row"),
    ],
)  # fmt: skip
def test_bad_probe_tables_are_input_errors(tmp_path, content, problem):
    path = tmp_path / "probes.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        read_probes(path)

"""Generic CSV / JSON Lines exports read through --map (socialbench.sources.generic)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SOURCE_DATA as DATA
from conftest import write_file as write

from socialbench.errors import InputError, UsageError
from socialbench.sources import ReadOptions, generic, messages

COLUMNS = [
    messages.ID,
    messages.PARENT_ID,
    messages.CONVERSATION_ID,
    messages.AUTHOR,
    messages.AUTHOR_IS_BRAND,
    messages.CREATED_AT,
    messages.TEXT,
    messages.CHANNEL,
    messages.SURFACE,
    messages.FOLLOWERS,
]
CSV_MAP = {
    "id": "ticket_msg_id",
    "author": "sender",
    "time": "sent_at",
    "text": "body",
    "parent": "in_reply_to",
    "brand": "direction",
    "channel": "platform",
    "conversation": "thread",
    "followers": "fans",
    "surface": "visibility",
}
BASIC_MAP = {"id": "id", "author": "author", "time": "time", "text": "text"}


def table(rows: list[tuple]) -> pd.DataFrame:
    return messages.normalize(pd.DataFrame(rows, columns=COLUMNS))[COLUMNS]


def options(mapping: dict[str, str] | None = None, **extra) -> ReadOptions:
    return ReadOptions(mapping=dict(mapping or BASIC_MAP), **extra)


def csv(tmp_path: Path, *rows: str, header: str = "id,author,time,text") -> Path:
    return write(tmp_path / "export.csv", "\n".join([header, *rows]) + "\n")


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param("id,author,time,text\n1,a,2024-01-01,hi\n", True, id="csv"),
        pytest.param('{"id": 1, "who": "a"}\n{"id": 2}\n', True, id="json-lines"),
        pytest.param('{\n  "data": []\n}\n', False, id="pretty-json-document"),
        pytest.param("[1, 2, 3]\n", False, id="json-array"),
        pytest.param("just some words\n", False, id="plain-text"),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert generic.sniff(head, Path("input")) is expected


# --- hand-made inputs -------------------------------------------------------------------------


def test_csv_export_with_every_target() -> None:
    got = generic.read(DATA / "generic_export.csv", options(CSV_MAP))
    expected = table(
        [
            ("m1", None, "T1", "carla", False, "2024-09-01T08:00:00Z",
             "Hello, my invoice\nis wrong", "webchat", "private", None),
            ("m2", "m1", "T1", "acme_support", True, "2024-09-01T08:03:00Z",
             "Sorry! Fixing it now.", "webchat", "private", None),
            ("m3", None, "T2", "dan", False, "2024-09-01T09:00:00Z",
             "great service", "x", "public", 120),
            ("m4", "m3", "T2", "acme_support", True, "2024-09-01T09:30:00Z",
             "Thanks Dan!", "x", "public", 5000),
        ]
    )  # fmt: skip
    pd.testing.assert_frame_equal(got[COLUMNS], expected)


def test_json_lines_export_with_typed_values() -> None:
    mapping = {"id": "msg", "author": "who", "time": "at", "text": "content", "parent": "reply"}
    got = generic.read(DATA / "generic_export.jsonl", options({**mapping, "brand": "agent"}))
    expected = table(
        [
            ("1", None, None, "eve", False, "2024-09-01T09:00:00Z",
             "Where is my parcel?", "unknown", "public", None),
            ("2", "1", None, "shop", True, "2024-09-01T09:05:00Z",
             "On its way!", "unknown", "public", None),
        ]
    )  # fmt: skip
    pd.testing.assert_frame_equal(got[COLUMNS], expected)


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("FALSE", False, id="FALSE"),
        pytest.param("1", True, id="1"),
        pytest.param("0", False, id="0"),
        pytest.param("Yes", True, id="Yes"),
        pytest.param("no", False, id="no"),
        pytest.param("Outbound", True, id="Outbound"),
        pytest.param(" inbound ", False, id="inbound-padded"),
    ],
)
def test_brand_words(tmp_path: Path, value: str, flag: bool) -> None:
    path = csv(tmp_path, f"1,a,2024-01-01T00:00:00Z,hi,{value}", header="id,author,time,text,b")
    got = generic.read(path, options({**BASIC_MAP, "brand": "b"}))
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [flag]


@pytest.mark.parametrize(
    ("mapping_brand", "handles", "flags"),
    [
        pytest.param(False, frozenset(), [None, None], id="unknown"),
        pytest.param(False, frozenset({"acme"}), [False, True], id="brands-only"),
        pytest.param(True, frozenset({"cust"}), [True, False], id="brands-override-column"),
    ],
)
def test_brand_sources(tmp_path: Path, mapping_brand: bool, handles: frozenset, flags) -> None:
    path = csv(
        tmp_path,
        "1,cust,2024-01-01T00:00:00Z,hi,inbound",
        "2,ACME,2024-01-01T00:01:00Z,hello,inbound",
        header="id,author,time,text,b",
    )
    mapping = {**BASIC_MAP, "brand": "b"} if mapping_brand else BASIC_MAP
    got = generic.read(path, options(mapping, brand_handles=handles))
    assert (
        got[messages.AUTHOR_IS_BRAND]
        .astype(object)
        .where(got[messages.AUTHOR_IS_BRAND].notna(), None)
        .tolist()
        == flags
    )


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        pytest.param("2024-03-01T12:00:00Z", "2024-03-01T12:00:00Z", id="iso-z"),
        pytest.param("2024-03-01T14:00:00+02:00", "2024-03-01T12:00:00Z", id="iso-offset"),
        pytest.param("2024-03-01T12:00:00", "2024-03-01T12:00:00Z", id="iso-naive-is-utc"),
        pytest.param("2024-03-01 12:00:00.250", "2024-03-01T12:00:00.250Z", id="iso-space"),
        pytest.param("1709294400", "2024-03-01T12:00:00Z", id="epoch-seconds"),
        pytest.param("1709294400.5", "2024-03-01T12:00:00.500Z", id="epoch-fraction"),
    ],
)
def test_times(tmp_path: Path, value: str, moment: str) -> None:
    path = csv(tmp_path, f"1,a,{value},hi")
    got = generic.read(path, options())
    assert got[messages.CREATED_AT].tolist() == [pd.Timestamp(moment)]


def test_unmapped_columns_are_ignored(tmp_path: Path) -> None:
    path = csv(tmp_path, "1,a,1709294400,hi,whatever", header="id,author,time,text,notes")
    got = generic.read(path, options())
    assert got[messages.ID].tolist() == ["1"]
    assert got[messages.CHANNEL].tolist() == ["unknown"]


def test_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = csv(tmp_path, "1,a,1709294400,hi", "", '2,b,"not a time",x')
    with pytest.raises(InputError, match=r"export\.csv:4: "):
        generic.read(path, options())


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "header", "mapping", "expected"),
    [
        pytest.param(
            ['1,a,2024-01-01T00:00:00Z,"two\nlines",inbound', "2,b,2024-01-01T00:01:00Z,x,maybe"],
            "id,author,time,text,dir",
            {**BASIC_MAP, "brand": "dir"},
            "export.csv:4: brand flag in column 'dir' is not true/false, 1/0, yes/no or "
            "outbound/inbound: 'maybe'",
            id="bad-brand-after-multiline-field",
        ),
        pytest.param(
            ["1,a,yesterday,hi"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:2: not a timestamp (ISO 8601 or epoch seconds) in column 'time': "
            "'yesterday'",
            id="bad-time",
        ),
        pytest.param(
            ["1,a,1709294400000,hi"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:2: not a timestamp (ISO 8601 or epoch seconds) in column 'time': "
            "'1709294400000'",
            id="epoch-milliseconds",
        ),
        pytest.param(
            ["1,a,1709294400,hi", ",b,1709294400,hi"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:3: missing id (column 'id')",
            id="missing-id",
        ),
        pytest.param(
            ["1,,1709294400,hi"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:2: missing author (column 'author')",
            id="missing-author",
        ),
        pytest.param(
            ["1,a,1709294400,hi", "1,b,1709294401,again"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:3: duplicate id '1' (first on line 2)",
            id="duplicate-id",
        ),
        pytest.param(
            ["1,a,1709294400,hi,dm"],
            "id,author,time,text,where",
            {**BASIC_MAP, "surface": "where"},
            "export.csv:2: surface in column 'where' is not public or private: 'dm'",
            id="bad-surface",
        ),
        pytest.param(
            ["1,a,1709294400,hi,lots"],
            "id,author,time,text,fans",
            {**BASIC_MAP, "followers": "fans"},
            "export.csv:2: follower count in column 'fans' is not a number: 'lots'",
            id="bad-followers",
        ),
        pytest.param(
            ["1,a,1709294400,hi"],
            "id,author,time,body",
            BASIC_MAP,
            "export.csv: mapped column(s) not in the file: 'text'",
            id="missing-column",
        ),
        pytest.param(
            ["1,a,1709294400,hi", '2,b,1709294400,"x\ny",extra'],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:3: malformed CSV: 5 fields where the header line has 4",
            id="extra-field-later",
        ),
        pytest.param(
            ['1,a,1709294400,"x\ny"', "2,b,1709294400,hi,extra"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:4: malformed CSV: 5 fields where the header line has 4",
            id="extra-field-everywhere",
        ),
        pytest.param(
            ["1,a,1709294400,hi,extra"],
            "id,author,time,text",
            BASIC_MAP,
            "export.csv:2: malformed CSV: 5 fields where the header line has 4",
            id="extra-field-first-row",
        ),
    ],
)
def test_bad_csv(tmp_path: Path, rows: list, header: str, mapping: dict, expected: str) -> None:
    path = csv(tmp_path, *rows, header=header)
    with pytest.raises(InputError) as caught:
        generic.read(path, options(mapping))
    assert str(caught.value) == f"{tmp_path}/{expected}"


JSON_MAP = {"id": "id", "author": "who", "time": "at", "text": "body"}
GOOD_LINE = '{"id": 1, "who": "a", "at": 1709294400, "body": "hi"}'


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [GOOD_LINE, '{"id": 2, "who": "b",'],
            ":2: broken JSON: Expecting property name enclosed in double quotes at column 22",
            id="broken-json",
        ),
        pytest.param(
            [GOOD_LINE, '{"id": 2, "who": "b", "at": "Monday", "body": "x"}'],
            ":2: not a timestamp (ISO 8601 or epoch seconds) in column 'at': 'Monday'",
            id="bad-time",
        ),
        pytest.param(
            [GOOD_LINE, '{"id": 2, "who": {"name": "b"}, "at": 1709294400, "body": "x"}'],
            ":2: column 'who': expected a string, number or boolean, found an object with keys "
            "name",
            id="nested-value",
        ),
        pytest.param([GOOD_LINE, "[1, 2]"], ":2: expected a JSON object, found a list", id="array"),
        pytest.param(
            [GOOD_LINE, '{"id": 2, "at": 1709294400, "body": "x"}'],
            ":2: missing author (column 'who')",
            id="missing-author",
        ),
        pytest.param(
            ['{"id": 1, "at": 1709294400, "body": "x"}'],
            ": mapped column(s) not in the file: 'who'",
            id="column-nowhere",
        ),
    ],
)
def test_bad_json_lines(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = write(tmp_path / "export.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        generic.read(path, options(JSON_MAP))
    assert str(caught.value) == f"{path}{expected}"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("export.csv", b"id,author,time,text\n1,a,1709294400,caf\xe9\n", id="csv"),
        pytest.param("export.jsonl", b'{"id": 1}\n{"id": "\xff"}\n', id="json-lines"),
    ],
)
def test_non_utf8(tmp_path: Path, name: str, content: bytes) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError, match=rf"{name}:2: text is not UTF-8"):
        generic.read(path, options())


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param({"id": "a", "author": "b", "time": "c"}, "needs --map for text", id="no-text"),
        pytest.param({**BASIC_MAP, "likes": "x"}, "unknown --map target", id="unknown-target"),
    ],
)
def test_bad_mapping(tmp_path: Path, mapping: dict, message: str) -> None:
    path = csv(tmp_path, "1,a,1709294400,hi")
    with pytest.raises(UsageError, match=message):
        generic.read(path, options(mapping))


def test_skip_bad_rows_records_the_skips(tmp_path: Path) -> None:
    path = csv(
        tmp_path,
        "1,a,1709294400,hi",
        '2,b,never,"multi\nline"',
        "3,c,1709294500,ok",
        "3,d,1709294600,dup",
    )
    opts = options(skip_bad_rows=True)
    got = generic.read(path, opts)
    assert got[messages.ID].tolist() == ["1", "3"]
    assert [(bad.line, bad.problem[:15]) for bad in opts.skipped] == [
        (3, "not a timestamp"),
        (6, "duplicate id '3"),
    ]


def test_vectorised_on_a_large_csv(tmp_path: Path) -> None:
    rows = [f"{i},user{i % 50},{1709294400 + i},text {i}" for i in range(20_000)]
    got = generic.read(csv(tmp_path, *rows), options())
    assert len(got) == 20_000
    assert got[messages.CREATED_AT].iloc[-1] == pd.Timestamp(
        1709294400 + 19_999, unit="s", tz="UTC"
    )


# --- the business account ---------------------------------------------------------------------


def test_account_column_mapped(tmp_path: Path) -> None:
    """--map account=COL: every message names the business; empty cells are <NA>."""
    path = csv(
        tmp_path,
        "1,cust,2024-01-01T10:00:00Z,where is my parcel?, Acme Shop ",
        "2,Acme Shop,2024-01-01T10:05:00Z,on its way,Acme Shop",
        "3,other,2024-01-01T11:00:00Z,hello?,Acme Shop",
        "4,someone,2024-01-01T12:00:00Z,public note,",
        header="id,author,time,text,page",
    )
    got = generic.read(path, options({**BASIC_MAP, "account": "page"}))
    assert got[messages.ACCOUNT].tolist() == ["Acme Shop"] * 3 + [pd.NA]


def test_account_in_json_lines(tmp_path: Path) -> None:
    rows = [
        '{"id": 1, "author": "cust", "time": 1717236000, "text": "hi", "biz": 15550001111}',
        '{"id": 2, "author": "cust2", "time": 1717236060, "text": "yo", "biz": null}',
    ]
    path = write(tmp_path / "export.jsonl", "\n".join(rows) + "\n")
    got = generic.read(path, options({**BASIC_MAP, "account": "biz"}))
    assert got[messages.ACCOUNT].tolist() == ["15550001111", pd.NA]


def test_account_absent_without_mapping(tmp_path: Path) -> None:
    got = generic.read(csv(tmp_path, "1,cust,2024-01-01T10:00:00Z,hi"), options())
    assert got[messages.ACCOUNT].isna().all()

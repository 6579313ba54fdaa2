"""twcs archives read by DuckDB (conversations.scan): the messages sources.twcs gives, and bad
input named by file and line."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from socialbench import conversations, sources
from socialbench.conversations import duck, frames, scan
from socialbench.errors import InputError
from socialbench.sources import messages
from tests.conftest import external
from tests.test_source_twcs import HEADER, IMPOSSIBLE_OFFSETS, QUIRKY

OK = "2017-10-31T22:10:47Z"


def write(tmp_path, text: str, *, name="t.csv", newline="\n") -> str:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return str(path)


def load(paths, *, skip=False, engine=None):
    """(messages ordered by seq, skipped rows as text) after scan.load_twcs."""
    engine = engine or duck.DuckEngine()
    options = sources.ReadOptions(skip_bad_rows=skip)
    try:
        count = scan.load_twcs(engine, list(paths), skip_bad_rows=skip, bad=options.bad)
        table = engine.arrow("SELECT * FROM messages ORDER BY seq")
    finally:
        engine.close()
    assert table.num_rows == count
    return table, [str(s) for s in options.skipped]


def reference(path, *, skip=False):
    options = sources.ReadOptions(skip_bad_rows=skip)
    frame = sources.read(Path(path), fmt="twcs", options=options)
    return frames.arrow_messages(frame), [str(s) for s in options.skipped]


def assert_same(mine: pa.Table, theirs: pa.Table) -> None:
    """Column by column; seq only in its order (a reader's seq has gaps at skipped rows)."""
    assert mine.schema == messages.ARROW_SCHEMA
    assert mine.num_rows == theirs.num_rows
    seq = mine.column("seq")
    if len(seq) > 1:
        assert pc.all(pc.greater(seq[1:], seq[:-1])).as_py()
    for name in mine.column_names[1:]:
        assert mine.column(name).equals(theirs.column(name)), (
            name,
            mine.column(name).to_pylist(),
            theirs.column(name).to_pylist(),
        )


def assert_like_twcs(path, *, skip=True) -> pa.Table:
    mine, skipped = load([path], skip=skip)
    theirs, their_skipped = reference(path, skip=skip)
    assert_same(mine, theirs)
    assert skipped == without_twice_reported(their_skipped)
    return mine


def without_twice_reported(skipped: list[str]) -> list[str]:
    """sources.twcs also reports an unparseable time as outside the supported range when some
    other time is (its range mask is null there, and nulls count as bad): scan does not."""
    unparseable = {s.split(": ")[0] for s in skipped if "unparseable created_at" in s}
    return [
        s for s in skipped if not ("outside the supported" in s and s.split(": ")[0] in unparseable)
    ]


# ------------------------------------------------------------------- the same messages

TIMES = (
    "Tue Oct 31 22:10:47 +0000 2017", "Wed Mar 1 09:00:00 +0000 2017",
    "Tue Feb 28 23:30:00 -0100 2017", "tue oct 31 22:10:47 +0000 2017",
    "Tue  Oct 31 22:10:47 +0000 2017", "Tue Oct 31 22:10:47 +00:00 2017",
    "Tue Oct 31 22:10:47 Z 2017", "Tuesday October 31 22:10:47 +0000 2017",
    "Tue Oct 31 22:10:47 +1400 2017", "Tue Oct 31 22:10:47 -1459 2017",
    "Mon Oct 31 22:10:47 +0000 2017", "Tue Oct 31 2:10:47 +0000 2017",
    "Thu Feb 30 10:00:00 +0000 2017", "Tue Feb 29 10:00:00 +0000 2016",
    "Tue Oct 31 22:10:47 GMT 2017", "Tue Oct 31 22:10 +0000 2017",
    "Tue Sep 21 00:12:43 +0000 1677", "Tue Oct 31 22:10:47 +0000 0001",
    OK, "2017-10-31T22:10:47+14:00", "2017-10-31T22:10:47-1459", "2017-10-31 22:10:47 +05",
    "2017-10-31", "2017-10-31T22:10", "2017-10-31T22:10:47.123456789Z", "2017-10-31T22:10:47",
    "20171031T221047Z", "2017-10-31T22:10:47 UTC", "2017-10-31T22:10:47+05:30:00",
    "2017-02-30T00:00:00Z", "2017-10-31T24:00:00Z", "2017-W44", "2017-10-31T22:10:47,5Z",
    "2017", "2017-10", "20171031", "2017-10-31T22", "2017-10-31T2210", "2017-10-31T221047",
    "2017-10-31T22:10:47z", "2017-10-31T22:10:47 Z", "2017-10-31T22:10:47.",
    "1960-01-01T00:00:00.5Z", "1969-12-31T23:59:59.9Z", "2017-10-31T22:10:47+0530",
    "2017-10-31T22:10:47+5", "2017-10-31T22:10:47  +05:30", "2017-10-31  22:10:47",
    "2017-1-3T2:3:4", "2017-10-31T22:10:47-00", "2017-10-31T22:10:47.123+14:59",
    "2017/10/31 22:10:47", "2017.10.31", "2017/10", "2017 10", "2017\\10\\31", "2017/10-31",
    "2017-10-31T5Z", "2017-10-31T05Z", "2017-10-31T22:5",
    "2017-10-31T22:10:47+530", "2017-10-31T22:10:47+5:30", "2017-10-31T22:10:47+05:3",
    "2017-10-31T22:10:47+05:", "2017-10-31T22:1047", "2017-13-01", "2017-10-00",
    "2016-02-29T00:00:00Z", " 2017-10-31T22:10:47Z\u3000", "yesterday", "",
    *IMPOSSIBLE_OFFSETS,
)  # fmt: skip


def test_times_read_as_the_twcs_reader_reads_them(tmp_path):
    body = "".join(f'{n},115,True,"{time}",t{n},,\n' for n, time in enumerate(TIMES, 1))
    mine = assert_like_twcs(write(tmp_path, HEADER + "\n" + body))
    assert mine.num_rows > len(TIMES) // 2


@pytest.mark.parametrize("newline", [pytest.param("\n", id="lf"), pytest.param("\r\n", id="crlf")])
def test_quirks_of_the_real_layout(tmp_path, newline):
    mine = assert_like_twcs(write(tmp_path, QUIRKY, newline=newline))
    assert mine.column("id").to_pylist() == ["2", "1", "3", "4", "5"]
    assert mine.column("parent_id").to_pylist() == ["1", None, "2", "99", "3"]


def test_bare_carriage_returns_are_kept_in_text(tmp_path):
    body = (
        HEADER + f"\r\n1,115,True,{OK},@Acme a\r\rb,,\r\n"
        f'2,116,True,{OK},"q\rr",,\r\n3,116\r\n4,117,True,{OK},"x\r\ny",,\r\n'
        f"5,117 \r,True,{OK},last\r,,\r\n"
    )
    path = tmp_path / "cr.csv"
    path.write_bytes(body.encode())
    mine = assert_like_twcs(str(path))
    assert mine.column("text").to_pylist() == ["@Acme a\r\rb", "q\rr", "x\ny", "last\r"]


def test_ids_authors_and_inbound_are_cleaned_as_the_twcs_reader_does(tmp_path):
    body = (
        f" 7.00 ,\u3000115\u00a0, TRUE ,{OK},  spaced text  ,, 3.0\n"
        f'8,AcmeHelp,false,{OK},,,.0\n9,x,True,{OK},"",,9.01\n10,y,True,{OK},z,,1e3\n'
    )
    mine = assert_like_twcs(write(tmp_path, HEADER + "\n" + body))
    assert mine.column("id").to_pylist() == ["7", "8", "9", "10"]
    assert mine.column("text").to_pylist() == ["  spaced text  ", "", "", "z"]


def test_the_real_sample_reads_as_the_twcs_reader_reads_it():
    assert_like_twcs(str(external("twcs_head5000", "twcs_head5000.csv")), skip=False)


def test_the_messages_give_the_same_probe_table(tmp_path):
    import synth

    path = tmp_path / "synth.csv"
    synth.write(path, conversations=300, brands=5, seed=3)
    settings = conversations.Settings()
    engine = duck.DuckEngine()
    try:
        scan.load_twcs(engine, [str(path)], skip_bad_rows=False, bad=None)
        mine = frames.build(engine, settings).frame()
    finally:
        engine.close()
    frame = sources.read(path, fmt="twcs", options=sources.ReadOptions())
    theirs = frames.probe_table(frame, settings)
    assert len(mine) > 100
    assert mine.equals(theirs)


# ------------------------------------------------------------------- files and formats


def test_files_and_globs_are_read_in_order(tmp_path):
    (tmp_path / "in").mkdir()
    for n in (2, 1, 3):
        write(
            tmp_path, HEADER + f"\n{n}a,u,True,{OK},x,,\n{n}b,u,True,{OK},y,,\n", name=f"in/{n}.csv"
        )
    first = write(tmp_path, HEADER + f"\n0,u,True,{OK},x,,\n", name="first.csv")
    mine, _ = load([first, str(tmp_path / "in" / "*.csv")])
    assert mine.column("id").to_pylist() == ["0", "1a", "1b", "2a", "2b", "3a", "3b"]


def test_rows_keep_their_file_order_across_threads(tmp_path):
    """A file of a few of DuckDB's CSV buffers (32 MB), read on four threads."""
    rows, pad = 300_000, "x" * 100
    body = "".join(f"{n},u,True,{OK},{pad},,\n" for n in range(rows))
    path = write(tmp_path, HEADER + "\n" + body)
    engine = duck.DuckEngine(conversations.EngineOptions(threads=4))
    try:
        scan.load_twcs(engine, [path], skip_bad_rows=False)
        ids = engine.rows("SELECT list(id ORDER BY seq) FROM messages")[0][0]
    finally:
        engine.close()
    assert ids == [str(n) for n in range(rows)]


def test_compressed_files(tmp_path):
    body = QUIRKY.encode()
    with gzip.open(tmp_path / "t.csv.gz", "wb") as out:
        out.write(body)
    with pa.output_stream(str(tmp_path / "t.csv.zst"), compression="zstd") as out:
        out.write(body)
    plain, _ = load([write(tmp_path, QUIRKY)])
    for name in ("t.csv.gz", "t.csv.zst"):
        assert load([str(tmp_path / name)])[0].equals(plain)


def test_compressed_file_bad_row_names_its_line(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write((HEADER + f'\n1,115,True,{OK},"a\nb",,\n,115,True,{OK},x,,\n').encode())
    with pytest.raises(InputError, match=r"t\.csv\.gz:4: empty tweet_id"):
        load([str(path)])


def twcs_parquet() -> pa.Table:
    """Three tweets in the twcs layout with Parquet's own types (ids, flags, times)."""
    return pa.table(
        {
            "tweet_id": pa.array([1, 2, 3], pa.int64()),
            "author_id": ["115", "AcmeHelp", "115"],
            "inbound": [True, False, True],
            "created_at": pa.array([1509487847, 1509487907, 1509487967], pa.timestamp("s", "UTC")),
            "text": ["@Acme hi", None, "again"],
            "response_tweet_id": ["2", None, None],
            "in_response_to_tweet_id": [float("nan"), 1.0, 2.0],
        }
    )


def test_parquet_in_the_twcs_layout(tmp_path):
    pq.write_table(twcs_parquet(), tmp_path / "t.parquet")
    csv = write(
        tmp_path,
        HEADER + f"\n1,115,True,{OK},@Acme hi,2,\n"
        "2,AcmeHelp,False,2017-10-31T22:11:47Z,,,1.0\n3,115,True,2017-10-31T22:12:47Z,again,,2.0\n",
    )
    assert load([str(tmp_path / "t.parquet")])[0].equals(load([csv])[0])


def test_parquet_bad_rows_are_named_by_record(tmp_path):
    table = pa.table({c: ["1", "2"] for c in scan.REQUIRED})
    table = table.set_column(2, "inbound", pa.array(["True", "True"]))
    table = table.set_column(3, "created_at", pa.array([OK, "never"]))
    pq.write_table(table, tmp_path / "t.parquet")
    path = str(tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"t\.parquet: record 2: unparseable created_at"):
        load([path])
    mine, skipped = load([path], skip=True)
    assert mine.num_rows == 1 and skipped == [f"{path}: record 2: unparseable created_at timestamp"]


def test_a_parquet_file_without_the_columns_is_refused(tmp_path):
    pq.write_table(pa.table({"tweet_id": [1]}), tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"t\.parquet: missing column\(s\) author_id"):
        load([str(tmp_path / "t.parquet")])


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        pytest.param("1,115,True,yesterday,hi,,\n", 2, "unparseable created_at", id="bad-time"),
        pytest.param(f"1,115,maybe,{OK},hi,,\n", 2, "inbound is not True or False", id="inbound"),
        pytest.param(f"1,,True,{OK},hi,,\n", 2, "empty author_id", id="empty-author"),
        pytest.param(f"1,115,True,{OK},hi,,\n2,115,True\n", 3, "wrong number of", id="short"),
        pytest.param(f"1,115,True,{OK},hi,,,x\n", 2, "wrong number of fields", id="long-row"),
        pytest.param(f'1,115,True,{OK},"hi,,\n', 2, "truncated", id="open-quote"),
        pytest.param(
            f'1,115,True,{OK},"a\nb",,\n2,115,True,{OK},"c\nd,,\n', 4, "truncated", id="open-late"
        ),
        pytest.param(
            f'1,115,True,{OK},"a\nb",,\n,115,True,{OK},x,,\n', 4, "empty tweet_id", id="multiline"
        ),
        pytest.param(
            f'1,115,True,{OK},ok,,\n\n\n2,115,True,{OK},"a\nb",,\n3,115,True,never,x,,\n', 7,
            "unparseable", id="gaps",
        ),
        pytest.param(
            "1,115,True,Tue Sep 21 00:12:43 +0000 1677,hi,,\n", 2, "outside the supported range",
            id="before-the-range",
        ),
        pytest.param("1,115,True,2262-04-11T23:47:17Z,hi,,\n", 2, "outside the", id="after"),
        *(
            pytest.param(f"1,115,True,{OK},o,,\n2,115,True,{time},x,,\n", 3, "unparseable", id=time)
            for time in IMPOSSIBLE_OFFSETS
        ),
        pytest.param(
            f"1,115,True,{OK},ok,,\n2,115,True,Thu Feb 30 10:00:00 +0000 2017,hi,,\n", 3,
            "unparseable created_at", id="february-30",
        ),
    ],
)  # fmt: skip
def test_bad_rows_name_file_and_line(tmp_path, body, line, problem):
    path = write(tmp_path, HEADER + "\n" + body)
    with pytest.raises(InputError) as caught:
        load([path])
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert problem in str(caught.value)
    with pytest.raises(InputError) as theirs:
        reference(path)
    assert str(theirs.value) == str(caught.value)


def test_the_first_row_of_the_first_problem_is_named_as_the_twcs_reader_does(tmp_path):
    path = write(tmp_path, HEADER + f"\n1,115,True,never,x,,\n2,115,maybe,{OK},x,,\n")
    with pytest.raises(InputError, match=r"t\.csv:3: inbound is not True or False"):
        load([path])


def test_skip_bad_rows_reports_each_as_the_twcs_reader_does(tmp_path):
    body = (
        f"1,115,True,{OK},ok,,\n2,115,True,not a time,bad,,\n3,115,True,{OK},ok,,\n4,115\n"
        f'\n5,,maybe,{OK},"two\nlines",,\n6,116,True,{OK},ok,,5\n7,115,True,{OK},a,b,c,d\n'
        + "".join(f"{n},115,True,{time},x,,\n" for n, time in enumerate(IMPOSSIBLE_OFFSETS, 8))
    )
    mine = assert_like_twcs(write(tmp_path, HEADER + "\n" + body))
    assert mine.column("id").to_pylist() == ["1", "3", "6"]


def test_text_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + f"\n1,115,True,{OK},ok,,\n").encode()
        + f"2,115,True,{OK},caf\xe9,,\n".encode("latin-1")
    )
    for skip in (False, True):
        with pytest.raises(InputError, match=r"latin1\.csv:3: text is not UTF-8 \(byte 0xe9\)"):
            load([str(path)], skip=skip)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("", "the file is empty", id="empty"),
        pytest.param(" \n\n  \n", "the file is empty", id="blank"),
        pytest.param("\n" + HEADER + "\n", ":1: the first line is blank", id="blank-first-line"),
        pytest.param(
            "tweet_id,author_id,inbound,text\n1,a,True,x\n", ":1: missing column(s) created_at",
            id="columns",
        ),
        pytest.param(
            HEADER.replace("response_tweet_id,", "text,", 1) + "\n",
            ":1: column(s) text appear more than once", id="twice",
        ),
        pytest.param(
            HEADER + f"\r1,a,True,{OK},hi,,\r", ":1: the header row is not readable CSV", id="mac"
        ),
    ],
)  # fmt: skip
def test_files_that_are_not_twcs_are_refused(tmp_path, content, problem):
    path = write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        load([path])
    assert str(caught.value).startswith(path) and problem in str(caught.value)


def test_missing_files_and_empty_globs_are_named(tmp_path):
    with pytest.raises(InputError, match=r"nothing\.csv: no such file"):
        load([str(tmp_path / "nothing.csv")])
    with pytest.raises(InputError, match=r"\*\.csv: no file matches this pattern"):
        load([str(tmp_path / "none" / "*.csv")])


def test_a_failed_load_leaves_no_messages_and_no_copy(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    good = write(tmp_path, HEADER + f"\n1,115,True,{OK},ok,,\n", name="good.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + f"\n2,115,True,{OK},a\rb,,\n3,115,True,never,x,,\n").encode())
    engine = duck.DuckEngine()
    try:
        with pytest.raises(InputError, match=r"bad\.csv:3: unparseable"):
            scan.load_twcs(engine, [good, str(bad)], skip_bad_rows=False, bad=None)
        assert engine.rows("SELECT count(*) FROM duckdb_tables() WHERE NOT temporary") == [(0,)]
        assert engine.rows("SELECT count(*) FROM duckdb_views() WHERE NOT internal") == [(0,)]
    finally:
        engine.close()
    assert os.listdir(tmp_path / "tmp") == []


def test_quoted_carriage_returns_read_as_the_twcs_reader_reads_them(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(
        (HEADER + f'\n1,115,True,{OK},"a\rb",,\n2,115,True,{OK},"c\r\nd",,\n').encode()
    )
    mine = assert_like_twcs(str(path))
    assert mine.column("text").to_pylist() == ["a\rb", "c\nd"]


def test_where_scan_differs_from_the_twcs_reader(tmp_path):
    """Kept apart, on purpose: DuckDB's reader drops empty fields past the last column (even in
    strict mode) and refuses text after a closing quote, which Arrow appends; DuckDB's strptime
    refuses a leap second, which Arrow's carries into the next minute."""
    path = write(
        tmp_path,
        HEADER + f'\n1,115,True,{OK},trailing,,,,\n2,115,True,{OK},"x"y,,\n'
        "3,115,True,Tue Oct 31 22:10:60 +0000 2017,leap,,\n",
    )
    mine, skipped = load([path], skip=True)
    assert mine.column("id").to_pylist() == ["1"]
    assert skipped == [
        f"{path}:3: text after the closing quote of a quoted field",
        f"{path}:4: unparseable created_at timestamp",
    ]
    theirs, their_skipped = reference(path, skip=True)
    assert theirs.column("id").to_pylist() == ["2", "3"]
    assert their_skipped == [f"{path}:2: wrong number of fields (truncated or unquoted comma?)"]


def test_a_byte_order_mark_and_a_named_index_column(tmp_path):
    path = tmp_path / "bom.csv"
    body = f"\ufeffUnnamed: 0,{HEADER}\r\n0,1,a,True,{OK},hi,,\r\n1,2,b,False,{OK},yo,,1.0\r\n"
    path.write_bytes(body.encode())
    assert assert_like_twcs(str(path)).column("parent_id").to_pylist() == [None, "1"]


def test_whitespace_is_what_arrows_trim_takes():
    """sources.twcs trims with Arrow's utf8_trim_whitespace; scan spells its characters out."""
    chars = [chr(c) for c in range(0x3001)]
    trimmed = pc.utf8_trim_whitespace(pa.array([f"x{c}" for c in chars])).to_pylist()
    arrow = {c for c, t in zip(chars, trimmed, strict=True) if t == "x"}
    assert set(scan.WHITESPACE) == arrow
    engine = duck.DuckEngine()
    try:
        found = engine.con.execute(
            f"SELECT list(c) FROM unnest($1) AS t(c) WHERE regexp_matches(c, '^{scan._SPACE}$')",
            [chars],
        ).fetchall()[0][0]
    finally:
        engine.close()
    assert set(found) == arrow


def test_more_where_scan_differs_from_the_twcs_reader(tmp_path):
    """Times pandas reads from the clock or reads as it likes (the module's docstring says
    why)."""
    times = ("now", "today", "2017/10.31", "-2017-10-31T00:00:00Z", "1677-09-21T00:12:43Z")
    body = "".join(f"{n},115,True,{t},x,,\n" for n, t in enumerate(times, 1))
    path = write(tmp_path, HEADER + "\n" + body)
    mine, skipped = load([path], skip=True)
    assert mine.column("id").to_pylist() == ["3"]
    assert skipped == [
        f"{path}:2: unparseable created_at timestamp",
        f"{path}:3: unparseable created_at timestamp",
        f"{path}:5: created_at outside the supported range (1677-09-22 to 2262-04-11)",
        f"{path}:6: created_at outside the supported range (1677-09-22 to 2262-04-11)",
    ]
    assert reference(path, skip=True)[0].column("id").to_pylist() == ["1", "2"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f'\n0,115,True,{OK},"a\r\nb",,c\r\n1,u,True,{OK},x,,\n', id="quoted-crlf"),
        pytest.param(f'\n0,115,True,{OK},"a\r\nb",,\r\n1,u,True,{OK},x,,\n', id="empty-last"),
        pytest.param(f"\r\n0,115,True,{OK},a,,\n1,u,True,{OK},x,,\r\n2,v,True,x,,\n", id="lf"),
    ],
)
def test_mixed_line_ends_read_as_the_twcs_reader_reads_them(tmp_path, body):
    assert_like_twcs(write(tmp_path, HEADER + body))


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64])
def test_copies_and_line_numbers_across_blocks(tmp_path, monkeypatch, block):
    """The file is read block by block wherever scan reads it itself."""
    monkeypatch.setattr(scan, "_BLOCK", block)
    mixed = HEADER + f'\n1,115,True,{OK},"a\r\nb",,c\r\n2,u,True,{OK},"\u00e9\r\n",,\n'
    assert_like_twcs(write(tmp_path, mixed + "3,v,True,never,x,,\n", name="mixed.csv"))
    lone = HEADER + f"\r\n1,115,True,{OK},a\rb,,\r\n2,u\r\n3,v,True,never,\u00e9\r,,\r\n"
    assert_like_twcs(write(tmp_path, lone, name="lone.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + f"\n1,\u00e9,True,{OK},ok,,\n").encode() + b"2,u,True,x,\xe9,,\n")
    with pytest.raises(InputError, match=r"latin\.csv:3: text is not UTF-8 \(byte 0xe9\)"):
        load([str(latin)])

"""Generic exports read by DuckDB (conversations.scan_generic): the messages, probe tables and
summaries sources.generic gives, and bad input named by file and line as it names it."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from socialbench import conversations, sources
from socialbench.cli import main
from socialbench.conversations import analyse, duck, frames, scan_generic
from socialbench.errors import InputError
from socialbench.measure import metrics
from tests.test_scan import TIMES, assert_same
from tests.test_source_generic import CSV_MAP

FULL = {
    "id": "Id",
    "author": "From",
    "time": "When",
    "text": "Body",
    "parent": "ReplyTo",
    "brand": "Dir",
    "channel": "Chan",
    "conversation": "Thread",
    "followers": "Fans",
    "surface": "Vis",
    "account": "Page",
}
BASIC = {"id": "id", "author": "author", "time": "time", "text": "text"}
HEADER = ",".join(FULL.values())
BRANDS = frozenset({"acme", "shop"})
OK = "2024-03-04T09:00:00Z"


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def load(paths, mapping=FULL, *, skip=False, brands=frozenset()):
    """(messages ordered by seq, skipped rows as text) after scan_generic.load_generic."""
    engine = duck.DuckEngine()
    options = sources.ReadOptions(skip_bad_rows=skip)
    try:
        counts = scan_generic.load_generic(
            engine, list(paths), mapping, brands=brands, skip_bad_rows=skip, bad=options.bad
        )
        table = engine.arrow("SELECT * FROM messages ORDER BY seq")
    finally:
        engine.close()
    assert table.num_rows == sum(n for _, n in counts)
    return table, [str(s) for s in options.skipped]


def reference(paths, mapping=FULL, *, skip=False, brands=frozenset()):
    """The same through the Python reader (sources.generic), files stacked as analyse does."""
    options = sources.ReadOptions(mapping=mapping, skip_bad_rows=skip, brand_handles=brands)
    read = [sources.read(Path(p), fmt="generic", options=options) for p in paths]
    frame = pd.concat(read, ignore_index=True) if len(read) > 1 else read[0]
    return frames.arrow_messages(frame), [str(s) for s in options.skipped]


def assert_like_generic(paths, mapping=FULL, *, skip=True, brands=frozenset()) -> pa.Table:
    mine, skipped = load(paths, mapping, skip=skip, brands=brands)
    theirs, their_skipped = reference(paths, mapping, skip=skip, brands=brands)
    assert_same(mine, theirs)
    assert skipped == their_skipped
    return mine


def assert_same_error(paths, mapping=FULL, *, skip=False, brands=frozenset()) -> str:
    """Both readers refuse the input with the same message; returns it."""
    with pytest.raises(InputError) as mine:
        load(paths, mapping, skip=skip, brands=brands)
    with pytest.raises(InputError) as theirs:
        reference(paths, mapping, skip=skip, brands=brands)
    assert str(mine.value) == str(theirs.value)
    return str(mine.value)


# ------------------------------------------------------------------- the same messages


ROWS = [
    (
        "m1",
        "carla",
        "2024-09-01T08:00:00Z",
        "Hello, my invoice\nis wrong",
        "",
        "inbound",
        "webchat",
        "T1",
        "",
        "private",
        "Acme Shop",
    ),
    (
        "m2",
        "acme_support",
        "2024-09-01T10:03:00+02:00",
        'Sorry! "Fixing" it now.',
        "m1",
        "OUTBOUND",
        "webchat",
        "T1",
        "",
        "PRIVATE",
        " Acme Shop ",
    ),
    ("m3", " dan ", "1725181200", "  great service  ", "", "no", " x ", "T2", "120", "public", ""),
    ("m4", "Acme", "2024-09-01 09:30:00.250", "Thanks Dan!", "m3", "Yes", "", "", "5000.0", "", ""),
    ("m5", "eve", "1725181200.75", "", "m9", " 1 ", "x", "T3", " 7 ", "Public", "Acme"),
    (
        "m6",
        "Shop",
        "2024-09-01T09:31:00-0500",
        "ok",
        "m5",
        "0",
        "facebook",
        "T3",
        "1e3",
        "public",
        "Acme",
    ),
]


def csv_text(rows, header=HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue()


def jsonl_text(rows) -> str:
    keys = list(FULL.values())
    return "".join(json.dumps(dict(zip(keys, row, strict=True))) + "\n" for row in rows)


@pytest.mark.parametrize("brands", [frozenset(), BRANDS], ids=["no-brand-book", "brand-book"])
def test_csv_and_json_lines_with_every_target(tmp_path, brands):
    mine = assert_like_generic([write(tmp_path, "e.csv", csv_text(ROWS))], brands=brands)
    assert mine.column("channel").to_pylist() == [
        "webchat",
        "webchat",
        "x",
        "unknown",
        "x",
        "facebook",
    ]
    assert_like_generic([write(tmp_path, "e.jsonl", jsonl_text(ROWS))], brands=brands)


@pytest.mark.parametrize("brands", [frozenset(), BRANDS], ids=["no-brand-book", "brand-book"])
def test_brand_flags_without_a_brand_column(tmp_path, brands):
    mapping = {k: v for k, v in FULL.items() if k != "brand"}
    assert_like_generic([write(tmp_path, "e.csv", csv_text(ROWS))], mapping, brands=brands)


def test_the_project_samples(tmp_path):
    data = Path(__file__).parent / "data" / "sources"
    assert_like_generic([str(data / "generic_export.csv")], CSV_MAP)
    mapping = {"id": "msg", "author": "who", "time": "at", "text": "content", "parent": "reply"}
    assert_like_generic([str(data / "generic_export.jsonl")], {**mapping, "brand": "agent"})


def test_times_read_as_the_generic_reader_reads_them(tmp_path):
    times = list(TIMES) + [
        "1709294400",
        "1709294400.5",
        "-0.5",
        "-1.0000005",
        "1709294400.1234567",
        "+5",
        "0",
        "99999999999",
        "9223372036",
        "-9214560000",
        "-9214560001",
        "9214646399.9999999",
        "0.0000005",
        "-0.0000005",
        "0.0000015",
        "1e5",
        "1709294400.",
        ".5",
        "2017-10-31T22:10:47+23:59",
        "2017-10-31T22:10:47+24:00",
        "2017-10-31T22:10:47-1530",
        "2017-10-31T22:10:47.1234567Z",
        "1960-01-01T00:00:00.1234567Z",
        "1677-12-31T23:59:59.999999Z",
        "1678-01-01T00:00:00Z",
        "2261-12-31T23:59:59.9999999Z",
        "2262-01-01T00:00:00Z",
        "2017-10-31T22:10:47.000001-00:01",
        "\u0661\u0662",
    ]
    rng = random.Random(5)
    for _ in range(300):
        seconds = rng.uniform(-9.3e9, 9.3e9)
        times.append(f"{seconds:.{rng.randint(0, 12)}f}")
        day = f"{rng.randint(1600, 2300):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d}"
        fraction = "." + str(rng.randint(0, 10 ** rng.randint(1, 12))) if rng.random() < 0.5 else ""
        zone = rng.choice(["", "Z", "+05:30", "-0800", "+14", "-23:59", "+5", "+05:3"])
        times.append(f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00{fraction}{zone}")
    body = "".join(f'{n},u,"{time}",x\n' for n, time in enumerate(times))
    mine = assert_like_generic([write(tmp_path, "t.csv", "id,author,time,text\n" + body)], BASIC)
    assert mine.num_rows > len(times) // 2


def test_values_as_the_generic_reader_reads_them(tmp_path):
    words = ["true", "FALSE", "1", "0", "Yes", "no", "Outbound", " inbound ", "", "maybe", "2"]
    surfaces = ["public", "PRIVATE", "", " Private ", "dm", "publiC"]
    fans = [
        "120",
        "1e3",
        "",
        " 5 ",
        "lots",
        "nan",
        "inf",
        "-Infinity",
        "1_000",
        ".5",
        "5.",
        "0x10",
        "+7",
        "1e400",
        "00012",
        "1.5e+3",
        "5e",
    ]
    rows = []
    for n in range(len(words) * len(surfaces)):
        rows.append(
            (
                str(n),
                f"user{n % 4}",
                OK,
                f"text {n}",
                "",
                words[n % len(words)],
                "x",
                "",
                fans[n % len(fans)],
                surfaces[n // len(words)],
                "",
            )
        )
    path = write(tmp_path, "v.csv", csv_text(rows))
    assert_like_generic([path], brands=BRANDS)
    assert_like_generic([path])


def test_ids_and_text_keep_what_python_keeps(tmp_path):
    spaces = "\t\u3000\xa0\u2028\x1c"
    rows = [
        (
            f"{spaces}1{spaces}",
            f" {spaces}a",
            OK,
            f"{spaces} text {spaces}",
            f" {spaces}",
            f"{spaces}no",
            f"{spaces}x",
            f"{spaces}",
            f"{spaces}5",
            "",
            f"{spaces}",
        ),
        ("2", "Acme", OK, "", "1", "yes", "", "T", "", "", "Acme"),
        ("3", "b", OK, "\u00e9\u202e\x00\x7f", "", "no", "", "", "", "", ""),
    ]
    assert_like_generic([write(tmp_path, "s.csv", csv_text(rows))], brands=BRANDS)


def test_json_values_as_python_writes_them(tmp_path):
    lines = [
        {"id": 1, "author": "a", "time": 1709294400, "text": "plain"},
        {"id": 2.5, "author": True, "time": 1709294400.25, "text": 1e16, "parent": 1.0},
        {"id": 3, "author": "b", "time": "2024-03-01T12:00:00Z", "text": None, "parent": None},
        {"id": 12345678901234567890123, "author": False, "time": 1709294400, "text": 1e-05},
        {"id": -0.0, "author": "c", "time": 1709294400, "text": 0.1, "parent": 2.5},
        {"id": 5, "author": "d", "time": 1709294400, "text": '\u00e9 \\ "q" \u2028 \t x'},
        {"id": 6, "author": "e", "time": 1709294400, "text": 123456789012345678},
        {"id": 7, "author": "f", "time": 17092944e2, "text": -9223372036854775809},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    body += '{"id": 8, "author": "g", "time": 1709294400, "text": 1E2}\n'
    body += '{"id": 9, "author": "h", "time": 1709294400, "text": NaN}\n'
    body += '{"id": 10, "author": "i", "time": 1709294400, "text": 1e400, "parent": -Infinity}\n'
    mapping = {**BASIC, "parent": "parent"}
    mine = assert_like_generic([write(tmp_path, "j.jsonl", body)], mapping)
    assert mine.column("text").to_pylist()[1:4] == ["1e+16", "", "1e-05"]


def test_json_keys_that_need_escaping(tmp_path):
    mapping = {"id": "a/b", "author": "~x", "time": "", "text": 'it\'s "q"'}
    line = {"a/b": "1", "~x": "a", "": OK, 'it\'s "q"': "hi"}
    assert_like_generic([write(tmp_path, "k.jsonl", json.dumps(line) + "\n")], mapping)


def test_blank_lines_and_rows_as_the_generic_reader_has_them(tmp_path):
    csv_body = f"id,author,time,text\n\n1,a,{OK},x\n\n,,,\n   \n\r\n2,b,{OK},y\n,,\n\n\n"
    assert_like_generic([write(tmp_path, "b.csv", csv_body)], BASIC)
    lines = [
        "",
        '{"id": 1, "author": "a", "time": 1709294400, "text": "x"}',
        "  ",
        "\t",
        "\u3000",
        '{"id": 2, "author": "b", "time": 1709294400, "text": "y"}',
        "",
        "",
    ]
    assert_like_generic([write(tmp_path, "b.jsonl", "\n".join(lines))], BASIC)


def test_short_rows_are_filled_with_empty_fields(tmp_path):
    body = f'id,author,time,text\n1,a,{OK}\n2,b\n3,c,{OK},"multi\nline"\n4,d,{OK},x\n'
    assert_like_generic([write(tmp_path, "short.csv", body)], BASIC)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_line_breaks_inside_quoted_fields(tmp_path, newline):
    rows = [
        (str(n), "u", OK, "a\nb" if n % 3 else "c\r\nd", "", "no", "", "", "", "", "")
        for n in range(20)
    ]
    text = csv_text(rows).replace("\n", newline).replace("c\r" + newline, "c\r\n")
    assert_like_generic([write(tmp_path, "nl.csv", text)])
    with_bad = text + f'20,,{OK},"x{newline}y",,no,,,,,{newline}21,u,never,z,,no,,,,,{newline}'
    path = write(tmp_path, "nl-bad.csv", with_bad)
    assert_like_generic([path])
    assert_same_error([path])


def test_line_ends_mixed(tmp_path):
    text = f'id,author,time,text\r\n1,a,{OK},x\n2,b,{OK},"y\r\nz"\r\n3,,{OK},w\n4,d,never,v\r\n'
    assert_like_generic([write(tmp_path, "mixed.csv", text)], BASIC)
    lines = f'{{"id": 1, "author": "a", "time": "{OK}", "text": "x"}}\r\n{{"id": 2}}\n[3]\r\n'
    assert_like_generic([write(tmp_path, "mixed.jsonl", lines)], BASIC)


def test_a_byte_order_mark(tmp_path):
    csv_body = "\ufeff" + csv_text(ROWS)
    assert_like_generic([write(tmp_path, "bom.csv", csv_body)])
    assert_like_generic([write(tmp_path, "bom.jsonl", "\ufeff" + jsonl_text(ROWS))])


def test_pandas_names_for_repeated_and_empty_header_names(tmp_path):
    body = f"a,a,,a.1,a,time\n1,u,x,y,z,{OK}\n"
    mapping = {"id": "a", "author": "a.1", "time": "time", "text": "Unnamed: 2", "channel": "a.2"}
    mine = assert_like_generic([write(tmp_path, "h.csv", body)], {**mapping, "account": "a.3"})
    assert mine.column("channel").to_pylist() == ["u"]
    assert scan_generic._pandas_names(["a", "a", "", "a.1", "a", "a.2", ""]) == list(
        pd.read_csv(io.StringIO("a,a,,a.1,a,a.2,\n"), dtype=str).columns
    )


def test_rows_longer_than_duckdbs_default_line_size(tmp_path):
    long = "x" * 3_000_000
    body = f"id,author,time,text\n1,a,{OK},{long}\n2,b,{OK},ok\n3,,{OK},z\n"
    assert_like_generic([write(tmp_path, "long.csv", body)], BASIC)
    lines = [
        f'{{"id": 1, "author": "a", "time": "{OK}", "text": "{long}"}}',
        f'{{"id": 2, "author": "", "time": "{OK}", "text": "{long}"}}',
    ]
    assert_like_generic([write(tmp_path, "long.jsonl", "\n".join(lines))], BASIC)


# ----------------------------------------------------------------- random exports


def random_rows(rng: random.Random, n: int) -> list[list]:
    """Rows of values for FULL's columns, good and bad, some as JSON would type them."""
    pools = {
        "Id": [str(i) for i in range(n)] + ["", " 7 ", "\u30007", "3", "x y"],
        "From": ["cust1", "Acme", " acme ", "", "Shop", "\u00e9l\u00e8ve", "SHOP", 42, True],
        "When": [
            OK,
            "1709294400",
            "1709294400.5",
            1709294400,
            1709294460.25,
            "2024-03-04 10:00",
            "2024-03-04T09:30:00+01:00",
            "",
            "never",
            "2024-02-30T00:00:00Z",
            None,
            False,
        ],
        "Body": [
            "hi",
            "",
            "a, b",
            'say "hi"',
            "two\nlines",
            "  padded  ",
            "\u00e9\u2028",
            None,
            3,
            1.5,
        ],
        "ReplyTo": [""] * 4 + [str(i) for i in range(n)] + [None, 7],
        "Dir": [
            "inbound",
            "Outbound",
            "TRUE",
            "0",
            "yes",
            " no ",
            "",
            "maybe",
            True,
            False,
            1,
            None,
        ],
        "Chan": ["x", "", " webchat ", "facebook", None],
        "Thread": ["", "T1", "T2", " T3 ", None],
        "Fans": ["", "120", " 5 ", "1e3", "lots", "nan", ".5", 250, 1.5, None],
        "Vis": ["", "public", "PRIVATE", "dm", " Private ", None],
        "Page": ["", "Acme Shop", " Acme ", None, 15550001111],
    }
    return [[rng.choice(pool) for pool in pools.values()] for _ in range(n)]


def as_csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("seed", range(4))
def test_random_exports(tmp_path, seed):
    rng = random.Random(seed)
    rows = random_rows(rng, 300)
    paths = [
        write(tmp_path, "r.csv", csv_text([[as_csv_cell(v) for v in row] for row in rows])),
        write(tmp_path, "r.jsonl", random_json_lines(rng, rows)),
    ]
    for path in paths:
        for brands in (frozenset(), BRANDS):
            assert_like_generic([path], brands=brands)
            assert_same_error([path], brands=brands)
    assert_like_generic(paths, brands=BRANDS)


def random_json_lines(rng: random.Random, rows: list[list]) -> str:
    """JSON Lines of ``rows``, some keys left out, with broken lines, arrays, nested values
    and blank lines among them."""
    out = []
    for row in rows:
        record = {k: v for k, v in zip(FULL.values(), row, strict=True) if rng.random() > 0.05}
        out.append(json.dumps(record))
        extra = rng.random()
        if extra < 0.02:
            out.append('{"Id": "broken", ')
        elif extra < 0.03:
            out.append("[1, 2]")
        elif extra < 0.04:
            out.append(json.dumps({**record, "Body": {"nested": [1]}}))
        elif extra < 0.06:
            out.append(rng.choice(["", "  ", "\t"]))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------- files and formats


def test_files_and_globs_are_read_in_order(tmp_path):
    for n in (2, 1, 3):
        write(tmp_path, f"in/{n}.csv", f"id,author,time,text\n{n}a,u,{OK},x\n{n}b,u,{OK},y\n")
    write(tmp_path, "in/4.jsonl", f'{{"id": "4a", "author": "u", "time": "{OK}", "text": "z"}}\n')
    first = write(tmp_path, "first.csv", f"id,author,time,text\n0,u,{OK},x\n1a,u,{OK},dup\n")
    mine, _ = load([first, str(tmp_path / "in" / "*")], BASIC)
    assert mine.column("id").to_pylist() == ["0", "1a", "1a", "1b", "2a", "2b", "3a", "3b", "4a"]
    files = sorted(str(p) for p in (tmp_path / "in").iterdir())
    assert_same(mine, reference([first, *files], BASIC)[0])


def test_compressed_files(tmp_path):
    for text, name in ((csv_text(ROWS), "e.csv"), (jsonl_text(ROWS), "e.jsonl")):
        plain = write(tmp_path, name, text)
        with gzip.open(tmp_path / f"{name}.gz", "wb") as out:
            out.write(("\ufeff" + text).encode())
        with pa.output_stream(str(tmp_path / f"{name}.zst"), compression="zstd") as out:
            out.write(text.encode())
        expected = assert_like_generic([plain])
        for suffix in (".gz", ".zst"):
            assert load([plain + suffix])[0].equals(expected)


def test_compressed_file_bad_rows_name_their_lines(tmp_path):
    with gzip.open(tmp_path / "t.csv.gz", "wb") as out:
        out.write(f'id,author,time,text\n1,a,{OK},"x\ny"\n2,,{OK},z\n'.encode())
    with pytest.raises(InputError, match=r"t\.csv\.gz:4: missing author \(column 'author'\)"):
        load([str(tmp_path / "t.csv.gz")], BASIC)
    with gzip.open(tmp_path / "t.jsonl.gz", "wb") as out:
        out.write(b'{"id": 1, "author": "a", "time": 1709294400, "text": "x"}\n\n{"id": 2,\n')
    with pytest.raises(InputError, match=r"t\.jsonl\.gz:3: broken JSON: Expecting property"):
        load([str(tmp_path / "t.jsonl.gz")], BASIC)


def test_parquet_files_are_mapped_as_csv_files(tmp_path):
    table = pa.table(
        {
            "Id": pa.array([1, 2, 3, 4], pa.int64()),
            "From": ["carla", "Acme", "dan", "eve"],
            "When": pa.array(
                [1725177600_000000, 1725177780_250000, 1725181200_000000, 1725181260_000000],
                pa.timestamp("us", "UTC"),
            ),
            "Body": ["Hello", None, "great", "x"],
            "ReplyTo": pa.array([None, 1.0, None, 3.0]),
            "Dir": [False, True, None, False],
            "Fans": pa.array([120.0, float("nan"), 5000.0, 1.5]),
            "Vis": ["private", "PRIVATE", None, "public"],
            "Extra": pa.array([[1], [2], [], None]),
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    mapping = {k: v for k, v in FULL.items() if v in table.column_names}
    equivalent = write(
        tmp_path,
        "e.csv",
        "Id,From,When,Body,ReplyTo,Dir,Fans,Vis\n1,carla,2024-09-01T08:00:00Z,Hello,,false,120,"
        "private\n2,Acme,2024-09-01T08:03:00.25Z,,1,true,,PRIVATE\n3,dan,1725181200,great,,,5000,"
        "\n4,eve,1725181260,x,3,false,1.5,public\n",
    )
    mine, skipped = load([str(tmp_path / "e.parquet")], mapping, skip=True)
    theirs, their_skipped = reference([equivalent], mapping, skip=True)
    assert_same(mine, theirs)
    assert skipped == [f"{tmp_path}/e.parquet: record 3: " + their_skipped[0].split(": ", 1)[1]]
    with pytest.raises(InputError, match=r"e\.parquet: record 3: brand flag in column 'Dir'"):
        load([str(tmp_path / "e.parquet")], mapping)


def test_parquet_times_and_dates(tmp_path):
    nanos = [1725177600_123456789, -1, 0, 1725177600_999999999]
    table = pa.table(
        {
            "id": ["1", "2", "3", "4"],
            "author": ["a", "b", "c", "d"],
            "ns": pa.array(nanos, pa.timestamp("ns")),
            "ms": pa.array([n // 1_000_000 for n in nanos], pa.timestamp("ms", "Europe/Paris")),
            "day": pa.array([19967, -1, 0, None], pa.date32()),
            "text": ["w", "x", "y", "z"],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    path = str(tmp_path / "t.parquet")
    equivalent = write(
        tmp_path,
        "t.csv",
        "id,author,ns,ms,day,text\n1,a,2024-09-01T08:00:00.123456789Z,2024-09-01T08:00:00.123Z,"
        "2024-09-01,w\n2,b,1969-12-31T23:59:59.999999999Z,1969-12-31T23:59:59.999Z,1969-12-31,x"
        "\n3,c,1970-01-01T00:00:00Z,1970-01-01T00:00:00Z,1970-01-01,y\n4,d,"
        "2024-09-01T08:00:00.999999999Z,2024-09-01T08:00:00.999Z,,z\n",
    )
    for column in ("ns", "ms", "day"):
        mapping = {**BASIC, "time": column}
        mine, skipped = load([path], mapping, skip=True)
        theirs, their_skipped = reference([equivalent], mapping, skip=True)
        assert_same(mine, theirs)
        assert len(skipped) == len(their_skipped)


def test_parquet_duplicates_and_columns(tmp_path):
    pq.write_table(
        pa.table(
            {
                "id": ["1", "1"],
                "author": ["a", "b"],
                "time": [OK, OK],
                "text": ["x", "y"],
                "tags": [[1], [2]],
            }
        ),
        tmp_path / "d.parquet",
    )
    path = str(tmp_path / "d.parquet")
    with pytest.raises(
        InputError, match=r"d\.parquet: record 2: duplicate id '1' \(first in record 1\)"
    ):
        load([path], BASIC)
    with pytest.raises(InputError, match=r"d\.parquet: mapped column\(s\) not in the file: 'who'"):
        load([path], {**BASIC, "author": "who"})
    with pytest.raises(InputError, match=r"d\.parquet: column 'tags' holds BIGINT\[\] values"):
        load([path], {**BASIC, "channel": "tags"})


# ------------------------------------------------------------------ probe tables, summary


def test_the_messages_give_the_same_probe_table_and_summary(tmp_path, monkeypatch):
    rng = random.Random(11)
    rows = []
    for n in range(400):
        customer = n % 2 == 0 or rng.random() < 0.2
        parent = "" if customer or n == 0 else str(n - 1)
        author = f"cust{n % 37}" if customer else rng.choice(["Acme", "Shop", "acme_help"])
        text = rng.choice(["@Acme help", "DM us https://acme.example/x", "thanks", "call 555-0100"])
        stamp = 1709294400 + n * rng.randint(30, 900)
        rows.append(
            (
                str(n),
                author,
                str(stamp),
                text,
                parent,
                "inbound" if customer else "1",
                rng.choice(["x", "webchat"]),
                f"T{n // 4}",
                str(rng.randint(0, 20000)),
                rng.choice(["public", "private"]),
                "",
            )
        )
    path = write(tmp_path, "p.csv", csv_text(rows))
    settings = conversations.Settings(window_s=86400)
    metric_settings = metrics.MetricSettings(window_s=86400, min_group=1)
    options = sources.ReadOptions(mapping=FULL, brand_handles=BRANDS)

    def analysed():
        with analyse.analyse(
            [Path(path)],
            fmt=None,
            options=options,
            settings=settings,
            metric_settings=metric_settings,
        ) as result:
            tables = result.table.db.rows(
                f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{scan_generic.ROWS}'"
            )
            return result.probes, result.summary, tables[0][0]

    mine, my_summary, scanned = analysed()
    monkeypatch.setattr(analyse, "_generic_scannable", lambda *args: False)
    theirs, their_summary, not_scanned = analysed()
    assert (scanned, not_scanned) == (1, 0)
    assert len(mine) > 150
    assert mine.equals(theirs)
    assert my_summary == their_summary


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("rows", "header", "mapping"),
    [
        pytest.param([f"1,a,{OK},x", f",b,{OK},y"], "id,author,time,text", BASIC, id="missing-id"),
        pytest.param([f"1,,{OK},x"], "id,author,time,text", BASIC, id="missing-author"),
        pytest.param(["1,a,,x"], "id,author,time,text", BASIC, id="missing-time"),
        pytest.param(["1,a,yesterday,x"], "id,author,time,text", BASIC, id="bad-time"),
        pytest.param(["1,a,1709294400000,x"], "id,author,time,text", BASIC, id="milliseconds"),
        pytest.param(
            [f'1,a,{OK},"two\nlines",inbound', f"2,b,{OK},x,maybe"],
            "id,author,time,text,dir",
            {**BASIC, "brand": "dir"},
            id="brand",
        ),
        pytest.param(
            [f"1,a,{OK},x,"], "id,author,time,text,dir", {**BASIC, "brand": "dir"}, id="empty-brand"
        ),
        pytest.param(
            [f"1,a,{OK},x,dm"],
            "id,author,time,text,where",
            {**BASIC, "surface": "where"},
            id="surface",
        ),
        pytest.param(
            [f"1,a,{OK},x,lots"],
            "id,author,time,text,fans",
            {**BASIC, "followers": "fans"},
            id="followers",
        ),
        pytest.param(
            [f"1,a,{OK},x", f"1,b,{OK},again"], "id,author,time,text", BASIC, id="duplicate"
        ),
        pytest.param(
            ["1,a,never,x", f"\n1,b,{OK},again"],
            "id,author,time,text",
            BASIC,
            id="duplicate-of-a-bad-row",
        ),
        pytest.param(
            [f"1,a,{OK},x", f'2,b,{OK},"x\ny",extra'],
            "id,author,time,text",
            BASIC,
            id="extra-field",
        ),
        pytest.param([f"1,a,{OK},x"], "id,author,time,body", BASIC, id="missing-column"),
        pytest.param([f"1,a,{OK},x"], "", BASIC, id="blank-header"),
        pytest.param([f"1,a,{OK},caf\xe9"], "id,author,time,text", BASIC, id="not-utf8"),
    ],
)
def test_bad_csv_is_named_as_the_generic_reader_names_it(tmp_path, rows, header, mapping):
    content = "\n".join([header, *rows]) + "\n"
    data = content.encode("latin-1") if "\xe9" in content else content.encode()
    path = write(tmp_path, "export.csv", data)
    message = assert_same_error([path], mapping)
    assert message.startswith(f"{path}")
    if "malformed" not in message and "UTF-8" not in message and "column(s)" not in message:
        assert_like_generic([path], mapping)  # skipped as it skips them


JSON_MAP = {"id": "id", "author": "who", "time": "at", "text": "body"}
GOOD = '{"id": 1, "who": "a", "at": 1709294400, "body": "hi"}'


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([GOOD, '{"id": 2, "who": "b",'], id="broken"),
        pytest.param([GOOD, "", '{"id": 2, "who": "b", "at": "Monday", "body": "x"}'], id="time"),
        pytest.param([GOOD, '{"id": 2, "who": {"name": "b"}, "at": 1, "body": "x"}'], id="nested"),
        pytest.param([GOOD, '{"id": 2, "who": "b", "at": 1, "body": [1, {}]}'], id="nested-list"),
        pytest.param([GOOD, "[1, 2]"], id="array"),
        pytest.param([GOOD, '"text"', "3"], id="not-objects"),
        pytest.param([GOOD, '{"id": 2, "at": 1709294400, "body": "x"}'], id="missing-author"),
        pytest.param(['{"id": 1, "at": 1709294400, "body": "x"}'], id="column-nowhere"),
        pytest.param(
            [GOOD, "[1]", '{"id": 1, "at": 1709294400, "body": "x"}'],
            id="broken-before-missing-column",
        ),
        pytest.param([GOOD, GOOD], id="duplicate"),
        pytest.param([GOOD, '{"id": 2, "who": "b",\x1e "at": 1, "body": "x"}'], id="delimiter"),
        pytest.param(
            [GOOD, '{"id": 2, "who": "b", "at": 1, "body": "x\ry"}', GOOD],
            id="carriage-return-in-a-string",
        ),
        pytest.param(
            [GOOD, '{"id": 2, "who": "b",\r "at": 1, "body": "x"}', "[]"],
            id="carriage-return-as-space",
        ),
    ],
)
def test_bad_json_lines_are_named_as_the_generic_reader_names_them(tmp_path, lines):
    path = write(tmp_path, "export.jsonl", "\n".join(lines) + "\n")
    message = assert_same_error([path], JSON_MAP)
    assert message.startswith(path)
    if "column(s)" not in message:
        assert_like_generic([path], JSON_MAP)


def test_json_lines_that_are_not_utf8(tmp_path):
    path = write(tmp_path, "export.jsonl", b'{"id": 1}\n{"id": "\xff"}\n')
    for skip in (False, True):
        assert "export.jsonl:2: text is not UTF-8 (byte 0xff)" in assert_same_error(
            [path], JSON_MAP, skip=skip
        )


def test_skip_bad_rows_skips_what_the_generic_reader_skips(tmp_path):
    body = (
        f'1,a,{OK},hi\n2,b,never,"multi\nline"\n3,c,{OK},ok\n3,d,{OK},dup\n\n,e,{OK},x\n'
        f"4,,{OK},y\n5,f,,z\n6,g,{OK},fine\n"
    )
    path = write(tmp_path, "export.csv", "id,author,time,text\n" + body)
    mine = assert_like_generic([path], BASIC)
    assert mine.column("id").to_pylist() == ["1", "3", "6"]


def test_missing_files_and_empty_globs_are_named(tmp_path):
    with pytest.raises(InputError, match=r"nothing\.csv: no such file"):
        load([str(tmp_path / "nothing.csv")], BASIC)
    with pytest.raises(InputError, match=r"\*\.csv: no file matches this pattern"):
        load([str(tmp_path / "none" / "*.csv")], BASIC)
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        load([write(tmp_path, "empty.csv", "")], BASIC)
    gz = tmp_path / "empty.csv.gz"
    with gzip.open(gz, "wb"):
        pass
    with pytest.raises(InputError, match=r"empty\.csv\.gz: no CSV header line"):
        load([str(gz)], BASIC)


def test_a_failed_load_leaves_no_messages_and_no_copy(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    good = write(tmp_path, "good.csv", f"id,author,time,text\n1,a,{OK},ok\n")
    bad = write(tmp_path, "bad.jsonl", '{"id": 2}\r\n{"id": 3}\n{"id": 4,\n')
    engine = duck.DuckEngine()
    try:
        with pytest.raises(InputError, match=r"bad\.jsonl:3: broken JSON"):
            scan_generic.load_generic(engine, [good, bad], BASIC)
        assert engine.rows("SELECT count(*) FROM duckdb_tables() WHERE NOT temporary") == [(0,)]
        assert engine.rows("SELECT count(*) FROM duckdb_views() WHERE NOT internal") == [(0,)]
    finally:
        engine.close()
    assert os.listdir(tmp_path / "tmp") == []


def test_a_bad_row_on_the_command_line_is_one_line_and_exit_code_2(tmp_path):
    path = write(tmp_path, "export.csv", f'id,from,at,body\n1,a,{OK},"x\ny"\n2,b,never,z\n')
    out = tmp_path / "out"
    args = [
        "run",
        "--fixtures",
        path,
        "--format",
        "generic",
        "--map",
        "id=id,author=from,time=at,text=body",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"error: {path}:4: not a timestamp (ISO 8601 or epoch seconds) in column 'at': 'never'\n"
    )
    assert not out.exists()


def test_generic_exports_go_to_duckdb_only_with_a_mapping_and_duckdb():
    mapped = sources.ReadOptions(mapping=BASIC)
    engine = duck.DuckEngine()
    try:
        assert analyse._generic_scannable(engine, None, mapped)
        assert analyse._generic_scannable(engine, "generic", mapped)
        assert not analyse._generic_scannable(engine, "twcs", mapped)
        assert not analyse._generic_scannable(engine, None, sources.ReadOptions())
    finally:
        engine.close()
    assert not analyse._generic_scannable(object(), None, mapped)  # Spark: the Python reader


# ---------------------------------------------------------- where scan_generic differs


def test_where_scan_generic_differs_from_the_generic_reader(tmp_path):
    """Kept apart, on purpose (the module's docstring says why): DuckDB's CSV reader drops
    spaces around quoted fields, refuses text after a closing quote and drops empty fields past
    the last column; an unclosed quote is named with its line."""
    body = (
        f'id,author,time,text\n1,a,{OK}, "q" \n2,b,{OK},"x"y\n3,c,{OK},trailing,,\n'
        f"4,d,now,x\n5,e,2017/10.31,x\n"
    )
    path = write(tmp_path, "d.csv", body)
    mine, skipped = load([path], BASIC, skip=True)
    assert mine.column("text").to_pylist() == ["q", "trailing", "x"]
    assert skipped == [
        f"{path}:3: text after the closing quote of a quoted field",
        f"{path}:5: not a timestamp (ISO 8601 or epoch seconds) in column 'time': 'now'",
    ]
    with pytest.raises(InputError, match="6 fields where the header line has 4"):
        reference([path], BASIC, skip=True)
    path = write(tmp_path, "open.csv", f'id,author,time,text\n1,a,{OK},ok\n2,b,{OK},"x\n3\n')
    with pytest.raises(InputError, match=r"open\.csv:3: malformed CSV: a quoted field is never"):
        load([path], BASIC)
    with pytest.raises(InputError, match=r"open\.csv: malformed CSV: EOF inside string"):
        reference([path], BASIC)


def test_bare_carriage_returns_in_csv_stay_in_their_field(tmp_path):
    """As scan reads a twcs file (the module's docstring says why); pandas ends the row."""
    body = f'id,author,time,text\n1,a,{OK},x\ry\n2,b,{OK},"q\r\nw"\n3,,{OK},z\n'
    path = write(tmp_path, "cr.csv", body)
    mine, skipped = load([path], BASIC, skip=True)
    assert mine.column("text").to_pylist() == ["x\ry", "q\nw"]
    assert skipped == [f"{path}:5: missing author (column 'author')"]
    theirs, _ = reference([path], BASIC, skip=True)
    assert theirs.column("text").to_pylist() == ["x", "q\r\nw"]


def test_where_json_differs_from_pythons(tmp_path):
    """DuckDB's JSON reader takes a trailing comma and nan or inf in any case, keeps the first
    of a key given twice, and refuses a lone surrogate; in a CRLF file, a bare carriage return
    between two objects may end a line (when no line is bad, so the file is not read again
    from a copy); a line ending in the byte 0x1e (the delimiter DuckDB reads lines with)
    reads without it."""
    lines = [
        '{"id": 1, "author": "a", "time": 1709294400, "text": "x",}',
        '{"id": 2, "author": "a", "author": "b", "time": 1709294400, "text": "y"}',
        '{"id": 3, "author": "c", "time": 1709294400, "text": "z"} \r '
        '{"id": 4, "author": "d", "time": 1709294400, "text": "w"}',
        '{"id": 5, "author": "e", "time": 1709294400, "text": "v"}\x1e',
        '{"id": 6, "author": "f", "time": 1709294400, "text": nan}',
        '{"id": 7, "author": "g", "time": 1709294400, "text": -Inf}',
    ]
    path = write(tmp_path, "d.jsonl", "\r\n".join(lines) + "\r\n")
    mine, _ = load([path], BASIC, skip=True)
    assert mine.column("author").to_pylist() == ["a", "a", "c", "d", "e", "f", "g"]
    assert mine.column("text").to_pylist()[-2:] == ["nan", "-inf"]
    theirs, skipped = reference([path], BASIC, skip=True)
    assert theirs.column("author").to_pylist() == ["b"]
    assert [s.split(": ", 1)[1][:11] for s in skipped] == ["broken JSON"] * 5
    path = write(tmp_path, "s.jsonl", '{"id": 1, "author": "a", "time": 1, "text": "\\ud800"}\n')
    with pytest.raises(InputError, match=r"s\.jsonl:1: broken JSON: not standard JSON"):
        load([path], BASIC)

"""twcs archives read by Spark itself (conversations.spark_scan): the messages, the skipped
rows and the errors DuckDB's reading (conversations.scan) gives, on the same files.

The Spark tests share one local session (``spark`` fixture, module scope, as in
test_engines) and are skipped, saying why, without pyspark or a Java 17+ runtime.
"""

from __future__ import annotations

import csv
import gzip
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import synth

from socialbench import conversations, sources
from socialbench.conversations import analyse, scan, spark_scan
from socialbench.errors import InputError
from socialbench.measure import metrics
from socialbench.sources import messages
from tests.conftest import external
from tests.test_engines import SPARK_CONF, SPARK_MISSING, assert_same
from tests.test_scan import OK, TIMES, twcs_parquet, write
from tests.test_scan import load as scan_load
from tests.test_source_twcs import HEADER, IMPOSSIBLE_OFFSETS, QUIRKY


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for the module (starting one takes seconds)."""
    if SPARK_MISSING:
        pytest.skip(SPARK_MISSING)
    from socialbench.conversations import spark as spark_engine

    session = spark_engine.start_session(master="local[2]", conf=SPARK_CONF)
    yield session
    session.stop()


def engine_on(session, **conf):
    from socialbench.conversations.spark import SparkEngine

    engine = SparkEngine(session=session)
    for key, value in conf.items():
        engine.spark.conf.set(key, value)
    return engine


def load(session, paths, *, skip=False, **conf):
    """(messages ordered by seq, skipped rows as text) after spark_scan.load_twcs."""
    engine = engine_on(session, **conf)
    options = sources.ReadOptions(skip_bad_rows=skip)
    try:
        count = spark_scan.load_twcs(engine, list(paths), skip_bad_rows=skip, bad=options.bad)
        table = engine.arrow("SELECT * FROM messages ORDER BY seq")
    finally:
        engine.close()
    assert table.num_rows == count
    return table.cast(messages.ARROW_SCHEMA), [str(s) for s in options.skipped]


def assert_like_scan(session, paths, *, skip=True, seq=False) -> pa.Table:
    """The same messages (column by column; ``seq``: its values too, else its order) and
    the same skipped rows as DuckDB's reading."""
    mine, skipped = load(session, paths, skip=skip)
    theirs, their_skipped = scan_load(paths, skip=skip)
    assert mine.num_rows == theirs.num_rows
    assert pc.all(pc.greater(mine["seq"][1:], mine["seq"][:-1])).as_py() in (True, None)
    for name in mine.column_names[0 if seq else 1 :]:
        assert mine.column(name).equals(theirs.column(name)), name
    assert skipped == their_skipped
    return mine


def assert_same_error(session, paths, *, skip=False) -> str:
    with pytest.raises(InputError) as theirs:
        scan_load(paths, skip=skip)
    with pytest.raises(InputError) as mine:
        load(session, paths, skip=skip)
    assert str(mine.value) == str(theirs.value)
    return str(mine.value)


# ------------------------------------------------------------------- the same messages


def test_times_read_as_scan_reads_them(spark, tmp_path):
    body = "".join(f'{n},115,True,"{time}",t{n},,\n' for n, time in enumerate(TIMES, 1))
    mine = assert_like_scan(spark, [write(tmp_path, HEADER + "\n" + body)], seq=True)
    assert mine.num_rows > len(TIMES) // 2


def generated_times(count: int, seed: int = 7) -> list[str]:
    """Twitter-style and ISO 8601 times put together from good and bad pieces."""
    pick = random.Random(seed).choice
    spaces = [" "] * 6 + ["  ", "\t", "\n", "\x0b", "\xa0", ""]
    twitter = (
        ["Tue", "tue", "TUESDAY", "Thursday", "Tues", "Xyz"],
        ["Oct", "oct", "October", "SEPT", "Sep", "May", "June", "Feb"],
        ["0", "1", "01", "001", "29", "30", "31", "32", "3a"],
        [f"{h}:{m}:{s}" for h in ("0", "2", "23", "24", "002") for m in ("00", "5", "60")
         for s in ("0", "59", "60")],
        ["+0000", "-0000", "+00:00", "Z", "z", "+00", "+0", "+1459", "-1459", "+1500", "+0060",
         "+9999", "+14:60", "+24", "+01:30:99", "-01:30:15", "+01:3", "GMT", "-00:30"],
        ["0", "1", "17", "0001", "1677", "2016", "2017", "2262", "9999", "10000", "-2017"],
    )  # fmt: skip
    iso = (
        ["2017-10-31", "2017-1-3", "2017/10/31", "2017.10.31", "2017 10 31", "20171031",
         "2017-10", "2017", "2017-13-01", "2017-02-29", "2016-02-29", "1677-09-21",
         "1677-09-22", "2262-04-11", "2262-04-12", "-2017-10-31", "0000-01-01", "2017\\10\\31"],
        ["", "T22:10:47", " 22:10:47", "T22:10", "T22", "T2", "T221047", "T2210", "T22:10:47.5",
         "T24:00:00", "T22:60", "T22:10:60", "T22:5", "  22:10:47", "T22:10:47."],
        ["", "Z", "z", " Z", "+05", "+0530", "+05:30", "+5", "+530", "+5:30", "-1459", "-1500",
         "+14:59", "+15:00", "+99:99", "+00:60", "  +05:30", "+05:30:00", " UTC", "+05:"],
    )  # fmt: skip
    times = []
    for n in range(count):
        if n % 2:
            words = [pick(part) for part in twitter]
            times.append(words[0] + "".join(pick(spaces) + w for w in words[1:]))
        else:
            times.append("".join(pick(part) for part in iso))
    return times


def test_generated_times_read_as_scan_reads_them(spark):
    """scan's SQL and spark_scan's on thousands of times, each engine in one query."""
    import duckdb

    times = generated_times(6000)
    table = pa.table({"n": range(len(times)), "created": times})
    con = duckdb.connect()
    con.register("created", table)
    theirs = con.execute(f"SELECT n, secs FROM ({scan._seconds_sql('FROM created')}) ORDER BY n")
    engine = engine_on(spark)
    try:
        engine.put("created", table)
        mine = engine.rows(
            f"SELECT n, secs FROM ({spark_scan._seconds_sql('SELECT * FROM created')}) AS s"
            " ORDER BY n"
        )
    finally:
        engine.close()
    expected = theirs.fetchall()
    assert sum(secs is not None for _, secs in expected) > 500
    assert mine == expected


def test_whitespace_is_trimmed_as_scan_trims_it(spark):
    texts = [f"{chr(c)}x{chr(c)}" for c in range(0x3001)]
    engine = engine_on(spark)
    try:
        engine.put("texts", pa.table({"n": range(len(texts)), "t": texts}))
        mine = [
            t for _, t in engine.rows(f"SELECT n, {spark_scan._trim('t')} FROM texts ORDER BY n")
        ]
    finally:
        engine.close()
    assert mine == pc.utf8_trim_whitespace(pa.array(texts)).to_pylist()


def test_quirks_carriage_returns_and_ids_read_as_scan_reads_them(spark, tmp_path):
    """The real layout's quirks with LF and CRLF line ends, bare carriage returns (kept in
    text, and a file's \\r\\n made \\n), trimmed ids, a byte order mark, an index column."""
    cr = (
        HEADER + f"\r\n1,115,True,{OK},@Acme a\r\rb,,\r\n"
        f'2,115,True,{OK},"q\rr",,\r\n3,116\r\n4,117,True,{OK},"x\r\ny",,\r\n'
        f"5,117 \r,True,{OK},last\r,,\r\n"
    )
    ids = (
        f" 7.00 ,\u3000115\u00a0, TRUE ,{OK},  spaced text  ,, 3.0\n"
        f'8,AcmeHelp,false,{OK},,,.0\n9,x,True,{OK},"",,9.01\n10,y,True,{OK},z,,1e3\n'
    )
    bom = f"\ufeffUnnamed: 0,{HEADER}\r\n0,1,a,True,{OK},hi,,\r\n1,2,b,False,{OK},yo,,1.0\r\n"
    paths = [
        write(tmp_path, QUIRKY, name="lf.csv"),
        write(tmp_path, QUIRKY, name="crlf.csv", newline="\r\n"),
        write(tmp_path, cr, name="cr.csv"),
        write(tmp_path, HEADER + "\n" + ids, name="ids.csv"),
        write(tmp_path, bom, name="bom.csv"),
        write(tmp_path, HEADER + f'\n0,115,True,{OK},"a\r\nb",,c\r\n1,u,True,{OK},x,,\n',
              name="mixed.csv"),
    ]  # fmt: skip
    mine = assert_like_scan(spark, paths)
    texts = {"@AcmeHelp two\nlines", "@AcmeHelp two\r\nlines", "x\ny", "@Acme a\r\rb", "a\r\nb"}
    assert texts <= set(mine.column("text").to_pylist())


def test_the_real_sample_reads_as_scan_reads_it(spark):
    """The same messages in the same order (the plan, the same SQL on both engines, then
    makes the same probe table: test_engines; the next test runs it on Spark-read files)."""
    path = str(external("twcs_head5000", "twcs_head5000.csv"))
    assert assert_like_scan(spark, [path], skip=False, seq=True).num_rows == 5000


def test_a_synthetic_archive_in_two_files_gives_scans_probe_table_and_summary(spark, tmp_path):
    """Through analyse (the routing of ``run --fixtures``), from file:// URIs and a glob."""
    path = tmp_path / "synth.csv"
    synth.main(["--conversations", "3000", "--brands", "8", "--seed", "3", "-o", str(path),
                "--truth", str(tmp_path / "synth.truth.json")])  # fmt: skip
    with open(path, newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    half = len(rows) // 2
    for name, part in (("part-1.csv", rows[:half]), ("part-2.csv", rows[half:])):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as out:
            csv.writer(out, lineterminator="\n").writerows([header, *part])
    on_spark = assert_same_analysis(
        [tmp_path / "part-*.csv"], [Path(f"file://{tmp_path}/part-*.csv")]
    )
    assert len(on_spark) == 3000


ENGINES = {"duckdb": "DuckEngine", "spark": "SparkEngine"}


def assert_same_analysis(duck_paths: list[Path], spark_paths: list[Path]):
    """analyse on DuckDB and on Spark: the same probe table, summary and counts per file."""
    results = []
    for kind, paths in (("duckdb", duck_paths), ("spark", spark_paths)):
        with analyse.analyse(
            paths,
            fmt=None,
            options=sources.ReadOptions(),
            settings=conversations.Settings(),
            metric_settings=metrics.MetricSettings(window_s=7 * 86400),
            engine=conversations.EngineOptions(kind=kind),
        ) as result:
            assert type(result.table.db).__name__ == ENGINES[kind]
            results.append((result.probes, result.summary))
    (duck, duck_summary), (on_spark, spark_summary) = results
    assert_same(duck, on_spark)
    spark_sources = spark_summary.pop("sources")
    for mine, theirs in zip(spark_sources, duck_summary.pop("sources"), strict=True):
        assert mine["path"].removeprefix("file://") == theirs["path"]
        assert (mine["format"], mine["messages"]) == (theirs["format"], theirs["messages"])
    assert_close(spark_summary, duck_summary)
    return on_spark


def assert_close(mine, theirs, where="summary") -> None:
    """Equal, floats to rounding (percentiles are summed in another order on Spark)."""
    if isinstance(theirs, dict):
        assert mine.keys() == theirs.keys(), where
        for key in theirs:
            assert_close(mine[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs), where
        for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert_close(a, b, f"{where}[{n}]")
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, rel=1e-9, nan_ok=True), where
    else:
        assert mine == theirs, where


# ------------------------------------------------------------------- files and formats


def test_files_and_globs_are_read_in_order(spark, tmp_path):
    """A file, then a glob's matches in name order, whatever the partitions Spark packs
    them into (by size: the files are of different sizes); seq as DuckDB's rowid. A name
    may hold a space, % and glob characters."""
    (tmp_path / "in").mkdir()
    names = {2: "2.csv", 1: "1 [a]%.csv", 3: "3.csv", 10: "10.csv"}
    for n, name in names.items():
        rows = "".join(f"{n}r{k},u,True,{OK},{'x' * (n * 37 % 11)},,\n" for k in range(3 * n))
        write(tmp_path, HEADER + "\n" + rows, name=f"in/{name}")
    first = write(tmp_path, HEADER + f"\n0,u,True,{OK},x,,\n", name="first.csv")
    mine = assert_like_scan(spark, [first, str(tmp_path / "in" / "*.csv")], seq=True)
    assert mine.column("id").to_pylist()[:5] == ["0", "1r0", "1r1", "1r2", "10r0"]
    by_uri, _ = load(spark, [f"file://{tmp_path}/in/*.csv", first])
    assert by_uri.column("id").to_pylist() == mine.column("id").to_pylist()[1:] + ["0"]
    odd = load(spark, [str(tmp_path / "in" / names[1])])[0]
    assert odd.column("id").to_pylist() == ["1r0", "1r1", "1r2"]


def test_compressed_files(spark, tmp_path):
    body = QUIRKY.encode()
    with gzip.open(tmp_path / "t.csv.gz", "wb") as out:
        out.write(body)
    with pa.output_stream(str(tmp_path / "t.csv.zst"), compression="zstd") as out:
        out.write(body)
    plain = write(tmp_path, QUIRKY)
    assert_like_scan(spark, [str(tmp_path / "t.csv.gz"), str(tmp_path / "t.csv.zst"), plain])


def test_a_corrupt_archive_names_the_file(spark, tmp_path):
    """Found when the header is read (a short file), or by Spark's reading job."""
    short = tmp_path / "short.csv.gz"
    short.write_bytes(gzip.compress(QUIRKY.encode())[:-8])
    pad = random.Random(1).randbytes(30_000).hex()
    rows = "".join(f"{n},u,True,{OK},{pad[n * 60 : n * 60 + 60]},,\n" for n in range(1000))
    long = tmp_path / "long.csv.gz"
    long.write_bytes(gzip.compress((HEADER + "\n" + rows).encode())[:-2000])
    for path in (short, long):
        with pytest.raises(InputError, match=rf"^{path}: cannot be read: .*EOFException"):
            load(spark, [str(path)])


def test_parquet_in_the_twcs_layout(spark, tmp_path):
    pq.write_table(twcs_parquet(), tmp_path / "t.parquet")
    assert_like_scan(spark, [str(tmp_path / "t.parquet"), write(tmp_path, QUIRKY)], seq=True)


def test_parquet_bad_rows_are_named_by_record(spark, tmp_path):
    table = pa.table({c: ["1", "2"] for c in scan.REQUIRED})
    table = table.set_column(2, "inbound", pa.array(["True", "True"]))
    table = table.set_column(3, "created_at", pa.array([OK, "never"]))
    pq.write_table(table, tmp_path / "t.parquet")
    path = str(tmp_path / "t.parquet")
    assert "t.parquet: record 2: unparseable" in assert_same_error(spark, [path])
    assert_like_scan(spark, [path])


def test_seq_follows_the_files_across_many_splits(spark, tmp_path):
    """Parquet row groups and small CSV files spread over partitions of 4 kB: the
    messages in file order, row order within each file."""
    count = 3000
    table = pa.table(
        {
            "tweet_id": [str(n) for n in range(count)],
            "author_id": ["u"] * count,
            "inbound": ["True"] * count,
            "created_at": [OK] * count,
            "text": ["x" * 40] * count,
            "response_tweet_id": pa.nulls(count, pa.string()),
            "in_response_to_tweet_id": pa.nulls(count, pa.string()),
        }
    )
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=300)
    (tmp_path / "in").mkdir()
    for n in range(12):
        rows = "".join(f"f{n}r{k},u,True,{OK},x,,\n" for k in range(n * 7 % 5 + 1))
        write(tmp_path, HEADER + "\n" + rows, name=f"in/{n:02d}.csv")
    paths = [str(tmp_path / "big.parquet"), str(tmp_path / "in" / "*.csv")]
    small = {"spark.sql.files.maxPartitionBytes": "4k", "spark.sql.files.openCostInBytes": "1"}
    mine, _ = load(spark, paths, **small)
    assert mine.column("id").to_pylist() == scan_load(paths)[0].column("id").to_pylist()
    assert mine.column("seq").to_pylist() == list(range(mine.num_rows))


def test_a_line_is_found_across_file_splits(spark, tmp_path):
    """The file read again as lines in blocks of 16 kB, numbered block by block."""
    rows = "".join(f"{n},u,True,{OK},{'y' * 40},,\n" for n in range(2000))
    body = HEADER + "\n" + rows + f'2000,u,True,{OK},"a\nb",,\n2001,u,True,never,x,,\n'
    path = write(tmp_path, body)
    with pytest.raises(InputError, match=r"t\.csv:2004: unparseable created_at"):
        load(spark, [path], **{"spark.sql.files.maxPartitionBytes": "16k"})


def test_headers_read_by_spark_jobs_without_a_jvm_on_the_driver(spark, tmp_path, monkeypatch):
    """Spark Connect has no JVM on the driver: first lines are read by Spark jobs."""
    monkeypatch.setattr(spark_scan, "_DriverFiles", spark_scan._SparkHeads)
    bom = f"\ufeffUnnamed: 0,{HEADER}\r\n0,1,a,True,{OK},hi,,\r\n"
    with gzip.open(tmp_path / "t.csv.gz", "wb") as out:
        out.write(bom.encode())
    assert_like_scan(spark, [str(tmp_path / "t.csv.gz")])
    empty = write(tmp_path, " \n\n", name="empty.csv")
    assert assert_same_error(spark, [empty]).endswith("empty.csv: the file is empty")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(f"1,115,True,{OK},hi,,\n2,115,True\n", ":3: wrong number of", id="short"),
        pytest.param(
            f'1,115,True,{OK},"a\nb",,\n2,115,True,{OK},"c\nd,,\n', ":4: truncated", id="open"
        ),
        pytest.param(
            f'1,115,True,{OK},ok,,\n\n\n2,115,True,{OK},"a\nb",,\n'
            f"3,115,True,{IMPOSSIBLE_OFFSETS[0]},x,,\n",
            ":7: unparseable created_at", id="gaps-offset",
        ),
        pytest.param(f"1,115,True,never,x,,\n2,115,maybe,{OK},x,,\n", ":3: inbound is not",
                     id="inbound-first"),
    ],
)  # fmt: skip
def test_bad_rows_name_file_and_line_as_scan_does(spark, tmp_path, body, problem):
    path = write(tmp_path, HEADER + "\n" + body)
    assert assert_same_error(spark, [path]).startswith(path + problem)


def test_skip_bad_rows_reports_each_as_scan_does(spark, tmp_path):
    """Every problem, each named with its line (blank lines and text of two lines between)."""
    body = (
        f"1,115,True,{OK},ok,,\n2,115,True,not a time,bad,,\n3,115,True,{OK},ok,,\n4,115\n"
        f'\n5,,maybe,{OK},"two\nlines",,\n6,116,True,{OK},ok,,5\n7,115,True,{OK},a,b,c,d\n'
        f"8,115,True,{OK},trailing,,,,\n9,115,True,Tue Oct 31 22:10:60 +0000 2017,leap,,\n"
        f" ,115,True,{OK},no id,,\n11,115,True,2262-04-11T23:47:17Z,late,,\n"
        f"12,115,True,Tue Sep 21 00:12:43 +0000 1677,early,,\n\n"
        + "".join(f"{n},115,True,{time},x,,\n" for n, time in enumerate(IMPOSSIBLE_OFFSETS, 13))
    )
    mine = assert_like_scan(spark, [write(tmp_path, HEADER + "\n" + body)])
    assert mine.column("id").to_pylist() == ["1", "3", "6", "8"]


def test_a_row_after_a_stray_quote_is_named_by_record(spark, tmp_path):
    """A quote inside unquoted text (read as text by both) hides where rows start."""
    path = write(
        tmp_path, HEADER + f'\n1,115,True,{OK},ab"c,,\n2,1,True,{OK},z,,\n3,1,True,x,z,,\n'
    )
    with pytest.raises(InputError) as caught:
        load(spark, [path])
    assert str(caught.value) == f"{path}: record 3: unparseable created_at timestamp"
    assert str(scan_load([path], skip=True)[1]) == f"['{path}:4: unparseable created_at timestamp']"


def test_where_spark_differs_from_scan(spark, tmp_path):
    """Text after a closing quote is text on Spark (DuckDB names a bad row)."""
    path = write(tmp_path, HEADER + f'\n1,115,True,{OK},"x"y,,\n')
    assert load(spark, [path])[0].column("text").to_pylist() == ['"x"y']
    assert scan_load([path], skip=True)[1] == [
        f"{path}:2: text after the closing quote of a quoted field"
    ]


def test_text_that_is_not_utf8_names_the_line(spark, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + f"\n1,115,True,{OK},ok,,\n").encode()
        + f"2,115,True,{OK},caf\xe9,,\n".encode("latin-1")
    )
    for skip in (False, True):
        problem = assert_same_error(spark, [str(path)], skip=skip)
        assert problem.endswith("latin1.csv:3: text is not UTF-8 (byte 0xe9)")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(" \n\n  \n", ": the file is empty", id="blank"),
        pytest.param("\n" + HEADER + "\n", ":1: the first line is blank", id="blank-first-line"),
        pytest.param("tweet_id,author_id,inbound,text\n1,a,True,x\n", ":1: missing column(s)",
                     id="columns"),
        pytest.param(HEADER + f"\r1,a,True,{OK},hi,,\r", ":1: the header row is not readable",
                     id="mac"),
    ],
)  # fmt: skip
def test_files_that_are_not_twcs_are_refused(spark, tmp_path, content, problem):
    path = write(tmp_path, content)
    assert assert_same_error(spark, [path]).startswith(path + problem)


def test_missing_files_and_empty_globs_are_named(spark, tmp_path):
    for path in (str(tmp_path / "nothing.csv"), str(tmp_path / "none" / "*.csv")):
        assert_same_error(spark, [path])
    with pytest.raises(InputError, match=r"^file://.*/nothing\.csv: no such file$"):
        load(spark, [f"file://{tmp_path}/nothing.csv"])


def test_a_failed_load_leaves_no_views(spark, tmp_path):
    good = write(tmp_path, HEADER + f"\n1,115,True,{OK},ok,,\n", name="good.csv")
    bad = write(tmp_path, HEADER + f"\n2,115,True,{OK},a,,\n3,115,True,never,x,,\n", name="bad.csv")
    engine = engine_on(spark)
    try:
        with pytest.raises(InputError, match=r"bad\.csv:3: unparseable"):
            spark_scan.load_twcs(engine, [good, bad], skip_bad_rows=False)
        assert not engine.spark.catalog.listTables()
    finally:
        engine.close()


# ------------------------------------------------------------------------------- paths


def test_paths_as_spark_reads_them():
    """pathlib makes ``s3a://b/k`` ``s3a:/b/k``: the URI gets its ``//`` back."""
    assert spark_scan._uri(str(Path("s3a://bucket/twcs-*.csv"))) == "s3a://bucket/twcs-*.csv"
    assert spark_scan._uri("hdfs://nn:8020/x.csv") == "hdfs://nn:8020/x.csv"
    assert spark_scan._uri("file:/tmp/x.csv") == "file:/tmp/x.csv"
    assert spark_scan._uri("data/x.csv") == "data/x.csv"
    assert spark_scan._key("file:///tmp/a%20b.csv") == spark_scan._key("file:/tmp/a b.csv")
    name = spark_scan._name("s3a://b/*.csv", "s3a://b/t%201.csv", 2)
    assert name == "s3a://b/t 1.csv"
    assert spark_scan._escaped("/d/a[1]{b}*?.csv") == r"/d/a\[1\]\{b\}\*\?.csv"


def test_uris_go_to_spark_and_not_to_the_python_readers(spark):
    from socialbench.conversations import duck
    from socialbench.conversations.spark import SparkEngine

    uris = [Path("s3a://bucket/twcs.csv"), Path("hdfs://nn/twcs-*.csv")]
    options = sources.ReadOptions()
    engine = SparkEngine(session=spark)
    try:
        assert analyse._scannable(engine, uris, None, options)
    finally:
        engine.close()
    duck_engine = duck.DuckEngine()
    try:
        assert not analyse._scannable(duck_engine, uris[:1], None, options)
    finally:
        duck_engine.close()

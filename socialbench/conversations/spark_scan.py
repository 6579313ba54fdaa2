"""twcs archives read by Spark itself: the plan's ``messages`` relation made in the Spark
session from any path Spark reads (local paths, ``file://``, ``s3a://``, ``hdfs://``), the
file never held by the driver, so an archive may be larger than its memory.

``load_twcs`` reads what ``scan`` (DuckDB) reads, with its rules, taken from it (problems,
whitespace, the Twitter time formats, the ISO 8601 patterns, the offset limit, the header
and column checks) and written in Spark SQL expressions: scan's RE2 patterns go to
java.util.regex respelled where the two differ (``_java``), and a Twitter time is matched
by a pattern made from scan's strptime formats as DuckDB's strptime reads them
(``_strptime_pattern``), then built with ``try_make_timestamp``.

- Paths: files, folders (their files) or Hadoop glob patterns, listed by Spark; each
  pattern's files sorted by name, and read in that order. A local file is named as given,
  a local glob's match as ``scan.expand`` names it, any other file by its URI. A path that
  ``pathlib`` shortened (``s3a:/bucket``) gets its ``//`` back.
- CSV files, plain or compressed (by suffix: ``.gz``, ``.zst`` with the zstd codec of
  Spark's readers, any other codec of its Hadoop) are read by Spark's CSV reader in
  multi-line mode (each file by one task), lines ending at ``\\n`` only; the header row of
  each file is read as scan reads it (``scan.header_names``) from the file's first bytes,
  opened on the driver as Spark's readers open it (by a Spark job on Spark Connect), and
  the files of one header go through one reader. Parquet files (``.parquet``, ``.parq``) in
  the twcs layout give their columns as the text a CSV export would hold.
- ``seq``: the rows go into the kept table ``_twcs_scan`` with their file
  (``_metadata.file_path``), the start of their file split (``_metadata.file_block_start``)
  and ``monotonically_increasing_id()``, which increases along a split (one task reads a
  split in order; Spark packs splits into partitions by size, so the id alone says nothing
  of file order). A small table of the splits, in file order then split order, gives each
  split its first ``seq``: ``seq`` counts the rows in file order, then in the order of the
  files, as DuckDB's ``rowid`` does in scan. The view ``_twcs_rows`` (``ROWS``) holds every
  row with its file, seq, record (its place among the file's rows) and bitmask of
  problems; ``messages`` is a view of its good rows.

Bad rows: a row with the wrong number of fields (``MALFORMED``) and the problems of
``scan.PROBLEMS``, reported as scan reports them, by file and line. The line is found
only when something is wrong, by reading the file again as lines: a line starts a row when
it is not blank and an even number of quotes precede it. When the rows so counted are not
the rows Spark read (a quote inside unquoted text, which a CSV writer never leaves), a row
is named by its record number instead (``record N``: the Nth row after the header), as the
rows of Parquet files always are. Text that is not UTF-8 (Spark's reader puts U+FFFD for
it) and a quoted field never closed raise, as in scan; so does a file Spark cannot read
(a corrupt archive), named when Spark's message names it.

Where the result differs from scan's:

- text after a closing quote (``"x"y``) is read as text, quotes included, where DuckDB's
  reader names a bad row; a space before an opening quote makes the quote part of the text
  (DuckDB drops the space);
- an unclosed quote is found when it leaves a row with the wrong number of fields or a last
  row whose last field ends in a line end: one opened in the last field of a file's last
  line, with no line end after it, is read as text;
- a folder is read as its files (scan refuses it), a file listed twice is read once, globs
  are Hadoop's (no ``**``; names starting with ``_`` or ``.`` are left out, as Spark leaves
  them out); a file with bare carriage returns may hold 0x1f bytes (scan refuses it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import unquote, urlsplit

from socialbench.conversations import scan
from socialbench.conversations.scan import (
    FLOAT_ZEROS,
    MAX_OFFSET_HOURS,
    PROBLEMS,
    TRUNCATED,
    WHITESPACE,
    WRONG_FIELDS,
)
from socialbench.conversations.spark import _first_line
from socialbench.errors import InputError, SocialbenchError

ROWS = scan.ROWS
MALFORMED = 1 << len(PROBLEMS)  # the problem bit of a row with the wrong number of fields
_SCAN, _RAW, _SPLITS, _FILES = "_twcs_scan", "_twcs_raw", "_twcs_splits", "_twcs_files"
_LINES, _TEXT, _NUMBERED, _BASES = "_twcs_lines", "_twcs_text", "_twcs_numbered", "_twcs_bases"
_PARQUET = (".parquet", ".parq")
_GLOB = re.compile(r"[*?\[{]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
_CHUNK = 1 << 16
_CSV = {
    "header": "true", "multiLine": "true", "lineSep": "\n", "quote": '"', "escape": '"',
    "encoding": "UTF-8", "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_bad",
}  # fmt: skip
# a proleptic Gregorian calendar repeats every 400 years (146,097 days): times are built in
# 2000-2399 and moved back, so any year of four digits (or 0) reads, as on DuckDB
_CYCLE_S = 146_097 * 86_400


def _java(pattern: str) -> str:
    """One of scan's RE2 patterns as java.util.regex reads it the same way: ``\\s`` and
    ``\\S`` as RE2's classes (Java's also hold \\x0b), ``$`` as the end of the text (Java's
    also matches before a last line end)."""
    return (
        pattern.replace(r"\s", r"[\t\n\f\r ]").replace(r"\S", r"[^\t\n\f\r ]").replace("$", r"\z")
    )


def _literal(text: str) -> str:
    """A Spark SQL string literal (a backslash escapes there)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class _File:
    """One input file: ``uri`` as Spark lists it, ``name`` as errors name it."""

    uri: str
    name: str
    number: int = 0
    layout: tuple = ()  # the header's names (CSV), or (name, type) pairs (Parquet)

    @property
    def parquet(self) -> bool:
        return self.name.lower().endswith(_PARQUET)

    @property
    def key(self) -> str:
        return _key(self.uri)

    @property
    def path(self) -> str:
        """The file as Spark's readers take it: its URI decoded, glob characters escaped."""
        return _escaped(self.key)


@dataclass
class _Facts:
    """What the rows of one file showed: how many Spark read, whether one had the wrong
    number of fields with an odd number of quotes, whether the last row's last field ends
    in a line end (both: a quote never closed), U+FFFD (text not UTF-8), bare carriage
    returns (``\\r\\n`` in text is then ``\\n``, as in scan)."""

    rows: int = 0
    messages: int = 0
    file_seq: int = 0
    odd_quotes: bool = False
    last_nl: bool = False
    replaced: bool = False
    restore_cr: bool = False
    bad: list[tuple[int, int]] = field(default_factory=list)  # (record, problems)


def load_twcs(engine, paths: list[str], *, skip_bad_rows: bool, bad: Callable | None = None) -> int:
    """Make the engine's relation ``messages`` (``sources.messages.ARROW_SCHEMA``) from twcs
    files read by Spark; returns the number of messages.

    ``paths``: files, folders or glob patterns, local or URIs (see the module). A bad row
    raises ``InputError`` naming file and line (or record), unless ``skip_bad_rows``: then
    it is left out and reported as ``bad(path, problem, line=...)``. ``engine``: a
    ``spark.SparkEngine``; ``loaded_files(engine)`` names the files read, in order."""
    files = expand(engine, paths)
    try:
        _read_layouts(engine, files)
        with _reading(files):
            engine.view(_RAW, _readers(engine, files))
            engine.create(_SCAN, _parsed_sql(_RAW))
        engine.drop(_RAW)
        facts = _number_rows(engine, files, skip_bad_rows)
        engine.view(ROWS, _ROWS_SQL)
        _report(engine, files, facts, skip_bad_rows, bad)
        engine.view("messages", _MESSAGES_SQL)
    except BaseException:
        engine.drop("messages", ROWS, _SPLITS, _SCAN, _RAW, _FILES)
        raise
    return sum(fact.messages for fact in facts.values())


def loaded_files(engine) -> list[str]:
    """The names of the files ``load_twcs`` read, in the order of their rows."""
    return [name for _, name in engine.rows(f"SELECT file, name FROM {_FILES} ORDER BY file")]


# ------------------------------------------------------------------------------ the files


def expand(engine, paths: list[str]) -> list[_File]:
    """The files of each path, folder or glob pattern (sorted by name), each once;
    InputError for a path or pattern that names no file."""
    if not paths:
        raise InputError("(no files)", "no input files given")
    files, seen = [], set()
    for pattern in paths:
        for file in sorted(_listed(engine, pattern), key=lambda f: f.name):
            if file.key not in seen:
                seen.add(file.key)
                files.append(file)
    for number, file in enumerate(files):
        file.number = number
    engine.small_table(_FILES, {"file": "BIGINT", "name": "VARCHAR"},
                       [(f.number, f.name) for f in files])  # fmt: skip
    return files


def _listed(engine, pattern: str) -> list[_File]:
    """The files Spark lists for one path (its file index: globs, folders, any file system)."""
    target = _uri(pattern)
    if not _SCHEME.match(pattern) and _GLOB.search(pattern) and os.path.isfile(pattern):
        target = _escaped(pattern)  # a file, not a pattern
    try:
        found = engine.spark.read.format("binaryFile").load(target).inputFiles()
    except Exception as exc:
        if "PATH_NOT_FOUND" not in str(exc):
            raise InputError(pattern, f"cannot be listed: {_first_line(exc)}") from None
        found = []
    if not found:
        glob = _GLOB.search(pattern)
        raise InputError(pattern, "no file matches this pattern" if glob else "no such file")
    return [_File(uri, _name(pattern, uri, len(found))) for uri in found]


def _uri(path: str) -> str:
    """A path as Spark reads it: a URI whose ``//`` pathlib made ``/`` gets it back."""
    found = _SCHEME.match(path)
    if found and found.group(1).lower() != "file" and not path.startswith(found.group(0) + "/"):
        return f"{found.group(0)}/{path[found.end() :]}"
    return path


def _name(pattern: str, uri: str, listed: int) -> str:
    """How errors name a listed file: a local file as given, a local match of a glob or a
    folder as ``glob.glob`` names it (below the pattern's folder as written), anything else
    by its URI."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if _SCHEME.match(pattern):
        return f"{parts.scheme}://{parts.netloc}{path}"
    if listed == 1 and path == os.path.abspath(pattern):
        return pattern
    folder = os.path.dirname(_GLOB.split(pattern, maxsplit=1)[0])
    return os.path.join(folder, os.path.relpath(path, os.path.abspath(folder or ".")))


def _escaped(path: str) -> str:
    """A path with the characters of Hadoop's globs escaped (a name, not a pattern)."""
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", path)


def _key(uri: str) -> str:
    """One spelling of a file's URI (Spark lists ``file:///x`` and reads ``file:/x``)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{unquote(parts.path)}"


def _read_layouts(engine, files: list[_File]) -> None:
    """Each file's header (CSV) or schema (Parquet), checked for the twcs columns."""
    head = _DriverFiles(engine) if not engine.remote else _SparkHeads(engine)
    for file in files:
        if file.parquet:
            file.layout = _parquet_layout(engine, file)
            scan._positions([name for name, _ in file.layout], file.name, None)
        else:
            names = scan.header_names(file.name, head.first(file), partial(head.blank, file))
            scan._positions(names, file.name)
            file.layout = tuple(names)


def _parquet_layout(engine, file: _File) -> tuple:
    try:
        schema = engine.spark.read.parquet(file.path).schema
    except Exception as exc:
        raise InputError(file.name, f"not a readable Parquet file: {_first_line(exc)}") from None
    return tuple((f.name, f.dataType.simpleString()) for f in schema.fields)


class _DriverFiles:
    """The first bytes of files, read on the driver (the JVM of a classic session) as
    Spark's readers read them: Spark's codec streams (``.zst`` by zstd-jni), else Hadoop's
    codecs."""

    def __init__(self, engine) -> None:
        session = engine.spark
        self.jvm = session._jvm
        self.conf = session._jsparkSession.sessionState().newHadoopConf()

    def first(self, file: _File) -> bytes:
        head = b""
        for chunk in self._chunks(file):
            head += chunk
            if b"\n" in chunk or len(head) >= scan._HEADER_LIMIT:
                break
        return head

    def blank(self, file: _File) -> bool:
        return not any(chunk.strip() for chunk in self._chunks(file))

    def _chunks(self, file: _File) -> Iterator[bytes]:
        from py4j.protocol import Py4JError

        stream = None
        try:
            stream = self._open(self.jvm.org.apache.hadoop.fs.Path(file.key))
            while chunk := bytes(stream.readNBytes(_CHUNK)):
                yield chunk
        except Py4JError as exc:
            raise InputError(file.name, f"cannot be read: {_java_message(exc)}") from None
        finally:
            if stream is not None:
                stream.close()

    def _open(self, path):
        from py4j.protocol import Py4JError, Py4JJavaError

        try:
            return self.jvm.org.apache.spark.io.HadoopCodecStreams.createInputStream(
                self.conf, path
            )
        except Py4JJavaError:
            raise
        except Py4JError:
            pass  # a Spark without them: Hadoop's codecs
        stream = path.getFileSystem(self.conf).open(path)
        codecs = self.jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self.conf)
        codec = codecs.getCodec(path)
        return stream if codec is None else codec.createInputStream(stream)


class _SparkHeads:
    """The first line of files read by a Spark job (Spark Connect: no JVM on the driver)."""

    def __init__(self, engine) -> None:
        self.spark = engine.spark

    def first(self, file: _File) -> bytes:
        lines = self._lines(file).where("_metadata.file_block_start = 0").limit(1).collect()
        return lines[0][0].encode("utf-8") + b"\n" if lines else b""

    def blank(self, file: _File) -> bool:
        text = _literal("[ \t\n\x0b\f\r]")
        return not self._lines(file).where(f"regexp_replace(value, {text}, '') <> ''").take(1)

    def _lines(self, file: _File):
        return self.spark.read.option("lineSep", "\n").text(file.path)


@contextmanager
def _reading(files: list[_File]):
    """Spark's errors while reading the files (a corrupt archive, a missing codec) as
    InputError naming the file when Spark's message does."""
    from pyspark.errors import AnalysisException

    try:
        yield
    except (SocialbenchError, AnalysisException):
        raise
    except Exception as exc:
        text = unquote(str(exc))
        named = [f for f in files if f.key.split("://", 1)[1] in text]
        name = (
            max(named, key=lambda f: len(f.uri)).name if named else ", ".join(f.name for f in files)
        )
        raise InputError(name, f"cannot be read: {_spark_message(exc)}") from None


# ---------------------------------------------------------------------------- the readers


def _readers(engine, files: list[_File]):
    """One reader per layout (files of the same header or schema), as one DataFrame of the
    raw twcs columns as text, each row with its file, split, id and reading flags."""
    groups: dict[tuple, list[_File]] = {}
    for file in files:
        groups.setdefault((file.parquet, file.layout), []).append(file)
    frames = [
        _parquet_reader(engine, group) if parquet else _csv_reader(engine, group)
        for (parquet, _), group in groups.items()
    ]
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    return frame


_WHERE = (
    "_metadata.file_path AS file_path",
    "_metadata.file_block_start AS block",
    "monotonically_increasing_id() AS mono",
)


def _csv_reader(engine, files: list[_File]):
    header = list(files[0].layout)
    fields = [f"c{i}" for i in range(len(header))]
    schema = ", ".join(f"{c} STRING" for c in fields) + ", _bad STRING"
    reader = engine.spark.read.schema(schema).options(**_CSV).csv([f.path for f in files])
    last = fields[-1]
    # a CRLF line end leaves its \r at the end of the last field (lines end at \n)
    values = [
        *fields[:-1],
        f"CASE WHEN endswith({last}, chr(13)) THEN substr({last}, 1, length({last}) - 1)"
        f" ELSE {last} END",
    ]
    read = [*values, "_bad"]

    def anywhere(text: str) -> str:
        return " OR ".join(f"coalesce(instr({v}, {text}) > 0, false)" for v in read)

    whole = f"concat_ws(',', {', '.join(read)})"
    lone_cr = f"CASE WHEN {anywhere('chr(13)')} THEN {whole} RLIKE {_LONE_CR} ELSE false END"
    columns = [
        f"{values[i]} AS {name}" for name, i in scan._positions(header, files[0].name).items()
    ]
    return reader.selectExpr(
        *_WHERE,
        f"{_kind(len(fields))} AS kind",
        f"{lone_cr} AS lone_cr",
        f"{anywhere(_REPLACED)} AS replaced",
        f"coalesce(pmod(length(_bad) - length(replace(_bad, {_QUOTE}, '')), 2) = 1, false)"
        " AS odd_quotes",
        f"coalesce(endswith({last}, chr(10)), false) AS last_nl",
        *columns,
    )


_LONE_CR = _literal("\r(?!\n)")
_REPLACED = _literal("\ufffd")  # what Spark's reader puts for bytes that are not UTF-8
_QUOTE = _literal('"')


def _kind(width: int) -> str:
    """0: a row; 1: a blank line of a CRLF file (Spark reads its \\r as a field; DuckDB and
    sources.twcs leave it out); 2: the wrong number of fields. Empty fields past the last
    column are dropped, as DuckDB's reader drops them."""
    one = r'"(?:[^"]|"")*+"|[^,"]*+'
    trailing = f"^(?:{one})(?:,(?:{one})){{{width - 1}}},+\r?\\z"
    return (
        f"CASE WHEN _bad IS NULL THEN 0 WHEN c0 = chr(13) AND c1 IS NULL THEN 1"
        f" WHEN _bad RLIKE {_literal(trailing)} THEN 0 ELSE 2 END"
    )


def _parquet_reader(engine, files: list[_File]):
    names = [name for name, _ in files[0].layout]
    kinds = dict(files[0].layout)
    reader = engine.spark.read.parquet(*[f.path for f in files])
    columns = [
        f"{_as_text(_identifier(names[i]), kinds[names[i]])} AS {name}"
        for name, i in scan._positions(names, files[0].name, None).items()
    ]
    flags = ("lone_cr", "replaced", "odd_quotes", "last_nl")
    return reader.selectExpr(*_WHERE, "0 AS kind", *(f"false AS {f}" for f in flags), *columns)


def _identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _as_text(column: str, kind: str) -> str:
    """A Parquet column as the text a CSV export would hold (as scan's ``_as_text``): whole
    floats without their fraction (NaN as missing), times in ISO 8601 UTC."""
    if kind in ("float", "double"):
        whole = f"CAST(TRY_CAST({column} AS DECIMAL(38, 0)) AS STRING)"
        return (
            f"CASE WHEN isnan({column}) THEN NULL WHEN {column} = floor({column})"
            f" THEN coalesce({whole}, CAST({column} AS STRING)) ELSE CAST({column} AS STRING) END"
        )
    if kind.startswith("timestamp"):
        day, time = f"date_format({column}, 'yyyy-MM-dd')", f"date_format({column}, 'HH:mm:ss')"
        return f"concat({day}, 'T', {time}, 'Z')"
    return f"CAST({column} AS STRING)"


# ----------------------------------------------------------------------------- the values

_FLAGS = "file_path, block, mono, kind, lone_cr, replaced, odd_quotes, last_nl"


def _parsed_sql(raw: str) -> str:
    """The rows of ``raw`` with their cleaned values and the bitmask of their problems (bit
    i: PROBLEMS[i]; MALFORMED alone for a row with the wrong number of fields)."""
    trimmed = f"""
        SELECT {_FLAGS}, {_trim("tweet_id")} AS id, {_trim("in_response_to_tweet_id")} AS parent,
               {_trim("author_id")} AS author, lower({_trim("inbound")}) AS inbound,
               {_trim("created_at")} AS created, coalesce(text, '') AS text
        FROM {raw}"""
    cleaned = f"""
        SELECT {_FLAGS}, {_float_zeros("id")} AS id, {_float_zeros("parent")} AS parent,
               author, inbound, created, text
        FROM ({trimmed}) AS trimmed"""
    in_range = scan._in_range("secs")
    tests = (
        "id = ''", "inbound NOT IN ('true', 'false')", "secs IS NULL",
        f"coalesce(NOT {in_range}, false)", "author = ''",
    )  # fmt: skip
    assert len(tests) == len(PROBLEMS)
    bits = " + ".join(f"{1 << bit} * CAST({test} AS INT)" for bit, test in enumerate(tests))
    return f"""
        SELECT {_FLAGS}, id, nullif(parent, '') AS parent_id, author,
               inbound <> 'true' AS author_is_brand,
               CASE WHEN {in_range} THEN secs * 1000000000 END AS t, text,
               CASE WHEN kind = 2 THEN {MALFORMED} WHEN kind = 1 THEN 0 ELSE {bits} END AS problems
        FROM ({_seconds_sql(cleaned)}) AS timed"""


def _trim(column: str) -> str:
    """Without the whitespace at either end (scan's ``_trim``; Spark's ``trim`` of given
    characters looks at the ends only, so it needs no test first)."""
    return f"trim(BOTH {_literal(WHITESPACE)} FROM coalesce({column}, ''))"


def _float_zeros(column: str) -> str:
    return (
        f"CASE WHEN contains({column}, '.0')"
        f" THEN regexp_replace({column}, {_literal(_java(FLOAT_ZEROS))}, '') ELSE {column} END"
    )


# a space of a strptime format: one or more of the whitespace DuckDB's strptime skips
_FORMAT_SPACE = r"[ \t\n\x0B\f\r]+"
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
# what each directive of scan's formats matches on DuckDB (names in any case; numbers of up
# to two digits, years of up to four; offsets +HH, +HHMM, +HH:MM and +HH:MM:SS)
_DIRECTIVES = {
    "%a": "(?i:" + "|".join(d[:3] for d in _DAYS) + ")",
    "%A": "(?i:" + "|".join(_DAYS) + ")",
    "%b": "(?i:" + "|".join(m[:3] for m in _MONTHS) + ")",
    "%B": "(?i:" + "|".join(_MONTHS) + ")",
    "%d": "[0-9]{1,2}", "%H": "[0-9]{1,2}", "%M": "[0-9]{1,2}", "%S": "[0-9]{1,2}",
    "%Y": "[0-9]{1,4}", "%z": "[+-][0-9]{2}(?:[0-9]{2}|:[0-9]{2}(?::[0-9]{2})?)?",
}  # fmt: skip


def _strptime_pattern(form: str) -> str:
    """A java.util.regex pattern of the text DuckDB's strptime reads with ``form``."""
    parts = []
    for token in re.split(r"(%.| )", form):
        if token == " ":
            parts.append(_FORMAT_SPACE)
        elif token:
            parts.append(_DIRECTIVES.get(token) or re.escape(token))
    return "".join(parts)


_TWITTER = "^(?:" + "|".join(_strptime_pattern(f) for f in scan._TWITTER_FORMATS) + r")\z"


def _seconds_sql(cleaned: str) -> str:
    """``cleaned`` with ``secs``: the time ``created`` as whole seconds since the epoch (UTC),
    NULL where it does not read as a possible time (scan's ``_seconds_sql``). Each step is
    a projection of its own, so that no part is computed twice."""
    impossible = _literal(_java(scan._TWITTER_IMPOSSIBLE))
    words = f"split(regexp_replace(created, {_literal(_FORMAT_SPACE)}, ' '), ' ')"
    iso = "created"
    for pattern, replacement in scan._ISO_SPELLINGS:
        respelled = re.sub(r"\\(\d)", r"$\1", replacement)
        iso = f"regexp_replace({iso}, {_literal(_java(pattern))}, {_literal(respelled)})"
    matched = f"SELECT *, created RLIKE {_literal(_TWITTER)} AS twitter FROM ({cleaned}) AS cleaned"
    split = f"""
        SELECT *, CASE WHEN twitter AND NOT created RLIKE {impossible} THEN {words} END AS tw,
                  CASE WHEN NOT twitter THEN {iso} END AS iso
        FROM ({matched}) AS matched"""
    iso_pattern = _literal(_java(scan._ISO))
    iso_parts = [
        f"regexp_extract(iso, {iso_pattern}, {n}) AS iso_{p}"
        for n, p in enumerate(scan._ISO_PARTS, 1)
    ]
    tw_parts = [f"try_element_at(tw, {n}) AS tw_{p}" for n, p in enumerate(_TWITTER_WORDS, 1)]
    parts = f"SELECT *, {', '.join(tw_parts + iso_parts)} FROM ({split}) AS split"
    numbers = f"SELECT *, {_numbers()} FROM ({parts}) AS parts"
    secs = f"coalesce({_twitter_seconds()}, {_iso_seconds()})"
    return f"SELECT *, {secs} AS secs FROM ({numbers}) AS numbers"


_TWITTER_WORDS = ("day_name", "month_name", "d", "clock", "zone", "y")


def _numbers() -> str:
    """The numbers of the parts of a Twitter-style (``tw_``) or ISO 8601 (``iso_``) time,
    as INT (NULL for a part not written)."""

    def number(text: str) -> str:
        return f"TRY_CAST(nullif({text}, '') AS INT)"

    month = "(instr('janfebmaraprmayjunjulaugsepoctnovdec', lower(left(tw_month_name, 3))) + 2)"
    clock = [number(f"split_part(tw_clock, ':', {n})") for n in (1, 2, 3)]
    twitter = {"y": number("tw_y"), "mo": f"{month} div 3", "d": number("tw_d")}
    twitter.update(zip(("h", "mi", "s"), clock, strict=True))
    iso = {p: number(f"iso_{p}") for p in scan._ISO_PARTS[:6]}
    return ", ".join(
        [f"{value} AS tw_{p}_n" for p, value in twitter.items()]
        + [f"{value} AS iso_{p}_n" for p, value in iso.items()]
    )


def _twitter_seconds() -> str:
    """Seconds since the epoch of a Twitter-style time from its numbers (``tw_*_n``) and
    offset (``tw_zone``); NULL where they make no possible time."""
    valid = "tw_h_n <= 23 AND tw_mi_n <= 59 AND tw_s_n <= 59"
    local = _local_seconds(*(f"tw_{p}_n" for p in ("y", "mo", "d", "h", "mi", "s")))
    return f"CASE WHEN {valid} THEN {local} - {_zone_seconds('tw_zone')} END"


def _zone_seconds(zone: str) -> str:
    """The offset from UTC of a strptime ``%z`` (or ``Z``) in seconds, as DuckDB reads it."""

    def number(start: int) -> str:
        return f"coalesce(TRY_CAST(nullif(substr({zone}, {start}, 2), '') AS INT), 0)"

    minutes = f"CASE WHEN substr({zone}, 4, 1) = ':' THEN {number(5)} ELSE {number(4)} END"
    sign = f"CASE WHEN left({zone}, 1) = '-' THEN -1 ELSE 1 END"
    return (
        f"CASE WHEN {zone} IN ('+0000', 'Z') THEN 0"
        f" ELSE {sign} * ({number(2)} * 3600 + {minutes} * 60 + {number(8)}) END"
    )


def _iso_seconds() -> str:
    """Seconds since the epoch of an ISO 8601 time from its parts (``iso_*``, '' for a part
    not written, and their numbers ``iso_*_n``; scan's ``_iso_seconds``); NULL where they
    make no possible time."""
    valid = (
        "iso_y <> '' AND coalesce(iso_h_n, 0) <= 23 AND coalesce(iso_mi_n, 0) <= 59"
        " AND coalesce(iso_s_n, 0) <= 59"
        " AND NOT (iso_mi = '' AND iso_h <> '' AND length(iso_h) < 2)"
    )
    local = _local_seconds(
        "iso_y_n", "coalesce(iso_mo_n, 1)", "coalesce(iso_d_n, 1)", "coalesce(iso_h_n, 0)",
        "coalesce(iso_mi_n, 0)", "coalesce(iso_s_n, 0)",
    )  # fmt: skip
    return f"CASE WHEN {valid} THEN {local} - {_offset_seconds()} END"


def _offset_seconds() -> str:
    """The written ISO 8601 offset from UTC in seconds (scan's ``_offset_seconds``): 0 for
    none or Z, NULL when impossible."""
    digits = "substr(iso_tz, 2)"
    hours = (
        f"TRY_CAST(CASE WHEN contains({digits}, ':') THEN split_part({digits}, ':', 1)"
        f" ELSE left({digits}, 2) END AS INT)"
    )
    minutes = (
        f"coalesce(TRY_CAST(nullif(CASE WHEN contains({digits}, ':')"
        f" THEN split_part({digits}, ':', 2) ELSE substr({digits}, 3) END, '') AS INT), 0)"
    )
    sign = "CASE WHEN left(iso_tz, 1) = '-' THEN -1 ELSE 1 END"
    return (
        f"(CASE WHEN iso_tz IN ('', 'Z') THEN 0"
        f" WHEN {hours} <= {MAX_OFFSET_HOURS} AND {minutes} <= 59"
        f" THEN {sign} * ({hours} * 3600 + {minutes} * 60) END)"
    )


def _local_seconds(year, month, day, hour, minute, second) -> str:
    """Seconds since the epoch of a wall-clock time in UTC (NULL for an impossible date or
    time), any year: Spark's timestamps go from year 1, so the date is made in the 400-year
    cycle of 2000 and moved back."""
    cycle = f"(2000 + pmod({year}, 400))"
    stamp = f"try_make_timestamp({cycle}, {month}, {day}, {hour}, {minute}, {second})"
    return f"(unix_seconds({stamp}) + ({year} - {cycle}) div 400 * {_CYCLE_S})"


# -------------------------------------------------------------------------- rows and seq


def _number_rows(engine, files: list[_File], skip: bool) -> dict[int, _Facts]:
    """The small table ``_twcs_splits``: each file split's first ``seq`` and its file's,
    the splits in file order; returns what each file's rows showed, with its bad rows (when
    skipping, every one; else the first of each problem)."""
    if skip:
        bad = "collect_list(struct(mono, problems)) FILTER (WHERE problems <> 0)"
    else:
        bits = range(len(PROBLEMS) + 1)
        bad = "array(" + ", ".join(
            f"struct(min(mono) FILTER (WHERE problems & {1 << b} <> 0), {1 << b})" for b in bits
        ) + ")"  # fmt: skip
    found = engine.rows(
        f"SELECT file_path, block, count(*), min(mono), count_if(kind = 1), max(odd_quotes),"
        f" max_by(last_nl, mono), max(replaced), max(lone_cr), {bad}"
        f" FROM {_SCAN} GROUP BY file_path, block"
    )
    by_key = {f.key: f for f in files}
    splits = sorted(found, key=lambda s: (by_key[_key(s[0])].number, s[1]))
    facts: dict[int, _Facts] = {}
    rows, seq, current = [], 0, None
    for path, block, count, first, blank, odd, last_nl, replaced, lone_cr, bad_rows in splits:
        number = by_key[_key(path)].number
        if number != current:
            current, fact = number, facts.setdefault(number, _Facts(file_seq=seq))
        fact.rows += count
        fact.messages += count - blank
        fact.odd_quotes |= odd
        fact.last_nl = last_nl  # the last split's
        fact.replaced |= replaced
        fact.restore_cr |= lone_cr
        fact.bad += [
            (mono - first + seq - fact.file_seq, p) for mono, p in bad_rows if mono is not None
        ]
        rows.append((path, block, number, first, seq, fact.file_seq))
        seq += count
    for fact in facts.values():
        fact.bad.sort()
        fact.messages -= len(fact.bad) if skip else 0
    columns = {
        "file_path": "VARCHAR", "block": "BIGINT", "file": "BIGINT", "first_mono": "BIGINT",
        "base": "BIGINT", "file_base": "BIGINT", "restore_cr": "BOOLEAN",
    }  # fmt: skip
    restore = [(*row, facts[row[2]].restore_cr) for row in rows]
    engine.small_table(_SPLITS, columns, restore)
    return facts


_ROWS_SQL = f"""
SELECT p.file, r.mono - p.first_mono + p.base AS seq,
       r.mono - p.first_mono + p.base - p.file_base AS record, r.id, r.parent_id, r.author,
       r.author_is_brand, r.t,
       CASE WHEN p.restore_cr THEN replace(r.text, concat(chr(13), chr(10)), chr(10))
            ELSE r.text END AS text,
       r.problems
FROM {_SCAN} r JOIN {_SPLITS} p ON p.file_path = r.file_path AND p.block = r.block
WHERE r.kind <> 1
"""
_MESSAGES_SQL = f"""
SELECT seq, id, parent_id, CAST(NULL AS STRING) AS conversation_id, author, author_is_brand, t,
       text, 'x' AS channel, 'public' AS surface, CAST(NULL AS DOUBLE) AS followers,
       false AS automated, CAST(NULL AS STRING) AS scenario, CAST(NULL AS STRING) AS category,
       CAST(NULL AS STRING) AS account
FROM {ROWS} WHERE problems = 0
"""


# ------------------------------------------------------------------------------ reporting


def _report(engine, files: list[_File], facts: dict[int, _Facts], skip: bool, bad) -> None:
    """Each file's bad rows, file by file, as scan reports them: the first raises, or, when
    skipping, each is reported (a quote never closed and text that is not UTF-8 raise)."""
    for file in files:
        fact = facts.get(file.number, _Facts())
        lines = None
        if not file.parquet and (fact.bad or fact.replaced or fact.last_nl):
            lines = _lines(engine, file, fact, {record for record, _ in fact.bad})
        _report_rows(file, fact.bad, lines or {}, skip, bad)


def _report_rows(file: _File, rows, lines: dict[int, int], skip: bool, bad) -> None:
    """Rows with the wrong number of fields, then the problems of values, problem by
    problem (scan's order)."""
    for record, problems in rows:
        if problems & MALFORMED:
            _bad(file, WRONG_FIELDS, record, lines.get(record), skip, bad)
    for bit, problem in enumerate(PROBLEMS):
        for record, problems in rows:
            if problems >> bit & 1:
                _bad(file, problem, record, lines.get(record), skip, bad)


def _bad(file: _File, problem: str, record: int, line: int | None, skip: bool, bad) -> None:
    """Report a bad row by its line, or, when the line is not known, its record number."""
    if line is not None:
        scan._bad_row(file.name, problem, line, skip, bad)
    elif not skip:
        raise InputError(file.name, problem, record=str(record + 1))
    else:
        bad(file.name, f"record {record + 1}: {problem}", line=None)


def _lines(engine, file: _File, fact: _Facts, records: set[int]) -> dict[int, int]:
    """The line of each of ``records`` (rows of the file, from 0), from the file read
    again as lines; raises for a quote never closed and for text that is not UTF-8."""
    text = engine.spark.read.option("lineSep", "\n").text(file.path)
    with _reading([file]):
        engine.view(_TEXT, text.selectExpr(*_WHERE[1:], "value"))
        engine.create(_LINES, _LINES_SQL)
    try:
        return _numbered_lines(engine, file, fact, records)
    finally:
        engine.drop(_TEXT, _LINES, _NUMBERED, _BASES)


_LINES_SQL = f"""
SELECT block, mono, octet_length(value) - octet_length(replace(value, '"', '')) AS quotes,
       value = '' AS blank, CASE WHEN NOT is_valid_utf8(value) THEN CAST(value AS BINARY) END AS raw
FROM {_TEXT}
"""
# each line's number and whether a row starts on it (blocks numbered apart, from bases)
_NUMBERED_SQL = f"""
SELECT l.block, l.mono, l.quotes, l.raw,
       b.lines + row_number() OVER (PARTITION BY l.block ORDER BY l.mono) AS line,
       NOT l.blank AND pmod(b.quotes + coalesce(sum(l.quotes) OVER (PARTITION BY l.block
           ORDER BY l.mono ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 2) = 0 AS starts
FROM {_LINES} l JOIN {_BASES} b ON b.block = l.block
"""


def _numbered_lines(engine, file: _File, fact: _Facts, records: set[int]) -> dict[int, int]:
    blocks = engine.rows(
        f"SELECT block, count(*), sum(quotes) FROM {_LINES} GROUP BY block ORDER BY block"
    )
    _bases(engine, {"lines": [n for _, n, _ in blocks], "quotes": [q for _, _, q in blocks]},
           [b for b, _, _ in blocks])  # fmt: skip
    engine.create(_NUMBERED, _NUMBERED_SQL)
    starts = engine.rows(
        f"SELECT block, count(*) FILTER (WHERE starts), max(line) FILTER (WHERE quotes > 0),"
        f" min(line) FILTER (WHERE raw IS NOT NULL) FROM {_NUMBERED} GROUP BY block ORDER BY block"
    )
    quotes = sum(q for _, _, q in blocks)
    if (fact.odd_quotes or fact.last_nl) and quotes % 2:
        last_quote = max((q for _, _, q, _ in starts if q is not None), default=None)
        raise InputError(file.name, TRUNCATED, line=last_quote)
    bad_lines = [b for *_, b in starts if b is not None]
    if bad_lines:
        raw = engine.rows(f"SELECT raw FROM {_NUMBERED} WHERE line = {min(bad_lines)}")[0][0]
        raise _utf8_error(file, min(bad_lines), bytes(raw))
    if not records or sum(n for _, n, _, _ in starts) - 1 != fact.rows:
        return {}  # the quotes do not say where rows start (a quote in unquoted text)
    _bases(engine, {"starts": [n for _, n, _, _ in starts]}, [b for b, *_ in starts])
    wanted = ", ".join(str(r + 1) for r in sorted(records))  # record 0: the header
    found = engine.rows(f"""
        SELECT record, line FROM (
            SELECT n.line, b.starts + row_number() OVER (PARTITION BY n.block ORDER BY n.mono)
                   - 1 AS record
            FROM {_NUMBERED} n JOIN {_BASES} b ON b.block = n.block WHERE n.starts
        ) AS started WHERE record IN ({wanted})""")  # fmt: skip
    return {record - 1: line for record, line in found}


def _bases(engine, counts: dict[str, list[int]], blocks: list[int]) -> None:
    """The small table ``_twcs_bases``: for each block, the sum of each count over the
    blocks before it."""
    rows, totals = [], dict.fromkeys(counts, 0)
    for i, block in enumerate(blocks):
        rows.append((block, *totals.values()))
        totals = {name: totals[name] + values[i] for name, values in counts.items()}
    engine.small_table(_BASES, {"block": "BIGINT", **dict.fromkeys(counts, "BIGINT")}, rows)


def _utf8_error(file: _File, line: int, raw: bytes) -> InputError:
    try:
        raw.decode("utf-8")
        byte = None
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
    problem = "text is not UTF-8" + ("" if byte is None else f" (byte 0x{byte:02x})")
    return InputError(file.name, problem, line=line)


# ---------------------------------------------------------------------------- spellings


def _spark_message(exc: BaseException) -> str:
    """The cause Spark gives for a failed read: the deepest Java exception named."""
    causes = re.findall(r"(?:Caused by: )?([\w.$]+(?:Exception|Error): [^\n]+)", str(exc))
    return causes[-1] if causes else _first_line(exc)


def _java_message(exc: BaseException) -> str:
    java = getattr(exc, "java_exception", None)
    return str(java.toString()) if java is not None else _first_line(exc)

"""Generic exports read by DuckDB itself: the plan's ``messages`` relation made in the engine
from a CSV, JSON Lines or Parquet export read through a ``--map`` column mapping, the file
never held in Python, so an export may be larger than memory.

``load_generic`` reads CSV files with ``read_csv``, JSON Lines files as lines of text (also
``read_csv``) taken apart with DuckDB's JSON functions, and Parquet files with
``read_parquet``; plain, ``.gz`` or ``.zst``, glob patterns allowed (``scan.expand``). A file
is JSON Lines when its first non-blank line starts with ``{``, Parquet when it is named
``.parquet`` or ``.parq``, CSV otherwise. The rules are those of
``socialbench.sources.generic`` (the definition of reading a generic export), written in SQL:

- every mapped value but the text trimmed of the whitespace Python's ``str.strip`` takes;
  JSON values as Python's ``str`` writes them (``true``/``false``, integers exactly, floats
  as ``repr``), null or absent as empty; a Parquet column as the text a CSV export would hold
  (``scan._as_text``: whole floats without their fraction, NaN as empty; times as ISO 8601
  UTC);
- times: epoch seconds (``generic._EPOCH_PATTERN``) converted as pandas converts float
  seconds (whole seconds, then the fraction rounded to the nanosecond), else ISO 8601 by
  ``scan``'s grammar of pandas' parser, a zone-less time in UTC, the offset from UTC read as
  pandas reads it (hours up to 23); both to the microsecond (floored), between
  ``payloads.EARLIEST`` and ``LATEST``;
- brand flags, surfaces, follower counts, channels, the ``--brands`` book, the problems of a
  row and their order, duplicate ids (a later row of a file repeating an id), blank CSV rows
  and blank JSON lines as ``generic`` has them; problem texts are ``generic``'s own.

Rows go, in file order and then in the order of the files, into the table ``_generic_rows``
with the code of their first problem; ``messages`` is a view of its good rows whose ``seq``
is the table's ``rowid`` (see ``scan``: ``rowid`` is the row's place, with gaps where rows
were left out). A bad row raises ``InputError`` naming file and line (a Parquet file: the
record), or is reported through ``bad`` and left out; a mapped column missing from a file, a
file that is not UTF-8, a row with more fields than the header and an unclosed quote always
raise. Line numbers are found only when something is wrong: a CSV file is read again with
the ``csv`` module, a JSON Lines file counted by lines (DuckDB keeps blank lines).

Where the result differs from ``sources.generic`` (``tests/test_scan_generic.py`` holds each
case):

- CSV as DuckDB's strict reader reads it: spaces between a quote and the delimiter are
  dropped, and a field with spaces before its opening quote is read as quoted (pandas keeps
  the spaces and the quotes); text after a closing quote (``"x"y``) is a bad row, where
  pandas reads ``xy``; empty fields past the last column (``...,,``) are dropped rather than
  named a malformed row; an unclosed quote is named with its line (pandas names no line);
  a row longer than ``MAX_LINE`` (1 GiB) is a bad row;
- a file with bare carriage returns (not followed by a line feed) is read as ``scan`` reads
  a twcs file: in CSV they stay in their field, where pandas ends the row there, and
  ``\\r\\n`` inside quoted fields of such a file becomes ``\\n``; in JSON Lines, DuckDB
  may end a line at one (when a space follows it, in a CRLF file): two objects on one line
  parted by one are then two lines (Python: broken JSON), unless some line of the file is
  bad, which has the file read again from a copy without bare carriage returns; a line
  ending in the byte 0x1e (JSON_DELIMITER) is read without it;
- JSON as DuckDB reads it: a trailing comma (``{"a": 1,}``) and ``nan`` or ``inf`` in any
  case are accepted, a key given twice keeps its first value (Python: its last), and a lone
  surrogate (``"\\ud800"``) is broken JSON;
- times: ``now`` and ``today`` are unparseable (pandas reads the clock), and ISO 8601 dates
  with mixed separators (``2017/10.31``) are read (see ``scan``);
- when a file has problems of several kinds (a missing column and a malformed row, say), the
  one named first may differ; a Parquet file's bad rows are named by record number, a
  duplicate there as ``first in record N``; ``seq`` has gaps at skipped rows.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from socialbench.conversations import scan
from socialbench.conversations.scan import _chunks, _identifier, _lines_at, _literal, _one
from socialbench.errors import InputError, writing
from socialbench.sources import generic
from socialbench.sources.payloads import EARLIEST, LATEST, describe

ROWS = "_generic_rows"
BRANDS = "_generic_brands"
TARGETS = generic.REQUIRED + generic.OPTIONAL
# problem codes besides the value checks (1, 2, ...: generic._checks in its order)
DUPLICATE = 50
BLANK, BROKEN, NOT_OBJECT, NESTED = 60, 61, 62, 63  # rows generic's frame never holds
NEVER_CLOSED = "malformed CSV: a quoted field is never closed"
# microseconds since the epoch of the supported range, [EARLIEST, LATEST)
EARLIEST_US = round(EARLIEST.timestamp()) * 1_000_000
LATEST_US = round(LATEST.timestamp()) * 1_000_000
MAX_EPOCH_S = (2**63 - 1) // 1_000_000_000 - 1  # whole seconds whose nanoseconds fit int64
# scan's ISO 8601 grammar with the fraction of a second captured
ISO = scan._ISO.replace(r"(?:\.[0-9]{0,18})?", r"(?:\.([0-9]{0,18}))?")
ISO_PARTS = ["y", "mo", "d", "h", "mi", "s", "f", "tz"]
assert ISO != scan._ISO and scan._ISO_PARTS == [p for p in ISO_PARTS if p != "f"]
MAX_OFFSET_HOURS = 23  # pandas' limit (twcs refuses hours above 14)
# what pandas' to_numeric reads as a number (DuckDB's cast also takes 1_000)
NUMBER = r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf|infinity|nan)"
JSON_DELIMITER = "\x1e"  # a control character: never in a valid line of JSON
MAX_LINE = 1 << 30  # DuckDB's longest row (its default, 2 MB, is short for text)
PARQUET = (".parquet", ".parq")


def load_generic(
    engine,
    paths: list[str],
    mapping: dict[str, str],
    *,
    brands: frozenset[str] = frozenset(),
    skip_bad_rows: bool = False,
    bad: Callable | None = None,
) -> list[tuple[str, int]]:
    """Make the engine's relation ``messages`` (``sources.messages.ARROW_SCHEMA``) from generic
    exports read by DuckDB; returns each file with its number of messages.

    ``paths``: files or glob patterns (sorted matches), read in that order; ``mapping``: target
    -> column (``--map``); ``brands``: lower-cased brand handles (``--brands``). A bad row
    raises ``InputError`` naming file and line, unless ``skip_bad_rows``: then it is left out
    and reported as ``bad(path, problem, line=...)`` (``sources.ReadOptions.bad``).
    ``engine``: a ``duck.DuckEngine`` (its connection ``con``)."""
    mapping = generic._check_mapping(dict(mapping))
    files = scan.expand(paths)
    con = engine.con
    job = _Job(con, mapping, skip_bad_rows, bad or _ignore, bool(brands), _checks(mapping))
    with scan.loading(con, _CREATE_ROWS, ROWS):
        con.execute(
            f"CREATE OR REPLACE TABLE {BRANDS} AS SELECT unnest(?::VARCHAR[]) AS handle",
            [sorted(brands)],
        )
        try:
            for number, path in enumerate(files):
                _load_file(job, scan._File(path, number, 0))
            con.execute(_CREATE_VIEW)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {BRANDS}")
    counts = dict(
        con.execute(f"SELECT file, count(*) FROM {ROWS} WHERE problem = 0 GROUP BY file").fetchall()
    )
    return [(path, counts.get(number, 0)) for number, path in enumerate(files)]


def _ignore(*args, **kwargs) -> None:
    return None


@dataclass
class _Job:
    """What every file of one load shares: ``checks`` as ``_checks`` gives them."""

    con: object
    mapping: dict[str, str]
    skip: bool
    bad: Callable
    brands: bool
    checks: list[tuple[str, str, str | None]]

    def report(self, path: str, problem: str, *, line=None, record=None) -> None:
        """A bad row: raise InputError, or (skipping) report it by line or record."""
        if not self.skip:
            raise InputError(path, problem, line=line, record=record)
        if record is not None:
            self.bad(path, f"record {record}: {problem}", line=None)
        else:
            self.bad(path, problem, line=line)


_CREATE_ROWS = f"""
CREATE OR REPLACE TABLE {ROWS} (
    file INTEGER, id VARCHAR, parent_id VARCHAR, conversation_id VARCHAR, author VARCHAR,
    author_is_brand BOOLEAN, t BIGINT, text VARCHAR, channel VARCHAR, surface VARCHAR,
    followers DOUBLE, account VARCHAR, problem UTINYINT, value VARCHAR, seen BIGINT)
"""
_CREATE_VIEW = f"""
CREATE OR REPLACE VIEW messages AS
SELECT rowid AS seq, id, parent_id, conversation_id, author, author_is_brand, t, text, channel,
       surface, followers, false AS automated, CAST(NULL AS VARCHAR) AS scenario,
       CAST(NULL AS VARCHAR) AS category, account
FROM {ROWS} WHERE problem = 0
"""


def _load_file(job: _Job, file: scan._File) -> None:
    """Read one file into the rows table and report its bad rows."""
    try:
        if Path(file.path).suffix.lower() in PARQUET:
            _load_parquet(job, file)
        elif _first_line_is_object(file.path):
            _load_json_lines(job, file)
        else:
            _load_csv(job, file)
    finally:
        for path in file.temporary:
            os.unlink(path)


def _first_line_is_object(path: str) -> bool:
    """Whether the first non-blank line of the (decompressed) file starts with ``{``, as
    ``generic`` tells JSON Lines from CSV."""
    rest = b""
    for chunk in _chunks(path):
        *lines, rest = (rest + chunk).split(b"\n")
        for raw in lines:
            if raw.strip():
                return raw.lstrip(b"\xef\xbb\xbf \t").startswith(b"{")
    return bool(rest.strip()) and rest.lstrip(b"\xef\xbb\xbf \t").startswith(b"{")


def _set_base(job: _Job, file: scan._File) -> None:
    """The rowid of the file's first row (rows of one file have consecutive rowids)."""
    first = _one(job.con, f"SELECT min(rowid) FROM {ROWS} WHERE file = {file.number}")[0]
    file.base = first or 0


# ---------------------------------------------------------------------------- the values


def _checks(mapping: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(SQL condition, problem, SQL of the value quoted after it) for each check of
    ``generic._checks``, in its order; the problems are generic's own text."""
    import pandas as pd

    conditions = [
        ("\"id\" = ''", None),
        ("author = ''", None),
        ("\"time\" = ''", None),
        ("t IS NULL", '"time"'),
    ]
    if "brand" in mapping:
        conditions.append(("brand_flag IS NULL", "brand"))
    if "surface" in mapping:
        conditions.append(("side NOT IN ('public', 'private')", "surface"))
    if "followers" in mapping:
        conditions.append(("followers <> '' AND (fans IS NULL OR isnan(fans))", "followers"))
    empty = pd.Series([], dtype=object)
    problems = list(
        generic._checks(
            dict.fromkeys(mapping, empty),
            dict.fromkeys(("time", "brand", "surface", "followers"), empty),
            mapping,
        )
    )
    for (_, value), (_, _, values) in zip(conditions, problems, strict=True):
        assert (value is None) == (values is None)
    return [
        (sql, problem, value)
        for (sql, value), (_, problem, _) in zip(conditions, problems, strict=True)
    ]


def _insert_sql(
    job: _Job,
    file: scan._File,
    source: str,
    texts: dict[str, str],
    kind: str = "0",
    seen: str = "0",
) -> str:
    """INSERT the rows of ``source`` with their values and the code of their first problem.
    ``texts``: each mapped column's text (SQL, never NULL); ``kind``: a row's problem before
    its values are read (BLANK, BROKEN, ...), else 0; ``seen``: the JSON keys present."""
    raw = {t: texts[job.mapping[t]] if t in job.mapping else "''" for t in TARGETS}
    cleaned = ", ".join(
        f"{raw[t] if t == 'text' else scan._trim(raw[t])} AS {_identifier(t)}" for t in TARGETS
    )
    rows = f"SELECT {kind} AS kind, {seen} AS seen, {cleaned} FROM {source}"
    problem = " ".join(f"WHEN {sql} THEN {code}" for code, (sql, _, _) in enumerate(job.checks, 1))
    value = " ".join(
        f"WHEN {code} THEN {column}" for code, (_, _, column) in enumerate(job.checks, 1) if column
    )
    checked = f"""
        SELECT *, CASE WHEN kind <> 0 THEN kind {problem} ELSE 0 END AS problem
        FROM ({_parsed_sql(rows)})"""
    return f"""
        INSERT INTO {ROWS}
        SELECT {file.number}, id, nullif(parent, ''), nullif(conversation, ''), author,
               {_brand_sql(job)}, t, text, coalesce(nullif(channel, ''), 'unknown'), side,
               fans, nullif(account, ''), problem, CASE problem {value} END, seen
        FROM ({checked})"""


def _parsed_sql(rows: str) -> str:
    """``rows`` with ``t`` (the time in nanoseconds, NULL where invalid), ``brand_flag``
    (NULL where the word is none of generic's), ``side`` (the surface, lower-cased, public
    when empty) and ``fans`` (the follower count, NULL where not a number)."""
    words = {
        flag: ", ".join(_literal(w) for w in sorted(words))
        for flag, words in ((True, generic.TRUE_WORDS), (False, generic.FALSE_WORDS))
    }
    return f"""
        SELECT *, CASE WHEN us >= {EARLIEST_US} AND us < {LATEST_US} THEN us * 1000 END AS t,
               CASE WHEN lower(brand) IN ({words[True]}) THEN true
                    WHEN lower(brand) IN ({words[False]}) THEN false END AS brand_flag,
               coalesce(nullif(lower(surface), ''), 'public') AS side,
               CASE WHEN regexp_full_match(followers, {_literal(NUMBER)}, 'i')
                    THEN TRY_CAST(followers AS DOUBLE) END AS fans
        FROM ({_time_sql(rows)})"""


def _brand_sql(job: _Job) -> str:
    """Named in --brands -> true; else the brand column; else false when --brands was given,
    NULL (unknown) when not."""
    named = f"lower(author) IN (SELECT handle FROM {BRANDS})"
    if "brand" in job.mapping:
        return f"(brand_flag OR {named})" if job.brands else "brand_flag"
    return named if job.brands else "CAST(NULL AS BOOLEAN)"


def _time_sql(rows: str) -> str:
    """``rows`` with ``us``: the time as microseconds since the epoch (floored), NULL where
    it reads as no time; epoch seconds as pandas converts them (whole seconds, then the
    fraction rounded to nanoseconds, each part truncated), else ISO 8601."""
    spelled = '"time"'
    for pattern, replacement in scan._ISO_SPELLINGS:
        spelled = f"regexp_replace({spelled}, {_literal(pattern)}, {_literal(replacement)})"
    kinds = f"""
        SELECT *, CASE WHEN is_epoch THEN TRY_CAST("time" AS DOUBLE) END AS secs,
               CASE WHEN NOT is_epoch THEN regexp_extract({spelled}, {_literal(ISO)}, {ISO_PARTS})
               END AS iso
        FROM (SELECT *, regexp_full_match("time", {_literal(generic._EPOCH_PATTERN)}) AS is_epoch
              FROM ({rows}))"""
    parts = f"""
        SELECT *, CASE WHEN abs(secs) < {MAX_EPOCH_S} THEN CAST(trunc(secs) AS BIGINT) END AS whole,
               struct_pack(y := iso.y, mo := iso.mo, d := iso.d, h := iso.h, mi := iso.mi,
                           s := iso.s, tz := '') AS wall
        FROM ({kinds})"""
    fraction = _half_even("(secs - whole) * 1e9")
    nanos = f"""
        SELECT *, whole * 1000000000 + CAST(trunc({fraction} / 1e9 * 1e9) AS BIGINT) AS nanos
        FROM ({parts})"""
    micros = "CASE WHEN iso.f = '' THEN 0 ELSE CAST(rpad(left(iso.f, 6), 6, '0') AS BIGINT) END"
    iso = f"({scan._iso_seconds('wall')} - {_offset_seconds('iso')}) * 1000000 + {micros}"
    return f"""
        SELECT * EXCLUDE (secs, iso, whole, wall, nanos),
               CASE WHEN is_epoch THEN {_floor_div("nanos", 1000)} ELSE {iso} END AS us
        FROM ({nanos})"""


def _half_even(x: str) -> str:
    """``x`` (a DOUBLE) rounded to a whole number, halves to even (numpy's ``rint``)."""
    return f"(CASE WHEN abs({x} - trunc({x})) = 0.5 THEN 2 * round({x} / 2) ELSE round({x}) END)"


def _floor_div(x: str, by: int) -> str:
    return f"(({x}) - ((({x}) % {by}) + {by}) % {by}) // {by}"


def _offset_seconds(iso: str) -> str:
    """The written offset from UTC in seconds, as pandas reads it (hours up to 23)."""
    return scan._offset_seconds(iso, MAX_OFFSET_HOURS)


# ------------------------------------------------------------------------------ reporting


def _mark_duplicates(job: _Job, file: scan._File) -> None:
    """A good row repeating the id of an earlier row of the file (bad or not) becomes a bad
    row (DUPLICATE), as in ``generic``."""
    rows = f"{ROWS} WHERE file = {file.number} AND problem < {DUPLICATE} AND id <> ''"
    twice = f"SELECT id FROM {rows} GROUP BY id HAVING count(*) > 1"
    if not _one(job.con, f"SELECT count(*) FROM ({twice})")[0]:
        return
    job.con.execute(f"""
        UPDATE {ROWS} SET problem = {DUPLICATE} WHERE problem = 0 AND rowid IN (
            SELECT r FROM (
                SELECT rowid AS r, row_number() OVER (PARTITION BY id ORDER BY rowid) AS k
                FROM {rows} AND id IN ({twice}))
            WHERE k > 1)""")


def _report_values(job: _Job, file: scan._File, lines: Callable | None) -> None:
    """Rows whose values are bad (and duplicates), in file order: the first raises, or,
    when skipping, each is reported. ``lines(rows)``: the line of each row (index in the
    file); ``None`` for a Parquet file, whose rows are named by record."""
    _mark_duplicates(job, file)
    found = job.con.execute(
        f"SELECT rowid - {file.base}, problem, value, id FROM {ROWS} WHERE file = {file.number}"
        f" AND problem BETWEEN 1 AND {DUPLICATE} ORDER BY rowid{'' if job.skip else ' LIMIT 1'}"
    ).fetchall()
    if not found:
        return
    firsts = _first_rows(job, file, {id for _, problem, _, id in found if problem == DUPLICATE})
    rows = {row for row, *_ in found} | set(firsts.values())
    where = lines(rows) if lines else {row: row + 1 for row in rows}
    for row, problem, value, id in found:
        if problem == DUPLICATE:
            first = "in record" if lines is None else "on line"
            text = f"duplicate id {id!r} (first {first} {where.get(firsts[id], '?')})"
        else:
            _, text, column = job.checks[problem - 1]
            text += repr(value) if column else ""
        if lines is None:
            job.report(file.path, text, record=str(row + 1))
        else:
            job.report(file.path, text, line=where.get(row))


def _first_rows(job: _Job, file: scan._File, ids: set[str]) -> dict[str, int]:
    """The first row (index in the file) holding each of ``ids``."""
    if not ids:
        return {}
    return dict(
        job.con.execute(
            f"SELECT id, min(rowid) - {file.base} FROM {ROWS} WHERE file = {file.number}"
            f" AND problem <= {DUPLICATE} AND id IN (SELECT unnest(?::VARCHAR[])) GROUP BY id",
            [sorted(ids)],
        ).fetchall()
    )


def _rejects(job: _Job, file: scan._File, rejects: str) -> list[tuple[int, str, str]]:
    """The rows DuckDB's reader refused (line, error type, text), by line; the lines are
    remembered in ``file.refused``. Text that is not UTF-8 raises (as in ``generic``)."""
    file.refused = set()
    found = job.con.execute(
        f"SELECT line_byte_position, any_value(error_type), any_value(csv_line) "
        f"FROM {rejects} GROUP BY line_byte_position ORDER BY line_byte_position"
    ).fetchall()
    if not found:
        return []
    if any(kind == "INVALID ENCODING" for _, kind, _ in found):
        utf8 = scan._first_bad_utf8(file.source)
        if utf8 is not None:
            raise scan._utf8_error(file, *utf8)
    lines = _lines_at(file.source, [position for position, _, _ in found])
    file.refused = set(lines.values())
    return [(lines[position], kind, text or "") for position, kind, text in found]


def _drop(job: _Job, rejects: str) -> None:
    job.con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")


# ------------------------------------------------------------------------------------ CSV


def _load_csv(job: _Job, file: scan._File) -> None:
    names = _header_names(file)
    generic._missing_columns(file.path, job.mapping, set(names))
    refused = _inserted(job, file, lambda rejects: _insert_csv(job, file, names, rejects))
    _report_refused_csv(job, file, refused, len(names))
    _report_values(job, file, lambda rows: _csv_row_lines(file, rows))


def _header_names(file: scan._File) -> list[str]:
    """The header line's column names as pandas names them: an empty name is ``Unnamed: i``,
    a repeated one ``name.1``, ``name.2``, ...; InputError for a file without any text."""
    head = b""
    for chunk in _chunks(file.path, scan._HEADER_LIMIT):
        head += chunk
        if b"\n" in chunk or len(head) >= scan._HEADER_LIMIT:
            break
    if not head:
        raise InputError(file.path, "no CSV header line")
    line = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    try:
        names = next(csv.reader([line.decode("utf-8")]), [])
    except UnicodeDecodeError as exc:
        raise scan._utf8_error(file, 1, line[exc.start]) from None
    except csv.Error as exc:
        problem = str(exc).split(" - ")[0]
        raise InputError(
            file.path, f"the header line is not readable CSV ({problem})", line=1
        ) from None
    return _pandas_names(names)


def _pandas_names(names: list[str]) -> list[str]:
    """Column names as pandas' CSV reader makes them unique (``Unnamed: i`` for an empty one;
    a repeated one ``name.1``, ``name.2``, ..., passing over names the header holds)."""
    header = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
    counts: dict[str, int] = {}
    for i, name in enumerate(header):
        count = counts.get(name, 0)
        unique = name
        while count > 0:
            counts[name] = count + 1
            unique = f"{name}.{count}"
            count = count + 1 if unique in header else counts.get(unique, 0)
        header[i] = unique
        counts[unique] = count + 1
    return header


def _insert_csv(job: _Job, file: scan._File, names: list[str], rejects: str) -> None:
    """Insert the rows DuckDB reads. A file whose line ends its strict reader refuses is read
    from a copy (``scan._rewrite_line_ends``); a file with short rows, which pandas fills with
    empty fields, again with ``null_padding`` (on one thread: DuckDB's parallel reader cannot
    pad rows when quoted fields hold line breaks)."""
    import duckdb

    try:
        _insert_csv_once(job, file, names, rejects)
    except duckdb.Error as exc:
        if "invalid state" not in str(exc):
            raise scan._csv_error(file, str(exc)) from None
        scan._rewrite_line_ends(file)
        _insert_csv_once(job, file, names, rejects, refuse=True)
    short = f"SELECT count(*) FROM {rejects} WHERE error_type = 'MISSING COLUMNS'"
    if _one(job.con, short)[0]:
        job.con.execute(f"DELETE FROM {ROWS} WHERE file = {file.number}")
        _insert_csv_once(job, file, names, rejects, padding=True, refuse=True)


def _insert_csv_once(
    job: _Job,
    file: scan._File,
    names: list[str],
    rejects: str,
    *,
    padding: bool = False,
    refuse: bool = False,
) -> None:
    """One reading of the file into the rows table (``refuse``: DuckDB's errors become
    InputError)."""
    import duckdb

    _drop(job, rejects)
    read = scan._read_csv(file, len(names), rejects).removesuffix(")")
    read += f", max_line_size = {MAX_LINE}"
    read += ", null_padding = true, parallel = false)" if padding else ")"
    columns = [f"coalesce(c{i}, '')" for i in range(len(names))]
    if file.restore_cr:
        columns = [f"replace({column}, chr(31), chr(13))" for column in columns]
    texts = {name: columns[names.index(name)] for name in set(job.mapping.values())}
    blank = " AND ".join(f"(c{i} IS NULL OR c{i} = '')" for i in range(len(names)))
    kind = f"CASE WHEN {blank} THEN {BLANK} ELSE 0 END"
    try:
        job.con.execute(_insert_sql(job, file, read, texts, kind))
    except duckdb.Error as exc:
        if refuse:
            raise scan._csv_error(file, str(exc)) from None
        raise


def _report_refused_csv(job: _Job, file: scan._File, refused, width: int) -> None:
    """Rows DuckDB's reader refused: a row longer than the header and an unclosed quote
    raise (as pandas stops there); the rest are bad rows."""
    for line, kind, text in refused:
        if kind == "UNQUOTED VALUE" and text.count('"') % 2:
            raise InputError(
                file.path, NEVER_CLOSED, line=line + text[: text.rfind('"')].count("\n")
            )
        if kind == "TOO MANY COLUMNS":
            fields = len(next(csv.reader(io.StringIO(text)), []))
            problem = f"malformed CSV: {fields} fields where the header line has {width}"
            raise InputError(file.path, problem, line=line)
    for line, kind, _ in refused:
        job.report(
            file.path, scan._REJECTED.get(kind, f"not readable CSV ({kind.lower()})"), line=line
        )


def _csv_row_lines(file: scan._File, rows: set[int]) -> dict[int, int]:
    """The line on which each of ``rows`` (indexes among the rows DuckDB kept) starts (only
    for bad rows). Blank lines, which DuckDB passes over, and rows it refused are passed
    over."""
    return scan.row_lines(file, rows, lambda row, start: not row or start in file.refused)


# ----------------------------------------------------------------------------- JSON Lines


def _load_json_lines(job: _Job, file: scan._File) -> None:
    sources = sorted(set(job.mapping.values()))
    refused = _read_json_lines(job, file, sources)
    if (
        not file.restore_cr
        and (refused or _any_bad_row(job, file))
        and scan._has_lone_cr(file.path)
    ):
        job.con.execute(f"DELETE FROM {ROWS} WHERE file = {file.number}")
        _copy_json_lines(file)  # DuckDB may have ended lines at bare carriage returns
        refused = _read_json_lines(job, file, sources)
    _report_structure(job, file, sources, refused)
    seen = _one(job.con, f"SELECT bit_or(seen) FROM {ROWS} WHERE file = {file.number}")[0] or 0
    present = {source for bit, source in enumerate(sources) if seen >> bit & 1}
    generic._missing_columns(file.path, job.mapping, present)
    _report_values(job, file, lambda rows: _json_row_lines(file, rows))


def _read_json_lines(job: _Job, file: scan._File, sources: list[str]) -> list:
    """Insert the file's lines; returns the lines DuckDB refused (``_rejects``)."""
    return _inserted(job, file, lambda rejects: _insert_json(job, file, sources, rejects))


def _inserted(job: _Job, file: scan._File, insert: Callable[[str], None]) -> list:
    """Run ``insert(rejects)`` (the name of DuckDB's rejects table for the file); returns the
    rows DuckDB refused (``_rejects``), the file's first row numbered (``_set_base``)."""
    rejects = f"_generic_rejects_{file.number}"
    try:
        insert(rejects)
        refused = _rejects(job, file, rejects)
    finally:
        _drop(job, rejects)
    _set_base(job, file)
    return refused


def _any_bad_row(job: _Job, file: scan._File) -> bool:
    bad = f"file = {file.number} AND problem <> 0 AND problem <> {BLANK}"
    return _one(job.con, f"SELECT count(*) FROM (SELECT 1 FROM {ROWS} WHERE {bad} LIMIT 1)")[0] > 0


def _insert_json(job: _Job, file: scan._File, sources: list[str], rejects: str) -> None:
    """Insert one row per line. A file whose line ends DuckDB's strict reader refuses (CRLF
    and LF mixed, or bare carriage returns) is read from a copy (``_copy_json_lines``)."""
    import duckdb

    for attempt in range(2):
        _drop(job, rejects)
        try:
            job.con.execute(_json_insert_sql(job, file, sources, rejects))
            return
        except duckdb.Error as exc:
            if attempt or "invalid state" not in str(exc):
                raise scan.unreadable(file, exc, "JSON Lines file") from None
        _copy_json_lines(file)


def _json_insert_sql(job: _Job, file: scan._File, sources: list[str], rejects: str) -> str:
    """Each line as a row: its kind (blank, broken JSON, not an object, a nested value), the
    mapped keys present (``seen``, a bit each) and the text of each mapped value."""
    read = (
        f"read_csv({_literal(file.source)}, auto_detect = false, header = false,"
        f" delim = '{JSON_DELIMITER}', quote = '', escape = '', columns = {{'line': 'VARCHAR'}},"
        f" strict_mode = true, compression = '{file.compression()}', store_rejects = true,"
        f" rejects_table = '{rejects}', rejects_scan = '{rejects}_scan',"
        f" max_line_size = {MAX_LINE})"
    )
    line = "replace(line, chr(31), chr(13))" if file.restore_cr else "line"
    pointers = ", ".join(_literal("/" + s.replace("~", "~0").replace("/", "~1")) for s in sources)
    keys = range(1, len(sources) + 1)
    typed = f"""
        (SELECT *, {", ".join(f"json_type(j[{k}]) AS t{k}" for k in keys)}
         FROM (SELECT raw, try(json_extract(raw, [{pointers}])) AS j
               FROM (SELECT {line} AS raw FROM {read})))"""
    nested = " OR ".join(f"t{k} IN ('OBJECT', 'ARRAY')" for k in keys)
    kind = (
        f"CASE WHEN raw IS NULL OR trim(raw, {_literal(scan.WHITESPACE)}) = '' THEN {BLANK}"
        f" WHEN j IS NULL THEN {BROKEN} WHEN NOT regexp_matches(raw, '^[ \\t\\n\\r]*[{{]')"
        f" THEN {NOT_OBJECT} WHEN {nested} THEN {NESTED} ELSE 0 END"
    )
    seen = " + ".join(f"CASE WHEN j[{k}] IS NULL THEN 0 ELSE {1 << (k - 1)} END" for k in keys)
    seen = f"CASE WHEN {kind} IN (0, {NESTED}) THEN {seen} ELSE 0 END"
    texts = {source: _json_text(k) for k, source in zip(keys, sources, strict=True)}
    return _insert_sql(job, file, typed, texts, kind, seen)


def _json_text(k: int) -> str:
    """The text of the k-th mapped value as Python's ``str`` writes it ('' when absent or
    null): integers exactly, floats as ``repr``, booleans ``true``/``false``."""
    value = f"j[{k}]"
    number = f"CAST({value} AS VARCHAR)"
    return (
        f"CASE t{k} WHEN 'VARCHAR' THEN {value} ->> '$' WHEN 'NULL' THEN ''"
        f" WHEN 'DOUBLE' THEN CASE WHEN regexp_full_match({number}, '-?[0-9]+') THEN {number}"
        f" ELSE CAST(TRY_CAST({value} ->> '$' AS DOUBLE) AS VARCHAR) END"
        f" ELSE coalesce({number}, '') END"
    )


def _copy_json_lines(file: scan._File) -> None:
    """Copy the file for DuckDB (uncompressed, in the temporary folder) with ``\\r\\n`` made
    ``\\n`` and any other ``\\r`` a 0x1f byte that the line gets back: Python splits JSON
    Lines at ``\\n`` only, DuckDB at ``\\r`` too."""
    handle, copy = tempfile.mkstemp(prefix="socialbench-generic-", suffix=".jsonl")
    file.temporary.append(copy)
    lone = scan.LONE_CR.encode()
    with writing(copy), os.fdopen(handle, "wb") as out:  # a full disk: one line, exit 3
        carry = b""
        for chunk in _chunks(file.path):
            data = carry + chunk
            carry = data[-1:] if data.endswith(b"\r") else b""
            data = data[: len(data) - len(carry)]
            if lone in data:
                raise InputError(
                    file.path, "contains 0x1f bytes and carriage returns DuckDB reads as line ends"
                )
            out.write(data.replace(b"\r\n", b"\n").replace(b"\r", lone))
        out.write(carry.replace(b"\r", lone))
    file.source, file.restore_cr = copy, True


def _structure_rows(job: _Job, file: scan._File, *, first: bool = False) -> list[tuple[int, int]]:
    """The lines (index in the file, kind) that are broken JSON, not an object or hold a
    nested value, in file order (``first``: the first one only)."""
    return job.con.execute(
        f"SELECT rowid - {file.base}, problem FROM {ROWS} WHERE file = {file.number}"
        f" AND problem IN ({BROKEN}, {NOT_OBJECT}, {NESTED}) ORDER BY rowid"
        + (" LIMIT 1" if first else "")
    ).fetchall()


def _report_structure(job: _Job, file: scan._File, sources: list[str], refused) -> None:
    """Lines that are not an object of plain values, and lines DuckDB refused, in line order,
    named as ``generic`` names them (Python reads each such line again)."""
    rows = _structure_rows(job, file, first=not job.skip)
    where = _json_row_lines(file, {row for row, _ in rows})
    found = [(where[row], "") for row, _ in rows] + [(line, kind) for line, kind, _ in refused]
    found.sort()
    if not job.skip:
        found = found[:1]
    texts = _line_texts(file.path, {line for line, _ in found})
    for line, kind in found:
        if kind == "LINE SIZE OVER MAXIMUM":
            problem = scan._REJECTED[kind]
        else:  # broken JSON, or a line DuckDB refused (one holding JSON_DELIMITER)
            problem = _json_problem(texts.get(line, ""), sources)
        job.report(file.path, problem, line=line)


def _json_problem(text: str, sources: list[str]) -> str:
    """What ``generic`` says of a JSON line that is no object of plain values."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"broken JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(value, dict):
        return f"expected a JSON object, found {describe(value)}"
    problem = generic._json_row(value, sources)
    return problem if isinstance(problem, str) else "broken JSON: not standard JSON"


def _json_row_lines(file: scan._File, rows: set[int]) -> dict[int, int]:
    """The line of each of ``rows`` (indexes among the lines DuckDB kept: all but those it
    refused)."""
    refused = sorted(file.refused)
    lines = {}
    for row in rows:
        line = row + 1
        while line != row + 1 + bisect.bisect_right(refused, line):
            line = row + 1 + bisect.bisect_right(refused, line)
        lines[row] = line
    return lines


def _line_texts(path: str, numbers: set[int]) -> dict[int, str]:
    """The text of each of the lines ``numbers`` of the (decompressed) file, as Python's
    JSON Lines reader reads it."""
    counter, texts = [0], {}
    if not numbers:
        return texts
    last = max(numbers)
    for text in scan._text_lines(path, counter):
        if counter[0] in numbers:
            text = text.removesuffix("\n")
            texts[counter[0]] = text.lstrip("\ufeff") if counter[0] == 1 else text
        if counter[0] >= last:
            break
    return texts


# -------------------------------------------------------------------------------- Parquet


def _load_parquet(job: _Job, file: scan._File) -> None:
    """A Parquet file whose columns are mapped as a CSV file's: each mapped column read as
    the text a CSV export would hold; bad rows are named by record."""
    import duckdb

    read = f"read_parquet({_literal(file.path)})"
    try:
        described = job.con.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()
        kinds = {name: kind for name, kind, *_ in described}
        generic._missing_columns(file.path, job.mapping, set(kinds))
        texts = {
            name: f"coalesce({_parquet_text(file.path, name, kinds[name])}, '')"
            for name in set(job.mapping.values())
        }
        job.con.execute(_insert_sql(job, file, read, texts))
    except duckdb.Error as exc:
        raise scan.unreadable(file, exc, "Parquet file") from None
    _set_base(job, file)
    _report_values(job, file, None)


def _parquet_text(path: str, name: str, kind: str) -> str:
    """A Parquet column as text: times in ISO 8601 UTC (to the nanosecond, as pandas would
    write them), the rest as ``scan._as_text``; InputError for a column of lists, structs or
    maps."""
    column = _identifier(name)
    if kind.endswith("]") or kind.startswith(("STRUCT", "MAP", "UNION")):
        raise InputError(
            path, f"column {name!r} holds {kind} values, not text, numbers or booleans"
        )
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if kind == "TIMESTAMP_NS":
        return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%nZ')"
    if kind.startswith("TIMESTAMP"):
        return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ')"
    return scan._as_text(column, kind)

"""twcs archives read by DuckDB itself: the plan's ``messages`` relation made in the engine,
the file never held in Python, so an archive may be larger than memory (DuckDB spills past its
``memory_limit``).

``load_twcs`` reads CSV files (plain, ``.gz`` or ``.zst``; glob patterns allowed) with
``read_csv`` and Parquet files in the twcs layout with ``read_parquet``. The rules are those
of ``socialbench.sources.twcs`` (the definition of reading twcs), written in SQL:

- ids trimmed, the fractional zeros of ids written as floats (``3.0``) dropped; an empty
  ``tweet_id`` or ``author_id`` is a bad row;
- ``inbound`` ``True``/``False`` in any case, anything else a bad row; authors of
  ``inbound=False`` rows are brand accounts (the plan adds the brand book's handles);
- ``created_at`` as ``Tue Oct 31 22:10:47 +0000 2017`` (``try_strptime``), else ISO 8601
  (the grammar of pandas' ISO 8601 parser, checked by a regular expression and built with
  ``make_timestamp``), in whole seconds; an offset from UTC with hours above 14 or minutes
  above 59 is refused by a regular expression (DuckDB's ``%z`` would shift the time by it);
  times outside 1677-09-22..2262-04-11 are refused;
- ``response_tweet_id`` ignored; an unnamed leading index column ignored; channel ``x``,
  surface ``public``.

Rows go, in file order and then in the order of the files, into the table ``_twcs_rows``
with a bitmask of their problems; ``messages`` is a view of its good rows whose ``seq`` is
the table's ``rowid``. DuckDB keeps the order of rows read from one table function when
``preserve_insertion_order`` is on (the engine's setting), so ``rowid`` is the row's place:
https://duckdb.org/docs/2.0/sql/dialect/order_preservation ("On materialized tables, the
rowid pseudo-column can be used"). ``seq`` therefore has gaps where bad rows were skipped.

Malformed CSV rows are found by DuckDB's strict CSV reader and kept in its rejects table
(``store_rejects``) with their byte offsets; line numbers are counted from those offsets,
and, for rows whose values are bad, by reading the file again with the ``csv`` module: both
only when something is wrong. A file whose line ends DuckDB's strict reader refuses
(bare carriage returns in unquoted text, which it reads as line ends, or CRLF and LF mixed)
is first copied with ``\\r\\n`` made ``\\n``, and, as ``sources.twcs`` rewrites a file with
bare carriage returns in memory, every other ``\\r`` a 0x1f byte that the text gets back.

Where the result differs from ``sources.twcs`` (``tests/test_scan.py`` holds each case):

- empty fields past the last column (``...,,``) are dropped, as DuckDB's reader drops them
  even in strict mode, where sources.twcs names a wrong number of fields; text after a
  closing quote (``"x"y``) is a bad row, where Arrow reads ``xy``;
- a leap second (``:60``) is unparseable, where Arrow carries it into the next minute;
  ``now`` and ``today`` are unparseable, where pandas reads the clock; ISO 8601 dates with
  mixed separators (``2017/10.31``) are read, and a year with a sign is read, then refused
  as outside the supported range;
- an ISO 8601 time outside the range is always named as outside it (sources.twcs names it
  unparseable when pandas gives up on the whole column), and an unparseable time is named
  once (sources.twcs names it a second time, as outside the range, when another time is);
- ``seq`` has gaps at skipped rows; a Parquet file's bad rows are named by record number.
"""

from __future__ import annotations

import csv
import glob
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from socialbench.errors import InputError, SocialbenchError, engine_write_failed, writing
from socialbench.sources.files import check_readable
from socialbench.sources.twcs import MAX_OFFSET_HOURS, REQUIRED, TWITTER_TIME

ROWS = "_twcs_rows"
# the problems of a row's values, one bit each, in the order sources.twcs reports them
PROBLEMS = (
    "empty tweet_id",
    "inbound is not True or False",
    "unparseable created_at timestamp",
    "created_at outside the supported range (1677-09-22 to 2262-04-11)",
    "empty author_id",
)
WRONG_FIELDS = "wrong number of fields (truncated or unquoted comma?)"
TRUNCATED = "truncated: a quoted field is never closed"
# what Arrow's utf8_trim_whitespace trims (sources.twcs trims ids, inbound and times with it)
WHITESPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE = (  # WHITESPACE as a character class of DuckDB's regular expressions (RE2)
    r"[\t-\r\x1c- \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}"
    r"\x{3000}]"
)
FLOAT_ZEROS = r"\.0+$"  # the fractional zeros of an id written as a float (3.0, 3.00)
LONE_CR = "\x1f"  # a bare \r of the file while DuckDB reads it (as in sources.twcs)
# whole seconds within int64 nanoseconds, as sources.twcs
LATEST_S = (2**63 - 1) // 1_000_000_000
_COMPRESSION = {".gz": "gzip", ".zst": "zstd"}
_BLOCK = 16 << 20
_HEADER_LIMIT = 1 << 20


def load_twcs(engine, paths: list[str], *, skip_bad_rows: bool, bad: Callable | None = None) -> int:
    """Make the engine's relation ``messages`` (``sources.messages.ARROW_SCHEMA``) from twcs
    files read by DuckDB; returns the number of messages.

    ``paths``: files or glob patterns (sorted matches), read in that order. A bad row raises
    ``InputError`` naming file and line, unless ``skip_bad_rows``: then it is left out and
    reported as ``bad(path, problem, line=...)`` (``sources.ReadOptions.bad``). ``engine``:
    a ``duck.DuckEngine`` (its connection ``con``)."""
    files = expand(paths)
    con = engine.con
    with loading(con, _CREATE_ROWS, ROWS):
        base = 0
        for number, path in enumerate(files):
            base += _load_file(con, _File(path, number, base), skip_bad_rows, bad)
        con.execute(_CREATE_VIEW)
    return _one(con, "SELECT count(*) FROM messages")[0]


@contextmanager
def loading(con, create_rows: str, rows: str) -> Iterator[None]:
    """Files read into the table ``rows`` (made by ``create_rows``) in the order of their
    rows: ``preserve_insertion_order`` on meanwhile, as it was after; ``rows`` and the view
    ``messages`` dropped when reading fails."""
    ordered = _one(con, "SELECT current_setting('preserve_insertion_order')")[0]
    con.execute(f"SET preserve_insertion_order = true; {create_rows}")
    try:
        yield
    except BaseException:
        con.execute(f"DROP VIEW IF EXISTS messages; DROP TABLE IF EXISTS {rows}")
        raise
    finally:
        con.execute(f"SET preserve_insertion_order = {str(ordered).lower()}")


def expand(paths: list[str]) -> list[str]:
    """Each path, or the sorted files a glob pattern matches; InputError for a pattern that
    matches nothing and for a missing, empty or folder path."""
    if not paths:
        raise InputError("(no files)", "no input files given")
    files = []
    for pattern in paths:
        found = [pattern]
        if glob.has_magic(pattern) and not os.path.isfile(pattern):
            found = sorted(f for f in glob.glob(pattern, recursive=True) if os.path.isfile(f))
            if not found:
                raise InputError(pattern, "no file matches this pattern")
        for path in found:
            check_readable(Path(path))
        files += found
    return files


_CREATE_ROWS = f"""
CREATE OR REPLACE TABLE {ROWS} (
    file INTEGER, id VARCHAR, parent_id VARCHAR, author VARCHAR, author_is_brand BOOLEAN,
    t BIGINT, text VARCHAR, problems UTINYINT)
"""
_CREATE_VIEW = f"""
CREATE OR REPLACE VIEW messages AS
SELECT rowid AS seq, id, parent_id, CAST(NULL AS VARCHAR) AS conversation_id, author,
       author_is_brand, t, text, 'x' AS channel, 'public' AS surface,
       CAST(NULL AS DOUBLE) AS followers, false AS automated, CAST(NULL AS VARCHAR) AS scenario,
       CAST(NULL AS VARCHAR) AS category, CAST(NULL AS VARCHAR) AS account
FROM {ROWS} WHERE problems = 0
"""


@dataclass
class _File:
    """One input file while it is read: ``base`` is the rowid of its first row; ``source``
    the file DuckDB reads (a copy without bare carriage returns, when one was needed)."""

    path: str
    number: int
    base: int
    source: str = ""
    restore_cr: bool = False
    refused: set[int] = field(default_factory=set)  # lines of rows DuckDB's reader refused
    temporary: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = self.source or self.path

    def compression(self) -> str:
        return _COMPRESSION.get(Path(self.source).suffix.lower(), "none")


def _load_file(con, file: _File, skip: bool, bad: Callable) -> int:
    """Read one file into the rows table; returns how many rows it added (bad ones too)."""
    if Path(file.path).suffix.lower() in (".parquet", ".parq"):
        return _load_parquet(con, file, skip, bad)
    try:
        return _load_csv(con, file, skip, bad)
    finally:
        for path in file.temporary:
            os.unlink(path)


# ------------------------------------------------------------------------------------ CSV


def _load_csv(con, file: _File, skip: bool, bad: Callable) -> int:
    header = _header(file)
    raw = {column: f"c{i}" for column, i in _positions(header, file.path).items()}
    rejects = f"_twcs_rejects_{file.number}"
    try:
        added = _insert_csv(con, file, len(header), raw, rejects)
        _report_rejects(con, file, rejects, skip, bad)
        if not file.restore_cr:
            _quoted_carriage_returns(con, file)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    width = len(header)

    def dropped(row: list[str], start: int) -> bool:
        """Refused, or not this wide (DuckDB drops empty fields past the last column)."""
        return len(row) < width or any(row[width:]) or start in file.refused

    _report_values(con, file, skip, bad, lambda rows: row_lines(file, rows, dropped))
    return added


def _insert_csv(con, file: _File, width: int, raw: dict[str, str], rejects: str) -> int:
    """Insert the rows DuckDB reads. A file whose line ends DuckDB's strict reader refuses
    (bare carriage returns, or CRLF and LF mixed: its error says "invalid state") is read
    again from a rewritten copy."""
    import duckdb

    try:
        return _insert_once(con, file, width, raw, rejects)
    except duckdb.Error as exc:
        if "invalid state" not in str(exc):
            raise _csv_error(file, str(exc)) from None
    _rewrite_line_ends(file)
    try:
        return _insert_once(con, file, width, raw, rejects)
    except duckdb.Error as exc:
        raise _csv_error(file, str(exc)) from None


def _insert_once(con, file: _File, width: int, raw: dict[str, str], rejects: str) -> int:
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    return _one(con, _insert_sql(file, _read_csv(file, width, rejects), raw))[0]


def _quoted_carriage_returns(con, file: _File) -> None:
    """A file DuckDB read as it is may still have bare carriage returns inside quoted text;
    sources.twcs then reads every ``\\r\\n`` as ``\\n``, in text too: so does this."""
    where = f"file = {file.number} AND contains(text, chr(13))"
    lone = "contains(replace(text, chr(13) || chr(10), ''), chr(13))"
    if _one(con, f"SELECT count(*) FILTER (WHERE {lone}) FROM {ROWS} WHERE {where}")[0]:
        con.execute(
            f"UPDATE {ROWS} SET text = replace(text, chr(13) || chr(10), chr(10)) WHERE {where}"
        )


def _read_csv(file: _File, width: int, rejects: str) -> str:
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    return (
        f"read_csv({_literal(file.source)}, auto_detect = false, header = true, delim = ',',"
        f" quote = '\"', escape = '\"', columns = {{{columns}}}, strict_mode = true,"
        f" compression = '{file.compression()}', store_rejects = true,"
        f" rejects_table = '{rejects}', rejects_scan = '{rejects}_scan')"
    )


def _csv_error(file: _File, message: str) -> SocialbenchError:
    if (failed := engine_write_failed(message)) is not None:  # its spill: a full disk
        return failed
    if "unicode" in message.lower() or "utf-8" in message.lower():
        found = _first_bad_utf8(file.source)
        if found is not None:
            return _utf8_error(file, *found)
    return InputError(file.path, f"not a readable CSV file: {_first_line(message)}")


def _first_line(exc: Exception | str) -> str:
    return str(exc).splitlines()[0]


def _header(file: _File) -> list[str]:
    """The header row's names, read as sources.twcs reads them (its first line, by the csv
    module); InputError for an empty file or an unreadable header."""
    head = b""
    for chunk in _chunks(file.path, _HEADER_LIMIT):
        head += chunk
        if b"\n" in chunk or len(head) >= _HEADER_LIMIT:
            break
    return header_names(
        file.path, head, lambda: not any(chunk.strip() for chunk in _chunks(file.path))
    )


def header_names(path: str, head: bytes, blank: Callable[[], bool]) -> list[str]:
    """The header row's names from the first bytes of a file (up to its first line end or
    ``_HEADER_LIMIT``, decompressed); ``blank()``: whether the whole file is whitespace,
    asked only when the first line is."""
    line = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if not line.strip():
        if blank():
            raise InputError(path, "the file is empty")
        raise InputError(path, "the first line is blank, not the twcs header row", line=1)
    try:
        return next(csv.reader([line.decode("utf-8", "replace").rstrip("\r")]))
    except csv.Error as exc:
        problem = str(exc).split(" - ")[0]
        raise InputError(path, f"the header row is not readable CSV ({problem})", line=1) from None


def _positions(names: list[str], path: str, line: int | None = 1) -> dict[str, int]:
    """The position of each twcs column among the header's names (an unnamed leading index
    column dropped, as sources.twcs does); InputError for duplicated or missing columns."""
    start = 1 if names and (names[0] == "" or names[0].startswith("Unnamed")) else 0
    kept = names[start:]
    twice = sorted({c for c in kept if kept.count(c) > 1})
    if twice:
        raise InputError(path, f"column(s) {', '.join(twice)} appear more than once", line=line)
    missing = [c for c in REQUIRED if c not in kept]
    if missing:
        raise InputError(
            path, f"missing column(s) {', '.join(missing)} for the twcs layout", line=line
        )
    return {c: start + kept.index(c) for c in REQUIRED}


# ---------------------------------------------------------------------------- the values


def _insert_sql(file: _File, scan: str, raw: dict[str, str]) -> str:
    """INSERT the rows of ``scan`` (raw twcs columns as text) with their cleaned values and
    the bitmask of their problems (bit i: PROBLEMS[i])."""
    text = f"coalesce({raw['text']}, '')"
    if file.restore_cr:
        text = f"replace({text}, chr(31), chr(13))"
    padded, trim = _padded([raw[c] for c in _TRIMMED]), _trim_padded
    trimmed = f"""
        SELECT {trim(raw["tweet_id"])} AS id, {trim(raw["in_response_to_tweet_id"])} AS parent,
               {trim(raw["author_id"])} AS author, lower({trim(raw["inbound"])}) AS inbound,
               {trim(raw["created_at"])} AS created, {text} AS text
        FROM (SELECT *, {padded} AS padded FROM {scan})"""
    cleaned = f"""
        SELECT {_float_zeros("id")} AS id, {_float_zeros("parent")} AS parent, author, inbound,
               created, text
        FROM ({trimmed})"""
    return f"""
        INSERT INTO {ROWS}
        SELECT {file.number}, id, nullif(parent, ''), author, inbound <> 'true',
               CASE WHEN {_in_range("secs")} THEN secs * 1000000000 END, text,
               CAST(id = '' AS UTINYINT)
               + 2 * CAST(inbound NOT IN ('true', 'false') AS UTINYINT)
               + 4 * CAST(secs IS NULL AS UTINYINT)
               + 8 * CAST(coalesce(NOT {_in_range("secs")}, false) AS UTINYINT)
               + 16 * CAST(author = '' AS UTINYINT)
        FROM ({_seconds_sql(cleaned)})"""


# the columns read trimmed of whitespace, as sources.twcs reads them
_TRIMMED = ("tweet_id", "in_response_to_tweet_id", "author_id", "inbound", "created_at")


def _padded(columns: list[str]) -> str:
    """Whether some of ``columns`` starts or ends with whitespace: one test of the row's
    values joined by 0x01 (a value holding 0x01 may give a false yes, which only costs a
    ``trim`` that changes nothing)."""
    joined = f"concat_ws(chr(1), {', '.join(columns)})"
    return f"regexp_matches({joined}, '(?:^|\\x01){_SPACE}|{_SPACE}(?:$|\\x01)')"


def _trim_padded(column: str) -> str:
    """Without the whitespace at either end, in a row ``padded`` says has some."""
    text = f"coalesce({column}, '')"
    return f"CASE WHEN padded THEN trim({text}, {_literal(WHITESPACE)}) ELSE {text} END"


def _trim(column: str) -> str:
    """Without the whitespace at either end (``trim``, given the characters, only where an
    end is whitespace: it is the slower test)."""
    text = f"coalesce({column}, '')"
    return (
        f"CASE WHEN regexp_matches({text}, '^{_SPACE}|{_SPACE}$')"
        f" THEN trim({text}, {_literal(WHITESPACE)}) ELSE {text} END"
    )


def _float_zeros(column: str) -> str:
    """An id without the fractional zeros of an id written as a float (``3.0``, ``3.00``)."""
    return (
        f"CASE WHEN contains({column}, '.0') "
        f"THEN regexp_replace({column}, {_literal(FLOAT_ZEROS)}, '') ELSE {column} END"
    )


def _in_range(secs: str) -> str:
    return f"{secs} BETWEEN {-LATEST_S} AND {LATEST_S}"


# Twitter-style times: Arrow's strptime (sources.twcs) also takes full day and month names,
# and Z for the offset. Each format is tried alone: given a list of formats, DuckDB's
# try_strptime moves an impossible day into the next month (Feb 30 as 2 March); alone, it
# refuses it, as sources.twcs does.
_TWITTER_FORMATS = [
    TWITTER_TIME.replace("%a", a).replace("%b", b) for a in ("%a", "%A") for b in ("%b", "%B")
] + [TWITTER_TIME.replace("%z", "Z")]
# a Twitter-style time whose offset from UTC is impossible (hours above 14, minutes above 59)
_TWITTER_IMPOSSIBLE = (
    r"^\S+ +\S+ +[0-9]+ [^+-]*[+-]((1[5-9]|[2-9][0-9])[0-9]{2}|[0-9]{2}[6-9][0-9]) +[0-9]+$"
)
assert MAX_OFFSET_HOURS == 14  # the expression above spells it out
# ISO 8601 as pandas' parser reads it, once compact dates and times have their separators:
# year[-month[-day[(T| )hour[:minute[:second[.fraction]]][ offset]]]]
_ISO = (
    r"^(-?[0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:[T ]([0-9]{1,2})(?::([0-9]{1,2})"
    r"(?::([0-9]{1,2})(?:\.[0-9]{0,18})?)?)?\s*(Z|[+-][0-9]{1,2}(?::?[0-9]{1,2})?)?)?)?)?$"
)
_ISO_PARTS = ["y", "mo", "d", "h", "mi", "s", "tz"]
_DATE = r"^(-?[0-9]{4})"
# the separators pandas allows in a date, and its compact forms (YYYYMMDD, hhmm[ss])
_ISO_SPELLINGS = (
    (_DATE + r"[./\\ ]([0-9]{1,2})[./\\ ]([0-9]{1,2})", r"\1-\2-\3"),
    (_DATE + r"[./\\ ]([0-9]{1,2})$", r"\1-\2"),
    (_DATE + r"([0-9]{2})([0-9]{2})([T ]|$)", r"\1-\2-\3\4"),
    (r"^([^T ]+[T ])([0-9]{2})([0-9]{2})([0-9]{2})", r"\1\2:\3:\4"),
    (r"^([^T ]+[T ])([0-9]{2})([0-9]{2})([^0-9:]|$)", r"\1\2:\3\4"),
)


def _seconds_sql(cleaned: str) -> str:
    """``cleaned`` with ``secs``: the time ``created`` as whole seconds since the epoch (UTC),
    NULL where it does not read as a possible time (a Twitter-style time's offset is checked
    only where it is not the usual ``+0000``)."""
    twitter = ", ".join(f"epoch_us(try_strptime(created, {_literal(f)}))" for f in _TWITTER_FORMATS)
    iso = "created"
    for pattern, replacement in _ISO_SPELLINGS:
        iso = f"regexp_replace({iso}, {_literal(pattern)}, {_literal(replacement)})"
    parsed = f"""
        SELECT *, CASE WHEN tw IS NOT NULL AND (created LIKE '% +0000 %' OR NOT
                                                 regexp_matches(created, '{_TWITTER_IMPOSSIBLE}'))
                       THEN tw // 1000000 END AS tw_secs,
                  CASE WHEN tw IS NULL THEN regexp_extract({iso}, '{_ISO}', {_ISO_PARTS}) END AS iso
        FROM (SELECT *, coalesce({twitter}) AS tw FROM ({cleaned}))"""
    return f"SELECT *, coalesce(tw_secs, {_iso_seconds('iso')}) AS secs FROM ({parsed})"


def _iso_seconds(iso: str) -> str:
    """Seconds since the epoch of the parts of an ISO 8601 time (a struct of ``_ISO_PARTS``,
    '' for a part not written); NULL where they make no possible time."""
    number = {p: f"TRY_CAST(nullif({iso}.{p}, '') AS INTEGER)" for p in _ISO_PARTS[:6]}
    valid = (
        f"{iso}.y <> ''"
        f" AND coalesce({number['h']}, 0) <= 23 AND coalesce({number['mi']}, 0) <= 59"
        f" AND coalesce({number['s']}, 0) <= 59"
        f" AND NOT ({iso}.mi = '' AND {iso}.h <> '' AND length({iso}.h) < 2)"
    )
    stamp = (
        f"try(make_timestamp({number['y']}, coalesce({number['mo']}, 1),"
        f" coalesce({number['d']}, 1), coalesce({number['h']}, 0),"
        f" coalesce({number['mi']}, 0), coalesce({number['s']}, 0)))"
    )
    return f"CASE WHEN {valid} THEN epoch_us({stamp}) // 1000000 - {_offset_seconds(iso)} END"


def _offset_seconds(iso: str, max_hours: int = MAX_OFFSET_HOURS) -> str:
    """The written offset from UTC in seconds: 0 for none or Z, NULL when impossible (hours
    above ``max_hours``, minutes above 59). As pandas reads it: ``+H``, ``+HH``, ``+HHMM``,
    ``+HH:MM``, ``+H:MM`` (without a colon the first two digits are the hours)."""
    digits = f"substr({iso}.tz, 2)"
    hours = (
        f"CAST(CASE WHEN contains({digits}, ':') THEN split_part({digits}, ':', 1)"
        f" ELSE left({digits}, 2) END AS INTEGER)"
    )
    minutes = (
        f"coalesce(TRY_CAST(nullif(CASE WHEN contains({digits}, ':')"
        f" THEN split_part({digits}, ':', 2) ELSE substr({digits}, 3) END, '') AS INTEGER), 0)"
    )
    sign = f"CASE WHEN left({iso}.tz, 1) = '-' THEN -1 ELSE 1 END"
    return (
        f"(CASE WHEN {iso}.tz IN ('', 'Z') THEN 0"
        f" WHEN {hours} <= {max_hours} AND {minutes} <= 59"
        f" THEN {sign} * ({hours} * 3600 + {minutes} * 60) END)"
    )


def _one(con, sql: str) -> tuple:
    """The one row of a query (fetched to the end: DuckDB then frees the connection)."""
    return con.execute(sql).fetchall()[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ------------------------------------------------------------------------------ reporting


def _report_rejects(con, file: _File, rejects: str, skip: bool, bad: Callable) -> None:
    """Rows DuckDB's reader refused: an unclosed quote and text that is not UTF-8 always
    raise (as in sources.twcs); the rest are bad rows."""
    found = con.execute(
        f"SELECT line_byte_position, any_value(error_type), any_value(csv_line) "
        f"FROM {rejects} GROUP BY line_byte_position ORDER BY line_byte_position"
    ).fetchall()
    if not found:
        return
    lines = _lines_at(file.source, [position for position, _, _ in found])
    file.refused = set(lines.values())
    for position, kind, text in found:
        if kind == "UNQUOTED VALUE" and (text or "").count('"') % 2:
            quote_line = lines[position] + text[: text.rfind('"')].count("\n")
            raise InputError(file.path, TRUNCATED, line=quote_line)
    if any(kind == "INVALID ENCODING" for _, kind, _ in found):
        utf8 = _first_bad_utf8(file.source)
        if utf8 is not None:
            raise _utf8_error(file, *utf8)
    for position, kind, _ in found:
        problem = _REJECTED.get(kind, f"not readable CSV ({kind.lower()})")
        _bad_row(file.path, problem, lines[position], skip, bad)


_REJECTED = {
    "MISSING COLUMNS": WRONG_FIELDS,
    "TOO MANY COLUMNS": WRONG_FIELDS,
    "UNQUOTED VALUE": "text after the closing quote of a quoted field",
    "LINE SIZE OVER MAXIMUM": "a row longer than DuckDB's maximum line size (an unclosed quote?)",
    "INVALID ENCODING": "text is not UTF-8",
}


def _utf8_error(file: _File, line: int, byte: int) -> InputError:
    return InputError(file.path, f"text is not UTF-8 (byte 0x{byte:02x})", line=line)


def _report_values(con, file: _File, skip: bool, bad: Callable, lines: Callable | None) -> None:
    """Rows whose values are bad, problem by problem as sources.twcs reports them: the first
    one raises, or, when skipping, each is reported. ``lines(rows)``: the line of each row
    (index in the file); ``None`` for a Parquet file, whose rows are named by record."""
    if skip:
        found = con.execute(
            f"SELECT rowid - {file.base}, problems FROM {ROWS} "
            f"WHERE file = {file.number} AND problems <> 0 ORDER BY rowid"
        ).fetchall()
        where = lines({row for row, _ in found}) if found and lines else {}
        for bit, problem in enumerate(PROBLEMS):
            for row, problems in found:
                if problems >> bit & 1:
                    _bad_value(file, problem, row, where.get(row), lines is None, bad)
        return
    firsts = ", ".join(
        f"min(rowid) FILTER (WHERE problems >> {bit} & 1 = 1)" for bit in range(len(PROBLEMS))
    )
    rows = _one(con, f"SELECT {firsts} FROM {ROWS} WHERE file = {file.number}")
    for problem, row in zip(PROBLEMS, rows, strict=True):
        if row is not None:
            row -= file.base
            if lines is None:
                raise InputError(file.path, problem, record=str(row + 1))
            raise InputError(file.path, problem, line=lines({row}).get(row))


def _bad_value(file: _File, problem, row: int, line, record: bool, bad: Callable) -> None:
    """Report a skipped row: by line, or (Parquet) as ``record N: problem``."""
    if record:
        bad(file.path, f"record {row + 1}: {problem}", line=None)
    else:
        bad(file.path, problem, line=line)


def _bad_row(path: str, problem: str, line: int | None, skip: bool, bad: Callable) -> None:
    if not skip:
        raise InputError(path, problem, line=line)
    bad(path, problem, line=line)


# ----------------------------------------------------------------------- the file's bytes


def _chunks(path: str, size: int | None = None) -> Iterator[bytes]:
    """The file's bytes, decompressed, in blocks of ``size`` (default ``_BLOCK``)."""
    size = size or _BLOCK
    kind = _COMPRESSION.get(Path(path).suffix.lower())
    if kind == "zstd":
        import pyarrow as pa

        opened = pa.input_stream(path, compression="zstd")
    elif kind == "gzip":
        import gzip

        opened = gzip.open(path, "rb")
    else:
        opened = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        while chunk := opened.read(size):
            yield chunk
    except (OSError, EOFError) as exc:
        raise InputError(path, f"cannot be decompressed: {exc}") from None
    finally:
        opened.close()


def _lines_at(path: str, positions: list[int]) -> dict[int, int]:
    """The line (1-based) holding each byte offset of the decompressed file."""
    lines, done, newlines = {}, 0, 0
    wanted = sorted(set(positions), reverse=True)
    for chunk in _chunks(path):
        while wanted and wanted[-1] < done + len(chunk):
            position = wanted.pop()
            lines[position] = newlines + chunk.count(b"\n", 0, position - done) + 1
        if not wanted:
            break
        done, newlines = done + len(chunk), newlines + chunk.count(b"\n")
    lines.update({position: newlines + 1 for position in wanted})
    return lines


def _first_bad_utf8(path: str) -> tuple[int, int] | None:
    """The line and value of the first byte that is not UTF-8, if any."""
    carry, newlines = b"", 0
    for chunk in _chunks(path):
        data = carry + chunk
        try:
            data.decode("utf-8")
            carry = b""
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data" or exc.end != len(data):
                return newlines + data.count(b"\n", 0, exc.start) + 1, data[exc.start]
            carry, data = data[exc.start :], data[: exc.start]
        newlines += data.count(b"\n")
    if carry:
        return newlines + 1, carry[0]
    return None


def _rewrite_line_ends(file: _File) -> None:
    """Copy the file for DuckDB (uncompressed, in the temporary folder) as sources.twcs reads
    it. With bare carriage returns: ``\\r\\n`` → ``\\n`` and any other ``\\r`` → 0x1f,
    given back to the text afterwards (sources.twcs rewrites the file so); without (CRLF and
    LF mixed): ``\\r\\n`` → ``\\n`` outside quoted fields only."""
    lone_cr = _has_lone_cr(file.path)
    handle, copy = tempfile.mkstemp(prefix="socialbench-twcs-", suffix=".csv")
    file.temporary.append(copy)
    with writing(copy), os.fdopen(handle, "wb") as out:  # a full disk: one line, exit 3
        carry, inside = b"", False
        for chunk in _chunks(file.path):
            data = carry + chunk
            carry = data[-1:] if data.endswith(b"\r") else b""
            data = data[: len(data) - len(carry)]
            if lone_cr:
                if LONE_CR.encode() in data:
                    raise InputError(
                        file.path, "contains both bare carriage returns and 0x1f bytes"
                    )
                out.write(data.replace(b"\r\n", b"\n").replace(b"\r", LONE_CR.encode()))
            else:
                out.write(_line_ends_outside_quotes(data, inside))
                inside ^= data.count(b'"') % 2 == 1
        out.write(carry.replace(b"\r", LONE_CR.encode()) if lone_cr else carry)
    file.source, file.restore_cr = copy, lone_cr


def _has_lone_cr(path: str) -> bool:
    """Whether the file has a carriage return not followed by a line feed."""
    carry = b""
    for chunk in _chunks(path):
        data = carry + chunk
        carry = data[-1:] if data.endswith(b"\r") else b""
        if b"\r" in data[: len(data) - len(carry)].replace(b"\r\n", b""):
            return True
    return bool(carry)


def _line_ends_outside_quotes(data: bytes, inside: bool) -> bytes:
    """``data`` with each ``\\r\\n`` outside quoted fields made ``\\n`` (``inside``: whether
    ``data`` starts within a quoted field)."""
    import numpy as np

    byte = np.frombuffer(data, dtype=np.uint8)
    crlf = np.flatnonzero((byte[:-1] == 13) & (byte[1:] == 10))
    if not len(crlf):
        return data
    quotes = np.flatnonzero(byte == ord('"'))
    quoted = (np.searchsorted(quotes, crlf) + inside) % 2 == 1
    keep = np.ones(len(byte), dtype=bool)
    keep[crlf[~quoted]] = False
    return byte[keep].tobytes()


def row_lines(
    file: _File, rows: set[int], dropped: Callable[[list[str], int], bool]
) -> dict[int, int]:
    """The line on which each of ``rows`` (indexes among the rows DuckDB kept) starts, read
    again with the csv module (slow; only for bad rows). ``dropped(row, line)``: whether
    DuckDB passed over the row starting on that line."""
    counter = [0]
    reader = csv.reader(_text_lines(file.source, counter))
    lines, index, last = {}, 0, max(rows)
    limit = csv.field_size_limit(_MAX_FIELD)
    try:
        next(reader, None)  # the header
        while index <= last:
            start = counter[0] + 1
            row = next(reader, None)
            if row is None:
                break
            if dropped(row, start):
                continue
            if index in rows:
                lines[index] = start
            index += 1
    except csv.Error:
        pass  # lines left unknown rather than a second error
    finally:
        csv.field_size_limit(limit)
    return lines


_MAX_FIELD = 1 << 30  # the longest field the csv module reads when finding lines


def _text_lines(path: str, counter: list[int]) -> Iterator[str]:
    """The decompressed file's lines (split at \\n only), decoded leniently, counted."""
    rest = b""
    for chunk in _chunks(path):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            counter[0] += 1
            yield part.decode("utf-8", "replace") + "\n"
    if rest:
        counter[0] += 1
        yield rest.decode("utf-8", "replace")


# -------------------------------------------------------------------------------- Parquet


def _load_parquet(con, file: _File, skip: bool, bad: Callable) -> int:
    """A Parquet file in the twcs layout: text, integer, float, boolean or timestamp
    columns, read as their text in a CSV export would be; bad rows are named by record."""
    import duckdb

    scan = f"read_parquet({_literal(file.path)})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        names = [name for name, *_ in described]
        kinds = [kind for _, kind, *_ in described]
        raw = {
            column: _as_text(_identifier(names[i]), kinds[i])
            for column, i in _positions(names, file.path, None).items()
        }
        added = _one(con, _insert_sql(file, scan, raw))[0]
    except duckdb.Error as exc:
        raise unreadable(file, exc, "Parquet file") from None
    _report_values(con, file, skip, bad, None)
    return added


def unreadable(file: _File, error: Exception, what: str) -> SocialbenchError:
    """The error of a file DuckDB could not read: a full disk under its spill (DiskFull),
    else InputError naming the file as not a readable ``what``."""
    failed = engine_write_failed(str(error))
    return failed or InputError(file.path, f"not a readable {what}: {_first_line(error)}")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_text(column: str, kind: str) -> str:
    """A Parquet column as the text a CSV export would hold: whole floats without their
    fraction (NaN as missing), times in ISO 8601 UTC. (NaN is found by its text: DuckDB 2.0
    answers isnan() false for the NaN of a Parquet column whose statistics leave it out.)"""
    if kind in ("FLOAT", "DOUBLE"):
        text = f"CAST({column} AS VARCHAR)"
        whole = f"CAST(TRY_CAST({column} AS HUGEINT) AS VARCHAR)"
        return (
            f"CASE WHEN {text} IN ('nan', '-nan') THEN NULL"
            f" WHEN {column} = trunc({column}) THEN coalesce({whole}, {text}) ELSE {text} END"
        )
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%SZ')"
    if kind.startswith("TIMESTAMP"):
        return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')"
    return f"CAST({column} AS VARCHAR)"

"""The twcs CSV layout of the public "Customer Support on Twitter" dataset.

Columns ``tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id``. Real quirks handled here:

- an optional leading unnamed index column (a pandas re-export);
- ``inbound`` as ``True``/``False`` in any case;
- ids written as floats (``3.0``, ``3.00``);
- ``response_tweet_id`` as a comma-separated list (ignored: the parent link
  ``in_response_to_tweet_id`` carries the same tree);
- rows out of time order; replies to tweets missing from the file (left to threading);
- CRLF line endings, and bare carriage returns inside (even unquoted) text, which are kept.

Timestamps are ``Tue Oct 31 22:10:47 +0000 2017`` or ISO 8601. A time that cannot be
read, names a day its month does not have (Feb 30), or has an offset from UTC beyond
±14:59 (hours above 14 or minutes above 59) is an unparseable row. Authors of
``inbound=False`` rows are brand accounts. Channel ``x``, surface ``public``.

Parsing is columnar (pyarrow's multi-threaded CSV reader and compute kernels), never a
Python loop over rows; line numbers are worked out only when a row is bad.
"""

from __future__ import annotations

import io
import mmap
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from socialbench.errors import InputError
from socialbench.sources import ReadOptions
from socialbench.sources import messages as m

NAME = "twcs"
DESCRIPTION = 'twcs CSV ("Customer Support on Twitter" layout)'

REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
UTC_SECONDS = pa.timestamp("s", tz="UTC")
# times are held as int64 nanoseconds (pandas): whole seconds within that range
_LATEST_S = (2**63 - 1) // 1_000_000_000
_LONE_CR = b"\x1f"  # stands in for a bare \r while parsing; restored afterwards
MAX_OFFSET_HOURS = 14  # the widest offset from UTC in use is +14:00


def sniff(head: str, path: Path) -> bool:
    header = head.split("\n", 1)[0].strip().lower()
    columns = [c.strip().strip('"') for c in header.split(",")]
    return "tweet_id" in columns and "inbound" in columns and "author_id" in columns


def read(path: Path, options: ReadOptions):
    source = _Source(path)
    table = _drop_index_column(_parse(source, options))
    _check_columns(table, path)
    cols, bad = _convert(table)
    if bad:
        _report_bad(source, bad, options)
    return _to_messages(cols, bad, restore_cr=source.restore_cr, options=options)


class _Source:
    """The file's bytes: memory-mapped and parsed in place, unless bare carriage returns must
    be rewritten first; a full copy is read only to explain an error with line numbers."""

    _BLOCK = 32 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        size = path.stat().st_size
        with open(path, "rb") as fh:
            self.map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self.start = 3 if self.map[:3] == b"\xef\xbb\xbf" else 0
        if self._blank():
            raise InputError(path, "the file is empty")
        self._raw: bytes | None = None
        self._quotes = None
        end = self.map.find(b"\n", self.start)
        self.header = bytes(self.map[self.start : end if end >= 0 else len(self.map)])

    @cached_property
    def restore_cr(self) -> bool:
        """Whether the file has bare carriage returns (more of them than CRLF pairs)."""
        return self.map.find(b"\r") >= 0 and self._count(b"\r") > self._count(b"\r\n")

    def count_quotes(self) -> None:
        """Count quotes on another thread (numpy releases the GIL) while Arrow parses."""
        counter = ThreadPoolExecutor(max_workers=1)
        self._quotes = counter.submit(self._count, b'"')
        counter.shutdown(wait=False)

    def check_quoting(self) -> None:
        """Refuse a file whose last quoted field is never closed (an odd number of quotes),
        which Arrow would read as one long field."""
        quotes = self._quotes.result() if self._quotes is not None else self._count(b'"')
        if quotes % 2:
            raw = self.bytes()
            line = raw.count(b"\n", 0, raw.rfind(b'"')) + 1
            raise InputError(self.path, "truncated: a quoted field is never closed", line=line)

    def _blank(self) -> bool:
        """Whether the file holds only whitespace, looked at block by block."""
        if self.map[self.start : self.start + 4096].strip():
            return False
        return not any(
            self.map[a : a + self._BLOCK].strip()
            for a in range(self.start, len(self.map), self._BLOCK)
        )

    def _count(self, needle: bytes) -> int:
        """Occurrences of a needle, block by block (no copy of the file). Blocks overlap by
        len(needle) - 1 bytes, so a needle across a boundary is counted once, in the block
        where it starts. A single byte is counted by numpy, in place."""
        step = self._BLOCK
        if len(needle) == 1 and len(self.map):
            import numpy as np

            data = np.frombuffer(self.map, dtype=np.uint8)
            return sum(
                int(np.count_nonzero(data[a : a + step] == needle[0]))
                for a in range(self.start, len(data), step)
            )
        return sum(
            self.map[a : a + step + len(needle) - 1].count(needle)
            for a in range(self.start, len(self.map), step)
        )

    def buffer(self) -> pa.Buffer:
        """What Arrow parses: the mapped file, or the rewritten bytes."""
        if self.restore_cr:
            return pa.py_buffer(self.bytes())
        return pa.py_buffer(self.map)[self.start :]

    def bytes(self) -> bytes:
        """The whole file (BOM dropped, bare carriage returns replaced as when parsing),
        read once."""
        if self._raw is None:
            raw = self.path.read_bytes()[self.start :]
            if self.restore_cr:
                if _LONE_CR in raw:
                    raise InputError(
                        self.path, "contains both bare carriage returns and 0x1f bytes"
                    )
                raw = raw.replace(b"\r\n", b"\n").replace(b"\r", _LONE_CR)
            self._raw = raw
        return self._raw


def _parse(source: _Source, options: ReadOptions) -> pa.Table:
    invalid: list[str] = []

    def on_invalid(row) -> str:
        invalid.append(row.text)
        return "skip"

    header = _header(source)
    _check_utf8(source)
    source.count_quotes()
    try:
        table = pcsv.read_csv(
            pa.BufferReader(source.buffer()),
            parse_options=pcsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                include_columns=[name for name in header if name != "response_tweet_id"],
            ),
            read_options=pcsv.ReadOptions(block_size=_block_size(source)),
        )
    except pa.ArrowInvalid as exc:
        source.check_quoting()
        raise _arrow_error(source, exc) from None
    source.check_quoting()
    if invalid:
        raw = source.bytes()
        for text in invalid:
            at = max(raw.find(text.encode("utf-8", "replace")), 0)
            line = raw.count(b"\n", 0, at) + 1
            options.bad(
                source.path, "wrong number of fields (truncated or unquoted comma?)", line=line
            )
    return table


def _check_utf8(source: _Source) -> None:
    """Refuse non-UTF-8 text before Arrow parses: Arrow hands a short row's undecodable bytes
    to the invalid-row handler, whose UnicodeDecodeError it can only print ("Exception
    ignored"). Validated in place, as one Arrow string over the whole buffer."""
    import numpy as np

    data = source.buffer()
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, data).validate(full=True)
    except pa.ArrowInvalid as exc:
        raise _arrow_error(source, exc) from None


def _block_size(source: _Source) -> int:
    """Blocks of a few MB or more: few enough chunks that later takes stay cheap."""
    return max(1 << 20, min(64 << 20, len(source.map) // 8))


def _header(source: _Source) -> list[str]:
    import csv

    try:
        return next(csv.reader([source.header.decode("utf-8", "replace").rstrip("\r")]))
    except csv.Error as exc:  # e.g. a file whose lines end in bare carriage returns
        problem = str(exc).split(" - ")[0]
        raise InputError(
            source.path, f"the header row is not readable CSV ({problem})", line=1
        ) from None


def _arrow_error(source: _Source, exc: Exception) -> InputError:
    raw = source.bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = raw.count(b"\n", 0, bad.start) + 1
        return InputError(
            source.path, f"text is not UTF-8 (byte 0x{raw[bad.start]:02x})", line=line
        )
    return InputError(source.path, f"not a readable CSV file: {exc}")


def _drop_index_column(table: pa.Table) -> pa.Table:
    first = table.column_names[0] if table.column_names else None
    if first is not None and (first == "" or first.startswith("Unnamed")):
        return table.drop_columns([first])
    return table


def _check_columns(table: pa.Table, path: Path) -> None:
    names = table.column_names
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise InputError(path, f"column(s) {', '.join(twice)} appear more than once", line=1)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(
            path, f"missing column(s) {', '.join(missing)} for the twcs layout", line=1
        )


def _clean_id(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trimmed ids, without the fractional zeros of ids written as floats (``3.0``, ``3.00``)."""
    trimmed = pc.utf8_trim_whitespace(column)
    if not pc.any(pc.match_substring(trimmed, ".0")).as_py():
        return trimmed
    return pc.replace_substring_regex(trimmed, pattern=r"\.0+$", replacement="")


def _convert(table: pa.Table) -> tuple[dict[str, pa.ChunkedArray], dict[str, pa.Array]]:
    """Typed columns plus, per problem, a boolean mask of the rows that have it.

    Times are parsed on a second thread meanwhile (Arrow's kernels release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        times = pool.submit(lambda: _parse_times(pc.utf8_trim_whitespace(table["created_at"])))
        tweet_id = _clean_id(table["tweet_id"])
        parent = _clean_id(table["in_response_to_tweet_id"])
        inbound_text = pc.utf8_lower(pc.utf8_trim_whitespace(table["inbound"]))
        author = pc.utf8_trim_whitespace(table["author_id"])
        created = times.result()
    cols = {
        "id": tweet_id,
        "parent": parent,
        "author": author,
        "inbound": pc.equal(inbound_text, "true"),
        "created": created,
        "text": table["text"],
    }
    bad = {
        "empty tweet_id": pc.equal(tweet_id, ""),
        "inbound is not True or False": pc.invert(
            pc.is_in(inbound_text, pa.array(["true", "false"]))
        ),
        "unparseable created_at timestamp": pc.is_null(created),
        "created_at outside the supported range (1677-09-22 to 2262-04-11)": pc.or_(
            pc.less(created, pa.scalar(-_LATEST_S, UTC_SECONDS)),
            pc.greater(created, pa.scalar(_LATEST_S, UTC_SECONDS)),
        ),
        "empty author_id": pc.equal(cols["author"], ""),
    }
    return cols, {k: v for k, v in bad.items() if pc.any(v).as_py()}


def _parse_times(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Twitter-style times, else ISO 8601; null where neither reads as a possible time."""
    twitter = _twitter_times(text)
    if twitter.null_count == 0:
        return twitter
    return pc.coalesce(twitter, _iso_times(text))


# a Twitter-style time's day of the month and its offset from UTC
_DAY_AND_OFFSET = (
    r"^\S+ +\S+ +(?P<day>[0-9]+) [^+-]*(?P<sign>[+-])(?P<hh>[0-9]{2})(?P<mm>[0-9]{2}) +[0-9]+$"
)
# an ISO 8601 time's offset from UTC, after the time of day: +05, +0500, +05:00
_ISO_OFFSET = r"[T ][0-9:.]*[0-9] ?(?P<sign>[+-])(?P<hh>[0-9]{1,2})(?::?(?P<mm>[0-9]{2}))?$"


def _twitter_times(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """``Tue Oct 31 22:10:47 +0000 2017`` times read by Arrow's strptime, null where a time
    does not read, names a day its month lacks, or has an impossible offset."""
    parsed = pc.strptime(text, format=TWITTER_TIME, unit="s", error_is_null=True)
    parts = pc.extract_regex(text, _DAY_AND_OFFSET)
    return _offset_possible(parts, _written_day_kept(parts, pc.cast(parsed, UTC_SECONDS)))


def _iso_times(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO 8601 times read by pandas, null where a time does not read or has an impossible
    offset."""
    import pandas as pd

    iso = pd.to_datetime(text.to_pandas(), format="ISO8601", utc=True, errors="coerce")
    times = pa.chunked_array([pa.array(iso.dt.as_unit("s"), type=UTC_SECONDS)])
    return _offset_possible(pc.extract_regex(text, _ISO_OFFSET), times)


def _written_day_kept(parts: pa.ChunkedArray, parsed: pa.ChunkedArray) -> pa.ChunkedArray:
    """Arrow's strptime moves an impossible date into the next month (Feb 30 becomes
    2 March): a time whose day of the month, at its own offset, is not the day written is
    made null, so the row is reported as unparseable."""
    sign = pc.if_else(pc.equal(pc.struct_field(parts, ["sign"]), "-"), -1, 1)
    offset = pc.multiply(
        sign, pc.add(pc.multiply(_number(parts, "hh"), 3600), pc.multiply(_number(parts, "mm"), 60))
    )
    local = pc.add(pc.cast(parsed, pa.int64()), offset)
    day = pc.day(pc.cast(local, pa.timestamp("s")))
    return _null_where(pc.not_equal(day, _number(parts, "day")), parsed)


def _offset_possible(parts: pa.ChunkedArray, times: pa.ChunkedArray) -> pa.ChunkedArray:
    """Null where the written offset from UTC is impossible (hours above 14 or minutes above
    59), rather than a time shifted by it."""
    hours, minutes = _number(parts, "hh"), _number(parts, "mm")
    impossible = pc.or_kleene(pc.greater(hours, MAX_OFFSET_HOURS), pc.greater(minutes, 59))
    return _null_where(impossible, times)


def _number(parts: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """One group of a regular-expression match as an integer (null where it matched
    nothing)."""
    text = pc.struct_field(parts, [name])
    return pc.cast(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), pa.int64())


def _null_where(mask: pa.ChunkedArray, times: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.fill_null(mask, False), pa.scalar(None, times.type), times)


def _report_bad(source: _Source, bad, options) -> None:
    """Name the first bad row (or, when skipping, every one) with its line number."""
    path = source.path
    lines = _row_lines(source.bytes())
    for problem, mask in bad.items():
        rows = pc.indices_nonzero(pc.fill_null(mask, True)).to_pylist()
        for row in rows if options.skip_bad_rows else rows[:1]:
            line = lines[row] if row < len(lines) else None
            options.bad(path, problem, line=line)


def _row_lines(raw: bytes) -> list[int]:
    """The line on which each row of the table starts. Blank lines and rows with the wrong
    number of fields are left out, as Arrow's reader leaves them out (slow path: read by
    the csv module, only when some row is bad)."""
    import csv

    reader = csv.reader(io.StringIO(raw.decode("utf-8", "replace"), newline=""))
    width = len(next(reader, []))
    starts = []
    line = reader.line_num + 1
    for row in reader:
        if len(row) == width:
            starts.append(line)
        line = reader.line_num + 1
    return starts


def _to_messages(table, bad, *, restore_cr: bool, options: ReadOptions):
    import pandas as pd

    keep = None
    for mask in bad.values():
        keep = pc.fill_null(mask, True) if keep is None else pc.or_(keep, pc.fill_null(mask, True))
    cols = table if keep is None else {k: pc.filter(v, pc.invert(keep)) for k, v in table.items()}
    text = cols["text"]
    if restore_cr:
        text = pc.replace_substring(text, pattern=_LONE_CR.decode(), replacement="\r")
    author = cols["author"]
    is_brand = pc.invert(cols["inbound"])
    if options.brand_handles:
        listed = pc.is_in(pc.utf8_lower(author), pa.array(sorted(options.brand_handles)))
        is_brand = pc.or_(is_brand, listed)
    frame = pd.DataFrame(
        {
            m.ID: _strings(cols["id"]),
            m.PARENT_ID: _strings(cols["parent"]),  # normalize makes empty ones missing
            m.AUTHOR: _strings(author),
            m.AUTHOR_IS_BRAND: is_brand.to_pandas(),
            m.CREATED_AT: cols["created"].to_pandas(),
            m.TEXT: _strings(text),
            m.CHANNEL: m.constant("x", len(author)),
            m.SURFACE: m.constant(m.PUBLIC, len(author)),
        },
        copy=False,  # the columns are this table's own
    )
    return m.normalize(frame)


def _strings(column: pa.ChunkedArray):
    """An Arrow string column as a pandas string Series without copying."""
    import pandas as pd

    return pd.Series(pd.arrays.ArrowStringArray(column))

"""The twcs CSV layout of the public "Customer Support on Twitter" dataset.

Columns ``tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id``. Real quirks handled here:

- an optional leading unnamed index column (a pandas re-export);
- ``inbound`` as ``True``/``False`` in any case;
- ids written as floats (``3.0``);
- ``response_tweet_id`` as a comma-separated list (ignored: the parent link
  ``in_response_to_tweet_id`` carries the same tree);
- rows out of time order; replies to tweets missing from the file (left to threading);
- CRLF line endings, and bare carriage returns inside (even unquoted) text, which are kept.

Timestamps are ``Tue Oct 31 22:10:47 +0000 2017`` or ISO 8601. Authors of ``inbound=False``
rows are brand accounts. Channel ``x``, surface ``public``.

Parsing is columnar (pyarrow's multi-threaded CSV reader and compute kernels), never a
Python loop over rows; line numbers are worked out only when a row is bad.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from socialbench import arrowtext, fasttime
from socialbench import messages as m
from socialbench.errors import InputError
from socialbench.sources import ReadOptions
from socialbench.sources.twcs_file import _LONE_CR, sniff  # noqa: F401 - the source's sniff
from socialbench.sources.twcs_file import Source as _Source
from socialbench.sources.twcs_file import early as _early
from socialbench.sources.twcs_file import identity as _identity
from socialbench.sources.twcs_file import read_plain as _read_plain

NAME = "twcs"
DESCRIPTION = 'twcs CSV ("Customer Support on Twitter" layout)'

REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
# times are held as int64 nanoseconds (pandas): whole seconds within that range
_LATEST = pa.scalar((2**63 - 1) // 1_000_000_000, pa.timestamp("s", tz="UTC"))
_EARLIEST = pa.scalar(-((2**63 - 1) // 1_000_000_000), pa.timestamp("s", tz="UTC"))


def read(path: Path, options: ReadOptions):
    early = _early.pop(_identity(path), None) if _early else None
    if early is not None:
        source, plain = None, early.result()
    else:
        source = _Source(path)
        plain = _read_plain(source)
    if plain is not None:
        return _to_messages(plain, {}, restore_cr=False, options=options)
    source = source or _Source(path)
    table = _parse(source, options)
    table = _drop_index_column(table)
    _check_columns(table, path)
    table, bad = _convert(table)
    if bad:
        _report_bad(source, table, bad, options)
    return _to_messages(table, bad, restore_cr=source.restore_cr, options=options)


def _parse(source: _Source, options: ReadOptions) -> pa.Table:
    invalid: list[str] = []

    def on_invalid(row) -> str:
        invalid.append(row.text)
        return "skip"

    header = _header(source)
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
    """Trimmed ids, with the ``.0`` of ids written as floats removed."""
    cut = arrowtext.cut_suffix(arrowtext.trim_whitespace(column), ".0")
    if not pc.any(pc.ends_with(cut, ".0")).as_py():
        return cut
    return pc.replace_substring_regex(cut, pattern=r"\.0+$", replacement="")


def _convert(table: pa.Table) -> tuple[dict[str, pa.ChunkedArray], dict[str, pa.Array]]:
    """Typed columns plus, per problem, a boolean mask of the rows that have it.

    Times are parsed on a second thread meanwhile (numpy and Arrow release the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        times = pool.submit(lambda: _parse_times(arrowtext.trim_whitespace(table["created_at"])))
        tweet_id = _clean_id(table["tweet_id"])
        parent = _clean_id(table["in_response_to_tweet_id"])
        inbound_text = pc.utf8_lower(arrowtext.trim_whitespace(table["inbound"]))
        author = arrowtext.trim_whitespace(table["author_id"])
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
            pc.less(created, _EARLIEST), pc.greater(created, _LATEST)
        ),
        "empty author_id": pc.equal(cols["author"], ""),
    }
    return cols, {k: v for k, v in bad.items() if pc.any(v).as_py()}


def _parse_times(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Twitter-style times (fast path), else ISO 8601; null where neither parses."""
    fast = fasttime.parse_twitter(text)
    if fast is not None and fast[1].all():
        return pa.chunked_array([pa.array(fast[0]).cast(pa.timestamp("s", tz="UTC"))])
    twitter = _written_day_kept(
        text, pc.strptime(text, format=TWITTER_TIME, unit="s", error_is_null=True)
    )
    if twitter.null_count == 0:
        return twitter
    import pandas as pd

    iso = pd.to_datetime(pd.Series(text.to_pandas()), format="ISO8601", utc=True, errors="coerce")
    fallback = pa.chunked_array([pa.array(iso.dt.as_unit("s"), type=pa.timestamp("s", tz="UTC"))])
    return pc.coalesce(pc.cast(twitter, pa.timestamp("s", tz="UTC")), fallback)


# a Twitter-style time's day of the month and its offset from UTC
_DAY_AND_OFFSET = (
    r"^\S+ +\S+ +(?P<day>[0-9]+) .*(?P<sign>[+-])(?P<hh>[0-9]{2})(?P<mm>[0-9]{2}) +[0-9]+$"
)


def _written_day_kept(text: pa.ChunkedArray, parsed: pa.ChunkedArray) -> pa.ChunkedArray:
    """Arrow's strptime moves an impossible date into the next month (Feb 30 becomes
    2 March): a time whose day of the month, at its own offset, is not the day written is
    made null, so the row is reported as unparseable."""
    parts = pc.extract_regex(text, _DAY_AND_OFFSET)

    def number(name: str):
        return pc.cast(pc.struct_field(parts, [name]), pa.int64())

    sign = pc.if_else(pc.equal(pc.struct_field(parts, ["sign"]), "-"), -1, 1)
    offset = pc.multiply(
        sign, pc.add(pc.multiply(number("hh"), 3600), pc.multiply(number("mm"), 60))
    )
    local = pc.add(pc.cast(parsed.cast(pa.timestamp("s", tz="UTC")), pa.int64()), offset)
    day = pc.day(pc.cast(local, pa.timestamp("s")))
    moved = pc.fill_null(pc.not_equal(day, number("day")), False)
    return pc.if_else(moved, pa.scalar(None, parsed.type), parsed)


def _report_bad(source: _Source, table, bad, options) -> None:
    """Name the first bad row (or, when skipping, every one) with its line number."""
    path = source.path
    lines = _row_lines(source.bytes())
    for problem, mask in bad.items():
        rows = pc.indices_nonzero(pc.fill_null(mask, True)).to_pylist()
        for row in rows if options.skip_bad_rows else rows[:1]:
            line = lines[row] if row < len(lines) else None
            options.bad(path, problem, line=line)


def _row_lines(raw: bytes) -> list[int]:
    """The line number on which each data row starts (slow path: only for bad rows)."""
    import csv

    reader = csv.reader(io.StringIO(raw.decode("utf-8", "replace"), newline=""))
    next(reader, None)
    starts = []
    line = reader.line_num + 1
    for _ in reader:
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

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
import mmap
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from socialbench import arrowtext, fasttime
from socialbench import messages as m
from socialbench.errors import InputError
from socialbench.sources import ReadOptions

NAME = "twcs"
DESCRIPTION = 'twcs CSV ("Customer Support on Twitter" layout)'

REQUIRED = ("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id")
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
# times are held as int64 nanoseconds (pandas): whole seconds within that range
_LATEST = pa.scalar((2**63 - 1) // 1_000_000_000, pa.timestamp("s", tz="UTC"))
_EARLIEST = pa.scalar(-((2**63 - 1) // 1_000_000_000), pa.timestamp("s", tz="UTC"))
_LONE_CR = b"\x1f"  # stands in for a bare \r while parsing; restored afterwards


def sniff(head: str, path: Path) -> bool:
    header = head.split("\n", 1)[0].strip().lower()
    columns = [c.strip().strip('"') for c in header.split(",")]
    return "tweet_id" in columns and "inbound" in columns and "author_id" in columns


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


# files whose reading started early (``reading_early``): identity -> its plain columns, or
# None when the compiled reader declined it or the file could not be read (``read`` then
# reads it again in full, and names any problem)
_early: dict[tuple, Future] = {}


@contextmanager
def reading_early(paths: list[Path]):
    """Start reading these twcs files with the compiled reader on another thread, at once
    (before pandas is even imported: the reader needs neither it nor the GIL); ``read``
    takes each result. Results not taken are dropped when the block ends."""
    wanted: dict[tuple, Future] = {}
    for path in paths:
        try:
            wanted[_identity(path)] = Future()
        except OSError:
            continue
    _early.update(wanted)

    ready = threading.Event()

    def work() -> None:
        try:
            from socialbench.kernels import twcs

            twcs.warm()
        finally:
            ready.set()
        for key, future in wanted.items():
            try:
                future.set_result(_read_plain(_Source(Path(key[0]))))
            except Exception:  # noqa: BLE001 - read() reads the file again and says what is wrong
                future.set_result(None)

    if wanted:
        threading.Thread(target=work, name="early-read", daemon=True).start()
        # numba and the reader load faster alone: the caller's imports wait till then (the
        # reading itself runs beside them, without the GIL)
        ready.wait()
    try:
        yield
    finally:
        for key in wanted:
            _early.pop(key, None)


def _identity(path: Path) -> tuple:
    """A file as the same file: its path and its size and change time (so that a file
    rewritten meanwhile is read again)."""
    stat = os.stat(path)
    return (os.fspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


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
        """Whether the file holds only whitespace (a first small block settles most files
        without copying much)."""
        first = self.map[self.start : self.start + 4096]
        if first.strip():
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

    def buffer(self):
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


def _read_plain(source: _Source) -> dict[str, pa.ChunkedArray] | None:
    """The typed columns of a file in the plain form of the layout, read by the compiled
    reader (``kernels.twcs``); None for any other file, which ``_parse`` reads."""
    line = source.header[:-1] if source.header.endswith(b"\r") else source.header
    if b'"' in line or b"\r" in line or len(source.map) <= source.start + len(source.header):
        return None
    try:
        header = line.decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    from socialbench.kernels import twcs  # numba: loaded only where archives are read

    data = np.frombuffer(source.map, dtype=np.uint8)
    _, _, read = twcs.parse(data, source.start + len(source.header) + 1, header)
    if read is None:
        return None
    return {
        "id": read.id,
        "parent": read.parent,
        "author": read.author,
        "inbound": pa.chunked_array([pa.array(read.inbound)]),
        "created": pa.chunked_array([_timestamps(read.nanoseconds)]),
        "text": read.text,
    }


def _timestamps(ns: np.ndarray) -> pa.Array:
    """Epoch nanoseconds as Arrow UTC timestamps, without a copy."""
    kind = pa.timestamp("ns", tz="UTC")
    return pa.Array.from_buffers(kind, len(ns), [None, pa.py_buffer(ns)])


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
    twitter = pc.strptime(text, format=TWITTER_TIME, unit="s", error_is_null=True)
    if twitter.null_count == 0:
        return twitter
    import pandas as pd

    iso = pd.to_datetime(pd.Series(text.to_pandas()), format="ISO8601", utc=True, errors="coerce")
    fallback = pa.chunked_array([pa.array(iso.dt.as_unit("s"), type=pa.timestamp("s", tz="UTC"))])
    return pc.coalesce(pc.cast(twitter, pa.timestamp("s", tz="UTC")), fallback)


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

"""A twcs file's bytes, and its reading by the compiled reader (``kernels.twcs``).

Apart from ``sources.twcs`` (the general reader: Arrow's CSV reader and compute kernels),
so that the CLI can start reading a file before it imports those, or pandas: importing on
two threads at once makes both slow (they share the GIL), and numba, which the compiled
reader needs, loads in half the time alone.
"""

from __future__ import annotations

import mmap
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

from socialbench.errors import InputError

_LONE_CR = b"\x1f"  # stands in for a bare \r while parsing; restored afterwards


def sniff(head: str, path: Path) -> bool:
    header = head.split("\n", 1)[0].strip().lower()
    columns = [c.strip().strip('"') for c in header.split(",")]
    return "tweet_id" in columns and "inbound" in columns and "author_id" in columns


# files whose reading started early (``reading_early``): identity -> its plain columns, or
# None when the compiled reader declined it or the file could not be read (``twcs.read``
# then reads it again in full, and names any problem)
early: dict[tuple, Future] = {}


@contextmanager
def reading_early(paths: list[Path]):
    """Start reading these twcs files with the compiled reader on another thread, at once
    (before pandas is even imported: the reader needs neither it nor the GIL);
    ``twcs.read`` takes each result. Results not taken are dropped when the block ends."""
    wanted: dict[tuple, Future] = {}
    for path in paths:
        try:
            wanted[identity(path)] = Future()
        except OSError:
            continue
    early.update(wanted)

    ready = threading.Event()

    def work() -> None:
        try:
            from socialbench.kernels import twcs

            twcs.warm()
        finally:
            ready.set()
        for key, future in wanted.items():
            try:
                future.set_result(read_plain(Source(Path(key[0]))))
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
            early.pop(key, None)


def identity(path: Path) -> tuple:
    """A file as the same file: its path and its size and change time (so that a file
    rewritten meanwhile is read again)."""
    stat = os.stat(path)
    return (os.fspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


class Source:
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


def read_plain(source: Source) -> dict[str, pa.ChunkedArray] | None:
    """The typed columns of a file in the plain form of the layout, read by the compiled
    reader (``kernels.twcs``); None for any other file, which ``twcs._parse`` reads."""
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

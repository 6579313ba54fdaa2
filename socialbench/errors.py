"""Domain errors. Core code raises these; only cli.py turns them into exit codes."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SocialbenchError(Exception):
    """Base of every error socialbench reports to a user as one readable message."""

    exit_code = 2


class UsageError(SocialbenchError):
    """Raised when options or their values are invalid (a bad duration, an unknown format)."""


class InputError(SocialbenchError):
    """Raised when an input file is missing, unreadable or malformed.

    The message names the file and, when known, the line (1-based) or record and the field.
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.record is not None:
            where += f": record {self.record}"
        if self.field is not None:
            where += f": {self.field}"
        return f"{where}: {self.problem}"


class ConfigError(SocialbenchError):
    """Raised when a configuration file (brands, support hours) is invalid."""


class EngineUnavailable(SocialbenchError):
    """Raised when the engine asked for cannot run: its library or runtime is missing (pyspark,
    Java) or its cluster cannot be reached (a Spark master, a Spark Connect server)."""

    exit_code = 3


class WriteFailed(SocialbenchError):
    """Raised when a file socialbench writes cannot be written (a folder that is not
    writable, a path that is a folder). Names the file; nothing half-written is left in its
    place (the previous file, if any, stays as it was)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {self.describe(reason)}")

    @staticmethod
    def describe(reason: str) -> str:
        return f"cannot write ({reason})"


class DiskFull(WriteFailed):
    """Raised when a write fails for want of room: the disk or the user's quota is full, or
    the file would pass the largest size allowed (ENOSPC, EDQUOT, EFBIG; SQLite's "database
    or disk is full"), or the disk fails (EIO). The platform is at fault, not the input."""

    exit_code = 3

    @staticmethod
    def describe(reason: str) -> str:
        return f"the disk is full ({reason})"


class DiskFailed(WriteFailed):
    """Raised when the disk reports an input/output error (EIO, SQLite's disk I/O error)
    while socialbench writes."""

    exit_code = 3

    @staticmethod
    def describe(reason: str) -> str:
        return f"the disk failed or is full ({reason})"


NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)  # Arrow's OSErrors carry none


def write_failed(path: str | Path, error: OSError) -> WriteFailed:
    """The WriteFailed (DiskFull, DiskFailed) that an OSError raised writing ``path`` means."""
    code = error.errno
    if code is None and (found := _ERRNO_IN_TEXT.search(str(error))):
        code = int(found.group(1))
    reason = os.strerror(code) if code is not None else str(error) or type(error).__name__
    if code in NO_ROOM:
        return DiskFull(path, reason)
    if code == errno.EIO:
        return DiskFailed(path, reason)
    return WriteFailed(path, reason)


# how DuckDB says a file of its own (a table spilled past --memory-limit) could not be written
_ENGINE_WRITE = re.compile(r'Could not write (?:to )?file "(?P<path>[^"]+)": (?P<reason>[^\n]+)')
_REASONS = {os.strerror(code): code for code in (*NO_ROOM, errno.EIO)}


def engine_write_failed(message: str) -> WriteFailed | None:
    """The WriteFailed an engine's error message means, when it says a file (DuckDB's spill
    to ``--temp-dir``) could not be written: a full disk is DiskFull (exit code 3)."""
    found = _ENGINE_WRITE.search(message)
    if found is None:
        return None
    reason = found.group("reason").strip()
    code = _REASONS.get(reason)
    if code is None:
        return WriteFailed(found.group("path"), reason)
    return write_failed(found.group("path"), OSError(code, reason))


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an OSError raised inside into ``write_failed(path, error)``."""
    try:
        yield
    except WriteFailed:
        raise
    except OSError as error:
        raise write_failed(path, error) from None

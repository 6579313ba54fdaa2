"""Domain errors. Core code raises these; only cli.py turns them into exit codes."""

from __future__ import annotations

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

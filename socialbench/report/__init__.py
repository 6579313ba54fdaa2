"""Reports of a run: one Report object, one renderer module per format, registered here.

Each renderer module has ``EXTENSION`` and ``write(report, path) -> Path`` (a file, or a
folder for csv). A new format is one module plus one line in FORMATS.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from socialbench.errors import UsageError
from socialbench.report.model import Message, Report, load

FORMATS = {
    "html": "socialbench.report.html",
    "md": "socialbench.report.markdown",
    "json": "socialbench.report.json_format",
    "csv": "socialbench.report.csv_format",
}
DEFAULT_NAMES = {
    "html": "report.html",
    "md": "report.md",
    "json": "report.json",
    "csv": "report-csv",
}

__all__ = ["FORMATS", "Message", "Report", "load", "parse_formats", "write"]


def parse_formats(text: str) -> list[str]:
    """``html,md`` -> ["html", "md"]; unknown names are a usage error."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise UsageError(
            f"--report: {', '.join(unknown) or repr(text)} is not a report format; "
            f"formats: {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(names))


def write(report: Report, fmt: str, path: Path | None = None) -> Path:
    """Render ``report`` as ``fmt`` into ``path`` (default: beside the run's files)."""
    module = importlib.import_module(FORMATS[fmt])
    target = path if path is not None else report.directory / DEFAULT_NAMES[fmt]
    return module.write(report, target)

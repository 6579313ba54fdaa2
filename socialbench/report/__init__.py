"""A run in, every rendering of it out: its files (``output``: probes.csv and summary.json),
the terminal summary (``terminal``), the reports (one renderer module per format,
registered here, over one ``Report`` object: ``model``) and a check's verdict on a terminal
or in a CI step summary (``verdict_terminal``, ``verdict_markdown``).

Each renderer module has ``DEFAULT_NAME`` (its file beside the run's files) and
``write(report, path) -> Path`` (a file, or a folder for csv); the text formats also
``render(report) -> str``. A new format is one module plus one line in FORMATS.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from socialbench.errors import UsageError

if TYPE_CHECKING:
    from socialbench.report.model import Report

FORMATS = {
    "html": "socialbench.report.html",
    "md": "socialbench.report.markdown",
    "json": "socialbench.report.json_format",
    "csv": "socialbench.report.csv_format",
    "pdf": "socialbench.report.pdf",
}

__all__ = ["FORMATS", "parse_formats", "render", "write"]


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
    """Render ``report`` as ``fmt`` into ``path`` (default: beside the run's files),
    atomically: rendered into a staging path beside it, then moved into place, so that a
    failure (a full disk: DiskFull naming the file) leaves the previous report intact."""
    from socialbench.report.output import write_atomic

    module = importlib.import_module(FORMATS[fmt])
    target = Path(path) if path is not None else report.directory / module.DEFAULT_NAME
    return write_atomic(target, lambda partial: module.write(report, partial))


def render(report: Report, fmt: str) -> str:
    """``report`` as text in ``fmt`` (a format with ``render``: md, json, html)."""
    return importlib.import_module(FORMATS[fmt]).render(report)

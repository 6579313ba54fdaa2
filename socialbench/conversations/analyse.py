"""Recorded conversations -> messages -> probe table -> summary: the core of ``run --fixtures``."""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from socialbench import conversations, sources
from socialbench.conversations import frames
from socialbench.errors import InputError
from socialbench.measure import metrics
from socialbench.sources import messages as m

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SourceInfo:
    path: str
    format: str
    messages: int


@dataclass
class Analysis:
    """The probe table of recorded conversations, kept in the engine that made it: the
    summary is computed there, ``probes.csv`` streamed from there, and the pandas frame
    (``probes``) made only when asked for (thresholds read it). ``close`` ends the engine."""

    table: frames.ProbeTable
    sources: list[SourceInfo]
    metric_settings: metrics.MetricSettings
    reopen_after_s: float | None = None
    skipped: list[sources.BadRow] = field(default_factory=list)

    @cached_property
    def summary(self) -> dict:
        summary = self.table.summary(self.metric_settings)
        # file names only: no machine path in summary.json (which is also the JSON report)
        summary["sources"] = [
            info.__dict__ | {"path": Path(info.path).name} for info in self.sources
        ]
        summary["skipped_rows"] = len(self.skipped)
        summary["reopen_after_s"] = self.reopen_after_s
        return summary

    @cached_property
    def probes(self) -> pd.DataFrame:
        return self.table.frame()

    def write_probes(self, path: Path) -> None:
        self.table.write_csv(path)

    def writers(self) -> dict:
        """``probes.csv`` and ``summary.json`` (``output.write_run``'s writers): at the same
        time when the engine can serve the file from a connection of its own, else the
        summary first (one query at a time)."""
        from socialbench.report import output

        reader = self.table.db.reader()
        if reader is None:
            summary = self.summary  # computed before the file: queries take turns
            return {
                "probes.csv": self.write_probes,
                "summary.json": lambda p: output.write_json(summary, p),
            }

        def write_probes(path: Path) -> None:
            try:
                self.table.write_csv(path, reader)
            finally:
                reader.close()

        return {
            "probes.csv": write_probes,
            "summary.json": lambda p: output.write_json(self.summary, p),
        }

    def close(self) -> None:
        self.table.db.close()

    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_messages(
    paths: list[Path], *, fmt: str | None, options: sources.ReadOptions
) -> tuple[pd.DataFrame, list[SourceInfo]]:
    """Every file read and stacked into one messages table."""
    frames, infos = [], []
    for path in paths:
        name = fmt or sources.detect(path, options)
        frames.append(sources.read(path, fmt=name, options=options))
        infos.append(SourceInfo(str(path), name, len(frames[-1])))
    if not frames:
        raise InputError("(no files)", "no recorded conversations given")
    import pandas as pd

    table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if table.empty:
        raise InputError(", ".join(str(p) for p in paths), "no messages found")
    return table, infos


def analyse(
    paths: list[Path],
    *,
    fmt: str | None,
    options: sources.ReadOptions,
    settings: conversations.Settings,
    metric_settings: metrics.MetricSettings,
    engine: conversations.EngineOptions | None = None,
) -> Analysis:
    """Read recorded conversations into an engine and build their probe table there (the
    caller closes the result)."""
    db = conversations.open_engine(engine)
    try:
        infos = load(db, paths, fmt=fmt, options=options)
        source = ", ".join(str(p) for p in paths)
        table = frames.build(db, settings, source=source)
    except BaseException:
        db.close()
        raise
    return Analysis(
        table,
        infos,
        metric_settings,
        reopen_after_s=settings.reopen_after_s,
        skipped=list(options.skipped),
    )


def load(db, paths: list[Path], *, fmt: str | None, options: sources.ReadOptions):
    """The engine's ``messages`` from ``paths``: twcs archives read by the engine itself
    (DuckDB, or Spark from any path it reads: any size; globs, .gz, .zst and Parquet too),
    anything else by its reader in Python."""
    if _generic_scannable(db, fmt, options):
        return _load_generic(db, paths, options)
    if _scannable(db, paths, fmt, options):
        names = [str(p) for p in paths]
        reader = _file_reader(db)
        reader.load_twcs(db, names, skip_bad_rows=options.skip_bad_rows, bad=options.bad)
        counts = dict(db.rows(f"SELECT file, count(*) FROM {reader.ROWS} WHERE problems = 0 "
                              "GROUP BY file"))  # fmt: skip
        if not sum(counts.values()):
            raise InputError(", ".join(names), "no messages found")
        files = reader.loaded_files(db) if _is_spark(db) else reader.expand(names)
        return [SourceInfo(f, "twcs", counts.get(i, 0)) for i, f in enumerate(files)]
    msgs, infos = load_messages(paths, fmt=fmt, options=options)
    db.load(frames.arrow_messages(msgs))
    return infos


_SCANNED = (".gz", ".zst", ".parquet", ".parq")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def _is_spark(db) -> bool:
    from socialbench.conversations.spark import SparkEngine

    return isinstance(db, SparkEngine)


def _file_reader(db):
    """The module that reads twcs files into ``db``: ``scan`` (DuckDB), ``spark_scan``."""
    from socialbench.conversations import scan, spark_scan

    return spark_scan if _is_spark(db) else scan


def _scannable(db, paths: list[Path], fmt: str | None, options: sources.ReadOptions) -> bool:
    """Whether the engine reads ``paths`` itself: twcs files only (a glob, a compressed or
    Parquet file can only be twcs; so can a URI such as ``s3a://...``, which only Spark
    reads)."""
    spark = _is_spark(db)
    if not (hasattr(db, "con") or spark) or fmt not in (None, "twcs") or options.mapping:
        return False
    for path in paths:
        text = str(path)
        if (glob.has_magic(text) and not path.exists()) or path.suffix.lower() in _SCANNED:
            continue
        if fmt == "twcs" or (spark and _URI.match(text)):
            continue
        try:
            if sources.detect(path, options) != "twcs":
                return False
        except (InputError, OSError):
            return False  # the reader names the problem
    return True


def describe(
    msgs: pd.DataFrame,
    settings: conversations.Settings,
    engine: conversations.EngineOptions | None = None,
) -> dict:
    """What ``validate`` prints: counts and time span, no metrics."""
    found = frames.describe(msgs, settings, engine=engine)
    times = msgs[m.CREATED_AT]
    return {**found, "first": times.min(), "last": times.max()}


def _generic_scannable(db, fmt: str | None, options: sources.ReadOptions) -> bool:
    """Whether DuckDB reads the files itself, as generic exports: a DuckDB engine and a
    column mapping (which makes every file a generic export unless another format is forced)."""
    return hasattr(db, "con") and bool(options.mapping) and fmt in (None, "generic")


def _load_generic(db, paths: list[Path], options: sources.ReadOptions) -> list[SourceInfo]:
    """Generic exports read by DuckDB (``conversations.scan_generic``), one SourceInfo a file."""
    from socialbench.conversations import scan_generic

    names = [str(p) for p in paths]
    counts = scan_generic.load_generic(
        db,
        names,
        options.mapping,
        brands=options.brand_handles,
        skip_bad_rows=options.skip_bad_rows,
        bad=options.bad,
    )
    if not sum(n for _, n in counts):
        raise InputError(", ".join(names), "no messages found")
    return [SourceInfo(f, "generic", n) for f, n in counts]

"""Recorded conversations -> messages -> probe table -> summary: the core of ``run --fixtures``."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from socialbench import conversations, metrics, sources
from socialbench import messages as m
from socialbench.errors import InputError


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

    table: conversations.ProbeTable
    sources: list[SourceInfo]
    metric_settings: metrics.MetricSettings
    reopen_after_s: float | None = None
    skipped: list[sources.BadRow] = field(default_factory=list)

    @cached_property
    def summary(self) -> dict:
        summary = self.table.summary(self.metric_settings)
        summary["sources"] = [info.__dict__ for info in self.sources]
        summary["skipped_rows"] = len(self.skipped)
        summary["reopen_after_s"] = self.reopen_after_s
        return summary

    @cached_property
    def probes(self) -> pd.DataFrame:
        return self.table.frame()

    def write_probes(self, path: Path) -> None:
        self.table.write_csv(path)

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
        table = conversations.build(db, settings, source=source)
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
    """The engine's ``messages`` from ``paths``: twcs archives read by DuckDB itself (any
    size; globs, .gz, .zst and Parquet too), anything else by its reader in Python."""
    if _scannable(db, paths, fmt, options):
        from socialbench.conversations import scan

        scan.load_twcs(db, [str(p) for p in paths], skip_bad_rows=options.skip_bad_rows,
                       bad=options.bad)  # fmt: skip
        counts = dict(db.rows(f"SELECT file, count(*) FROM {scan.ROWS} WHERE problems = 0 "
                              "GROUP BY file"))  # fmt: skip
        if not sum(counts.values()):
            raise InputError(", ".join(str(p) for p in paths), "no messages found")
        files = scan.expand([str(p) for p in paths])
        return [SourceInfo(f, "twcs", counts.get(i, 0)) for i, f in enumerate(files)]
    msgs, infos = load_messages(paths, fmt=fmt, options=options)
    db.load(conversations.arrow_messages(msgs))
    return infos


_SCANNED = (".gz", ".zst", ".parquet", ".parq")


def _scannable(db, paths: list[Path], fmt: str | None, options: sources.ReadOptions) -> bool:
    """Whether DuckDB reads ``paths`` itself: a DuckDB engine and twcs files only (a glob, a
    compressed or Parquet file can only be twcs)."""
    if not hasattr(db, "con") or fmt not in (None, "twcs") or options.mapping:
        return False
    for path in paths:
        text = str(path)
        if (glob.has_magic(text) and not path.exists()) or path.suffix.lower() in _SCANNED:
            continue
        if fmt == "twcs":
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
    found = conversations.describe(msgs, settings, engine=engine)
    times = msgs[m.CREATED_AT]
    return {**found, "first": times.min(), "last": times.max()}

"""Recorded conversations -> messages -> probe table -> summary: the core of ``run --fixtures``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from socialbench import messages as m
from socialbench import metrics, sources, threads
from socialbench.errors import InputError


@dataclass(frozen=True)
class SourceInfo:
    path: str
    format: str
    messages: int


@dataclass
class Analysis:
    """The probe table of recorded conversations; the summary is computed on first use (so a
    caller can start writing the probe table meanwhile). The messages table is not kept: the
    memory it frees serves the outputs."""

    probes: pd.DataFrame
    sources: list[SourceInfo]
    metric_settings: metrics.MetricSettings
    reopen_after_s: float | None = None
    skipped: list[sources.BadRow] = field(default_factory=list)

    @cached_property
    def summary(self) -> dict:
        summary = metrics.summarize(self.probes, self.metric_settings)
        summary["sources"] = [info.__dict__ for info in self.sources]
        summary["skipped_rows"] = len(self.skipped)
        summary["reopen_after_s"] = self.reopen_after_s
        return summary


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
    settings: threads.Settings,
    metric_settings: metrics.MetricSettings,
) -> Analysis:
    """Read, thread, classify and aggregate recorded conversations."""
    msgs, infos = load_messages(paths, fmt=fmt, options=options)
    probes = threads.probe_table(msgs, settings)
    del msgs
    return Analysis(
        probes,
        infos,
        metric_settings,
        reopen_after_s=settings.reopen_after_s,
        skipped=list(options.skipped),
    )


def describe(msgs: pd.DataFrame, settings: threads.Settings) -> dict:
    """What ``validate`` prints: counts and time span, no metrics."""
    prepared = threads.prepare(msgs, settings.brand_book)
    root = threads.roots(prepared)
    conv = threads.conversations(prepared, root, settings)
    brand_authors = prepared.author.filter(pa.array(prepared.is_brand))
    times = msgs[m.CREATED_AT]
    return {
        "messages": len(prepared),
        "duplicates": prepared.duplicates,
        "conversations": int(len(np.unique(root[root >= 0]))),
        "orphans": int((root < 0).sum()),
        "probes": len(conv.starts),
        "brand_accounts": len(pc.unique(pc.utf8_lower(brand_authors))),
        "first": times.min(),
        "last": times.max(),
    }

"""Recorded conversations -> messages -> probe table -> summary: the core of ``run --fixtures``."""

from __future__ import annotations

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
    settings: conversations.Settings,
    metric_settings: metrics.MetricSettings,
    engine: conversations.EngineOptions | None = None,
) -> Analysis:
    """Read, thread, classify and aggregate recorded conversations."""
    msgs, infos = load_messages(paths, fmt=fmt, options=options)
    source = ", ".join(str(p) for p in paths)
    probes = conversations.probe_table(msgs, settings, engine=engine, source=source)
    del msgs
    return Analysis(
        probes,
        infos,
        metric_settings,
        reopen_after_s=settings.reopen_after_s,
        skipped=list(options.skipped),
    )


def describe(
    msgs: pd.DataFrame,
    settings: conversations.Settings,
    engine: conversations.EngineOptions | None = None,
) -> dict:
    """What ``validate`` prints: counts and time span, no metrics."""
    found = conversations.describe(msgs, settings, engine=engine)
    times = msgs[m.CREATED_AT]
    return {**found, "first": times.min(), "last": times.max()}

"""The Report: everything a renderer needs from a run directory, loaded once.

Probe runs and recorded archives alike: ``summary.json`` and ``probes.csv`` always; for
probe runs also the suite (support hours, aliases, expectations) and each probe's
conversation (from ``run.sqlite``, read without disturbing a run in progress).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from socialbench.errors import InputError
from socialbench.output import TEXT_COLUMNS
from socialbench.summaries import read_summary, run_kind

BOOL_COLUMNS = ("responded", "link", "dm", "phone", "email", "ack_only", "resolved")
RUN_BOOL_COLUMNS = ("one_touch", "expectations_met")
TIME_COLUMNS = ("sent_at", "first_response_at", "resolved_at")
_DEFUSED = r"^'(?=[=+\-@\t\r])"


@dataclass(frozen=True)
class Message:
    """One message of a probe's conversation, as the transcript shows it."""

    at: str  # ISO 8601 UTC
    author: str
    is_brand: bool
    surface: str
    text: str  # untrusted: renderers escape it


@dataclass
class Report:
    directory: Path
    summary: dict
    probes: pd.DataFrame
    transcripts: dict[str, list[Message]] = field(default_factory=dict)
    suite: dict | None = None  # the suite as written (probe runs)
    generated_at: str = ""

    @property
    def is_probe_run(self) -> bool:
        return "run" in self.summary

    @property
    def title(self) -> str:
        if self.is_probe_run:
            return f"Customer-service benchmark: {self.summary['run']['suite']}"
        return f"Customer-service benchmark: {self.directory.name}"

    @property
    def run_kind(self) -> str:
        """live, simulated, replay (probe runs) or recorded (archives)."""
        return run_kind(self.summary)

    @property
    def resolution_method(self) -> str:
        if self.is_probe_run:
            return "answer key"
        return "customer confirmation (heuristic)"

    def methodology(self) -> list[tuple[str, str]]:
        """The settings this run's figures rest on, as (topic, statement) pairs."""
        from socialbench.report.methodology import statements

        return statements(self)


def load(directory: Path) -> Report:
    """The report of the run in ``directory`` (a probe run or a recorded-archive run)."""
    directory = Path(directory)
    summary = read_summary(directory)
    probes = read_probes(directory / "probes.csv")
    report = Report(
        directory,
        summary,
        probes,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if report.is_probe_run and (directory / "run.sqlite").is_file():
        report.transcripts = _transcripts(directory)
        report.suite = _suite(directory / "suite.yaml")
    return report


def read_probes(path: Path) -> pd.DataFrame:
    """probes.csv with its types back: booleans, UTC times, numbers, text."""
    if not path.is_file():
        raise InputError(path, "no such file")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    for name in BOOL_COLUMNS + RUN_BOOL_COLUMNS:
        if name in frame:
            frame[name] = (
                frame[name].str.lower().map({"true": True, "false": False}).astype("boolean")
            )
    for name in TIME_COLUMNS:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    for name in TEXT_COLUMNS:
        if name in frame:  # the apostrophe written before formula-like text is not data
            frame[name] = frame[name].str.replace(_DEFUSED, "", regex=True)
    for name in ("ttfr_s", "ttfr_business_s", "ttr_s", "watched_s", "followers"):
        if name in frame:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    for name in ("brand_messages", "automated_messages", "hour"):
        if name in frame:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    return frame


def _transcripts(directory: Path) -> dict[str, list[Message]]:
    from socialbench import probe_runs, scenarios
    from socialbench.store import RunStore

    store = RunStore.read_only(directory)
    try:
        suite = scenarios.load_suite(directory / "suite.yaml")
        book = scenarios.brand_book(suite)
        msgs, sent = probe_runs.messages_table(store, book.handles())
    finally:
        store.close()
    owner = {pid: s.probe.probe_id for pid, s in sent.items()}
    ordered = msgs.sort_values("created_at", kind="stable")
    transcripts: dict[str, list[Message]] = {}
    roots = ordered["conversation_id"].map(owner)
    times = ordered["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    for probe_id, at, author, brand, surface, text in zip(
        roots, times, ordered["author"], ordered["author_is_brand"], ordered["surface"],
        ordered["text"], strict=True,
    ):  # fmt: skip
        if isinstance(probe_id, str):
            transcripts.setdefault(probe_id, []).append(
                Message(at, str(author), bool(brand), str(surface), str(text))
            )
    return transcripts


def _suite(path: Path) -> dict | None:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None

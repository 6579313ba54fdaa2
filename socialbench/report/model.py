"""The Report: everything a renderer needs from a run directory, loaded once.

Probe runs and recorded archives alike: ``summary.json`` and ``probes.csv`` always; for
probe runs also the suite (support hours, aliases, expectations) and each probe's
conversation (from ``run.sqlite``, read without disturbing a run in progress).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from socialbench.errors import InputError
from socialbench.measure.summaries import read_summary, run_kind
from socialbench.report.branding import Branding
from socialbench.report.output import TEXT_COLUMNS, TIME_COLUMNS

BOOL_COLUMNS = ("responded", "link", "dm", "phone", "email", "ack_only", "resolved", "bot_only")
RUN_BOOL_COLUMNS = ("one_touch", "expectations_met")


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
    generated_at: str = ""  # wall-clock UTC time the report was made
    branding: Branding = field(default_factory=Branding)
    baseline: dict | None = None  # ``compare.compare`` of a baseline run (A) with this one (B)

    @property
    def is_probe_run(self) -> bool:
        return "run" in self.summary

    @property
    def title(self) -> str:
        if self.branding.title:
            return self.branding.title
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

    @property
    def simulated_clock(self) -> bool:
        """The platform times are a simulation's (the sandbox), not dates anything happened."""
        return self.is_probe_run and self.run_kind == "simulated"

    def data_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Platform time of the data: the first probe and the last message measured (a
        probe, a reply or, for probe runs, any stored message); None without probes."""
        times = [self.probes[c] for c in SPAN_COLUMNS if c in self.probes]
        if not times or self.probes.empty:
            return None
        first = self.probes["sent_at"].min() if "sent_at" in self.probes else pd.NaT
        last = max((t.max() for t in times), default=pd.NaT, key=_orderable)
        stored = [m.at for messages in self.transcripts.values() for m in messages]
        if stored:
            last = max(last, pd.Timestamp(max(stored)), key=_orderable)
        if pd.isna(first) or pd.isna(last):
            return None
        return first, last

    def methodology(self) -> list[tuple[str, str]]:
        """The settings this run's figures rest on, as (topic, statement) pairs."""
        from socialbench.report.methodology import statements

        return statements(self)


def _orderable(value) -> pd.Timestamp:
    return pd.Timestamp.min.tz_localize("UTC") if pd.isna(value) else value


SPAN_COLUMNS = ("sent_at", "first_response_at", "automated_at", "resolved_at")


def load(directory: Path, *, branding: Branding | None = None) -> Report:
    """The report of the run in ``directory`` (a probe run or a recorded-archive run)."""
    directory = Path(directory)
    summary = read_summary(directory)
    probes = read_probes(directory / "probes.csv")
    report = Report(
        directory,
        summary,
        probes,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        branding=branding or Branding(),
    )
    if report.is_probe_run and (directory / "run.sqlite").is_file():
        report.transcripts = _transcripts(directory)
        report.suite = _suite(directory / "suite.yaml")
    return report


NUMBER_COLUMNS = (
    "ttfr_s", "ttfr_business_s", "ttr_s", "watched_s", "followers", "ttfa_s", "handoff_s",
)  # fmt: skip
COUNT_COLUMNS = ("brand_messages", "automated_messages", "hour")
_DEFUSED_RE2 = r"^'([=+\-@\t\r])"  # RE2 has no lookahead: keep the character, drop the '


def read_probes(path: Path) -> pd.DataFrame:
    """probes.csv with its types back: booleans, UTC times, numbers, text (missing: NaN).

    Columnar: Arrow's threaded CSV reader and compute kernels, so that a probe table of a
    million rows reads in about a second.
    """
    table = _read_strings(path)
    columns = {}
    for name in table.column_names:
        column = table[name]
        if name in BOOL_COLUMNS + RUN_BOOL_COLUMNS:
            columns[name] = _booleans(column)
        elif name in TIME_COLUMNS:
            columns[name] = pd.to_datetime(_objects(column), utc=True, format="ISO8601")
        elif name in NUMBER_COLUMNS:
            columns[name] = _numbers(column)
        elif name in COUNT_COLUMNS:
            columns[name] = _numbers(column).astype("Int64")
        elif name in TEXT_COLUMNS:  # the apostrophe written before formula-like text is not data
            columns[name] = _objects(_undefused(column))
        else:
            columns[name] = _objects(column)
    return pd.DataFrame(columns)


def _read_strings(path: Path) -> pa.Table:
    """Every column of a CSV file as text, empty cells as nulls."""
    import csv

    import pyarrow.csv as pcsv

    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
        return pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
        raise InputError(path, f"not a readable probe table: {exc}") from None


def _booleans(column: pa.ChunkedArray) -> pd.Series:
    lower = pc.utf8_lower(column)
    known = pc.is_in(lower, value_set=pa.array(["true", "false"]))
    values = pc.if_else(known, pc.equal(lower, "true"), pa.scalar(None, pa.bool_()))
    return pd.Series(pd.array(values.to_numpy(zero_copy_only=False), dtype="boolean"))


def _undefused(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pc.any(pc.starts_with(column, "'")).as_py():
        return column
    return pc.replace_substring_regex(column, pattern=_DEFUSED_RE2, replacement=r"\1")


def _numbers(column: pa.ChunkedArray) -> pd.Series:
    """Numbers (NaN where empty); a cell that is not a number is NaN too."""
    try:
        values = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(_objects(column), errors="coerce")
    return pd.Series(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False))


def _objects(column: pa.ChunkedArray) -> pd.Series:
    """Text in pandas' own string dtype, NaN where empty (what ``pd.read_csv`` gives)."""
    return column.to_pandas()


def _transcripts(directory: Path) -> dict[str, list[Message]]:
    from socialbench import scenarios
    from socialbench.probing import attribution
    from socialbench.probing.store import RunStore

    store = RunStore.read_only(directory)
    try:
        suite = scenarios.load_suite(directory / "suite.yaml")
        book = scenarios.brand_book(suite)
        msgs, sent = attribution.messages_table(store, book.handles())
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

"""The probe table's boundary with pandas and Arrow: a messages table in as the relation the
plan reads, the plan's finished table out as a pandas frame, support hours applied.

``build`` runs the plan on an engine and returns a ``ProbeTable``: the result kept in the
engine, written to ``probes.csv`` and summarised there, read into pandas only when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialbench.conversations import (
    _NS,
    EXTRA_COLUMNS,
    PROBE_COLUMNS,
    WEEKDAYS,
    EngineOptions,
    Settings,
    open_engine,
)
from socialbench.sources import messages as m
from socialbench.sources.messages import ARROW_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

# the probe table's times, and the plan's columns that hold them in nanoseconds
_TIMES = {"sent_at": "sent_ns", "first_response_at": "first_ns", "automated_at": "auto_ns"}


class ProbeTable:
    """The probe table the plan left in an engine (``plan.FINISHED``): written, summarised
    and, when asked, read into pandas from there."""

    def __init__(self, db, settings: Settings) -> None:
        from socialbench.conversations import plan

        self.db, self.settings, self.name = db, settings, plan.FINISHED

    def _select(self, fractions: set[str]) -> str:
        """The probe table's columns in order, times as ISO 8601 text (``fractions``: the
        times written to the millisecond), its rows in time order (a projection keeps the
        order of the sorted rows beneath it, on DuckDB and on Spark)."""
        iso = self.db.dialect.iso_time
        times = {
            name: f"{iso(ns, milliseconds=name in fractions)} AS {name}"
            for name, ns in _TIMES.items()
        }
        columns = [times.get(c, c) for c in PROBE_COLUMNS + EXTRA_COLUMNS]
        # sorted, then formatted: the sort carries no time text (about a sixth of its time)
        ordered = f"SELECT * FROM {self.name} ORDER BY sent_ns, seq"
        return f"SELECT {', '.join(columns)} FROM ({ordered}) AS ordered"

    def frame(self) -> pd.DataFrame:
        """The probe table as a pandas frame (as ``probe_table`` returns it)."""
        table = self.db.arrow(f"SELECT * FROM {self.name} ORDER BY sent_ns, seq")
        frame = finish(table.drop_columns(["seq"]), self.settings)
        return frame

    def summary(self, metric_settings) -> dict:
        from socialbench.measure import aggregate

        key = self.db.dialect.order_key("sent_ns", "seq")
        return aggregate.summarize(self.db, self.name, metric_settings, key=key)

    def write_csv(self, path, db=None) -> None:
        """``probes.csv``, streamed from the engine (or ``db``, another connection to its
        tables: see ``plan.Engine.reader``) a batch at a time."""
        from socialbench.report import output

        db = db or self.db
        whole, fractions = self._formats(db)
        reader = db.batches(self._select(fractions))
        output.write_probes_batches(reader, path, schema=reader.schema, whole=whole)

    def _formats(self, db) -> tuple[set[str], set[str]]:
        """Which float columns hold whole numbers only, which times a fraction of a second."""
        floats = ("followers", "ttfr_s", "ttfr_business_s", "watched_s", "ttfa_s", "handoff_s")
        tests = [
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT isnan({c}) "
            f"AND ({c} <> floor({c}) OR abs({c}) >= 9007199254740992))"
            for c in floats
        ] + [f"count(*) FILTER (WHERE {c} % 1000000000 <> 0)" for c in _TIMES.values()]
        (row,) = db.rows(f"SELECT {', '.join(tests)} FROM {self.name}")
        whole = {c for c, n in zip(floats, row, strict=False) if not n}
        times = tuple(_TIMES)
        fractions = {c for c, n in zip(times, row[len(floats) :], strict=True) if n}
        return whole, fractions


def summarize_frame(probes: pd.DataFrame, metric_settings, engine: EngineOptions | None = None):
    """summary.json of a probe table held as a pandas frame (a probe run's), computed by
    the same SQL as an archive's (``aggregate``), the frame's row order kept."""
    from socialbench.measure import aggregate

    db = open_engine(engine)
    try:
        table = pa.Table.from_pandas(probes, preserve_index=False)
        db.put("frame_probes", table.append_column("seq", pa.array(np.arange(len(probes)))))
        questions = "question" in probes.columns  # a probe run's: consistency compares by it
        return aggregate.summarize(
            db, "frame_probes", metric_settings, order=("seq",), questions=questions
        )
    finally:
        db.close()


def build(db, settings: Settings, *, source: str = "messages") -> ProbeTable:
    """The plan on an engine whose table ``messages`` is loaded, with support hours applied."""
    from socialbench.conversations import plan

    plan.probe_table(db, settings.params(source), lambda engine: db.classify())
    if settings.brand_book.hours():
        _apply_hours(db, settings)
    return ProbeTable(db, settings)


def _apply_hours(db, settings: Settings) -> None:
    """The business clock and local weekday and hour of brands with support hours
    (``calendar``, in pandas: only those brands' probes leave the engine)."""
    from socialbench.conversations import plan

    # the names as a table, not SQL text: Spark reads 'Acme''s' as 'Acmes'
    db.small_table("hours_of", {"brand": "VARCHAR"}, [(b,) for b in settings.brand_book.hours()])
    rows = db.arrow(f"SELECT * FROM {plan.FINISHED} WHERE brand IN (SELECT brand FROM hours_of)")
    db.drop("hours_of")
    frame = with_clocks(finish(rows.drop_columns(["seq"]), settings), settings)
    clocks = pa.table(
        {
            "seq": rows.column("seq"),
            "business": pa.array(frame["ttfr_business_s"].to_numpy(), from_pandas=True),
            "local_weekday": pa.array(frame["weekday"].astype(str).to_numpy()),
            "local_hour": pa.array(frame["hour"].to_numpy(dtype=np.int64)),
        }
    )
    db.put("calendar", clocks)
    db.create(plan.FINISHED, plan.with_calendar())
    db.drop("calendar")


def arrow_messages(frame: pd.DataFrame) -> pa.Table:
    """A messages table (``socialbench.sources.messages``) as the relation the plan reads."""
    n = len(frame)
    columns = {
        "seq": pa.array(np.arange(n, dtype=np.int64)),
        "t": pa.array(frame[m.CREATED_AT].dt.as_unit("ns").array.asi8),
        "author_is_brand": pa.array(frame[m.AUTHOR_IS_BRAND].array, pa.bool_()),
        "followers": pa.array(frame[m.FOLLOWERS].to_numpy(dtype=float), from_pandas=True),
        "automated": pa.array(frame[m.AUTOMATED].to_numpy(dtype=bool)),
    }
    for name in ARROW_SCHEMA.names:
        if name not in columns:
            series = frame.get(name)
            columns[name] = pa.nulls(n, pa.string()) if series is None else _text(series)
    columns["text"] = pc.fill_null(columns["text"], "")
    return pa.table([columns[c] for c in ARROW_SCHEMA.names], schema=ARROW_SCHEMA)


def _text(series: pd.Series) -> pa.Array:
    array = pa.array(series.array) if series.dtype != object else pa.array(series, pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string())


def finish(table: pa.Table, settings: Settings) -> pd.DataFrame:
    """The plan's finished probe table (times in nanoseconds) as a pandas frame, times as
    UTC timestamps."""
    import pandas as pd

    series = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            series[name] = pd.Series(pd.arrays.ArrowStringArray(column.cast(pa.large_string())))
        else:
            series[name] = pd.Series(column.to_numpy(zero_copy_only=False), copy=False)
    series["followers"] = pd.Series(
        pc.fill_null(table.column("followers"), np.nan).to_numpy(zero_copy_only=False)
    )
    for name, ns in _TIMES.items():
        values = pc.fill_null(table.column(ns), np.iinfo(np.int64).min)  # NaT's very bits
        series[name] = _times(values.to_numpy(zero_copy_only=False))
    for name in ("brand_messages", "automated_messages", "hour"):
        series[name] = series[name].astype(np.int64)
    frame = pd.DataFrame(series, copy=False)
    return frame[list(PROBE_COLUMNS + EXTRA_COLUMNS)]


def _times(ns: np.ndarray) -> pd.Series:
    import pandas as pd

    return pd.Series(ns.astype(np.int64).view("M8[ns]"), copy=False).dt.tz_localize("UTC")


def _utc_clock(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday (0 = Monday) and hour in UTC of times in nanoseconds."""
    return (ns // (86400 * _NS) + 3) % 7, ns // (3600 * _NS) % 24  # 1970-01-01: a Thursday


def with_clocks(probes: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The business clock and local weekday/hour, from each brand's support hours."""
    import pandas as pd

    from socialbench.measure import calendar

    sent = probes["sent_at"]
    business = probes["ttfr_s"].to_numpy(dtype=float, copy=True)
    day, hour = _utc_clock(sent.array.asi8)
    for brand, hours in settings.brand_book.hours().items():
        rows = np.flatnonzero((probes["brand"] == brand).to_numpy(dtype=bool, na_value=False))
        if not len(rows):
            continue
        first = probes["first_response_at"].iloc[rows]
        business[rows] = calendar.business_seconds(sent.iloc[rows], first, hours).to_numpy()
        local_day, local_hour = calendar.local_weekday_hour(sent.iloc[rows], hours.timezone)
        day[rows] = local_day.cat.codes.to_numpy()
        hour[rows] = local_hour.to_numpy(dtype=np.int64)
    weekday = pa.array(WEEKDAYS, pa.large_string()).take(pa.array(day))
    return probes.assign(
        ttfr_business_s=business,
        weekday=pd.Series(pd.arrays.ArrowStringArray(weekday), index=probes.index),
        hour=hour,
    )


def probe_table(
    messages: pd.DataFrame,
    settings: Settings,
    *,
    engine: EngineOptions | None = None,
    source: str = "messages",
) -> pd.DataFrame:
    """The probe table (PROBE_COLUMNS then EXTRA_COLUMNS) of a messages table."""
    db = open_engine(engine)
    try:
        db.load(arrow_messages(messages))
        return build(db, settings, source=source).frame()
    finally:
        db.close()


def describe(
    messages: pd.DataFrame, settings: Settings, *, engine: EngineOptions | None = None
) -> dict[str, int]:
    """Counts of messages, duplicates, conversations, orphans, probes and brand accounts."""
    from socialbench.conversations import plan

    db = open_engine(engine)
    try:
        db.load(arrow_messages(messages))
        return plan.describe(db, settings.params())
    finally:
        db.close()

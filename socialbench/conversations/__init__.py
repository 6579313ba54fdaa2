"""Messages in, the probe table out: reply trees, the probe's exchange and every per-probe
field of METRICS.md, defined once as a relational plan (``plan``) that an engine runs.

- ``plan``: the definition, SQL steps (the README's methodology states it for users);
- ``rules``: the text rules the plan calls, one Arrow function on every engine;
- ``duck``: the plan on DuckDB (the default, embedded);
- ``spark``: the plan on Apache Spark.

``probe_table`` takes the messages table (``socialbench.messages``) and returns the probe
table as a pandas frame: PROBE_COLUMNS then EXTRA_COLUMNS, in the probes' time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialbench import messages as m
from socialbench.brands import BrandBook
from socialbench.conversations.plan import UNKNOWN_BRAND, Params

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Settings", "probe_table", "with_clocks", "UNKNOWN_BRAND", "PROBE_COLUMNS"]

DEFAULT_WINDOW_S = 7 * 86400
PROBE_COLUMNS = (
    "probe_id", "brand", "channel", "surface", "persona", "followers", "category", "scenario",
    "sent_at", "responded", "first_response_at", "ttfr_s", "ttfr_business_s", "link", "dm",
    "phone", "email", "ack_only", "resolved", "brand_messages",
)  # fmt: skip
EXTRA_COLUMNS = ("conversation_id", "watched_s", "automated_messages", "weekday", "hour")
REPLY_TYPES = ("link", "dm", "phone", "email")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NS = 1_000_000_000

# the messages relation the plan reads (``messages`` columns, ``t`` in nanoseconds, ``seq``
# the row's place: earlier rows win ties and duplicates)
ARROW_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("id", pa.string()),
        ("parent_id", pa.string()),
        ("conversation_id", pa.string()),
        ("author", pa.string()),
        ("author_is_brand", pa.bool_()),
        ("t", pa.int64()),
        ("text", pa.string()),
        ("channel", pa.string()),
        ("surface", pa.string()),
        ("followers", pa.float64()),
        ("automated", pa.bool_()),
        ("scenario", pa.string()),
        ("category", pa.string()),
        ("account", pa.string()),
    ]
)


ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineOptions:
    """Which engine runs the plan and how it may use the machine (``None``: its default)."""

    kind: str = "duckdb"
    threads: int | None = None
    memory_limit: str | None = None
    temp_dir: str | None = None
    spark_master: str | None = None


def open_engine(options: EngineOptions | None = None):
    """A new engine (``duck.DuckEngine`` or ``spark.SparkEngine``); the caller closes it."""
    options = options or EngineOptions()
    if options.kind == "spark":
        from socialbench.conversations import spark

        return spark.SparkEngine(options)
    from socialbench.conversations import duck

    return duck.DuckEngine(options)


@dataclass(frozen=True)
class Settings:
    """How conversations are cut into probes."""

    window_s: float = DEFAULT_WINDOW_S
    reopen_after_s: float | None = None
    brand_book: BrandBook = field(default_factory=BrandBook)

    def params(self, source: str = "messages") -> Params:
        reopen = self.reopen_after_s
        return Params(
            window_ns=round(self.window_s * _NS),
            reopen_ns=None if reopen is None else round(reopen * _NS),
            handles=self.brand_book.alias_map(),
            listed=self.brand_book.handles(),
            source=source,
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
        return run_plan(db, settings, source=source)
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


def run_plan(db, settings: Settings, *, source: str = "messages") -> pd.DataFrame:
    """The plan on an engine whose table ``messages`` is loaded; the probe table."""
    return build(db, settings, source=source).frame()


class ProbeTable:
    """The probe table the plan left in an engine (``plan.FINISHED``): written, summarised
    and, when asked, read into pandas from there."""

    def __init__(self, db, settings: Settings) -> None:
        from socialbench.conversations import plan

        self.db, self.settings, self.name = db, settings, plan.FINISHED

    def _select(self, fractions: set[str]) -> str:
        """The probe table's columns in order, times as ISO 8601 text (``fractions``: the
        times written to the millisecond)."""
        iso = self.db.dialect.iso_time
        times = {
            name: f"{iso(ns, milliseconds=name in fractions)} AS {name}"
            for name, ns in (("sent_at", "sent_ns"), ("first_response_at", "first_ns"))
        }
        columns = [times.get(c, c) for c in PROBE_COLUMNS + EXTRA_COLUMNS]
        return f"SELECT {', '.join(columns)} FROM {self.name} ORDER BY sent_ns, seq"

    def frame(self) -> pd.DataFrame:
        """The probe table as a pandas frame (as ``probe_table`` returns it)."""
        table = self.db.arrow(f"SELECT * FROM {self.name} ORDER BY sent_ns, seq")
        frame = finish(table.drop_columns(["seq"]), self.settings)
        return frame

    def summary(self, metric_settings) -> dict:
        from socialbench.conversations import aggregate

        key = self.db.dialect.order_key("sent_ns", "seq")
        return aggregate.summarize(self.db, self.name, metric_settings, key=key)

    def write_csv(self, path, db=None) -> None:
        """``probes.csv``, streamed from the engine (or ``db``, another connection to its
        tables: see ``plan.Engine.reader``) a batch at a time."""
        from socialbench import output

        db = db or self.db
        whole, fractions = self._formats(db)
        reader = db.batches(self._select(fractions))
        output.write_probes_batches(reader, path, schema=reader.schema, whole=whole)

    def _formats(self, db) -> tuple[set[str], set[str]]:
        """Which float columns hold whole numbers only, which times a fraction of a second."""
        floats = ("followers", "ttfr_s", "ttfr_business_s", "watched_s")
        tests = [
            f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT isnan({c}) "
            f"AND ({c} <> floor({c}) OR abs({c}) >= 9007199254740992))"
            for c in floats
        ] + [f"count(*) FILTER (WHERE {c} % 1000000000 <> 0)" for c in ("sent_ns", "first_ns")]
        (row,) = db.rows(f"SELECT {', '.join(tests)} FROM {self.name}")
        whole = {c for c, n in zip(floats, row, strict=False) if not n}
        times = ("sent_at", "first_response_at")
        fractions = {c for c, n in zip(times, row[len(floats) :], strict=True) if n}
        return whole, fractions


def summarize_frame(probes: pd.DataFrame, metric_settings, engine: EngineOptions | None = None):
    """summary.json of a probe table held as a pandas frame (a probe run's), computed by
    the same SQL as an archive's (``aggregate``), the frame's row order kept."""
    from socialbench.conversations import aggregate

    db = open_engine(engine)
    try:
        table = pa.Table.from_pandas(probes, preserve_index=False)
        db.put("frame_probes", table.append_column("seq", pa.array(np.arange(len(probes)))))
        return aggregate.summarize(db, "frame_probes", metric_settings, order=("seq",))
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
    """A messages table (``socialbench.messages``) as the relation the plan reads."""
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
    for name, ns in (("sent_at", "sent_ns"), ("first_response_at", "first_ns")):
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

    from socialbench import calendar

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

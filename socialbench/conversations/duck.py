"""The plan on DuckDB, embedded: every core by default, spilling to disk past a memory limit.

Each step of ``plan`` becomes a table of an in-memory database; DuckDB moves what does not
fit under ``memory_limit`` to ``temp_dir``. The text rules run on the batches of the table
``texts`` on a pool of as many threads as DuckDB has (``rules.classify_batch``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from socialbench.conversations import plan, rules
from socialbench.errors import InputError, engine_write_failed

_BATCH_ROWS = 64 * 1024
_STORED_BATCHES = 16  # classified batches stored at a time (a million texts' flags)


def _spilling(method: Callable) -> Callable:
    """``method`` with a full disk under DuckDB's spill (``--temp-dir``) raised as DiskFull
    naming the file (one line, exit code 3) rather than DuckDB's IOException."""

    @functools.wraps(method)
    def run(*args, **kwargs):
        import duckdb

        try:
            return method(*args, **kwargs)
        except duckdb.Error as exc:
            failed = engine_write_failed(str(exc))
            if failed is None:
                raise
            raise failed from None

    return run


class DuckEngine(plan.Engine):
    dialect = plan.Dialect()

    def __init__(self, options=None) -> None:
        """``options``: a ``plan.EngineOptions`` (threads, memory_limit, temp_dir)."""
        import duckdb

        options = options or plan.EngineOptions()
        config = {"preserve_insertion_order": True}
        if options.threads:
            config["threads"] = int(options.threads)
        if options.memory_limit:
            config["memory_limit"] = options.memory_limit
        if options.temp_dir:
            config["temp_directory"] = options.temp_dir
        try:
            self.con = duckdb.connect(config=config)
        except duckdb.Error as exc:
            raise InputError(
                "(options)", f"the DuckDB engine refused its settings: {exc}"
            ) from None
        self.con.execute("SET enable_progress_bar = false")
        self.threads = int(self.rows("SELECT current_setting('threads')")[0][0])

    # -------------------------------------------------------------------- plan.Engine

    @_spilling
    def create(self, name: str, sql: str, parameters: list | None = None) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}", parameters)

    @_spilling
    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    @_spilling
    def append(self, name: str, sql: str) -> None:
        self.con.execute(f"INSERT INTO {name} {sql}")

    def drop(self, *names: str) -> None:
        for name in names:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def small_table(self, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
        """Each column passed as one typed list and unnested (DuckDB converts the lists
        itself: no Arrow array made from Python objects, which would import pandas)."""
        lists = [[row[i] for row in rows] for i in range(len(columns))]
        select = ", ".join(
            f"unnest(${i}::{sql_type}[]) AS {column}"
            for i, (column, sql_type) in enumerate(columns.items(), start=1)
        )
        self.create(name, f"SELECT {select}", lists)

    # ------------------------------------------------------------------------ the rest

    def load(self, messages: pa.Table) -> None:
        """The messages relation (``sources.messages.ARROW_SCHEMA``) as the view ``messages``
        (DuckDB reads the Arrow table in place)."""
        self.con.register("messages", messages)

    @_spilling
    def classify(self, engine: plan.Engine | None = None) -> None:
        """The table ``flags`` from the table ``texts``, the rules run on a thread pool and
        their results stored as they come (a second connection reads the texts meanwhile),
        so that Python holds a few batches at a time, not the whole table."""
        self.small_table("flags", _FLAG_COLUMNS, [])
        reader = self.con.cursor().sql("SELECT * FROM texts").to_arrow_reader(_BATCH_ROWS)
        done = _bounded_map(rules.classify_batch, reader, max(1, self.threads))
        for chunk in _chunks(done, _STORED_BATCHES):
            self.con.register("_flags", pa.Table.from_batches(chunk, schema=rules.FLAGS_SCHEMA))
            self.append("flags", "SELECT * FROM _flags")
            self.con.unregister("_flags")

    @_spilling
    def put(self, name: str, table: pa.Table) -> None:
        """An Arrow table as the engine's table ``name``."""
        self.con.register("_put", table)
        self.create(name, "SELECT * FROM _put")
        self.con.unregister("_put")

    def batches(self, sql: str) -> pa.RecordBatchReader:
        """The result of ``sql``, a batch at a time."""
        return self.con.sql(sql).to_arrow_reader(_BATCH_ROWS)

    @_spilling
    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def holds(self, size: int) -> bool:
        """Whether ``size`` bytes are at most half the memory limit (DuckDB keeps a recursive
        query's rows in memory: it does not spill them)."""
        (limit,) = self.rows("SELECT current_setting('memory_limit')")[0]
        return 2 * size <= _bytes(limit)

    def reader(self) -> DuckEngine | None:
        """The same database through a connection of its own (a cursor), for queries run
        from another thread while this engine runs its own; None when the engine may use one
        core (``--threads 1``): its queries take turns."""
        if self.threads == 1:
            return None
        twin = object.__new__(DuckEngine)
        twin.con, twin.threads = self.con.cursor(), self.threads
        return twin

    def close(self) -> None:
        self.con.close()


_UNITS = {"bytes": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
          "PiB": 1 << 50, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "PB": 10**15}  # fmt: skip


def _bytes(setting: str) -> float:
    """DuckDB's spelling of a size ("18.8 GiB", "953.6 MiB") in bytes."""
    number, unit = setting.split()
    return float(number) * _UNITS.get(unit, 0)  # unknown: nothing is held (the safe side)


def _bounded_map(function, items, workers: int) -> Iterator:
    """``function(item)`` for each of ``items``, in order, on ``workers`` threads, with at
    most twice that many items read ahead (the items are batches of text: memory stays
    bounded)."""
    from collections import deque

    pending = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
}
# the table ``flags`` as ``rules.FLAGS_SCHEMA`` has it
_FLAG_COLUMNS = {
    f.name: next(k for k, v in _ARROW_TYPES.items() if v == f.type) for f in rules.FLAGS_SCHEMA
}

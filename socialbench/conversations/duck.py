"""The plan on DuckDB, embedded: every core by default, spilling to disk past a memory limit.

Each step of ``plan`` becomes a table of an in-memory database; DuckDB moves what does not
fit under ``memory_limit`` to ``temp_dir``. The text rules run on the batches of the table
``texts`` on a pool of as many threads as DuckDB has (``rules.classify_batch``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from socialbench.conversations import plan, rules
from socialbench.errors import InputError

_BATCH_ROWS = 64 * 1024


class DuckEngine(plan.Engine):
    dialect = plan.Dialect()

    def __init__(self, options=None) -> None:
        """``options``: a ``conversations.EngineOptions`` (threads, memory_limit, temp_dir)."""
        import duckdb

        from socialbench.conversations import EngineOptions

        options = options or EngineOptions()
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

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def append(self, name: str, sql: str) -> None:
        self.con.execute(f"INSERT INTO {name} {sql}")

    def drop(self, *names: str) -> None:
        for name in names:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def small_table(self, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
        fields = [(c, _ARROW_TYPES[t]) for c, t in columns.items()]
        data = pa.table(
            {c: pa.array([r[i] for r in rows], t) for i, (c, t) in enumerate(fields)},
            schema=pa.schema(fields),
        )
        self.con.register("_small", data)
        self.create(name, "SELECT * FROM _small")
        self.con.unregister("_small")

    # ------------------------------------------------------------------------ the rest

    def load(self, messages: pa.Table) -> None:
        """The messages relation (``conversations.ARROW_SCHEMA``) as the view ``messages``
        (DuckDB reads the Arrow table in place)."""
        self.con.register("messages", messages)

    def classify(self, engine: plan.Engine | None = None) -> None:
        """The table ``flags`` from the table ``texts``, the rules run on a thread pool."""
        reader = self.con.sql("SELECT * FROM texts").to_arrow_reader(_BATCH_ROWS)
        batches = _bounded_map(rules.classify_batch, reader, max(1, self.threads))
        flags = pa.Table.from_batches(batches, schema=rules.FLAGS_SCHEMA)
        self.con.register("_flags", flags)
        self.create("flags", "SELECT * FROM _flags")
        self.con.unregister("_flags")

    def put(self, name: str, table: pa.Table) -> None:
        """An Arrow table as the engine's table ``name``."""
        self.con.register("_put", table)
        self.create(name, "SELECT * FROM _put")
        self.con.unregister("_put")

    def batches(self, sql: str) -> pa.RecordBatchReader:
        """The result of ``sql``, a batch at a time."""
        return self.con.sql(sql).to_arrow_reader(_BATCH_ROWS)

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self.con.close()


def _bounded_map(function, items, workers: int) -> list:
    """``[function(item) for item in items]`` on ``workers`` threads, with at most twice
    that many items read ahead (the items are batches of text: memory stays bounded)."""
    from collections import deque

    results, pending = [], deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * workers:
                results.append(pending.popleft().result())
        results.extend(future.result() for future in pending)
    return results


_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}

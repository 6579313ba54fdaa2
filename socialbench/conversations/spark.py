"""The plan on Apache Spark: the same SQL text as DuckDB, run through ``spark.sql``.

Each step of ``plan`` becomes a temporary view of a DataFrame computed once, its lineage
cut (``localCheckpoint``) and its rows cached by the executors (in memory, spilling to their
disks), so the pointer-jumping loops, which re-create a table from itself, never grow a
plan, and Spark plans each step with the measured sizes of the tables it reads. The text
rules run on the table ``texts`` through ``mapInArrow`` with ``rules.classify_batch``, the
same Arrow function as on DuckDB (the executors need socialbench installed).

The session: ``local[*]`` by default, another master from the options (``spark://...``,
``yarn``), or Spark Connect when ``SPARK_REMOTE`` is set (``sc://host:port``). Times are
BIGINT nanoseconds throughout (the session's time zone is UTC all the same), ANSI mode is on
(integer overflow is an error, as on DuckDB).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from socialbench.conversations import plan, rules
from socialbench.errors import EngineUnavailable, UsageError

DEFAULT_MASTER = "local[*]"
_CONNECT_TIMEOUT_S = 5.0
_PARTITIONS = "spark.sql.shuffle.partitions"
_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
_SQL_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "BOOLEAN": "boolean"}
_ARROW_SQL = {
    pa.int64(): "bigint", pa.int32(): "int", pa.string(): "string", pa.bool_(): "boolean",
    pa.float64(): "double",
}  # fmt: skip
# only errors reach the console (Spark's default profile logs warnings at start-up), and the
# scheduler's warning that a cluster gives the application no executors (it waits for them)
_LOG4J2 = """\
rootLogger.level = error
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.scheduler.name = org.apache.spark.scheduler.TaskSchedulerImpl
logger.scheduler.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


class SparkDialect(plan.Dialect):
    """Spark SQL's spellings of what DuckDB says differently.

    String literals differ too: Spark reads a backslash as an escape and ``'Acme''s'`` as
    two literals side by side (``'Acmes'``), so SQL text that both engines run holds no
    quote or backslash inside a literal (values from users go in as tables)."""

    def order_key(self, *columns: str) -> str:
        # compared field by field (Spark has no 128-bit integers to pack them into)
        return "struct(" + ", ".join(columns) + ")"

    def floor_div(self, a: str, b: int) -> str:
        # integer arithmetic throughout (Spark's "/" divides as DOUBLE, and a CAST to BIGINT
        # truncates where DuckDB's rounds)
        return f"(({a}) - pmod({a}, {b})) div {b}"

    def iso_time(self, ns: str, *, milliseconds: bool) -> str:
        # the session's time zone is UTC; microseconds rounded down, as nanoseconds are
        at = f"timestamp_micros({self.floor_div(ns, 1000)})"
        clock = "HH:mm:ss.SSS" if milliseconds else "HH:mm:ss"
        day, time = f"date_format({at}, 'yyyy-MM-dd')", f"date_format({at}, '{clock}')"
        return f"concat({day}, 'T', {time}, 'Z')"  # no quoted 'T' inside a literal

    def mentions(self, text: str, key: str, source: str) -> str:
        # posexplode numbers from 0, generate_subscripts from 1; MENTION is plain ASCII
        # (no escapes, no classes that differ between RE2 and java.util.regex)
        return f"""
            SELECT {key}, found.pos + 1 AS pos, found.handle
            FROM (SELECT {key}, regexp_extract_all({text}, '{plan.MENTION}', 1) AS handles
                  FROM {source}) AS listed_mentions
            LATERAL VIEW posexplode(handles) found AS pos, handle
        """


class SparkEngine(plan.Engine):
    dialect = SparkDialect()

    def __init__(self, options=None, *, master: str | None = None, session=None) -> None:
        """``options``: a ``plan.EngineOptions`` (``spark_master``, ``threads`` for
        local mode, ``memory_limit`` for the driver of local mode, ``temp_dir`` for Spark's
        scratch space). ``master`` overrides ``options.spark_master``. ``session``: an
        existing SparkSession to work in (it is not stopped by ``close``)."""

        options = options or plan.EngineOptions()
        self.master = master or options.spark_master
        self._views: dict = {}  # name -> the cached DataFrame behind the view (or None)
        self._owned = None  # the session this engine started (stopped by close)
        if session is None:
            with _no_pandas_warning():
                session, self._owned = _session(options, self.master)
        self.remote = _is_remote(session)
        # a session of its own (own temporary views and settings, the same SparkContext),
        # so that engines sharing a context do not see each other's tables
        self.spark = session if self.remote else session.newSession()
        for key, value in _runtime_conf(session, self.remote).items():
            self.spark.conf.set(key, value)

    # -------------------------------------------------------------------- plan.Engine

    def create(self, name: str, sql: str) -> None:
        with self._alive():
            self._keep(name, self.spark.sql(sql))

    def rows(self, sql: str) -> list[tuple]:
        with self._alive():
            return [tuple(row) for row in self.spark.sql(sql).collect()]

    def drop(self, *names: str) -> None:
        for name in names:
            self._drop_view(name)

    def small_table(self, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
        # rows from this process: no lineage to cut, and no job to keep them (a second off
        # each run on a small machine)
        schema = ", ".join(f"{c} {_SQL_TYPES[t]}" for c, t in columns.items())
        self._drop_view(name)
        self.spark.createDataFrame(list(rows), schema=schema).createOrReplaceTempView(name)
        self._views[name] = None

    # ------------------------------------------------------------------------ the rest

    def load(self, messages: pa.Table) -> None:
        """The messages relation (``sources.messages.ARROW_SCHEMA``) as the table ``messages``."""
        from socialbench.sources.messages import ARROW_SCHEMA

        table = messages.select(ARROW_SCHEMA.names).cast(ARROW_SCHEMA)
        with self._alive():
            frame = self.spark.createDataFrame(table, schema=_ddl(ARROW_SCHEMA))
            self._keep("messages", frame)

    def put(self, name: str, table: pa.Table) -> None:
        """An Arrow table (of this process) as the engine's table ``name``."""
        with self._alive():
            self._keep(name, self.spark.createDataFrame(table))  # Arrow's types, Spark's way

    def view(self, name: str, query) -> None:
        """``query`` (SQL text, or a DataFrame of this engine's session such as a file
        reader's) as the temporary view ``name``: computed whenever it is read, not kept;
        dropped with the engine (``spark_scan``'s ``messages`` is a view of its table)."""
        with self._alive():
            frame = self.spark.sql(query) if isinstance(query, str) else query
            self._drop_view(name)
            frame.createOrReplaceTempView(name)
            self._views[name] = None

    def batches(self, sql: str) -> pa.RecordBatchReader:
        """The result of ``sql``, a batch at a time, in its order: the executors pack each
        Arrow batch as one binary value and the driver fetches one partition at a time
        (``toLocalIterator``), so it never holds the whole result."""
        with self._alive(), _no_pandas_warning():
            frame = self.spark.sql(sql)
            schema = frame.limit(0).toArrow().schema  # Spark's own Arrow types of the result
            packed = frame.mapInArrow(_packed_batches, f"{_PACKED} binary")
            rows = packed.toLocalIterator(prefetchPartitions=True)
        unpacked = (_unpacked(row[_PACKED], schema) for row in rows)
        return pa.RecordBatchReader.from_batches(schema, unpacked)

    def classify(self, engine: plan.Engine | None = None) -> None:
        """The table ``flags`` from the table ``texts``: ``rules.classify_batch`` on the
        executors, batch by batch."""
        with self._alive(), _no_pandas_warning():
            texts = self.spark.table("texts")
            self._keep("flags", texts.mapInArrow(_classify_batches, _ddl(rules.FLAGS_SCHEMA)))

    def arrow(self, sql: str) -> pa.Table:
        with self._alive():
            return self.spark.sql(sql).toArrow()

    def close(self) -> None:
        for name in list(self._views):
            try:
                self._drop_view(name)
            except Exception:  # a stopped session has no views left to drop
                self._views.pop(name, None)
        if self._owned is not None:
            self._owned.stop()
            self._owned = None

    @contextmanager
    def _alive(self):
        """Runs a call into Spark: its errors as they are, except when the application itself
        has stopped (a standalone master gave up on us, a lost Spark Connect server):
        EngineUnavailable."""
        try:
            with warnings.catch_warnings():
                # pyspark leaves the socket of each collect to the garbage collector
                warnings.simplefilter("ignore", ResourceWarning)
                yield
        except Exception as exc:
            if not self._stopped():
                raise
            where = self.master or os.environ.get("SPARK_REMOTE") or DEFAULT_MASTER
            raise EngineUnavailable(
                f"Spark ({where}) stopped during the run: {_first_line(exc)}"
            ) from exc

    def _drop_view(self, name: str) -> None:
        """The view ``name`` gone, and the rows it cached freed."""
        if name not in self._views:
            return
        kept = self._views.pop(name)
        self.spark.catalog.dropTempView(name)
        if kept is not None:
            kept.unpersist()

    def _stopped(self) -> bool:
        if self.remote:
            return getattr(self.spark, "is_stopped", False)
        try:
            return bool(self.spark.sparkContext._jsc.sc().isStopped())
        except Exception:  # the JVM itself is gone
            return True

    def _keep(self, name: str, frame) -> None:
        """``frame`` computed once, its lineage cut, as the temporary view ``name``.

        The checkpoint cuts the plan (a loop's table made from itself would otherwise hold
        every earlier version of itself) but keeps the size Spark estimated for the plan it
        cut, a product of its inputs' sizes for every join: over the plan's steps these
        estimates grow without bound (on 5,000 tweets, numbers of millions of digits that
        exhaust the driver's memory). Cached, the same rows have their measured size. One
        job computes both (the checkpoint is lazy, and taken by the job that fills the cache)."""
        kept = frame.localCheckpoint(eager=False).cache()
        kept.count()
        self._drop_view(name)
        kept.createOrReplaceTempView(name)
        self._views[name] = kept


_PACKED = "arrow_ipc"


def _packed_batches(batches):
    """Each Arrow batch as one row holding its IPC stream (``batches`` on the driver)."""
    for batch in batches:
        if batch.num_rows:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            packed = pa.array([sink.getvalue().to_pybytes()], pa.binary())
            yield pa.RecordBatch.from_arrays([packed], names=[_PACKED])


def _unpacked(data: bytes, schema: pa.Schema) -> pa.RecordBatch:
    (batch,) = pa.ipc.open_stream(data).read_all().to_batches()
    return batch.cast(schema)


def _classify_batches(batches):
    for batch in batches:
        yield rules.classify_batch(batch)


def _ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string of the same column types."""
    return ", ".join(f"{f.name} {_ARROW_SQL[f.type]}" for f in schema)


# ------------------------------------------------------------------------------ the session


def start_session(options=None, master: str | None = None, conf: dict | None = None):
    """A new SparkSession as the engine starts one (``options``: ``EngineOptions``; master:
    ``master``, else ``options.spark_master``, else ``local[*]``; ``conf``: more Spark
    settings), or a Spark Connect session when ``SPARK_REMOTE`` is set. For callers that
    keep one session for several engines (``SparkEngine(session=...)``); they stop it."""

    options = options or plan.EngineOptions()
    SparkSession = _pyspark()
    remote = os.environ.get("SPARK_REMOTE")
    master = master or options.spark_master
    if remote:
        if master:
            raise UsageError(
                f"Spark master {master!r} and SPARK_REMOTE={remote!r}: give one, not both"
            )
        return _connect(SparkSession, remote)
    master = master or _local_master(options)
    _check_java()
    _check_reachable(master)
    builder = SparkSession.builder.master(master).appName("socialbench")
    settings = _start_conf(options, master)
    for key, value in (conf or {}).items():
        joined = key == _JAVA_OPTIONS and key in settings  # the caller's JVM flags, and ours
        settings[key] = f"{settings[key]} {value}" if joined else value
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _python_workers(local=_local_cores(master) is not None):
            session = builder.getOrCreate()
        if _local_cores(master) is not None:
            session.range(1).count()  # a job runs (a cluster might queue it: not tried)
    except Exception as exc:  # Py4J, Java launch and Spark errors alike
        _stop_quietly(SparkSession)
        raise EngineUnavailable(
            f"Spark master {master!r} is unavailable: {_first_line(exc)}"
        ) from None
    return session


def _session(options, master: str | None):
    """``(session, owned)``: the active SparkSession of this process when there is one (not
    owned: whoever started it stops it), else a new one (owned: ``close`` stops it)."""
    SparkSession = _pyspark()
    active = SparkSession.getActiveSession()
    if active is None:
        session = start_session(options, master)
        return session, session
    if master and not _is_remote(active) and master != active.sparkContext.master:
        raise EngineUnavailable(
            f"Spark master {master!r}: this process already runs a Spark session on "
            f"{active.sparkContext.master!r} (one per process)"
        )
    return active, None


def _pyspark():
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            f"the Spark engine needs pyspark (pip install 'socialbench[spark]'): {exc}"
        ) from None
    return SparkSession


def _connect(SparkSession, remote: str):
    _check_reachable(remote)
    try:
        session = SparkSession.builder.remote(remote).getOrCreate()
        session.range(1).count()
    except Exception as exc:  # gRPC, import (pyspark[connect]) and Spark errors
        raise EngineUnavailable(
            f"Spark Connect server {remote!r} (SPARK_REMOTE) is unavailable: {_first_line(exc)}"
        ) from None
    return session


def _local_master(options) -> str:
    return f"local[{int(options.threads)}]" if options.threads else DEFAULT_MASTER


def _local_cores(master: str) -> int | None:
    """The cores of a ``local``, ``local[N]``, ``local[*]`` master (None: not local)."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if not found:
        return None
    count = found.group(1)
    if count is None:
        return 1
    return (os.cpu_count() or 1) if count == "*" else int(count)


def _start_conf(options, master: str) -> dict[str, str]:
    """Settings that must be given before the session starts."""
    conf = {
        "spark.ui.showConsoleProgress": "false",
        _JAVA_OPTIONS: f"-Dlog4j2.configurationFile={_log4j2_file()}",
        "spark.sql.session.timeZone": "UTC",
    }
    cores = _local_cores(master)
    if cores is not None:
        conf["spark.ui.enabled"] = "false"
        limit = options.memory_limit
        conf["spark.driver.memory"] = _jvm_memory(limit) if limit else _half_of_memory()
    if options.temp_dir:
        conf["spark.local.dir"] = str(options.temp_dir)
    return conf


def _half_of_memory() -> str:
    """Local mode's default heap: half of this machine's memory (Spark's own default, 1 GB,
    is too little for an archive of a million conversations)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "1g"
    return f"{max(1, total // 2 // 2**20)}m"


def _runtime_conf(session, remote: bool) -> dict[str, str]:
    """Settings of each engine's own session: the plan's semantics and small local jobs."""
    conf = {
        "spark.sql.session.timeZone": "UTC",
        # integer overflow and bad casts are errors, as on DuckDB
        "spark.sql.ansi.enabled": "true",
        # the plan's recursive query follows every reply tree down (its own depth limit is
        # far below Spark's 100 levels); an archive has millions of replies
        "spark.sql.cteRecursionRowLimit": "-1",
    }
    if remote:
        return conf  # Spark Connect moves data as Arrow anyway (and refuses the settings)
    conf["spark.sql.execution.arrow.pyspark.enabled"] = "true"
    conf["spark.sql.execution.arrow.pyspark.fallback.enabled"] = "false"
    cores = _local_cores(session.sparkContext.master)
    if cores is not None and not session.sparkContext.getConf().contains(_PARTITIONS):
        conf[_PARTITIONS] = str(2 * cores)  # Spark's 200 are for clusters
    return conf


@contextmanager
def _python_workers(local: bool):
    """In local mode the Python workers run the interpreter running socialbench (pyspark
    reads PYSPARK_PYTHON, not spark.pyspark.python, when the context starts), unless
    PYSPARK_PYTHON says otherwise; the variable is left as it was."""
    if not local or "PYSPARK_PYTHON" in os.environ:
        yield
        return
    os.environ["PYSPARK_PYTHON"] = sys.executable
    try:
        yield
    finally:
        os.environ.pop("PYSPARK_PYTHON", None)


def _is_remote(session) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


def _check_java() -> None:
    """The driver is a JVM that pyspark starts: JAVA_HOME's java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home!r} has no bin/java" if home else "no java on PATH"
        raise EngineUnavailable(f"the Spark engine needs a Java 17+ runtime: {where}")


def _check_reachable(master: str) -> None:
    """A ``spark://`` or ``sc://`` address that nothing listens on fails now, clearly
    (Spark itself would retry for a minute and then fail the first job)."""
    found = re.match(r"(spark|sc)://([^/;]+)", master.strip())
    if not found:
        return
    scheme, hosts = found.groups()
    errors = []
    for host_port in hosts.split(","):
        host, _, port = host_port.rpartition(":") if ":" in host_port else (host_port, "", "")
        port = int(port) if port.isdigit() else (7077 if scheme == "spark" else 15002)
        try:
            with socket.create_connection((host.strip("[]"), port), _CONNECT_TIMEOUT_S):
                return
        except OSError as exc:
            errors.append(f"{host}:{port}: {exc.strerror or exc}")
    what = "Spark master" if scheme == "spark" else "Spark Connect server"
    raise EngineUnavailable(f"{what} {master!r} cannot be reached ({'; '.join(errors)})")


def _jvm_memory(limit: str) -> str:
    """A DuckDB-style memory limit ("8GB", "512 MiB") as a JVM size ("8g", "512m"): the
    driver's heap in local mode."""
    found = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*", limit.upper())
    if not found:
        raise UsageError(f"memory limit {limit!r}: the Spark engine takes a size like 8GB")
    number, unit = found.groups()
    return f"{number}{unit.lower() or 'b'}"


def _log4j2_file() -> Path:
    """Spark's logging settings as a file for the driver's JVM (one per user)."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    path = Path(tempfile.gettempdir()) / f"socialbench-spark-log4j2-{user}.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_text(_LOG4J2)
        partial.replace(path)  # whole, whoever reads it
    return path


def _stop_quietly(SparkSession) -> None:
    try:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
    except Exception:  # the session never started
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@contextmanager
def _no_pandas_warning():
    """Without PySpark 4.1+'s warning that it does not yet fully support pandas 3, which its
    session start (importing ``pyspark.testing``) and ``mapInArrow`` give though the engine
    hands Spark Arrow batches, not pandas frames."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "PySpark does not yet fully support pandas", FutureWarning
        )
        yield

"""Writing a run's files: ``probes.csv`` and ``summary.json``, all or nothing.

Files are written into a temporary folder beside the destination and moved into place only
when every one is complete, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from socialbench import arrowtext

TEXT_COLUMNS = (
    "probe_id",
    "brand",
    "channel",
    "surface",
    "persona",
    "category",
    "scenario",
    "conversation_id",
    "weekday",
    "platform_id",
    "expectations_missed",
)
TIME_COLUMNS = ("sent_at", "first_response_at", "resolved_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# rows Arrow's CSV writer formats at a time: its default (1,024) took twice as long on a
# million probes (bench/README.md)
_CSV_BATCH_ROWS = 1 << 16
# rows from which write_probes_csv uses the compiled kernel: below, Arrow's path takes less
# time than loading numba and the kernel where nothing has loaded them yet
_KERNEL_ROWS = 100_000


def write_run(out_dir: Path, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Write each ``name -> writer(path)`` into ``out_dir`` atomically; returns out_dir.

    The writers run at the same time (each may still be computing what it writes).
    """
    from concurrent.futures import ThreadPoolExecutor

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with ThreadPoolExecutor(max_workers=len(writers) or 1) as pool:
            futures = [pool.submit(writer, staging / name) for name, writer in writers.items()]
            for future in futures:
                future.result()
        if not out_dir.exists():
            os.replace(staging, out_dir)
            return out_dir
        for name in writers:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def write_probes_csv(probes: pd.DataFrame, path: Path) -> None:
    """The probe table as CSV: ISO 8601 UTC times, true/false, empty for unknown.

    Text cells that a spreadsheet would run as a formula get a leading apostrophe. A large
    table is formatted by a compiled kernel, several times faster than the Arrow path that
    defines the text; a table it declines, and a small one (loading numba would cost more
    than it saves), takes the Arrow path.
    """
    table = pa.Table.from_pandas(probes, preserve_index=False)
    if len(table) >= _KERNEL_ROWS:
        from socialbench.kernels import csv as kernel  # numba: only for large tables

        if kernel.write_table(table, path, defuse=TEXT_COLUMNS, times=TIME_COLUMNS):
            return
    write_probes_arrow(table, path)


def write_probes_arrow(table: pa.Table, path: Path) -> None:
    """``write_probes_csv`` with Arrow's compute functions and CSV writer: the definition of
    the text, which the kernel's tests compare it with."""
    for name in TIME_COLUMNS:
        if name in table.column_names:
            table = _replace(table, name, iso_utc(table[name]))
    for name in TEXT_COLUMNS:
        if name in table.column_names:
            table = _replace(table, name, defuse_formulas(_text(table[name])))
    for name in table.column_names:
        if pa.types.is_floating(table[name].type):
            table = _replace(table, name, whole_numbers(table[name]))
    write_csv(table, path)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as Arrow strings (large or not: a cast would copy them)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return column.cast(pa.string())


def whole_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float column whose values are all whole numbers as int64, which Arrow writes as the
    same text ("2867" for 2867.0) several times faster; otherwise the column unchanged."""
    values = column.to_numpy()
    finite = values[~np.isnan(values)]
    whole = np.all(finite == np.trunc(finite)) and np.all(np.abs(finite) < 2.0**53)
    if not whole or np.any(np.signbit(finite) & (finite == 0)):  # -0.0 is written "-0"
        return column
    return pc.cast(column, pa.int64())


def write_csv(table: pa.Table, path: Path) -> None:
    """Arrow's CSV writer, streaming into the file a batch at a time, on one thread: two
    threads formatting halves into memory were slower on a million probes, the 160 MB of
    fresh memory costing more than the second core gained (bench/README.md); the run's
    summary is computed on the other core meanwhile."""
    options = pcsv.WriteOptions(quoting_style="needed", batch_size=_CSV_BATCH_ROWS)
    pcsv.write_csv(table, str(path), write_options=options)


def iso_utc(column):
    """ISO 8601 UTC text, with a fraction only when some value has sub-second precision."""
    from socialbench import fasttime

    nanos = pc.cast(pc.cast(column, pa.timestamp("ns", tz="UTC")), pa.int64())
    valid = pc.is_valid(nanos).to_numpy(zero_copy_only=False)
    ns = pc.fill_null(nanos, 0).to_numpy(zero_copy_only=False)
    seconds, fraction = np.divmod(ns, 1_000_000_000)
    if not fraction.any():
        return fasttime.format_iso(seconds, valid)
    millis = pc.cast(column, pa.timestamp("ms", tz="UTC"), safe=False)
    return pc.strftime(millis, format="%Y-%m-%dT%H:%M:%SZ")


def _replace(table: pa.Table, name: str, column) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)


def defuse_formulas(column):
    """Prefix ``'`` to cells starting with = + - @ tab or CR (CSV formula injection)."""
    first, _ = arrowtext.edge_bytes(column)  # each is one byte in UTF-8
    risky = np.isin(first, [ord(c) for c in _FORMULA_START])
    if not risky.any():
        return column
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(pa.array(risky), pc.binary_join_element_wise(quote, column, empty), column)


def write_json(document: dict, path: Path) -> None:
    path.write_text(json.dumps(clean_json(document), indent=2, ensure_ascii=False) + "\n", "utf-8")


def clean_json(value):
    """NaN and infinities become null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

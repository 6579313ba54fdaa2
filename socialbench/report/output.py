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
TIME_COLUMNS = ("sent_at", "first_response_at", "automated_at", "resolved_at")
# a text cell a spreadsheet would run as a formula: one starting with = + - @ tab or CR
_FORMULA_START = r"^[=+\-@\t\r]"
# rows Arrow's CSV writer formats at a time: larger batches than its default (1,024) cost
# far less per row (bench/README.md)
_CSV_BATCH_ROWS = 1 << 16


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

    Text cells that a spreadsheet would run as a formula get a leading apostrophe; float
    columns holding only whole numbers are written without a fraction ("2867").
    """
    table = pa.Table.from_pandas(probes, preserve_index=False)
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


def write_probes_batches(batches, path: Path, *, schema: pa.Schema, whole: set[str]) -> None:
    """``write_probes_csv`` for a probe table that arrives in record batches (from an
    engine, its times already ISO 8601 text), each formatted alike: ``whole`` names the float
    columns whose values are all whole numbers (written as integers)."""
    options = pcsv.WriteOptions(quoting_style="needed", batch_size=_CSV_BATCH_ROWS)
    writer = None
    try:
        for batch in batches:
            table = _formatted(pa.Table.from_batches([batch]), whole)
            if writer is None:
                writer = pcsv.CSVWriter(str(path), table.schema, write_options=options)
            writer.write_table(table)
        if writer is None:  # no probe: the header alone
            pcsv.write_csv(
                _formatted(schema.empty_table(), whole), str(path), write_options=options
            )
    finally:
        if writer is not None:
            writer.close()


def _formatted(table: pa.Table, whole: set[str]) -> pa.Table:
    for name in table.column_names:
        if name in TEXT_COLUMNS:
            table = _replace(table, name, defuse_formulas(_text(table[name])))
        elif name in whole:
            table = _replace(table, name, pc.cast(table[name], pa.int64()))
    return table


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as Arrow strings (large or not: a cast would copy them)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return column.cast(pa.string())


def whole_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float column whose values are all whole numbers as int64, which Arrow writes as the
    same text ("2867" for 2867.0) faster than floats; otherwise the column unchanged."""
    values = column.to_numpy()
    finite = values[~np.isnan(values)]
    whole = np.all(finite == np.trunc(finite)) and np.all(np.abs(finite) < 2.0**53)
    if not whole or np.any(np.signbit(finite) & (finite == 0)):  # -0.0 is written "-0"
        return column
    return pc.cast(column, pa.int64())


def write_csv(table: pa.Table, path: Path) -> None:
    """Arrow's CSV writer, streaming into the file a batch at a time, on one thread, so that
    memory stays bounded (formatting halves into memory on two threads cost more than it
    gained, bench/README.md); the run's summary is computed on another core meanwhile."""
    options = pcsv.WriteOptions(quoting_style="needed", batch_size=_CSV_BATCH_ROWS)
    pcsv.write_csv(table, str(path), write_options=options)


def iso_utc(column):
    """ISO 8601 UTC text, with a fraction (milliseconds) only when some value has sub-second
    precision."""
    nanos = pc.cast(pc.cast(column, pa.timestamp("ns", tz="UTC")), pa.int64())
    fraction = pc.fill_null(nanos, 0).to_numpy(zero_copy_only=False) % 1_000_000_000
    unit = "ms" if fraction.any() else "s"
    times = pc.cast(column, pa.timestamp(unit, tz="UTC"), safe=False)
    return pc.strftime(times, format="%Y-%m-%dT%H:%M:%SZ")


def _replace(table: pa.Table, name: str, column) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)


def defuse_formulas(column):
    """Prefix ``'`` to cells starting with = + - @ tab or CR (CSV formula injection); the
    column itself when none does."""
    risky = pc.match_substring_regex(column, _FORMULA_START)
    if not pc.any(risky).as_py():
        return column
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, column, empty), column)


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

"""Writing a run's files: ``probes.csv`` and ``summary.json``, all or nothing.

Files are written into a staging folder beside the destination and moved into place only
when every one is complete, so a failed run (a full disk, a kill) leaves nothing
half-written: a write that fails raises WriteFailed (DiskFull on a full disk) naming the
file. Staging paths carry their writer's machine and pid; one whose writer died (kill -9)
is removed by the next write beside it. ``write_atomic`` does the same for one file or
folder (reports, recordings, the JUnit file).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from socialbench.errors import WriteFailed, writing

if TYPE_CHECKING:
    import pandas as pd

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

    The writers run at the same time (each may still be computing what it writes). A write
    that fails (a full disk) raises WriteFailed naming the file, and changes nothing.
    """
    from concurrent.futures import ThreadPoolExecutor

    _make_parent(out_dir)
    with writing(out_dir):
        # inside an existing folder (on its file system, even when it is a link elsewhere);
        # staging_path clears what dead writers left beside the staging path, and an
        # earlier run's staging folder beside out_dir is cleared here
        inside = out_dir.is_dir()
        if inside:
            remove_stale(out_dir.parent)
        staging = staging_path(out_dir / out_dir.name if inside else out_dir)
        staging.mkdir()
    try:
        with ThreadPoolExecutor(max_workers=len(writers) or 1) as pool:
            futures = {
                name: pool.submit(_write_one, writer, staging / name, out_dir / name)
                for name, writer in writers.items()
            }
            for future in futures.values():
                future.result()
        with writing(out_dir):
            if not out_dir.exists():
                os.replace(staging, out_dir)
                return out_dir
            for name in writers:
                os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _write_one(writer: Callable[[Path], None], path: Path, named: Path) -> None:
    with writing(named):
        writer(path)


def write_atomic(target: Path, writer: Callable[[Path], object]) -> Path:
    """Run ``writer(partial)`` on a staging path beside ``target`` (a file or a folder) and
    move the result into place; returns ``target``. Readers see the old ``target`` or the
    new one, never a part of one; a failure (a full disk: WriteFailed naming ``target``)
    leaves the old one as it was. A folder replaces an older folder whole."""
    named = Path(target)
    target = named.resolve() if named.is_symlink() else named  # the file the link names
    if target.exists() and not (target.is_file() or target.is_dir()):  # /dev/stdout, a FIFO
        with writing(named):
            writer(target)
        return named
    _make_parent(target)
    partial = staging_path(target)
    try:
        with writing(named):
            writer(partial)
            if partial.is_dir() and target.is_dir():
                _swap_folder(partial, target)
            else:
                os.replace(partial, target)
    except WriteFailed as failed:  # named after the staging path: name the target
        raise _renamed(failed, partial, named) from None
    finally:
        _remove(partial)
    return named


def _make_parent(target: Path) -> None:
    """``target``'s folder, made if missing; WriteFailed when it cannot be."""
    with writing(target):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a folder of the path should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None


def _renamed(failed: WriteFailed, partial: Path, target: Path) -> WriteFailed:
    path = Path(failed.path)
    if path == target or not path.is_relative_to(partial):
        return failed
    return type(failed)(target / path.relative_to(partial), failed.reason)


def write_text(target: Path, text: str) -> Path:
    """``text`` as UTF-8 into ``target``, atomically (``write_atomic``)."""
    return write_atomic(target, lambda path: path.write_text(text, encoding="utf-8"))


def _swap_folder(new: Path, target: Path) -> None:
    """``new`` in the place of the folder ``target`` (whose old contents are removed)."""
    old = staging_path(target)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    _remove(old)


# Staging paths: ``.<name>.<host>-<pid>.<8 hex>.partial<suffix>`` beside their target,
# ``host`` a tag of this machine's name and ``pid`` the writer's, so that a staging path
# whose writer died (kill -9) can be told from one a live writer is using, and removed. A
# path another machine (or container) made is left to it, unless a day old: a folder shared
# between machines is not judged by this machine's processes.
_STAGING = re.compile(
    r"\.(?P<name>.+)\.(?P<host>[0-9a-f]{6})-(?P<pid>[1-9][0-9]{0,9})\.[0-9a-f]{8}"
    r"\.partial(\.[^./]*)?"
)
FOREIGN_STALE_S = 24 * 3600  # when another machine's staging path counts as abandoned
# the staging names this process made: one with this process's id but not made by it was
# left by an earlier process that had the same id (in a container, each run may be pid 1)
_MADE_HERE: set[str] = set()


def staging_path(target: Path) -> Path:
    """A fresh staging path for ``target``, owned by this process; stale ones (their
    writer dead) beside it are removed first."""
    remove_stale(target.parent)
    owner = f"{_host()}-{os.getpid()}"
    name = f".{target.name}.{owner}.{secrets.token_hex(4)}.partial{target.suffix}"
    _MADE_HERE.add(name)
    return target.with_name(name)


def remove_stale(folder: Path) -> list[Path]:
    """Remove the staging files and folders in ``folder`` whose writer is gone: this
    machine's whose process is no longer alive (never a live writer's), another machine's
    once a day old; the paths removed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        found = _STAGING.fullmatch(name)
        if found and _abandoned(folder / name, found.group("host"), int(found.group("pid"))):
            _remove(folder / name)
            removed.append(folder / name)
    return removed


def _abandoned(path: Path, host: str, pid: int) -> bool:
    if host == _host():
        return path.name not in _MADE_HERE if pid == os.getpid() else not _alive(pid)
    try:
        return time.time() - path.lstat().st_mtime > FOREIGN_STALE_S
    except OSError:
        return False


@functools.cache
def _host() -> str:
    """This machine's tag in staging names: 6 hex digits of its name."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's included)."""
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


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
    """``document`` as UTF-8 JSON into ``path`` (a run's staging folder, or any file)."""
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

"""The CSV report: a folder of tables for spreadsheets and scripts.

- ``probes.csv``: the probe table, as the run wrote it (README "Output files");
- ``overall.csv``: the overall aggregates, one row;
- ``groups_<name>.csv``: one row per group of each grouping in ``summary.json`` (brand,
  channel, surface, category, scenario, persona, follower_tier, weekday, hour).

Aggregate rows are flattened: ``within`` becomes ``within_15m``, ``within_1h``, …,
``within_window``; ``response_rate_ci`` becomes ``response_rate_ci_low`` and ``_high``;
``small`` is its reasons joined by ``; ``. Unknown values are empty. Every text cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) gets
a leading ``'``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from socialbench.errors import InputError
from socialbench.measure.metrics import AGGREGATE_KEYS, WITHIN
from socialbench.report.model import Report
from socialbench.report.output import defuse_formulas, write_probes_csv, write_run

DEFAULT_NAME = "report-csv"  # beside the run's files
_SAFE_NAME = re.compile(r"[a-z0-9_]+")


def write(report: Report, path: Path) -> Path:
    """The folder ``path`` with every table, written all at once."""
    groups = report.summary["groups"]
    for name in groups:
        if not _SAFE_NAME.fullmatch(name):
            raise InputError(report.directory / "summary.json", f"odd grouping name {name!r}")
    writers = {
        "probes.csv": lambda p: write_probes_csv(_defused(report.probes), p),
        "overall.csv": lambda p: _write_table(aggregate_table([report.summary["overall"]]), p),
    }
    for name, rows in groups.items():
        writers[f"groups_{name}.csv"] = lambda p, n=name, r=rows: _write_table(
            aggregate_table(r, key=n), p
        )
    return write_run(Path(path), writers)


def aggregate_table(rows: list[dict], *, key: str | None = None) -> pd.DataFrame:
    """Aggregate rows (``overall`` or a grouping's) as a flat table, ``key`` first."""
    flat = [flatten(row) for row in rows]
    columns = ([key] if key else []) + list(flatten(_EMPTY_ROW))
    columns += [c for row in flat for c in row if c not in columns]
    return pd.DataFrame(flat, columns=list(dict.fromkeys(columns)))


def flatten(row: dict) -> dict:
    out: dict = {}
    for name, value in row.items():
        if name == "response_rate_ci":
            low, high = value if value else (None, None)
            out |= {f"{name}_low": low, f"{name}_high": high}
        elif name == "within":
            keys = dict.fromkeys([*WITHIN, "window", *(value or {})])
            out |= {f"within_{k}": (value or {}).get(k) for k in keys}
        elif name == "small":
            out[name] = "; ".join(map(str, value))
        else:
            out[name] = value
    return out


_EMPTY_ROW = {name: None for name in AGGREGATE_KEYS} | {"small": []}


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            text = table.column(i).cast(pa.string())
            table = table.set_column(i, field.name, defuse_formulas(text))
    options = pcsv.WriteOptions(quoting_style="needed")
    pcsv.write_csv(table, path, write_options=options)


def _defused(probes: pd.DataFrame) -> pd.DataFrame:
    """Every text column defused (write_probes_csv defuses the usual ones; a run's
    ``platform_id`` and ``expectations_missed`` too). ``expectations_missed`` is empty text,
    as the run writes it, when every expectation was met."""
    text = [
        name
        for name in probes.columns
        if pd.api.types.is_string_dtype(probes[name]) or probes[name].dtype == object
    ]
    out = probes.assign(**{name: _defuse(probes[name]) for name in text})
    if "expectations_missed" not in out:
        return out
    return out.assign(expectations_missed=out["expectations_missed"].fillna(""))


def _defuse(values: pd.Series) -> pd.Series:
    arrow = pa.array(values.astype(object), type=pa.string(), from_pandas=True)
    return pd.Series(defuse_formulas(arrow).to_pylist(), index=values.index, dtype=values.dtype)

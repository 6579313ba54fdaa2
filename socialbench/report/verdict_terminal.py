"""The verdict in a terminal: the threshold table and the verdict line.

Rich table on a terminal, plain aligned text otherwise; every cell through
``safe.terminal_text`` and printed as text, never markup.
"""

from __future__ import annotations

from socialbench.safe import terminal_text
from socialbench.verdict import COLUMNS, FAILED, WARNED, rows

_STYLE = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "NO DATA": "magenta"}
_NO_DATA_STYLE = {FAILED: "bold red", WARNED: "yellow"}  # else as NO DATA


def render(verdict, *, console) -> None:
    with_baseline = verdict.baseline is not None
    header = (*COLUMNS[:4], "baseline", *COLUMNS[4:]) if with_baseline else COLUMNS
    found = rows(verdict)
    table = [tuple(terminal_text(c) for c in r.cells(with_baseline=with_baseline)) for r in found]
    details = [(terminal_text(_name(r)), terminal_text(r.detail)) for r in found if r.detail]
    if console.is_terminal:
        _rich(console, header, table, [_style(r) for r in found])
    else:
        _plain(console, header, table)
    lines = [f"  note: {metric}: {detail}" for metric, detail in details]
    lines += [f"  {terminal_text(p)}" for p in verdict.problems]
    if verdict.baseline is not None:
        lines.append(f"  baseline: {terminal_text(verdict.baseline)}")
    lines.append(terminal_text(verdict.headline()))
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _name(row) -> str:
    """``ttfr{category:delivery} med < 4h``: which row a note is about."""
    scope = f"{{{row.scope}}}" if row.scope else ""
    return f"{row.metric}{scope} {row.expression}"


def _style(row) -> str:
    if row.no_data:
        return _NO_DATA_STYLE.get(row.counts, _STYLE["NO DATA"])
    return _STYLE.get(row.status, "")


def _rich(console, header, table, styles) -> None:
    from rich.table import Table
    from rich.text import Text

    out = Table(title="Thresholds", title_justify="left")
    for name in header:
        out.add_column(name, justify="right" if name in ("observed", "samples") else "left")
    for cells, style in zip(table, styles, strict=True):
        *rest, status = cells
        out.add_row(*(Text(c) for c in rest), Text(status, style=style))
    console.print(out)


def _plain(console, header, table) -> None:
    grid = [header, *table]
    widths = [max(len(row[i]) for row in grid) for i in range(len(header))]
    lines = ["Thresholds"]
    for row in grid:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    console.print(
        "\n".join(line.rstrip() for line in lines), markup=False, highlight=False, soft_wrap=True
    )

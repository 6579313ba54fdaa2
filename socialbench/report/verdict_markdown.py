"""A check's Verdict as Markdown, for a GitHub step summary (``$GITHUB_STEP_SUMMARY``).

GitHub shows at most 1 MiB of a step's summary, and the file may already hold what earlier
commands of the step wrote; so the verdict is cut to fit what is left: failing rows first,
then warnings, then the rest, and a last line saying how many rows were left out. Every
cell goes through the Markdown report's ``escape`` (scope values are brand names from data),
after losing what no UTF-8 file can hold (lone surrogates).
"""

from __future__ import annotations

from pathlib import Path

from socialbench.report.markdown import MAX_TEXT, escape
from socialbench.verdict import COLUMNS, FAILED, WARNED
from socialbench.verdict.junit import judged, legal

STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub shows of one step's summary
RIGHT = frozenset({"observed", "baseline", "samples"})
_ORDER = {FAILED: 0, WARNED: 1}


def append_step_summary(verdict, path: Path, *, limit: int = STEP_SUMMARY_LIMIT) -> int:
    """Append the verdict to the summary file ``path``, keeping the file within ``limit``
    bytes; the number of bytes appended (0 when not even the heading fits)."""
    path = Path(path)
    used = path.stat().st_size if path.exists() else 0
    separator = "\n" if used else ""  # a blank line after what the step wrote before
    text = render(verdict, limit=limit - used - len(separator))
    if not text:
        return 0
    data = (separator + text).encode("utf-8")
    with path.open("ab") as file:
        file.write(data)
    return len(data)


def render(verdict, *, limit: int) -> str:
    """The verdict as Markdown of at most ``limit`` bytes (UTF-8); "" when not even the
    heading fits."""
    lines = _head(verdict)
    rows = _rows(verdict)
    table = _table_head(verdict) + rows if rows else []
    if _size(lines + table) <= limit:
        return _join(lines + table)
    return _cut(lines, table, len(table) - len(rows), limit)


def _cut(lines: list[str], table: list[str], header: int, limit: int) -> str:
    """The head and as many table rows as fit in ``limit`` bytes with the closing note."""
    total = len(table) - header
    reserve = _size(["", _note(total)])
    kept: list[str] = []
    used = 0
    for line in lines + table:
        cost = _size([line])
        if used + cost + reserve > limit:
            break
        kept.append(line)
        used += cost
    shown = max(0, len(kept) - len(lines) - header)
    if shown == 0:
        kept = kept[: min(len(kept), len(lines))]  # no table of headers alone
    if not kept:
        heading = lines[:1]
        return _join(heading) if _size(heading) <= limit else ""
    return _join([*kept, "", _note(total - shown)] if total > shown else kept)


def _head(verdict) -> list[str]:
    lines = [
        f"### socialbench check: {verdict.status}",
        "",
        _text(verdict.headline(), limit=None),
        "",
        f"Figures from: {_text(verdict.source_text, limit=None)}",
        "",
    ]
    if verdict.problems:
        lines += ["The run itself failed:", ""]
        lines += [f"- {_text(problem, limit=None)}" for problem in verdict.problems]
        lines.append("")
    return lines


def _columns(verdict) -> tuple[str, ...]:
    if verdict.baseline is None:
        return COLUMNS
    return (*COLUMNS[:4], "baseline", *COLUMNS[4:])


def _table_head(verdict) -> list[str]:
    columns = _columns(verdict)
    rule = "|".join("--:" if c in RIGHT else "---" for c in columns)
    return ["| " + " | ".join(columns) + " |", f"|{rule}|"]


def _rows(verdict) -> list[str]:
    """Table lines: failing rows first, then warnings, then the rest, each in given order."""
    with_baseline = verdict.baseline is not None
    ordered = sorted(judged(verdict), key=lambda pair: _ORDER.get(pair[1], 2))
    lines = []
    for row, how in ordered:
        cells = [_text(cell) for cell in row.cells(with_baseline=with_baseline)]
        if row.detail:
            cells[-1] += f" — {_text(row.detail)}"
        if how == FAILED:
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _text(value: object, *, limit: int | None = MAX_TEXT) -> str:
    return escape(legal(value), limit=limit)


def _note(count: int) -> str:
    return f"… {count:,} more rows not shown (see the JUnit file or the terminal output)"


def _size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"

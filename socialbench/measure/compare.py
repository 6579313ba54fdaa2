"""The differences between two finished runs, figure by figure, overall or per group, and
whether each is more than chance.

The figures are the runs' ``summary.json``; the samples behind them, for the tests
(``significance``: Fisher's exact test for shares, Mann–Whitney U for times), their
``probes.csv``, read only then (pandas and scipy are not imported otherwise). A difference
is called better or worse only when its test finds it significant at ``alpha`` (0.05 by
default) and, for a time, the figure moved the way the test points; otherwise "no
significant change". The p-value is shown beside it. Counts (probes, answered) are not
tested: they follow how many probes were sent. Every value that comes from data (group
values such as brand names, suite names) goes through ``safe.terminal_text`` and is
rendered as text, never markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from socialbench.durations import format_seconds
from socialbench.errors import UsageError
from socialbench.measure.significance import FISHER, MANN_WHITNEY, Significance
from socialbench.measure.summaries import GROUPS, read_summary, run_kind
from socialbench.report.terminal import pct
from socialbench.safe import terminal_text

if TYPE_CHECKING:
    import pandas as pd

COUNT, SHARE, SECONDS = "count", "share", "seconds"
ALPHA = 0.05
COLUMNS = ("figure", "A", "B", "change", "p", "")
BETTER, WORSE, NO_CHANGE, SAME = "better", "worse", "no significant change", "same"


@dataclass(frozen=True)
class Figure:
    """One compared figure: its summary key (``within.1h`` is ``within["1h"]``)."""

    key: str
    label: str
    kind: str  # COUNT, SHARE or SECONDS
    higher_is_better: bool
    # the probe-table sample its test reads: "FLAG/AMONG" for shares (the probes with FLAG
    # among all probes, the responded ones or those with a resolution rule), a column of
    # seconds for times; None: not tested
    sample: str | None = None

    @property
    def test(self) -> str | None:
        if self.sample is None:
            return None
        return FISHER if self.kind == SHARE else MANN_WHITNEY

    def value(self, row: dict) -> float | None:
        value: object = row
        for part in self.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value


FIGURES = (
    Figure("probes", "probes", COUNT, True),
    Figure("responded", "answered", COUNT, True),
    Figure("response_rate", "response rate", SHARE, True, "responded/probes"),
    Figure("ttfr_median_s", "time to first response, median", SECONDS, False, "ttfr_s"),
    Figure("ttfr_p90_s", "time to first response, p(90)", SECONDS, False, "ttfr_s"),
    Figure("ttfr_mean_s", "time to first response, mean", SECONDS, False, "ttfr_s"),
    Figure("within.1h", "answered within 1h", SHARE, True, "within_1h/probes"),
    Figure("within.24h", "answered within 24h", SHARE, True, "within_24h/probes"),
    Figure("ttfr_business_median_s", "business hours, median", SECONDS, False,
           "ttfr_business_s"),
    Figure("link_rate", "replies with a link", SHARE, True, "link/responded"),
    Figure("dm_rate", "replies moving to DM", SHARE, False, "dm/responded"),
    Figure("phone_rate", "replies giving a phone number", SHARE, False, "phone/responded"),
    Figure("deflection_rate", "deflection (DM/phone/email)", SHARE, False,
           "deflected/responded"),
    Figure("ack_only_rate", "acknowledgement only", SHARE, False, "ack_only/responded"),
    Figure("resolution_rate", "resolved", SHARE, True, "resolved/with_rule"),
)  # fmt: skip
_BY_KEY = {f.key: f for f in FIGURES}


def compare_runs(dir_a: Path, dir_b: Path, *, by: str | None = None, alpha: float = ALPHA) -> dict:
    """``compare`` of the runs in two folders, each named by its folder; the differences
    tested on their probe tables (``probes.csv``), where both runs have one."""
    a, b = read_summary(dir_a), read_summary(dir_b)
    samples = (read_samples(dir_a, a), read_samples(dir_b, b))
    names = (Path(dir_a).name, Path(dir_b).name)
    return compare(a, b, by=by, names=names, samples=samples, alpha=alpha)


def compare(
    a: dict,
    b: dict,
    *,
    by: str | None = None,
    names: tuple[str | None, str | None] = (None, None),
    samples: tuple[pd.DataFrame | None, pd.DataFrame | None] | None = None,
    alpha: float = ALPHA,
) -> dict:
    """Rows of (group, figure, a, b, change, relative, test, p_value, significant, better,
    verdict) from two summaries, as JSON. ``samples``: each run's probe table as the tests
    read it (``significance.samples_of``); without them (or for a side that has none) nothing
    is tested."""
    if by is not None and by not in GROUPS:
        raise UsageError(f"--by: {by!r} is not a group (one of {', '.join(GROUPS)})")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise UsageError(f"--alpha: {alpha!r} is not a significance level between 0 and 1")
    tests = Significance(samples or (None, None), by)
    if by is None:
        rows = _figure_rows(None, a.get("overall"), b.get("overall"), tests, alpha)
    else:
        rows_a, rows_b = _group_index(a, by), _group_index(b, by)
        values = list(rows_a) + [v for v in rows_b if v not in rows_a]
        rows = [
            r for v in values for r in _figure_rows(v, rows_a.get(v), rows_b.get(v), tests, alpha)
        ]
    found = warnings(a, b)
    if samples is not None:
        found += [
            f"{side} has no probe table (probes.csv): its differences are not tested"
            for side, frame in zip("AB", samples, strict=True)
            if frame is None
        ]
    return {
        "a": run_info(a, directory=names[0]),
        "b": run_info(b, directory=names[1]),
        "by": by,
        "alpha": alpha,
        "warnings": found,
        "rows": rows,
    }


def run_info(summary: dict, *, directory: str | None = None) -> dict:
    run = summary.get("run") if isinstance(summary.get("run"), dict) else None
    return {
        "directory": directory,
        "kind": run_kind(summary),
        "suite": run.get("suite") if run else None,
        "complete": bool(run.get("complete", True)) if run else None,
        "window_s": summary.get("window_s"),
    }


def warnings(a: dict, b: dict) -> list[str]:
    """Why the two runs are not like-for-like (empty when they are)."""
    ia, ib = run_info(a), run_info(b)
    found = []
    if ia["kind"] != ib["kind"]:
        found.append(f"different kinds of run: A is {ia['kind']}, B is {ib['kind']}")
    if ia["suite"] != ib["suite"] and ia["suite"] and ib["suite"]:
        found.append(f"different suites: A ran {ia['suite']}, B ran {ib['suite']}")
    if ia["window_s"] != ib["window_s"]:
        found.append(
            f"different windows: A watched each probe {_window(ia)}, B {_window(ib)}"
            " (response rates and times are not comparable)"
        )
    if a.get("min_group") != b.get("min_group"):
        found.append(
            f"different --min-group: A {a.get('min_group')}, B {b.get('min_group')}"
            " (figures withheld differently)"
        )
    for side, info in (("A", ia), ("B", ib)):
        if info["complete"] is False:
            found.append(f"{side} is incomplete (windows still open): its figures are not final")
    return found


def _window(info: dict) -> str:
    window = info["window_s"]
    return format_seconds(window) if isinstance(window, int | float) else "(unknown)"


def _group_index(summary: dict, by: str) -> dict:
    groups = summary.get("groups") if isinstance(summary.get("groups"), dict) else {}
    index = {}
    for row in groups.get(by) or []:
        value = row.get(by) if isinstance(row, dict) else None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            index.setdefault(value, row)
    return index


def _figure_rows(group, row_a: dict | None, row_b: dict | None, tests, alpha) -> list[dict]:
    rows = []
    for figure in FIGURES:
        x = figure.value(row_a) if isinstance(row_a, dict) else None
        y = figure.value(row_b) if isinstance(row_b, dict) else None
        change = None if x is None or y is None else y - x
        tested = None if change is None else tests.test(figure, group, row_a, row_b)
        rows.append(
            {
                "group": group,
                "figure": figure.key,
                "a": x,
                "b": y,
                "change": change,
                "relative": None if change is None or x == 0 else change / abs(x),
                **_judged(figure, change, tested, alpha),
            }
        )
    return rows


def _judged(figure: Figure, change, tested: tuple[float, int] | None, alpha: float) -> dict:
    """The test's name and p-value, whether it is significant, and the verdict: better or
    worse only when it is, and the figure moved the way the test points."""
    if tested is None:
        verdict = SAME if change == 0 else ""
        return {"test": None, "p_value": None, "significant": None, "better": None,
                "verdict": verdict}  # fmt: skip
    p_value, direction = tested
    significant = p_value < alpha
    better = None
    if significant and change and (change > 0) == (direction > 0) and direction:
        better = (change > 0) == figure.higher_is_better
    verdict = NO_CHANGE if better is None else BETTER if better else WORSE
    return {"test": figure.test, "p_value": p_value, "significant": significant,
            "better": better, "verdict": verdict}  # fmt: skip


def read_samples(directory: Path, summary: dict) -> pd.DataFrame | None:
    """The run's probe table as the tests read it (``significance.samples_of``); None
    without one."""
    path = Path(directory) / "probes.csv"
    if not path.is_file():
        return None
    from socialbench.measure.significance import samples_of
    from socialbench.report.model import read_probes

    return samples_of(read_probes(path), tiers=summary.get("tiers"))


def render_json(result: dict) -> str:
    return json.dumps(result, indent=2, allow_nan=False)


# rendering


def format_value(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kind == COUNT:
        return f"{value:,.0f}"
    return pct(value) if kind == SHARE else format_seconds(value)


def format_change(kind: str, change: float | None, relative: float | None) -> str:
    """``+12``, ``+3.2pp``, ``+12.0m (+8.1%)``; ``-`` when either side is unknown."""
    if change is None:
        return "-"
    if kind == COUNT:
        return f"{change:+,.0f}" if change else "0"
    if kind == SHARE:
        return f"{100 * change:+.1f}pp" if change else "0.0pp"
    if not change:
        return "0s"
    text = ("+" if change > 0 else "-") + format_seconds(abs(change))
    return text if relative is None else f"{text} ({100 * relative:+.1f}%)"


def format_p(p_value: float | None) -> str:
    """``0.528``, ``0.0496``, ``<0.001``; ``-`` when not tested."""
    if p_value is None:
        return "-"
    return "<0.001" if p_value < 0.001 else f"{p_value:.3g}"


def verdict(row: dict) -> str:
    """better, worse, no significant change; same (untested, unchanged) or nothing."""
    return row["verdict"]


def table_rows(result: dict) -> list[tuple[str, ...]]:
    """COLUMNS cells (the group first when grouped), made safe for the terminal."""
    cells = []
    for row in result["rows"]:
        figure = _BY_KEY[row["figure"]]
        line = (
            figure.label,
            format_value(figure.kind, row["a"]),
            format_value(figure.kind, row["b"]),
            format_change(figure.kind, row["change"], row["relative"]),
            format_p(row["p_value"]),
            verdict(row),
        )
        group = () if result["by"] is None else (_group_text(row["group"]),)
        cells.append(group + line)
    return cells


def _group_text(value) -> str:
    return "-" if value is None else terminal_text(value)


def header_lines(result: dict) -> list[str]:
    lines = [f"warning: {terminal_text(w)}" for w in result["warnings"]]
    for side in ("a", "b"):
        info = result[side]
        what = info["kind"] + (f", suite {info['suite']}" if info["suite"] else "")
        what += f", window {_window(info)}"
        name = info["directory"] or "-"
        lines.append(terminal_text(f"{side.upper()}: {name} ({what})"))
    if any(row["test"] for row in result["rows"]):
        lines.append(
            f"p: Fisher's exact test (shares), Mann-Whitney U (times), two-sided; better or "
            f"worse only when p < {result['alpha']:g}"
        )
    return lines


def render_text(result: dict, *, console) -> None:
    """Print the warnings and the comparison table on a rich Console (plain text when it is
    not a terminal)."""
    columns = COLUMNS if result["by"] is None else (result["by"], *COLUMNS)
    title = "Overall" if result["by"] is None else f"By {result['by']}"
    if not result["rows"]:
        title += f" (no {result['by']} groups in either run)"
    if console.is_terminal:
        _render_rich(result, console=console, columns=columns, title=title)
    else:
        _render_plain(result, console=console, columns=columns, title=title)


def _render_rich(result, *, console, columns, title) -> None:
    from rich.table import Table
    from rich.text import Text

    styles = {BETTER: "green", WORSE: "red"}
    for line in header_lines(result):
        style = "yellow" if line.startswith("warning:") else None
        console.print(Text(line, style=style or ""), highlight=False, soft_wrap=True)
    grouped = result["by"] is not None
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        numeric = (2 if grouped else 1) <= i < len(columns) - 1
        table.add_column(Text(name), justify="right" if numeric else "left")
    rows = table_rows(result)
    for i, cells in enumerate(rows):
        last = i + 1 == len(rows) or (grouped and rows[i + 1][0] != cells[0])
        texts = [Text(c) for c in cells]  # Text, not str: a brand name is never markup
        texts[-1].stylize(styles.get(cells[-1], ""))
        if grouped and i and rows[i - 1][0] == cells[0]:
            texts[0] = Text("")
        table.add_row(*texts, end_section=grouped and last)
    console.print(table)


def _render_plain(result, *, console, columns, title) -> None:
    lines = header_lines(result) + ["", title]
    table = [columns, *table_rows(result)]
    labels = 2 if result["by"] is not None else 1
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    for row in table:
        cells = [
            c.rjust(w) if labels <= i < len(row) - 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)

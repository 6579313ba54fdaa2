"""The terminal summary of a run: overall figures and a brand leaderboard.

Rich tables on a terminal, plain aligned text otherwise. Every value that comes from data
(brand names) goes through ``safe.terminal_text`` and is rendered as text, never markup.
"""

from __future__ import annotations

from socialbench.durations import format_seconds
from socialbench.measure.summaries import run_kind
from socialbench.safe import terminal_text

LEADERBOARD_COLUMNS = (
    "brand",
    "probes",
    "answered",
    "95% CI",
    "median",
    "p90",
    "≤1h",
    "link",
    "DM",
)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def ci(values: list[float] | None) -> str:
    return "-" if values is None else f"{100 * values[0]:.1f}–{100 * values[1]:.1f}%"


def _resolution_method(summary: dict) -> str:
    """Probe runs check answer keys; recorded data relies on customers confirming."""
    return "answer key" if "run" in summary else "customer confirmed"


def run_lines(summary: dict) -> list[tuple[str, str]]:
    """Probe runs: which suite, where it was sent, live or replayed, finished or not; an
    observed inbox: since and as of when, and what its platforms do not send."""
    run = summary.get("run")
    observed = summary.get("observed")
    if run is None and isinstance(observed, dict):
        since, as_of = (observed.get(k) or "?" for k in ("since", "as_of"))
        lines = [("observed", f"since {since}, as of {as_of}, {observed['events']:,} events")]
        return lines + [("note", terminal_text(note)) for note in observed.get("notes", [])]
    if run is None:
        return []
    kind = run_kind(summary)
    kind = "recording" if kind == "replay" else kind
    state = "complete" if run["complete"] else "in progress (windows still open)"
    failed = f", {len(run['failed'])} failed" if run["failed"] else ""
    return [
        ("suite", terminal_text(run["suite"])),
        ("target", f"{terminal_text(run['target'])} ({kind}), {state}"),
        ("probes planned", f"{run['planned']:,}{failed}"),
    ]


def overall_lines(summary: dict) -> list[tuple[str, str]]:
    o = summary["overall"]
    within = o["within"] or {}
    answered = f"{o['responded']:,} ({pct(o['response_rate'])}, 95% CI {ci(o['response_rate_ci'])})"
    lines = [
        ("probes", f"{o['probes']:,}"),
        ("answered", answered),
        (
            "time to first response",
            f"median {format_seconds(o['ttfr_median_s'])}, "
            f"p90 {format_seconds(o['ttfr_p90_s'])}, mean {format_seconds(o['ttfr_mean_s'])}",
        ),
        (
            "business hours",
            f"median {format_seconds(o['ttfr_business_median_s'])}, "
            f"p90 {format_seconds(o['ttfr_business_p90_s'])}",
        ),
        (
            "answered within",
            ", ".join(f"{k} {pct(within.get(k))}" for k in ("15m", "1h", "4h", "24h")),
        ),
        (
            "replies with",
            f"link {pct(o['link_rate'])}, DM {pct(o['dm_rate'])}, "
            f"phone {pct(o['phone_rate'])}, email {pct(o['email_rate'])}",
        ),
        ("acknowledgement only", pct(o["ack_only_rate"])),
        ("deflection (DM/phone/email)", pct(o["deflection_rate"])),
        (f"resolved ({_resolution_method(summary)})", pct(o["resolution_rate"])),
    ]
    return run_lines(summary) + lines + automated_lines(o) + consistency_lines(summary)


def automated_lines(o: dict) -> list[tuple[str, str]]:
    """Automated replies (bots, away messages), when some probe had one: how many probes,
    how fast, how many had nothing else, and the hand-off to a human."""
    if not o.get("automated"):
        return []
    return [
        (
            "automated replies",
            f"{o['automated']:,} probes ({pct(o.get('automated_rate'))}), "
            f"median {format_seconds(o.get('ttfa_median_s'))} after the probe",
        ),
        (
            "bot only / hand-off",
            f"{pct(o.get('bot_only_rate'))} answered only by automation, hand-off to a human "
            f"median {format_seconds(o.get('handoff_median_s'))}",
        ),
    ]


def consistency_lines(summary: dict) -> list[tuple[str, str]]:
    """Cross-channel consistency, when some brand answered a query on two channels."""
    found = (summary.get("omnichannel") or {}).get("consistency") or {}
    if not found.get("pairs"):
        return []
    return [
        (
            "consistent across channels",
            f"{found['consistent']:,} of {found['pairs']:,} questions asked on several "
            f"channels ({pct(found['consistency_rate'])}): the answer key held on all or none",
        )
    ]


def by_response_rate(rows: list[dict]) -> list[dict]:
    """Group rows by response rate, highest first (withheld rates last), then by probes."""
    return sorted(
        rows, key=lambda r: (r["response_rate"] is None, -(r["response_rate"] or 0), -r["probes"])
    )


def leaderboard_rows(summary: dict, top: int, *, text=terminal_text) -> list[tuple[str, ...]]:
    """The top brands as LEADERBOARD_COLUMNS cells; ``text`` makes a brand name safe for the
    medium (the terminal here; Markdown escapes it its own way)."""
    rows = by_response_rate(summary["groups"]["brand"])
    return [
        (
            text(r["brand"]),
            f"{r['probes']:,}",
            pct(r["response_rate"]),
            ci(r["response_rate_ci"]),
            format_seconds(r["ttfr_median_s"]),
            format_seconds(r["ttfr_p90_s"]),
            pct((r["within"] or {}).get("1h")),
            pct(r["link_rate"]),
            pct(r["dm_rate"]),
        )
        for r in rows[:top]
    ]


def render(summary: dict, *, console, top: int = 15, out_dir: str | None = None) -> None:
    """Print the summary on a rich Console (plain text when it is not a terminal)."""
    brands = len(summary["groups"]["brand"])
    title = f"Brand leaderboard (top {min(top, brands)} of {brands}; '-' = too few probes)"
    if console.is_terminal:
        _render_rich(summary, console=console, top=top, title=title)
    else:
        _render_plain(summary, console=console, top=top, title=title)
    if out_dir:
        console.print(f"written to {terminal_text(out_dir)}", markup=False, highlight=False)


def _render_rich(summary, *, console, top, title) -> None:
    from rich.table import Table
    from rich.text import Text  # cells as Text: a brand named "[bold]x[/bold]" is not markup

    overall = Table(title="Overall", show_header=False, title_justify="left")
    for label, value in overall_lines(summary):
        overall.add_row(Text(label), Text(value))
    console.print(overall)
    board = Table(title=title, title_justify="left")
    for i, name in enumerate(LEADERBOARD_COLUMNS):
        board.add_column(name, justify="left" if i == 0 else "right")
    for row in leaderboard_rows(summary, top):
        board.add_row(*(Text(cell) for cell in row))
    console.print(board)


def _render_plain(summary, *, console, top, title) -> None:
    lines = ["Overall"]
    lines += [f"  {label:<30} {value}" for label, value in overall_lines(summary)]
    lines += ["", title]
    table = [LEADERBOARD_COLUMNS, *leaderboard_rows(summary, top)]
    widths = [max(len(row[i]) for row in table) for i in range(len(LEADERBOARD_COLUMNS))]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells))
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)

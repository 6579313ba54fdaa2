"""The terminal summary, rendered by rich at a fixed width, with hostile names inert."""

from __future__ import annotations

import io

from conftest import msg, write_fixture
from rich.console import Console

from socialbench import conversations, sources
from socialbench.conversations import analyse
from socialbench.measure import metrics
from socialbench.report import terminal


def summary_of(tmp_path) -> dict:
    rows = []
    for i, brand in enumerate(["Acme", "Evil\x1b[2J\u202eCorp", "Beta"]):
        for j in range(4):
            rows.append(msg(f"{i}-{j}", f"c{i}{j}", j, f"@{brand} help"))
            if j % 2 or brand == "Acme":
                rows.append(msg(f"{i}-{j}r", brand, j + 30, "@c hi", parent=f"{i}-{j}", brand=True))
    path = write_fixture(tmp_path / "f.jsonl", rows)
    result = analyse.analyse(
        [path],
        fmt=None,
        options=sources.ReadOptions(),
        settings=conversations.Settings(),
        metric_settings=metrics.MetricSettings(window_s=7 * 86400, min_group=2),
    )
    return result.summary


def render(summary: dict, *, terminal_like: bool, top: int = 2) -> str:
    console = Console(
        file=io.StringIO(), force_terminal=terminal_like, width=100, color_system=None
    )
    terminal.render(summary, console=console, top=top, out_dir="reports/x")
    return console.file.getvalue()


def test_rich_tables_at_a_fixed_width(tmp_path):
    text = render(summary_of(tmp_path), terminal_like=True)
    # the unanswered "@Evil\x1b…" probes are named by their mention, "@Evil" (a handle is
    # letters, digits and _), the answered ones by the brand account: four brands
    assert "Overall" in text and "Brand leaderboard (top 2 of 4" in text
    assert "│" in text  # rich table borders
    assert all(len(line) <= 100 for line in text.splitlines())
    lines = [line for line in text.splitlines() if "Acme" in line]
    assert lines and "100.0%" in lines[0]  # Acme answered everything and leads the board
    assert "written to reports/x" in text


def test_plain_text_when_not_a_terminal(tmp_path):
    text = render(summary_of(tmp_path), terminal_like=False)
    assert "┃" not in text and "│" not in text
    assert "  probes                         12" in text


def test_hostile_brand_names_are_inert_in_both_renderings(tmp_path):
    summary = summary_of(tmp_path)
    for terminal_like in (True, False):
        text = render(summary, terminal_like=terminal_like, top=3)
        assert "\x1b" not in text and "\u202e" not in text
        assert "Evil\\x1b[2J\\u202eCorp" in text


def test_brand_names_are_not_read_as_rich_markup(tmp_path):
    summary = summary_of(tmp_path)
    summary["groups"]["brand"][0]["brand"] = "[bold]Loud[/bold]"
    text = render(summary, terminal_like=True, top=3)
    assert "[bold]Loud[/bold]" in text


def test_verdict_table_is_inert_in_both_renderings(tmp_path):
    from socialbench.report import verdict_terminal
    from socialbench.verdict import check
    from socialbench.verdict.thresholds import grammar

    path = write_fixture(tmp_path / "f.jsonl", [
        msg("1", "cust", 0, "@x help"),
        msg("2", "[red]Evil\x1b[2J", 5, "hi", parent="1", brand=True),
    ])  # fmt: skip
    probes = analyse.analyse(
        [path], fmt=None, options=sources.ReadOptions(), settings=conversations.Settings(),
        metric_settings=metrics.MetricSettings(window_s=7 * 86400),
    ).probes  # fmt: skip
    run = check.RunData(tmp_path, {"schema_version": 1, "min_group": 1}, probes)
    threshold = grammar.parse_option("ttfr{brand:[red]Evil\x1b[2J}: med < 1h")
    verdict = check.judge(run, [threshold])
    for terminal_like in (True, False):
        console = Console(file=io.StringIO(), force_terminal=terminal_like, width=120,
                          color_system=None)  # fmt: skip
        verdict_terminal.render(verdict, console=console)
        text = console.file.getvalue()
        assert "\x1b" not in text
        assert "brand:[red]Evil\\x1b[2J" in text and "PASS" in text


def test_automated_replies_get_their_lines_only_when_there_are_some(tmp_path):
    plain = render(summary_of(tmp_path), terminal_like=False)
    assert "automated replies" not in plain and "bot only" not in plain
    summary = summary_of(tmp_path)
    summary["overall"] |= {"automated": 3, "automated_rate": 0.25, "ttfa_median_s": 12.0,
                           "bot_only_rate": 0.125, "handoff_median_s": 5400.0}  # fmt: skip
    text = render(summary, terminal_like=False)
    assert "3 probes (25.0%), median 12s after the probe" in text
    assert "12.5% answered only by automation, hand-off to a human median 1.5h" in text


def test_consistency_across_channels_gets_a_line_only_when_there_are_pairs(tmp_path):
    summary = summary_of(tmp_path)
    assert summary["omnichannel"]["consistency"]["pairs"] == 0
    assert "consistent across channels" not in render(summary, terminal_like=False)
    summary["omnichannel"]["consistency"] |= {"pairs": 8, "consistent": 6,
                                              "consistency_rate": 0.75}  # fmt: skip
    text = render(summary, terminal_like=False)
    assert "6 of 8 questions asked on several channels (75.0%)" in text

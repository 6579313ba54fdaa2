"""socialbench compare: the differences between two finished runs, from their summary.json."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from socialbench.errors import InputError, UsageError
from socialbench.measure import compare

SYNTH = Path(__file__).with_name("synth.py")


def synth_run(folder, *, seed: int, window: str | None = None):
    """A real run folder: a small synthetic archive of ``seed`` through ``socialbench run``."""
    from socialbench.cli import main

    folder.mkdir()
    archive = folder / f"seed{seed}.csv"
    subprocess.run(
        [sys.executable, str(SYNTH), "--conversations", "300", "--brands", "4",
         "--seed", str(seed), "-o", str(archive)],
        check=True, capture_output=True,
    )  # fmt: skip
    args = ["run", "--fixtures", str(archive), "--out", str(folder / "run"), "--quiet"]
    result = CliRunner().invoke(main, args + (["--window", window] if window else []))
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Seeds 3 and 1 share one brand (AcmeCare) and have three each of their own."""
    root = tmp_path_factory.mktemp("runs")
    return {
        "a": synth_run(root / "a", seed=3),
        "b": synth_run(root / "b", seed=1),
        "b3d": synth_run(root / "b3d", seed=1, window="3d"),
    }


def summary(folder) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def lookup(row: dict, key: str):
    for part in key.split("."):
        row = row[part]
    return row


def render(result: dict, *, terminal_like: bool) -> str:
    console = Console(
        file=io.StringIO(), force_terminal=terminal_like, width=120, color_system=None
    )
    compare.render_text(result, console=console)
    return console.file.getvalue()


def hand_summary(brands: list[str], **extra) -> dict:
    row = {"probes": 20, "responded": 10, "response_rate": 0.5, "within": {"1h": 0.25}}
    return {
        "schema_version": 1,
        "window_s": 604800,
        "min_group": 10,
        "overall": row,
        "groups": {"brand": [{"brand": name, **row} for name in brands]},
        **extra,
    }


def test_every_change_is_b_minus_a(runs):
    a, b = summary(runs["a"]), summary(runs["b"])
    result = compare.compare_runs(runs["a"], runs["b"])
    assert [r["figure"] for r in result["rows"]] == [f.key for f in compare.FIGURES]
    for row in result["rows"]:
        x, y = lookup(a["overall"], row["figure"]), lookup(b["overall"], row["figure"])
        assert (row["group"], row["a"], row["b"]) == (None, x, y)
        assert row["change"] == y - x
        assert row["relative"] == (None if x == 0 else (y - x) / abs(x))
    assert result["a"] == {
        "directory": "run", "kind": "recorded", "suite": None, "complete": None,
        "window_s": a["window_s"],
    }  # fmt: skip
    assert result["by"] is None and result["warnings"] == []


def test_better_follows_each_figures_direction(runs):
    a, b = summary(runs["a"])["overall"], summary(runs["b"])["overall"]
    rows = {r["figure"]: r for r in compare.compare_runs(runs["a"], runs["b"])["rows"]}
    assert b["ttfr_median_s"] < a["ttfr_median_s"]  # B answers faster: better
    assert rows["ttfr_median_s"]["better"] is True
    assert b["dm_rate"] > a["dm_rate"]  # B moves more replies to DM: worse
    assert rows["dm_rate"]["better"] is False
    assert b["response_rate"] > a["response_rate"] and rows["response_rate"]["better"] is True
    assert a["probes"] == b["probes"] and rows["probes"]["better"] is None  # unchanged
    text = render(compare.compare_runs(runs["a"], runs["b"]), terminal_like=False)
    assert [line for line in text.splitlines() if "moving to DM" in line][0].endswith("worse")
    assert [line for line in text.splitlines() if "probes  " in line][0].endswith("same")


def test_by_brand_lists_the_brands_of_both_runs(runs):
    a, b = summary(runs["a"]), summary(runs["b"])
    brands_a = [r["brand"] for r in a["groups"]["brand"]]
    brands_b = [r["brand"] for r in b["groups"]["brand"]]
    shared = set(brands_a) & set(brands_b)
    assert shared == {"AcmeCare"}
    result = compare.compare_runs(runs["a"], runs["b"], by="brand")
    assert result["by"] == "brand"
    groups = list(dict.fromkeys(r["group"] for r in result["rows"]))
    assert groups == brands_a + [x for x in brands_b if x not in brands_a]
    only_a, only_b = brands_a[-1], brands_b[-1]
    for row in result["rows"]:
        if row["group"] == only_a:
            assert row["a"] is not None or row["figure"] != "probes"
            assert (row["b"], row["change"], row["better"]) == (None, None, None)
        if row["group"] == only_b:
            assert (row["a"], row["change"], row["relative"]) == (None, None, None)
        if row["group"] == "AcmeCare" and row["figure"] == "probes":
            [ra] = [r for r in a["groups"]["brand"] if r["brand"] == "AcmeCare"]
            [rb] = [r for r in b["groups"]["brand"] if r["brand"] == "AcmeCare"]
            assert row["change"] == rb["probes"] - ra["probes"]
    text = render(result, terminal_like=False)
    assert all(name in text for name in brands_a + brands_b)


def test_warns_when_the_windows_differ(runs):
    result = compare.compare_runs(runs["a"], runs["b3d"])
    assert result["b"]["window_s"] == 3 * 86400
    [warning] = result["warnings"]
    assert "different windows" in warning and "7.0d" in warning and "3.0d" in warning
    assert render(result, terminal_like=False).startswith("warning: different windows")


def test_warns_on_kind_suite_and_incomplete_runs():
    def probe_run(**run):
        return hand_summary(["acme"], run={"suite": "demo", "target": "sandbox", "live": False,
                                           "complete": True, **run})  # fmt: skip

    assert compare.compare(probe_run(), probe_run())["warnings"] == []
    replay, live = probe_run(target="fixture"), probe_run(target="x", live=True)
    result = compare.compare(replay, live)
    assert (result["a"]["kind"], result["b"]["kind"]) == ("replay", "live")
    assert result["warnings"] == ["different kinds of run: A is replay, B is live"]
    assert compare.compare(hand_summary(["acme"]), probe_run())["warnings"] == [
        "different kinds of run: A is recorded, B is simulated"
    ]
    [suites] = compare.compare(probe_run(), probe_run(suite="other"))["warnings"]
    assert "different suites" in suites and "other" in suites
    [incomplete] = compare.compare(probe_run(), probe_run(complete=False))["warnings"]
    assert incomplete.startswith("B is incomplete")


def test_hostile_brand_names_are_inert(tmp_path):
    evil, loud = "\x1b[31m<b>evil</b>|", "[bold]loud[/bold]\u202e"
    a = hand_summary(["acme", evil])
    b = hand_summary(["acme", loud])
    result = compare.compare(a, b, by="brand", names=("\x1b]0;title\x07", None))
    for terminal_like in (False, True):
        text = render(result, terminal_like=terminal_like)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b[31m<b>evil</b>|" in text
        assert "[bold]loud[/bold]\\u202e" in text  # printed as text, never as rich markup
        assert "A: \\x1b]0;title\\x07 (recorded" in text
    assert json.loads(compare.render_json(result)) == result
    assert "\x1b" not in compare.render_json(result)


@pytest.mark.parametrize(
    ("kind", "change", "relative", "text"),
    [
        pytest.param("count", 12, 0.5, "+12", id="count"),
        pytest.param("count", -1200, -0.5, "-1,200", id="count-negative"),
        pytest.param("share", 0.032, 0.1, "+3.2pp", id="share"),
        pytest.param("share", -0.5, -1.0, "-50.0pp", id="share-negative"),
        pytest.param("seconds", 720, 0.081, "+12.0m (+8.1%)", id="seconds"),
        pytest.param("seconds", -7200, -0.5, "-2.0h (-50.0%)", id="seconds-negative"),
        pytest.param("seconds", 30, None, "+30s", id="seconds-from-zero"),
        pytest.param("seconds", 0, 0.0, "0s", id="seconds-unchanged"),
        pytest.param("share", None, None, "-", id="unknown"),
    ],
)
def test_changes_are_formatted_by_kind(kind, change, relative, text):
    assert compare.format_change(kind, change, relative) == text


def test_plain_table_is_aligned_and_rich_fits_the_width(runs):
    result = compare.compare_runs(runs["a"], runs["b"])
    text = render(result, terminal_like=False)
    assert "┃" not in text and "│" not in text
    lines = text.splitlines()
    start = lines.index("Overall") + 1
    table = lines[start : start + 1 + len(compare.FIGURES)]
    assert table[0].split() == ["figure", "A", "B", "change"]
    numbers_end = {len(line.removesuffix(verdict(line)).rstrip()) for line in table}
    assert len(numbers_end) == 1  # the change column is right-aligned
    rich_text = render(result, terminal_like=True)
    assert "│" in rich_text and all(len(line) <= 120 for line in rich_text.splitlines())


def verdict(line: str) -> str:
    return next((w for w in ("better", "worse", "same") if line.endswith(w)), "")


def test_missing_folder_file_or_bad_json_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such folder") as info:
        compare.read_summary(tmp_path / "nowhere")
    assert info.value.path == str(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no summary.json here"):
        compare.compare_runs(tmp_path, tmp_path)
    (tmp_path / "summary.json").write_text('{"schema_version": 1, ', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as info:
        compare.read_summary(tmp_path)
    assert info.value.path == str(tmp_path / "summary.json")
    (tmp_path / "summary.json").write_text('{"schema_version": 2}', encoding="utf-8")
    with pytest.raises(InputError, match="schema_version 1"):
        compare.read_summary(tmp_path)


def test_unknown_group_is_a_usage_error():
    with pytest.raises(UsageError, match="'region' is not a group"):
        compare.compare(hand_summary([]), hand_summary([]), by="region")


def test_groups_missing_from_both_runs_give_no_rows():
    result = compare.compare(hand_summary(["acme"]), hand_summary(["acme"]), by="category")
    assert result["rows"] == []
    assert "no category groups in either run" in render(result, terminal_like=False)


def test_importing_compare_does_not_import_pandas():
    code = "import socialbench.measure.compare, sys; assert 'pandas' not in sys.modules, 'pandas'"
    subprocess.run([sys.executable, "-c", code], check=True)

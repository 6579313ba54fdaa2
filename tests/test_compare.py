"""socialbench compare: the differences between two finished runs, from their summary.json."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console
from scipy import stats

from socialbench.errors import InputError, UsageError
from socialbench.measure import compare, significance

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
    assert table[0].split() == ["figure", "A", "B", "change", "p"]
    numbers_end = {len(line.removesuffix(verdict(line)).rstrip()) for line in table}
    assert len(numbers_end) == 1  # the change column is right-aligned
    rich_text = render(result, terminal_like=True)
    assert "│" in rich_text and all(len(line) <= 120 for line in rich_text.splitlines())


def verdict(line: str) -> str:
    words = ("better", "worse", "same", "no significant change")
    return next((w for w in words if line.endswith(w)), "")


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


def test_importing_compare_does_not_import_pandas_or_scipy():
    code = (
        "import socialbench.measure.compare, sys; "
        "assert not {'pandas', 'scipy'} & set(sys.modules), 'pandas or scipy'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- significance -----------------------------------------------------------------------------


def fixture_run(folder: Path, *, probes: int, minutes: list[float]) -> Path:
    """A recorded run of ``probes`` probes to one brand, the first ``len(minutes)`` answered
    after those many minutes, through ``socialbench run``."""
    from conftest import msg, write_fixture

    from socialbench.cli import main

    rows = []
    for n in range(probes):
        start = n * 20_000  # two weeks apart: every window closes before the next probe
        rows.append(msg(f"{n}0", f"cust{n}", start, "@AcmeHelp my order is late"))
        if n < len(minutes):
            rows.append(msg(f"{n}1", "AcmeHelp", start + minutes[n], "Sorry! Looking into it.",
                            parent=f"{n}0", brand=True))  # fmt: skip
    folder.mkdir(parents=True)
    fixture = write_fixture(folder / "probes.jsonl", rows)
    result = CliRunner().invoke(
        main, ["run", "--fixtures", str(fixture), "--out", str(folder / "run"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return folder / "run"


def minutes(n: int, *, median: float, seed: int) -> list[float]:
    """``n`` response times (whole minutes, lognormal around ``median``)."""
    rng = np.random.default_rng(seed)
    return [float(round(m)) + 1 for m in rng.lognormal(np.log(median), 1.0, n)]


def by_figure(result: dict) -> dict:
    return {row["figure"]: row for row in result["rows"]}


@pytest.fixture(scope="module")
def chance(tmp_path_factory):
    """The issue's case: the same suite twice, 52 then 55 of 59 probes answered, the times
    drawn from the same distribution."""
    root = tmp_path_factory.mktemp("chance")
    a = fixture_run(root / "a", probes=59, minutes=minutes(52, median=60, seed=1))
    b = fixture_run(root / "b", probes=59, minutes=minutes(55, median=60, seed=2))
    return a, b


def test_a_difference_by_chance_is_no_significant_change(chance):
    result = compare.compare_runs(*chance)
    rows = by_figure(result)
    rate = rows["response_rate"]
    assert (rate["a"], rate["b"]) == (pytest.approx(52 / 59), pytest.approx(55 / 59))
    assert compare.format_change("share", rate["change"], None) == "+5.1pp"
    assert rate["test"] == "fisher"
    assert rate["p_value"] == pytest.approx(stats.fisher_exact([[52, 7], [55, 4]]).pvalue)
    assert rate["p_value"] > 0.5
    assert (rate["significant"], rate["better"], rate["verdict"]) == (
        False, None, "no significant change"
    )  # fmt: skip
    for key in ("ttfr_median_s", "ttfr_p90_s", "ttfr_mean_s"):
        row = rows[key]
        assert row["test"] == "mann-whitney" and row["p_value"] > 0.05
        assert row["verdict"] == "no significant change" and row["better"] is None
    assert rows["ttfr_median_s"]["p_value"] == rows["ttfr_p90_s"]["p_value"]  # one test
    line = next(x for x in render(result, terminal_like=False).splitlines() if "response r" in x)
    assert line.split()[-5:] == ["+5.1pp", f"{rate['p_value']:.3g}", "no", "significant",
                                 "change"]  # fmt: skip


def test_json_carries_the_test_and_its_p_value(chance):
    doc = json.loads(compare.render_json(compare.compare_runs(*chance)))
    assert doc["alpha"] == 0.05
    for row in doc["rows"]:
        assert {"test", "p_value", "significant", "better", "verdict"} <= set(row)
        if row["figure"] in ("probes", "responded"):  # counts follow how many were sent
            assert row["test"] is None and row["p_value"] is None
        elif row["a"] is not None and row["b"] is not None:
            assert row["test"] in ("fisher", "mann-whitney") and 0 <= row["p_value"] <= 1


@pytest.fixture(scope="module")
def slow_and_fast(tmp_path_factory):
    """20 of 59 probes answered after about 10 hours, then 55 after about 10 minutes."""
    root = tmp_path_factory.mktemp("change")
    slow = fixture_run(root / "slow", probes=59, minutes=minutes(20, median=600, seed=3))
    fast = fixture_run(root / "fast", probes=59, minutes=minutes(55, median=10, seed=4))
    return slow, fast


@pytest.mark.parametrize("order, word", [("slow-fast", "better"), ("fast-slow", "worse")])
def test_a_large_difference_is_better_or_worse_with_p_below_alpha(slow_and_fast, order, word):
    a, b = slow_and_fast if order == "slow-fast" else slow_and_fast[::-1]
    result = compare.compare_runs(a, b)
    rows = by_figure(result)
    for key in ("response_rate", "ttfr_median_s", "ttfr_p90_s", "ttfr_mean_s", "within.1h"):
        row = rows[key]
        assert row["p_value"] < 0.05 and row["significant"] is True, key
        assert (row["verdict"], row["better"]) == (word, word == "better"), key
    na, nb = (summary(run)["overall"]["responded"] for run in (a, b))
    assert rows["response_rate"]["p_value"] == pytest.approx(
        stats.fisher_exact([[na, 59 - na], [nb, 59 - nb]]).pvalue
    )
    text = render(result, terminal_like=False)
    assert "p: Fisher's exact test (shares), Mann-Whitney U (times)" in text
    assert [x for x in text.splitlines() if "response rate" in x][0].endswith(word)


def test_alpha_sets_the_level(slow_and_fast, chance):
    p_value = by_figure(compare.compare_runs(*chance))["response_rate"]["p_value"]
    lenient = by_figure(compare.compare_runs(*chance, alpha=0.9))["response_rate"]
    assert lenient["significant"] is (p_value < 0.9) and lenient["verdict"] == "better"
    strict = compare.compare_runs(*slow_and_fast, alpha=1e-30)
    assert by_figure(strict)["ttfr_p90_s"]["verdict"] == "no significant change"
    assert strict["alpha"] == 1e-30
    for alpha in (0, 1, 1.5, -0.1):
        with pytest.raises(UsageError, match="--alpha"):
            compare.compare_runs(*chance, alpha=alpha)


def hand_run(answered: int, probes: int, times: list[float], **overall) -> tuple[dict, object]:
    """A summary and its probe table, by hand: ``answered`` of ``probes`` answered after
    ``times`` seconds."""
    import pandas as pd

    values = np.array(times, dtype=float)
    row = {"probes": probes, "responded": answered, "response_rate": answered / probes,
           "ttfr_median_s": float(np.quantile(values, 0.5)),
           "ttfr_p90_s": float(np.quantile(values, 0.9)), "ttfr_mean_s": float(values.mean()),
           **overall}  # fmt: skip
    frame = pd.DataFrame(
        {
            "brand": "acme",
            "responded": [True] * answered + [False] * (probes - answered),
            "ttfr_s": list(values) + [None] * (probes - answered),
        }
    )
    summary = hand_summary(["acme"])
    summary["overall"] = row
    summary["groups"]["brand"] = [{"brand": "acme", **row}]
    return summary, significance.samples_of(frame)


def test_a_time_figure_that_moved_against_the_test_is_not_called_a_change():
    """B's times tend to be shorter (most answers at 50 s), but a tenth wait 10,000 s: its
    median fell, its p(90) and mean rose. The test speaks for the median only."""
    a, sa = hand_run(100, 100, list(np.linspace(100, 200, 100)))
    b, sb = hand_run(100, 100, [50.0] * 90 + [10_000.0] * 10)
    rows = by_figure(compare.compare(a, b, samples=(sa, sb)))
    median, p90, mean = rows["ttfr_median_s"], rows["ttfr_p90_s"], rows["ttfr_mean_s"]
    assert median["p_value"] < 0.001 and median["verdict"] == "better"
    assert p90["change"] > 0 and mean["change"] > 0
    for row in (p90, mean):
        assert row["p_value"] == median["p_value"] and row["significant"] is True
        assert (row["verdict"], row["better"]) == ("no significant change", None)


def test_only_the_samples_behind_the_figures_are_tested():
    """A share that is not the plain share of its counts (Kaplan–Meier, while probes are
    still watched) or times not of every answered probe are left untested."""
    a, sa = hand_run(10, 20, [60.0] * 10, **{"within": {"1h": 0.5}})
    b, sb = hand_run(10, 20, [60.0] * 10, **{"within": {"1h": 0.45}})  # KM: not 10/20
    b["overall"]["responded"] = 11  # the summary saw one more answer than the probe table
    rows = by_figure(compare.compare(a, b, samples=(sa, sb)))
    assert rows["within.1h"]["change"] == pytest.approx(-0.05)
    assert rows["within.1h"]["test"] is None and rows["within.1h"]["verdict"] == ""
    assert rows["ttfr_median_s"]["test"] is None
    assert rows["response_rate"]["test"] == "fisher"


def test_without_a_probe_table_nothing_is_tested(chance, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(chance[1], b)
    (b / "probes.csv").unlink()
    result = compare.compare_runs(chance[0], b)
    assert "B has no probe table (probes.csv): its differences are not tested" in result["warnings"]
    assert all(row["test"] is None and row["better"] is None for row in result["rows"])
    assert "p: Fisher" not in render(result, terminal_like=False)


def test_groups_are_tested_on_their_own_probes(runs):
    """--by brand: the one brand both runs have is tested on its own probes; the others
    have nothing to compare with."""
    result = compare.compare_runs(runs["a"], runs["b"], by="brand")
    tested = {row["group"] for row in result["rows"] if row["test"]}
    assert tested == {"AcmeCare"}
    a, b = summary(runs["a"]), summary(runs["b"])
    [ra] = [r for r in a["groups"]["brand"] if r["brand"] == "AcmeCare"]
    [rb] = [r for r in b["groups"]["brand"] if r["brand"] == "AcmeCare"]
    rate = next(r for r in result["rows"] if r["group"] == "AcmeCare"
                and r["figure"] == "response_rate")  # fmt: skip
    table = [[ra["responded"], ra["probes"] - ra["responded"]],
             [rb["responded"], rb["probes"] - rb["responded"]]]  # fmt: skip
    assert rate["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue)


def test_hours_are_matched_as_numbers(runs):
    result = compare.compare_runs(runs["a"], runs["a"], by="hour")
    rates = [r for r in result["rows"] if r["figure"] == "response_rate" and r["a"] is not None]
    assert rates and all(r["p_value"] == 1.0 for r in rates)
    assert all(r["verdict"] == "no significant change" for r in rates)

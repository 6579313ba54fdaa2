"""The command line as a user drives it: outputs, exit codes, messages, help."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import msg, write_fixture

from socialbench import conversations
from socialbench.cli import main
from socialbench.measure import metrics

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def fixture_file(tmp_path):
    rows = []
    for i in range(12):
        rows.append(msg(f"c{i}", f"cust{i}", i * 10, "@Acme my order is late", followers=100 * i))
        if i % 3:
            rows.append(
                msg(f"b{i}", "Acme", i * 10 + i, "@cust Please DM us", parent=f"c{i}", brand=True)
            )
    rows.append(msg("z", "cust", 0, "@Zed hello"))
    return write_fixture(tmp_path / "recorded.jsonl", rows)


def test_run_writes_probe_table_and_summary(tmp_path, fixture_file):
    out = tmp_path / "out"
    result = invoke("run", "--fixtures", fixture_file, "--out", out)
    assert result.exit_code == 0, result.output
    with open(out / "probes.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0])[:20] == list(conversations.PROBE_COLUMNS)
    assert len(table) == 13
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 1 and summary["window_s"] == 604800
    assert set(metrics.AGGREGATE_KEYS) <= set(summary["overall"])
    assert set(summary["groups"]) >= {
        "brand",
        "channel",
        "surface",
        "category",
        "persona",
        "follower_tier",
        "weekday",
        "hour",
    }
    acme = next(r for r in summary["groups"]["brand"] if r["brand"] == "Acme")
    assert (acme["probes"], acme["responded"], acme["dm_rate"]) == (12, 8, None)  # 8 < min-group
    assert summary["overall"]["dm_rate"] is None
    assert "Overall" in result.output and "Acme" in result.output


def test_min_group_and_window_options(tmp_path, fixture_file):
    out = tmp_path / "out"
    result = invoke(
        "run", "--fixtures", fixture_file, "--out", out, "--min-group", "1", "--window", "5m", "-q"
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    summary = json.loads((out / "summary.json").read_text())
    acme = next(r for r in summary["groups"]["brand"] if r["brand"] == "Acme")
    assert summary["window_s"] == 300
    assert acme["responded"] == 4 and acme["dm_rate"] == 1.0  # replies after 5 minutes dropped


def test_default_output_folder_is_under_reports(tmp_path, fixture_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--fixtures", fixture_file, "-q")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "reports").iterdir()
    assert folder.name.startswith("recorded-") and (folder / "summary.json").exists()


def test_several_files_and_formats_in_one_run(tmp_path, fixture_file):
    twcs = tmp_path / "t.csv"
    twcs.write_text(HEADER + "\n1,115,True,2024-03-04T09:00:00Z,@Other hi,,\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", "--fixtures", fixture_file, twcs, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [s["format"] for s in summary["sources"]] == ["fixture", "twcs"]
    assert summary["overall"]["probes"] == 14


@pytest.mark.parametrize(
    ("make", "options", "message"),
    [
        pytest.param(lambda p: None, [], "no such file", id="missing"),
        pytest.param(lambda p: p.write_text(""), [], "the file is empty", id="empty"),
        pytest.param(lambda p: p.write_text("hello world\n"), [], "unknown format", id="unknown"),
        pytest.param(
            lambda p: p.write_text('{"id": "1", "author": "a", "created_at": "x"}\n'),
            [],
            ":1: created_at: unparseable timestamp",
            id="bad-time",
        ),
        pytest.param(
            lambda p: p.write_text(
                '{"id": "1", "author": "a", "created_at": "2024-01-01T00:00:00Z"}\n{"id": \n'
            ),
            [],
            ":2: broken JSON",
            id="broken-json",
        ),
        pytest.param(
            lambda p: p.write_bytes(b'{"id": "1", "author": "\xff", "created_at": "2024"}\n'),
            [],
            ":1: text is not UTF-8",
            id="not-utf8",
        ),
        pytest.param(
            lambda p: p.write_text(HEADER + "\n"),
            ["--window", "soon"],
            "--window: 'soon' is not a duration",
            id="bad-window",
        ),
        pytest.param(
            lambda p: p.write_text("a,b\n1,2\n"),
            ["--map", "id=a,author"],
            "--map: 'author' is not TARGET=COLUMN",
            id="bad-map",
        ),
    ],
)
def test_bad_input_is_one_clear_message_and_writes_nothing(tmp_path, make, options, message):
    path = tmp_path / "input.jsonl"
    make(path)
    out = tmp_path / "out"
    result = invoke("run", "--fixtures", path, "--out", out, *options)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_brand_book_errors_name_file_line_and_field(tmp_path, fixture_file):
    book = tmp_path / "brands.yaml"
    book.write_text(
        "brands:\n  - name: Acme\n    handles: [Acme]\n    hours:\n      timezone: Mars/Olympus\n"
    )
    result = invoke("run", "--fixtures", fixture_file, "--brands", book, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert f"{book}:5: brands.0.hours.timezone:" in result.output
    assert "Mars/Olympus" in result.output


def test_skip_bad_rows_says_how_many_and_where(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\n1,115,True,2024-03-04T09:00:00Z,@Acme hi,,\n2,115,True,never,x,,\n")
    result = invoke("run", "--fixtures", path, "--out", tmp_path / "o", "--skip-bad-rows")
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad row(s)" in result.output and f"{path}:3: unparseable" in result.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["skipped_rows"] == 1


def test_run_without_input_is_a_usage_error():
    result = invoke("run")
    assert result.exit_code == 2 and "--fixtures" in result.output


def test_validate_reports_what_it_found(fixture_file):
    result = invoke("validate", fixture_file)
    assert result.exit_code == 0, result.output
    assert "fixture, 21 messages" in result.output
    assert "probes:         13" in result.output and "brand accounts: 1" in result.output
    as_json = json.loads(invoke("validate", fixture_file, "--json").output)
    assert (as_json["messages"], as_json["probes"], as_json["conversations"]) == (21, 13, 13)


def test_hostile_names_are_inert_in_the_terminal(tmp_path):
    path = write_fixture(
        tmp_path / "f.jsonl",
        [
            msg("1", "cust", 0, "@x hi"),
            msg("2", "Evil\x1b[31m\u202eCorp", 1, "hi", parent="1", brand=True),
        ],
    )
    result = invoke("run", "--fixtures", path, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Evil\\x1b[31m\\u202eCorp" in result.output


@pytest.mark.parametrize("command", [[], ["run"], ["validate"]])
def test_every_help_shows_an_example(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output


def test_help_does_not_import_pandas():
    code = (
        "import sys\nfrom socialbench.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\nprint('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False")


def test_the_console_entry_exits_with_the_run_s_code_and_its_output_flushed(tmp_path):
    """``python -m socialbench`` ends an archive run without the interpreter's teardown
    (``cli.entry``): what it printed must still arrive, and the exit code be the run's."""
    archive = tmp_path / "t.csv"
    archive.write_text(
        HEADER + "\n1,115,True,Tue Oct 31 22:10:47 +0000 2017,@Acme hi,,\n"
        "2,Acme,False,Tue Oct 31 22:11:47 +0000 2017,@115 DM us,,1\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "socialbench", "run", "--fixtures"]
    done = subprocess.run([*command, archive, "--out", tmp_path / "out"], capture_output=True,
                          text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Acme" in done.stdout and "written to" in done.stdout
    assert (tmp_path / "out" / "probes.csv").read_text().count("\n") == 2
    bad = subprocess.run([*command, tmp_path / "missing.csv"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "missing.csv: no such file" in bad.stderr


# ------------------------------------------------------------------ engine options


def test_engine_options_give_the_same_figures(tmp_path, fixture_file):
    default = tmp_path / "default"
    capped = tmp_path / "capped"
    assert invoke("run", "--fixtures", fixture_file, "--out", default, "-q").exit_code == 0
    result = invoke(
        "run", "--fixtures", fixture_file, "--out", capped, "-q", "--threads", "1",
        "--memory-limit", "256MB", "--temp-dir", tmp_path / "spill",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (default / "probes.csv").read_bytes() == (capped / "probes.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--memory-limit", "lots"], "--memory-limit: 'lots' is not a size",
                     id="memory-limit"),
        pytest.param(["--threads", "0"], "--threads", id="threads"),
        pytest.param(["--engine", "oracle"], "--engine", id="engine"),
        pytest.param(["--spark-master", "spark://h:7077"], "--spark-master needs --engine spark",
                     id="master-without-spark"),
    ],
)  # fmt: skip
def test_bad_engine_options_are_usage_errors(tmp_path, fixture_file, args, message):
    result = invoke("run", "--fixtures", fixture_file, "--out", tmp_path / "o", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("option", "value", "flag"),
    [("--threads", "2", "--threads"), ("--temp-dir", "spill", "--temp-dir"),
     ("--brands", "brands.yaml", "--brands"), ("--format", "twcs", "--format")],
)  # fmt: skip
def test_archive_options_are_refused_with_a_suite_by_their_own_name(tmp_path, option, value, flag):
    result = invoke("run", "scenarios/demo.yaml", option, value, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert f"run: {flag} apply to recorded conversations" in result.output


def test_validate_takes_engine_options(fixture_file):
    result = invoke("validate", fixture_file, "--threads", "1", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert (found["probes"], found["messages"]) == (13, 21)


def test_a_reply_loop_is_one_line_and_exit_code_2(tmp_path):
    path = write_fixture(
        tmp_path / "loop.jsonl",
        [msg(1, "cust", 0, "a", parent=3), msg(2, "cust", 1, "b", parent=1),
         msg(3, "Acme", 2, "c", parent=2, brand=True)],
    )  # fmt: skip
    result = invoke("run", "--fixtures", path, "--out", tmp_path / "o")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "reply loop" in lines[0] and "loop.jsonl" in lines[0]
    assert not (tmp_path / "o").exists()


def test_an_archive_run_does_not_import_pandas(tmp_path):
    """An archive run needs no pandas frame: its text rules, summary, terminal summary and
    probes.csv convert between numpy and Arrow through buffers (``measure.arrays``), which
    keeps pandas' import (about 0.4 s on one core) out of every archive's start-up."""
    archive = tmp_path / "t.csv"
    archive.write_text(
        HEADER + "\n1,115,True,Tue Oct 31 22:10:47 +0000 2017,@Acme hi,,\n"
        "2,Acme,False,Tue Oct 31 22:11:47 +0000 2017,@115 Sorry! DM us,,1\n"
        "3,115,True,Tue Oct 31 22:15:47 +0000 2017,@Acme thanks that worked,,2\n",
        encoding="utf-8",
    )
    args = ["run", "--fixtures", str(archive), "--out", str(tmp_path / "o")]
    code = (
        f"import sys\nfrom socialbench.cli import main\ntry:\n    main({args!r})\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False"), out.stdout[-2000:]
    assert "Acme" in out.stdout
    with open(tmp_path / "o" / "probes.csv", newline="", encoding="utf-8") as f:
        (probe,) = csv.DictReader(f)
    assert (probe["probe_id"], probe["brand"], probe["ttfr_s"]) == ("1", "Acme", "60")
    assert (probe["dm"], probe["link"], probe["resolved"]) == ("true", "false", "true")

"""The suite commands as a user drives them: validate, schema, init, the errors a bad suite or
a misused option gives, two processes on one run directory, and the help's examples."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from socialbench import scenarios
from socialbench.cli import main
from socialbench.probing import sandbox

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
SMALL = DATA / "suites" / "run_small.yaml"

# A valid suite; the bad-suite cases below edit one line each.
BASE = """\
suite: base
window: 6h
brands:
  - id: acme
    name: Acme Air
    handles: {x: AcmeAir}
personas:
  - id: small
    handles: {x: jo_small}
    followers: 250
    credentials: {x: SB_X_TOKEN_SMALL}
  - id: big
    handles: {x: sam_big}
    followers: 25000
    credentials: {x: SB_X_TOKEN_BIG}
queries:
  - id: late
    category: delivery
    channels: [x]
    personas: [small, big]
    text: "my order {{ order }} hasn't arrived"
    variables:
      order: ["#1", "#2"]
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write_suite(tmp_path: Path, text: str = BASE, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of ``text`` holding ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


# -- validate, schema, init ---------------------------------------------------------------


def test_validate_prints_counts_per_brand_channel_and_surface():
    result = invoke("validate", DEMO)
    assert result.exit_code == 0, result.output
    suite = scenarios.load_suite(DEMO)
    probes = scenarios.expand(suite)
    first, *rows = result.output.splitlines()
    assert first == f"{DEMO}: suite demo, {len(probes):,} probes, 8 threshold(s)"
    printed = []
    for row in rows:
        brand, channel, surface, count = row.split()
        printed.append((brand, channel, surface, int(count.replace(",", ""))))
    assert printed == scenarios.counts(probes)
    assert sum(row[3] for row in printed) == len(probes)
    assert {row[2] for row in printed} == {"public", "private"}


def test_validate_json():
    result = invoke("validate", DEMO, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    probes = scenarios.expand(scenarios.load_suite(DEMO))
    assert (found["suite"], found["probes"]) == ("demo", len(probes))
    rows = [(r["brand"], r["channel"], r["surface"], r["probes"]) for r in found["by_brand"]]
    assert rows == scenarios.counts(probes)


def test_schema_describes_the_suite_file():
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"suite", "brands", "personas", "queries"} <= set(schema["properties"])
    assert {"suite", "brands", "personas", "queries"} <= set(schema["required"])


def test_init_writes_a_suite_that_validates_and_never_overwrites(tmp_path):
    directory = tmp_path / "bench"
    result = invoke("init", directory)
    assert result.exit_code == 0, result.output
    suite = directory / "suite.yaml"
    assert f"socialbench validate {suite}" in result.output
    checked = invoke("validate", suite)
    assert checked.exit_code == 0, checked.output
    count = len(scenarios.expand(scenarios.load_suite(suite)))
    assert checked.output.splitlines()[0] == (
        f"{suite}: suite starter, {count:,} probes, 4 threshold(s)"
    )
    assert count > 0

    edited = suite.read_text(encoding="utf-8") + "# my own notes\n"
    suite.write_text(edited, encoding="utf-8")
    again = invoke("init", directory)
    assert again.exit_code == 2, again.output
    assert "already exists" in again.output
    assert suite.read_text(encoding="utf-8") == edited


# -- bad suites -----------------------------------------------------------------------------

BAD_SUITES = [
    pytest.param(
        ("    name: Acme Air\n", "    name: Acme Air\n    colour: blue\n"),
        "colour: blue",
        "brands.0.colour: unknown key",
        id="unknown-key",
    ),
    pytest.param(
        ('    variables:\n      order: ["#1", "#2"]\n', ""),
        "text: ",
        "queries.0.text.0: query 'late' variant 0: undefined template variable: "
        "'order' is undefined",
        id="undefined-template-variable",
    ),
    pytest.param(
        ("personas: [small, big]", "personas: [small, nobody]"),
        "personas: [small, nobody]",
        "queries.0.personas.1: unknown persona 'nobody' (known: small, big)",
        id="unknown-persona",
    ),
]


@pytest.mark.parametrize("command", [["validate"], ["run"]], ids=["validate", "run"])
@pytest.mark.parametrize(("edit", "at", "problem"), BAD_SUITES)
def test_bad_suite_is_one_message_with_file_line_and_field(tmp_path, command, edit, at, problem):
    text = BASE.replace(*edit)
    assert text != BASE
    path = write_suite(tmp_path, text)
    out = tmp_path / "out"
    args = [*command, path] + (["--out", out] if command == ["run"] else [])
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {path}:{line_of(text, at)}: {problem}\n"
    assert not out.exists()


def test_missing_credential_for_a_live_target_names_the_variable(tmp_path):
    path = write_suite(tmp_path)
    out = tmp_path / "out"
    result = invoke("run", path, "--target", "x", "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines == [
        f"error: {path}:{line_of(BASE, 'SB_X_TOKEN_SMALL')}: personas.0.credentials.x: "
        "environment variable SB_X_TOKEN_SMALL is not set",
        f"{path}:{line_of(BASE, 'SB_X_TOKEN_BIG')}: personas.1.credentials.x: "
        "environment variable SB_X_TOKEN_BIG is not set",
    ]
    assert not out.exists()


def test_unreadable_suite_is_one_message(tmp_path):
    path = write_suite(tmp_path, BASE.replace("brands:\n", "brands: [\n"))
    result = invoke("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}:")
    assert "invalid YAML" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# -- option misuse --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["run", SMALL, "--window", "1d"], "--window", id="window-with-suite"),
        pytest.param(["run", SMALL, "--format", "twcs"], "--format", id="format-with-suite"),
        pytest.param(["run", "--fixtures", "f.csv", "--target", "x"], "--target", id="target"),
        pytest.param(["run", "--fixtures", "f.csv", "--once"], "--once", id="once"),
        pytest.param(["run", "--fixtures", "f.csv", "--speed", "60"], "--speed", id="speed"),
        pytest.param(["run"], "give a suite", id="nothing"),
        pytest.param(["run", SMALL, SMALL], "give one suite", id="two-suites"),
    ],
)
def test_option_misuse_is_a_usage_error(tmp_path, monkeypatch, args, named):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.csv").write_text("id,author,time,text\n", encoding="utf-8")
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: run: ")
    assert named in result.output
    assert not (tmp_path / "reports").exists()


# -- one run directory, one process ---------------------------------------------------------


def test_a_second_process_on_a_run_directory_is_refused(tmp_path):
    server = sandbox.serve_in_thread(sandbox.World.create(speed=1.0))  # a 3-hour window
    out = tmp_path / "run"
    command = [sys.executable, "-m", "socialbench", "run", str(SMALL)]
    command += ["--endpoint", server.url, "--out", str(out), "--quiet"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (out / "run.sqlite").exists():
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline, "the run did not create its store"
            time.sleep(0.05)
        result = invoke("run", "--resume", out, "--once")
        assert first.poll() is None, "the first run stopped: the test proves nothing"
    finally:
        first.kill()
        first.communicate(timeout=10)
        server.stop()
    assert result.exit_code == 2, result.output
    assert "another socialbench process" in result.output
    assert f"pid {first.pid}" in result.output
    assert "Traceback" not in result.output


# -- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "example"),
    [
        pytest.param(["sandbox", "serve"], "socialbench sandbox serve --port", id="sandbox-serve"),
        pytest.param(["run"], "socialbench run scenarios/demo.yaml", id="run"),
        pytest.param(["validate"], "socialbench validate scenarios/demo.yaml", id="validate"),
        pytest.param(["init"], "socialbench init", id="init"),
        pytest.param(["schema"], "socialbench schema", id="schema"),
    ],
)
def test_help_shows_an_example(command, example):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert example in result.output


@pytest.mark.parametrize("value", ["tok3n\r", "tok en", "tok\nen", "tøken"])
def test_a_credential_no_header_can_carry_is_named_not_shown(tmp_path, value):
    """A token pasted with its line end would reach the platform's error message (httpx's
    "Illegal header value b'...'"), so it is refused first, naming only the variable."""
    path = write_suite(tmp_path)
    env = {"SB_X_TOKEN_SMALL": value, "SB_X_TOKEN_BIG": "fine-token"}
    result = CliRunner().invoke(main, ["run", str(path), "--target", "x", "--out",
                                       str(tmp_path / "out")], env=env)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "environment variable SB_X_TOKEN_SMALL holds a space, a line end" in result.output
    assert value.strip() not in result.output and "SB_X_TOKEN_BIG" not in result.output

"""A reproducible sandbox (issue 17): the same suite, seed, profile and ``--start`` give
identical ``probes.csv`` and ``summary.json`` figures, on X and in chats, however the run's
directory is called and however fast this machine sends."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from socialbench.cli import main

START = "2026-01-05T07:30:00Z"  # a Monday, before some brands open: support hours matter
SUITE = """\
suite: again
window: 6h
pacing: {gap: 1m, concurrency: 8, spread: 12h}
brands:
  - id: acme
    handles: {x: AcmeAir, messenger: acme.air, whatsapp: "15550001111", webchat: acme_bot}
    hours:
      timezone: Europe/London
      weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
  - id: volt
    handles: {x: VoltMobile, messenger: volt.mobile, whatsapp: "15550002222", webchat: volt}
personas:
  - id: casual
    handles: {x: jo_casual, messenger: jo.casual, whatsapp: "447700900001", webchat: jo}
    followers: 250
  - id: known
    handles: {x: sam_known, messenger: sam.known, whatsapp: "447700900002", webchat: sam}
    followers: 25000
queries:
  - id: late
    category: delivery
    channels: [x, messenger, whatsapp, webchat]
    surfaces: [public, private]
    text: "my order {{ order }} hasn't arrived, can you help?"
    variables: {order: ["#1042", "#2187", "#3001"]}
"""


def run(tmp_path: Path, name: str, *extra: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    out = tmp_path / name
    args = ["run", suite, "--speed", "100000", "--seed", "3", "--start", START, "--out", out,
            "--quiet", *extra]  # fmt: skip
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


def figures(out: Path) -> dict:
    """summary.json without the run's own section (its directory, its time of writing)."""
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("run")
    return summary


def test_the_same_suite_seed_and_start_give_the_same_files(tmp_path):
    first = run(tmp_path / "a", "run")
    again = run(tmp_path / "b", "run")
    assert (first / "probes.csv").read_bytes() == (again / "probes.csv").read_bytes()
    assert figures(first) == figures(again)
    probes = (first / "probes.csv").read_text()
    assert ',"2026-01-05T07:30:00Z",' in probes  # the first probe, at the start exactly
    assert figures(first)["overall"]["automated"] > 0  # chats are in it


def test_another_directory_name_gives_the_same_figures(tmp_path):
    """Probe ids mix in the directory's name; the sandbox draws from the stable keys."""
    assert figures(run(tmp_path, "one")) == figures(run(tmp_path, "two"))


def test_start_needs_an_instant_and_the_sandbox_the_run_starts(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    for extra, problem in [
        (["--start", "monday"], "--start: 'monday' is not an ISO 8601 instant"),
        (["--start", "2026-01-05T09:00:00"], "has no time zone"),
        (["--start", START, "--endpoint", "http://127.0.0.1:9"], "sandbox serve --start"),
    ]:
        result = CliRunner().invoke(main, ["run", str(suite), "--out", str(tmp_path / "o"), *extra])
        assert result.exit_code == 2 and problem in result.output, result.output
        assert not (tmp_path / "o").exists()

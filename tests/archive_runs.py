"""Runs the verdict tests share: the command line invoked as a user would, a synthetic
archive analysed into a run folder (``check.load_run``), a recorded archive whose brand has
a hostile name, and thresholds as a suite or file gives them."""

from __future__ import annotations

import synth
from click.testing import CliRunner
from conftest import msg, write_fixture

from socialbench.cli import main
from socialbench.verdict import check
from socialbench.verdict.thresholds.grammar import section


def invoke(*args):
    """``socialbench ARGS``, which must succeed."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def archive_run(base, *, conversations: int, seed: int):
    """A synthetic archive of ``conversations`` (4 brands) analysed into ``base``."""
    archive = base / f"archive-{seed}.jsonl"
    options = {"--conversations": conversations, "--brands": 4, "--seed": seed, "-o": archive}
    synth.main([str(part) for pair in options.items() for part in pair])
    invoke("run", "--fixtures", archive, "--out", base / f"recorded-{seed}", "--quiet")
    return check.load_run(base / f"recorded-{seed}")


def hostile_run(base, brand: str):
    """A recorded archive (two probes, both answered) whose brand account is named
    ``brand``, analysed into ``base / "run"``."""
    path = write_fixture(
        base / "hostile.jsonl",
        [
            msg("1", "cust", 0, "@x hi"),
            msg("2", brand, 5, "hello", parent="1", brand=True),
            msg("3", "cust2", 0, "@x hi"),
            msg("4", brand, 50, "hello", parent="3", brand=True),
        ],
    )
    invoke("run", "--fixtures", path, "--out", base / "run", "--quiet")
    return check.load_run(base / "run")


def thresholds(spec: dict):
    """Thresholds from a ``thresholds:`` mapping, as a suite or file would give them."""
    found, problems = section(spec)
    assert not problems, problems
    return [threshold for _, threshold in found]

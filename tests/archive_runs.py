"""Runs the verdict tests share: the command line invoked as a user would, and a synthetic
archive analysed into a run folder (``check.load_run``)."""

from __future__ import annotations

import synth
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.verdict import check


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

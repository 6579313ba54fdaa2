"""What the machine around a run can do wrong (issue 19, classes found beyond its list): a
terminal whose encoding cannot show the text, an output folder that is a file or lies under
one. Each ends in one line and the right exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from socialbench.cli import main

# a brand and a customer whose names an ASCII terminal cannot show
TWCS = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    "1,zoë,True,Tue Oct 31 22:10:47 +0000 2017,@Café help – now,2,\n"
    "2,Café,False,Tue Oct 31 22:20:47 +0000 2017,@zoë sorry — DM us,,1\n"
)


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "twcs.csv"
    path.write_text(TWCS, encoding="utf-8")
    return path


def test_a_terminal_that_cannot_show_the_text_gets_escapes(archive, tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "socialbench", "run", "--fixtures", str(archive), "--out",
         str(tmp_path / "out")],
        capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert b"Traceback" not in done.stderr
    assert b"Caf\\xe9" in done.stdout  # the brand, escaped rather than a crash


@pytest.mark.parametrize("where", ["file", "file/sub"], ids=["out-is-a-file", "out-under-a-file"])
def test_an_output_folder_that_cannot_be_one(archive, tmp_path, where):
    (tmp_path / "file").write_text("x")
    target = tmp_path / where
    result = CliRunner().invoke(main, ["run", "--fixtures", str(archive), "--out", str(target),
                                       "-q"])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target) in lines[0]


def test_a_path_with_an_escape_sequence_is_printed_inert(archive, tmp_path):
    out = tmp_path / "out\x1b[31mred"
    result = CliRunner().invoke(main, ["run", "--fixtures", str(archive), "--out", str(out),
                                       "--report", "md"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "out\\x1b[31mred" in result.output

"""Files a user names that are not plain readable files (issue 19, found beyond its list):
a pipe, a device, a symbolic link that loops or points nowhere, a folder where a YAML file is
expected, a YAML file too large to parse. Each is one line naming the file, exit code 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.yamlfile import MAX_BYTES

MINIMAL = Path(__file__).parent / "data" / "suites" / "minimal.yaml"
TWCS = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    "1,jo,True,Tue Oct 31 22:10:47 +0000 2017,@Acme help,2,\n"
    "2,Acme,False,Tue Oct 31 22:20:47 +0000 2017,@jo sorry,,1\n"
)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _loop(path: Path) -> Path:
    os.symlink(path.with_name("b"), path)
    os.symlink(path, path.with_name("b"))
    return path


def _dangling(path: Path) -> Path:
    os.symlink(path.with_name("gone"), path)
    return path


def _huge(path: Path) -> Path:
    with open(path, "wb") as fh:  # sparse after its first line: no disk used
        fh.write(b"suite: big\n")
        fh.truncate(MAX_BYTES + 1)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def _one_line(output: str, path: Path, problem: str) -> None:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith(f"error: {path}") and problem in lines[0], output


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(_fifo, "is a pipe or a device, not a file", id="fifo"),
        pytest.param(_loop, "a symbolic link that loops", id="symlink-loop"),
        pytest.param(_dangling, "a symbolic link to a missing file", id="dangling"),
        pytest.param(_folder, "is a folder, not a file", id="folder"),
    ],
)
def test_an_archive_that_is_not_a_file(tmp_path, make, problem):
    path = make(tmp_path / "a.csv")
    code, output = _invoke("validate", path)
    assert code == 2
    _one_line(output, path, problem)


def test_a_device_is_not_an_archive():
    code, output = _invoke("validate", "/dev/zero")
    assert code == 2
    _one_line(output, Path("/dev/zero"), "is a pipe or a device")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(_folder, "is a folder, not a file", id="folder"),
        pytest.param(_fifo, "is a pipe or a device", id="fifo"),
        pytest.param(_huge, f"more than the limit of {MAX_BYTES:,}", id="too-large"),
        pytest.param(_loop, "a symbolic link that loops", id="symlink-loop"),
    ],
)
@pytest.mark.parametrize("option", ["--brands", "--thresholds"])
def test_a_yaml_file_that_cannot_be_read(tmp_path, make, problem, option):
    path = make(tmp_path / "book.yaml")
    archive = tmp_path / "twcs.csv"
    archive.write_text(TWCS)
    code, output = _invoke(
        "run", "--fixtures", archive, "--out", tmp_path / "out", "-q", option, path
    )
    assert code == 2
    _one_line(output, path, problem)
    assert not (tmp_path / "out").exists()


def test_a_suite_too_large_to_parse(tmp_path):
    path = _huge(tmp_path / "suite.yaml")
    code, output = _invoke("validate", path)
    assert code == 2
    _one_line(output, path, "the YAML file is")

"""The example CI files run: their socialbench commands, executed as written, pass on the
shipped recordings and fail (exit code 1, JUnit still written) when a target is missed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def github_commands() -> list[str]:
    workflow = yaml.safe_load((ROOT / "docs/ci/github-actions.yml").read_text())
    steps = workflow["jobs"]["socialbench"]["steps"]
    return [s["run"] for s in steps if "socialbench" in s.get("run", "")]


def gitlab_commands() -> list[str]:
    job = yaml.safe_load((ROOT / "docs/ci/gitlab-ci.yml").read_text())["socialbench"]
    assert job["artifacts"]["reports"]["junit"] == "reports/ci/junit.xml"
    return [line for line in job["script"] if line.startswith("socialbench")]


def run(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "socialbench"
    return subprocess.run(
        [sys.executable, "-m", "socialbench", *argv[1:], *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def checkout(tmp_path) -> Path:
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    return tmp_path


@pytest.mark.parametrize("commands", [github_commands, gitlab_commands], ids=["github", "gitlab"])
def test_example_ci_commands_pass_on_the_recordings(checkout, commands):
    [command] = commands()
    done = run(command, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "figures from a replay of recorded conversations" in done.stdout
    suites = ET.parse(checkout / "reports/ci/junit.xml").getroot()
    thresholds = suites.find("testsuite[@name='thresholds']")
    assert len(thresholds.findall("testcase")) >= 5
    assert thresholds.findall("testcase/failure") == []
    assert (checkout / "reports/ci/report.html").is_file()


def test_example_ci_command_fails_when_a_target_is_missed(checkout):
    [command] = github_commands()
    done = run(command, checkout, "--threshold", "response_rate: rate >= 99%")
    assert done.returncode == 1, done.stdout + done.stderr
    suites = ET.parse(checkout / "reports/ci/junit.xml").getroot()
    failed = [
        case.get("name")
        for case in suites.findall("testsuite[@name='thresholds']/testcase")
        if case.find("failure") is not None
    ]
    assert failed == ["response_rate rate >= 99%"]
    assert (checkout / "reports/ci/report.html").is_file()  # reports are still written

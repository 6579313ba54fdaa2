"""A probe run killed with SIGKILL at random moments, resumed each time, against a sandbox in
its own process: the sandbox's own record must show every probe received exactly once and
the finished probe table must agree with its ground truth exactly. A run killed before it
planned its probes is resumed too: ``--resume`` plans it and runs it to the end."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from socialbench import scenarios
from socialbench.errors import SocialbenchError
from socialbench.probing import session
from socialbench.probing.sandbox import audit
from socialbench.probing.store import RunStore

SUITE = Path(__file__).parent / "data" / "suites" / "resume.yaml"
SPEED = 20_000.0  # 6 h of spread and 2 h windows in a few seconds


def _socialbench(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "socialbench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("SB_X_")},
        **kwargs,
    )


@pytest.fixture
def sandbox_url(tmp_path):
    """A standalone sandbox: its URL, its truth file and its process."""
    truth = tmp_path / "truth.jsonl"
    server = _socialbench(
        "sandbox", "serve", "--port", "0", "--speed", str(SPEED), "--seed", "5",
        "--truth", str(truth),
    )  # fmt: skip
    line = server.stdout.readline()
    assert "listening on" in line, line + server.stderr.read()
    yield line.rsplit(" ", 1)[1].strip(), truth, server
    server.send_signal(signal.SIGCONT)  # in case a test left it stopped
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    server.stdout.close()
    server.stderr.close()


def _nothing_stored(out: Path) -> bool:
    """Whether the start was killed before it stored its suite and target (then only the
    original command can start the run; from then on, ``--resume`` continues it)."""
    if not (out / "run.sqlite").exists():
        return True
    with RunStore.read_only(out) as store:  # the run may still hold the directory's lock
        try:
            return store.meta("target") is None
        except sqlite3.OperationalError:  # the store is still being made
            return True


def _planned(out: Path) -> int:
    with RunStore.open(out, create=False) as store:
        return sum(store.counts().values())


def _finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def _assert_received_once_and_exact(out: Path, truth_path: Path) -> None:
    """The sandbox received every probe of the run exactly once, and the run's probe table
    agrees with the sandbox's ground truth."""
    events = audit.read_truth(truth_path)
    suite = scenarios.load_suite(SUITE)
    expected_ids = {p.probe_id for p in scenarios.expand(suite, run=session.label(out))}
    received = pd.Series([e["probe_id"] for e in events if e["event"] == "probe"])
    assert set(received) == expected_ids
    assert not received.duplicated().any(), "a probe was received twice"
    assert not [e for e in events if e["event"] in ("duplicate", "violation")]

    table = pd.read_csv(out / "probes.csv", dtype={"probe_id": str})
    check = audit.compare(table, events, 2 * 3600.0)
    assert check.exact, check
    assert len(table) == len(expected_ids)


@pytest.mark.parametrize("seed", [20261122, 3])
def test_a_run_killed_at_random_moments_resumes_without_sending_twice(tmp_path, sandbox_url, seed):
    url, truth_path, _ = sandbox_url
    out = tmp_path / "run"
    rng = random.Random(seed)
    kills = 0
    process = _socialbench("run", str(SUITE), "--endpoint", url, "--out", str(out), "--quiet")
    for _ in range(5):
        time.sleep(rng.uniform(0.3, 1.8))
        if process.poll() is not None:
            break
        process.kill()
        process.communicate()
        kills += 1
        if _nothing_stored(out):  # killed within its first moments: start it again
            process = _socialbench("run", str(SUITE), "--endpoint", url, "--out", str(out))
        else:  # planned or not, the stored suite and target are enough
            process = _socialbench("run", "--resume", str(out), "--quiet")
    code, output = _finish(process)
    assert code == 0, output
    assert kills >= 3, "the run finished too soon to be killed several times"
    _assert_received_once_and_exact(out, truth_path)


def test_a_run_killed_before_planning_is_planned_and_finished_by_resume(tmp_path, sandbox_url):
    url, truth_path, server = sandbox_url
    out = tmp_path / "run"
    server.send_signal(signal.SIGSTOP)  # the sandbox accepts connections but never answers
    try:
        process = _socialbench("run", str(SUITE), "--endpoint", url, "--out", str(out))
        deadline = time.monotonic() + 8  # before the run's request to the sandbox times out
        while _nothing_stored(out) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        assert not _nothing_stored(out), "the run did not store its suite and target in time"
        assert process.poll() is None
        process.kill()  # stuck opening its target: stored, but nothing planned
        process.communicate()
    finally:
        server.send_signal(signal.SIGCONT)
    assert _planned(out) == 0
    assert not [e for e in audit.read_truth(truth_path) if e["event"] == "probe"]

    code, output = _finish(_socialbench("run", "--resume", str(out), "--quiet"))
    assert code == 0, output
    assert _planned(out) == len(scenarios.expand(scenarios.load_suite(SUITE)))
    _assert_received_once_and_exact(out, truth_path)


def test_resume_of_a_start_killed_before_it_stored_anything_says_to_start_again(tmp_path):
    out = tmp_path / "run"
    RunStore.open(out, create=True).close()  # the store made, the suite and target not yet
    code, output = _finish(_socialbench("run", "--resume", str(out)))
    assert code == 2, output
    assert output == (
        f"error: {out}: this run was stopped while starting, before it stored its suite and "
        "target, so nothing was sent; run the same `socialbench run SUITE --out DIR` again "
        "(it takes this directory over)\n"
    )


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, but what was committed stays."""


def test_an_in_process_sandbox_run_stopped_before_planning_can_be_resumed(tmp_path, monkeypatch):
    out = tmp_path / "run"
    target = session.TargetOptions(speed=SPEED)
    output = session.OutputOptions()

    async def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(session.connectors, "open_target", killed)
        with pytest.raises(Killed):
            asyncio.run(session.start(SUITE, out, target=target, output=output))
    assert _planned(out) == 0

    outcome = asyncio.run(session.resume(out, output=output))
    assert outcome.status.done
    _assert_received_once_and_exact(out, out / session.TRUTH_FILE)

    with pytest.raises(SocialbenchError, match="in-process sandbox"):  # once planned: refused
        asyncio.run(session.resume(out, output=output))

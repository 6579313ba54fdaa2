"""A probe run killed with SIGKILL at random moments, resumed each time, against a sandbox in
its own process: the sandbox's own record must show every probe received exactly once and
the finished probe table must agree with its ground truth exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from socialbench import scenarios
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
    truth = tmp_path / "truth.jsonl"
    server = _socialbench(
        "sandbox", "serve", "--port", "0", "--speed", str(SPEED), "--seed", "5",
        "--truth", str(truth),
    )  # fmt: skip
    line = server.stdout.readline()
    assert "listening on" in line, line + server.stderr.read()
    yield line.rsplit(" ", 1)[1].strip(), truth
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    server.stdout.close()
    server.stderr.close()


def _before_planning(out: Path) -> bool:
    """Whether the run directory holds no planned probes yet (the start was killed early)."""
    if not (out / "run.sqlite").exists():
        return True
    with RunStore.open(out, create=False) as store:
        return not sum(store.counts().values())


def _finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


@pytest.mark.parametrize("seed", [20261122, 3])
def test_a_run_killed_at_random_moments_resumes_without_sending_twice(tmp_path, sandbox_url, seed):
    url, truth_path = sandbox_url
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
        if _before_planning(out):  # killed while starting: nothing was sent, start again
            process = _socialbench("run", str(SUITE), "--endpoint", url, "--out", str(out))
        else:
            process = _socialbench("run", "--resume", str(out), "--quiet")
    code, output = _finish(process)
    assert code == 0, output
    assert kills >= 3, "the run finished too soon to be killed several times"

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

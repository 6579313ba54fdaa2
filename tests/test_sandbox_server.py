"""Tests for serving the sandbox over real loopback: a thread, and the blocking command."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from x_openapi import httpx_sync_hook

from socialbench.probing.sandbox import PlatformClock, World, serve_in_thread
from socialbench.probing.sandbox.profile import Behaviour, Faults, Latency, Profile

START = "2026-01-05T09:00:00Z"
ACCOUNTS = {
    "brands": [{"id": "acme", "name": "Acme", "handle": "AcmeHelp"}],
    "personas": [{"handle": "jo", "followers": 1000}],
}


def test_loopback_probe_reply_and_truth_file_while_serving(tmp_path):
    behaviour = Behaviour(reply_rate=1.0, latency=Latency(fixed="10m"), follow_up_rate=0.0)
    truth = tmp_path / "truth.jsonl"
    world = World(
        profile=Profile(brands={"default": behaviour}),
        seed=3,
        clock=PlatformClock(start=START, speed=1000),  # 10 platform minutes = 0.6 s
        truth_path=truth,
    )
    handle = serve_in_thread(world)
    try:
        hooks = {"response": [httpx_sync_hook]}  # every exchange checked against the spec
        with httpx.Client(base_url=handle.url, timeout=5, event_hooks=hooks) as client:
            token = client.post("/_sandbox/accounts", json=ACCOUNTS).json()["tokens"]["jo"]
            auth = {"authorization": f"Bearer {token}"}
            posted = client.post(
                "/2/tweets", json={"text": "@AcmeHelp down (ref:p0123456789a)"}, headers=auth
            )
            assert posted.status_code == 201, posted.text
            lines = truth.read_text(encoding="utf-8").splitlines()  # flushed while serving
            assert [json.loads(line)["event"] for line in lines] == ["probe", "reply"]
            query = {"query": f"conversation_id:{posted.json()['data']['id']}"}
            early = client.get("/2/tweets/search/recent", params=query, headers=auth).json()
            now = client.get("/_sandbox/clock").json()["now"]
            if now < "2026-01-05T09:10:00.000Z":  # the reply's instant had not come yet
                assert early["meta"]["result_count"] == 1
            time.sleep(0.8)
            found = client.get("/2/tweets/search/recent", params=query, headers=auth).json()
            assert found["meta"]["result_count"] == 2
            assert client.get("/_sandbox/truth").text.splitlines() == lines
    finally:
        handle.stop()  # also closes the truth file
    assert not handle._thread.is_alive()
    assert world.truth._file is None


def test_timeout_fault_hangs_after_the_post_succeeded():
    world = World(
        profile=Profile(faults=Faults(timeout=1.0, timeout_s=0.6)),
        clock=PlatformClock(start=START, speed=0),
    )
    handle = serve_in_thread(world)
    try:
        with httpx.Client(base_url=handle.url, timeout=0.3) as client:
            token = client.post("/_sandbox/accounts", json=ACCOUNTS).json()["tokens"]["jo"]
            with pytest.raises(httpx.ReadTimeout):
                client.post(
                    "/2/tweets",
                    json={"text": "hello"},
                    headers={"authorization": f"Bearer {token}"},
                )
    finally:
        handle.stop()
    assert [t.text for t in world.timeline.tweets.values()] == ["hello"]
    assert [e["kind"] for e in world.truth.events()] == ["timeout"]


def test_run_server_announces_its_url(tmp_path):
    code = (
        "from socialbench.probing.sandbox import run_server; "
        f"run_server(port=0, seed=5, speed=10.0, truth_path={str(tmp_path / 't.jsonl')!r}, "
        f"start={START!r})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), process.stderr.read()
        url = line.removeprefix("sandbox listening on ")
        clock = httpx.get(url + "/_sandbox/clock", timeout=5).json()
        assert clock["speed"] == 10.0 and clock["now"].startswith("2026-01-05T09:0")
    finally:
        process.terminate()
        process.communicate(timeout=10)

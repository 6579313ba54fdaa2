"""Benchmark ``socialbench observe``: signed webhooks over loopback, throughput, latency and
nothing lost across a kill -9.

    python bench/observe_bench.py [--seconds 10] [--connections 16]

1. Starts ``socialbench observe`` in its own process on a free loopback port.
2. Sends signed WhatsApp Cloud API webhook bodies (one customer message each, the shape
   Meta sends) for ``--seconds`` over ``--connections`` keep-alive connections, timing each
   request from its first byte sent to its answer read; prints events per second and the
   latency percentiles.
3. Sends again, kills the observer with SIGKILL mid-stream, starts it again on the same
   directory, and counts the acknowledged events missing from its store.

The load generator is plain asyncio streams (HTTP/1.1 keep-alive, requests built in
advance), so that it costs the server as little CPU as it can on the same machine.

Targets (exit status 1 when missed): at least 2,000 events per second, p99 of the
acknowledgement under 50 ms, 0 acknowledged events lost.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "observe"
SECRET = "bench-app-secret"
TOKEN = "bench-verify-token"
RATE_TARGET = 2000.0
P99_TARGET_MS = 50.0


def start(out: Path) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "SB_META_VERIFY_TOKEN": TOKEN, "SB_META_APP_SECRET": SECRET}
    cmd = [sys.executable, "-m", "socialbench", "observe", "--out", str(out),
           "--listen", "127.0.0.1:0"]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "observing" not in line:
        process.kill()
        raise SystemExit(f"observe did not start: {line!r}")
    url = line.split(" at ", 1)[1].split()[0]
    port = int(url.split(":")[2].split("/")[0])
    return process, url, port


def request(n: int, port: int) -> tuple[str, bytes]:
    """The n-th event: its message id and the whole HTTP request."""
    mid = f"wamid.bench{n:09d}"
    customer = f"4477{n % 1_000_000:08d}"
    body = json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1122"},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": mid, "timestamp": str(1_700_000_000 + n),
                          "type": "text", "text": {"body": f"Where is my order {n}?"}}],
        }}]}],
    }).encode()  # fmt: skip
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST /webhooks/meta HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-Hub-Signature-256: sha256={signature}\r\n\r\n"
    ).encode()
    return mid, head + body


async def _answer(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def load(port: int, seconds: float, connections: int, first: int, acked: list[str],
               latencies: list[float]) -> None:  # fmt: skip
    """Send events until ``seconds`` have passed (or the server goes away)."""
    counter = iter(range(first, first + 10**9))
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        try:
            while time.perf_counter() < deadline:
                mid, data = request(next(counter), port)
                began = time.perf_counter()
                writer.write(data)
                status = await _answer(reader)
                latencies.append(time.perf_counter() - began)
                if status == 200:
                    acked.append(mid)
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            return  # the server was killed
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))


def stored(out: Path) -> set[str]:
    db = sqlite3.connect(out / "run.sqlite")
    try:
        rows = db.execute("SELECT key FROM webhooks").fetchall()
    finally:
        db.close()
    return {key.split(":", 2)[2] for (key,) in rows}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)

    process, _, port = start(OUT)
    acked: list[str] = []
    latencies: list[float] = []
    try:
        began = time.perf_counter()
        asyncio.run(load(port, args.seconds, args.connections, 0, acked, latencies))
        wall = time.perf_counter() - began
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    rate = len(acked) / wall
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000

    # kill -9 while events arrive, then count what was acknowledged but not stored
    process, _, port = start(OUT)
    killed: list[str] = []
    loop_latencies: list[float] = []

    async def storm() -> None:
        sending = asyncio.create_task(
            load(port, args.seconds, args.connections, 10**8, killed, loop_latencies)
        )
        await asyncio.sleep(min(2.0, args.seconds / 2))
        os.kill(process.pid, signal.SIGKILL)
        await sending

    asyncio.run(storm())
    process.wait(30)
    lost = set(killed) - stored(OUT)

    print(f"cores:                  {os.cpu_count()}")
    print(f"events acknowledged:    {len(acked):,} in {wall:.1f} s")
    print(f"events per second:      {rate:,.0f} (target >= {RATE_TARGET:,.0f})")
    print(f"ack latency p50 / p99:  {p50:.1f} / {p99:.1f} ms (target p99 < {P99_TARGET_MS:.0f} ms)")
    print(f"kill -9: acknowledged {len(killed):,}, lost {len(lost)} (target 0)")
    ok = rate >= RATE_TARGET and p99 < P99_TARGET_MS and not lost and killed
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

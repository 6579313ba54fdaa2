"""Benchmark a probe run against the sandbox over loopback, checked against its ground truth.

    python bench/probe_bench.py [--probes 10000] [--speed 1000000] [--seed 1]
    python bench/probe_bench.py --omnichannel [--probes 10000] [--speed 200000]

1. Writes a suite (10 brands with support hours, 10 personas from 100 to 100,000 followers,
   channel x, public mentions and private DMs, a 24-hour window) into ``bench/out/``; with
   ``--omnichannel``, also on Messenger, WhatsApp and webchat (the brands' chatbots), every
   query on X public, X DM and the three chat channels.
2. Starts ``socialbench sandbox serve`` in its own process on a free loopback port, its clock
   running ``--speed`` times faster than real time, writing its ground truth.
3. Runs ``socialbench run SUITE --endpoint URL --quiet`` in another process and times it.
4. Compares every probe's row of ``probes.csv`` with the sandbox's truth: responded, time to
   first response, link/DM/phone/email/ack-only, answer-key resolution; in chats also the
   first automated reply, bot-only and the hand-off.

Targets (exit status 1 when missed): 10,000 probes in at most 30 s of wall time (60 s
omnichannel), with the response figures equal to the truth (first-response error 0 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))

from socialbench.probing.sandbox import audit  # noqa: E402

WALL_TARGET_S = 30.0
OMNICHANNEL_WALL_TARGET_S = 60.0
CHATS = ("messenger", "whatsapp", "webchat")
BRANDS = (
    ("acme", "AcmeAir", "Europe/London"),
    ("northrail", "NorthRail", "America/New_York"),
    ("harbourbank", "HarbourBank", "Australia/Sydney"),
    ("voltmobile", "VoltMobile", "Europe/Berlin"),
    ("parcelpoint", "ParcelPoint", "America/Los_Angeles"),
    ("skyfibre", "SkyFibre", "Europe/Dublin"),
    ("metrowater", "MetroWater", "Asia/Singapore"),
    ("quickcart", "QuickCart", "America/Chicago"),
    ("brightenergy", "BrightEnergy", "Europe/Madrid"),
    ("cityparcel", "CityParcel", "Asia/Tokyo"),
)
FOLLOWERS = (100, 250, 600, 1500, 3200, 8000, 15000, 25000, 50000, 100000)
QUERIES = (
    ("late-delivery", "delivery", "Where is my order {{ order }}? It was due days ago."),
    ("double-charge", "billing", "I was charged twice this month. Can you refund one?"),
    ("outage", "outage", "No service in {{ city }} since this morning. What's going on?"),
    ("cancel", "billing", "How do I cancel my {{ brand.name }} account?"),
    ("broken-item", "returns", "The item I got from you arrived broken. What now?"),
)


def suite_yaml(probes: int, omnichannel: bool = False) -> str:
    routes = 2 + (len(CHATS) if omnichannel else 0)  # x public, x private, the chats
    per_combo = len(BRANDS) * len(FOLLOWERS) * routes * len(QUERIES)
    repetitions = max(1, round(probes / per_combo))
    chats = "".join(f", {c}: {{handle}}_{c[:2]}" for c in CHATS) if omnichannel else ""
    lines = [
        "suite: bench",
        "window: 24h",
        f"repetitions: {repetitions}",
        "pacing: {gap: 0s, concurrency: 16, spread: 24h}",
        "brands:",
    ]
    for brand, handle, zone in BRANDS:
        lines += [
            f"  - id: {brand}",
            f"    handles: {{x: {handle}{chats.format(handle=handle)}}}",
            f"    aliases: {{x: [{handle[:11]}Help]}}",
            f"    hours: {{timezone: {zone}, weekly: {{mon: ['08:00-20:00'], "
            "tue: ['08:00-20:00'], wed: ['08:00-20:00'], thu: ['08:00-20:00'], "
            "fri: ['08:00-20:00'], sat: ['10:00-16:00']}}",
        ]
    lines.append("personas:")
    for index, followers in enumerate(FOLLOWERS):
        lines += [
            f"  - id: p{index}",
            f"    handles: {{x: persona_{index}{chats.format(handle=f'persona_{index}')}}}",
            f"    followers: {followers}",
        ]
    lines.append("queries:")
    for query, category, text in QUERIES:
        lines += [
            f"  - id: {query}",
            f"    category: {category}",
            f"    channels: [x{''.join(', ' + c for c in CHATS) if omnichannel else ''}]",
            "    surfaces: [public, private]",
            f"    text: {json.dumps(text)}",
            "    variables: {order: ['#48213'], city: ['Leeds']}",
            "    expect:",
            "      reply: required",
            "      deadline: 4h",
            "      resolution:",
            "        keywords: [sorted]",
            "        example: 'All sorted now, thanks for your patience.'",
        ]
    return "\n".join(lines) + "\n"


def start_sandbox(speed: float, seed: int, truth: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "socialbench", "sandbox", "serve", "--port", "0"]
    cmd += ["--speed", str(speed), "--seed", str(seed), "--truth", str(truth)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = server.stdout.readline()
    if "listening on" not in line:
        server.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return server, line.rsplit(" ", 1)[1].strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=10_000)
    parser.add_argument("--speed", type=float, help="[default: 1,000,000; 200,000 omnichannel]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--omnichannel", action="store_true", help="X and the chat channels")
    args = parser.parse_args()
    args.speed = args.speed or (200_000.0 if args.omnichannel else 1_000_000.0)
    target_s = OMNICHANNEL_WALL_TARGET_S if args.omnichannel else WALL_TARGET_S
    name = "omni" if args.omnichannel else "probe"

    OUT.mkdir(parents=True, exist_ok=True)
    suite = OUT / f"{name}_suite.yaml"
    suite.write_text(suite_yaml(args.probes, args.omnichannel))
    truth = OUT / f"{name}_truth.jsonl"
    run_dir = OUT / f"{name}_run"
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)
    truth.unlink(missing_ok=True)

    server, url = start_sandbox(args.speed, args.seed, truth)
    try:
        cmd = [sys.executable, "-m", "socialbench", "run", str(suite), "--endpoint", url]
        cmd += ["--out", str(run_dir), "--quiet"]
        began = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=10)
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        return 1

    table = pd.read_csv(run_dir / "probes.csv", dtype={"probe_id": str})
    events = audit.read_truth(truth)
    check = audit.compare(table, events, 86400.0)
    expected = audit.expected(events, 86400.0).set_index("probe_id")
    resolved = table.set_index("probe_id")["resolved"].astype(str).str.lower().eq("true")
    wrong_resolution = int((expected["answer"] != resolved.reindex(expected.index)).sum())
    summary = json.loads((run_dir / "summary.json").read_text())
    probes = len(table)
    print(f"probes:                 {probes:,} ({len(summary['run']['failed'])} failed)")
    print(f"wall time:              {wall:.1f} s (target <= {target_s:.0f} s)")
    print(f"by channel:             {table['channel'].value_counts().to_dict()}")
    print(f"probes per second:      {probes / wall:,.0f}")
    print(f"sandbox speed:          {args.speed:,.0f}x")
    print(f"compared with truth:    {check.probes_compared:,} probes")
    print(f"largest ttfr error:     {check.largest_ttfr_error_s} s")
    print(f"largest ttfa error:     {check.largest_ttfa_error_s} s")
    print(f"largest handoff error:  {check.largest_handoff_error_s} s")
    print(f"flag mismatches:        {sum(len(v) for v in check.mismatches.values())}")
    print(f"resolution mismatches:  {wrong_resolution}")
    print(
        f"missing / extra / dup:  {len(check.missing)} / {len(check.extra)} / "
        f"{len(check.duplicates)}"
    )
    print(f"response rate:          {summary['overall']['response_rate']:.3f}")
    ok = check.exact and wrong_resolution == 0 and wall <= target_s
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

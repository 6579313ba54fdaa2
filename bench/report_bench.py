"""Benchmark the HTML report of a 100,000-probe run: file size, generation time, and the
time headless Chromium takes to have it ready (every chart drawn, the probe table paged).

    python bench/report_bench.py [--probes 100000]

1. A synthetic twcs archive of ``--probes`` conversations (``tests/synth.py``, cached in
   ``bench/out/``), analysed with ``socialbench run --fixtures`` once.
2. ``socialbench report DIR --format html`` timed in its own process (load, render, write).
3. Debian's ``chromium`` opens the file headless; the page stamps ``data-ready-ms``
   (``performance.now()`` when the last chart is drawn) on ``<body>``.

Targets (exit status 1 when missed): at most 8 MB, generated in at most 10 s, ready in at
most 2 s.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SIZE_MB, GENERATE_S, READY_S = 8.0, 10.0, 2.0


def socialbench(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "socialbench", *args], cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=100_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    archive = OUT / f"report_archive_{args.probes}.csv"
    run_dir = OUT / f"report_run_{args.probes}"
    if not (run_dir / "summary.json").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "tests" / "synth.py"), "--conversations", str(args.probes),
             "--brands", "100", "--seed", "1", "-o", str(archive)],
            cwd=ROOT, check=True,
        )  # fmt: skip
        shutil.rmtree(run_dir, ignore_errors=True)
        socialbench("run", "--fixtures", str(archive), "--out", str(run_dir), "--quiet")
    page = run_dir / "report.html"
    began = time.perf_counter()
    socialbench("report", str(run_dir), "--format", "html", "-o", str(page))
    generate_s = time.perf_counter() - began
    size_mb = page.stat().st_size / 1e6
    ready_s = chromium_ready(page)
    probes = sum(1 for _ in open(run_dir / "probes.csv")) - 1
    print(f"probes:          {probes:,}")
    print(f"file size:       {size_mb:.2f} MB (target <= {SIZE_MB:.0f} MB)")
    print(f"generation:      {generate_s:.2f} s (target <= {GENERATE_S:.0f} s)")
    print(f"browser ready:   {ready_s:.2f} s (target <= {READY_S:.0f} s)")
    ok = size_mb <= SIZE_MB and generate_s <= GENERATE_S and ready_s <= READY_S
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def chromium_ready(page: Path) -> float:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (make test installs it)")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=30000", "--dump-dom",
             page.as_uri()],
            capture_output=True, text=True, timeout=300,
        ).stdout  # fmt: skip
    found = re.search(r'data-ready-ms="(\d+)"', dom)
    if found is None or 'data-ready="1"' not in dom:
        raise SystemExit("the page never became ready")
    return int(found.group(1)) / 1000


if __name__ == "__main__":
    sys.exit(main())

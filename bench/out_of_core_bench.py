"""Benchmark an archive larger than the memory socialbench may use.

    python bench/out_of_core_bench.py [--conversations 10000000] [--memory-limit 1GB]

1. Generates a synthetic twcs archive (10,000,000 conversations: one CSV of about 3 GiB)
   with its exact ground truth, cached in ``bench/out/`` like ``archive_bench.py``'s.
2. Runs ``socialbench run --fixtures ARCHIVE --memory-limit 1GB --temp-dir bench/out/spill``
   in a child process, measuring its wall time and peak resident memory.
3. Compares its per-brand figures with the truth.

Targets (exit status 1 when one is missed): the run completes, every figure equals the truth
(to floating-point rounding), and its peak RSS stays under 2 GiB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import archive_bench as ab  # noqa: E402 - the shared archive, runs and comparison

PEAK_RSS_TARGET_MB = 2048.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000_000)
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args(argv)

    csv_path, truth_path = ab.archive(args.conversations, args.brands, args.seed, force=False)
    truth = ab.json.loads(truth_path.read_text())["brands"]
    stem = csv_path.stem
    out_dir, spill = ab.OUT / f"{stem}.out-of-core", ab.OUT / "spill"
    shutil.rmtree(out_dir, ignore_errors=True)
    spill.mkdir(parents=True, exist_ok=True)
    cmd = ab._socialbench(csv_path, out_dir, "--memory-limit", args.memory_limit,
                          "--temp-dir", str(spill))  # fmt: skip
    run = ab.Run("socialbench", cmd)(ab.OUT / f"{stem}.out-of-core.log")
    shutil.rmtree(spill, ignore_errors=True)
    size = csv_path.stat().st_size / 2**30
    print(f"\n{args.conversations:,} conversations ({size:.1f} GiB of CSV), "
          f"--memory-limit {args.memory_limit}, {ab.os.cpu_count()} CPUs")  # fmt: skip
    if not run.ok:
        tail = "\n    ".join(run.stderr.strip().splitlines()[-15:])
        print(f"  socialbench failed (exit {run.returncode}):\n    {tail}")
        return 1
    result = ab.compare(ab.socialbench_brands(out_dir / "summary.json"), truth)
    rss_ok = run.peak_rss_mb < PEAK_RSS_TARGET_MB
    print(f"  wall time {run.wall_s:.1f} s, peak RSS {run.peak_rss_mb:,.0f} MiB "
          f"(target < {PEAK_RSS_TARGET_MB:,.0f})  {'ok' if rss_ok else 'MISSED'}")  # fmt: skip
    print(f"  largest |socialbench - truth|: {ab._fmt_diff(result)}")
    missed = [] if rss_ok else [f"peak RSS {run.peak_rss_mb:,.0f} MiB"]
    if result["beyond_rounding"]:
        missed.append(f"{result['beyond_rounding']} figure(s) differ from the truth")
    if missed:
        print("\nTARGETS MISSED:\n  - " + "\n  - ".join(missed))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

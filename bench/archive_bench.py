"""Benchmark ``socialbench run`` on a synthetic twcs archive against a DuckDB reference.

    python bench/archive_bench.py [--conversations 1000000] [--brands 100] [--seed 1]

1. Generates the archive and its exact ground truth once (``python tests/synth.py``)
   into ``bench/out/`` (cached by parameters and by the generator's source).
2. Runs ``socialbench run --fixtures ARCHIVE --out DIR --quiet`` and the DuckDB SQL reference
   (``bench/duckdb_reference.py``), each in its own child process, measuring its wall time and
   peak resident memory (``os.wait4``'s ``ru_maxrss``).
3. Compares each one's per-brand figures with the truth.

4. Scaling: socialbench again with ``--threads 1`` and with every core; prints the speed-up.
5. Spark: socialbench with ``--engine spark`` (local mode), its time beside DuckDB's and its
   figures against the truth (skipped, and said so, without Java or pyspark).
6. Start-up: ``socialbench --help`` against ``python -c "import click"``.

Targets (exit status 1 when one is missed): socialbench time / DuckDB time <= 1.0,
socialbench peak RSS / DuckDB peak RSS <= 1.5, a speed-up of at least 1.7 from one thread to
every core (on 2 cores and more), start-up <= 1.5x importing click, and no per-brand figure
differing from the truth by more than floating-point rounding (see ``FLOAT_REL``) for any
program.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SYNTH = ROOT / "tests" / "synth.py"
REFERENCE = HERE / "duckdb_reference.py"

TIME_RATIO_TARGET = 1.0
MEMORY_RATIO_TARGET = 1.5
SPEEDUP_TARGET = 1.7
STARTUP_RATIO_TARGET = 1.5
# Figures are compared exactly, except that two floats this close count as equal: the p90
# of linear interpolation is rounded differently by numpy, pandas and DuckDB (a few ulp).
FLOAT_REL = 1e-9

FIGURES = (
    "probes", "responded", "response_rate", "ttfr_median_s", "ttfr_p90_s", "ttfr_mean_s",
    "within.15m", "within.1h", "within.4h", "within.24h", "within.window", "link_rate",
    "dm_rate", "phone_rate", "email_rate", "ack_only_rate", "deflection_rate",
    "resolution_rate",
)  # fmt: skip


# ---------------------------------------------------------------------------- measuring


class Run:
    def __init__(self, name: str, cmd: list[str]):
        self.name = name
        self.cmd = cmd
        self.wall_s: float | None = None
        self.peak_rss_mb: float | None = None
        self.returncode: int | None = None
        self.stderr = ""

    def __call__(self, log: Path) -> Run:
        """Run the command as a child; wall time and peak RSS of that child (and its own
        children) come from ``os.wait4``."""
        with open(log, "wb") as err:
            started = time.perf_counter()
            try:
                proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
            except OSError as exc:
                self.returncode, self.stderr = 127, str(exc)
                return self
            _, status, usage = os.wait4(proc.pid, 0)
            self.wall_s = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        self.returncode = proc.returncode
        self.peak_rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
        self.stderr = log.read_text(errors="replace")
        return self

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def alternate(runs: list[Run], repeat: int, logs: list[Path]) -> list[Run]:
    """Run the programs in turn ``repeat`` times (so both see the same conditions); for
    each, the fastest run counts, with the median kept and the largest peak RSS seen."""
    results: list[list[Run]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, log, seen in zip(runs, logs, results, strict=True):
            if seen and not seen[-1].ok:
                continue
            seen.append(Run(run.name, run.cmd)(log))
    out = []
    for seen in results:
        if not seen[-1].ok:
            out.append(seen[-1])
            continue
        best = min(seen, key=lambda r: r.wall_s)
        walls = sorted(r.wall_s for r in seen)
        best.median_s = walls[len(walls) // 2]
        best.all_s = walls
        best.peak_rss_mb = max(r.peak_rss_mb or 0.0 for r in seen)
        out.append(best)
    return out


# ---------------------------------------------------------------------------- the archive


def archive(conversations: int, brands: int, seed: int, *, force: bool) -> tuple[Path, Path]:
    """The cached archive for these parameters, generated when missing or stale."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"twcs-c{conversations}-b{brands}-s{seed}"
    csv_path, truth_path = OUT / f"{stem}.csv", OUT / f"{stem}.truth.json"
    stamp_path = OUT / f"{stem}.stamp"
    stamp = hashlib.sha256(SYNTH.read_bytes()).hexdigest()
    fresh = (
        csv_path.exists()
        and truth_path.exists()
        and stamp_path.exists()
        and stamp_path.read_text().strip() == stamp
    )
    if fresh and not force:
        print(f"archive: {csv_path.relative_to(ROOT)} (cached)")
        return csv_path, truth_path
    cmd = [sys.executable, str(SYNTH), "--conversations", str(conversations),
           "--brands", str(brands), "--seed", str(seed), "-o", str(csv_path),
           "--truth", str(truth_path)]  # fmt: skip
    gen = Run("synth", cmd)(OUT / f"{stem}.synth.log")
    if not gen.ok:
        sys.exit(f"archive generation failed (exit {gen.returncode}):\n{gen.stderr[-3000:]}")
    stamp_path.write_text(stamp + "\n")
    size = csv_path.stat().st_size / 2**20
    print(f"archive: {csv_path.relative_to(ROOT)} generated in {gen.wall_s:.1f}s "
          f"({size:,.0f} MiB, peak RSS {gen.peak_rss_mb:,.0f} MiB)")  # fmt: skip
    return csv_path, truth_path


# ---------------------------------------------------------------------------- comparing


def _figure(row: dict, name: str):
    head, _, tail = name.partition(".")
    value = row.get(head)
    if tail:
        value = value.get(tail) if isinstance(value, dict) else None
    return value


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def compare(found: dict[str, dict], truth: dict[str, dict]) -> dict:
    """Largest absolute difference from the truth over every brand and figure.

    A figure that is missing or null on one side only, or a brand missing on one side,
    counts as an infinite difference and is listed in ``problems``.
    """
    worst = {"diff": 0.0, "brand": None, "figure": None, "found": None, "truth": None}
    problems: list[str] = []
    beyond = 0

    def note(diff, brand, figure, got, want):
        if diff > worst["diff"] or (worst["brand"] is None and diff > 0):
            worst.update(diff=diff, brand=brand, figure=figure, found=got, truth=want)

    for brand, want_row in truth.items():
        got_row = found.get(brand)
        if got_row is None:
            problems.append(f"brand {brand} missing ({want_row['probes']} probes in the truth)")
            note(math.inf, brand, "probes", None, want_row["probes"])
            beyond += 1
            continue
        for figure in FIGURES:
            want, got = _number(_figure(want_row, figure)), _number(_figure(got_row, figure))
            if want is None and got is None:
                continue
            if want is None or got is None:
                problems.append(f"{brand} {figure}: {got} where the truth has {want}")
                note(math.inf, brand, figure, got, want)
                beyond += 1
                continue
            diff = abs(got - want)
            note(diff, brand, figure, got, want)
            if diff > FLOAT_REL * max(1.0, abs(want)):
                beyond += 1
    for brand in sorted(set(found) - set(truth)):
        problems.append(f"brand {brand} is not in the truth")
        note(math.inf, brand, "probes", _figure(found[brand], "probes"), None)
        beyond += 1
    return {"worst": worst, "beyond_rounding": beyond, "problems": problems}


def socialbench_brands(summary_path: Path) -> dict[str, dict]:
    summary = json.loads(summary_path.read_text())
    rows = summary["groups"]["brand"]
    return {row["brand"]: row for row in rows}


# ---------------------------------------------------------------------------- reporting


def _fmt_diff(result: dict | None) -> str:
    if result is None:
        return "n/a"
    w = result["worst"]
    if w["brand"] is None:
        return "0 (every figure exact)"
    text = f"{w['diff']:.3g} ({w['brand']} {w['figure']}: {w['found']!r} vs truth {w['truth']!r})"
    if not result["beyond_rounding"]:
        text += " - float rounding only"
    else:
        text += f" - {result['beyond_rounding']} figure(s) differ"
    return text


def installed_bytecode() -> None:
    """socialbench's modules compiled, as an installed package has them (pip compiles a
    wheel's modules when it installs them). An editable install on a machine that sets
    PYTHONDONTWRITEBYTECODE, as this one does, would otherwise compile every module it
    imports at every start: 20-30 ms of ``--help`` and about 0.1 s of a run, measured as
    if they were the program's."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "socialbench")],
                   check=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="alternating runs of each program; the fastest counts [default: 3]",
    )
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached archive")
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="only the comparison with DuckDB: no scaling, Spark or start-up",
    )
    args = parser.parse_args(argv)

    csv_path, truth_path = archive(
        args.conversations, args.brands, args.seed, force=args.regenerate
    )
    truth_file = json.loads(truth_path.read_text())
    truth = truth_file["brands"]
    stem = csv_path.stem
    sb_dir = OUT / f"{stem}.socialbench"
    installed_bytecode()
    duck_json = OUT / f"{stem}.duckdb.json"

    sb, duck = alternate(
        [
            Run("socialbench", [sys.executable, "-m", "socialbench", "run", "--fixtures",
                                str(csv_path), "--out", str(sb_dir), "--quiet",
                                "--min-group", "1"]),
            Run("duckdb", [sys.executable, str(REFERENCE), str(csv_path), "-o", str(duck_json)]),
        ],
        args.repeat,
        [OUT / f"{stem}.socialbench.log", OUT / f"{stem}.duckdb.log"],
    )  # fmt: skip

    missed: list[str] = []
    sb_cmp = duck_cmp = None
    if sb.ok and (sb_dir / "summary.json").exists():
        try:
            sb_cmp = compare(socialbench_brands(sb_dir / "summary.json"), truth)
        except (KeyError, TypeError, ValueError) as exc:
            missed.append(f"socialbench's summary.json is not in the expected shape: {exc!r}")
    else:
        why = (
            f"exit status {sb.returncode}"
            if not sb.ok
            else f"no summary.json in {sb_dir.relative_to(ROOT)}"
        )
        tail = "\n    ".join(sb.stderr.strip().splitlines()[-15:]) or "(no output)"
        missed.append(f"socialbench run failed ({why}); its stderr ends:\n    {tail}")
    if duck.ok:
        duck_cmp = compare(json.loads(duck_json.read_text())["brands"], truth)
    else:
        tail = "\n    ".join(duck.stderr.strip().splitlines()[-15:])
        missed.append(f"the DuckDB reference failed (exit {duck.returncode}):\n    {tail}")

    def secs(r):
        return f"{r.wall_s:8.2f} s" if r.wall_s is not None and r.ok else "  failed"

    def mib(r):
        return f"{r.peak_rss_mb:8,.0f} MiB" if r.peak_rss_mb is not None and r.ok else "   failed"

    rows = truth_file.get("params", {}).get("rows")
    print(f"\n{args.conversations:,} conversations, {len(truth)} brands, seed {args.seed}"
          + (f", {rows:,} rows" if rows else "")
          + f", {os.cpu_count()} CPUs")  # fmt: skip

    def spread(r):
        runs = getattr(r, "all_s", None)
        return ", ".join(f"{w:.2f}" for w in runs) if runs and r.ok else ""

    print(f"  {'':12} {'fastest':>11} {'peak RSS':>12}   all runs (s), alternating")
    print(f"  {'socialbench':12} {secs(sb):>11} {mib(sb):>12}   {spread(sb)}")
    print(f"  {'duckdb':12} {secs(duck):>11} {mib(duck):>12}   {spread(duck)}")

    time_ratio = mem_ratio = None
    if sb.ok and duck.ok:
        time_ratio = sb.wall_s / duck.wall_s
        mem_ratio = sb.peak_rss_mb / duck.peak_rss_mb
        t_ok, m_ok = time_ratio <= TIME_RATIO_TARGET, mem_ratio <= MEMORY_RATIO_TARGET
        print(f"  time ratio (socialbench/duckdb):   {time_ratio:6.2f}  "
              f"target <= {TIME_RATIO_TARGET}  {'ok' if t_ok else 'MISSED'}")  # fmt: skip
        print(f"  memory ratio (socialbench/duckdb): {mem_ratio:6.2f}  "
              f"target <= {MEMORY_RATIO_TARGET}  {'ok' if m_ok else 'MISSED'}")  # fmt: skip
        if not t_ok:
            missed.append(f"time ratio {time_ratio:.2f} > {TIME_RATIO_TARGET}")
        if not m_ok:
            missed.append(f"memory ratio {mem_ratio:.2f} > {MEMORY_RATIO_TARGET}")
    print(f"  largest |socialbench - truth|: {_fmt_diff(sb_cmp)}")
    print(f"  largest |duckdb - truth|:      {_fmt_diff(duck_cmp)}")
    for name, result in (("socialbench", sb_cmp), ("duckdb", duck_cmp)):
        if result is None:
            continue
        for problem in result["problems"][:10]:
            print(f"    {name}: {problem}")
        if len(result["problems"]) > 10:
            print(f"    {name}: ... {len(result['problems']) - 10} more")
        if result["beyond_rounding"]:
            missed.append(f"{name} differs from the truth in {result['beyond_rounding']} "
                          "figure(s)")  # fmt: skip

    extras = {} if args.no_extras else run_extras(csv_path, stem, truth, sb, duck, missed)
    record = {
        "extras": extras,
        "params": {"conversations": args.conversations, "brands": args.brands,
                   "seed": args.seed, "repeat": args.repeat},
        "cpus": os.cpu_count(),
        "socialbench": {"wall_s": sb.wall_s, "runs_s": getattr(sb, "all_s", None),
                        "peak_rss_mb": sb.peak_rss_mb,
                        "returncode": sb.returncode, "vs_truth": sb_cmp},
        "duckdb": {"wall_s": duck.wall_s, "runs_s": getattr(duck, "all_s", None),
                   "peak_rss_mb": duck.peak_rss_mb,
                   "returncode": duck.returncode, "vs_truth": duck_cmp},
        "time_ratio": time_ratio,
        "memory_ratio": mem_ratio,
        "missed": missed,
    }  # fmt: skip
    (OUT / f"{stem}.bench.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    if missed:
        print("\nTARGETS MISSED:")
        for m in missed:
            print(f"  - {m}")
        return 1
    print("\nall targets met")
    return 0


# ---------------------------------------------------------------------------- the extras


def _socialbench(csv_path: Path, out_dir: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "socialbench", "run", "--fixtures", str(csv_path),
            "--out", str(out_dir), "--quiet", "--min-group", "1", *options]  # fmt: skip


def run_extras(csv_path, stem, truth, sb: Run, duck: Run, missed: list[str]) -> dict:
    """Scaling, Spark and start-up, each printed as it is measured."""
    return {
        "scaling": scaling(csv_path, stem, sb, missed),
        "reference_with_probe_table": reference_with_probe_table(csv_path, stem, sb, missed),
        "spark": spark(csv_path, stem, truth, duck, missed),
        "startup": startup(missed),
    }


def scaling(csv_path: Path, stem: str, every: Run, missed: list[str]) -> dict | None:
    one = Run("socialbench --threads 1",
              _socialbench(csv_path, OUT / f"{stem}.threads1", "--threads", "1"))(
        OUT / f"{stem}.threads1.log")  # fmt: skip
    if not (one.ok and every.ok):
        missed.append(f"the --threads 1 run failed: {one.stderr[-500:]}")
        return None
    speedup = one.wall_s / every.wall_s
    ok = speedup >= SPEEDUP_TARGET or (os.cpu_count() or 1) < 2
    print(f"\n  scaling: --threads 1 {one.wall_s:.2f} s, all {os.cpu_count()} cores "
          f"{every.wall_s:.2f} s: speed-up {speedup:.2f}  target >= {SPEEDUP_TARGET}  "
          f"{'ok' if ok else 'MISSED'}")  # fmt: skip
    if not ok:
        missed.append(f"speed-up {speedup:.2f} < {SPEEDUP_TARGET}")
    return {"one_thread_s": one.wall_s, "all_cores_s": every.wall_s, "speedup": speedup}


def reference_with_probe_table(
    csv_path: Path, stem: str, sb: Run, missed: list[str], repeat: int = 2
) -> dict | None:
    """Context for the time ratio, no target: the reference alone, and the reference also
    writing its per-probe rows in time order (``--probes-csv``: 12 of probes.csv's 29
    columns), alternating; how much of socialbench's time a probe table costs even there."""
    json_path, table = OUT / f"{stem}.duckdb-probes.json", OUT / f"{stem}.duckdb-probes.csv"
    plain, with_table = alternate(
        [
            Run("duckdb", [sys.executable, str(REFERENCE), str(csv_path), "-o", str(json_path)]),
            Run("duckdb + probe table", [sys.executable, str(REFERENCE), str(csv_path),
                                         "-o", str(json_path), "--probes-csv", str(table)]),
        ],
        repeat,
        [OUT / f"{stem}.duckdb-plain.log", OUT / f"{stem}.duckdb-probes.log"],
    )  # fmt: skip
    table.unlink(missing_ok=True)
    if not (plain.ok and with_table.ok):
        missed.append(f"the reference with --probes-csv failed: {with_table.stderr[-500:]}")
        return None
    ours = f"; socialbench / that: {sb.wall_s / with_table.wall_s:.2f}" if sb.ok else ""
    more = with_table.wall_s / plain.wall_s
    print(f"\n  context (no target): the reference {plain.wall_s:.2f} s; writing its per-probe "
          f"rows too {with_table.wall_s:.2f} s ({more:.2f}x){ours}")  # fmt: skip
    return {"reference_s": plain.wall_s, "with_probe_table_s": with_table.wall_s}


def spark(csv_path: Path, stem: str, truth: dict, duck: Run, missed: list[str]) -> dict | None:
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        print("\n  spark: skipped (pyspark or Java missing; `make java` installs Java)")
        return None
    out_dir = OUT / f"{stem}.spark"
    run = Run("spark", _socialbench(csv_path, out_dir, "--engine", "spark"))(
        OUT / f"{stem}.spark.log")  # fmt: skip
    if not run.ok:
        missed.append(f"the Spark run failed: {run.stderr[-800:]}")
        return None
    result = compare(socialbench_brands(out_dir / "summary.json"), truth)
    print(f"\n  spark (local[*]): {run.wall_s:.2f} s, peak RSS of the driver "
          f"{run.peak_rss_mb:,.0f} MiB (DuckDB reference {duck.wall_s or 0:.2f} s); "
          f"largest |spark - truth|: {_fmt_diff(result)}")  # fmt: skip
    if result["beyond_rounding"]:
        missed.append(f"spark differs from the truth in {result['beyond_rounding']} figure(s)")
    return {"wall_s": run.wall_s, "peak_rss_mb": run.peak_rss_mb, "vs_truth": result}


def startup(missed: list[str], repeat: int = 15) -> dict:
    """Median wall time of ``socialbench --help`` and of importing click, alternating."""
    cmds = {"help": [sys.executable, "-m", "socialbench", "--help"],
            "click": [sys.executable, "-c", "import click"]}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            started = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
            times[name].append(time.perf_counter() - started)
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    ratio = median["help"] / median["click"]
    ok = ratio <= STARTUP_RATIO_TARGET
    print(f"\n  start-up: socialbench --help {median['help'] * 1000:.0f} ms, import click "
          f"{median['click'] * 1000:.0f} ms: ratio {ratio:.2f}  target <= "
          f"{STARTUP_RATIO_TARGET}  {'ok' if ok else 'MISSED'}")  # fmt: skip
    if not ok:
        missed.append(f"start-up ratio {ratio:.2f} > {STARTUP_RATIO_TARGET}")
    return {"help_s": median["help"], "click_s": median["click"], "ratio": ratio}


if __name__ == "__main__":
    raise SystemExit(main())

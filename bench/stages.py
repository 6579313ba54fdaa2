"""Where the time of an archive run goes, stage by stage, beside the DuckDB reference's.

    python bench/stages.py [ARCHIVE] [--threads 1] [--repeat 2]

ARCHIVE: a twcs CSV (default: the archive of ``make bench``, 1,000,000 conversations,
generated when missing). Each program runs in a child process of its own, ``--repeat``
times in turn; the fastest run of each is printed. With one thread (the default) every
stage runs alone, so the seconds between stages are the CPU time each one costs.

- **socialbench**: ``socialbench run --fixtures ARCHIVE --quiet --min-group 1 --threads N``,
  marked where each stage of the plan (``conversations.plan``) and of the outputs starts.
- **reference**: ``bench/duckdb_reference.py``'s three statements (reading, the recursive
  exchange, the per-brand query), once with socialbench's reply-type rules and once with
  every rule replaced by ``false``: the difference is what the rules cost it.

No target: this is the account behind the time ratio of ``archive_bench.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import archive_bench as ab  # noqa: E402 - the shared archive and child-process runs

# where a stage of socialbench starts: (module, function) -> the stage's name
_STAGES = {
    ("socialbench.conversations.scan", "load_twcs"): "reading the CSV",
    ("socialbench.conversations.plan", "_messages"): "messages: ids, keys, duplicates",
    ("socialbench.conversations.plan", "_tree"): "reply trees",
    ("socialbench.conversations.plan", "_conv"): "threads, first replies, texts",
    ("socialbench.conversations.duck", "DuckEngine.classify"): "text rules",
    ("socialbench.conversations.plan", "_brands"): "brands and the probe table",
    ("socialbench.measure.aggregate", "summarize"): "summary",
    ("socialbench.report.output", "write_probes_batches"): "probes.csv and the other files",
}
START = "interpreter, imports, exit"  # the wall time outside the marks counts here
OUTPUTS = ("summary", "probes.csv and the other files")
# the reference's statements, in the order it runs them
REFERENCE_STAGES = ("reading the CSV", "the exchange (recursive CTE)", "per-brand figures")
PER_BRAND = REFERENCE_STAGES[-1]


def _child_socialbench(archive: str, threads: int) -> list[tuple[str, float]]:
    """Run socialbench in this process; the time since start-up at which each stage began."""
    import importlib

    started = time.perf_counter()
    marks = [(START, 0.0)]

    def marked(function, stage):
        def call(*args, **kwargs):
            marks.append((stage, time.perf_counter() - started))
            return function(*args, **kwargs)

        return call

    for (module_name, name), stage in _STAGES.items():
        owner = importlib.import_module(module_name)
        *outer, attribute = name.split(".")
        for part in outer:
            owner = getattr(owner, part)
        setattr(owner, attribute, marked(getattr(owner, attribute), stage))
    from socialbench import app
    from socialbench.cli import main

    app.plain_terminal()
    with tempfile.TemporaryDirectory(prefix="stages-") as out:
        # archive_bench's command line, without its "python -m socialbench"
        argv = ab._socialbench(Path(archive), Path(out), "--threads", str(threads))[3:]
        try:
            main(argv, standalone_mode=False)
        finally:
            marks.append(("end", time.perf_counter() - started))
    return marks


def _child_reference(archive: str, threads: int, rules: bool) -> list[tuple[str, float]]:
    """The reference's statements, timed: the moment each began, and the end."""
    import duckdb_reference as ref

    started = time.perf_counter()
    names = iter(REFERENCE_STAGES)
    marks = [(START, 0.0)]
    connection = ref.duckdb.connect()

    class Timed:
        """The connection, marking each statement but the settings."""

        def execute(self, sql, *args):
            if not sql.lstrip().upper().startswith("SET"):
                marks.append((next(names), time.perf_counter() - started))
            return connection.execute(sql, *args)

        def close(self):
            connection.close()

    class NoRules(ref.FullRules):
        def link(self, s):
            return "false"

        dm = phone = email = confirms_resolution = link

        def ack_only(self, source, columns):
            return f"SELECT {columns}, false AS ack_only FROM {source}"

    ref.duckdb.connect = Timed
    if not rules:
        ref.FullRules = NoRules
    ref.reference(archive, threads=threads)
    marks.append(("end", time.perf_counter() - started))
    return marks


def _seconds(marks: list[tuple[str, float]], wall: float) -> dict[str, float]:
    """Seconds per stage; the interpreter's start and exit (wall time outside the marks)
    counted with the imports."""
    out: dict[str, float] = {}
    for (stage, at), (_, following) in itertools.pairwise(marks):
        out[stage] = out.get(stage, 0.0) + following - at
    out[START] = out.get(START, 0.0) + wall - marks[-1][1]
    return out


def _measure(program: str, archive: Path, threads: int, logs: Path) -> tuple[float, dict]:
    """One run of ``program`` in a child process: its wall time and seconds per stage."""
    log = logs / f"stages.{program}.log"
    result = log.with_suffix(".json")
    cmd = [sys.executable, __file__, "--child", program, "--result", str(result),
           "--threads", str(threads), str(archive)]  # fmt: skip
    run = ab.Run(program, cmd)(log)
    if not run.ok:
        sys.exit(f"{program} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return run.wall_s, _seconds(json.loads(result.read_text()), run.wall_s)


def _table(title: str, stages: dict[str, float], wall: float) -> None:
    print(f"\n{title}: {wall:.2f} s")
    for stage, seconds in stages.items():
        print(f"  {seconds:6.2f} s  {stage}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", type=Path, help="twcs CSV (default: make bench's)")
    parser.add_argument("--threads", type=int, default=1, help="threads of both (default 1)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, in turn")
    parser.add_argument("--logs", type=Path, default=ab.OUT, help="where logs go (bench/out)")
    parser.add_argument("--child", choices=("socialbench", "reference", "reference-no-rules"))
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        archive = str(args.archive)
        if args.child == "socialbench":
            marks = _child_socialbench(archive, args.threads)
        else:
            marks = _child_reference(archive, args.threads, args.child == "reference")
        args.result.write_text(json.dumps(marks))
        return 0

    archive = args.archive or ab.archive(1_000_000, 100, 1, force=False)[0]
    args.logs.mkdir(parents=True, exist_ok=True)
    ab.installed_bytecode()
    programs = ("socialbench", "reference", "reference-no-rules")
    best: dict[str, tuple[float, dict]] = {}
    for _ in range(args.repeat):
        for program in programs:
            found = _measure(program, archive, args.threads, args.logs)
            print(f"{program}: {found[0]:.2f} s")
            if program not in best or found[0] < best[program][0]:
                best[program] = found

    print(f"\narchive: {archive}; {args.threads} thread(s); fastest of {args.repeat} runs each")
    (sb_wall, sb), (ref_wall, ref), (bare_wall, bare) = (best[p] for p in programs)
    _table("socialbench", sb, sb_wall)
    _table("reference", ref, ref_wall)
    rules = ref[PER_BRAND] - bare[PER_BRAND]
    print(f"  of which its reply-type rules: {rules:.2f} s (the per-brand query took "
          f"{bare[PER_BRAND]:.2f} s with every rule false)")  # fmt: skip
    outputs = sum(sb.get(stage, 0.0) for stage in OUTPUTS)
    print(f"\ntime ratio at {args.threads} thread(s): {sb_wall / ref_wall:.2f}")
    print(f"socialbench's outputs alone (summary, probes.csv, the other files): {outputs:.2f} s, "
          f"{outputs / ref_wall:.2f} of the reference's whole run")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

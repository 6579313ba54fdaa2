"""A probe run from start to files: the run directory, the store, the target, the runner,
then the probe table, summary and recording.

``start`` begins a run in a new directory; ``resume`` continues one (after Ctrl-C, a crash or
``kill -9``, or from cron with ``once``). The suite is copied into the directory and the
target options stored before anything else happens, so a resumed run uses the suite and
target it started with, and plans the probes itself if the start was stopped before it did.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from socialbench import scenarios
from socialbench.errors import SocialbenchError, UsageError
from socialbench.probing import connectors
from socialbench.probing.pacing import schedule, span
from socialbench.probing.runner import Runner, RunSettings, Status, epoch
from socialbench.probing.store import DATABASE, RunStore

SUITE_FILE = "suite.yaml"
TRUTH_FILE = "sandbox_truth.jsonl"


@dataclass(frozen=True)
class TargetOptions:
    """How to reach the target; stored with the run so that a resume reaches it again."""

    target: str = "sandbox"
    endpoint: str | None = None
    speed: float | None = None
    seed: int = 0
    profile: str | None = None
    fixtures: tuple[str, ...] = ()
    poll_every_s: float | None = None
    start: str | None = None  # the in-process sandbox's simulated start (ISO 8601)


@dataclass(frozen=True)
class OutputOptions:
    min_group: int = 10
    tiers: tuple[float, ...] = (1000.0, 10000.0)
    record: Path | None = None


@dataclass
class Outcome:
    out_dir: Path
    status: Status
    summary: dict
    probes: object = field(repr=False)  # the probe table (DataFrame)


async def start(
    suite_path: Path,
    out_dir: Path,
    *,
    target: TargetOptions,
    output: OutputOptions,
    once: bool = False,
    progress: Callable[[Status], None] | None = None,
) -> Outcome:
    """Plan a new run of ``suite_path`` in ``out_dir`` and run it."""
    suite = scenarios.load_suite(suite_path)
    probes = scenarios.expand(suite)
    connectors.check(target.target, suite, probes, os.environ)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _new_store(out_dir) as store:
        _copy_atomically(suite_path, out_dir / SUITE_FILE)
        store.set_meta("suite", suite.suite)
        store.set_meta("label", label(out_dir))
        store.set_meta("target", asdict(target))  # stored last: from now on, resumable
        return await _run(store, out_dir, target, output, once, progress)


AUTO_SPAN_S = 30.0  # real seconds an in-process sandbox run takes without --speed


def _auto_speed(target: TargetOptions, probes, pacing, window_s: float) -> float:
    """Without ``--speed``, the in-process sandbox's clock runs fast enough for the run's
    planned span (first send to last window's end) to pass in about AUTO_SPAN_S; a
    standalone sandbox keeps its own speed, and nothing else has one."""
    if target.target != "sandbox" or target.endpoint:
        return 1.0
    planned_span = span(schedule(probes, origin=0.0, pacing=pacing), window_s)
    return max(1.0, planned_span / AUTO_SPAN_S)


def label(out_dir: Path) -> str:
    """A run's label, mixed into its probe ids: the run directory's name. Runs of one suite
    in directories of different names send different texts (platforms refuse a repeated
    post); the default directory name carries the start time."""
    return out_dir.resolve().name


def _new_store(out_dir: Path) -> RunStore:
    """A store for a new run; one left by a start stopped before it planned anything (so
    before anything was sent) is taken over."""
    if not (out_dir / DATABASE).exists():
        return RunStore.open(out_dir, create=True)
    store = RunStore.open(out_dir, create=False)
    if sum(store.counts().values()):
        store.close()
        raise SocialbenchError(
            f"{out_dir}: a run is already stored here; continue it with "
            f"`socialbench run --resume {out_dir}`, or choose another --out"
        )
    return store


def _copy_atomically(source: Path, target: Path) -> None:
    from socialbench.report.output import write_atomic

    write_atomic(target, lambda partial: shutil.copyfile(source, partial))


async def resume(
    out_dir: Path,
    *,
    output: OutputOptions,
    once: bool = False,
    progress: Callable[[Status], None] | None = None,
) -> Outcome:
    """Continue the run in ``out_dir``: nothing is sent twice, nothing observed is lost. A
    run stopped before it planned its probes (nothing can have been sent) is planned now."""
    with RunStore.open(out_dir, create=False) as store:
        target = _stored_target(store, out_dir)
        in_process = target.target == "sandbox" and not target.endpoint
        if in_process and _planned(store):
            raise UsageError(
                f"{out_dir}: this run used the in-process sandbox, whose platform ended with "
                "the process; nothing can be resumed against it. Runs that must survive a "
                "restart use `socialbench sandbox serve` and `--endpoint URL`."
            )
        return await _run(store, out_dir, target, output, once, progress)


def _stored_target(store: RunStore, out_dir: Path) -> TargetOptions:
    """The target options the run started with; an error when the start was stopped before
    it stored them (and so before it could plan or send anything)."""
    stored = store.meta("target")
    if not isinstance(stored, dict) or not (out_dir / SUITE_FILE).is_file():
        raise SocialbenchError(
            f"{out_dir}: this run was stopped while starting, before it stored its suite and "
            "target, so nothing was sent; run the same `socialbench run SUITE --out DIR` "
            "again (it takes this directory over)"
        )
    return TargetOptions(**{**stored, "fixtures": tuple(stored.get("fixtures", ()))})


def _planned(store: RunStore) -> bool:
    return bool(sum(store.counts().values()))


async def _run(store, out_dir, target, output, once, progress) -> Outcome:
    """Open the target, plan the probes if nothing is planned yet, run, write the files.

    Nothing can have been sent before the plan: probes are sent only by the runner, only
    from the stored plan, each after its intent is stored. So a run stopped before planning
    is planned by whichever invocation comes next (a start taking the directory over, or a
    resume), and its schedule starts then: ``origin`` is the platform time of planning."""
    suite = scenarios.load_suite(out_dir / SUITE_FILE)
    probes = scenarios.expand(suite, run=store.meta("label"))
    connectors.check(target.target, suite, probes, os.environ)
    window_s = scenarios.window_s(suite)
    context = connectors.TargetContext(
        suite=suite,
        probes=tuple(probes),
        out_dir=out_dir,
        endpoint=target.endpoint,
        speed=target.speed or _auto_speed(target, probes, scenarios.pacing(suite), window_s),
        seed=target.seed,
        profile=Path(target.profile) if target.profile else None,
        fixtures=tuple(Path(p) for p in target.fixtures),
        window_s=window_s,
        env=dict(os.environ),
        start=target.start,
    )
    connector = await connectors.open_target(target.target, context)
    try:
        pacing = scenarios.pacing(suite)
        own = getattr(connector, "own_conversations", False)
        if own:  # True: on every channel; else the channels where it holds
            channels = {p.channel for p in probes} if own is True else own
            pacing = replace(pacing, own_channels=frozenset(channels))
        if not _planned(store):
            # a simulated start is the schedule's origin exactly: the same every time
            origin = epoch(target.start) if target.start else connector.clock.now()
            store.set_meta("origin", origin)
            planned = schedule(probes, origin=origin, pacing=pacing)
            store.plan(planned)
            if hasattr(connector, "planned"):  # the sandbox dates probes as planned
                connector.planned({probe.probe_id: due for probe, due in planned})
        settings = RunSettings(
            window_s=window_s,
            pacing=pacing,
            concurrency=scenarios.concurrency(suite),
            poll_every_s=target.poll_every_s or getattr(connector, "poll_every_s", 60.0),
            poll_max_s=getattr(connector, "poll_max_s", 300.0),
            once=once,
        )
        book = scenarios.brand_book(suite)
        runner = Runner(store, connector, settings, brand_handles=book.handles(), progress=progress)
        status = await runner.run()
        as_of = connector.clock.now()
    finally:
        await connector.close()
    store.set_meta("as_of", as_of)
    return _write(
        store, out_dir, suite, book, target, output, status, as_of=as_of, window_s=window_s
    )


def _write(store, out_dir, suite, book, target, output, status, *, as_of, window_s) -> Outcome:
    from socialbench.measure import metrics
    from socialbench.probing import attribution
    from socialbench.report import output as files

    table, msgs = attribution.probe_table(store, book=book, window_s=window_s, as_of=as_of)
    info = attribution.RunInfo(
        suite=suite.suite,
        target=target.target,
        live=connectors.is_live(target.target),
        as_of=as_of,
        complete=status.done,
    )
    settings = metrics.MetricSettings(
        window_s=window_s, min_group=output.min_group, tiers=output.tiers
    )
    summary = attribution.summarize(table, settings, info, store)
    files.write_run(
        out_dir,
        {
            "probes.csv": lambda p: files.write_probes_csv(table, p),
            "summary.json": lambda p: files.write_json(summary, p),
        },
    )
    if output.record is not None:
        sent = {s.platform_id: s for s in store.probes(states=("sent",))}
        secrets = [os.environ.get(v, "") for v in scenarios.credential_variables(suite)]
        attribution.write_recording(msgs, sent, output.record, secrets=secrets)
    return Outcome(out_dir, status, summary, table)

"""The workflows behind each command: what ``run``, ``validate``, ``check``, ``compare``,
``report``, ``init``, ``schema``, ``sandbox serve`` and ``observe`` do once their options are
parsed.

In: the options cli.py parsed (paths, durations already in seconds). Out: the files a command
writes (a run's folder, reports, a JUnit file), what it prints, and an exit code (0, or a
verdict's) or a SocialbenchError, which cli.py turns into its exit code. Heavy libraries
(pandas, pyarrow, pydantic, rich) are imported inside functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from socialbench import report, sources
from socialbench.errors import InputError, UsageError, WriteFailed
from socialbench.safe import terminal_text

EXIT_OK = 0

_ENGINE_OPTIONS = ("engine", "threads", "memory_limit", "temp_dir", "spark_master")
_ARCHIVE_ONLY = (
    "fmt", "mapping", "brands_file", "window", "reopen_after", "skip_bad_rows",
    *_ENGINE_OPTIONS,
)  # fmt: skip
_SUITE_ONLY = (
    "target", "endpoint", "speed", "profile", "resume_dir", "once", "record", "seed", "start",
)  # fmt: skip
_NOT_FOR_SUITES = (
    "apply to recorded conversations, not to suites (a suite sets its own window and brands)"
)
_NOT_FOR_ARCHIVES = "need a suite (run SUITE ...) or --resume DIR"
_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_TIME = "%Y-%m-%d %H:%M:%S"


# ------------------------------------------------------------------------ option values


def parse_tiers(text: str) -> tuple[float, ...]:
    """``--tiers``: comma-separated follower-tier boundaries, increasing and positive."""
    try:
        tiers = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise UsageError(f"--tiers: {text!r} is not a comma-separated list of numbers") from None
    if not tiers or any(t <= 0 for t in tiers) or list(tiers) != sorted(set(tiers)):
        raise UsageError(f"--tiers: {text!r} must be increasing positive numbers, e.g. 1000,10000")
    return tiers


def engine_options(options: dict):
    """The ``conversations.EngineOptions`` of a command's options."""
    from socialbench.conversations import EngineOptions

    if options.get("spark_master") and options.get("engine") != "spark":
        raise UsageError("--spark-master needs --engine spark")
    limit = options.get("memory_limit")
    if limit is not None and not _SIZE.fullmatch(limit.strip()):
        raise UsageError(f"--memory-limit: {limit!r} is not a size such as 512MB, 1GB or 2GiB")
    temp = options.get("temp_dir")
    return EngineOptions(
        kind=options.get("engine") or "duckdb",
        threads=options.get("threads"),
        memory_limit=limit,
        temp_dir=None if temp is None else str(temp),
        spark_master=options.get("spark_master"),
    )


def _read_options(*, mapping, brands_file, skip_bad_rows):
    """The brand book and how to read recorded conversations (column map, bad rows)."""
    from socialbench.conversations import brands

    book = brands.load(brands_file)
    options = sources.ReadOptions(
        brand_handles=book.handles(),
        mapping=sources.parse_map(mapping),
        skip_bad_rows=skip_bad_rows,
    )
    return book, options


def _default_out(name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"{name}-{stamp}"


def plain_terminal() -> None:
    """Standard output and error show what their encoding cannot (a C locale,
    ``PYTHONIOENCODING=ascii``) as backslash escapes instead of failing on it."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _console():
    from rich.console import Console

    return Console(highlight=False)


# --------------------------------------------------------------------------------- run


def run(
    paths: tuple[Path, ...], fixtures: tuple[Path, ...], options: dict, *, given: set[str]
) -> int:
    """``run``: send a suite's probes (or resume a run), or analyse recorded conversations.

    ``given`` names the options set on the command line, to refuse those of the other kind
    of run. Returns the verdict's exit code with a check, else 0.
    """
    options = {**options, "branding": branding(options)}  # a bad logo stops before the run
    if "pdf" in report.parse_formats(options["report_formats"] or "html"):
        from socialbench.report import pdf

        pdf.browser()  # no Chromium: said before the run, not after it
    if options["resume_dir"] is not None or (paths and _is_suite(paths[0])):
        _refuse(given, _ARCHIVE_ONLY, _NOT_FOR_SUITES)
        if len(paths) > 1:
            raise UsageError("run: give one suite; recordings go after --fixtures")
        return _run_suite(paths, fixtures, options)
    _refuse(given, _SUITE_ONLY, _NOT_FOR_ARCHIVES)
    return _run_archive(list(fixtures) + list(paths), options)


def _is_suite(path: Path) -> bool:
    from socialbench import scenarios  # pydantic and pandas: not imported for archives alone

    return scenarios.is_suite(path)


def _refuse(given: set[str], names: tuple[str, ...], why: str) -> None:
    flags = [_flag(name) for name in names if name in given]
    if flags:
        raise UsageError(f"run: {', '.join(flags)} {why}")


_FLAGS = {"fmt": "format", "mapping": "map", "brands_file": "brands", "resume_dir": "resume"}


def _flag(name: str) -> str:
    """The command-line flag of an option's parameter name."""
    return "--" + _FLAGS.get(name, name).replace("_", "-")


def _run_suite(paths, fixtures, options) -> int:
    """Probe a suite's brands (or resume a stopped run), write its files and reports, print
    the summary and, with a check, deliver the verdict."""
    from socialbench.probing import progress, session

    output = session.OutputOptions(
        min_group=options["min_group"],
        tiers=parse_tiers(options["tiers"]),
        record=options["record"],
    )
    display = progress.Display(
        quiet=options["quiet"], live=sys.stdout.isatty(), echo=lambda line: click.echo(line)
    )
    resume_dir = options["resume_dir"]
    suite_path = resume_dir / "suite.yaml" if resume_dir is not None else paths[0]
    if suite_path.is_file():
        request, suite = _preflight(options, suite_path=suite_path)
    else:  # a resume without a run here fails with its own message; checked after the run
        request, suite = (_check_request(options) if _wants_check(options) else None), None
    with display:
        outcome = _probe(paths, fixtures, options, output=output, display=display)
    _write_reports(outcome.out_dir, options)
    if not options["quiet"]:
        _print_failed(outcome.summary)
        _print_summary(outcome.summary, outcome.out_dir, top=options["top"])
    if request is None:
        return EXIT_OK
    return _check_suite_run(outcome, suite, request, options)


def _probe(paths, fixtures, options, *, output, display):
    """The outcome of the probe run, started or resumed; on Ctrl-C, say how to continue."""
    import asyncio

    from socialbench.probing import session

    resume_dir = options["resume_dir"]
    once = options["once"]
    try:
        if resume_dir is not None:
            resumed = session.resume(resume_dir, output=output, once=once, progress=display)
            return asyncio.run(resumed)
        target = _target_options(fixtures, options)
        out = options["out_dir"] or _default_out(options["name"] or paths[0].stem)
        started = session.start(
            paths[0], out, target=target, output=output, once=once, progress=display
        )
        return asyncio.run(started)
    except KeyboardInterrupt:
        where = resume_dir or options["out_dir"]
        if where is not None:
            hint = f"socialbench run --resume {terminal_text(where)}"
            click.echo(f"interrupted; continue with: {hint}", err=True)
        raise


def _target_options(fixtures, options):
    from socialbench.probing import session

    _check_start(options)
    return session.TargetOptions(
        target=options["target"] or "sandbox",
        endpoint=options["endpoint"],
        speed=options["speed"],
        seed=options["seed"],
        profile=str(options["profile"]) if options["profile"] else None,
        fixtures=tuple(str(p) for p in fixtures),
        start=options["start"],
    )


def _check_start(options) -> None:
    """``--start``: an ISO 8601 instant, for the sandbox this run starts itself."""
    start = options["start"]
    if start is None:
        return
    if (options["target"] or "sandbox") != "sandbox" or options["endpoint"]:
        raise UsageError(
            "--start: only for the sandbox a run starts itself (a running sandbox takes "
            "`socialbench sandbox serve --start ISO`)"
        )
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--start: {start!r} is not an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise UsageError(f"--start: {start!r} has no time zone (add Z for UTC)")


def _check_suite_run(outcome, suite, request, options) -> int:
    from socialbench import scenarios
    from socialbench.verdict import check

    if suite is None:
        suite = scenarios.load_suite(outcome.out_dir / "suite.yaml")
    ran = check.RunData(outcome.out_dir, outcome.summary, outcome.probes, suite=suite)
    return _deliver(check.check(ran, request), options)


def _run_archive(paths: list[Path], options) -> int:
    if not paths:
        raise UsageError(
            "run: give a suite (run SUITE) or recorded conversations (--fixtures PATH ...)"
        )
    return _analyse_archive(paths, options)


def _analyse_archive(paths: list[Path], options) -> int:
    """Measure recorded conversations, write the run's files and reports, print the summary
    and, with a check, deliver the verdict."""
    from socialbench.report import output

    request, _ = _preflight(options)
    result = _analyse(paths, options)
    target = options["out_dir"] or _default_out(options["name"] or paths[0].stem)
    with result:
        if request is not None:  # scopes checked against the data before anything is written
            judge = _archive_judge(target, result, request)
        output.write_run(target, result.writers())
    _write_reports(target, options)
    if not options["quiet"]:
        _report_skipped(result.skipped)
        _print_summary(result.summary, target, top=options["top"])
    if request is None:
        return EXIT_OK
    return _deliver(judge(), options)


def _analyse(paths: list[Path], options):
    """The analysis of recorded conversations (``analyse.analyse``), still open."""
    from socialbench import conversations
    from socialbench.conversations import analyse
    from socialbench.measure import metrics

    window = options["window"]
    book, read_options = _read_options(
        mapping=options["mapping"],
        brands_file=options["brands_file"],
        skip_bad_rows=options["skip_bad_rows"],
    )
    engine = engine_options(options)
    settings = conversations.Settings(
        window_s=window, reopen_after_s=options["reopen_after"], brand_book=book
    )
    metric_settings = metrics.MetricSettings(
        window_s=window, min_group=options["min_group"], tiers=parse_tiers(options["tiers"])
    )
    return analyse.analyse(
        paths,
        fmt=options["fmt"],
        options=read_options,
        settings=settings,
        metric_settings=metric_settings,
        engine=engine,
    )


def _archive_judge(target: Path, result, request):
    """The verdict of an archive run, to call once its files are written; its thresholds'
    scopes are checked against the data, and its baseline loaded, now."""
    from socialbench.verdict import check

    ran = check.RunData(target, result.summary, result.probes)
    thresholds = check.thresholds_for(ran, request)
    baseline = check.load_baseline(request.baseline)
    return functools.partial(check.judge, ran, thresholds, request=request, baseline=baseline)


def _preflight(options, *, suite_path: Path | None = None):
    """The check request of ``run --check`` (None without --check), its thresholds checked
    before anything runs, and the suite they were checked against."""
    if not _wants_check(options):
        return None, None
    from socialbench.verdict import check

    request = _check_request(options)
    suite = None
    if suite_path is not None:
        from socialbench import scenarios

        suite = scenarios.load_suite(suite_path)
    check.preflight(request, suite=suite, tiers=parse_tiers(options["tiers"]))
    return request, suite


def _write_reports(out_dir: Path, options: dict) -> None:
    """``run --report FORMATS``: the reports, branded, compared with ``--baseline`` if given."""
    if not options["report_formats"]:
        return
    names = report.parse_formats(options["report_formats"])
    loaded = _loaded(out_dir, options.get("branding"), options.get("baseline_dir"))
    for fmt in names:
        path = report.write(loaded, fmt)
        if not options["quiet"]:
            click.echo(f"report: {terminal_text(path)}")


def _loaded(directory: Path, brand, baseline: Path | None):
    """The run's report, branded, compared with ``baseline`` when one is given."""
    from socialbench.report import model, trends

    loaded = model.load(directory, branding=brand)
    if baseline is not None:
        loaded.baseline = trends.against(baseline, directory)
    return loaded


def branding(options: dict):
    """The reports' ``Branding`` from ``--title``, ``--client`` and ``--logo`` (read
    and checked now: a bad logo is a usage error before anything runs)."""
    from socialbench.report.branding import Branding, logo_uri

    logo = options.get("logo")
    return Branding(
        title=options.get("title") or None,
        client=options.get("client") or None,
        logo=None if logo is None else logo_uri(logo),
    )


def _print_summary(summary: dict, out_dir: Path, *, top: int) -> None:
    from socialbench.report import terminal

    terminal.render(summary, console=_console(), top=top, out_dir=str(out_dir))


def _print_failed(summary: dict) -> None:
    failed = summary.get("run", {}).get("failed", [])
    lines = [f"{item['probe_id']}: {item['error']}" for item in failed]
    _echo_first(f"{len(failed)} probe(s) failed:", lines, "(summary.json run.failed)")


def _report_skipped(skipped) -> None:
    _echo_first(f"skipped {len(skipped)} bad row(s):", [str(row) for row in skipped], "")


def _echo_first(title: str, lines: list[str], where: str, shown: int = 10) -> None:
    """``title`` and the first ``shown`` of ``lines`` (untrusted text, made inert) on
    stderr, then how many more there are and ``where`` they are; nothing without lines."""
    if not lines:
        return
    click.echo(title, err=True)
    for line in lines[:shown]:
        click.echo(f"  {terminal_text(line)}", err=True)
    if len(lines) > shown:
        click.echo(f"  … and {len(lines) - shown} more {where}".rstrip(), err=True)


# ------------------------------------------------------------------------------ checks


def _check_request(options):
    from socialbench.verdict import check
    from socialbench.verdict.thresholds import regression

    return check.Request(
        files=tuple(options["threshold_files"]),
        options=tuple(options["threshold_texts"]),
        regressions=tuple(regression.parse(text) for text in options["max_regressions"]),
        baseline=options["baseline_dir"],
        allow_incomplete=options["allow_incomplete"],
        require_live=options["require_live"],
    )


def _wants_check(options) -> bool:
    """``--check``, or any option that only makes sense with one."""
    return bool(
        options.get("check")
        or options["threshold_texts"]
        or options["threshold_files"]
        or options["junit"]
        or options["baseline_dir"]
        or options["max_regressions"]
    )


def _deliver(verdict, options) -> int:
    """Print the verdict, write the JUnit file and the step summary; return its exit code.

    The verdict is printed first, so a JUnit file that cannot be written (exit code 2) still
    leaves it on screen; a step summary that cannot be appended is only a warning.
    """
    from socialbench.report import verdict_terminal

    if options.get("quiet"):
        if verdict.exit_code:
            click.echo(terminal_text(verdict.headline()), err=True)
    else:
        verdict_terminal.render(verdict, console=_console())
    _append_step_summary(verdict)
    if options["junit"] is not None:
        _write_junit(verdict, options["junit"], quiet=options.get("quiet"))
    return verdict.exit_code


def _append_step_summary(verdict) -> None:
    """On GitHub Actions, the verdict in the job's step summary."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return
    from socialbench.report import verdict_markdown

    try:
        verdict_markdown.append_step_summary(verdict, Path(summary_file))
    except OSError as exc:
        click.echo(f"warning: GITHUB_STEP_SUMMARY {terminal_text(summary_file)}: "
                   f"{exc.strerror}; no step summary written", err=True)  # fmt: skip


def _write_junit(verdict, junit_file: Path, *, quiet) -> None:
    from socialbench.verdict import junit

    try:
        path = junit.write(verdict, junit_file)
    except WriteFailed as exc:
        if exc.exit_code != InputError.exit_code:  # a full or failing disk: exit code 3
            raise
        raise InputError(junit_file, f"--junit: cannot write: {exc.reason}") from None
    if not quiet:
        click.echo(f"junit: {terminal_text(path)}")


def check_run(directory: Path, options: dict) -> int:
    """``check``: judge a finished run; returns the verdict's exit code."""
    from socialbench.verdict import check

    _refresh_observation(directory)
    verdict = check.check_run(directory, _check_request(options))
    return _deliver(verdict, options)


# ---------------------------------------------------------------------------- validate


def validate(paths: tuple[Path, ...], options: dict) -> None:
    """``validate``: print what suites or recorded conversations hold, sending nothing."""
    from socialbench import conversations, scenarios
    from socialbench.conversations import analyse

    if all(scenarios.is_suite(path) for path in paths):
        for path in paths:
            _print_suite(path, as_json=options["as_json"])
        return
    book, read_options = _read_options(
        mapping=options["mapping"],
        brands_file=options["brands_file"],
        skip_bad_rows=options["skip_bad_rows"],
    )
    settings = conversations.Settings(
        window_s=options["window"], reopen_after_s=options["reopen_after"], brand_book=book
    )
    msgs, infos = analyse.load_messages(list(paths), fmt=options["fmt"], options=read_options)
    found = analyse.describe(msgs, settings, engine_options(options))
    found["sources"] = [info.__dict__ for info in infos]
    found["skipped_rows"] = [str(row) for row in read_options.skipped]
    _print_findings(found, as_json=options["as_json"])


def _print_suite(path: Path, *, as_json: bool) -> None:
    from socialbench import scenarios
    from socialbench.verdict.thresholds import from_suite

    suite = scenarios.load_suite(path)
    counts = scenarios.counts(scenarios.expand(suite))
    total = sum(row[3] for row in counts)
    thresholds = len(from_suite(suite))
    if as_json:
        import json

        rows = [{"brand": b, "channel": c, "surface": s, "probes": n} for b, c, s, n in counts]
        doc = {"suite": suite.suite, "probes": total, "thresholds": thresholds, "by_brand": rows}
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(
        f"{terminal_text(str(path))}: suite {terminal_text(suite.suite)}, {total:,} probes, "
        f"{thresholds} threshold(s)"
    )
    for brand, channel, surface, count in counts:
        click.echo(f"  {terminal_text(brand):<20} {channel:<10} {surface:<8} {count:>7,}")


def _print_findings(found: dict, *, as_json: bool) -> None:
    if as_json:
        import json

        doc = {**found, "first": found["first"].isoformat(), "last": found["last"].isoformat()}
        click.echo(json.dumps(doc, indent=2))
        return
    for line in _findings_lines(found):
        click.echo(line)


def _findings_lines(found: dict) -> list[str]:
    lines = [
        f"{terminal_text(info['path'])}: {info['format']}, {info['messages']:,} messages"
        for info in found["sources"]
    ]
    lines += [
        f"messages:       {found['messages']:,} ({found['duplicates']:,} duplicate ids dropped)",
        f"conversations:  {found['conversations']:,} ({found['orphans']:,} messages reply to "
        "messages missing from the data)",
        f"probes:         {found['probes']:,}",
        f"brand accounts: {found['brand_accounts']:,}",
        f"time span:      {found['first']:{_TIME}} → {found['last']:{_TIME}} UTC",
    ]
    if found["skipped_rows"]:
        lines.append(f"skipped rows:   {len(found['skipped_rows'])}")
        lines += [f"  {terminal_text(row)}" for row in found["skipped_rows"][:10]]
    return lines


# ------------------------------------------------------------------------- the others


def print_schema() -> None:
    """``schema``: the JSON Schema of suite files."""
    import json

    from socialbench import scenarios

    click.echo(json.dumps(scenarios.json_schema(), indent=2))


def init_suite(directory: Path) -> None:
    """``init``: a commented starter suite in ``directory``."""
    from socialbench import scenarios

    path = scenarios.write_starter(directory)
    click.echo(
        f"wrote {terminal_text(path)}; check it with: socialbench validate {terminal_text(path)}"
    )


def compare_runs(
    dir_a: Path, dir_b: Path, *, by: str | None, as_json: bool, alpha: float = 0.05
) -> None:
    """``compare``: how run B's figures differ from run A's, as text or JSON, each
    difference tested at the significance level ``alpha``."""
    from socialbench.measure import compare

    result = compare.compare_runs(dir_a, dir_b, by=by, alpha=alpha)
    if as_json:
        click.echo(compare.render_json(result))
    else:
        compare.render_text(result, console=_console())


def serve_sandbox(*, host, port, profile, seed, speed, truth, start) -> None:
    """``sandbox serve``: the simulated platform, until interrupted."""
    from socialbench.probing import sandbox as simulated

    simulated.run_server(
        host=host,
        port=port,
        profile_path=profile,
        seed=seed,
        speed=speed,
        truth_path=truth,
        start=start,
    )


def observe(options: dict) -> None:
    """``observe``: receive a brand's Meta webhooks into ``--out`` until interrupted."""
    from socialbench import durations
    from socialbench.conversations import brands
    from socialbench.probing import observe as observing

    listen = observing.parse_listen(options["listen"])
    window = durations.parse(options["window"], option="--window")
    token = observing.secret(os.environ, options["verify_token_env"], "--verify-token-env")
    secret = observing.secret(os.environ, options["app_secret_env"], "--app-secret-env")
    if options["brands_file"] is not None:
        brands.load(options["brands_file"])  # a bad brand book stops here, not at report time
    try:
        observing.serve(
            options["out_dir"], listen, verify_token=token, app_secret=secret,
            window_s=window, brands_file=options["brands_file"],
            announce=lambda url: click.echo(f"observing: Meta webhooks at {url} (Ctrl-C stops)"),
            log=lambda line: click.echo(f"observe: {line}", err=True),
        )  # fmt: skip
    except KeyboardInterrupt:  # the way to stop it: every acknowledged event is stored
        pass
    where = terminal_text(options["out_dir"])
    click.echo(f"observe: stopped; `socialbench report {where}` measures it")


def _refresh_observation(directory: Path) -> None:
    """An observation directory's files, measured as of now (``report`` and ``check``)."""
    from socialbench.probing import observe as observing

    if observing.is_observation(directory):
        observing.refresh(directory, min_group=10, tiers=parse_tiers("1000,10000"))


def write_report(directory: Path, fmt: str, output: Path | None, options: dict) -> None:
    """``report``: render a run in ``fmt`` to ``output`` (default in the run's folder), or
    print it when ``output`` is ``-``; branded and compared with ``--baseline`` if given."""
    if str(output) == "-" and fmt not in ("md", "json"):
        raise UsageError(f"--output -: only md and json can be printed, not {fmt}")
    if fmt == "pdf":
        from socialbench.report import pdf

        pdf.browser()  # no Chromium: said before anything is read
    brand = branding(options)
    _refresh_observation(directory)
    loaded = _loaded(directory, brand, options.get("baseline"))
    if str(output) == "-":
        click.echo(report.render(loaded, fmt), nl=False)
        return
    click.echo(f"wrote {terminal_text(report.write(loaded, fmt, output))}")

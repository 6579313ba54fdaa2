"""The command line: parse options, make one core call, render.

This is the only place where domain errors become exit codes. Heavy libraries (pandas,
pyarrow, rich) are imported inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from socialbench import __version__, durations
from socialbench.errors import InputError, SocialbenchError, UsageError
from socialbench.summaries import GROUPS

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130
FORMATS = ("twcs", "fixture", "x-v2", "graph", "whatsapp", "generic")
MAP_TARGETS = (
    "id",
    "parent",
    "author",
    "brand",
    "time",
    "text",
    "channel",
    "conversation",
    "followers",
    "surface",
    "account",
)
MAP_REQUIRED = ("id", "author", "time", "text")


class Group(click.Group):
    """Turns SocialbenchError into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SocialbenchError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def entry() -> None:
    """The console script and ``python -m socialbench``."""
    main()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="socialbench")
def main() -> None:
    """Benchmark how brands answer customer-service queries on social media.

    \b
    Example:
      socialbench run --fixtures twcs.csv --window 5d --out reports/twcs
      socialbench validate twcs.csv
    """


def _duration(option: str):
    def convert(ctx, param, value):
        return None if value is None else durations.parse(value, option=option)

    return convert


def parse_map(text: str | None) -> dict[str, str]:
    """``id=tweet,author=user,...`` -> {"id": "tweet", "author": "user", ...}."""
    if not text:
        return {}
    mapping = {}
    for part in text.split(","):
        target, sep, column = part.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not column:
            raise UsageError(f"--map: {part!r} is not TARGET=COLUMN")
        if target not in MAP_TARGETS:
            raise UsageError(f"--map: unknown target {target!r}; targets: {', '.join(MAP_TARGETS)}")
        mapping[target] = column
    missing = [t for t in MAP_REQUIRED if t not in mapping]
    if missing:
        raise UsageError(f"--map: missing required target(s) {', '.join(missing)}")
    return mapping


def parse_tiers(text: str) -> tuple[float, ...]:
    try:
        tiers = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise UsageError(f"--tiers: {text!r} is not a comma-separated list of numbers") from None
    if not tiers or any(t <= 0 for t in tiers) or list(tiers) != sorted(set(tiers)):
        raise UsageError(f"--tiers: {text!r} must be increasing positive numbers, e.g. 1000,10000")
    return tiers


def _stacked(options, func):
    """``func`` with click ``options`` applied, the first listed shown first in --help."""
    for option in reversed(options):
        func = option(func)
    return func


def source_options(func):
    """Options shared by every command that reads recorded conversations."""
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            help="Force the input format instead of detecting it from content.",
        ),
        click.option(
            "--map",
            "mapping",
            metavar="TARGET=COL,...",
            help="Column mapping for a generic CSV/JSON Lines export: "
            "id, author, time, text required; parent, brand, channel, "
            "conversation, followers, surface, account optional.",
        ),
        click.option(
            "--brands",
            "brands_file",
            type=click.Path(path_type=Path),
            help="YAML brand book: alias handles per brand and support hours.",
        ),
        click.option(
            "--window",
            default="7d",
            show_default=True,
            callback=_duration("--window"),
            help="How long each probe is watched for brand replies.",
        ),
        click.option(
            "--reopen-after",
            callback=_duration("--reopen-after"),
            metavar="DURATION",
            help="Also count a customer message after this much silence as a new probe.",
        ),
        click.option(
            "--skip-bad-rows",
            is_flag=True,
            help="Skip malformed rows (and say how many and where) instead of stopping.",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="duckdb",
            show_default=True,
            help="What runs the analysis: DuckDB on this machine, or Apache Spark.",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            help="DuckDB: how many cores to use [default: all].",
        ),
        click.option(
            "--memory-limit",
            metavar="SIZE",
            help="DuckDB: memory to use before spilling to disk, e.g. 1GB [default: DuckDB's, "
            "80%% of RAM].",
        ),
        click.option(
            "--temp-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="DuckDB: where to spill past the memory limit [default: DuckDB's].",
        ),
        click.option(
            "--spark-master",
            metavar="URL",
            help="--engine spark: the cluster's master URL [default: local[*]; SPARK_REMOTE "
            "selects Spark Connect].",
        ),
    ]
    return _stacked(options, func)


ENGINES = ("duckdb", "spark")
_ENGINE_OPTIONS = ("engine", "threads", "memory_limit", "temp_dir", "spark_master")


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


_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def check_options(func):
    """Options of every command that checks a run against thresholds."""
    options = [
        click.option(
            "--threshold",
            "threshold_texts",
            multiple=True,
            metavar='"METRIC[{tag:value}]: EXPR"',
            help='A threshold, e.g. "ttfr{channel:x}: p(90) < 4h" (repeatable).',
        ),
        click.option(
            "--thresholds",
            "threshold_files",
            multiple=True,
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="A YAML file of thresholds, as in a suite's thresholds: section.",
        ),
        click.option(
            "--junit",
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="Also write a JUnit XML file: a test case per threshold and per probe "
            "expectation.",
        ),
        click.option(
            "--baseline",
            "baseline_dir",
            type=click.Path(path_type=Path),
            metavar="DIR",
            help="An earlier run to compare with (shown beside each figure).",
        ),
        click.option(
            "--max-regression",
            "max_regressions",
            multiple=True,
            metavar="METRIC.AGG=LIMIT",
            help="Fail when a figure is worse than the baseline's by more than LIMIT, "
            'e.g. "ttfr.p90=20%" or "response_rate=5pp" (repeatable).',
        ),
        click.option(
            "--allow-incomplete",
            is_flag=True,
            help="Judge a probe run still in progress (its figures are provisional).",
        ),
        click.option(
            "--require-live",
            is_flag=True,
            help="Fail unless the figures come from a live run (not the sandbox or a replay).",
        ),
    ]
    return _stacked(options, func)


def _check_request(options):
    from socialbench import check
    from socialbench.thresholds import regression

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


def _deliver(verdict, options) -> None:
    """Print the verdict, write the JUnit file and the step summary, exit with its code.

    The verdict is printed first, so a JUnit file that cannot be written (exit code 2) still
    leaves it on screen; a step summary that cannot be appended is only a warning.
    """
    from socialbench.safe import terminal_text
    from socialbench.verdict import terminal as verdict_terminal

    if options.get("quiet"):
        if verdict.exit_code:
            click.echo(terminal_text(verdict.headline()), err=True)
    else:
        verdict_terminal.render(verdict, console=_console())
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        from socialbench.verdict import markdown

        try:
            markdown.append_step_summary(verdict, Path(summary_file))
        except OSError as exc:
            click.echo(f"warning: GITHUB_STEP_SUMMARY {terminal_text(summary_file)}: "
                       f"{exc.strerror}; no step summary written", err=True)  # fmt: skip
    if options["junit"] is not None:
        from socialbench.verdict import junit

        try:
            path = junit.write(verdict, options["junit"])
        except OSError as exc:
            raise InputError(options["junit"], f"--junit: cannot write: {exc.strerror}") from None
        if not options.get("quiet"):
            click.echo(f"junit: {terminal_text(path)}")
    if verdict.exit_code:
        click.get_current_context().exit(verdict.exit_code)


def _read_options(*, mapping, brands_file, skip_bad_rows):
    from socialbench import brands, sources

    book = brands.load(brands_file)
    options = sources.ReadOptions(
        brand_handles=book.handles(), mapping=parse_map(mapping), skip_bad_rows=skip_bad_rows
    )
    return book, options


TARGETS = ("sandbox", "fixture", "x")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[SUITE | PATH...]")
@click.option(
    "--fixtures",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Recorded conversations to analyse (archives, API exports, fixtures); "
    "with --target fixture, the recordings a suite is replayed against.",
)
@source_options
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    help="Where a suite's probes go: the built-in sandbox (default), recordings, or X.",
)
@click.option(
    "--endpoint",
    metavar="URL",
    help="--target sandbox: a running sandbox's URL; --target x: another API base URL.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    help="--target sandbox: how much faster than real time the sandbox clock runs "
    "[default: the in-process sandbox runs the whole suite in about 30 s].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="--target sandbox: seed.")
@click.option(
    "--profile",
    type=click.Path(path_type=Path),
    help="--target sandbox: YAML profile of how the simulated brands behave.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Continue the probe run in DIR (after Ctrl-C, a crash or kill).",
)
@click.option("--once", is_flag=True, help="Send what is due, poll once, write files, exit.")
@click.option(
    "--record",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also write the observed conversations as socialbench fixtures (JSON Lines).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Output folder [default: reports/<name>-<UTC timestamp>].",
)
@click.option("--name", help="Run name for the default output folder [default: first file's name].")
@click.option(
    "--report",
    "report_formats",
    metavar="FORMATS",
    help="Also write reports into the output folder: html, md, json, csv (comma-separated).",
)
@click.option(
    "--min-group",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Smallest sample for which a figure is shown.",
)
@click.option("--tiers", default="1000,10000", show_default=True, help="Follower-tier boundaries.")
@click.option(
    "--top",
    default=15,
    show_default=True,
    type=click.IntRange(min=1),
    help="Brands shown in the terminal leaderboard.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; just write the files.")
@click.option(
    "--check",
    is_flag=True,
    help="Check the finished run against its thresholds (the suite's, --thresholds, "
    "--threshold); exit code 1 when one fails. Implied by the options below.",
)
@check_options
@click.pass_context
def run(ctx, paths, fixtures, **options):
    """Run a suite against brands, or analyse recorded conversations.

    Writes probes.csv and summary.json, and prints a summary.

    \b
    Example:
      socialbench run scenarios/demo.yaml --out reports/demo
      socialbench run scenarios/demo.yaml --target x --out reports/live
      socialbench run --resume reports/live --once
      socialbench run scenarios/demo.yaml --target fixture --fixtures rec.jsonl
      socialbench run --fixtures twcs.csv x_pages.jsonl --window 5d --out reports/q3
      socialbench run --fixtures export.csv \\
        --map id=Id,author=From,brand=Outbound,time=Date,text=Body
      socialbench run scenarios/demo.yaml --check --junit junit.xml \\
        --threshold "ttfr{channel:x}: p(90) < 4h"
    """
    if options["resume_dir"] is not None or (paths and _is_suite(paths[0])):
        _refuse_archive_options(ctx, paths)
        _run_suite(paths, fixtures, options)
    else:
        _refuse_suite_options(ctx)
        _run_archive(list(fixtures) + list(paths), options)


def _is_suite(path: Path) -> bool:
    from socialbench import scenarios  # pydantic and pandas: not imported for archives alone

    return scenarios.is_suite(path)


_ARCHIVE_ONLY = (
    "fmt", "mapping", "brands_file", "window", "reopen_after", "skip_bad_rows",
    *_ENGINE_OPTIONS,
)  # fmt: skip
_SUITE_ONLY = ("target", "endpoint", "speed", "profile", "resume_dir", "once", "record", "seed")


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)


def _flag(name: str) -> str:
    return "--" + {"fmt": "format", "mapping": "map", "brands_file": "brands"}.get(
        name, name.removesuffix("_dir")
    ).replace("_", "-")


def _refuse_archive_options(ctx: click.Context, paths) -> None:
    given = [_flag(name) for name in _ARCHIVE_ONLY if _given(ctx, name)]
    if given:
        raise UsageError(
            f"run: {', '.join(given)} apply to recorded conversations, not to suites "
            "(a suite sets its own window and brands)"
        )
    if len(paths) > 1:
        raise UsageError("run: give one suite; recordings go after --fixtures")


def _refuse_suite_options(ctx: click.Context) -> None:
    given = [_flag(name) for name in _SUITE_ONLY if _given(ctx, name)]
    if given:
        raise UsageError(f"run: {', '.join(given)} need a suite (run SUITE ...) or --resume DIR")


def _run_suite(paths, fixtures, options) -> None:
    import asyncio

    from socialbench import progress, runs, scenarios

    output = runs.OutputOptions(
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
        try:
            if resume_dir is not None:
                outcome = asyncio.run(
                    runs.resume(resume_dir, output=output, once=options["once"], progress=display)
                )
            else:
                target_options = runs.TargetOptions(
                    target=options["target"] or "sandbox",
                    endpoint=options["endpoint"],
                    speed=options["speed"],
                    seed=options["seed"],
                    profile=str(options["profile"]) if options["profile"] else None,
                    fixtures=tuple(str(p) for p in fixtures),
                )
                out = options["out_dir"] or _default_out(options["name"] or paths[0].stem)
                outcome = asyncio.run(
                    runs.start(
                        paths[0],
                        out,
                        target=target_options,
                        output=output,
                        once=options["once"],
                        progress=display,
                    )
                )
        except KeyboardInterrupt:
            where = resume_dir or options["out_dir"]
            if where is not None:
                click.echo(
                    f"interrupted; continue with: socialbench run --resume {where}", err=True
                )
            raise
    _write_reports(outcome.out_dir, options["report_formats"], quiet=options["quiet"])
    if not options["quiet"]:
        _print_failed(outcome.summary)
        from socialbench import terminal

        terminal.render(
            outcome.summary, console=_console(), top=options["top"], out_dir=str(outcome.out_dir)
        )
    if request is not None:
        from socialbench import check

        if suite is None:
            suite = scenarios.load_suite(outcome.out_dir / "suite.yaml")
        ran = check.RunData(outcome.out_dir, outcome.summary, outcome.probes, suite=suite)
        _deliver(check.check(ran, request), options)


def _preflight(options, *, suite_path: Path | None = None):
    """The check request of ``run --check`` (None without --check), its thresholds checked
    before anything runs, and the suite they were checked against."""
    if not _wants_check(options):
        return None, None
    from socialbench import check

    request = _check_request(options)
    suite = None
    if suite_path is not None:
        from socialbench import scenarios

        suite = scenarios.load_suite(suite_path)
    check.preflight(request, suite=suite, tiers=parse_tiers(options["tiers"]))
    return request, suite


def _write_reports(out_dir: Path, formats: str | None, *, quiet: bool) -> None:
    if not formats:
        return
    from socialbench import report

    names = report.parse_formats(formats)
    loaded = report.load(out_dir)
    for fmt in names:
        path = report.write(loaded, fmt)
        if not quiet:
            click.echo(f"report: {path}")


def _print_failed(summary: dict) -> None:
    from socialbench.safe import terminal_text

    failed = summary.get("run", {}).get("failed", [])
    if not failed:
        return
    click.echo(f"{len(failed)} probe(s) failed:", err=True)
    for item in failed[:10]:
        click.echo(f"  {terminal_text(item['probe_id'])}: {terminal_text(item['error'])}", err=True)
    if len(failed) > 10:
        click.echo(f"  … and {len(failed) - 10} more (summary.json run.failed)", err=True)


def _run_archive(paths: list[Path], options) -> None:
    if not paths:
        raise UsageError(
            "run: give a suite (run SUITE) or recorded conversations (--fixtures PATH ...)"
        )
    _analyse_archive(paths, options)


def _analyse_archive(paths: list[Path], options) -> None:
    from socialbench import analyse, conversations, metrics, output

    request, _ = _preflight(options)
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
    result = analyse.analyse(
        paths,
        fmt=options["fmt"],
        options=read_options,
        settings=settings,
        metric_settings=metric_settings,
        engine=engine,
    )
    target = options["out_dir"] or _default_out(options["name"] or paths[0].stem)
    with result:
        if request is not None:  # scopes checked against the data before anything is written
            from socialbench import check

            ran = check.RunData(target, result.summary, result.probes)
            thresholds = check.thresholds_for(ran, request)
            baseline = check.load_baseline(request.baseline)
        output.write_run(target, result.writers())
    _write_reports(target, options["report_formats"], quiet=options["quiet"])
    if not options["quiet"]:
        _report_skipped(result.skipped)
        from socialbench import terminal

        terminal.render(result.summary, console=_console(), top=options["top"], out_dir=str(target))
    if request is not None:
        _deliver(check.judge(ran, thresholds, request=request, baseline=baseline), options)


def _default_out(name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("reports") / f"{name}-{stamp}"


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _report_skipped(skipped) -> None:
    if not skipped:
        return
    from socialbench.safe import terminal_text

    click.echo(f"skipped {len(skipped)} bad row(s):", err=True)
    for row in skipped[:10]:
        click.echo(f"  {terminal_text(row)}", err=True)
    if len(skipped) > 10:
        click.echo(f"  … and {len(skipped) - 10} more", err=True)


@main.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH..."
)
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(paths, fmt, mapping, brands_file, window, reopen_after, skip_bad_rows, as_json,
             **engine):  # fmt: skip
    """Check a suite or recorded conversations and say what they hold, sending nothing.

    A suite prints its expanded probe count per brand and channel; recorded conversations
    print their messages, conversations and probes.

    \b
    Example:
      socialbench validate scenarios/demo.yaml
      socialbench validate twcs.csv
      socialbench validate page_comments.json --format graph --brands brands.yaml
    """
    from socialbench import analyse, conversations, scenarios

    if all(scenarios.is_suite(path) for path in paths):
        for path in paths:
            _print_suite(path, as_json=as_json)
        return

    book, options = _read_options(
        mapping=mapping, brands_file=brands_file, skip_bad_rows=skip_bad_rows
    )
    settings = conversations.Settings(window_s=window, reopen_after_s=reopen_after, brand_book=book)
    msgs, infos = analyse.load_messages(list(paths), fmt=fmt, options=options)
    found = analyse.describe(msgs, settings, engine_options(engine))
    found["sources"] = [info.__dict__ for info in infos]
    found["skipped_rows"] = [str(row) for row in options.skipped]
    _print_findings(found, as_json=as_json)


_TIME = "%Y-%m-%d %H:%M:%S"


def _print_suite(path: Path, *, as_json: bool) -> None:
    from socialbench import scenarios
    from socialbench.safe import terminal_text
    from socialbench.thresholds import from_suite

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
    from socialbench.safe import terminal_text

    if as_json:
        import json

        doc = {**found, "first": found["first"].isoformat(), "last": found["last"].isoformat()}
        click.echo(json.dumps(doc, indent=2))
        return
    for info in found["sources"]:
        click.echo(
            f"{terminal_text(info['path'])}: {info['format']}, {info['messages']:,} messages"
        )
    click.echo(
        f"messages:       {found['messages']:,} ({found['duplicates']:,} duplicate ids dropped)"
    )
    click.echo(
        f"conversations:  {found['conversations']:,} ({found['orphans']:,} messages reply to "
        "messages missing from the data)"
    )
    click.echo(f"probes:         {found['probes']:,}")
    click.echo(f"brand accounts: {found['brand_accounts']:,}")
    click.echo(f"time span:      {found['first']:{_TIME}} → {found['last']:{_TIME}} UTC")
    if found["skipped_rows"]:
        click.echo(f"skipped rows:   {len(found['skipped_rows'])}")
        for row in found["skipped_rows"][:10]:
            click.echo(f"  {terminal_text(row)}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of suite files, for editors that autocomplete YAML.

    \b
    Example:
      socialbench schema > suite.schema.json
    """
    import json

    from socialbench import scenarios

    click.echo(json.dumps(scenarios.json_schema(), indent=2))


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
def init(directory: Path) -> None:
    """Write a commented starter suite into DIRECTORY (default: here).

    \b
    Example:
      socialbench init my-benchmark && socialbench validate my-benchmark/suite.yaml
    """
    from socialbench import scenarios

    path = scenarios.write_starter(directory)
    click.echo(f"wrote {path}; check it with: socialbench validate {path}")


@main.command("check")
@click.argument("directory", type=click.Path(path_type=Path), metavar="DIR")
@check_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but a failing verdict.")
def check_command(directory: Path, **options) -> None:
    """Check a finished run against response-rate and response-time thresholds.

    Exit code 0: every threshold passes; 1: a threshold (or a regression) failed; 2: usage,
    configuration or input error; 3: the run itself failed (probes that could not be sent).

    \b
    Example:
      socialbench check reports/demo
      socialbench check reports/q3 --threshold "response_rate: rate >= 90%" \\
        --threshold "ttfr{channel:x}: p(90) < 4h" --junit junit.xml
      socialbench check reports/dec --baseline reports/nov --max-regression "ttfr.p90=20%"
    """
    from socialbench import check

    verdict = check.check_run(directory, _check_request(options))
    _deliver(verdict, options)


@main.command("compare")
@click.argument("dir_a", type=click.Path(path_type=Path), metavar="DIR_A")
@click.argument("dir_b", type=click.Path(path_type=Path), metavar="DIR_B")
@click.option(
    "--by",
    type=click.Choice(GROUPS),
    help="Compare per group instead of overall.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(dir_a: Path, dir_b: Path, by: str | None, as_json: bool) -> None:
    """Print how the figures of run DIR_B differ from those of run DIR_A.

    \b
    Example:
      socialbench compare reports/nov reports/dec
      socialbench compare reports/nov reports/dec --by brand --json
    """
    from socialbench import compare

    result = compare.compare_runs(dir_a, dir_b, by=by)
    if as_json:
        click.echo(compare.render_json(result))
    else:
        compare.render_text(result, console=_console())


@main.group(cls=Group)
def sandbox() -> None:
    """The simulated platform: brands that answer like real ones, over the X API v2.

    \b
    Example:
      socialbench sandbox serve --port 8399 --speed 600 --truth truth.jsonl
    """


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8399, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--profile", type=click.Path(path_type=Path), help="YAML profile of the brands.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="How much faster than real time the platform clock runs.",
)
@click.option(
    "--truth",
    type=click.Path(path_type=Path),
    help="Write the ground truth (probes received, replies made) here, as JSON Lines.",
)
@click.option("--start", metavar="ISO", help="Platform time at start [default: now].")
def serve(port, host, profile, seed, speed, truth, start) -> None:
    """Run the sandbox standalone until interrupted.

    \b
    Example:
      socialbench sandbox serve --port 8399 --speed 600 --truth truth.jsonl
      socialbench run scenarios/demo.yaml --endpoint http://127.0.0.1:8399
    """
    from socialbench import sandbox as simulated

    simulated.run_server(
        host=host,
        port=port,
        profile_path=profile,
        seed=seed,
        speed=speed,
        truth_path=truth,
        start=start,
    )


@main.command("report")
@click.argument("directory", type=click.Path(path_type=Path), metavar="DIR")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json", "csv"]),
    default="html",
    show_default=True,
    help="html: one self-contained file; md: a compact summary; json: summary.json; "
    "csv: a folder with the probe table and the group tables.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Where to write [default: DIR/report.html, report.md, report.json or report-csv/]; "
    "'-' prints md or json.",
)
def report_command(directory: Path, fmt: str, output: Path | None) -> None:
    """Render a run (probe run or recorded archive) as HTML, Markdown, JSON or CSV.

    \b
    Example:
      socialbench report reports/demo --format html -o demo.html
      socialbench report reports/demo --format md -o - >> "$GITHUB_STEP_SUMMARY"
    """
    from socialbench import report

    loaded = report.load(directory)
    if str(output) == "-":
        if fmt not in ("md", "json"):
            raise UsageError(f"--output -: only md and json can be printed, not {fmt}")
        import importlib

        click.echo(importlib.import_module(report.FORMATS[fmt]).render(loaded), nl=False)
        return
    click.echo(f"wrote {report.write(loaded, fmt, output)}")

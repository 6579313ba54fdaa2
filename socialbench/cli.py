"""The command line: options in, one app.py call per command, errors -> exit codes (only here).

Heavy libraries (pandas, pyarrow, rich) load inside app.py's workflows: ``--help`` stays fast."""

from __future__ import annotations

from pathlib import Path

import click

from socialbench import __version__, app, conversations, durations, report, sources
from socialbench.errors import SocialbenchError
from socialbench.measure.summaries import GROUPS
from socialbench.probing.connectors import TARGETS
from socialbench.safe import terminal_lines

EXIT_INTERRUPTED = 130
_PATH = click.Path(path_type=Path)
_FORMAT_HELP = "html (default): one file; md: a summary; json; csv: tables; pdf: needs Chromium."
_OUTPUT_HELP = "Where to write [default: DIR/report.FORMAT, report-csv/]; '-' prints md or json."
_REPORTS_HELP = (
    "Also write reports into the output folder: html, md, json, csv, pdf (comma-separated)."
)


class Group(click.Group):
    """Exit codes: a command's returned code, a SocialbenchError's (one line on stderr), 130."""

    def invoke(self, ctx: click.Context) -> None:
        try:
            code = super().invoke(ctx)
        except SocialbenchError as exc:
            click.echo(f"error: {terminal_lines(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        if code:
            ctx.exit(code)


def entry() -> None:
    """The console script and ``python -m socialbench``."""
    app.plain_terminal()
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
    """A callback that turns the option's text into seconds."""
    return lambda ctx, param, text: None if text is None else durations.parse(text, option=option)


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
            type=click.Choice(sources.names()),
            help="Force the input format instead of detecting it from content.",
        ),
        click.option(
            "--map",
            "mapping",
            metavar="TARGET=COL,...",
            help=f"Column mapping for a generic CSV/JSON Lines export: "
            f"{', '.join(sources.MAP_REQUIRED)} required; "
            f"{', '.join(sources.MAP_OPTIONAL)} optional.",
        ),
        click.option(
            "--brands",
            "brands_file",
            type=_PATH,
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
            type=click.Choice(conversations.ENGINES),
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


def branding_options(func):
    """Options of every command that writes reports a consultant hands to a client."""
    options = [
        click.option("--title", help="The reports' title [default: the suite's or folder's name]."),
        click.option("--client", help="Who the reports are for ('Prepared for ...')."),
        click.option("--logo", type=_PATH, metavar="FILE", help="PNG, JPEG or SVG, at most 1 MB."),
    ]
    return _stacked(options, func)


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
            type=_PATH,
            metavar="FILE",
            help="A YAML file of thresholds, as in a suite's thresholds: section.",
        ),
        click.option(
            "--junit",
            type=_PATH,
            metavar="FILE",
            help="Also write a JUnit XML file: a test case per threshold and per probe "
            "expectation.",
        ),
        click.option(
            "--baseline",
            "baseline_dir",
            type=_PATH,
            metavar="DIR",
            help="An earlier run to compare with (shown beside each figure).",
        ),
        click.option(
            "--max-regression",
            "max_regressions",
            multiple=True,
            metavar="METRIC.AGG=LIMIT",
            help="Fail when a figure is worse than the baseline's by more than LIMIT, "
            'e.g. "ttfr.p(90)=20%" or "response_rate=5pp" (repeatable).',
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


@main.command()
@click.argument("paths", nargs=-1, type=_PATH, metavar="[SUITE | PATH...]")
@click.option(
    "--fixtures",
    multiple=True,
    type=_PATH,
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
@click.option("--start", metavar="ISO", help="--target sandbox: simulated start [default: now].")
@click.option("--profile", type=_PATH, help="--target sandbox: how the brands behave (YAML).")
@click.option(
    "--resume",
    "resume_dir",
    type=_PATH,
    metavar="DIR",
    help="Continue the probe run in DIR (after Ctrl-C, a crash or kill).",
)
@click.option("--once", is_flag=True, help="Send what is due, poll once, write files, exit.")
@click.option("--record", type=_PATH, metavar="FILE", help="Also write the messages as fixtures.")
@click.option("--out", "out_dir", type=_PATH, help="Output folder [default: reports/NAME-TIME].")
@click.option("--name", help="Run name for the default output folder [default: first file's name].")
@click.option("--report", "report_formats", metavar="FORMATS", help=_REPORTS_HELP)
@branding_options
@click.option(
    "--min-group",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Smallest sample for which a figure is shown.",
)
@click.option("--tiers", default="1000,10000", show_default=True, help="Follower-tier boundaries.")
@click.option("--top", default=15, type=click.IntRange(min=1), help="Brands listed [default: 15].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; just write the files.")
@click.option(
    "--check",
    is_flag=True,
    help="Check the finished run against its thresholds (the suite's, --thresholds, "
    "--threshold); exit code 1 when one fails. Implied by the options below.",
)
@check_options
@click.pass_context
def run(ctx, paths, fixtures, **options) -> int:
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
    return app.run(paths, fixtures, options, given=_given(ctx))


def _given(ctx: click.Context) -> set[str]:
    """The names of the options set on the command line (not left at their default)."""
    unset = (None, click.core.ParameterSource.DEFAULT)
    return {p.name for p in ctx.command.params if ctx.get_parameter_source(p.name) not in unset}


@main.command()
@click.argument("paths", nargs=-1, required=True, type=_PATH, metavar="PATH...")
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate(paths, **options):
    """Check a suite or recorded conversations and say what they hold, sending nothing.

    A suite prints its expanded probe count per brand and channel; recorded conversations
    print their messages, conversations and probes.

    \b
    Example:
      socialbench validate scenarios/demo.yaml
      socialbench validate twcs.csv
      socialbench validate page_comments.json --format graph --brands brands.yaml
    """
    app.validate(paths, options)


@main.command()
def schema() -> None:
    """Print the JSON Schema of suite files, for editors that autocomplete YAML.

    \b
    Example:
      socialbench schema > suite.schema.json
    """
    app.print_schema()


@main.command()
@click.argument("directory", type=_PATH, default=".")
def init(directory: Path) -> None:
    """Write a commented starter suite into DIRECTORY (default: here).

    \b
    Example:
      socialbench init my-benchmark && socialbench validate my-benchmark/suite.yaml
    """
    app.init_suite(directory)


@main.command("check")
@click.argument("directory", type=_PATH, metavar="DIR")
@check_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but a failing verdict.")
def check_command(directory: Path, **options) -> int:
    """Check a finished run against response-rate and response-time thresholds.

    Exit code 0: every threshold passes; 1: a threshold (or a regression) failed; 2: usage,
    configuration or input error; 3: the run itself failed (probes that could not be sent).

    \b
    Example:
      socialbench check reports/demo
      socialbench check reports/q3 --threshold "response_rate: rate >= 90%" \\
        --threshold "ttfr{channel:x}: p(90) < 4h" --junit junit.xml
      socialbench check reports/dec --baseline reports/nov --max-regression "ttfr.p(90)=20%"
    """
    return app.check_run(directory, options)


@main.command("compare")
@click.argument("dir_a", type=_PATH, metavar="DIR_A")
@click.argument("dir_b", type=_PATH, metavar="DIR_B")
@click.option("--by", type=click.Choice(GROUPS), help="Compare per group instead of overall.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--alpha", default=0.05, show_default=True, help="Significance level of the tests.")
def compare_command(dir_a: Path, dir_b: Path, **options) -> None:
    """Print how the figures of run DIR_B differ from those of run DIR_A.

    \b
    Example:
      socialbench compare reports/nov reports/dec
      socialbench compare reports/nov reports/dec --by brand --json
    """
    app.compare_runs(dir_a, dir_b, **options)


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
@click.option("--profile", type=_PATH, help="YAML profile of the brands.")
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
    type=_PATH,
    help="Write the ground truth (probes received, replies made) here, as JSON Lines.",
)
@click.option("--start", metavar="ISO", help="Platform time at start [default: now].")
def serve(**options) -> None:
    """Run the sandbox standalone until interrupted.

    \b
    Example:
      socialbench sandbox serve --port 8399 --speed 600 --truth truth.jsonl
      socialbench run scenarios/demo.yaml --endpoint http://127.0.0.1:8399
    """
    app.serve_sandbox(**options)


@main.command("observe", context_settings={"show_default": True})
@click.option("--out", "out_dir", type=_PATH, required=True, help="Where events are stored.")
@click.option("--listen", default="127.0.0.1:8787", help="HOST:PORT to receive webhooks on.")
@click.option("--brands", "brands_file", type=_PATH, metavar="FILE", help="The brand book.")
@click.option("--window", default="7d", help="How long a message is watched for an answer.")
@click.option("--verify-token-env", default="SB_META_VERIFY_TOKEN", help="Verify token variable.")
@click.option("--app-secret-env", default="SB_META_APP_SECRET", help="App secret variable.")
def observe_command(**options) -> None:
    """Receive a brand's own Meta webhooks (Messenger, Instagram, WhatsApp) until stopped;
    `report DIR` and `check DIR` measure what has arrived, at any time.

    \b
    Example:
      socialbench observe --out reports/care --listen 127.0.0.1:8787 --brands brands.yaml
      socialbench report reports/care && socialbench check reports/care
    """
    app.observe(options)


@main.command("report")
@click.argument("directory", type=_PATH, metavar="DIR")
@click.option("--format", "fmt", type=click.Choice(list(report.FORMATS)), help=_FORMAT_HELP)
@click.option("-o", "--output", type=_PATH, metavar="FILE", help=_OUTPUT_HELP)
@click.option("--baseline", type=_PATH, metavar="DIR", help="An earlier run to compare with.")
@branding_options
def report_command(directory: Path, fmt: str | None, output: Path | None, **options) -> None:
    """Render a run (probe run or recorded archive) as HTML, Markdown, JSON, CSV or PDF.

    \b
    Example:
      socialbench report reports/demo --format html -o demo.html
      socialbench report reports/dec --baseline reports/nov --client "Acme" --logo logo.png
      socialbench report reports/demo --format md -o - >> "$GITHUB_STEP_SUMMARY"
    """
    app.write_report(directory, fmt or "html", output, options)

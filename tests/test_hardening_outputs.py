"""A full disk, and a writer killed mid-write: every write socialbench makes (a run's files,
the reports, the run store, recordings, the JUnit file, observe's webhook store) fails in one
line naming the file, with exit code 3, leaving the previous file intact and nothing
half-written; a staging path whose writer died is removed by the next write beside it,
never a live writer's."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import DATA, SOURCE_DATA

from socialbench.cli import main
from socialbench.errors import DiskFailed, DiskFull, WriteFailed, write_failed
from socialbench.report import output

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE_RUN = DATA / "report" / "archive"
SOURCE = SOURCE_DATA / "x_v2_pages.jsonl"
DEMO = ROOT / "scenarios" / "demo.yaml"
RECORDING = ROOT / "scenarios" / "recordings" / "demo.jsonl"

# A child process whose files may not grow past LIMIT bytes: a write past it fails with
# EFBIG (SIGXFSZ ignored), as a write to a full disk fails with ENOSPC.
LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv = ["socialbench", *sys.argv[2:]]
    from socialbench.cli import entry
    entry()
    """
)


def limited(limit: int, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-c", LIMITED, str(limit), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def full_disk_line(done: subprocess.CompletedProcess, *names: str) -> str:
    """The one error line of a run stopped by a full disk, checked for each name."""
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def staging_left(*folders: Path) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if ".partial" in p.name]


def copied_run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(ARCHIVE_RUN, run)
    return run


# ------------------------------------------------------------------- a real full disk


def test_a_report_past_the_disk_leaves_the_previous_report_whole(tmp_path):
    run = copied_run(tmp_path)
    (run / "report.html").write_text("the previous report", encoding="utf-8")
    done = limited(50_000, "report", run, "--format", "html")
    line = full_disk_line(done, "report.html", "the disk is full", "File too large")
    assert str(run) in line
    assert (run / "report.html").read_text(encoding="utf-8") == "the previous report"
    assert staging_left(run, tmp_path) == []


def test_a_csv_report_past_the_disk_names_the_table_and_writes_no_folder(tmp_path):
    run = copied_run(tmp_path)
    done = limited(2_000, "report", run, "--format", "csv")
    full_disk_line(done, "report-csv/probes.csv", "the disk is full")
    assert not (run / "report-csv").exists()
    assert staging_left(run, tmp_path) == []


def test_an_archive_run_whose_report_passes_the_disk_keeps_its_files(tmp_path):
    out = tmp_path / "out"
    done = limited(50_000, "run", "--fixtures", SOURCE, "--out", out, "--quiet",
                   "--report", "md,html")  # fmt: skip
    full_disk_line(done, "report.html", "the disk is full")
    assert sorted(p.name for p in out.iterdir()) == ["probes.csv", "report.md", "summary.json"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["overall"]
    assert staging_left(out, tmp_path) == []


def test_an_archive_run_past_the_disk_writes_no_run_folder(tmp_path):
    out = tmp_path / "out"
    done = limited(300, "run", "--fixtures", SOURCE, "--out", out, "--quiet")
    full_disk_line(done, str(out), "the disk is full")
    assert not out.exists()
    assert staging_left(tmp_path) == []


def test_a_probe_run_whose_store_passes_the_disk_stops_in_one_line(tmp_path):
    out = tmp_path / "out"
    done = limited(100_000, "run", DEMO, "--target", "fixture", "--fixtures", RECORDING,
                   "--out", out, "--quiet")  # fmt: skip
    line = full_disk_line(done, "run.sqlite")
    assert "disk is full" in line or "disk failed or is full" in line
    assert not (out / "probes.csv").exists()


# ------------------------------------------------------------- each write, on ENOSPC


def no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        pytest.param(OSError(errno.ENOSPC, "x"), DiskFull, "the disk is full", id="ENOSPC"),
        pytest.param(OSError(errno.EDQUOT, "x"), DiskFull, "the disk is full", id="EDQUOT"),
        pytest.param(OSError(errno.EFBIG, "x"), DiskFull, "the disk is full", id="EFBIG"),
        pytest.param(
            OSError("[Errno 28] Error writing bytes to file"),
            DiskFull,
            "No space left on device",
            id="arrow",
        ),  # fmt: skip
        pytest.param(OSError(errno.EIO, "x"), DiskFailed, "the disk failed", id="EIO"),
        pytest.param(PermissionError(errno.EACCES, "x"), WriteFailed, "cannot write", id="EACCES"),
    ],
)
def test_write_errors_are_told_apart(error, kind, text):
    found = write_failed(Path("out/report.html"), error)
    assert type(found) is kind
    assert str(found).startswith("out/report.html: ") and text in str(found)
    assert found.exit_code == (2 if kind is WriteFailed else 3)


def test_a_run_folder_failing_midway_changes_nothing(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "probes.csv").write_text("old", encoding="utf-8")

    def half(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        no_space()

    writers = {"probes.csv": lambda p: p.write_text("new", encoding="utf-8"), "summary.json": half}
    with pytest.raises(DiskFull, match=r"run/summary\.json: the disk is full \(No space"):
        output.write_run(out, writers)
    assert [p.name for p in out.iterdir()] == ["probes.csv"]
    assert (out / "probes.csv").read_text(encoding="utf-8") == "old"
    assert staging_left(out, tmp_path) == []


def test_a_report_failing_midway_leaves_the_previous_one(tmp_path, monkeypatch):
    from socialbench.report import html

    run = copied_run(tmp_path)
    (run / "report.html").write_text("the previous report", encoding="utf-8")

    def half(report, path):
        Path(path).write_text("<html", encoding="utf-8")
        no_space()

    monkeypatch.setattr(html, "write", half)
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 3, result.output
    assert result.output.strip().splitlines() == [
        f"error: {run / 'report.html'}: the disk is full (No space left on device)"
    ]
    assert (run / "report.html").read_text(encoding="utf-8") == "the previous report"
    assert staging_left(run) == []


def test_a_csv_report_replaces_an_older_folder_whole(tmp_path):
    run = copied_run(tmp_path)
    old = run / "report-csv"
    old.mkdir()
    (old / "stale.csv").write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(run), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "stale.csv" not in {p.name for p in old.iterdir()}
    assert (old / "probes.csv").is_file()
    assert staging_left(run) == []


def test_a_junit_file_failing_midway_leaves_the_previous_one(tmp_path, monkeypatch):
    from socialbench.verdict import junit

    target = tmp_path / "junit.xml"
    target.write_text("<previous/>", encoding="utf-8")
    monkeypatch.setattr(junit, "render", lambda verdict: "<testsuites>")
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: no_space())
    with pytest.raises(DiskFull, match=r"junit\.xml: the disk is full"):
        junit.write(object(), target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "<previous/>"
    assert staging_left(tmp_path) == []


def test_a_full_run_store_is_one_line_and_stays_usable(tmp_path):
    from socialbench.probing.store import RunStore

    with RunStore.open(tmp_path / "run", create=True) as store:
        store._db.execute("PRAGMA max_page_count = 40")  # SQLite's own "database is full"
        with pytest.raises(DiskFull, match=r"run\.sqlite: the disk is full \(database or disk"):
            for n in range(1000):
                store.set_meta(f"key{n}", "x" * 2000)
        store._db.execute("PRAGMA max_page_count = 1000000")
        store.set_meta("after", 1)  # no transaction left open by the failure
        assert store.meta("after") == 1


def test_a_failing_disk_under_the_run_store_is_named(tmp_path):
    from socialbench.probing import store as stores

    error = sqlite3.OperationalError("disk I/O error")
    assert isinstance(stores._disk_error(tmp_path / "run.sqlite", error), DiskFailed)
    assert stores._disk_error(tmp_path / "run.sqlite", sqlite3.OperationalError("no such")) is None


def test_a_full_webhook_store_is_answered_503_so_meta_sends_again(tmp_path):
    from socialbench.probing.observe.server import PATH, Receiver

    logged = []

    def full(found, received_at):
        raise DiskFull(tmp_path / "run.sqlite", "database or disk is full")

    secret = "app-secret-0123456789"
    receiver = Receiver(verify_token="t" * 20, app_secret=secret, save=full,
                        clock=lambda: 0.0, log=logged.append)  # fmt: skip
    body = json.dumps({"object": "page", "entry": []}).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    async def post():
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://observe") as client:
            return await client.post(
                PATH, content=body, headers={"X-Hub-Signature-256": f"sha256={digest}"}
            )

    answer = asyncio.run(post())
    assert answer.status_code == 503
    assert receiver.accepted == 0
    assert len(logged) == 1 and "the disk is full" in logged[0] and "run.sqlite" in logged[0]


# ------------------------------------------------------------------------- leftovers


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_staging_paths_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    run = copied_run(tmp_path)
    dead = f"{output._host()}-{dead_pid()}"
    stale = [
        run / f".report.html.{dead}.0123abcd.partial.html",
        tmp_path / f".run.{dead}.89abcdef.partial",
    ]
    stale[0].write_text("<html", encoding="utf-8")
    stale[1].mkdir()
    (stale[1] / "probes.csv").write_text("half", encoding="utf-8")
    live_writer = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                   stdin=subprocess.PIPE)  # fmt: skip
    try:
        live = run / f".report.md.{output._host()}-{live_writer.pid}.fedcba98.partial.md"
        live.write_text("being written", encoding="utf-8")
        unrelated = run / ".report.html.notes"
        unrelated.write_text("mine", encoding="utf-8")
        result = CliRunner().invoke(main, ["report", str(run)])
        assert result.exit_code == 0, result.output
        output.write_run(run, {"summary.json": lambda p: shutil.copy(ARCHIVE_RUN / p.name, p)})
        assert not any(path.exists() for path in stale)
        assert live.read_text(encoding="utf-8") == "being written"
        assert unrelated.exists()
    finally:
        live_writer.communicate(b"")


def test_a_staging_path_of_an_earlier_process_with_this_pid_is_removed(tmp_path):
    """In a container each run may have the same pid: a leftover carrying this process's
    id that this process did not make is an earlier one's, and goes."""
    earlier = tmp_path / f".report.html.{output._host()}-{os.getpid()}.0123abcd.partial.html"
    earlier.write_text("<html", encoding="utf-8")
    mine = output.staging_path(tmp_path / "report.md")  # removes the stale ones beside it
    assert not earlier.exists()
    mine.write_text("being written", encoding="utf-8")
    assert output.remove_stale(tmp_path) == [] and mine.exists()


def test_another_machines_staging_paths_are_left_until_a_day_old(tmp_path):
    other = "0" * 6 if output._host() != "0" * 6 else "1" * 6
    young = tmp_path / f".report.html.{other}-1.0123abcd.partial.html"
    old = tmp_path / f".report.md.{other}-1.89abcdef.partial.md"
    for path in (young, old):
        path.write_text("another machine's", encoding="utf-8")
    two_days_ago = old.stat().st_mtime - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    assert output.remove_stale(tmp_path) == [old]
    assert young.exists() and not old.exists()


WRITER_KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from socialbench.report import output

    def slow(path):
        path.write_text("half a report", encoding="utf-8")
        print(path, flush=True)
        while True:
            time.sleep(1)

    output.write_atomic(Path(sys.argv[1]), slow)
    """
)


def test_a_writer_killed_mid_write_leaves_nothing_after_the_next_write(tmp_path):
    run = copied_run(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER_KILLED, str(run / "report.html")],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    partial = Path(writer.stdout.readline().strip())
    assert partial.parent == run and partial.read_text(encoding="utf-8") == "half a report"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    assert partial.exists()  # what kill -9 leaves
    result = CliRunner().invoke(main, ["report", str(run), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert not partial.exists()
    assert not (run / "report.html").exists()
    assert staging_left(run, tmp_path) == []


def test_a_report_through_a_link_replaces_the_file_the_link_names(tmp_path):
    run = copied_run(tmp_path)
    real = tmp_path / "published" / "report.md"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(real)
    result = CliRunner().invoke(main, ["report", str(run), "--format", "md",
                                       "-o", str(tmp_path / "link.md")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "link.md").is_symlink()
    assert real.read_text(encoding="utf-8").startswith("# ")
    assert staging_left(tmp_path, real.parent) == []


def test_a_report_into_a_pipe_is_written_straight_into_it(tmp_path):
    import threading

    run = copied_run(tmp_path)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    result = CliRunner().invoke(main, ["report", str(run), "--format", "md", "-o", str(pipe)])
    reader.join(timeout=60)
    if reader.is_alive():  # nothing was written into the pipe: let the reader go
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert result.exit_code == 0, result.output
    assert received[0].startswith(b"# ")
    assert pipe.exists() and not pipe.is_file()  # still the pipe, not replaced by a file


def test_a_recording_past_the_disk_names_the_recording(tmp_path, monkeypatch):
    from socialbench.probing import attribution

    target = tmp_path / "rec.jsonl"
    target.write_text("previous\n", encoding="utf-8")
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: no_space())
    with pytest.raises(DiskFull, match=r"rec\.jsonl: the disk is full"):
        attribution.write_recording(_no_messages(), {}, target, secrets=[])
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert staging_left(tmp_path) == []


def _no_messages():
    import pandas as pd

    from socialbench.sources import messages

    return pd.DataFrame({messages.CREATED_AT: pd.Series([], dtype="datetime64[ns, UTC]")})


SPILL_PAST_THE_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    from socialbench.conversations import duck, plan
    from socialbench.errors import DiskFull
    options = plan.EngineOptions(memory_limit="30MB", temp_dir=sys.argv[1], threads=1)
    engine = duck.DuckEngine(options)
    try:
        engine.create("t", "SELECT md5(range::VARCHAR) AS s FROM range(3000000) ORDER BY s")
    except DiskFull as exc:
        print(exc)
    """
)


def test_duckdb_spilling_onto_a_full_disk_is_disk_full(tmp_path):
    """Found beyond the issue: DuckDB's IOException from --temp-dir was a traceback (in the
    plan) or 'not a readable CSV file' with exit code 2 (while reading)."""
    done = subprocess.run([sys.executable, "-c", SPILL_PAST_THE_LIMIT, str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(tmp_path)) and "the disk is full" in done.stdout


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('IO Error: Could not write file "/t/x.tmp": No space left on device', DiskFull),
        ('IO Error: Could not write file "/t/x.tmp": File too large', DiskFull),
        ('IO Error: Could not write file "/t/x.tmp": Input/output error', DiskFailed),
        ('IO Error: Could not write file "/t/x.tmp": Permission denied', WriteFailed),
    ],
)
def test_engine_write_failures_are_named(message, kind):
    from socialbench.errors import engine_write_failed

    failed = engine_write_failed(message)
    assert type(failed) is kind and failed.path == "/t/x.tmp"
    assert engine_write_failed("Binder Error: no such column") is None

"""The PDF report: the HTML report printed by headless Chromium.

The page is the HTML report itself (its print stylesheet, ``assets/print.css``, keeps
cards, charts and table rows whole and repeats table headers), written to a private
temporary folder and printed on A4 with no browser header or footer. Chromium runs without
network access to anything: the page's Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from socialbench.errors import EngineUnavailable, InputError
from socialbench.report import html
from socialbench.report.model import Report

DEFAULT_NAME = "report.pdf"  # beside the run's files
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180
VIRTUAL_TIME_MS = 10_000  # lets the page's script draw its charts before printing


def browser() -> str:
    """The path of a Chromium (or Chrome) executable, or EngineUnavailable (exit code 3)."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise EngineUnavailable(
        "--format pdf needs Chromium to print the HTML report: install it "
        "(apt-get install chromium, brew install --cask chromium) or use --format html"
    )


def command(executable: str, page: Path, target: Path, profile: Path) -> list[str]:
    """Chromium's arguments to print ``page`` into ``target`` (A4, no header or footer)."""
    return [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--run-all-compositor-stages-before-draw",
        f"--print-to-pdf={target}",
        "--no-pdf-header-footer",
        page.as_uri(),
    ]


def write(report: Report, path: Path) -> Path:
    """Print the report into ``path`` (parent folders created); returns ``path``."""
    path = Path(path)
    executable = browser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="socialbench-pdf-") as folder:
        page, printed = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html.render(report), encoding="utf-8")
        try:
            done = subprocess.run(
                command(executable, page, printed, Path(folder) / "profile"),
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InputError(path, f"Chromium did not print within {TIMEOUT_S}s") from None
        if not printed.is_file() or not printed.read_bytes().startswith(b"%PDF"):
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise InputError(path, f"Chromium printed no PDF (exit {done.returncode}): {why[0]}")
        shutil.move(printed, path)
    return path

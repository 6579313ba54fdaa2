"""The demo run's HTML report opened in headless Chromium (Debian's ``chromium``, which
``make test`` installs when missing): no console errors, no network requests, the charts
drawn, the headline figures as in summary.json, a hostile message shown as text; a
screenshot is left for review."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from socialbench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make test installs it as root)"
)
SUITES = Path(__file__).parent / "data" / "suites"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
# requests Chromium itself makes in the background, whatever the page
BROWSER_HOSTS = ("update.googleapis.com", "clients2.google.com", "accounts.google.com")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
)  # fmt: skip


def _run(suite: Path, out: Path) -> Path:
    result = CliRunner().invoke(
        main, ["run", str(suite), "--speed", "50000", "--out", str(out), "--quiet",
               "--report", "html"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / "report.html"


def _open(page: Path, tmp_path: Path, *, fragment: str = "", extra=()) -> tuple[str, str, set]:
    """The DOM after the page's scripts ran, Chromium's log, and the URLs it requested."""
    netlog = tmp_path / f"net{len(list(tmp_path.glob('net*')))}.json"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={netlog}",
         *extra, "--dump-dom", page.as_uri() + fragment],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    urls = set()
    if netlog.exists():
        for event in json.loads(netlog.read_text() or '{"events": []}').get("events", []):
            url = (event.get("params") or {}).get("url", "")
            if url.startswith(("http:", "https:", "ws:", "wss:", "ftp:")):
                urls.add(url)
    return done.stdout, done.stderr, urls


def _page_requests(urls: set) -> list[str]:
    return sorted(u for u in urls if not any(f"//{host}/" in u for host in BROWSER_HOSTS))


def _console(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(dom: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(dom)
    return parser.tags


def test_the_demo_report_in_a_browser(tmp_path):
    page = _run(Path("scenarios/demo.yaml").resolve(), tmp_path / "demo")
    dom, log, urls = _open(page, tmp_path)
    assert 'data-ready="1"' in dom, log[-2000:]
    assert _console(log) == []
    assert _page_requests(urls) == []
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    probes = re.search(r'data-metric="probes".*?class="value">([^<]*)<', dom, re.S)
    assert probes is not None and probes.group(1).replace(",", "") == str(
        summary["overall"]["probes"]
    )
    rate = re.search(r'data-metric="response_rate".*?class="value">([^<]*)<', dom, re.S)
    assert rate is not None and rate.group(1) == f"{100 * summary['overall']['response_rate']:.1f}%"
    canvases = [attrs for tag, attrs in _elements(dom) if tag == "canvas"]
    assert canvases, "no chart was drawn"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "demo-report.png"
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 10_000


def test_a_hostile_message_renders_as_text(tmp_path):
    page = _run(SUITES / "hostile.yaml", tmp_path / "hostile")
    probe_id = pd.read_csv(tmp_path / "hostile" / "probes.csv")["probe_id"][0]
    dom, log, urls = _open(page, tmp_path, fragment=f"#probe={probe_id}")
    assert 'data-ready="1"' in dom, log[-2000:]
    assert _console(log) == []  # nothing ran: no alert, no CSP violation
    assert _page_requests(urls) == []
    tags = _elements(dom)
    assert not [a for t, a in tags if t == "img"], "an <img> from data became an element"
    assert not [a for _, a in tags if any(k.startswith("on") for k in a)]
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom  # the transcript shows it as text
    scripts = [a for t, a in tags if t == "script"]
    assert all(a.get("type") in (None, "application/json") for a in scripts)
    assert len(scripts) <= 4  # ours: the code and the three data blocks

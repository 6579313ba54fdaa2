"""The demo run's HTML report opened in headless Chromium (Debian's ``chromium``, which
``make test`` installs when missing): no console errors, no network requests, the charts
drawn, the headline figures as in summary.json, a hostile message shown as text;
screenshots are left in reports/screenshots/ for review (``demo-report.png``, the whole page
at 1280 pixels wide, is the README's).

Accessibility: axe-core (``make axe`` installs it from npm into .venv/axe; these tests skip
when it is absent) checks the demo report, a report of the shared twcs sample and a
100-brand synthetic archive against WCAG 2.1 AA, in a copy of the page with axe inlined and
the copy's Content-Security-Policy allowing exactly the two added scripts; the probe
transcripts are driven from the keyboard in the same copy."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import synth
from click.testing import CliRunner
from conftest import external

from socialbench.cli import main
from socialbench.report.html_charts import MAX_CHART_LABELS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make test installs it as root)"
)
SUITES = Path(__file__).parent / "data" / "suites"
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
AXE = ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTH = 1280
MAX_HEIGHT = 32_000  # a longer page is cut there
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


def _fixtures_report(archive: Path, out: Path) -> Path:
    result = CliRunner().invoke(
        main, ["run", "--fixtures", str(archive), "--out", str(out), "--quiet",
               "--report", "html"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / "report.html"


# Runs once the page's own script is done: axe-core over the whole document, then the probe
# table from the keyboard (when it has transcripts); writes the results as JSON into
# <pre id="sb-test"> for --dump-dom to print.
PROBE = """
window.addEventListener("load", function () {
  function done(result) {
    var out = document.createElement("pre");
    out.id = "sb-test";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }
  function keyboard() {
    var button = document.querySelector("#probe-table tbody button[data-row]");
    if (!button) return null;
    var steps = [];
    var note = function () {
      var b = document.querySelector("#probe-table tbody button[data-row='" +
        button.getAttribute("data-row") + "']");
      var controls = b && b.getAttribute("aria-controls");
      steps.push({ tag: b && b.tagName, type: b && b.type,
        expanded: b && b.getAttribute("aria-expanded"),
        focused: document.activeElement === b, controls: controls,
        transcript: !!(controls && document.getElementById(controls)),
        rows: document.querySelectorAll("#probe-table .transcript-row").length });
      return b;
    };
    button.focus();
    button.click();  /* what Enter and Space do on a <button> */
    var open = note();
    open.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    note();
    return steps;
  }
  axe.run(document, { runOnly: { type: "tag", values: __TAGS__ }, resultTypes: ["violations"] })
    .then(function (r) {
      done({ violations: r.violations.map(function (v) {
        return { id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map(function (n) {
            return { target: n.target, why: n.failureSummary };
          }) };
      }), passes: r.passes.length, height: document.documentElement.scrollHeight,
      keyboard: keyboard() });
    })
    .catch(function (err) { done({ error: String(err) }); });
});
""".replace("__TAGS__", json.dumps(WCAG_AA))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _probe_copy(page: Path, tmp_path: Path) -> Path:
    """A copy of ``page`` with axe-core and PROBE inlined at the end of <body>; only the copy's
    Content-Security-Policy changes, and only to allow those two scripts by their hashes."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE} is absent): run `make axe`")
    axe, text = AXE.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")
    assert "</script" not in axe.lower() and "<!--" not in axe
    csp = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')
    policy = html.unescape(csp.search(text).group(2))
    assert "script-src 'sha256-" in policy and "unsafe" not in policy
    policy = policy.replace("script-src ", f"script-src {_csp_hash(axe)} {_csp_hash(PROBE)} ")
    text = csp.sub(lambda m: m.group(1) + html.escape(policy) + m.group(3), text, count=1)
    head, tail = text.rsplit("</body>", 1)
    copy = tmp_path / f"{page.parent.name}-axe.html"
    copy.write_text(f"{head}<script>{axe}</script><script>{PROBE}</script></body>{tail}")
    return copy


def _check(page: Path, tmp_path: Path) -> dict:
    """axe-core's WCAG 2.1 AA violations and the keyboard steps, from a copy of ``page``."""
    dom, log, urls = _open(
        _probe_copy(page, tmp_path), tmp_path, extra=(f"--window-size={WIDTH},1000",)
    )
    assert _page_requests(urls) == []
    found = re.search(r'<pre id="sb-test">(.*?)</pre>', dom, re.S)
    assert found is not None, log[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert "error" not in result, result
    assert result["passes"] > 10  # axe ran its rules
    return result


def _violations(result: dict) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {n['target']} {n['why']}"
        for v in result["violations"] for n in v["nodes"]
    ]  # fmt: skip


def _screenshot(page: Path, tmp_path: Path, name: str, height: int) -> Path:
    """The whole page, ``WIDTH`` pixels wide, in reports/screenshots/NAME."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / name
    shot.unlink(missing_ok=True)
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         f"--window-size={WIDTH},{min(max(height, 600), MAX_HEIGHT)}", f"--screenshot={shot}",
         page.as_uri()],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 10_000
    return shot


# the sections whose tables fold their rows without figures
FOLDING = ("leaderboard", "speed", "clocks", "channels", "heatmap", "reply-types", "resolution",
           "fairness", "scenarios")  # fmt: skip


def _rows_of_dashes(dom: str) -> list[str]:
    """The shown rows (each table's first <tbody>) of those sections with no figure: besides
    the label, only dashes and counts."""
    out = []
    for section in FOLDING:
        found = re.search(rf'<section[^>]*id="{section}".*?</section>', dom, re.S)
        for body in re.findall(r"<table[^>]*>.*?<tbody>(.*?)</tbody>", found.group(0), re.S):
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
                cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
                cells = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
                rest = cells[1:]
                if "–" in rest and all(c == "–" or c.replace(",", "").isdigit() for c in rest):
                    out.append(f"{section}: {cells[0]}")
    return out


def _charts(dom: str) -> dict:
    found = re.search(r'id="sb-charts">(.*?)</script>', dom, re.S)
    assert found is not None
    return {spec["id"]: spec for spec in json.loads(found.group(1))}


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
    assert all(a.get("role") == "img" and a.get("aria-label") for a in canvases)
    result = _check(page, tmp_path)
    assert _violations(result) == []
    _screenshot(page, tmp_path, "demo-report.png", result["height"])
    _screenshot(page, tmp_path, "demo-report-top.png", 1600)


def test_the_transcripts_work_from_the_keyboard(tmp_path):
    page = _run(Path("scenarios/demo.yaml").resolve(), tmp_path / "demo")
    opened, closed = _check(page, tmp_path)["keyboard"]
    assert opened["tag"] == "BUTTON" and opened["type"] == "button"  # Enter and Space work
    assert opened["expanded"] == "true" and opened["transcript"] and opened["rows"] == 1
    assert opened["focused"], "the focus left the probe's button when its transcript opened"
    assert closed == {**closed, "expanded": "false", "rows": 0, "focused": True}


def test_a_twcs_report_is_accessible(tmp_path):
    archive = external("twcs_head5000", "twcs_head5000.csv")
    page = _fixtures_report(archive, tmp_path / "twcs")
    dom, log, urls = _open(page, tmp_path)
    assert 'data-ready="1"' in dom, log[-2000:]
    assert _console(log) == [] and _page_requests(urls) == []
    assert _rows_of_dashes(dom) == []
    result = _check(page, tmp_path)
    assert _violations(result) == []
    _screenshot(page, tmp_path, "twcs-report.png", result["height"])


def test_a_hundred_brands_stay_readable(tmp_path):
    archive = tmp_path / "archive.csv"
    synth.write(archive, 4000, brands=100, seed=5)
    page = _fixtures_report(archive, tmp_path / "synth")
    dom, log, urls = _open(page, tmp_path)
    assert 'data-ready="1"' in dom, log[-2000:]
    assert _console(log) == [] and _page_requests(urls) == []
    specs = _charts(dom)
    brands = len(json.loads((tmp_path / "synth" / "summary.json").read_text())["groups"]["brand"])
    assert brands > MAX_CHART_LABELS
    for chart in ("chart-leaderboard", "chart-box", "chart-clocks"):
        labels = specs[chart]["labels"]
        assert len(labels) <= MAX_CHART_LABELS + 1, chart
        assert labels[-1] == f"other {brands - MAX_CHART_LABELS} brands", chart
    panels = dom.count('<figure class="multiple">')  # Kaplan–Meier: small multiples
    assert panels == len(specs["chart-km"]["series"]) <= MAX_CHART_LABELS + 2
    assert _rows_of_dashes(dom) == []
    result = _check(page, tmp_path)
    assert _violations(result) == []
    _screenshot(page, tmp_path, "synthetic-100-brands.png", result["height"])


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

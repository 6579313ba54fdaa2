"""The PDF report: the HTML report printed by headless Chromium, with a print stylesheet
that never cuts a card, chart or table row and repeats table headers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from socialbench import cli
from socialbench.report import html, model, pdf
from tests.test_report_html import parse

REPORT_DATA = Path(__file__).parent / "data" / "report"
CHROMIUM = next((p for p in map(shutil.which, pdf.BROWSERS) if p), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def page_count(content: bytes) -> int:
    """Pages of a PDF by its page objects (Chromium writes them uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", content))


def test_the_print_stylesheet_is_inlined_inside_media_print():
    style = parse(html.render(model.load(REPORT_DATA / "probe_run"))).find("style").text()
    printed = style[style.index("@media print {\n/* Print and PDF") :]
    for rule in (
        "thead { display: table-header-group; }",
        "tr, th, td { break-inside: avoid; page-break-inside: avoid; }",
        ".card, .chart, figure, canvas, .findings li",
        "h2, h3, caption { break-after: avoid; }",
    ):
        assert rule in printed, rule
    assert printed.rstrip().endswith("}")


@needs_chromium
def test_a_pdf_of_the_demo_report_has_several_pages(tmp_path):
    target = tmp_path / "out" / "report.pdf"
    result = CliRunner().invoke(
        cli.main, ["report", str(REPORT_DATA / "probe_run"), "--format", "pdf", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    content = target.read_bytes()
    assert content.startswith(b"%PDF-")
    assert page_count(content) >= 3
    # the PDF's uncompressed metadata names neither the page's temporary file nor the run
    assert b"file:" not in content and b"socialbench-pdf" not in content
    assert str(REPORT_DATA).encode() not in content


def test_pdf_is_the_default_name_beside_the_run():
    assert pdf.DEFAULT_NAME == "report.pdf"


def test_without_chromium_the_error_is_one_line_and_exit_code_3(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    result = CliRunner().invoke(
        cli.main,
        [
            "report",
            str(REPORT_DATA / "probe_run"),
            "--format",
            "pdf",
            "-o",
            str(tmp_path / "r.pdf"),
        ],  # fmt: skip
    )
    assert result.exit_code == 3
    assert result.output.strip().count("\n") == 0
    assert "install it (apt-get install chromium" in result.output
    assert not (tmp_path / "r.pdf").exists()


def test_the_browser_is_called_headless_with_no_header_or_footer(tmp_path):
    args = pdf.command("chromium", tmp_path / "r.html", tmp_path / "r.pdf", tmp_path / "p")
    assert {"--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"} <= set(args)
    assert f"--print-to-pdf={tmp_path / 'r.pdf'}" in args
    assert args[-1] == (tmp_path / "r.html").as_uri()

"""Hostile text: message text that breaks lines on a terminal, templates that would build
huge strings or numbers, and bot reply expressions that would run or return without bound.
Each is shown inert or refused in one line, without taking the memory first."""

from __future__ import annotations

import io
import json
import tracemalloc
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from conftest import msg, write_fixture

from socialbench.cli import main
from socialbench.safe import terminal_text
from socialbench.scenarios import templates

HOSTILE = "a\u2028b\u2029c"
BREAKS = "\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e\r"  # every line break str.splitlines knows


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ----------------------------------------------------------------- terminal escaping


def test_every_line_and_paragraph_break_is_escaped():
    breaking = [
        chr(code)
        for code in range(0x110000)
        if len(f"a{chr(code)}b".splitlines()) > 1
        or unicodedata.category(chr(code)) in ("Zl", "Zp", "Cc", "Cs")
    ]
    for char in breaking:
        shown = terminal_text(f"a{char}b")
        assert len(shown.splitlines()) == 1, repr(char)
        assert shown.isprintable() or char in "\n\t", repr(char)
    assert terminal_text(HOSTILE) == "a\\u2028b\\u2029c"
    assert terminal_text("x\x85y\x0bz\x1c") == "x\\x85y\\x0bz\\x1c"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("\x1b[31mred", "\\x1b[31mred", id="escape-sequence"),
        pytest.param("abc\u202edcba", "abc\\u202edcba", id="bidi-override"),
        pytest.param("\u061cx\u2066y", "\\u061cx\\u2066y", id="bidi-marks"),
        pytest.param("lone \ud800 half", "lone \\ud800 half", id="surrogate"),
        pytest.param("tab\tand\nnewline", "tab and newline", id="whitespace"),
        pytest.param("café ☕ 日本", "café ☕ 日本", id="ordinary"),
    ],
)
def test_controls_overrides_and_surrogates_are_escaped(text, shown):
    assert terminal_text(text) == shown
    terminal_text(text).encode("utf-8")  # a lone surrogate would not print at all


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """An archive run whose only brand is named with line and paragraph separators."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = []
    for n in range(12):
        rows.append(msg(f"{n}0", f"customer{n}", n * 10, "help please"))
        rows.append(msg(f"{n}1", HOSTILE, n * 10 + 5, "on it", parent=f"{n}0", brand=True))
    source = write_fixture(folder / "hostile.jsonl", rows)
    out = folder / "run"
    result = invoke("run", "--fixtures", source, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def assert_inert(text: str) -> None:
    for char in BREAKS:
        assert char not in text, repr(char)
    assert "a\\u2028b\\u2029c" in text


def test_the_leaderboard_prints_a_hostile_brand_inert(hostile_run, tmp_path):
    from socialbench.report import terminal

    summary = json.loads((hostile_run / "summary.json").read_text(encoding="utf-8"))
    for forced in (True, False):  # rich tables on a terminal, plain text otherwise
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=forced, width=160, color_system=None)
        terminal.render(summary, console=console, top=5)
        assert_inert(buffer.getvalue())


def test_compare_by_brand_prints_a_hostile_brand_inert(hostile_run):
    result = invoke("compare", hostile_run, hostile_run, "--by", "brand")
    assert result.exit_code == 0, result.output
    assert_inert(result.output)


def test_compare_by_brand_on_a_terminal_prints_a_hostile_brand_inert(hostile_run):
    from rich.console import Console

    from socialbench.measure import compare

    result = json.loads(invoke("compare", hostile_run, hostile_run, "--by", "brand", "--json")
                        .output)  # fmt: skip
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200, color_system=None)
    compare.render_text(result, console=console)
    assert_inert(buffer.getvalue())


# ------------------------------------------------------------------------- templates


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        pytest.param(
            "{{ '{:>{w}}'.format(1, w=10**9) }}", "format width above", id="format-nested"
        ),
        pytest.param("{{ '{:>{}}'.format(1, 10**9) }}", "format width above", id="format-numbered"),
        pytest.param(
            "{{ '{x:>{w}}'.format_map({'x': 1, 'w': 10**9}) }}", "format width", id="format_map"
        ),
        pytest.param("{{ '%*d' % (10**9, 1) }}", "format width above", id="percent-star"),
        pytest.param("{{ '%.*f' % (10**9, 1.0) }}", "format width above", id="percent-precision"),
        pytest.param("{{ '%*d'|format(10**9, 1) }}", "format width above", id="filter-star"),
        pytest.param("{{ '%1000000000d'|format(1) }}", "format width above", id="filter-width"),
        pytest.param("{{ 'x'.center(10**9) }}", "width or count above", id="center"),
        pytest.param("{{ 'x'.ljust(10**9) }}", "width or count above", id="ljust"),
        pytest.param("{{ 'x'.rjust(10**9) }}", "width or count above", id="rjust"),
        pytest.param("{{ 'x'.zfill(10**9) }}", "width or count above", id="zfill"),
        pytest.param("{{ 'x\tx'.expandtabs(10**9) }}", "width or count above", id="expandtabs"),
        pytest.param("{{ 'x'|center(10**9) }}", "width or count above", id="center-filter"),
        pytest.param("{{ 'x'|indent(10**9) }}", "width or count above", id="indent-filter"),
        pytest.param("{{ 1|tojson(indent=10**9) }}", "width or count above", id="tojson-indent"),
        pytest.param("{{ [1]|batch(10**9, 0)|list }}", "width or count above", id="batch-fill"),
        pytest.param(
            "{{ ('x' * 10000).replace('', 'y' * 10000) }}", "replacement longer", id="replace"
        ),
        pytest.param("{{ (['a'] * 5000)|join('y' * 10000) }}", "join longer", id="join-filter"),
        pytest.param("{{ ('y' * 10000).join(['a'] * 5000) }}", "join longer", id="join-method"),
        pytest.param(
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "text is longer than 10,000",
            id="concat-doubling",
        ),
        pytest.param(
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "sum longer than 10,000",
            id="sum-doubling",
        ),
        pytest.param(
            "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}"
            "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
            "text is longer than 10,000",
            id="nested-list-printed",
        ),
        pytest.param(
            "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}"
            "{{ ns.l.extend(ns.l) }}{% endfor %}",
            "more than 100,000 items",
            id="list-extended",
        ),
        pytest.param(
            "{% set ns = namespace(n=2) %}{% for i in range(40) %}"
            "{% set ns.n = ns.n * ns.n %}{% endfor %}",
            "more than 4,300 digits",
            id="squaring",
        ),
        pytest.param("{{ ((10**1000)**1000)**1000 }}", "more than 4,300 digits", id="power-tower"),
    ],
)
def test_a_template_that_would_take_the_memory_is_refused_first(source, problem):
    tracemalloc.start()
    try:
        with pytest.raises(jinja_errors(), match=problem) as caught:
            templates.render(templates.template(source), {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000, f"{peak:,} bytes taken before refusing"
    assert len(str(caught.value).splitlines()) == 1


def jinja_errors():
    import jinja2

    return jinja2.TemplateError


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("{{ '{:>{w}}'.format(1, w=10**9) }}", id="format-nested"),
        pytest.param("{{ '%*d' % (10**9, 1) }}", id="percent-star"),
        pytest.param("{{ 'x'.zfill(10**9) }}", id="zfill"),
    ],
)
def test_a_wide_query_text_is_one_line_naming_the_file_and_query(tmp_path, source):
    from test_hardening_suites import SUITE, refused

    suite = tmp_path / "suite.yaml"
    text = SUITE.replace('"my order hasn\'t arrived"', json.dumps(source))
    suite.write_text(text, encoding="utf-8")
    refused(invoke("validate", suite), "suite.yaml:14: queries.0.text.0:", "above 10,000")


def test_ordinary_formats_and_joins_still_render():
    source = (
        "{{ '%*d|%-*d|' % (5, 1, 3, 2) }}{{ '{:>{w}}'.format(1, w=4) }}|{{ '%05.1f' % 3.14159 }}"
        "|{{ '%(a)s' % {'a': 'k'} }}|{{ 'a-b'.replace('-', '+') }}|{{ ['x', 'y']|join(', ') }}"
        "|{{ ('ab' ~ 'cd')|upper }}|{{ 2 ** 100 }}|{{ 'x'.center(5) }}|{{ '%d%%' % 50 }}"
    )
    assert templates.render(templates.template(source), {}) == (
        "    1|2  |   1|003.1|k|a+b|x, y|ABCD|1267650600228229401496703205376|  x  |50%"
    )


def test_an_arithmetic_error_in_a_template_is_a_template_error():
    import jinja2

    with pytest.raises(jinja2.TemplateRuntimeError, match="division by zero"):
        templates.render(templates.template("{{ 1 / 0 }}"), {})


# --------------------------------------------------------------- bot reply expressions


def endpoint(replies: str | None) -> SimpleNamespace:
    return SimpleNamespace(replies=replies)


def test_a_reply_expression_still_picks_replies():
    from socialbench.probing.connectors import bot_http

    answer = {"messages": [{"text": "hello"}, {"text": "how can I help?"}]}
    found = bot_http.replies(endpoint("{{ response.messages|map(attribute='text')|list }}"), answer)
    assert [reply.text for reply in found] == ["hello", "how can I help?"]


@pytest.mark.parametrize(
    ("replies", "answer", "problem"),
    [
        pytest.param(
            "{{ [" + ", ".join(["range(1000)|list"] * 101) + "] }}",
            {},
            "more than 100,000 loop iterations",
            id="steps",
        ),
        pytest.param(
            "{{ '{:>{w}}'.format(response.text, w=10**9) }}",
            {"text": "hi"},
            "format width above 10,000",
            id="width",
        ),
        pytest.param(
            "{{ response.text * 100000 }}", {"text": "hi"}, "repetition longer", id="repetition"
        ),
        pytest.param("$.replies[*]", {"replies": ["x"] * 1001}, "at most 1,000", id="count"),
        pytest.param(
            "$.replies[*]", {"replies": ["x" * 1000] * 101}, "pass 100,000 characters", id="size"
        ),
        pytest.param("$..text", "nested", "nests deeper than 200 levels", id="nesting"),
        pytest.param(
            "{{ response|length }}", "nested", "nests deeper than 200", id="nesting-jinja"
        ),
        pytest.param("{{ response.a / 0 }}", {"a": 1}, "division by zero", id="arithmetic"),
    ],
)
def test_a_reply_expression_is_bounded_and_names_the_field(replies, answer, problem):
    from socialbench.probing.connectors import bot_http
    from socialbench.probing.connectors.bots import BotError

    if answer == "nested":
        answer = {"text": "x"}
        for _ in range(300):
            answer = {"a": [answer]}
    tracemalloc.start()
    try:
        with pytest.raises(BotError, match=problem) as caught:
            bot_http.replies(endpoint(replies), answer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
    assert str(caught.value).startswith("replies: ")
    assert len(str(caught.value).splitlines()) == 1

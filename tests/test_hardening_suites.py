"""Hostile suites, brand books, sandbox profiles and thresholds files: each gives exit code 2
and one line per problem naming the file, the line or field and the problem, never a
traceback, a hang or unbounded memory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import hypothesis
import pytest
from click.testing import CliRunner
from conftest import DATA
from hypothesis import strategies as st

from socialbench.cli import main

SOURCE = DATA / "sources" / "x_v2_pages.jsonl"
RUN = DATA / "report" / "probe_run"

SUITE = """\
suite: hostile
window: 1d
brands:
  - id: acme
    handles: {x: AcmeAir}
personas:
  - id: small
    handles: {x: jo_small}
    credentials: {x: SB_X_TOKEN_SMALL}
queries:
  - id: late
    category: delivery
    channels: [x]
    text: "my order hasn't arrived"
"""
DEEP = "[" * 20_000 + "]" * 20_000


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(result, *expected: str) -> str:
    """The one error line of a refused command, checked for each ``expected`` part."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for part in expected:
        assert part in lines[0], result.output
    return lines[0]


def edited(old: str, new: str) -> str:
    assert old in SUITE
    return SUITE.replace(old, new)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(".nan", "is not a finite duration", id="nan"),
        pytest.param(".inf", "is not a finite duration", id="inf"),
        pytest.param("1e400", "is not a finite duration", id="overflow"),
        pytest.param("99999999999w", "longer than the limit of 1 year (365d)", id="huge"),
        pytest.param("366d", "longer than the limit of 1 year (365d)", id="a-day-too-long"),
    ],
)
def test_a_suite_duration_is_finite_and_at_most_a_year(tmp_path, value, problem):
    suite = write(tmp_path, edited("window: 1d", f"window: {value}"))
    refused(invoke("validate", suite), "suite.yaml:2: window:", problem)


def test_a_year_is_still_a_duration(tmp_path):
    suite = write(tmp_path, edited("window: 1d", "window: 365d"))
    result = invoke("validate", suite)
    assert result.exit_code == 0, result.output


def test_a_step_wait_is_bounded_too(tmp_path):
    text = SUITE + "    dialogue:\n      - {bot: '.', within: .inf}\n"
    refused(invoke("validate", write(tmp_path, text)), "queries.0.dialogue.0.within")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param("99999999999w", "longer than the limit of 1 year", id="huge"),
        pytest.param("1e400", "is not a finite duration", id="overflow"),
        pytest.param("nan", "is not a finite duration", id="nan"),
    ],
)
def test_a_threshold_duration_is_bounded(tmp_path, value, problem):
    thresholds = write(tmp_path, f'ttfr: ["p(50) < {value}"]\n', "thresholds.yaml")
    result = invoke("check", run_copy(tmp_path), "--thresholds", thresholds)
    refused(result, "thresholds.yaml:1: ttfr.0:", problem)


def run_copy(tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(RUN, target)
    return target


def test_a_pasted_token_is_refused_without_being_printed(tmp_path):
    token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E"
    suite = write(tmp_path, edited("SB_X_TOKEN_SMALL", f"'{token}'"))
    line = refused(invoke("validate", suite), "suite.yaml:9: personas.0.credentials.x:")
    assert "environment variable name" in line
    assert "AAAA" not in line and "EUif" not in line


PYTHON_TAG = '!!python/object/apply:os.system ["echo pwned"]'


def test_a_python_tag_in_a_brand_book_is_one_line(tmp_path):
    book = write(tmp_path, f"brands:\n  - name: acme\n    handles: {PYTHON_TAG}\n", "brands.yaml")
    result = invoke("validate", SOURCE, "--brands", book)
    refused(result, "brands.yaml:3: invalid YAML:", "python/object/apply")
    assert "pwned" not in result.output


def test_a_python_tag_in_a_sandbox_profile_is_one_line(tmp_path):
    profile = write(tmp_path, f"brands: {PYTHON_TAG}\n", "profile.yaml")
    suite = write(tmp_path, SUITE)
    result = invoke("run", suite, "--profile", profile, "--out", tmp_path / "out", "--quiet")
    refused(result, "profile.yaml:1: invalid YAML:", "python/object/apply")


def test_a_python_tag_in_a_suite_is_one_line(tmp_path):
    suite = write(tmp_path, edited('text: "my order hasn\'t arrived"', f"text: {PYTHON_TAG}"))
    refused(invoke("validate", suite), "suite.yaml:14: invalid YAML:", "python/object/apply")


def test_yaml_nested_too_deep_in_a_suite_is_one_line(tmp_path):
    suite = write(tmp_path, SUITE + f"thresholds: {{ttfr: {DEEP}}}\n")
    refused(invoke("validate", suite), "suite.yaml:15: invalid YAML:", "deeper than 100 levels")


def test_yaml_nested_too_deep_in_a_thresholds_file_is_one_line(tmp_path):
    thresholds = write(tmp_path, f"ttfr: {DEEP}\n", "thresholds.yaml")
    result = invoke("check", run_copy(tmp_path), "--thresholds", thresholds)
    refused(result, "thresholds.yaml:1: invalid YAML:", "deeper than 100 levels")


def test_yaml_nested_deep_in_block_style_is_one_line(tmp_path):
    nested = "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 150))
    suite = write(tmp_path, SUITE + "thresholds:\n" + nested)
    refused(invoke("validate", suite), "invalid YAML:", "deeper than 100 levels")


HOURS = "    hours: {timezone: Europe/London, weekly: {mon: ['09:00-17:00']}, closed: [DATE]}\n"


@pytest.mark.parametrize("date", ["2024-02-30", "'2024-02-30'", "2023-02-29T10:00:00Z"])
def test_an_impossible_closed_date_in_a_suite_names_the_field(tmp_path, date):
    hours = HOURS.replace("DATE", date)
    suite = write(
        tmp_path, edited("    handles: {x: AcmeAir}\n", "    handles: {x: AcmeAir}\n" + hours)
    )
    refused(invoke("validate", suite), "suite.yaml:6: brands.0.hours.closed.0:", "date")


def test_an_impossible_closed_date_in_a_brand_book_names_the_field(tmp_path):
    text = "brands:\n  - name: acme\n    handles: [AcmeAir]\n" + HOURS.replace("DATE", "2024-02-30")
    book = write(tmp_path, text, "brands.yaml")
    result = invoke("validate", SOURCE, "--brands", book)
    refused(result, "brands.yaml:4: brands.0.hours.closed.0:", "date")


def test_a_possible_closed_date_still_loads(tmp_path):
    hours = HOURS.replace("DATE", "2024-02-29")
    suite = write(
        tmp_path, edited("    handles: {x: AcmeAir}\n", "    handles: {x: AcmeAir}\n" + hours)
    )
    result = invoke("validate", suite)
    assert result.exit_code == 0, result.output


def test_a_suite_expanding_past_the_limit_is_refused_before_rendering(tmp_path):
    values = "[" + ", ".join(str(n) for n in range(100)) + "]"
    text = edited('text: "my order hasn\'t arrived"', 'text: "{{ a }} {{ b }} {{ c }}"')
    text = text.replace("window: 1d\n", "window: 1d\nrepetitions: 1000\n")
    text += f"    variables: {{a: {values}, b: {values}, c: {values}}}\n"
    result = invoke("validate", write(tmp_path, text))
    refused(result, "suite.yaml:1: (top level):", "1,000,000,000 probes", "limit of 100,000")


def test_a_suite_at_the_limit_is_counted_not_refused(tmp_path):
    from socialbench.scenarios import load_suite, render

    text = SUITE.replace("window: 1d\n", "window: 1d\nrepetitions: 1000\n")
    assert render.probe_count(load_suite(write(tmp_path, text))) == 1000


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        pytest.param("{{ 'a' * 300000000 }}", "repetition longer than 10,000", id="multiply"),
        pytest.param("{{ [1] * 300000000 }}", "repetition longer than 10,000", id="list"),
        pytest.param(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "range() gives at most 1,000 numbers",
            id="range",
        ),
        pytest.param(
            "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
            "more than 100,000 loop iterations",
            id="nested-loops",
        ),
        pytest.param(
            "{% for c in 'abcdefghij' * 1000 %}{% for d in 'abcdefghij' * 1000 %}"
            "{% endfor %}{% endfor %}",
            "more than 100,000 loop iterations",
            id="nested-string-loops",
        ),
        pytest.param(
            "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recurses too deeply", id="macro"
        ),
        pytest.param(
            "{% for i in range(1000) %}{{ 'abcdefghijk' }}{% endfor %}",
            "longer than 10,000 characters",
            id="output",
        ),
        pytest.param("{{ '%999999999d' % 1 }}", "format width above 10,000", id="percent"),
        pytest.param("{{ '{:>999999999}'.format(1) }}", "format width above 10,000", id="format"),
        pytest.param("{{ '%-999999s'|format(1) }}", "format width above 10,000", id="filter"),
        pytest.param("{{ 'a'.ljust(999999999) }}", "width or count above 10,000", id="ljust"),
        pytest.param("{{ 'a'|center(999999999) }}", "width or count above 10,000", id="center"),
        pytest.param("{{ 2 ** 99999999 }}", "exponent above 1,000", id="power"),
    ],
)
def test_a_query_template_is_bounded(tmp_path, template, problem):
    suite = write(tmp_path, edited('"my order hasn\'t arrived"', json.dumps(template)))
    refused(invoke("validate", suite), "suite.yaml:14: queries.0.text.0:", problem)


def test_ordinary_template_features_still_work(tmp_path):
    template = (
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ '%05d' % 42 }} {{ '{:>4}'.format(7) }}"
        " {{ '%s'|format(123456) }} {{ 'x'|center(5) }} {{ 'ab' * 3 }} {{ 2 ** 10 }}"
    )
    suite = write(tmp_path, edited('"my order hasn\'t arrived"', json.dumps(template)))
    result = invoke("validate", suite)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ 'a' * 300000000 }}", id="multiply"),
        pytest.param("{% for i in range(100000) %}{% endfor %}", id="range"),
        pytest.param("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", id="macro"),
    ],
)
def test_a_bot_endpoint_template_is_bounded(template):
    from socialbench.probing.connectors import bots

    with pytest.raises(bots.BotError, match="template") as caught:
        bots.render({"text": template}, {"text": "hello"})
    assert len(str(caught.value).splitlines()) == 1


def test_a_catastrophic_pattern_runs_in_linear_time(tmp_path):
    key = "    expect: {resolution: {patterns: ['(a+)+$'], example: '" + "a" * 100 + "b'}}\n"
    result = invoke("validate", write(tmp_path, SUITE + key))
    refused(result, "queries.0.expect.resolution.example:", "does not satisfy the answer key")


@pytest.mark.parametrize(
    ("where", "pattern", "field"),
    [
        pytest.param("key", r"(a)\1", "queries.0.expect.resolution.patterns.0", id="backreference"),
        pytest.param("key", "(?<=x)y", "queries.0.expect.resolution.patterns.0", id="lookbehind"),
        pytest.param("bot", "refund(?!ed)", "queries.0.dialogue.0.bot", id="lookahead"),
        pytest.param("human", "(?=agent)", "brands.0.endpoints.x.human.0", id="human"),
    ],
)
def test_a_pattern_re2_cannot_run_is_one_line(tmp_path, where, pattern, field):
    quoted = json.dumps(pattern)
    if where == "key":
        text = SUITE + f"    expect: {{resolution: {{patterns: [{quoted}]}}}}\n"
    elif where == "bot":
        text = SUITE + f"    dialogue:\n      - {{bot: {quoted}}}\n"
    else:
        endpoint = f"    endpoints: {{x: {{url: 'http://127.0.0.1:9/bot', human: [{quoted}]}}}}\n"
        text = edited("    handles: {x: AcmeAir}\n", "    handles: {x: AcmeAir}\n" + endpoint)
    line = refused(
        invoke("validate", write(tmp_path, text)), f"{field}: invalid regular expression"
    )
    assert "RE2" in line


def test_user_patterns_match_with_re2_case_insensitively():
    from socialbench.scenarios import patterns

    assert patterns.search("refund(ed)?", "Your REFUNDED order")
    assert not patterns.search("(a+)+$", "a" * 100_000 + "b")
    assert patterns.matches(["x", None, "Agent here"], "agent").tolist() == [False, False, True]


def test_an_answer_key_matches_keywords_patterns_and_links():
    import pandas as pd

    from socialbench.probing import attribution
    from socialbench.probing.probes import Expectation, Resolution

    resolution = Resolution(
        keywords=("5.0 off",), patterns=("refund(ed)?",), link_domain="acme.example"
    )
    probe = SimpleNamespace(expect=Expectation(resolution=resolution))
    key = attribution.key_pattern(probe)
    texts = pd.Series(
        ["a 5.0 OFF deal", "50x0 off", "REFUNDED", "see https://help.acme.example/x", "x"]
    )
    assert attribution._key_hits(key, texts).tolist() == [True, False, True, True, False]


# Properties: whatever a suite holds, validate checks it in one line per problem (exit code
# 2) or accepts it (0): never a traceback, a hang or unbounded memory.

SUITE_PROPERTY = hypothesis.settings(
    max_examples=40, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
TEMPLATE_PARTS = st.sampled_from(
    [
        "{{", "}}", "{%", "%}", " for i in range(9) ", " endfor ", " brand.name ", " order ",
        "'%*d' % (", "'{:>{w}}'.format(1, w=", "10**9", ")", "|center(", "|indent(", "~",
        " * ", " + ", "**", "[1]", "'x'", "namespace(", "|join", "|format(", "1/0", "(", ",",
    ]
)  # fmt: skip


def checked_or_refused(result) -> None:
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert all(line.startswith("error: ") or line.startswith("  ") or "suite.yaml" in line
                   for line in result.output.strip().splitlines()), result.output  # fmt: skip


@SUITE_PROPERTY
@hypothesis.given(parts=st.lists(TEMPLATE_PARTS | st.text(max_size=8), max_size=12))
def test_any_query_template_is_rendered_or_refused(tmp_path_factory, parts):
    template = "".join(parts)
    text = SUITE.replace('"my order hasn\'t arrived"', json.dumps(template + " order"))
    text += "    variables: {order: ['#1']}\n"
    suite = write(tmp_path_factory.mktemp("suite"), text)
    checked_or_refused(invoke("validate", suite))


@SUITE_PROPERTY
@hypothesis.given(
    at=st.integers(min_value=0, max_value=len(SUITE)),
    cut=st.integers(min_value=0, max_value=12),
    inserted=st.text(st.sampled_from(list("-:{}[],'\"!&*|>#? \n\tabx19.")), max_size=12),
)
def test_any_edited_suite_is_checked_or_refused(tmp_path_factory, at, cut, inserted):
    text = SUITE[:at] + inserted + SUITE[at + cut :]
    suite = write(tmp_path_factory.mktemp("suite"), text)
    checked_or_refused(invoke("validate", suite))

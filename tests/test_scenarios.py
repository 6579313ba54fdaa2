"""Tests for socialbench.scenarios: loading suites, problems by file and line, expansion."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from socialbench import scenarios
from socialbench.errors import ConfigError
from socialbench.probing.probes import Expectation, Resolution, find_marker, marker, probe_id
from socialbench.scenarios.render import length, mentions

ROOT = Path(__file__).resolve().parents[1]
SUITES = Path(__file__).resolve().parent / "data" / "suites"
EXAMPLES = ROOT / "scenarios"

# Line numbers matter: the bad-input cases below name them.
BASE = """\
suite: base
window: 24h
pacing: {gap: 2m, concurrency: 2, spread: 0}
brands:
  - id: acme
    name: Acme Air
    handles: {x: AcmeAir}
    aliases: {x: [AcmeAirHelp]}
    hours: {timezone: Europe/London, weekly: {mon: ["09:00-17:00"]}}
  - id: northrail
    handles: {x: NorthRail}
personas:
  - id: small
    handles: {x: jo_small}
    followers: 250
    credentials: {x: SB_X_TOKEN_SMALL}
  - id: big
    handles: {x: sam_big}
    followers: 25000
    credentials: {x: SB_X_TOKEN_BIG}
queries:
  - id: late
    category: delivery
    channels: [x]
    surfaces: [public]
    brands: [acme, northrail]
    personas: [small, big]
    text: "my order {{ order }} hasn't arrived"
    variables:
      order: ["#1", "#2"]
    expect:
      deadline: 4h
      resolution:
        keywords: [refund]
        patterns: ["track(ing)? number"]
        example: "We've issued a refund."
"""


def write_suite(tmp_path: Path, *edits: tuple[str, str], name: str = "suite.yaml") -> Path:
    """BASE with each ``(old, new)`` replaced (``old`` must occur exactly once)."""
    text = BASE
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        scenarios.load_suite(path)
    return str(info.value).splitlines()


# --------------------------------------------------------------------------------------------
# Valid suites
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(SUITES / "minimal.yaml", id="minimal"),
        pytest.param(SUITES / "full.yaml", id="full"),
        *(
            pytest.param(path, id=f"example-{path.stem}")
            for path in sorted(EXAMPLES.glob("*.yaml"))
        ),
    ],
)
def test_valid_suites_load_and_expand(path):
    suite = scenarios.load_suite(path)
    probes = scenarios.expand(suite)
    assert probes
    assert suite.path == str(path)
    scenarios.brand_book(suite)  # the brand book accepts every suite that loads


@pytest.mark.parametrize(
    ("name", "count"),
    [
        pytest.param("demo", 243, id="demo"),
        pytest.param("delivery", 24, id="delivery"),
        pytest.param("billing", 24, id="billing"),
        pytest.param("outage", 18, id="outage"),
        pytest.param("followers", 50, id="followers"),
    ],
)
def test_example_suite_probe_counts(name, count):
    probes = scenarios.expand(scenarios.load_suite(EXAMPLES / f"{name}.yaml"))
    assert len(probes) == count
    assert len({p.probe_id for p in probes}) == count


def test_example_suites_are_all_counted():
    assert {p.stem for p in EXAMPLES.glob("*.yaml")} == {
        "demo",
        "delivery",
        "billing",
        "outage",
        "followers",
    }


def test_demo_suite_shape():
    suite = scenarios.load_suite(EXAMPLES / "demo.yaml")
    probes = scenarios.expand(suite)
    zones = {b.hours.timezone for b in suite.brands if b.hours}
    assert 4 <= len(suite.brands) <= 6 and len(zones) == len(suite.brands)
    assert {250, 25000} <= {p.followers for p in suite.personas}
    assert {p.category for p in probes} == {"delivery", "billing", "outage", "returns"}
    assert {p.surface for p in probes} == {"public", "private"}
    # one brand on X public, X DM, Messenger, WhatsApp and webchat, for the comparison
    routes = {(p.channel, p.surface) for p in probes if p.brand == "acme"}
    assert routes == {("x", "public"), ("x", "private"), ("messenger", "private"),
                      ("whatsapp", "private"), ("webchat", "private")}  # fmt: skip
    assert any(p.dialogue for p in probes)
    assert suite.window == 24 * 3600


def test_followers_suite_compares_two_personas_on_every_brand():
    suite = scenarios.load_suite(EXAMPLES / "followers.yaml")
    probes = scenarios.expand(suite)
    assert sorted(p.followers for p in suite.personas) == [250, 25000]
    assert suite.repetitions > 1
    by_persona = {
        persona: sorted((p.brand, p.repetition) for p in probes if p.persona == persona)
        for persona in ("small", "big")
    }
    assert by_persona["small"] == by_persona["big"]
    assert {b for b, _ in by_persona["small"]} == {b.id for b in suite.brands}


def test_full_suite_values():
    suite = scenarios.load_suite(SUITES / "full.yaml")
    assert suite.window == 2 * 86400
    assert (suite.pacing.gap, suite.pacing.concurrency, suite.pacing.spread) == (90, 8, 43200)
    assert suite.brands[0].handles["x"] == "AcmeAir"  # "@" dropped
    assert suite.brands[0].aliases["x"] == ["AcmeAirHelp", "AcmeAirDeals"]
    assert suite.brands[0].hours.holidays == "GB"
    assert suite.thresholds == {
        "response_rate": ["rate >= 0.8"],
        "ttfr": {"threshold": "med < 4h", "severity": "warn"},
    }
    assert suite.queries[0].expect.resolution.link_domain == "acme.example"


def test_defaults():
    suite = scenarios.load_suite(SUITES / "minimal.yaml")
    assert suite.window == 7 * 86400
    assert suite.repetitions == 1
    assert (suite.pacing.gap, suite.pacing.concurrency, suite.pacing.spread) == (60, 4, 0)
    (probe,) = scenarios.expand(suite)
    assert (probe.surface, probe.followers, probe.credential) == ("public", None, None)
    assert probe.expect == Expectation()


# --------------------------------------------------------------------------------------------
# Problems, each at its file, line and field
# --------------------------------------------------------------------------------------------

LONG = "x" * 253  # with "@AcmeAir " in front: 262 characters, one more than fits


@pytest.mark.parametrize(
    ("edit", "line", "field", "problem"),
    [
        pytest.param(
            ("suite: base", "suite: Base Suite"),
            1,
            "suite",
            "String should match pattern",
            id="suite-name",
        ),
        pytest.param(("window: 24h", "windw: 24h"), 2, "windw", "unknown key", id="unknown-key"),
        pytest.param(
            ("window: 24h", "window: 4x"), 2, "window", "'4x' is not a duration", id="duration"
        ),
        pytest.param(
            ("window: 24h", "window: 0"), 2, "window", "must be longer than zero", id="zero-window"
        ),
        pytest.param(
            ("concurrency: 2", "concurency: 2"),
            3,
            "pacing.concurency",
            "unknown key",
            id="nested-unknown-key",
        ),
        pytest.param(
            ("concurrency: 2", "concurrency: 0"),
            3,
            "pacing.concurrency",
            "greater than or equal to 1",
            id="concurrency",
        ),
        pytest.param(
            ("handles: {x: AcmeAir}", "handles: {x: AcmeAir, twitter: AcmeAir}"),
            7,
            "brands.0.handles.twitter",
            "unknown key 'twitter'; input should be 'x', 'facebook'",
            id="unknown-channel",
        ),
        pytest.param(
            ("handles: {x: AcmeAir}", "handles: {x: '@'}"),
            7,
            "brands.0.handles.x",
            "a handle is empty",
            id="empty-handle",
        ),
        pytest.param(
            ('weekly: {mon: ["09:00-17:00"]}', 'weekly: {monday: ["09:00-17:00"]}'),
            9,
            "brands.0.hours.weekly",
            "unknown day 'monday'",
            id="support-hours",
        ),
        pytest.param(
            ("  - id: northrail", "  - id: acme"),
            10,
            "brands.1.id",
            "duplicate id 'acme' (first at line 5)",
            id="duplicate-brand",
        ),
        pytest.param(
            ("  - id: big", "  - id: small"),
            17,
            "personas.1.id",
            "duplicate id 'small' (first at line 13)",
            id="duplicate-persona",
        ),
        pytest.param(
            (
                'example: "We\'ve issued a refund."',
                'example: "We\'ve issued a refund."\n'
                "  - id: late\n    category: billing\n    channels: [x]\n    text: hi",
            ),
            37,
            "queries.1.id",
            "duplicate id 'late' (first at line 22)",
            id="duplicate-query",
        ),
        pytest.param(
            ("followers: 250\n", "followers: lots\n"),
            15,
            "personas.0.followers",
            "valid integer",
            id="wrong-type",
        ),
        pytest.param(
            ("credentials: {x: SB_X_TOKEN_SMALL}", "credentials: {x: 'AAAA-token=='}"),
            16,
            "personas.0.credentials.x",
            "is not an environment variable name",
            id="credential-value",
        ),
        pytest.param(
            ("credentials: {x: SB_X_TOKEN_BIG}", "credentials: {x: SB_X_TOKEN_BIG, instagram: IG}"),
            20,
            "personas.1.credentials.instagram",
            "persona 'big' has no handle on instagram",
            id="credential-without-handle",
        ),
        pytest.param(
            ("handles: {x: NorthRail}", "handles: {x: acmeairhelp}"),
            11,
            "brands.1.handles.x",
            "handle 'acmeairhelp' already belongs to brand 'acme'",
            id="handle-of-two-brands",
        ),
        pytest.param(
            ("handles: {x: sam_big}", "handles: {x: sam.big}"),
            18,
            "personas.1.handles.x",
            "'sam.big' is not an X handle (1 to 15 letters, digits and _)",
            id="x-handle",
        ),
        pytest.param(
            ("aliases: {x: [AcmeAirHelp]}", "aliases: {x: [AcmeAirHelp, AcmeAirCustomerCare]}"),
            8,
            "brands.0.aliases.x.1",
            "'AcmeAirCustomerCare' is not an X handle",
            id="x-alias",
        ),
        pytest.param(
            ("handles: {x: sam_big}", "handles: {x: '@NorthRail'}"),
            18,
            "personas.1.handles.x",
            "handle 'NorthRail' already belongs to brand 'northrail'",
            id="persona-is-a-brand",
        ),
        pytest.param(
            ("brands: [acme, northrail]", "brands: [acme, nrthrail]"),
            26,
            "queries.0.brands.1",
            "unknown brand 'nrthrail' (known: acme, northrail)",
            id="unknown-brand",
        ),
        pytest.param(
            ("personas: [small, big]", "personas: [small, huge]"),
            27,
            "queries.0.personas.1",
            "unknown persona 'huge' (known: small, big)",
            id="unknown-persona",
        ),
        pytest.param(
            ("personas: [small, big]", "personas: [small, small]"),
            27,
            "queries.0.personas.1",
            "persona 'small' is listed twice",
            id="persona-twice",
        ),
        pytest.param(
            ("channels: [x]", "channels: [x, instagram]"),
            24,
            "queries.0.channels.1",
            "brand 'acme' has no handle on instagram",
            id="brand-without-channel",
        ),
        pytest.param(
            ("channels: [x]", "channels: [x, instagram]"),
            24,
            "queries.0.channels.1",
            "persona 'big' has no handle on instagram",
            id="persona-without-channel",
        ),
        pytest.param(
            ("channels: [x]", "channels: [whatsapp]"),
            24,
            "queries.0.channels.0",
            "whatsapp has no public surface (use surface: private)",
            id="private-only-channel",
        ),
        pytest.param(
            ("surfaces: [public]", "surfaces: [public]\n    surface: private"),
            26,
            "queries.0.surface",
            "give either surface or surfaces, not both",
            id="surface-and-surfaces",
        ),
        pytest.param(
            ("{{ order }}", "{{ ordr }}"),
            28,
            "queries.0.text.0",
            "query 'late' variant 0: undefined template variable: 'ordr' is undefined",
            id="undefined-variable",
        ),
        pytest.param(
            ("{{ order }}", "{{ brand.nme }}"),
            28,
            "queries.0.text.0",
            "undefined template variable: 'dict object' has no attribute 'nme'",
            id="undefined-attribute",
        ),
        pytest.param(
            ("{{ order }}", "{% if order == '#2' %}{{ missing }}{% endif %}"),
            28,
            "queries.0.text.0",
            "'missing' is undefined",
            id="undefined-in-one-combination",
        ),
        pytest.param(
            ("{{ order }}", "{% if %}"),
            28,
            "queries.0.text.0",
            "query 'late' variant 0: template syntax error:",
            id="template-syntax",
        ),
        pytest.param(
            ('text: "my order {{ order }} hasn\'t arrived"', 'text: ["{{ order }}", "{{ nope }}"]'),
            28,
            "queries.0.text.1",
            "query 'late' variant 1: undefined template variable: 'nope' is undefined",
            id="undefined-in-variant",
        ),
        pytest.param(
            ('text: "my order {{ order }} hasn\'t arrived"', f"text: {LONG}"),
            28,
            "queries.0.text.0",
            "query 'late' variant 0: the text for @AcmeAir on x (public) is 262 characters; "
            "at most 261 fit before the probe marker",
            id="too-long-for-x",
        ),
        pytest.param(
            ('text: "my order {{ order }} hasn\'t arrived"', "text: ''"),
            28,
            "queries.0.text.0",
            "String should have at least 1 character",
            id="empty-text",
        ),
        pytest.param(
            ('order: ["#1", "#2"]', 'brand: ["#1"]'),
            30,
            "queries.0.variables.brand",
            "variable name 'brand' is reserved",
            id="reserved-variable",
        ),
        pytest.param(
            ('order: ["#1", "#2"]', "order: []"),
            30,
            "queries.0.variables.order",
            "should have at least 1 item",
            id="no-values",
        ),
        pytest.param(
            ('order: ["#1", "#2"]', "order: [{a: 1}]"),
            30,
            "queries.0.variables.order.0",
            "a value must be a string, number or boolean, not dict",
            id="nested-value",
        ),
        pytest.param(
            ("deadline: 4h", "deadline: 2d"),
            32,
            "queries.0.expect.deadline",
            "the deadline (2.0d) is longer than the suite's window (1.0d)",
            id="deadline-past-window",
        ),
        pytest.param(
            ("deadline: 4h", "deadline: soon"),
            32,
            "queries.0.expect.deadline",
            "'soon' is not a duration",
            id="deadline-duration",
        ),
        pytest.param(
            ("deadline: 4h", "reply: maybe"),
            32,
            "queries.0.expect.reply",
            "Input should be 'required' or 'optional'",
            id="reply-value",
        ),
        pytest.param(
            ("keywords: [refund]", "link_domain: https://acme.example/help"),
            34,
            "queries.0.expect.resolution.link_domain",
            "is not a domain name",
            id="link-domain",
        ),
        pytest.param(
            ('patterns: ["track(ing)? number"]', 'patterns: [refund, "track(ing number"]'),
            35,
            "queries.0.expect.resolution.patterns.1",
            "invalid regular expression 'track(ing number'",
            id="bad-regex",
        ),
        pytest.param(
            ('example: "We\'ve issued a refund."', 'example: "Thanks!"'),
            36,
            "queries.0.expect.resolution.example",
            "the example does not satisfy the answer key",
            id="example-fails-key",
        ),
        pytest.param(
            (
                'keywords: [refund]\n        patterns: ["track(ing)? number"]\n'
                '        example: "We\'ve issued a refund."',
                'example: "Thanks!"',
            ),
            33,
            "queries.0.expect.resolution",
            "give at least one of keywords, patterns, link_domain",
            id="empty-answer-key",
        ),
        pytest.param(
            ("    category: delivery\n", ""),
            22,
            "queries.0.category",
            "required key is missing",
            id="missing-key",
        ),
        pytest.param(
            ("category: delivery", "category: delivery\n    category: billing"),
            24,
            "queries.0.category",
            "duplicate key",
            id="duplicate-yaml-key",
        ),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path, edit, line, field, problem):
    path = write_suite(tmp_path, edit)
    lines = problems_of(path)
    prefix = f"{path}:{line}: {field}: "
    assert any(x.startswith(prefix) and problem in x for x in lines), "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("suite: [unclosed\n", ":2: invalid YAML:", id="yaml-syntax"),
        pytest.param("", ": the file is empty", id="empty"),
        pytest.param("# nothing\n", ": the file is empty", id="only-comments"),
        pytest.param(
            "- a\n- b\n", ":1: (top level): Input should be a valid dictionary", id="list"
        ),
        pytest.param("suite: x\n", ":1: brands: required key is missing", id="missing-sections"),
        pytest.param("suite: !!python/name:os.system x\n", ": invalid YAML:", id="unsafe-tag"),
    ],
)
def test_unreadable_suites(tmp_path, text, problem):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert any(line.startswith(str(path)) and problem in line for line in problems_of(path))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        scenarios.load_suite(tmp_path / "nope.yaml")


def test_every_problem_is_reported_in_file_order(tmp_path):
    path = write_suite(
        tmp_path,
        ("personas: [small, big]", "personas: [small, huge]"),
        ("window: 24h", "window: 24h\nrepetitons: 2"),
        ("deadline: 4h", "deadline: 30h"),
    )
    # a problem with the model stops loading before the checks across values
    assert [line.split(": ")[1] for line in problems_of(path)] == ["repetitons"]
    path = write_suite(
        tmp_path,
        ("personas: [small, big]", "personas: [small, huge]"),
        ("deadline: 4h", "deadline: 30h"),
        ("{{ order }}", "{{ ordr }}"),
    )
    fields = [line.split(": ")[1] for line in problems_of(path)]
    assert fields == ["queries.0.personas.1", "queries.0.text.0", "queries.0.expect.deadline"]


# --------------------------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------------------------


def test_probe_ids_are_stable_and_distinct(tmp_path):
    first = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    again = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    assert [p.probe_id for p in first] == [p.probe_id for p in again]
    assert len({p.probe_id for p in first}) == len(first)
    probe = first[0]
    assert probe.probe_id == probe_id(
        suite="full_suite-1",
        scenario="late-delivery",
        variant=0,
        variables={"order": "#1234", "size": "L"},
        brand="acme",
        channel="x",
        surface="public",
        persona="big",
        repetition=0,
    )


def test_repetitions_differ_only_by_marker():
    probes = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    one, two = probes[0], probes[1]
    assert (one.repetition, two.repetition) == (0, 1)
    assert one.probe_id != two.probe_id
    assert one.text.removesuffix(marker(one.probe_id)) == two.text.removesuffix(
        marker(two.probe_id)
    )


def test_marker_ends_every_text():
    for path in [SUITES / "full.yaml", *EXAMPLES.glob("*.yaml")]:
        for probe in scenarios.expand(scenarios.load_suite(path)):
            assert probe.text.endswith(" " + marker(probe.probe_id))
            assert find_marker(probe.text) == probe.probe_id


def test_expansion_order():
    probes = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    late = [
        (p.variant, p.variables["order"], p.brand, p.channel, p.surface, p.persona, p.repetition)
        for p in probes
        if p.scenario == "late-delivery"
    ]
    assert late == list(
        itertools.product(
            [0, 1],
            ["#1234", "#5678"],
            ["acme", "northrail"],
            ["x"],
            ["public", "private"],
            ["big", "small"],  # the order the query lists them in
            [0, 1],
        )
    )
    assert [p.scenario for p in probes] == ["late-delivery"] * len(late) + ["outage"] * 4


def test_probe_fields():
    probes = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    probe = next(p for p in probes if p.persona == "small" and p.surface == "private")
    assert probe.suite == "full_suite-1"
    assert (probe.scenario, probe.category) == ("late-delivery", "delivery")
    assert (probe.brand, probe.brand_handle) == ("acme", "AcmeAir")
    assert (probe.persona, probe.persona_handle) == ("small", "jo_small")
    assert (probe.followers, probe.credential) == (250, "SB_X_TOKEN_SMALL")
    assert probe.variables == {"order": "#1234", "size": "L"}
    assert probe.expect == Expectation(
        reply="required",
        deadline_s=4 * 3600,
        link="allowed",
        dm="allowed",
        resolution=Resolution(
            keywords=("refund",),
            patterns=("track(ing)? number",),
            link_domain="acme.example",
            example="We've issued a refund.",
        ),
    )
    outage = [p for p in probes if p.scenario == "outage"]
    assert [(p.channel, p.surface, p.credential) for p in outage[::2]] == [
        ("facebook", "public", None),  # no surfaces given: each channel's own
        ("messenger", "private", "SB_MESSENGER_TOKEN_SMALL"),
    ]
    assert outage[0].expect.deadline_s is None and outage[0].expect.dm == "required"


def test_every_template_variable():
    probes = scenarios.expand(scenarios.load_suite(SUITES / "full.yaml"))
    probe = next(p for p in probes if p.variant == 1 and p.surface == "private")
    assert probe.text == (
        "sam_big (25000) on x/private: late-delivery, delivery, order #1234 at Acme Air (acme) "
        + marker(probe.probe_id)
    )


@pytest.mark.parametrize(
    ("text", "surface", "expected"),
    [
        pytest.param("where is my order?", "public", "@AcmeAir where is my order?", id="prefixed"),
        pytest.param(
            "hey @acmeair where is it?", "public", "hey @acmeair where is it?", id="mentioned"
        ),
        pytest.param(
            "@AcmeAirHelp where is it?",
            "public",
            "@AcmeAir @AcmeAirHelp where is it?",
            id="alias-is-not-the-handle",
        ),
        pytest.param("where is my order?", "private", "where is my order?", id="private"),
        pytest.param("  spaced out \n", "public", "@AcmeAir spaced out", id="stripped"),
    ],
)
def test_handle_prefix_on_public_x(tmp_path, text, surface, expected):
    path = write_suite(
        tmp_path,
        ("brands: [acme, northrail]", "brands: [acme]"),
        ("surfaces: [public]", f"surfaces: [{surface}]"),
        ('text: "my order {{ order }} hasn\'t arrived"', f"text: {json.dumps(text)}"),
    )
    probe = scenarios.expand(scenarios.load_suite(path))[0]
    assert probe.text == f"{expected} {marker(probe.probe_id)}"


def test_longest_text_that_fits_on_x(tmp_path):
    path = write_suite(
        tmp_path,
        ("brands: [acme, northrail]", "brands: [acme]"),
        ('text: "my order {{ order }} hasn\'t arrived"', f"text: {LONG[1:]}"),
    )
    probe = scenarios.expand(scenarios.load_suite(path))[0]
    assert len(probe.text) == 280


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        pytest.param("hello", "x", 5, id="ascii"),
        pytest.param("café – ok", "x", 9, id="latin-and-dash"),
        pytest.param("ok 🙂", "x", 5, id="emoji-counts-two"),
        pytest.param("日本", "x", 4, id="cjk-counts-two"),
        pytest.param("see https://help.acme.example/" + "a" * 80, "x", 4 + 23, id="link-is-23"),
        pytest.param("ok 🙂", "facebook", 4, id="other-channels-count-characters"),
    ],
)
def test_length(text, channel, expected):
    assert length(text, channel) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("hi @AcmeAir", True, id="end"),
        pytest.param("@acmeair, hi", True, id="case"),
        pytest.param("hi @AcmeAirHelp", False, id="longer-handle"),
        pytest.param("me@AcmeAir", False, id="inside-a-word"),
        pytest.param("hi AcmeAir", False, id="no-at"),
    ],
)
def test_mentions(text, expected):
    assert mentions(text, "AcmeAir") is expected


def test_matrix_expansion(tmp_path):
    path = write_suite(
        tmp_path,
        ('order: ["#1", "#2"]', 'order: ["#1", "#2"]\n      size: [S, M, L]'),
        (
            'text: "my order {{ order }} hasn\'t arrived"',
            'text: ["order {{ order }} size {{ size }}", "{{ size }}/{{ order }}?"]',
        ),
    )
    probes = scenarios.expand(scenarios.load_suite(path))
    assert len(probes) == 2 * 2 * 3 * 2 * 2  # variants x orders x sizes x brands x personas
    combos = {(p.variant, p.variables["order"], p.variables["size"]) for p in probes}
    assert len(combos) == 12
    assert probes[0].text.startswith("@AcmeAir order #1 size S ")
    assert probes[-1].text.startswith("@NorthRail L/#2? ")


def test_single_value_shorthand(tmp_path):
    path = write_suite(tmp_path, ('order: ["#1", "#2"]', "order: 42"))
    probes = scenarios.expand(scenarios.load_suite(path))
    assert len(probes) == 4
    assert probes[0].variables == {"order": 42}
    assert "my order 42 " in probes[0].text


def test_templates_are_not_html_escaped(tmp_path):
    path = write_suite(tmp_path, ('order: ["#1", "#2"]', "order: ['<b>&\"']"))
    probe = scenarios.expand(scenarios.load_suite(path))[0]
    assert "my order <b>&\" hasn't arrived" in probe.text


def test_templates_are_sandboxed(tmp_path):
    path = write_suite(
        tmp_path, ("{{ order }}", "{{ brand.__class__.__mro__[1].__subclasses__() }}")
    )
    assert any("queries.0.text.0" in line for line in problems_of(path))


def test_counts(tmp_path):
    suite = scenarios.load_suite(SUITES / "full.yaml")
    assert scenarios.counts(scenarios.expand(suite)) == [
        ("acme", "x", "private", 16),
        ("acme", "x", "public", 16),
        ("northrail", "facebook", "public", 2),
        ("northrail", "messenger", "private", 2),
        ("northrail", "x", "private", 16),
        ("northrail", "x", "public", 16),
    ]
    assert scenarios.counts([]) == []


# --------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------


@pytest.fixture
def scrubbed(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SB_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_check_credentials_lists_every_missing_variable(tmp_path, scrubbed):
    path = write_suite(tmp_path)
    suite = scenarios.load_suite(path)
    with pytest.raises(ConfigError) as info:
        scenarios.check_credentials(suite, scenarios.expand(suite), os.environ)
    assert str(info.value).splitlines() == [
        f"{path}:16: personas.0.credentials.x: environment variable SB_X_TOKEN_SMALL is not set",
        f"{path}:20: personas.1.credentials.x: environment variable SB_X_TOKEN_BIG is not set",
    ]


def test_check_credentials_never_shows_values(tmp_path, scrubbed):
    scrubbed.setenv("SB_X_TOKEN_SMALL", "s3cret-value")
    scrubbed.setenv("SB_X_TOKEN_BIG", "")
    path = write_suite(tmp_path)
    suite = scenarios.load_suite(path)
    with pytest.raises(ConfigError) as info:
        scenarios.check_credentials(suite, scenarios.expand(suite), os.environ)
    assert str(info.value) == (
        f"{path}:20: personas.1.credentials.x: environment variable SB_X_TOKEN_BIG is empty"
    )
    assert "s3cret" not in str(info.value)


def test_check_credentials_only_for_the_probes_given(tmp_path, scrubbed):
    scrubbed.setenv("SB_X_TOKEN_SMALL", "token")
    suite = scenarios.load_suite(write_suite(tmp_path))
    small = [p for p in scenarios.expand(suite) if p.persona == "small"]
    assert scenarios.check_credentials(suite, small, os.environ) is None
    assert scenarios.check_credentials(suite, [], {}) is None
    scrubbed.setenv("SB_X_TOKEN_BIG", "token")
    assert scenarios.check_credentials(suite, scenarios.expand(suite), os.environ) is None


def test_check_credentials_without_a_variable_name(tmp_path):
    path = write_suite(tmp_path, ("    credentials: {x: SB_X_TOKEN_BIG}\n", ""))
    suite = scenarios.load_suite(path)
    with pytest.raises(ConfigError) as info:
        scenarios.check_credentials(suite, scenarios.expand(suite), {"SB_X_TOKEN_SMALL": "t"})
    assert str(info.value) == (
        f"{path}:17: personas.1.credentials: persona 'big' names no environment variable for x"
    )


# --------------------------------------------------------------------------------------------
# Schema, starter, brand book, is_suite
# --------------------------------------------------------------------------------------------


def test_json_schema():
    schema = scenarios.json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) == {
        "suite",
        "description",
        "window",
        "repetitions",
        "pacing",
        "brands",
        "personas",
        "queries",
        "thresholds",
    }
    assert set(schema["required"]) == {"suite", "brands", "personas", "queries"}
    assert schema["additionalProperties"] is False
    assert all("description" in value for value in schema["properties"].values())
    query = schema["$defs"]["Query"]["properties"]
    assert query["channels"]["items"]["enum"] == list(scenarios.CHANNELS)
    assert "brand.id/name/handle" in query["text"]["description"]
    assert schema["properties"]["window"]["default"] == "7d"


def test_write_starter(tmp_path):
    path = scenarios.write_starter(tmp_path / "new")
    assert path == tmp_path / "new" / "suite.yaml"
    assert path.read_text(encoding="utf-8").startswith("# ")
    suite = scenarios.load_suite(path)
    assert len(scenarios.expand(suite)) == 10
    assert scenarios.is_suite(path)
    with pytest.raises(ConfigError, match="already exists"):
        scenarios.write_starter(tmp_path / "new")


def test_brand_book(tmp_path):
    book = scenarios.brand_book(scenarios.load_suite(SUITES / "full.yaml"))
    assert [b.name for b in book.brands] == ["acme", "northrail"]
    acme, northrail = book.brands
    assert acme.handles == ["AcmeAir", "AcmeAirOfficial", "AcmeAirHelp", "AcmeAirDeals"]
    assert acme.hours is not None and acme.hours.timezone == "Europe/London"
    assert northrail.handles == ["NorthRail", "NorthRailCo"] and northrail.hours is None
    assert book.alias_map()["acmeairhelp"] == "acme"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("s.yaml", "# hi\nsuite: demo\n", True, id="yaml"),
        pytest.param("s.YML", "suite: demo\n", True, id="yml"),
        pytest.param("s.yaml", '"suite": demo\n', True, id="quoted-key"),
        pytest.param("s.yaml", "brands:\n  - name: Acme\n", False, id="brand-book"),
        pytest.param("s.yaml", "thing:\n  suite: demo\n", False, id="nested-key"),
        pytest.param("s.csv", "suite:,text\n", False, id="csv"),
        pytest.param("s.yaml", None, False, id="missing"),
    ],
)
def test_is_suite(tmp_path, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert scenarios.is_suite(path) is expected


def test_suite_built_in_code(tmp_path):
    data = scenarios.load_suite(write_suite(tmp_path)).model_dump()
    suite = scenarios.Suite.model_validate(data)
    assert len(scenarios.expand(suite)) == 8
    data["queries"][0]["brands"] = ["acme", "nope"]
    with pytest.raises(ConfigError) as info:
        scenarios.expand(scenarios.Suite.model_validate(data))
    assert str(info.value) == (
        "<suite base>:1: queries.0.brands.1: unknown brand 'nope' (known: acme, northrail)"
    )


# --------------------------------------------------------------------------------------------
# What runs take from a suite
# --------------------------------------------------------------------------------------------


def test_run_settings():
    from socialbench.probing.pacing import Pacing

    suite = scenarios.load_suite(SUITES / "full.yaml")
    assert scenarios.window_s(suite) == 2 * 86400
    assert scenarios.pacing(suite) == Pacing(gap_s=90, spread_s=43200, window_s=2 * 86400)
    assert scenarios.concurrency(suite) == 8
    assert scenarios.credential_variables(suite) == [
        "SB_MESSENGER_TOKEN_SMALL",
        "SB_X_TOKEN_BIG",
        "SB_X_TOKEN_SMALL",
    ]


def test_sandbox_accounts():
    body = scenarios.sandbox_accounts(scenarios.load_suite(SUITES / "full.yaml"))
    json.dumps(body)
    assert [b["handle"] for b in body["brands"]] == ["AcmeAir", "NorthRail"]
    acme = body["brands"][0]
    assert (acme["id"], acme["name"], acme["aliases"]) == (
        "acme",
        "Acme Air",
        ["AcmeAirHelp", "AcmeAirDeals"],
    )
    assert acme["hours"]["closed"] == ["2024-12-24"] and body["brands"][1]["hours"] is None
    assert body["personas"] == [
        {"handle": "jo_small", "followers": 250},
        {"handle": "sam_big", "followers": 25000},
    ]

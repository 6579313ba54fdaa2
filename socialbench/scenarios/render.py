"""Query texts: Jinja templates rendered for every brand, persona, channel and combination.

Templates run in a bounded sandbox (``templates``) with ``StrictUndefined``, so a misspelt
variable is an error, and without autoescaping, since the output is a social media post rather
than HTML.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import jinja2

from socialbench.probing.probes import marker
from socialbench.scenarios import templates
from socialbench.scenarios.coherence import Problem, surfaces
from socialbench.scenarios.models import Brand, Persona, Query, Suite

MARKER_LENGTH = len(" " + marker("p" + "0" * 11))
# the longest text each platform accepts, in its own counting (X weighs characters)
LIMITS: dict[tuple[str, str], int] = {
    ("x", "public"): 280,
    ("x", "private"): 10_000,
    ("facebook", "public"): 8_000,
    ("facebook", "private"): 2_000,
    ("instagram", "public"): 2_200,
    ("instagram", "private"): 1_000,
    ("messenger", "private"): 2_000,
    ("whatsapp", "private"): 4_096,
}
_X_URL_LENGTH = 23  # every link counts as a t.co link
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
# code points X counts once; every other one counts twice (twitter-text configuration v3)
_X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))

MAX_PROBES = 100_000  # the most probes one suite may expand to


@dataclass(frozen=True)
class Entry:
    """One rendered probe before repetitions: everything but the probe id and marker."""

    query: Query
    variant: int
    variables: dict
    brand: Brand
    channel: str
    surface: str
    persona: Persona
    text: str
    # the scripted dialogue, rendered: ("me", text, 0) or ("bot", pattern, within_s)
    dialogue: tuple[tuple[str, str, float], ...] = ()


def render_all(suite: Suite) -> tuple[list[Entry], list[Problem]]:
    """Every entry of the suite in probe order, and the problems of texts that do not render.

    Only the first problem of each text variant is kept.
    """
    total = probe_count(suite)
    if total > MAX_PROBES:
        return [], [
            (
                (),
                f"the suite expands to {total:,} probes, more than the limit of "
                f"{MAX_PROBES:,}: fewer variables, values, targets or repetitions",
            )
        ]
    entries: list[Entry] = []
    found: dict[tuple, str] = {}
    for index, query in enumerate(suite.queries):
        for variant, source in enumerate(query.text):
            loc = ("queries", index, "text", variant)
            for item in _render_variant(suite, query, variant, source):
                if isinstance(item, Entry):
                    entries.append(item)
                else:
                    found.setdefault(loc, f"query {query.id!r} variant {variant}: {item}")
    return entries, list(found.items())


def probe_count(suite: Suite) -> int:
    """How many probes the suite expands to, counted without rendering a text."""
    per_repetition = sum(
        len(query.text)
        * math.prod(len(values) for values in query.variables.values())
        * sum(1 for _ in _targets(suite, query))
        for query in suite.queries
    )
    return per_repetition * suite.repetitions


def _render_variant(suite: Suite, query: Query, variant: int, source: str):
    try:
        template = templates.template(source)
    except jinja2.TemplateSyntaxError as exc:
        yield f"template syntax error: {exc.message} (template line {exc.lineno})"
        return
    try:
        steps = [templates.template(step.me) if step.me is not None else None
                 for step in query.dialogue]  # fmt: skip
    except jinja2.TemplateSyntaxError as exc:
        yield f"dialogue: template syntax error: {exc.message} (template line {exc.lineno})"
        return
    for combo in combinations(query.variables):
        for brand, channel, surface, persona in _targets(suite, query):
            context = _context(query, combo, brand, channel, surface, persona)
            try:
                text = _finish(_render(template, context), brand.handles[channel], channel, surface)
                dialogue = _dialogue(query, steps, context)
            except ValueError as exc:
                yield str(exc)
                continue
            yield Entry(query, variant, combo, brand, channel, surface, persona, text, dialogue)


def _dialogue(query: Query, steps: list, context: dict) -> tuple[tuple[str, str, float], ...]:
    """The query's dialogue for one probe: ``me`` steps rendered, ``bot`` steps as given."""
    out = []
    for number, (step, template) in enumerate(zip(query.dialogue, steps, strict=True)):
        if step.bot is not None:
            out.append(("bot", step.bot, float(step.within)))
            continue
        try:
            said = _render(template, context).strip()
        except ValueError as exc:
            raise ValueError(f"dialogue step {number + 1}: {exc}") from None
        if not said:
            raise ValueError(f"dialogue step {number + 1} renders empty")
        out.append(("me", said, 0.0))
    return tuple(out)


def combinations(variables: dict[str, list]) -> Iterator[dict]:
    """Each combination of the variables' values, the last variable changing fastest."""
    names = list(variables)
    for values in itertools.product(*(variables[name] for name in names)):
        yield dict(zip(names, values, strict=True))


def _targets(suite: Suite, query: Query) -> Iterator[tuple[Brand, str, str, Persona]]:
    """The query's brands, channels, surfaces and personas; unknown ids and missing handles
    are skipped here (``coherence`` reports them)."""
    for brand in _chosen(suite.brands, query.brands):
        for channel in query.channels:
            for surface in surfaces(query, channel):
                for persona in _chosen(suite.personas, query.personas):
                    if channel in brand.handles and channel in persona.handles:
                        yield brand, channel, surface, persona


def _chosen(items: list, ids: list[str] | None) -> list:
    """``items`` in the order of ``ids`` (every item when None), unknown ids left out."""
    if ids is None:
        return items
    by_id = {item.id: item for item in items}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def _context(query, combo, brand, channel, surface, persona) -> dict:
    return {
        **combo,
        "brand": {"id": brand.id, "name": brand.display_name, "handle": brand.handles[channel]},
        "persona": {
            "id": persona.id,
            "handle": persona.handles[channel],
            "followers": persona.followers,
        },
        "query": {"id": query.id, "category": query.category},
        "channel": channel,
        "surface": surface,
    }


def _render(template: jinja2.Template, context: dict) -> str:
    try:
        return templates.render(template, context)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"undefined template variable: {exc.message}") from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError) as exc:
        raise ValueError(f"template error: {exc}") from None


def _finish(rendered: str, handle: str, channel: str, surface: str) -> str:
    """Stripped text, addressed to the brand on public X, within the platform's limit."""
    text = rendered.strip()
    if not text:
        raise ValueError("the text renders empty")
    if channel == "x" and surface == "public" and not mentions(text, handle):
        text = f"@{handle} {text}"
    limit = LIMITS.get((channel, surface))
    if limit is not None and length(text, channel) > limit - MARKER_LENGTH:
        raise ValueError(
            f"the text for @{handle} on {channel} ({surface}) is {length(text, channel)} "
            f"characters; at most {limit - MARKER_LENGTH} fit before the probe marker"
        )
    return text


def mentions(text: str, handle: str) -> bool:
    """Whether ``text`` mentions ``@handle`` (case-insensitive, whole handle)."""
    pattern = r"(?<![\w@])@" + re.escape(handle) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def length(text: str, channel: str) -> int:
    """The text's length as ``channel`` counts it."""
    if channel != "x":
        return len(text)
    links = _URL_RE.findall(text)
    rest = _URL_RE.sub("", text)
    heavy = sum(1 for ch in rest if not any(lo <= ord(ch) <= hi for lo, hi in _X_LIGHT))
    return len(rest) + heavy + _X_URL_LENGTH * len(links)

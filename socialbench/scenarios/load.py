"""Reading a suite file: YAML, then the strict models, then the coherence across values.

YAML is read by ``yamlfile`` (safe, nesting bounded). Every problem found is reported at once,
one line each, ``file:line: field.path: problem``, in file order; line numbers come from the
composed YAML node tree. A suite that would expand past ``render.MAX_PROBES`` is refused
before any text is rendered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pydantic

from socialbench.errors import ConfigError
from socialbench.scenarios import coherence, render
from socialbench.scenarios.models import Suite
from socialbench.yamlfile import Located, duplicate_keys, field, line_at, read_yaml, report

_SUITE_KEY = re.compile(r"""^["']?suite["']?[ \t]*:""", re.MULTILINE)
_MESSAGES = {"extra_forbidden": "unknown key", "missing": "required key is missing"}


def load_suite(path: Path) -> Suite:
    """The suite in ``path``; ConfigError listing every problem, one line each."""
    path = Path(path)
    data, root = read_yaml(path)
    found = list(duplicate_keys(root, ()))
    try:
        suite = Suite.model_validate(data)
    except pydantic.ValidationError as exc:
        found += [_located(root, error) for error in exc.errors()]
        raise ConfigError(report(path, found)) from None
    suite._path, suite._root = str(path), root
    found += _rendered(suite)[1]
    if found:
        raise ConfigError(report(path, found))
    return suite


def entries(suite: Suite) -> list[render.Entry]:
    """The suite's rendered entries; ConfigError listing every problem across values."""
    rendered, found = _rendered(suite)
    if found:
        raise ConfigError(report(suite.path, found))
    return rendered


def _rendered(suite: Suite) -> tuple[list[render.Entry], list[Located]]:
    rendered, problems = render.render_all(suite)
    problems = [*coherence.problems(suite), *problems]
    return rendered, [(suite.line(loc), field(loc), problem) for loc, problem in problems]


def is_suite(path: Path) -> bool:
    """Whether ``path`` looks like a suite: a .yaml/.yml file with a top-level ``suite:`` key."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return _SUITE_KEY.search(text) is not None


def _located(root, error: dict) -> Located:
    loc = tuple(error["loc"])
    message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        message = f"unknown key {loc[-1]!r}; {message[:1].lower()}{message[1:]}"
    return line_at(root, loc), field(loc), message

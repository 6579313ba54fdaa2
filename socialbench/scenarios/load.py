"""Reading a suite file: YAML, then the strict models, then the checks across values.

``yaml.safe_load`` is used here only. Every problem found is reported at once, one line each,
``file:line: field.path: problem``, in file order; line numbers come from the composed YAML
node tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pydantic
import yaml

from socialbench.errors import ConfigError
from socialbench.scenarios import checks, render
from socialbench.scenarios.lines import field, line_at
from socialbench.scenarios.models import Suite

Located = tuple[int, str, str]  # line, field path, problem

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
    problems = [*checks.problems(suite), *problems]
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


def read_yaml(path: Path) -> tuple[object, yaml.Node]:
    """The file's data and its YAML node tree (for line numbers)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        root, data = yaml.compose(text), yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: text is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{line}: invalid YAML: {problem}") from None
    if root is None:
        raise ConfigError(f"{path}: the file is empty")
    return data, root


def duplicate_keys(node: yaml.Node, at: tuple, seen: set[int] | None = None) -> Iterator[Located]:
    """Keys given twice in one mapping (YAML would silently keep the last); each node once,
    so aliases cannot make the walk long or endless."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    yield key.start_mark.line + 1, field((*at, key.value)), "duplicate key"
                keys.add(key.value)
            yield from duplicate_keys(value, (*at, key.value), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from duplicate_keys(item, (*at, index), seen)


def _located(root: yaml.Node, error: dict) -> Located:
    loc = tuple(error["loc"])
    message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        message = f"unknown key {loc[-1]!r}; {message[:1].lower()}{message[1:]}"
    return line_at(root, loc), field(loc), message


def report(path: Path | str, found: list[Located]) -> str:
    """One ``file:line: field: problem`` line per problem, in file order, repeats dropped."""
    ordered = sorted(dict.fromkeys(found), key=lambda item: item[0])
    return "\n".join(f"{path}:{line}: {where}: {problem}" for line, where, problem in ordered)

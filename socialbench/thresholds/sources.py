"""Where thresholds are written: a suite's ``thresholds:`` section, a thresholds file
(``--thresholds FILE``) and ``--threshold`` options. Each threshold remembers where it came
from (``file:line``), so messages and reports can point at it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from socialbench.errors import ConfigError
from socialbench.thresholds.grammar import Problem, Threshold, parse_option, section


def from_suite(suite) -> list[Threshold]:
    """The suite's thresholds (the suite loader has already reported their problems)."""
    found, _ = section(suite.thresholds)
    return [
        dataclasses.replace(t, origin=f"{suite.path}:{suite.line(('thresholds', *loc))}")
        for loc, t in found
    ]


def suite_problems(thresholds: object) -> list[Problem]:
    """Problems of a suite's ``thresholds:`` section, at YAML paths from the suite's top."""
    _, problems = section(thresholds)
    return [(("thresholds", *loc), problem) for loc, problem in problems]


def from_file(path: Path) -> list[Threshold]:
    """A thresholds file: ``METRIC: [expressions]`` mappings, optionally under a top-level
    ``thresholds:`` key (so a suite's section can be copied as it is); a suite file lends
    its ``thresholds:`` section."""
    import yaml

    from socialbench.scenarios.lines import field, line_at

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        root, data = yaml.compose(text), yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: text is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    prefix: tuple = ()
    if (
        isinstance(data, dict)
        and "thresholds" in data
        and (
            set(data) == {"thresholds"} or "suite" in data  # a suite lends its section
        )
    ):
        data, prefix = data["thresholds"], ("thresholds",)
    if not data:
        raise ConfigError(f"{path}: no thresholds in this file")
    found, problems = section(data)
    if problems:
        raise ConfigError(
            "\n".join(
                f"{path}:{line_at(root, (*prefix, *loc))}: {field((*prefix, *loc))}: {problem}"
                for loc, problem in problems
            )
        )
    return [
        dataclasses.replace(t, origin=f"{path}:{line_at(root, (*prefix, *loc))}")
        for loc, t in found
    ]


def gather(*, suite=None, files=(), options=()) -> list[Threshold]:
    """Every threshold that applies: the suite's, then each file's, then the options'."""
    thresholds = from_suite(suite) if suite is not None else []
    for path in files:
        thresholds += from_file(path)
    thresholds += [parse_option(text) for text in options]
    return thresholds

"""Where thresholds are written: a suite's ``thresholds:`` section, a thresholds file
(``--thresholds FILE``) and ``--threshold`` options. Each threshold remembers where it came
from (``file:line``), so messages and reports can point at it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from socialbench.errors import ConfigError
from socialbench.verdict.thresholds.grammar import Problem, Threshold, parse_option, section
from socialbench.yamlfile import duplicate_keys, field, line_at, read_yaml, report


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
    its ``thresholds:`` section. ConfigError listing every problem, ``file:line: field``."""
    path = Path(path)
    data, root = read_yaml(path)
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
    located = list(duplicate_keys(root, ()))  # YAML would silently keep the last
    located += [(line_at(root, (*prefix, *loc)), field((*prefix, *loc)), problem)
                for loc, problem in problems]  # fmt: skip
    if located:
        raise ConfigError(report(path, located))
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

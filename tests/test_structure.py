"""The package's shape, as a newcomer maps it: one folder per stage, no import cycles, a thin
command line, and a README that names exactly what the code has.

The import graph is read from the source (``ast``), every ``import`` counted wherever it is
written (a function's lazy import too), except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import click
import pytest

from socialbench import conversations, report, sources
from socialbench.cli import main
from socialbench.probing import connectors

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "socialbench"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package by its __init__)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports, with the packages each import runs
    (importing ``a.b`` from outside ``a`` runs ``a/__init__.py`` first)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            names += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                      for alias in node.names]  # fmt: skip
    targets = set()
    for name in names:
        target = _resolve(name, known) if name.startswith("socialbench") else None
        if target is None or target == module:
            continue
        targets.add(target)
        parts = target.split(".")
        for depth in range(2, len(parts)):
            package = ".".join(parts[:depth])
            if module != package and not module.startswith(package + "."):
                targets.add(package)
    return targets


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: _imported(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# ------------------------------------------------------------------------------ imports


def test_there_are_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_lazy_imports_and_the_packages_they_run():
    graph = import_graph()
    frames = graph["socialbench.conversations.frames"]
    assert "socialbench.measure.aggregate" in frames  # imported inside a method
    assert "socialbench.measure" in frames  # its package runs first
    assert "socialbench.conversations" in frames  # its own package: imported by name
    assert "socialbench.report" in graph["socialbench.cli"]


def test_nothing_imports_the_test_data_generator():
    assert not (PACKAGE / "synth.py").exists()
    assert all("synth" not in targets for targets in import_graph().values())


# ---------------------------------------------------------------------------- the layout

STAGES = ("sources", "conversations", "measure", "scenarios", "probing", "report", "verdict")


def test_the_top_level_holds_at_most_eight_modules():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_enters_and_what_leaves(stage):
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
    first = doc.split("\n\n")[0]
    assert " in, " in first and " out" in first, first


def test_the_command_line_is_thin():
    lines = (PACKAGE / "cli.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 450, lines


# ------------------------------------------------------------------------- the README


def _tree() -> str:
    start = README.index("```\nsocialbench/")
    return README[start : README.index("```\n", start + 4)]


def test_the_readme_tree_names_every_folder_and_top_level_module():
    tree = _tree()
    for path in PACKAGE.glob("*.py"):
        if path.name not in ("__init__.py", "__main__.py"):
            assert re.search(rf"^  {re.escape(path.name)} ", tree, re.M), path.name
    for path in PACKAGE.rglob("__init__.py"):
        folder = path.parent
        if folder != PACKAGE:
            assert f" {folder.name}/ " in tree, folder.name


def test_every_module_the_readme_tree_names_exists():
    names = {p.name for p in PACKAGE.rglob("*.py")} | {p.name for p in ROOT.glob("tests/*.py")}
    named = set(re.findall(r"\b([a-z_]+\.py)\b", _tree()))
    assert named and named <= names, named - names
    folders = {p.name for p in PACKAGE.rglob("*") if p.is_dir()}
    for folder in re.findall(r"^ {2,4}([a-z_]+)/ ", _tree(), re.M):
        assert folder in folders, folder


def _commands() -> list[str]:
    """Every command line the CLI has: ``run``, ``sandbox serve``, ..."""
    found = []
    for name, command in sorted(main.commands.items()):
        if isinstance(command, click.Group):
            found += [f"{name} {sub}" for sub in sorted(command.commands)]
        else:
            found.append(name)
    return found


def _commands_table() -> str:
    start = README.index("## Commands")
    return README[start : README.index("\n\n", README.index("| command |", start))]


def test_every_command_is_in_the_readme_commands_table():
    table = _commands_table()
    for command in _commands():
        assert f"`socialbench {command}" in table, command


def test_every_command_the_readme_names_exists():
    """``socialbench WORD`` in code (after a backtick, a prompt, a table bar or at the start
    of a line) names a command, and ``socialbench GROUP WORD`` a subcommand."""
    code = r"(?:^|`|\$ |\| )socialbench ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?"
    found = re.findall(code, README, re.M)
    assert {first for first, _ in found} == set(main.commands)
    for first, second in found:
        if second and isinstance(main.commands[first], click.Group):
            assert second in main.commands[first].commands, (first, second)


def _choices(option: str, command: str = "run") -> list[str]:
    param = next(p for p in main.commands[command].params if option in p.opts)
    return list(param.type.choices)


def test_every_choice_comes_from_its_registry():
    assert _choices("--format") == sources.names()
    assert _choices("--target") == list(connectors.TARGETS)
    assert _choices("--engine") == list(conversations.ENGINES)
    assert _choices("--format", "report") == list(report.FORMATS)


@pytest.mark.parametrize("target", list(connectors.TARGETS))
def test_every_target_is_documented_and_declares_itself(target):
    module = connectors.target(target)
    assert module.CHANNELS is None or all(isinstance(c, str) for c in module.CHANNELS)
    assert isinstance(module.LIVE, bool)
    section = README[README.index("### Targets") : README.index("### Pacing")]
    assert f"`{target}`" in section, target


@pytest.mark.parametrize("fmt", list(report.FORMATS))
def test_every_report_format_is_documented(fmt):
    section = README[README.index("## Reports") : README.index("## Input formats")]
    assert f"`{fmt}`" in section, fmt


def test_every_input_format_the_readme_names_exists():
    section = README[README.index("## Input formats") : README.index("### The brand book")]
    assert re.findall(r"^### `([a-z0-9-]+)`", section, re.M) == sources.names()


def test_every_target_the_readme_names_exists():
    section = README[README.index("### Targets") : README.index("### Pacing")]
    named = re.findall(r"^\| `([a-z]+)`", section, re.M)
    assert sorted(named) == sorted(connectors.TARGETS), named


def test_registries_are_the_only_lists():
    """No module but the registries spells out the list of formats, targets or engines."""
    lists = {
        "formats": sources.names(),
        "targets": list(connectors.TARGETS),
        "engines": list(conversations.ENGINES),
        "report formats": list(report.FORMATS),
    }
    written = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                values = [v for v in values if isinstance(v, str)]
                for kind, names in lists.items():
                    if len(names) > 1 and sorted(values) == sorted(names):
                        written[kind].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert all(len(places) <= 1 for places in written.values()), dict(written)

"""YAML files in, Python data or strict pydantic models out, with every problem named
``file:line: field: problem``: suites, brand books, sandbox profiles and thresholds files
all read YAML through here.

YAML is read here only, with PyYAML's safe loader (no ``!!python/...`` tags), files of at
most ``MAX_BYTES`` and nesting limited to ``MAX_DEPTH`` levels, so that no file can exhaust
memory or the stack. Line numbers come from the composed YAML node tree, following each
problem's location down to the node it names.
``yaml`` is imported when a file is read, so that commands which read none start fast.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from socialbench.errors import ConfigError, InputError
from socialbench.sources.files import check_readable

if TYPE_CHECKING:
    import yaml

Model = TypeVar("Model")
Located = tuple[int, str, str]  # line, field path, problem
MAX_DEPTH = 100  # mappings and sequences nested deeper than this are refused
MAX_BYTES = 16 * 1024 * 1024  # a larger YAML file is refused before it is parsed


def load_model(path: Path, model: type[Model]) -> Model:
    """Parse ``path`` as YAML and validate it as ``model`` (a pydantic BaseModel class)."""
    import pydantic

    text, root = _compose(path)
    data = _safe_load(path, text)
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except pydantic.ValidationError as exc:
        raise ConfigError(_describe(path, root, exc)) from None


def _compose(path: Path):
    import yaml

    try:
        check_readable(path, max_bytes=MAX_BYTES, what="YAML file")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: text is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    try:
        return text, yaml.compose(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:{_yaml_line(exc)}: invalid YAML: {_yaml_problem(exc)}") from None


def _safe_load(path: Path, text: str):
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())  # a SafeLoader: no !!python/... tags
    except yaml.YAMLError as exc:  # a tag the safe loader refuses, such as !!python/object
        raise ConfigError(f"{path}:{_yaml_line(exc)}: invalid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty")
    return data


@functools.cache
def _loader():
    """PyYAML's safe loader, refusing mappings and sequences nested past ``MAX_DEPTH`` and
    keeping impossible dates (``2024-02-30``) as strings."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            if self.depth >= MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested deeper than {MAX_DEPTH} levels (the limit)",
                    problem_mark=self.peek_event().start_mark,
                )
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def timestamp(loader, node):
        try:
            return loader.construct_yaml_timestamp(node)
        except ValueError:  # 2024-02-30: left a string, for the model to name the field
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    return Loader


def _yaml_line(exc) -> int | str:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else "?"


def _yaml_problem(exc) -> str:
    return getattr(exc, "problem", None) or str(exc).splitlines()[0]


def _describe(path: Path, root, exc) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{path}:{line_of(root, loc)}: {field}: {error['msg']}")
    return "\n".join(lines)


def line_of(node, loc: tuple) -> int:
    """The 1-based line of the YAML node at ``loc``, or of its deepest existing ancestor."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
            if child is None:
                child = next((k for k, _ in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def line_at(root: yaml.Node | None, loc: tuple) -> int:
    """The 1-based line that names the field at ``loc``: its key's line in a mapping, its
    item's line in a sequence; the deepest existing ancestor's when ``loc`` goes further."""
    import yaml

    node, line = root, (root.start_mark.line + 1 if root is not None else 1)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            node, line = pair[1], pair[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def field(loc: tuple) -> str:
    """A YAML path as written in messages: ``queries.0.expect.deadline``."""
    return ".".join(str(part) for part in loc) or "(top level)"


def read_yaml(path: Path) -> tuple[object, yaml.Node]:
    """The file's data and its YAML node tree (for line numbers)."""
    text, root = _compose(path)
    return _safe_load(path, text), root


def duplicate_keys(node: yaml.Node, at: tuple, seen: set[int] | None = None) -> Iterator[Located]:
    """Keys given twice in one mapping (YAML would silently keep the last); each node once,
    so aliases cannot make the walk long or endless."""
    import yaml

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


def report(path: Path | str, found: list[Located]) -> str:
    """One ``file:line: field: problem`` line per problem, in file order, repeats dropped."""
    ordered = sorted(dict.fromkeys(found), key=lambda item: item[0])
    return "\n".join(f"{path}:{line}: {where}: {problem}" for line, where, problem in ordered)

"""Load YAML files into strict pydantic models, with errors naming ``file:line: field: problem``.

``yaml.safe_load`` is used here only. Line numbers come from the composed YAML node tree,
following each validation error's location down to the node it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from socialbench.errors import ConfigError

Model = TypeVar("Model")


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

    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: text is not UTF-8") from None
    try:
        return text, yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:{_yaml_line(exc)}: invalid YAML: {_yaml_problem(exc)}") from None


def _safe_load(path: Path, text: str):
    import yaml

    data = yaml.safe_load(text)
    if data is None:
        raise ConfigError(f"{path}: the file is empty")
    return data


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

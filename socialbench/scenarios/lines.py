"""Where a field is written: YAML paths to line numbers and to the dotted form in messages."""

from __future__ import annotations

import yaml


def line_at(root: yaml.Node | None, loc: tuple) -> int:
    """The 1-based line that names the field at ``loc``: its key's line in a mapping, its
    item's line in a sequence; the deepest existing ancestor's when ``loc`` goes further."""
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

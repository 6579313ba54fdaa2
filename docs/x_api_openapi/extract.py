"""Cut the X API v2 OpenAPI document down to the operations the sandbox implements.

    python docs/x_api_openapi/extract.py FULL_SPEC.json [--commit SHA] > subset.json

FULL_SPEC.json is ``latest-openapi.json`` of github.com/xdevplatform/xdk (see README.md here).
The subset keeps the document's ``openapi``, ``info`` (version and licence), ``servers`` and
the listed operations verbatim, with every component they reach through ``$ref`` (and
through discriminator mappings), so it validates on its own; ``x-socialbench-subset`` says
where it came from. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys

SOURCE = "https://github.com/xdevplatform/xdk/blob/{commit}/latest-openapi.json"
OPERATIONS = (
    ("get", "/2/users/me"),
    ("get", "/2/users/by"),
    ("get", "/2/users"),
    ("get", "/2/users/by/username/{username}"),
    ("post", "/2/tweets"),
    ("get", "/2/tweets/search/recent"),
    ("post", "/2/dm_conversations/with/{participant_id}/messages"),
    ("get", "/2/dm_events"),
)
PREFIX = "#/components/"


def references(node: object) -> set[str]:
    """The component references in ``node``: ``$ref`` values and discriminator mappings."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        mapping = node.get("discriminator", {}).get("mapping", {})
        found.update(v for v in mapping.values() if isinstance(v, str))
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def subset(spec: dict, *, commit: str) -> dict:
    paths: dict = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = spec["paths"][path][method]
    components: dict = {}
    security = {name for _, path in OPERATIONS for name in _schemes(paths, path)}
    schemes = spec["components"]["securitySchemes"]
    for name in sorted(security):
        components.setdefault("securitySchemes", {})[name] = schemes[name]
    todo, seen = sorted(references(paths)), set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        kind, name = ref.removeprefix(PREFIX).split("/", 1)
        value = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        todo.extend(sorted(references(value) - seen))
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec["servers"],
        "x-socialbench-subset": {
            "source": SOURCE.format(commit=commit),
            "version": spec["info"]["version"],
            "operations": [f"{m.upper()} {p}" for m, p in OPERATIONS],
        },
        "paths": paths,
        "components": {kind: dict(sorted(v.items())) for kind, v in sorted(components.items())},
    }


def _schemes(paths: dict, path: str) -> set[str]:
    return {
        name
        for operation in paths[path].values()
        for requirement in operation.get("security", [])
        for name in requirement
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python docs/x_api_openapi/extract.py")
    parser.add_argument("spec", help="the full OpenAPI document (JSON)")
    parser.add_argument("--commit", default="main", help="the xdk commit it was taken from")
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    json.dump(subset(spec, commit=args.commit), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""Recorded files in, the messages table (``messages``) out: one module per format, one
registry.

Each source module defines:

- ``NAME``: the format's name, as given to ``--format``;
- ``DESCRIPTION``: one line for help and ``validate``;
- ``sniff(head: str, path: Path) -> bool``: whether a file's first characters look like this
  format (used when ``--format`` is not given; the first module that says yes wins);
- ``read(path: Path, options: ReadOptions) -> pandas.DataFrame``: the file as a messages
  table (see ``socialbench.sources.messages``), already passed through ``messages.normalize``.

A new format is one new module plus one line in ``_MODULES``.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from socialbench.errors import InputError, UsageError
from socialbench.sources.files import check_readable

if TYPE_CHECKING:
    import pandas as pd

# Detection order matters: specific formats before generic ones.
_MODULES: dict[str, str] = {
    "twcs": "socialbench.sources.twcs",
    "fixture": "socialbench.sources.fixture",
    "x-v2": "socialbench.sources.x_v2",
    "graph": "socialbench.sources.graph",
    "whatsapp": "socialbench.sources.whatsapp",
    "meta-webhooks": "socialbench.sources.webhooks",
    "generic": "socialbench.sources.generic",
}

SNIFF_CHARS = 64 * 1024
MAX_JSON_DEPTH = 200  # nesting of JSON arrays and objects a reader accepts
# the generic format's --map targets: the columns it must be told, then those it may be
MAP_REQUIRED = ("id", "author", "time", "text")
MAP_OPTIONAL = ("parent", "brand", "channel", "conversation", "followers", "surface", "account")


@dataclass
class BadRow:
    path: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.problem}"


@dataclass
class ReadOptions:
    """What every source may need besides the file itself.

    ``brand_handles``: lower-cased handles known to be brand accounts (from ``--brands``);
    a source marks their messages ``author_is_brand=True``.
    ``mapping``: column mapping for the generic format (``--map``), target name -> source name.
    ``skip_bad_rows``: when True, ``bad()`` records a problem row instead of raising.
    """

    brand_handles: frozenset[str] = frozenset()
    mapping: dict[str, str] = field(default_factory=dict)
    skip_bad_rows: bool = False
    skipped: list[BadRow] = field(default_factory=list)

    def bad(self, path: str | Path, problem: str, *, line: int | None = None) -> None:
        """Report one bad row: raise InputError, or record it when skipping bad rows."""
        if not self.skip_bad_rows:
            raise InputError(path, problem, line=line)
        self.skipped.append(BadRow(str(path), line, problem))


def names() -> list[str]:
    """Every format name, in detection order."""
    return list(_MODULES)


def parse_map(text: str | None) -> dict[str, str]:
    """``--map id=tweet,author=user,...`` -> {"id": "tweet", "author": "user", ...}."""
    if not text:
        return {}
    targets = MAP_REQUIRED + MAP_OPTIONAL
    mapping = {}
    for part in text.split(","):
        target, sep, column = part.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not column:
            raise UsageError(f"--map: {part!r} is not TARGET=COLUMN")
        if target not in targets:
            raise UsageError(f"--map: unknown target {target!r}; targets: {', '.join(targets)}")
        mapping[target] = column
    missing = [t for t in MAP_REQUIRED if t not in mapping]
    if missing:
        raise UsageError(f"--map: missing required target(s) {', '.join(missing)}")
    return mapping


def module(name: str) -> ModuleType:
    """The source module for a format name."""
    try:
        return importlib.import_module(_MODULES[name])
    except KeyError:
        raise UsageError(f"unknown format {name!r}; choose one of: {', '.join(_MODULES)}") from None


def detect(path: Path, options: ReadOptions | None = None) -> str:
    """The format of a file, from its content; a column mapping means the generic format."""
    head = read_head(path)
    if not head.strip():
        raise InputError(path, "the file is empty")
    if options is not None and options.mapping:
        return "generic"
    for name in _MODULES:
        if name != "generic" and module(name).sniff(head, path):
            return name
    raise InputError(
        path,
        "unknown format: not twcs CSV, socialbench fixture JSON Lines, X API v2 JSON, "
        "Graph API JSON, WhatsApp or Messenger/Instagram webhook JSON; use --format, or --map "
        "for a generic export",
    )


def read(path: Path, *, fmt: str | None = None, options: ReadOptions) -> pd.DataFrame:
    """Read one file as a messages table, detecting its format unless ``fmt`` is given."""
    check_readable(path)
    name = fmt or detect(path, options)
    return module(name).read(path, options)


def read_head(path: Path) -> str:
    """The first characters of a file, decoded leniently (for sniffing only)."""
    check_readable(path)
    with open(path, "rb") as fh:
        raw = fh.read(SNIFF_CHARS)
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


def read_text(path: Path) -> str:
    """A whole file as text; non-UTF-8 bytes raise InputError naming the line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            path, f"text is not UTF-8 (byte 0x{data[exc.start]:02x})", line=line
        ) from None


def json_lines(path: Path, options: ReadOptions):
    """Yield (line number, decoded JSON value) for each non-blank line of a JSON Lines file.

    Broken JSON is a bad row: it raises, or is skipped and recorded with --skip-bad-rows.
    JSON beyond the limits (``parse_json``) always raises.
    """
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_json(line)
        except JSONLimitError as exc:
            raise InputError(path, str(exc), line=number) from None
        except json.JSONDecodeError as exc:
            options.bad(path, f"broken JSON: {exc.msg} at column {exc.colno}", line=number)


def json_document(path: Path):
    """A whole-file JSON document; broken JSON raises InputError naming line and column."""
    text = read_text(path)
    try:
        return parse_json(text)
    except JSONLimitError as exc:
        raise InputError(path, str(exc), line=exc.line(text)) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"broken JSON: {exc.msg} at column {exc.colno}", line=exc.lineno
        ) from None


def sniff_json(text: str, path: Path, *, not_json=None):
    """``text`` decoded as JSON for sniffing, or ``not_json`` when it is not JSON; JSON beyond
    the limits raises InputError (whatever its format, no reader would accept it)."""
    try:
        return parse_json(text)
    except JSONLimitError as exc:
        raise InputError(path, str(exc), line=exc.line(text)) from None
    except json.JSONDecodeError:
        return not_json


class JSONLimitError(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH, or holding a number too long to convert."""

    def __init__(self, problem: str, *, at: int | None = None) -> None:
        super().__init__(problem)
        self.at = at

    def line(self, text: str) -> int | None:
        """The line (1-based) of ``text`` where the problem is, when known."""
        return None if self.at is None else text.count("\n", 0, self.at) + 1


# a JSON string (escapes included), and a run of anything but brackets
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def parse_json(text: str):
    """``json.loads``, refusing (JSONLimitError) JSON nested deeper than MAX_JSON_DEPTH and
    integers of more digits than Python converts (``sys.get_int_max_str_digits()``), which
    would otherwise raise RecursionError or a bare ValueError."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        raise JSONLimitError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer beyond the conversion limit
        digits = sys.get_int_max_str_digits()
        long = re.search(rf"[0-9]{{{digits + 1},}}", text)
        raise JSONLimitError(
            f"a number has more than {digits} digits", at=long.start() if long else None
        ) from None


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings are
    not counted), computed in bulk: strings and other characters dropped by regular
    expressions, the running depth summed by numpy."""
    import numpy as np

    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())

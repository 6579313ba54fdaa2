"""Helpers the JSON payload sources (x_v2, graph, whatsapp, webhooks, generic) share.

Reading a file as one JSON document or as JSON Lines, reporting a bad record with its line and
record path, typed field getters that raise ``RecordError``, threading private chats and
public reply trees, and building the messages table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialbench.sources import ReadOptions, json_document, json_lines, messages, sniff_json

if TYPE_CHECKING:
    import pandas as pd

EARLIEST = datetime(1678, 1, 1, tzinfo=UTC)  # the range of datetime64[ns]
LATEST = datetime(2262, 1, 1, tzinfo=UTC)


class RecordError(Exception):
    """One field of one record is missing or malformed."""

    def __init__(self, field: str, problem: str, *, missing: bool = False) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.missing = missing


def json_values(path: Path, options: ReadOptions) -> Iterator[tuple[int | None, Any]]:
    """Yield (line, value) for a file holding JSON Lines, or (None, value) for one JSON document.

    The file is JSON Lines when its first non-blank line is a complete JSON value on its own;
    otherwise it is one (pretty-printed) document.
    """
    if _first_line_is_json(path):
        yield from json_lines(path, options)
    else:
        yield None, json_document(path)


_NOT_JSON = object()


def _first_line_is_json(path: Path) -> bool:
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
                return sniff_json(text, path, not_json=_NOT_JSON) is not _NOT_JSON
    return False


def report(
    options: ReadOptions, path: Path, problem: str, *, line: int | None, record: str = ""
) -> None:
    """A bad record: raise InputError naming file, line and record, or record it and go on."""
    options.bad(path, f"record {record}: {problem}" if record else problem, line=line)


def join(record: str, field: str) -> str:
    """A record path extended by a field: ``data[3]`` + ``created_time``."""
    if not (record and field):
        return record or field
    return f"{record}.{field}"


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def describe(value: object) -> str:
    """What a JSON value is, for 'expected ..., found ...' messages."""
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:8]) or "none"
        return f"an object with keys {keys}"
    return type_name(value)


def required_str(record: Mapping[str, Any], field: str) -> str:
    """A string (or integer) field that must be present and non-empty."""
    value = record.get(field)
    if value is None or value == "":
        raise RecordError(field, "missing", missing=True)
    return _as_str(value, field)


def optional_str(record: Mapping[str, Any], field: str) -> str | None:
    """A string (or integer) field that may be absent, null or empty (-> None)."""
    value = record.get(field)
    if value is None or value == "":
        return None
    return _as_str(value, field)


def _as_str(value: object, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(field, f"expected a string, found {type_name(value)}")


def text_field(record: Mapping[str, Any], field: str) -> str:
    """Message text: "" when absent or null; a non-string is an error."""
    value = record.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"expected a string, found {type_name(value)}")
    return value


def iso_instant(record: Mapping[str, Any], field: str) -> datetime:
    """A required ISO 8601 timestamp field as an aware UTC datetime (no zone = UTC)."""
    raw = required_str(record, field)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordError(field, f"not an ISO 8601 timestamp: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return in_range(moment.astimezone(UTC), raw, field)


def epoch(record: Mapping[str, Any], field: str, *, millis: bool = False) -> datetime:
    """A required epoch timestamp (a number, or a string of digits): seconds, or milliseconds."""
    raw = required_str(record, field)
    unit = "milliseconds" if millis else "seconds"
    try:
        value = int(raw)
        seconds, rest = divmod(value, 1000) if millis else (value, 0)
        moment = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(milliseconds=rest)
    except (ValueError, OverflowError, OSError):
        raise RecordError(field, f"not an epoch-{unit} timestamp: {raw!r}") from None
    return in_range(moment, raw, field)


def in_range(moment: datetime, raw: str, field: str) -> datetime:
    """The moment itself, if a pandas timestamp can hold it."""
    if not EARLIEST <= moment < LATEST:
        raise RecordError(field, f"timestamp out of range: {raw!r}")
    return moment


def dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a first-seen id only."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row[messages.ID] not in seen:
            seen.add(row[messages.ID])
            out.append(row)
    return out


def thread_chats(rows: list[dict[str, Any]]) -> None:
    """Private chats: parent = the quoted message (``_quoted``) when present, else the chat's
    earliest message, which opens the chat (rows of a chat share ``conversation_id``).

    A quote of a message missing from the data (say, a template sent before the log began)
    falls back to the chat's opening message, so the reply is not orphaned.
    """
    known = {row[messages.ID] for row in rows}
    chats: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        chats[row[messages.CONVERSATION_ID]].append(row)
    for chat in chats.values():
        first = min(chat, key=lambda row: row[messages.CREATED_AT])
        for row in chat:
            fallback = None if row is first else first[messages.ID]
            quoted = row["_quoted"]
            if quoted not in known or quoted == row[messages.ID]:
                quoted = None
            row[messages.PARENT_ID] = quoted or fallback


def thread_replies(rows: list[dict[str, Any]]) -> None:
    """Public reply trees: a message's conversation is its thread's top message, or the missing
    message the top replies to (``parent_id`` already set)."""
    by_id = {row[messages.ID]: row for row in rows}
    for row in rows:
        top, seen = row, {row[messages.ID]}
        while top[messages.PARENT_ID] in by_id and top[messages.PARENT_ID] not in seen:
            top = by_id[top[messages.PARENT_ID]]
            seen.add(top[messages.ID])
        row[messages.CONVERSATION_ID] = top[messages.PARENT_ID] or top[messages.ID]


def to_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Row dicts (extra keys starting with "_" are dropped) as a normalized messages table."""
    import pandas as pd

    if not rows:
        return messages.empty()
    frame = pd.DataFrame(rows)
    return messages.normalize(frame[[c for c in frame.columns if not c.startswith("_")]])

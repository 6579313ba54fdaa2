"""socialbench's own fixture format: JSON Lines, one message per line.

An optional first line ``{"format": "socialbench-fixture", "version": 1}`` names the format.
Every other line is one message:

| key               | required | meaning                                                   |
|-------------------|----------|-----------------------------------------------------------|
| id                | yes      | message id (string or integer), unique                    |
| author            | yes      | handle or user id of the writer                           |
| created_at        | yes      | ISO 8601 time; a time without a zone is UTC               |
| parent_id         | no       | id of the message replied to; absent or null opens a thread|
| conversation_id   | no       | platform thread id                                        |
| is_brand          | no       | true for brand accounts, false for customers              |
| text              | no       | message text                                              |
| channel           | no       | x, facebook, instagram, messenger, whatsapp, webchat, …   |
| surface           | no       | public (default) or private                               |
| followers         | no       | the author's follower count                               |
| automated         | no       | true for auto-replies, away messages and bots             |
| scenario, category| no       | probe runs: the scenario id and category of a probe       |
| account           | no       | the business account the platform names for the           |
|                   |          | conversation (Page, business number, brand side of a DM)  |

Probe runs record into this format; it is also the simplest way to hand-write test data.
"""

from __future__ import annotations

import math
from pathlib import Path

from socialbench.sources import InputError, ReadOptions, json_lines, sniff_json
from socialbench.sources import messages as m
from socialbench.sources.payloads import EARLIEST, LATEST

NAME = "fixture"
DESCRIPTION = "socialbench fixture (JSON Lines of messages)"
HEADER = {"format": "socialbench-fixture", "version": 1}

_STR_FIELDS = (
    "parent_id",
    "conversation_id",
    "text",
    "channel",
    "scenario",
    "category",
    "account",
)
_BOOL_FIELDS = ("is_brand", "automated")
_SURFACES = frozenset(m.SURFACES)


def sniff(head: str, path: Path) -> bool:
    first = next((line for line in head.split("\n") if line.strip()), "")
    record = sniff_json(first, path)
    if not isinstance(record, dict):
        return False
    if record.get("format") == HEADER["format"]:
        return True
    return {"id", "author", "created_at"} <= record.keys() and "data" not in record


def read(path: Path, options: ReadOptions):
    import pandas as pd

    rows = []
    for number, record in json_lines(path, options):
        if isinstance(record, dict) and record.get("format") == HEADER["format"]:
            _check_header(record, path=path, line=number)
            continue
        row = _check(record, path=path, line=number, options=options)
        if row is not None:
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    frame[m.CREATED_AT] = pd.to_datetime(frame[m.CREATED_AT], utc=True)  # datetimes already
    brand = frame[m.AUTHOR_IS_BRAND].astype("boolean")
    if options.brand_handles:
        listed = frame[m.AUTHOR].str.lower().isin(options.brand_handles)
        brand = brand.mask(listed, True)
    return m.normalize(frame.assign(**{m.AUTHOR_IS_BRAND: brand}))


_COLUMNS = {
    m.ID: "id",
    m.PARENT_ID: "parent_id",
    m.CONVERSATION_ID: "conversation_id",
    m.AUTHOR: "author",
    m.AUTHOR_IS_BRAND: "is_brand",
    m.CREATED_AT: "created_at",
    m.TEXT: "text",
    m.CHANNEL: "channel",
    m.SURFACE: "surface",
    m.FOLLOWERS: "followers",
    m.AUTOMATED: "automated",
    m.SCENARIO: "scenario",
    m.CATEGORY: "category",
    m.ACCOUNT: "account",
}


def _check_header(record: dict, *, path: Path, line: int) -> None:
    """Refuse a header naming a version of the format this socialbench does not read."""
    version = record.get("version")
    if isinstance(version, bool) or version != HEADER["version"]:
        raise InputError(
            path,
            f"version: fixture version {str(version)[:20]} is not supported "
            f"(this socialbench reads version {HEADER['version']})",
            line=line,
        )


def _check(record, *, path: Path, line: int, options: ReadOptions) -> list | None:
    """One validated row in _COLUMNS order, or None when the row is skipped as bad."""
    created = _parse_time(record.get("created_at")) if isinstance(record, dict) else None
    problem = _problem(record, created)
    if problem:
        options.bad(path, problem, line=line)
        return None
    return [
        _as_id(record["id"]),
        _as_id(record.get("parent_id")),
        _as_id(record.get("conversation_id")),
        str(record["author"]),
        record.get("is_brand"),
        created,
        record.get("text") or "",
        record.get("channel") or "unknown",
        record.get("surface") or m.PUBLIC,
        record.get("followers"),
        bool(record.get("automated") or False),
        record.get("scenario"),
        record.get("category"),
        _as_id(record.get("account")),
    ]


def _problem(record, created) -> str | None:
    if not isinstance(record, dict):
        return f"expected a JSON object, found {type(record).__name__}"
    for key in ("id", "author", "created_at"):
        if record.get(key) in (None, ""):
            return f"{key}: missing"
    if not isinstance(record["id"], (str, int)):
        return "id: must be a string or an integer"
    if created is None:
        return f"created_at: unparseable timestamp {str(record['created_at'])[:40]!r}"
    if not EARLIEST <= created < LATEST:
        return (
            f"created_at: {str(record['created_at'])[:40]!r} is out of range "
            f"(years {EARLIEST.year} to {LATEST.year - 1})"
        )
    for key in _BOOL_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], bool):
            return f"{key}: must be true or false"
    for key in _STR_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], (str, int)):
            return f"{key}: must be a string"
    followers = record.get("followers")
    if followers is not None and (
        isinstance(followers, bool) or not isinstance(followers, (int, float))
    ):
        return "followers: must be a number"
    if followers is not None and not 0 <= followers < math.inf:
        return f"followers: must be a finite count of 0 or more, not {str(followers)[:20]}"
    if record.get("surface") not in (None, *_SURFACES):
        return f"surface: must be public or private, not {record['surface']!r}"
    return None


def _as_id(value) -> str | None:
    return None if value is None or value == "" else str(value)


def _parse_time(value):
    from datetime import UTC, datetime

    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

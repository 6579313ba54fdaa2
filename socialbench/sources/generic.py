"""Generic exports: a CSV or JSON Lines file from another tool, read through a column mapping.

``options.mapping`` (from ``--map``) maps a target name to a column of the file:

| target        | required | meaning                                                           |
|---------------|----------|-------------------------------------------------------------------|
| id            | yes      | message id (unique)                                               |
| author        | yes      | handle or user id of the writer                                   |
| time          | yes      | ISO 8601 (a value without a zone is UTC) or epoch seconds          |
| text          | yes      | message text (may be empty)                                       |
| parent        | no       | id of the message replied to; empty opens a thread                |
| brand         | no       | brand flag: true/false, 1/0, yes/no, outbound/inbound (any case)  |
| channel       | no       | default "unknown"                                                 |
| conversation  | no       | thread id                                                         |
| followers     | no       | the author's follower count                                       |
| surface       | no       | "public" or "private"; default "public"                           |
| account       | no       | the business account the platform names for the conversation      |
|               |          | (Page, business number, brand side of a DM); empty when none      |

CSV needs a header line and is read with pandas' C parser; every check is vectorised. JSON Lines
holds one object per line; its values may be strings, numbers, booleans or null.

Brand flags: an author named in ``--brands`` is a brand; otherwise the ``brand`` column decides;
without a ``brand`` column, authors not in ``--brands`` are customers when ``--brands`` was given
and unknown (<NA>) when it was not.

A row with an empty id, author or time, a bad time, brand flag, surface or follower count, or an
id already seen is a bad row: it raises InputError naming the line (the physical line of the file,
counting line breaks inside quoted CSV fields), or is skipped with ``--skip-bad-rows``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialbench.errors import InputError, UsageError
from socialbench.sources import (
    MAP_OPTIONAL,
    MAP_REQUIRED,
    ReadOptions,
    json_lines,
    messages,
    read_text,
    sniff_json,
)
from socialbench.sources.payloads import EARLIEST, LATEST, describe

if TYPE_CHECKING:
    import pandas as pd

NAME = "generic"
DESCRIPTION = "CSV or JSON Lines export from another tool, read through a --map column mapping"

REQUIRED, OPTIONAL = MAP_REQUIRED, MAP_OPTIONAL
TRUE_WORDS = frozenset({"true", "1", "yes", "outbound"})
FALSE_WORDS = frozenset({"false", "0", "no", "inbound"})
_EPOCH_PATTERN = r"[+-]?\d+(?:\.\d+)?"
_MAX_EPOCH_SECONDS = 1e11  # larger values are milliseconds or worse


# --- the generic format -----------------------------------------------------------------------


def sniff(head: str, path: Path) -> bool:
    """A CSV header line or a JSON Lines object (only consulted when --map is given)."""
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.startswith("{"):
        if len(lines) == 1 and not head.endswith("\n"):
            return True  # a first line longer than the head
        return isinstance(sniff_json(first, path), dict)
    return "," in first and not first.startswith("[")


def read(path: Path, options: ReadOptions) -> pd.DataFrame:
    mapping = _check_mapping(options.mapping)
    if _first_line_is_object(path):
        frame, lines = _read_json_lines(path, options, mapping)
    else:
        frame, lines = _read_csv(path, mapping)
    return _to_messages(frame, lines, path, options, mapping)


def _check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise UsageError(
            f"unknown --map target(s): {', '.join(unknown)}; "
            f"choose from {', '.join(REQUIRED + OPTIONAL)}"
        )
    missing = [target for target in REQUIRED if target not in mapping]
    if missing:
        raise UsageError(
            f"the generic format needs --map for {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED)})"
        )
    return mapping


def _first_line_is_object(path: Path) -> bool:
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                return raw.lstrip(b"\xef\xbb\xbf \t").startswith(b"{")
    return False


def _missing_columns(path: Path, mapping: dict[str, str], present: set[str]) -> None:
    missing = sorted({source for source in mapping.values() if source not in present})
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise InputError(path, f"mapped column(s) not in the file: {names}")


def _read_csv(path: Path, mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    """All columns as strings, and each row's physical line number."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            # a row longer than the header would silently become an index: make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8-sig",
                engine="c",
            )
    except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
        raise _malformed(path, exc) from None
    except UnicodeDecodeError:
        read_text(path)  # raises InputError naming the line
        raise
    except pd.errors.EmptyDataError:
        raise InputError(path, "no CSV header line") from None
    _missing_columns(path, mapping, set(frame.columns))
    frame = frame.fillna("")
    lines = _csv_line_numbers(frame, _embedded_newlines(path, len(frame)))
    blank = _blank_rows(frame)
    return frame[~blank], lines[~blank]


def _malformed(path: Path, exc: Exception) -> InputError:
    """Name the first row longer than the header (scanning the file: the error path only)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        width = len(next(reader, []))
        start = reader.line_num + 1
        for row in reader:
            if len(row) > width:
                problem = f"malformed CSV: {len(row)} fields where the header line has {width}"
                return InputError(path, problem, line=start)
            start = reader.line_num + 1
    problem = str(exc).replace("Error tokenizing data. C error: ", "").strip()
    return InputError(path, f"malformed CSV: {problem}")


def _embedded_newlines(path: Path, rows: int) -> int:
    """How many line breaks sit inside quoted fields (file line breaks minus row ends)."""
    newlines, last = 0, b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return newlines - rows - (1 if last == b"\n" else 0)


def _csv_line_numbers(frame: pd.DataFrame, embedded: int) -> pd.Series:
    """Line of each row: 2 for the first, plus the line breaks inside earlier quoted fields."""
    import pandas as pd

    if embedded <= 0:
        return pd.Series(range(2, len(frame) + 2), index=frame.index, dtype="int64")
    breaks = pd.Series(0, index=frame.index)
    for column in frame.columns:
        breaks += frame[column].str.count("\n")
    spans = breaks + 1
    return (spans.cumsum() - spans + 2).astype("int64")


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows read from blank lines: every field empty."""
    import pandas as pd

    if frame.empty:
        return pd.Series(False, index=frame.index)
    candidates = frame.iloc[:, 0] == ""
    if candidates.any():
        candidates[candidates] = (frame[candidates] == "").all(axis=1)
    return candidates


def _read_json_lines(
    path: Path, options: ReadOptions, mapping: dict[str, str]
) -> tuple[pd.DataFrame, pd.Series]:
    import pandas as pd

    sources = sorted(set(mapping.values()))
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    seen: set[str] = set()
    for number, value in json_lines(path, options):
        if not isinstance(value, dict):
            options.bad(path, f"expected a JSON object, found {describe(value)}", line=number)
            continue
        seen.update(value)
        row = _json_row(value, sources)
        if isinstance(row, str):
            options.bad(path, row, line=number)
            continue
        rows.append(row)
        lines.append(number)
    _missing_columns(path, mapping, seen)
    frame = pd.DataFrame(rows, columns=sources, dtype=object).fillna("").astype(str)
    return frame, pd.Series(lines, index=frame.index, dtype="int64")


def _json_row(value: dict[str, Any], sources: list[str]) -> dict[str, str] | str:
    """The mapped cells of one JSON Lines object as strings, or the problem with it."""
    row = {}
    for source in sources:
        cell = value.get(source)
        if isinstance(cell, dict | list):
            return (
                f"column {source!r}: expected a string, number or boolean, found {describe(cell)}"
            )
        if cell is None:
            row[source] = ""
        elif isinstance(cell, bool):
            row[source] = "true" if cell else "false"
        else:
            row[source] = str(cell)
    return row


def parse_times(values: pd.Series) -> pd.Series:
    """ISO 8601 strings (naive = UTC) or epoch seconds -> UTC timestamps; NaT when invalid."""
    import pandas as pd

    text = values.str.strip()
    numeric = text.str.fullmatch(_EPOCH_PATTERN)
    iso = pd.to_datetime(text.where(~numeric), format="ISO8601", utc=True, errors="coerce")
    seconds = pd.to_numeric(text.where(numeric), errors="coerce")
    seconds = seconds.where(seconds.abs() < _MAX_EPOCH_SECONDS)
    epoch = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
    moments = iso.where(~numeric, epoch).astype("datetime64[us, UTC]")
    in_range = moments.between(pd.Timestamp(EARLIEST), pd.Timestamp(LATEST), inclusive="left")
    return moments.where(in_range)


def _to_messages(
    frame: pd.DataFrame,
    lines: pd.Series,
    path: Path,
    options: ReadOptions,
    mapping: dict[str, str],
) -> pd.DataFrame:
    cols = {target: frame[source].str.strip() for target, source in mapping.items()}
    cols["text"] = frame[mapping["text"]]
    parsed = _parse(cols)
    problems = _problems(cols, parsed, mapping, lines)
    bad = problems != ""
    for index in lines[bad].sort_values().index:
        options.bad(path, problems[index], line=int(lines[index]))
    return messages.normalize(_table(cols, parsed, options)[~bad])


def _parse(cols: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Typed values of the columns that need parsing (NaT/NaN/<NA> where invalid)."""
    import pandas as pd

    index = cols["id"].index
    parsed = {"time": parse_times(cols["time"])}
    word = cols.get("brand", pd.Series("", index=index)).str.lower()
    parsed["brand"] = (
        word.isin(TRUE_WORDS).astype("boolean").mask(~word.isin(TRUE_WORDS | FALSE_WORDS), pd.NA)
    )
    surface = cols.get("surface", pd.Series("", index=index)).str.lower()
    parsed["surface"] = surface.replace("", messages.PUBLIC)
    followers = cols.get("followers", pd.Series("", index=index))
    parsed["followers"] = pd.to_numeric(followers, errors="coerce")
    return parsed


def _problems(
    cols: dict[str, pd.Series],
    parsed: dict[str, pd.Series],
    mapping: dict[str, str],
    lines: pd.Series,
) -> pd.Series:
    """Each row's first problem, "" for a good row (text is built for bad rows only)."""
    import pandas as pd

    problems = pd.Series("", index=cols["id"].index, dtype=object)
    for mask, problem, values in _checks(cols, parsed, mapping):
        new = mask & (problems == "")
        if new.any():
            problems[new] = problem if values is None else problem + values[new].map(repr)
    ids = cols["id"]
    duplicate = ids.duplicated() & (ids != "") & (problems == "")
    if duplicate.any():
        first = lines.groupby(ids).transform("first")[duplicate].astype(str)
        problems[duplicate] = "duplicate id " + ids[duplicate].map(repr) + " (first on line "
        problems[duplicate] += first + ")"
    return problems


def _checks(
    cols: dict[str, pd.Series], parsed: dict[str, pd.Series], mapping: dict[str, str]
) -> Iterator[tuple[pd.Series, str, pd.Series | None]]:
    """(bad rows, problem, the offending values to quote after it) for each check, in order."""
    for target in ("id", "author", "time"):
        yield cols[target] == "", f"missing {target} (column {mapping[target]!r})", None
    yield (
        parsed["time"].isna(),
        f"not a timestamp (ISO 8601 or epoch seconds) in column {mapping['time']!r}: ",
        cols["time"],
    )
    if "brand" in cols:
        yield (
            parsed["brand"].isna(),
            f"brand flag in column {mapping['brand']!r} is not true/false, 1/0, yes/no or "
            "outbound/inbound: ",
            cols["brand"],
        )
    if "surface" in cols:
        yield (
            ~parsed["surface"].isin(messages.SURFACES),
            f"surface in column {mapping['surface']!r} is not public or private: ",
            cols["surface"],
        )
    if "followers" in cols:
        yield (
            parsed["followers"].isna() & (cols["followers"] != ""),
            f"follower count in column {mapping['followers']!r} is not a number: ",
            cols["followers"],
        )


def _table(
    cols: dict[str, pd.Series], parsed: dict[str, pd.Series], options: ReadOptions
) -> pd.DataFrame:
    import pandas as pd

    index = cols["id"].index
    absent = pd.Series(pd.NA, index=index, dtype="string")
    return pd.DataFrame(
        {
            messages.ID: cols["id"],
            messages.PARENT_ID: cols.get("parent", absent),
            messages.CONVERSATION_ID: cols.get("conversation", absent),
            messages.AUTHOR: cols["author"],
            messages.AUTHOR_IS_BRAND: _brand_flags(cols, parsed, options),
            messages.CREATED_AT: parsed["time"],
            messages.TEXT: cols["text"],
            messages.CHANNEL: cols.get("channel", absent).replace("", pd.NA).fillna("unknown"),
            messages.SURFACE: parsed["surface"],
            messages.FOLLOWERS: parsed["followers"],
            messages.ACCOUNT: cols.get("account", absent),
        }
    )


def _brand_flags(
    cols: dict[str, pd.Series], parsed: dict[str, pd.Series], options: ReadOptions
) -> pd.Series:
    """Named in --brands -> True; else the brand column; else customer if --brands was given."""
    named = cols["author"].str.lower().isin(options.brand_handles).astype("boolean")
    if "brand" in cols:
        return parsed["brand"] | named
    if options.brand_handles:
        return named
    return parsed["brand"]

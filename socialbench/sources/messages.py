"""The messages table: the one shape every source produces.

One row per message (customer or brand), whatever the platform. Column names are constants
so that sources, threading and tests agree on them.

- ``id`` (str): platform message id, unique in the table;
- ``parent_id`` (str or <NA>): the message this one replies to; <NA> opens a thread;
- ``conversation_id`` (str or <NA>): platform thread id, used to attach replies whose parent
  is missing from the data to the thread's opening message;
- ``author`` (str): handle or user id of the writer;
- ``author_is_brand`` (nullable boolean): True for brand accounts, False for customers,
  <NA> when the source cannot tell;
- ``created_at`` (datetime64[ns, UTC]): the platform's timestamp;
- ``text`` (str): message text, "" when none;
- ``channel`` (str): x, facebook, instagram, messenger, whatsapp, webchat, …;
- ``surface`` (str): "public" or "private";
- ``followers`` (float64): the author's follower count, NaN when unknown;
- ``automated`` (bool): an auto-reply, away message or bot, when the source knows;
- ``scenario``, ``category`` (str or <NA>): probe runs: a probe's scenario id and category;
- ``account`` (str or <NA>): the business account the platform itself names for the
  conversation (the Page of a Messenger or Instagram thread, the business number of a
  WhatsApp chat, the brand side of an X DM, the Page owning a commented post); it is the
  brand of a probe before anything else (METRICS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

ID = "id"
PARENT_ID = "parent_id"
CONVERSATION_ID = "conversation_id"
AUTHOR = "author"
AUTHOR_IS_BRAND = "author_is_brand"
CREATED_AT = "created_at"
TEXT = "text"
CHANNEL = "channel"
SURFACE = "surface"
FOLLOWERS = "followers"
AUTOMATED = "automated"
SCENARIO = "scenario"
CATEGORY = "category"
ACCOUNT = "account"

COLUMNS = (
    ID,
    PARENT_ID,
    CONVERSATION_ID,
    AUTHOR,
    AUTHOR_IS_BRAND,
    CREATED_AT,
    TEXT,
    CHANNEL,
    SURFACE,
    FOLLOWERS,
    AUTOMATED,
    SCENARIO,
    CATEGORY,
    ACCOUNT,
)

PUBLIC = "public"
PRIVATE = "private"
SURFACES = (PUBLIC, PRIVATE)
STRING = "string"  # pandas' Arrow-backed string dtype with <NA> for missing values


def empty() -> pd.DataFrame:
    """An empty messages table with the right columns and dtypes."""
    import pandas as pd

    return normalize(pd.DataFrame({c: [] for c in COLUMNS}))


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a new frame with exactly COLUMNS, in order, coerced to their dtypes.

    Missing optional columns are filled with their "unknown" value. `created_at` must already
    be parsed or parseable without ambiguity; sources are responsible for naming bad
    timestamps (file and line) before they get here. Columns already of their dtype (Arrow
    strings, UTC nanosecond times) are kept without a copy.
    """
    import pandas as pd

    frame = frame.reset_index(drop=True)
    n = len(frame)
    created = pd.to_datetime(frame[CREATED_AT], utc=True).dt.as_unit("ns")
    nulls = _Nulls(n)
    return pd.DataFrame(
        {
            ID: _strings(frame[ID]),
            PARENT_ID: _optional_str(frame.get(PARENT_ID), nulls),
            CONVERSATION_ID: _optional_str(frame.get(CONVERSATION_ID), nulls),
            AUTHOR: _strings(frame[AUTHOR]),
            AUTHOR_IS_BRAND: _booleans(frame.get(AUTHOR_IS_BRAND), n),
            CREATED_AT: created,
            TEXT: _strings(frame[TEXT].fillna("")) if TEXT in frame else constant("", n),
            CHANNEL: _strings(frame[CHANNEL]) if CHANNEL in frame else constant("unknown", n),
            SURFACE: _strings(frame[SURFACE]) if SURFACE in frame else constant(PUBLIC, n),
            FOLLOWERS: (
                pd.to_numeric(frame[FOLLOWERS], errors="coerce").astype("float64")
                if FOLLOWERS in frame
                else pd.Series(np.full(n, np.nan), copy=False)
            ),
            AUTOMATED: (
                frame[AUTOMATED].fillna(False).astype(bool)
                if AUTOMATED in frame
                else pd.Series(np.zeros(n, dtype=bool), copy=False)
            ),
            SCENARIO: _optional_str(frame.get(SCENARIO), nulls),
            CATEGORY: _optional_str(frame.get(CATEGORY), nulls),
            ACCOUNT: _optional_str(frame.get(ACCOUNT), nulls),
        },
        copy=False,  # columns are new or the caller's (copy-on-write keeps theirs intact)
    )


def _strings(series: pd.Series) -> pd.Series:
    """A pandas string column backed by Arrow, <NA> for missing (no copy when it is one)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and dtype.na_value is pd.NA:
        return series
    return series.astype(STRING)


def constant(value: str, n: int) -> pd.Series:
    """A string column of one value (Arrow repeats it without a Python object per row)."""
    import pandas as pd

    return pd.Series(pd.arrays.ArrowStringArray(pa.repeat(pa.scalar(value, pa.large_string()), n)))


class _Nulls:
    """An all-missing string column, made once per table (Arrow arrays are immutable)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._column = None

    def column(self) -> pd.Series:
        import pandas as pd

        if self._column is None:
            nothing = pa.nulls(self.n, pa.large_string())
            self._column = pd.arrays.ArrowStringArray(nothing)
        return pd.Series(self._column)


def _optional_str(series: pd.Series | None, nulls: _Nulls) -> pd.Series:
    """Strings where empty text means missing; all missing when the column is absent."""
    import pandas as pd
    import pyarrow.compute as pc

    if series is None:
        return nulls.column()
    out = _strings(series)
    arrow = pa.array(out.array)  # the Arrow data itself (pandas' __arrow_array__)
    empty = pc.equal(arrow, "")
    if not pc.any(empty).as_py():
        return out
    kept = pc.if_else(empty, pa.scalar(None, arrow.type), arrow)
    return pd.Series(pd.arrays.ArrowStringArray(kept))


def _booleans(series: pd.Series | None, n: int) -> pd.Series:
    import pandas as pd

    if series is None:
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool)))
    return series.astype("boolean")


# the messages relation the probe table's plan reads (``conversations.plan``): the columns
# above, ``t`` in nanoseconds, ``seq`` the row's place (earlier rows win ties and duplicates)
ARROW_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("id", pa.string()),
        ("parent_id", pa.string()),
        ("conversation_id", pa.string()),
        ("author", pa.string()),
        ("author_is_brand", pa.bool_()),
        ("t", pa.int64()),
        ("text", pa.string()),
        ("channel", pa.string()),
        ("surface", pa.string()),
        ("followers", pa.float64()),
        ("automated", pa.bool_()),
        ("scenario", pa.string()),
        ("category", pa.string()),
        ("account", pa.string()),
    ]
)

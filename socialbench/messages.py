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
- ``scenario``, ``category`` (str or <NA>): probe runs: a probe's scenario id and category.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
)

PUBLIC = "public"
PRIVATE = "private"
SURFACES = (PUBLIC, PRIVATE)


def empty() -> pd.DataFrame:
    """An empty messages table with the right columns and dtypes."""
    import pandas as pd

    return normalize(pd.DataFrame({c: [] for c in COLUMNS}))


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a new frame with exactly COLUMNS, in order, coerced to their dtypes.

    Missing optional columns are filled with their "unknown" value. `created_at` must already
    be parsed or parseable without ambiguity; sources are responsible for naming bad
    timestamps (file and line) before they get here.
    """
    import pandas as pd

    frame = frame.reset_index(drop=True)

    def column(name: str, default: object) -> pd.Series:
        if name in frame:
            return frame[name]
        return pd.Series(default, index=frame.index, dtype=object)

    created = pd.to_datetime(frame[CREATED_AT], utc=True).dt.as_unit("ns")
    return pd.DataFrame(
        {
            ID: frame[ID].astype("string"),
            PARENT_ID: _optional_str(column(PARENT_ID, pd.NA)),
            CONVERSATION_ID: _optional_str(column(CONVERSATION_ID, pd.NA)),
            AUTHOR: frame[AUTHOR].astype("string"),
            AUTHOR_IS_BRAND: column(AUTHOR_IS_BRAND, pd.NA).astype("boolean"),
            CREATED_AT: created,
            TEXT: column(TEXT, "").fillna("").astype("string"),
            CHANNEL: column(CHANNEL, "unknown").astype("string"),
            SURFACE: column(SURFACE, PUBLIC).astype("string"),
            FOLLOWERS: pd.to_numeric(column(FOLLOWERS, float("nan")), errors="coerce").astype(
                "float64"
            ),
            AUTOMATED: column(AUTOMATED, False).fillna(False).astype(bool),
            SCENARIO: _optional_str(column(SCENARIO, pd.NA)),
            CATEGORY: _optional_str(column(CATEGORY, pd.NA)),
        }
    )


def _optional_str(series: pd.Series) -> pd.Series:
    import pandas as pd

    out = series.astype("string")
    return out.mask(out == "", pd.NA)

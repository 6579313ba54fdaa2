"""Reply trees -> conversations -> the probe table.

Definitions (the README's methodology section states them for users):

- A message's *root* is found by following ``parent_id`` links. A message whose parent is
  missing from the data is attached to the opening message of its ``conversation_id`` when
  that message is present; otherwise its whole branch is an orphan (no probe, no replies).
  Parent cycles are treated as orphans.
- A *probe* is a customer (non-brand) message that opens a thread. With
  ``reopen_after_s``, a customer message after at least that much silence (no message from
  anyone) in the same conversation also starts a new probe; later messages then belong to it.
- A probe's *conversation* is every message of its thread from the probe's time on, up to
  the next probe of the same thread.
- *Brand messages* are messages by brand accounts in the conversation no later than the
  probe's time plus the window; automated ones are counted apart and never the first response.
- The *brand of a probe* is the author of its first brand message (at any time), else the
  first @mention of the probe naming a known brand account, else its first @mention, else
  ``(unknown)``; alias handles are then merged through the brand book.

Everything is columnar: numpy pointer jumping for roots, one sort for conversations,
grouped pandas reductions per probe. No Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from socialbench import classify
from socialbench import messages as m
from socialbench.brands import BrandBook

DEFAULT_WINDOW_S = 7 * 86400
UNKNOWN_BRAND = "(unknown)"

PROBE_COLUMNS = (
    "probe_id",
    "brand",
    "channel",
    "surface",
    "persona",
    "followers",
    "category",
    "scenario",
    "sent_at",
    "responded",
    "first_response_at",
    "ttfr_s",
    "ttfr_business_s",
    "link",
    "dm",
    "phone",
    "email",
    "ack_only",
    "resolved",
    "brand_messages",
)
EXTRA_COLUMNS = ("conversation_id", "watched_s", "automated_messages", "weekday", "hour")

_NS = 1_000_000_000
_MAX_JUMPS = 64


@dataclass(frozen=True)
class Settings:
    """How conversations are cut into probes."""

    window_s: float = DEFAULT_WINDOW_S
    reopen_after_s: float | None = None
    brand_book: BrandBook = field(default_factory=BrandBook)


def probe_table(messages: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The probe table (PROBE_COLUMNS then EXTRA_COLUMNS) of a messages table."""
    msgs = prepare(messages, settings.brand_book)
    root = roots(msgs)
    conv = conversations(msgs, root, settings)
    probes = _probe_frame(msgs, conv)
    replies = _replies(msgs, conv, probes, settings)
    probes = probes.join(replies)
    probes = _with_brand(probes, msgs, conv, settings.brand_book)
    probes = _with_clocks(probes, settings)
    return _finish(probes, settings)


def prepare(messages: pd.DataFrame, brand_book: BrandBook) -> pd.DataFrame:
    """Drop duplicate ids (first wins) and settle who is a brand account."""
    msgs = messages.drop_duplicates(m.ID, keep="first").reset_index(drop=True)
    listed = msgs[m.AUTHOR].str.lower().isin(brand_book.handles())
    is_brand = msgs[m.AUTHOR_IS_BRAND].fillna(False).astype(bool) | listed
    return msgs.assign(**{m.AUTHOR_IS_BRAND: is_brand})


def roots(msgs: pd.DataFrame) -> np.ndarray:
    """Position of each message's thread-opening message, or -1 for orphans."""
    ids = pd.Index(msgs[m.ID])
    pos = np.arange(len(msgs))
    has_parent = msgs[m.PARENT_ID].notna().to_numpy()
    parent = ids.get_indexer(msgs[m.PARENT_ID].fillna(""))
    anc = np.where(has_parent, parent, pos)
    anc = _attach_by_conversation(msgs, ids, anc, has_parent)
    for _ in range(_MAX_JUMPS):
        nxt = np.where(anc >= 0, anc[np.maximum(anc, 0)], -1)
        if np.array_equal(nxt, anc):
            break
        anc = nxt
    settled = (anc >= 0) & ~has_parent[np.maximum(anc, 0)]
    return np.where(settled, anc, -1)


def _attach_by_conversation(msgs, ids, anc, has_parent) -> np.ndarray:
    missing = has_parent & (anc < 0)
    if not missing.any() or msgs[m.CONVERSATION_ID].isna().all():
        return anc
    opener = ids.get_indexer(msgs[m.CONVERSATION_ID].fillna(""))
    ok = missing & (opener >= 0)
    ok &= ~has_parent[np.maximum(opener, 0)]
    return np.where(ok, opener, anc)


def conversations(msgs: pd.DataFrame, root: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Messages that belong to a probe, sorted by (thread, time), with their probe's position.

    Columns: ``pos`` (row in msgs), ``probe`` (row of the probe), ``t`` (ns since epoch),
    ``is_brand``, ``automated``, ``start`` (the row is a probe).
    """
    t = msgs[m.CREATED_AT].array.asi8
    is_brand = msgs[m.AUTHOR_IS_BRAND].to_numpy(dtype=bool)
    pos = np.arange(len(msgs))
    safe_root = np.maximum(root, 0)
    keep = (root >= 0) & ~is_brand[safe_root] & (t >= t[safe_root])
    pos, r = pos[keep], root[keep]
    opener = pos == r
    order = np.lexsort((pos, ~opener, t[pos], r))
    pos, r, opener = pos[order], r[order], opener[order]
    start = opener | _reopens(t[pos], r, is_brand[pos], settings.reopen_after_s)
    latest = np.maximum.accumulate(np.where(start, np.arange(len(pos)), 0))
    return pd.DataFrame(
        {
            "pos": pos,
            "probe": pos[latest],
            "t": t[pos],
            "is_brand": is_brand[pos],
            "automated": msgs[m.AUTOMATED].to_numpy(dtype=bool)[pos],
            "start": start,
        }
    )


def _reopens(t, r, is_brand, reopen_after_s) -> np.ndarray:
    if reopen_after_s is None or len(t) == 0:
        return np.zeros(len(t), dtype=bool)
    gap = np.diff(t, prepend=t[0])
    same_thread = np.concatenate([[False], r[1:] == r[:-1]])
    return same_thread & ~is_brand & (gap >= reopen_after_s * _NS)


def _probe_frame(msgs: pd.DataFrame, conv: pd.DataFrame) -> pd.DataFrame:
    starts = conv.loc[conv["start"], "pos"].to_numpy()
    probe = msgs.iloc[starts]
    root_pos = conv.loc[conv["start"], "probe"].to_numpy()
    return pd.DataFrame(
        {
            "probe_id": probe[m.ID].array,
            "channel": probe[m.CHANNEL].array,
            "surface": probe[m.SURFACE].array,
            "persona": probe[m.AUTHOR].array,
            "followers": probe[m.FOLLOWERS].array,
            "category": probe[m.CATEGORY].array,
            "scenario": probe[m.SCENARIO].array,
            "sent_at": probe[m.CREATED_AT].array,
            "conversation_id": msgs[m.ID].to_numpy()[root_pos],
            "text": probe[m.TEXT].array,
        },
        index=pd.Index(starts, name="pos"),
    )


def _replies(msgs, conv, probes, settings) -> pd.DataFrame:
    """Per probe: first response, counts, reply types and customer-confirmed resolution."""
    sent = probes["sent_at"].array.asi8
    deadline = pd.Series(sent + int(settings.window_s * _NS), index=probes.index)
    in_window = conv["t"].to_numpy() <= deadline.reindex(conv["probe"]).to_numpy()
    brand = conv[conv["is_brand"] & in_window]
    counted = brand[~brand["automated"]]
    first = counted.drop_duplicates("probe").set_index("probe")
    out = pd.DataFrame(index=probes.index)
    out["first_response_ns"] = first["t"]
    out["brand_messages"] = counted.groupby("probe").size()
    out["automated_messages"] = brand[brand["automated"]].groupby("probe").size()
    out = out.join(_reply_types(msgs, counted, probes))
    out["ack_only"] = _ack_only(msgs, first)
    out["resolved"] = _confirmed(msgs, conv, in_window, out["first_response_ns"])
    return out


def _reply_types(msgs, counted, probes) -> pd.DataFrame:
    text = msgs[m.TEXT].iloc[counted["pos"].to_numpy()].reset_index(drop=True)
    flags = pd.DataFrame(
        {
            "probe": counted["probe"].to_numpy(),
            "link": classify.link(text).to_numpy(dtype=bool),
            "dm": classify.dm(text).to_numpy(dtype=bool),
            "phone": classify.phone(text).to_numpy(dtype=bool),
            "email": classify.email(text).to_numpy(dtype=bool),
        }
    )
    reply_private = msgs[m.SURFACE].iloc[counted["pos"].to_numpy()].to_numpy() == m.PRIVATE
    probe_public = probes["surface"].reindex(counted["probe"]).to_numpy() == m.PUBLIC
    flags["dm"] |= reply_private & probe_public
    return flags.groupby("probe").any()


def _ack_only(msgs, first: pd.DataFrame) -> pd.Series:
    text = msgs[m.TEXT].iloc[first["pos"].to_numpy()].reset_index(drop=True)
    return pd.Series(classify.ack_only(text).to_numpy(dtype=bool), index=first.index)


def _confirmed(msgs, conv, in_window, first_ns: pd.Series) -> pd.Series:
    """True where a customer message after the first response, in the window, says solved."""
    answered_at = first_ns.reindex(conv["probe"]).to_numpy()
    later = ~conv["is_brand"].to_numpy() & in_window & (conv["t"].to_numpy() > answered_at)
    follow_ups = conv[later]
    text = msgs[m.TEXT].iloc[follow_ups["pos"].to_numpy()].reset_index(drop=True)
    says_solved = classify.confirms_resolution(text).to_numpy(dtype=bool)
    return pd.Series(says_solved, index=follow_ups["probe"].to_numpy()).groupby(level=0).any()


def _with_brand(probes, msgs, conv, brand_book: BrandBook) -> pd.DataFrame:
    brand_rows = conv[conv["is_brand"]].drop_duplicates("probe").set_index("probe")
    authors = msgs[m.AUTHOR].to_numpy()
    handle = pd.Series(authors[brand_rows["pos"].to_numpy()], index=brand_rows.index, dtype=object)
    handle = handle.reindex(probes.index)
    known = _known_accounts(msgs, brand_book)
    lacking = handle.isna()
    if lacking.any():
        handle[lacking] = _mentioned_brand(probes.loc[lacking, "text"], known)
    names = {**known, **brand_book.alias_map()}
    lowered = handle.str.lower()
    brand = _lookup(lowered, names, default=handle)
    return probes.assign(brand=brand.to_numpy())


def _lookup(keys: pd.Series, mapping: dict, *, default) -> pd.Series:
    """``keys`` mapped through ``mapping``; ``default`` (a value or aligned Series) elsewhere."""
    return keys.map(mapping).astype(object).fillna(default)


def _known_accounts(msgs, brand_book: BrandBook) -> dict[str, str]:
    """Lower-cased brand account handle -> its spelling in the data (or the brand book)."""
    authors = msgs.loc[msgs[m.AUTHOR_IS_BRAND], m.AUTHOR].drop_duplicates()
    known = dict(zip(authors.str.lower(), authors, strict=True))
    for handle in brand_book.handles():
        known.setdefault(handle, handle)
    return known


def _mentioned_brand(texts: pd.Series, known: dict[str, str]) -> np.ndarray:
    mentions = texts.astype("string").str.extractall(r"@(\w+)")[0]
    lowered = mentions.str.lower()
    first_known = mentions[lowered.isin(known.keys())].groupby(level=0).first()
    first_any = mentions.groupby(level=0).first()
    chosen = first_known.combine_first(first_any).reindex(texts.index)
    return chosen.fillna(UNKNOWN_BRAND).to_numpy(dtype=object)


def _with_clocks(probes: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Time to first response on the calendar and business clocks; local weekday and hour."""
    from socialbench import calendar

    first = pd.to_datetime(probes["first_response_ns"], utc=True)
    sent = probes["sent_at"]
    ttfr = (first - sent).dt.total_seconds()
    business = ttfr.copy()
    hours_by_brand = settings.brand_book.hours()
    for brand, hours in hours_by_brand.items():
        rows = probes.index[probes["brand"] == brand]
        business[rows] = calendar.business_seconds(sent[rows], first[rows], hours)
    zones = {b: h.timezone for b, h in hours_by_brand.items()}
    zone = _lookup(probes["brand"], zones, default="UTC")
    weekday = pd.Series(index=probes.index, dtype=object)
    hour = pd.Series(index=probes.index, dtype="Int64")
    for name, rows in zone.groupby(zone).groups.items():
        day, hr = calendar.local_weekday_hour(sent[rows], name)
        weekday[rows], hour[rows] = day.to_numpy(), hr.to_numpy()
    return probes.assign(
        first_response_at=first,
        ttfr_s=ttfr,
        ttfr_business_s=business,
        weekday=weekday,
        hour=hour,
    )


def _finish(probes: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    counts = ["brand_messages", "automated_messages"]
    flags = ["link", "dm", "phone", "email", "ack_only", "resolved"]
    probes = probes.assign(
        responded=probes["first_response_ns"].notna(),
        watched_s=float(settings.window_s),
        **{c: probes[c].fillna(0).astype("int64") for c in counts},
        **{c: probes[c].fillna(False).astype(bool) for c in flags},
    )
    ordered = probes.sort_values(["sent_at", "probe_id"], kind="stable")
    return ordered[list(PROBE_COLUMNS + EXTRA_COLUMNS)].reset_index(drop=True)

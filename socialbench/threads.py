"""Reply trees -> conversations -> the probe table.

Definitions (the README's methodology section states them for users):

- A message's *root* is found by following ``parent_id`` links. A message whose parent is
  missing from the data is attached to the opening message of its ``conversation_id`` when
  that message is present; otherwise its whole branch is an orphan (no probe, no replies).
  Parent cycles are treated as orphans. Duplicate ids: the first occurrence is kept.
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

Everything is columnar and runs on integer keys: ids become integers once (read from their
digits, or a dictionary encoding), roots and the order of conversations come from one
compiled pass each (``socialbench.kernels``), and every per-probe figure is a segment
reduction (``numpy.*.reduceat``) over that sorted order. Text is touched only where a rule
reads it, in Arrow, never as Python objects.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from socialbench import arrowtext, classify
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
REPLY_TYPES = classify.REPLY_TYPES

_NS = 1_000_000_000
_NOT_A_TIME = np.iinfo(np.int64).min  # numpy's NaT, as int64 nanoseconds
# An @mention: "@" and a handle, not preceded by a handle character (so an e-mail address
# such as help@acme.com is not a mention).
_MENTION = r"(?:^|[^A-Za-z0-9_])@(?P<handle>[A-Za-z0-9_]+)"
_LEADING_MENTION = (
    r"^@(?P<handle>[A-Za-z0-9_]+)"  # _MENTION's first match when a text opens with it
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Settings:
    """How conversations are cut into probes."""

    window_s: float = DEFAULT_WINDOW_S
    reopen_after_s: float | None = None
    brand_book: BrandBook = field(default_factory=BrandBook)


@dataclass
class Messages:
    """The messages table as arrays: numpy for numbers and flags, Arrow for text."""

    ids: pa.ChunkedArray
    id_numbers: np.ndarray | None  # each id as its integer, when every id is one (as text)
    parent: np.ndarray  # position of the parent message, -1 when none or missing
    has_parent: np.ndarray
    opener: np.ndarray  # position of the conversation_id's message, -1 when none
    t: np.ndarray  # int64 ns since the epoch
    is_brand: np.ndarray
    automated: np.ndarray
    private: np.ndarray
    followers: np.ndarray
    author: pa.ChunkedArray
    text: pa.ChunkedArray
    channel: pa.ChunkedArray
    surface: pa.ChunkedArray
    scenario: pa.ChunkedArray
    category: pa.ChunkedArray
    duplicates: int = 0
    kept: np.ndarray | None = None  # rows of the messages table kept (None: every one)

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class Conversations:
    """Messages that belong to probes, sorted by (thread, time); one segment per probe."""

    pos: np.ndarray  # row in Messages
    root: np.ndarray  # row in Messages of the thread's opening message
    seg: np.ndarray  # probe number of each row
    starts: np.ndarray  # first row of each probe's segment
    t: np.ndarray
    is_brand: np.ndarray
    automated: np.ndarray

    @property
    def probes(self) -> np.ndarray:
        """Message positions of the probes, in segment order."""
        return self.pos[self.starts]

    def first(self, mask: np.ndarray) -> np.ndarray:
        """Per segment, the first row where ``mask`` holds, or -1."""
        from socialbench.kernels import segments

        return segments.first(mask, self.starts)

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Per segment, how many rows ``mask`` holds for."""
        from socialbench.kernels import segments

        return segments.count(mask, self.starts)

    def any_of(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per segment, whether ``values`` (one per row of ``rows``) holds for one of them."""
        from socialbench.kernels import segments

        return segments.any_of(self.seg, rows, values, len(self.starts))


class _Classifier:
    """Text classification on a second thread (``pool``, one worker), each job submitted
    as soon as its inputs exist. The reply types of every brand message that can count as
    a reply (``chosen``: by a brand account, not automated) depend neither on the reply
    trees nor on duplicates: they start before ``prepare``."""

    def __init__(self, text: pa.ChunkedArray, chosen: np.ndarray, pool: Executor) -> None:
        self.pool = pool
        self.index = np.cumsum(chosen) - 1  # message position -> its place among the texts
        self.texts = pool.submit(lambda: classify.prepare_rows(text, np.flatnonzero(chosen)))
        self.types = pool.submit(lambda: classify.reply_types(self.texts.result()))

    def keep(self, kept: np.ndarray | None) -> None:
        """Follow ``prepare`` in dropping duplicates (``kept``: the rows it kept)."""
        if kept is not None:
            self.index = self.index[kept]


def probe_table(messages: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The probe table (PROBE_COLUMNS then EXTRA_COLUMNS) of a messages table."""
    book = settings.brand_book
    with ThreadPoolExecutor(max_workers=1) as pool:
        classifier = _Classifier(_arrow(messages[m.TEXT]), _can_reply(messages, book), pool)
        msgs = prepare(messages, book)
        classifier.keep(msgs.kept)
        conv = conversations(msgs, roots(msgs), settings)
        return _table(msgs, conv, settings, classifier)


def prepare(messages: pd.DataFrame, brand_book: BrandBook) -> Messages:
    """The messages as arrays, duplicates dropped (the first occurrence of an id wins).

    Ids are unique per channel: when the data mixes channels (several platforms' exports),
    an id, and a reference to one, is only matched within its own channel.
    """
    ids = _arrow(messages[m.ID])
    refs = [_arrow(messages[m.PARENT_ID]), _arrow(messages[m.CONVERSATION_ID])]
    channel = _arrow(messages[m.CHANNEL])
    if pc.count_distinct(channel).as_py() > 1:
        keys, (parent_key, conv_key), _ = _keys(*_scoped(channel, ids, refs))
        numbers = False  # the keys number channel + id, not the id
    else:
        keys, (parent_key, conv_key), numbers = _keys(ids, refs)
    index = KeyIndex(keys)
    keep = index.first_occurrences()
    frame = messages
    if keep is not None:
        frame, ids, channel = (
            messages[keep],
            ids.filter(pa.array(keep)),
            channel.filter(pa.array(keep)),
        )
        keys, parent_key, conv_key = keys[keep], parent_key[keep], conv_key[keep]
        index = KeyIndex(keys)
    author = _arrow(frame[m.AUTHOR])
    surface = _arrow(frame[m.SURFACE])
    return Messages(
        ids=ids,
        id_numbers=keys if numbers else None,
        parent=index.lookup(parent_key),
        has_parent=parent_key >= 0,
        opener=index.lookup(conv_key),
        t=frame[m.CREATED_AT].dt.as_unit("ns").array.asi8,
        is_brand=_brand_flags(frame, author, brand_book),
        automated=frame[m.AUTOMATED].to_numpy(dtype=bool),
        private=pc.equal(surface, m.PRIVATE).to_numpy(),
        followers=frame[m.FOLLOWERS].to_numpy(dtype=float),
        author=author,
        text=_arrow(frame[m.TEXT]),
        channel=channel,
        surface=surface,
        scenario=_arrow(frame[m.SCENARIO]),
        category=_arrow(frame[m.CATEGORY]),
        duplicates=0 if keep is None else int(len(keep) - keep.sum()),
        kept=keep,
    )


def _can_reply(frame: pd.DataFrame, brand_book: BrandBook) -> np.ndarray:
    """Which rows of a messages table are brand messages that can count as replies."""
    automated = frame[m.AUTOMATED].to_numpy(dtype=bool)
    return _brand_flags(frame, _arrow(frame[m.AUTHOR]), brand_book) & ~automated


def _brand_flags(frame: pd.DataFrame, author: pa.ChunkedArray, brand_book: BrandBook) -> np.ndarray:
    is_brand = frame[m.AUTHOR_IS_BRAND].fillna(False).to_numpy(dtype=bool)
    handles = brand_book.handles()
    if handles:
        listed = pc.is_in(pc.utf8_lower(author), value_set=pa.array(sorted(handles)))
        is_brand = is_brand | listed.to_numpy(zero_copy_only=False)
    return is_brand


def _arrow(series: pd.Series) -> pa.ChunkedArray:
    """The Arrow data of a pandas string column (no copy for Arrow-backed strings)."""
    if series.dtype == object:
        return pa.chunked_array([pa.array(series, pa.large_string())])
    array = pa.array(series.array)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _scoped(
    channel: pa.ChunkedArray, ids: pa.ChunkedArray, refs: list[pa.ChunkedArray]
) -> tuple[pa.ChunkedArray, list[pa.ChunkedArray]]:
    """``channel`` + a separator + each id and reference (null references stay null)."""

    def scope(column: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.binary_join_element_wise(
            channel.cast(pa.large_string()),
            column.cast(pa.large_string()),
            pa.scalar("\x1f", pa.large_string()),
        )

    return scope(ids), [scope(r) for r in refs]


def _keys(
    ids: pa.ChunkedArray, refs: list[pa.ChunkedArray]
) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """Integer keys for ids and for references to them (same key = same id; -1 = none), and
    whether they are the ids' own values (``str(key)`` is the id).

    Canonical integer ids (as on X and twcs) are cast; other ids are dictionary-encoded.
    """
    numbers = [_canonical_integers(c) for c in (ids, *refs)]
    if all(n is not None for n in numbers):
        return numbers[0], numbers[1:], ids.null_count == 0
    columns = [c.cast(pa.large_string()) for c in (ids, *refs)]
    both = pa.chunked_array([chunk for c in columns for chunk in c.chunks], pa.large_string())
    encoded = pc.dictionary_encode(both.combine_chunks())
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    bounds = np.cumsum([0] + [len(c) for c in columns])
    refs_codes = [codes[a:b] for a, b in zip(bounds[1:-1], bounds[2:], strict=True)]
    return codes[: len(ids)], refs_codes, False


def _canonical_integers(column: pa.ChunkedArray) -> np.ndarray | None:
    """The values as int64 (-1 for null) when each is a plain non-negative decimal integer
    without leading zeros (so that "007" and "7" stay different ids), else None."""
    from socialbench.kernels import ids

    return ids.integer_keys(column)


class KeyIndex:
    """Finds messages by integer key: a direct-address table for dense keys (compiled,
    ``kernels.ids.DenseIndex``), else a sort."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        top = int(keys.max()) if len(keys) else -1
        self.dense = len(keys) > 0 and int(keys.min()) >= 0 and top < 4 * len(keys) + 1024
        if self.dense:
            from socialbench.kernels import ids

            self.table = ids.DenseIndex(keys, top)
        else:
            self.order = np.argsort(keys, kind="stable")
            self.ordered = keys[self.order]

    def first_occurrences(self) -> np.ndarray | None:
        """A mask keeping the first occurrence of each key, or None when keys are unique."""
        if self.dense:
            return self.table.first_occurrences()
        repeat = self.ordered[1:] == self.ordered[:-1]
        if not repeat.any():
            return None
        keep = np.zeros(len(self.keys), dtype=bool)
        keep[self.order[np.concatenate([[True], ~repeat])]] = True
        return keep

    def lookup(self, refs: np.ndarray) -> np.ndarray:
        """Position of the message each reference names (-1 when none or not in the data)."""
        if not len(self.keys):
            return np.full(len(refs), -1)
        if self.dense:
            return self.table.lookup(refs)
        at = np.minimum(np.searchsorted(self.ordered, refs), len(self.keys) - 1)
        found = (refs >= 0) & (self.ordered[at] == refs)
        return np.where(found, self.order[at], -1)


def roots(msgs: Messages) -> np.ndarray:
    """Position of each message's thread-opening message, or -1 for orphans.

    Each message is followed up by its parent; a reply whose parent is missing is attached
    to its conversation's opening message when that one opens a thread; a chain that ends
    at a missing message, or runs into a cycle, is an orphan (``kernels.trees``)."""
    from socialbench.kernels import trees  # numba: loaded only where archives are analysed

    return trees.roots(msgs.parent, msgs.has_parent, msgs.opener)


def conversations(msgs: Messages, root: np.ndarray, settings: Settings) -> Conversations:
    """Messages that belong to a probe, sorted by (thread, time), cut into probe segments.

    A message belongs when its thread was opened by a customer and it is no earlier than
    the opening message; order: thread, time, the opening message first among equal times,
    then row (``kernels.trees.thread_order``)."""
    from socialbench.kernels import trees

    t, is_brand = msgs.t, msgs.is_brand
    pos = trees.thread_order(root, t, is_brand)
    r = root[pos]
    opener = pos == r
    start = opener | _reopens(t[pos], r, is_brand[pos], settings.reopen_after_s)
    return Conversations(
        pos=pos,
        root=r,
        seg=np.cumsum(start) - 1,
        starts=np.flatnonzero(start),
        t=t[pos],
        is_brand=is_brand[pos],
        automated=msgs.automated[pos],
    )


def _reopens(t, r, is_brand, reopen_after_s) -> np.ndarray:
    if reopen_after_s is None or len(t) == 0:
        return np.zeros(len(t), dtype=bool)
    gap = np.diff(t, prepend=t[0])
    same_thread = np.concatenate([[False], r[1:] == r[:-1]])
    return same_thread & ~is_brand & (gap >= reopen_after_s * _NS)


def _table(
    msgs: Messages, conv: Conversations, settings: Settings, classifier: _Classifier
) -> pd.DataFrame:
    """The probe table. The work is split between this thread and the classifier's so
    that both finish together: there the reply types, here the brands and the customers'
    follow-ups; then the wording of first replies and each of the probes' own columns,
    queued there, on whichever thread is free (``_Shared``)."""
    from socialbench.kernels import sort

    probes = conv.probes
    sent = msgs.t[probes]
    in_window = conv.t <= (sent + int(settings.window_s * _NS))[conv.seg]
    counted = conv.is_brand & ~conv.automated & in_window
    first = conv.first(counted)
    responded = first >= 0
    first_t = np.where(responded, conv.t[np.maximum(first, 0)], _NOT_A_TIME)
    order = sort.argsort(sent)  # the table is in time order (a stable sort)
    answered = np.flatnonzero(responded)
    replies_at = classifier.index[conv.pos[first[answered]]]  # first replies among the texts
    shared = _Shared(classifier.pool)
    for part in np.array_split(replies_at, _ACK_PARTS):
        shared.add(_acknowledges, part, classifier)
    at, thread = probes[order], conv.root[conv.starts][order]
    for name in _OWN_COLUMNS:
        shared.add(_probe_column, name, msgs, thread if name == "conversation_id" else at)
    shared.add(_clocks, sent[order], first_t[order])
    brand = _brands(msgs, conv, settings.brand_book, order)
    per_probe = {
        "resolved": _resolved(msgs, conv, _follow_ups(conv, in_window, first_t, responded)),
        "followers": msgs.followers[probes],
        "responded": responded,
        "brand_messages": conv.count(counted),
        "automated_messages": conv.count(conv.is_brand & conv.automated & in_window),
    }
    columns = {name: _reorder(values, order) for name, values in per_probe.items()}
    columns["brand"] = brand
    types = _reply_types(msgs, conv, counted, classifier)  # waits for the classifier
    *done, clocks = shared.results()
    acks, own = done[:_ACK_PARTS], done[_ACK_PARTS:]
    types["ack_only"] = _spread(np.concatenate(acks), answered, len(first))
    columns.update({name: _reorder(values, order) for name, values in types.items()})
    columns.update(zip(_OWN_COLUMNS, own, strict=True))
    return _frame(columns, clocks, settings)


_ACK_PARTS = 4  # the first replies' wording is tested in parts, shared by both threads


class _Shared:
    """Jobs queued on the classifier's thread that this thread also takes up once it has
    done its own work, from the last one queued back: both threads finish together."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self.jobs: list[tuple] = []

    def add(self, function, *args) -> None:
        self.jobs.append((function, args, self.pool.submit(function, *args)))

    def results(self) -> list:
        done: dict[int, object] = {}
        for i in reversed(range(len(self.jobs))):
            function, args, future = self.jobs[i]
            if future.cancel():  # not started there: run it here
                done[i] = function(*args)
        return [done[i] if i in done else job[2].result() for i, job in enumerate(self.jobs)]


# the probes' own text columns: persona is the author; conversation_id is the thread's id
_OWN_COLUMNS = ("probe_id", "channel", "surface", "persona", "category", "scenario",
                "conversation_id")  # fmt: skip


def _probe_column(name: str, msgs: Messages, rows: np.ndarray) -> pa.Array:
    """One of the probes' own columns (``rows``: the probes', or their threads', positions)."""
    if name in ("probe_id", "conversation_id"):
        return _ids(msgs, rows)
    if name == "persona":
        return _take(msgs.author, rows)
    return _label(getattr(msgs, name), rows)


def _ids(msgs: Messages, rows: np.ndarray) -> pa.Array:
    """The ids of ``rows``: written from their integers when they are integers (eight bytes
    read a row, not a scattered string)."""
    if msgs.id_numbers is None:
        return _take(msgs.ids, rows)
    return pc.cast(pa.array(msgs.id_numbers[rows]), pa.large_string())


def _label(column: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``_take`` for a column of few values (channel, surface, category, scenario), which
    is often one value, or none, throughout."""
    value = arrowtext.only_value(column)
    if value is not None:
        return pa.repeat(value.cast(pa.large_string()), len(rows))
    return _take(column, rows)


def _follow_ups(conv, in_window, first_t, responded) -> np.ndarray:
    """Customer messages after the first response, within the window."""
    return ~conv.is_brand & in_window & responded[conv.seg] & (conv.t > first_t[conv.seg])


def _acknowledges(at: np.ndarray, classifier: _Classifier) -> np.ndarray:
    """Per first reply (``at``: its place among the classifier's texts): whether it only
    acknowledges (ack_only): it has none of the reply types (known already) and its wording
    says so, which is tested only where the first holds."""
    types = classifier.types.result()
    plain = np.ones(len(at), dtype=bool)
    for name in REPLY_TYPES:
        plain &= ~types[name][at]
    rows = np.flatnonzero(plain)
    texts = _take(pa.chunked_array([classifier.texts.result()]), at[rows])
    only = np.zeros(len(at), dtype=bool)
    only[rows] = classify.acknowledges(texts)
    return only


def _reply_types(msgs, conv, counted, classifier: _Classifier) -> dict[str, np.ndarray]:
    """Per probe and reply type: whether one of its counted brand messages has it."""
    replies = np.flatnonzero(counted)
    at = classifier.index[conv.pos[replies]]
    types = classifier.types.result()
    found = {name: types[name][at] for name in REPLY_TYPES}
    # a private reply to a public probe moves the conversation to private messages
    found["dm"] = found["dm"] | (
        msgs.private[conv.pos[replies]] & ~msgs.private[conv.probes[conv.seg[replies]]]
    )
    return {name: conv.any_of(replies, found[name]) for name in found}


def _resolved(msgs, conv, later: np.ndarray) -> np.ndarray:
    """Per probe: whether a customer's follow-up confirms the problem solved."""
    follow_ups = np.flatnonzero(later)
    hit = classify.resolutions(classify.prepare_rows(msgs.text, conv.pos[follow_ups]))
    return conv.any_of(follow_ups, hit)


def _spread(values: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    full = np.zeros(size, dtype=bool)
    full[rows] = values
    return full


def _brands(
    msgs: Messages, conv: Conversations, brand_book: BrandBook, order: np.ndarray
) -> pa.Array:
    """The brand of each probe, merged through the brand book's aliases, in ``order``.

    Brand accounts are few: their handles are numbered once (a dictionary encoding of the
    brand messages' authors) and named once each, and a probe takes its brand by number
    (the numbers put in order, then the names taken once)."""
    accounts = pc.dictionary_encode(_take(msgs.author, np.flatnonzero(msgs.is_brand)))
    handles = accounts.dictionary.cast(pa.large_string())
    known = _known_accounts(handles.to_pylist(), brand_book)
    names = {**known, **brand_book.alias_map()}
    account_of = np.full(len(msgs), -1)
    account_of[msgs.is_brand] = pc.fill_null(accounts.indices, -1).to_numpy(zero_copy_only=False)
    first_brand = conv.first(conv.is_brand)
    has = first_brand >= 0
    account = account_of[conv.pos[np.maximum(first_brand, 0)]]  # -1: an author left empty
    dictionary = _named(handles, names)
    if not has.all():  # the others are named by their first mentions, numbered after
        missing = np.flatnonzero(~has)
        texts = _take(msgs.text, conv.probes[missing])
        mentioned = pc.dictionary_encode(_named(_flat(_mentioned_brand(texts, known)), names))
        account[missing] = len(dictionary) + mentioned.indices.to_numpy(zero_copy_only=False)
        dictionary = pa.concat_arrays([dictionary, mentioned.dictionary.cast(pa.large_string())])
    account = account[order]
    return dictionary.take(pa.array(account, mask=account < 0))


def _named(handles: pa.Array, names: dict[str, str]) -> pa.Array:
    """Each handle's brand name (matched case-insensitively), else the handle itself."""
    keys = pa.array(list(names), pa.large_string())
    values = pa.array(list(names.values()), pa.large_string())
    mapped = values.take(pc.index_in(pc.utf8_lower(handles), value_set=keys))
    return pc.coalesce(mapped, handles)


def _take(column: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``column[rows]`` of a text column as one large_string array, each text copied once
    (Arrow's take across chunks is slow, and its filter then take copies twice)."""
    from socialbench.kernels import text

    if column.null_count == len(column):
        return pa.nulls(len(rows), pa.large_string())
    if column.null_count:  # the compiled copy reads nulls as ""
        return _flat(column.take(rows)).cast(pa.large_string())
    return text.gather(column, rows)


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _known_accounts(authors: list[str], brand_book: BrandBook) -> dict[str, str]:
    """Lower-cased brand account handle -> its spelling in the data (the first one seen)
    or in the brand book."""
    known: dict[str, str] = {}
    for author in authors:
        known.setdefault(author.lower(), author)
    for handle in brand_book.handles():
        known.setdefault(handle, handle)
    return known


def _mentioned_brand(texts: pa.Array, known: dict[str, str]) -> pa.Array:
    """The first @mention naming a known brand account, else the first @mention, else unknown.

    Usually the first mention is the brand; only the other texts are searched again, with one
    case-insensitive alternation of the known handles (RE2 matches it in linear time). When
    every known handle is made of handle characters, the same answer comes from listing every
    mention once (``kernels.text.mentions``) and looking the handles up.
    """
    listed = _mentioned_brand_listed(texts, known)
    if listed is not None:
        return listed
    first_any = _first_any_mention(texts)
    if not known:
        return pc.fill_null(first_any, UNKNOWN_BRAND)
    known_set = pa.array(list(known), pa.large_string())
    is_known = pc.fill_null(pc.is_in(pc.utf8_lower(first_any), value_set=known_set), False)
    others = np.flatnonzero(~is_known.to_numpy(zero_copy_only=False))
    chosen = first_any
    if len(others):
        handles = "|".join(re.escape(h) for h in sorted(known, key=len, reverse=True))
        pattern = rf"(?:^|[^A-Za-z0-9_])@(?P<handle>(?i:{handles}))(?:[^A-Za-z0-9_]|$)"
        later = _first_mention(texts.take(others), pattern)
        mask = np.zeros(len(texts), dtype=bool)
        mask[others] = pc.is_valid(later).to_numpy(zero_copy_only=False)
        found = later.filter(pc.is_valid(later))
        chosen = pc.replace_with_mask(first_any, pa.array(mask), found.cast(first_any.type))
    return pc.fill_null(chosen, UNKNOWN_BRAND)


_HANDLE = re.compile(r"[A-Za-z0-9_]+")


def _mentioned_brand_listed(texts: pa.Array, known: dict[str, str]) -> pa.Array | None:
    """``_mentioned_brand`` from every mention listed in order: per text, its first mention
    whose handle is known (any case), else its first mention. None where the two could
    differ: a known handle with other characters, or a non-ASCII character next to a
    mention (RE2's case-insensitive match folds LATIN SMALL LONG S onto s and KELVIN SIGN
    onto k)."""
    from socialbench.kernels import text

    if not all(_HANDLE.fullmatch(h) for h in known):
        return None
    tokens, owner, beside = text.mentions(texts)
    if beside:
        return None
    is_known = pc.is_in(pc.utf8_lower(tokens), value_set=pa.array(list(known), pa.large_string()))
    chosen = np.full(len(texts), -1)
    for pick in (np.ones(len(tokens), dtype=bool), is_known.to_numpy(zero_copy_only=False)):
        rows, first = np.unique(owner[pick], return_index=True)  # each text's first such
        chosen[rows] = np.flatnonzero(pick)[first]  # known ones, taken second, win
    found = tokens.take(pa.array(chosen, mask=chosen < 0))
    return pc.fill_null(found, UNKNOWN_BRAND)


def _first_mention(texts: pa.Array, pattern: str) -> pa.Array:
    return pc.struct_field(pc.extract_regex(texts, pattern), [0])


def _first_any_mention(texts: pa.Array) -> pa.Array:
    """The first @mention of each text. Most texts open with it, which a pattern anchored at
    the start finds at once; the general pattern searches only the others."""
    found = _first_mention(texts, _LEADING_MENTION)
    missing = pc.is_null(found)
    if not pc.any(missing).as_py():
        return found
    later = _first_mention(texts.filter(missing), _MENTION)
    return pc.replace_with_mask(found, missing, later)


def _reorder(values, order: np.ndarray):
    return values.take(order) if isinstance(values, (pa.Array, pa.ChunkedArray)) else values[order]


def _clocks(sent: np.ndarray, first: np.ndarray) -> dict:
    """The probe table's times from nanoseconds (``first``: _NOT_A_TIME where none): both
    as UTC times, the plain clock (``ttfr_s``: the difference in seconds, as pandas' total
    seconds divide it) and the UTC weekday and hour (``with_clocks`` changes those of
    brands with support hours)."""
    responded = first != _NOT_A_TIME
    ttfr = np.where(responded, (np.where(responded, first, sent) - sent) / _NS, np.nan)
    return {
        "sent_at": _times(sent),
        "first_response_at": _times(first),
        "ttfr_s": ttfr,
        "clock": _utc_clock(sent),
    }


def _frame(columns: dict, clocks: dict, settings: Settings) -> pd.DataFrame:
    """The probe table as a DataFrame, with clocks and local weekday/hour."""
    series = {name: _series(values) for name, values in columns.items()}
    series.update({name: _series(clocks[name]) for name in ("sent_at", "first_response_at")})
    series["ttfr_s"] = _series(clocks["ttfr_s"])
    series["watched_s"] = _series(np.full(len(clocks["ttfr_s"]), float(settings.window_s)))
    frame = pd.DataFrame(series, copy=False)  # the columns are this table's own
    frame = with_clocks(frame, settings, utc=clocks["clock"])
    return frame[list(PROBE_COLUMNS + EXTRA_COLUMNS)]


def _series(values) -> pd.Series:
    """A column of the probe table, without a copy (pandas copies numpy arrays unless told)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.Series(pd.arrays.ArrowStringArray(values))
    return pd.Series(values, copy=False)


def _times(ns: np.ndarray) -> pd.Series:
    """Nanoseconds since the epoch as UTC times; _NOT_A_TIME becomes NaT (its very bits)."""
    return pd.Series(ns.view("M8[ns]"), copy=False).dt.tz_localize("UTC")


def _utc_clock(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday (0 = Monday) and hour in UTC of times in nanoseconds."""
    return (ns // (86400 * _NS) + 3) % 7, ns // (3600 * _NS) % 24  # 1970-01-01: a Thursday


def with_clocks(probes: pd.DataFrame, settings: Settings, *, utc=None) -> pd.DataFrame:
    """The business clock and local weekday/hour, from each brand's support hours (``utc``:
    the UTC weekday and hour of every probe, when known already)."""
    from socialbench import calendar

    sent = probes["sent_at"]
    business = probes["ttfr_s"].to_numpy(copy=True)
    day, hour = utc if utc is not None else _utc_clock(sent.array.asi8)
    for brand, hours in settings.brand_book.hours().items():
        rows = np.flatnonzero((probes["brand"] == brand).to_numpy(dtype=bool))
        if not len(rows):
            continue
        first = probes["first_response_at"].iloc[rows]
        business[rows] = calendar.business_seconds(sent.iloc[rows], first, hours).to_numpy()
        local_day, local_hour = calendar.local_weekday_hour(sent.iloc[rows], hours.timezone)
        day[rows] = local_day.cat.codes.to_numpy()
        hour[rows] = local_hour.to_numpy(dtype=np.int64)
    weekday = pa.array(_WEEKDAYS, pa.large_string()).take(day)
    return probes.assign(ttfr_business_s=business, weekday=_series(weekday), hour=hour)

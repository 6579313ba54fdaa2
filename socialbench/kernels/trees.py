"""Reply trees in one pass each: every message's root, and messages ordered by thread.

``threads.roots`` and ``threads.conversations`` define what these compute; the vectorised
forms (pointer jumping, two sorts of int64 keys) made a dozen column-sized arrays each.
"""

from __future__ import annotations

import numpy as np

from socialbench.kernels import jit

_MAX_JUMPS = 64  # doublings: chains of any length; what still moves after is a cycle
_SMALL_THREAD = 16  # threads up to this many messages are sorted by insertion


@jit
def _roots(parent, has_parent, opener):  # pragma: no cover - compiled
    """Pointer jumping in place: each message's ancestor becomes its ancestor's ancestor
    until nothing changes; only messages still moving are visited again. Independent loads
    (not a walk up each chain, whose every step waits for the last) keep memory busy."""
    n = len(parent)
    anc = np.empty(n, dtype=np.int64)
    moving = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        anc[i] = _ancestor(i, parent, has_parent, opener)
        if anc[i] >= 0 and anc[i] != i:
            moving[count] = i
            count += 1
    for _ in range(_MAX_JUMPS):
        still = 0
        for k in range(count):
            i = moving[k]
            up = anc[i]
            upper = anc[up] if up >= 0 else -1
            if upper != up:
                anc[i] = upper
                if upper >= 0:
                    moving[still] = i
                    still += 1
        count = still
        if count == 0:
            break
    for i in range(n):  # a chain must end at a message that opens a thread
        if anc[i] < 0 or has_parent[anc[i]]:
            anc[i] = -1
    return anc


@jit
def _ancestor(j, parent, has_parent, opener):  # pragma: no cover - compiled
    """The next message up from ``j``: its parent; for a reply whose parent is missing, the
    conversation's opening message when that one opens a thread; itself for an opener."""
    if not has_parent[j]:
        return j
    up = parent[j]
    if up >= 0:
        return up
    home = opener[j]
    if home >= 0 and not has_parent[home]:
        return home
    return -1


def roots(parent: np.ndarray, has_parent: np.ndarray, opener: np.ndarray) -> np.ndarray:
    """Position of each message's thread-opening message, -1 for orphans and cycles."""
    return _roots(
        np.ascontiguousarray(parent, dtype=np.int64),
        np.ascontiguousarray(has_parent, dtype=np.bool_),
        np.ascontiguousarray(opener, dtype=np.int64),
    )


@jit
def _thread_order(root, t, is_brand):  # pragma: no cover - compiled
    """Rows of threaded customer-visible messages (see ``thread_order``) in order."""
    n = len(root)
    count = np.zeros(n + 1, dtype=np.int64)
    kept = 0
    for i in range(n):
        r = root[i]
        if r >= 0 and not is_brand[r] and t[i] >= t[r]:
            count[r + 1] += 1
            kept += 1
    for r in range(n):
        count[r + 1] += count[r]
    start = count[:n].copy()
    pos = np.empty(kept, dtype=np.int64)
    for i in range(n):  # a counting sort by thread keeps row order within each
        r = root[i]
        if r >= 0 and not is_brand[r] and t[i] >= t[r]:
            pos[start[r]] = i
            start[r] += 1
    for r in range(n):
        a, b = count[r], count[r + 1]
        if b - a > 1:
            _sort_thread(pos, a, b, t, r)
    return pos


@jit
def _sort_thread(pos, a, b, t, r):  # pragma: no cover - compiled
    """Sort pos[a:b] by (time, the opening message first, row): insertion for the usual
    short thread, a stable merge sort by (time, opener first) for long ones."""
    if b - a <= _SMALL_THREAD:
        for i in range(a + 1, b):
            row = pos[i]
            j = i - 1
            while j >= a and _after(pos[j], row, t, r):
                pos[j + 1] = pos[j]
                j -= 1
            pos[j + 1] = row
        return
    rows = pos[a:b].copy()
    key = np.empty(b - a, dtype=np.int64)
    for k in range(b - a):
        key[k] = t[rows[k]]
    order = np.argsort(key, kind="mergesort")
    sorted_rows = rows[order]
    # the opener first among messages at its time: move it to the front of its run
    at = -1
    for k in range(b - a):
        if sorted_rows[k] == r:
            at = k
    if at > 0:
        first = at
        while first > 0 and t[sorted_rows[first - 1]] == t[r]:
            first -= 1
        for k in range(at, first, -1):
            sorted_rows[k] = sorted_rows[k - 1]
        sorted_rows[first] = r
    pos[a:b] = sorted_rows


@jit
def _after(x, y, t, r):  # pragma: no cover - compiled
    """Whether row x sorts after row y: later time, or same time and y is the opener, or
    same time, neither the opener, and a later row."""
    if t[x] != t[y]:
        return t[x] > t[y]
    if y == r:
        return True
    if x == r:
        return False
    return x > y


def thread_order(root: np.ndarray, t: np.ndarray, is_brand: np.ndarray) -> np.ndarray:
    """Rows of the messages that belong to a probe's thread (a root, opened by a customer,
    no earlier than the opening message) ordered by thread (the root's row), then time,
    the opening message first among equal times, then row."""
    return _thread_order(
        np.ascontiguousarray(root, dtype=np.int64),
        np.ascontiguousarray(t, dtype=np.int64),
        np.ascontiguousarray(is_brand, dtype=np.bool_),
    )


def warm() -> None:
    parent = np.array([-1, 0, -1], dtype=np.int64)
    has_parent = np.array([False, True, True])
    root = roots(parent, has_parent, np.array([-1, 0, 0], dtype=np.int64))
    thread_order(root, np.array([0, 1, 2], dtype=np.int64), np.zeros(3, dtype=np.bool_))

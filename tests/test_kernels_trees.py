"""The compiled reply-tree kernels against the vectorised definitions they replaced."""

from __future__ import annotations

import numpy as np
import pytest

from socialbench.kernels import trees


def reference_roots(parent, has_parent, opener) -> np.ndarray:
    """numpy pointer jumping, as threads.roots computed it before the kernel."""
    pos = np.arange(len(parent))
    anc = np.where(has_parent, parent, pos)
    attach = has_parent & (parent < 0) & (opener >= 0)
    attach &= ~has_parent[np.maximum(opener, 0)]
    anc = np.where(attach, opener, anc)
    for _ in range(64):
        nxt = np.where(anc >= 0, anc[np.maximum(anc, 0)], -1)
        if np.array_equal(nxt, anc):
            break
        anc = nxt
    settled = (anc >= 0) & ~has_parent[np.maximum(anc, 0)]
    return np.where(settled, anc, -1)


def reference_order(root, t, is_brand) -> np.ndarray:
    """A lexsort by (thread, time, opener first, row) of the rows that belong."""
    safe = np.maximum(root, 0)
    pos = np.flatnonzero((root >= 0) & ~is_brand[safe] & (t >= t[safe]))
    opener = pos == root[pos]
    return pos[np.lexsort((pos, ~opener, t[pos], root[pos]))]


def random_forest(rng, n: int, *, cycles: int = 0):
    """Messages with random parents (earlier or later rows), missing parents, openers named
    by conversation id, self-parents and cycles."""
    has_parent = rng.random(n) < 0.6
    parent = np.where(rng.random(n) < 0.9, rng.integers(0, n, n), -1)
    parent = np.where(has_parent, parent, -1)
    opener = np.where(rng.random(n) < 0.5, rng.integers(-1, n, n), -1)
    for _ in range(cycles):
        a, b, c = rng.integers(0, n, 3)
        has_parent[[a, b, c]] = True
        parent[a], parent[b], parent[c] = b, c, a
    return parent.astype(np.int64), has_parent, opener.astype(np.int64)


def chain(n: int):
    """One thread of n messages, each replying to the one after it in the file."""
    parent = np.arange(1, n + 1, dtype=np.int64)
    parent[-1] = -1
    has_parent = np.ones(n, dtype=bool)
    has_parent[-1] = False
    return parent, has_parent, np.full(n, -1, dtype=np.int64)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cycles", [0, 3])
def test_roots_equal_pointer_jumping(seed, cycles) -> None:
    parent, has_parent, opener = random_forest(np.random.default_rng(seed), 3000, cycles=cycles)
    got = trees.roots(parent, has_parent, opener)
    np.testing.assert_array_equal(got, reference_roots(parent, has_parent, opener))


@pytest.mark.parametrize(
    ("parent", "has_parent", "opener", "expected"),
    [
        pytest.param([-1, 0, 1], [False, True, True], [-1, -1, -1], [0, 0, 0], id="chain"),
        pytest.param([-1, -1], [False, True], [-1, 0], [0, 0], id="missing parent attached"),
        pytest.param([-1, -1], [False, True], [-1, -1], [0, -1], id="missing parent orphan"),
        pytest.param([1, -1], [True, True], [-1, 0], [-1, -1], id="opener is a reply"),
        pytest.param([0, 0], [True, True], [-1, -1], [-1, -1], id="self parent"),
        pytest.param([1, 0, 0], [True, True, True], [-1, -1, -1], [-1, -1, -1], id="cycle"),
        pytest.param([], [], [], [], id="empty"),
    ],
)
def test_roots_cases(parent, has_parent, opener, expected) -> None:
    got = trees.roots(
        np.array(parent, dtype=np.int64), np.array(has_parent, dtype=bool),
        np.array(opener, dtype=np.int64),
    )  # fmt: skip
    assert got.tolist() == expected


def test_roots_of_a_long_chain() -> None:
    parent, has_parent, opener = chain(100_000)
    assert (trees.roots(parent, has_parent, opener) == 99_999).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True], ids=["distinct times", "many equal times"])
def test_thread_order_equals_lexsort(seed, ties) -> None:
    rng = np.random.default_rng(seed)
    parent, has_parent, opener = random_forest(rng, 4000)
    root = trees.roots(parent, has_parent, opener)
    t = rng.integers(0, 5 if ties else 10**12, len(root)).astype(np.int64)
    is_brand = rng.random(len(root)) < 0.4
    got = trees.thread_order(root, t, is_brand)
    np.testing.assert_array_equal(got, reference_order(root, t, is_brand))


@pytest.mark.parametrize("size", [2, 16, 17, 200])
def test_thread_order_long_threads_with_equal_times(size) -> None:
    """Threads past the insertion-sort size take the merge-sort path; the opening message
    still comes first among messages at its own time, later rows after earlier ones."""
    rng = np.random.default_rng(size)
    root = np.full(size, size - 1, dtype=np.int64)  # the opener is the last row
    t = rng.integers(0, 3, size).astype(np.int64)
    t[-1] = 1
    t[t < 1] = 1  # nothing before the opener
    is_brand = np.zeros(size, dtype=bool)
    got = trees.thread_order(root, t, is_brand)
    np.testing.assert_array_equal(got, reference_order(root, t, is_brand))
    assert got[0] == size - 1


def test_thread_order_leaves_out_brand_threads_orphans_and_earlier_messages() -> None:
    root = np.array([0, 0, 2, 2, -1, 0], dtype=np.int64)
    t = np.array([10, 20, 5, 6, 1, 9], dtype=np.int64)
    is_brand = np.array([False, True, True, False, False, False])
    # row 2 opens a brand's thread; row 4 is an orphan; row 5 is before its opener
    assert trees.thread_order(root, t, is_brand).tolist() == [0, 1]

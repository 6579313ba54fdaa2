"""Synthetic twcs archives with exact ground truth.

``python -m socialbench.synth --conversations N --brands B --seed S -o FILE.csv [--truth J]``
writes an archive in the layout of the public "Customer Support on Twitter" (twcs) dataset
and, next to it (``FILE.truth.json`` unless ``--truth`` says otherwise), the per-brand
response metrics that socialbench must find in it.

The truth is computed from what the generator decided (which replies it made, when, and of
which kind), never by re-reading the CSV. It follows socialbench's definitions:

- a *probe* is an inbound tweet with no ``in_response_to_tweet_id``; its *conversation* is
  the probe and every tweet replying to it, directly or through other replies;
- *brand messages* are non-inbound tweets of the conversation with
  ``probe_time <= created_at <= probe_time + W`` (W = 7 days);
- responded = at least one brand message; ttfr_s = first brand message time - probe time;
- link / dm / phone / email: some brand message offers a URL / asks to move to DM / gives a
  phone number / gives an email address (shares of responded probes);
- ack_only: the first brand message only acknowledges or apologises;
- resolved: a later customer message, after the first brand message and within the window,
  confirms the problem is solved (share of all probes).

Every probe's brand is the brand it mentions, which is also the only brand that replies.

Each brand has its own habits drawn from the seed: reply probability, a log-normal latency
with its own median (2 minutes to 10 hours), replies after the window, how often it links,
moves to DM, gives a phone number or an email address, only acknowledges, splits an answer
over two tweets, answers a customer's follow-up. Conversations have customer nudges before
the first reply, follow-ups (some confirming resolution, some beyond the window) and second
brand replies (some beyond the window). Boundary latencies (exactly 15 min, 1 h, 4 h, 24 h,
7 days, 7 days + 1 s, ...) are planted on purpose. Noise rows that belong to no probe
conversation: brand broadcasts and the replies to them, replies to tweets missing from the
file. Quirks of the real file: float parent ids (``3.0``), quoted comma-separated
``response_tweet_id`` lists (a few naming tweets absent from the file), rows and ids in no
time order, quoted texts with commas, double quotes, newlines and emoji.

Everything is vectorised with numpy and pyarrow (no Python loop per conversation or row):
1,000,000 conversations, about 2.2 million rows, take about ten seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import string
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from socialbench import arrowtext

WINDOW_S = 7 * 86400
WITHIN = {"15m": 900, "1h": 3600, "4h": 14400, "24h": 86400}
COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
START = 1506816000  # 2017-10-01 00:00:00 UTC
SPAN_S = 61 * 86400
FIRST_CUSTOMER = 115712
MAX_LATENCY_S = 30 * 86400
EDGE_LATENCIES = (
    0,
    1,
    900,
    901,
    3600,
    3601,
    14400,
    14401,
    86400,
    86401,
    WINDOW_S - 1,
    WINDOW_S,
    WINDOW_S + 1,
)

FLAGS = ("link", "dm", "phone", "email", "ack_only")

# Brand reply kinds. Habits decide the kind; the template within a kind is uniform.
ANSWER, LINK, DM, PHONE, EMAIL, ACK, GLAD = range(7)
HABIT_KINDS = (ANSWER, LINK, DM, PHONE, EMAIL, ACK)


def _t(kind, text, link=False, dm=False, phone=False, email=False, ack_only=False):
    flags = {"link": link, "dm": dm, "phone": phone, "email": email, "ack_only": ack_only}
    return kind, text, flags


# Brand reply bodies (after "@<customer> ", before the agent signature) and what they are.
BRAND_TEMPLATES = (
    _t(ANSWER, "Please restart the app and try again."),
    _t(ANSWER, "Could you tell us which version of the app you're using?"),
    _t(ANSWER, "Your order {order} is on its way and should arrive by {date}."),
    _t(ANSWER, "We've issued a refund of ${price}, it should show within 3-5 working days."),
    _t(ANSWER, "Sorry about that! Please clear the app cache under Settings > Apps and try again."),
    _t(ANSWER, "That's odd. Which device are you using, and when did this start?"),
    _t(ANSWER, "The outage was fixed at {time} today, so please try again now."),
    _t(LINK, "You can find the steps here: https://help.{domain}.com/article/{n}", link=True),
    _t(LINK, "This should help: https://t.co/{tco}", link=True),
    _t(
        LINK,
        "Sorry for the trouble! Please follow the steps at "
        "https://help.{domain}.com/article/{n} and let us know how it goes.",
        link=True,
    ),
    _t(
        LINK,
        "Please check https://t.co/{tco} or email us at help@{domain}-support.com.",
        link=True,
        email=True,
    ),
    _t(DM, "Please send us a DM with your order number so we can look into this.", dm=True),
    _t(DM, "Can you DM us your account email?", dm=True),
    _t(DM, "We're sorry to hear that! Send us a DM and we'll take a look.", dm=True),
    _t(DM, "Please DM us your order number, or call us on 0800 123 4567.", dm=True, phone=True),
    _t(PHONE, "Please call us on 0800 123 4567 so we can sort this out.", phone=True),
    _t(PHONE, "Please call 1-800-555-0199 and our team will help.", phone=True),
    _t(PHONE, "Our team can help by phone: call +44 20 7946 0958, 8am-8pm.", phone=True),
    _t(EMAIL, "Please email us at help@{domain}-support.com with the details.", email=True),
    _t(EMAIL, "Could you email support@{domain}.com with a screenshot?", email=True),
    _t(ACK, "We're sorry to hear that.", ack_only=True),
    _t(ACK, "Thanks for reaching out, we hear you.", ack_only=True),
    _t(ACK, "We apologise for the inconvenience.", ack_only=True),
    _t(ACK, "Sorry for the trouble, we understand how frustrating this is.", ack_only=True),
    # Only ever a second reply (to a customer's thanks), so never a first brand message.
    _t(GLAD, "Glad to hear it! Have a great day.", ack_only=None),
)

# Customer texts. ``confirms`` is what a resolution classifier must say; ``phone`` is what a
# phone classifier must say (None: no expectation; only brand messages are classified).
PROBE_PREFIXES = (
    "@{brand} ",  # the usual
    "Hi @{brand} ",  # the mention is not the first word
    "@{friend} @{brand} ",  # first @mention is another customer
    "@{brand_lower} ",  # the brand spelled in another case
    "@{brand} @{other} ",  # a second brand mentioned after the first
)
PROBE_PREFIX_P = (0.85, 0.04, 0.04, 0.03, 0.04)
PROBE_TEMPLATES = (
    ("order {order} placed {date} at {time} for ${price} never arrived", False),
    ("my card was charged ${price} twice on {date}, can someone help?", False),
    ("the app keeps crashing since the update on {date} \U0001f621", False),
    ("been on hold for 45 minutes since {time}, this is ridiculous", False),
    ("I sent you a DM 3 days ago and still no answer", False),
    ("checkout is broken, see screenshot https://t.co/{tco}", False),
    ("my account {email} is locked and the reset email never comes", False),
    ("I called 0800 123 4567 twice and nobody picks up", True),
    ('it just says "payment failed", again. Order {order}', False),
    ("why was my flight {flight} cancelled?\nNo email, no text, nothing.", False),
    (
        "parcel {order} marked delivered on {date} at {time} but nothing here. Paid ${price}!!",
        False,
    ),
)
# Customer replies to their own probe before any brand reply.
NUDGE_TEMPLATES = (
    ("Anyone there?", False),
    ("Hello?? Still waiting for a reply.", False),
    ("Any update? It's been hours.", False),
    ("Never mind, sorted it myself, thanks!", True),  # before the first brand message
)
FOLLOWUP_TEMPLATES = (
    ("Still not working. I already tried that.", False),
    ("Done, I've sent you a DM.", False),
    ("Which number should I call?", False),
    ("I emailed you already and got no reply.", False),
    ("That link doesn't load for me.", False),
    ("Ok, the order number is {order}.", False),
    ("Thanks, that fixed it!", True),
    ("All sorted now, thank you", True),
    ("That worked, thanks so much!", True),
    ("It's working again now, thanks for the help!", True),
    ("Problem solved, cheers!", True),
)
BROADCAST_TEMPLATES = (
    "We're aware some customers can't log in right now. Updates here: https://t.co/{tco}",
    "Our stores will close early at 6pm on {date}. Thanks for your patience!",
)
STRAY_CUSTOMER_TEMPLATES = (
    ("same here, can't log in since {time}", False),
    ("Thanks, that fixed it!", True),
    ("any update on this?", False),
)
SIGNATURES = ("", " ^{agent}", " -{agent}", " *{agent}")

BRAND_PREFIXES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Nakatomi",
    "Oceanic",
    "Gringotts",
    "Monarch",
    "Pied",
    "Dunder",
    "Sterling",
    "Prestige",
    "Massive",
    "Nimbus",
    "Zenith",
    "Apex",
    "Orbit",
    "Polar",
    "Summit",
    "Harbor",
    "Lumen",
    "Quanta",
    "Vertex",
    "Nova",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Helix",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lotus",
    "Meridian",
    "Northwind",
    "Onyx",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Sapphire",
    "Tundra",
    "Unity",
    "Vista",
    "Willow",
    "Xenon",
    "Yonder",
    "Zephyr",
    "Contoso",
    "Fabrikam",
)
BRAND_SUFFIXES = ("Help", "Support", "Cares", "Care", "_Help", "Service", "Team", "Assist")
CUSTOMER_NAMES = ("jane", "john", "ali", "mei", "sam", "lena", "omar", "priya", "tom", "ana")


# --------------------------------------------------------------------------------------
# rendering: templates -> pyarrow string arrays, one vectorised join per template


class _Rows:
    """Per-row context for rendering a batch of texts (numpy arrays of the batch's length)."""

    def __init__(self, rng, brands, *, brand, cust, friend=None, other=None, days=None):
        self.rng = rng
        self.brands = brands
        self.brand = brand
        self.cust = cust
        self.friend = friend
        self.other = other
        self.days = days

    def slot(self, name: str, sel: np.ndarray) -> pa.Array:
        rng, k = self.rng, len(sel)
        if name == "brand":
            return self.brands.handles.take(pa.array(self.brand[sel]))
        if name == "brand_lower":
            return self.brands.lower.take(pa.array(self.brand[sel]))
        if name == "other":
            return self.brands.handles.take(pa.array(self.other[sel]))
        if name == "domain":
            return self.brands.domains.take(pa.array(self.brand[sel]))
        if name == "cust":
            return pc.cast(pa.array(self.cust[sel]), pa.string())
        if name == "friend":
            return pc.cast(pa.array(self.friend[sel]), pa.string())
        if name == "order":
            return pc.cast(pa.array(rng.integers(10_000_000, 100_000_000, k)), pa.string())
        if name == "n":
            return pc.cast(pa.array(rng.integers(100, 100_000, k)), pa.string())
        if name == "date":
            day = _TWO_DIGITS.take(pa.array(rng.integers(1, 29, k)))
            month = _TWO_DIGITS.take(pa.array(rng.integers(9, 13, k)))
            return pc.binary_join_element_wise(day, "/", month, "/2017", "")
        if name == "time":
            hour = _TWO_DIGITS.take(pa.array(rng.integers(0, 24, k)))
            minute = _TWO_DIGITS.take(pa.array(rng.integers(0, 60, k)))
            return pc.binary_join_element_wise(hour, ":", minute, "")
        if name == "price":
            dollars = pc.cast(pa.array(rng.integers(5, 500, k)), pa.string())
            cents = _TWO_DIGITS.take(pa.array(rng.integers(0, 100, k)))
            return pc.binary_join_element_wise(dollars, ".", cents, "")
        if name == "tco":
            return _random_chars(rng, k, 10, _ALNUM)
        if name == "agent":
            return _random_chars(rng, k, 2, _UPPER)
        if name == "email":
            who = pa.array(CUSTOMER_NAMES).take(pa.array(rng.integers(0, len(CUSTOMER_NAMES), k)))
            num = pc.cast(pa.array(rng.integers(1, 1000, k)), pa.string())
            return pc.binary_join_element_wise(who, ".", num, "@example.com", "")
        if name == "flight":
            code = pa.array(["BA", "UA", "DL", "LH", "AF"]).take(pa.array(rng.integers(0, 5, k)))
            num = pc.cast(pa.array(rng.integers(100, 10_000, k)), pa.string())
            return pc.binary_join_element_wise(code, num, "")
        raise KeyError(name)


_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])
_ALNUM = np.frombuffer((string.ascii_letters + string.digits).encode(), dtype=np.uint8)
# agent initials: no D or M, so that no signature reads "^DM"
_UPPER = np.frombuffer(b"ABCEFGHJKLNPRSTVWY", dtype=np.uint8)


def _random_chars(rng, k: int, width: int, alphabet: np.ndarray) -> pa.Array:
    chars = alphabet[rng.integers(0, len(alphabet), (k, width))]
    return pa.array(np.ascontiguousarray(chars).view(f"S{width}").ravel()).cast(pa.string())


def _parse(template: str) -> list[tuple[str, str | None]]:
    return [(lit, field) for lit, field, _, _ in string.Formatter().parse(template)]


def _render(templates, choice: np.ndarray, rows: _Rows) -> pa.Array:
    """Text of each row: ``templates[choice[i]]`` with its {slots} filled from ``rows``."""
    n = len(choice)
    order = np.argsort(choice, kind="stable")
    counts = np.bincount(choice, minlength=len(templates))
    pieces, start = [], 0
    for j, template in enumerate(templates):
        sel = order[start : start + counts[j]]
        start += counts[j]
        if not len(sel):
            continue
        parts: list = []
        for literal, field in _parse(template):
            if literal:
                parts.append(literal)
            if field is not None:
                parts.append(rows.slot(field, sel))
        if all(isinstance(p, str) for p in parts):
            pieces.append(pa.array(["".join(parts)] * len(sel), pa.string()))
        elif len(parts) == 1:
            pieces.append(parts[0])
        else:
            pieces.append(pc.binary_join_element_wise(*parts, ""))
    if not pieces:
        return pa.array([], pa.string())
    joined = pa.concat_arrays([p.cast(pa.string()) for p in pieces])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return joined.take(pa.array(inverse))


def _join(*arrays: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*arrays, "")


# --------------------------------------------------------------------------------------
# brands and their habits


class _Brands:
    def __init__(self, rng, count: int):
        combos = [(p, s) for s in BRAND_SUFFIXES for p in BRAND_PREFIXES]
        picked = rng.permutation(len(combos))[:count]
        names, domains = [], []
        for k in picked:
            prefix, suffix = combos[k]
            names.append(prefix + suffix)
            domains.append(prefix.lower())
        for i in range(len(names), count):  # more brands than combinations: number them
            prefix, suffix = combos[i % len(combos)]
            names.append(f"{prefix}{suffix}{i // len(combos)}")
            domains.append(f"{prefix.lower()}{i // len(combos)}")
        self.names = names
        self.handles = pa.array(names, pa.string())
        self.lower = pa.array([h.lower() for h in names], pa.string())
        self.domains = pa.array(domains, pa.string())
        b = count
        rank = rng.permutation(b)
        popularity = 1.0 / (rank + 1.0) ** 0.7
        self.popularity = popularity / popularity.sum()
        self.p_reply = rng.uniform(0.2, 0.98, b)
        self.median_s = np.exp(rng.uniform(np.log(120.0), np.log(36_000.0), b))
        self.sigma = rng.uniform(0.5, 1.5, b)
        self.p_late = rng.uniform(0.0, 0.04, b)
        kinds = rng.dirichlet([1.2, 0.8, 0.8, 0.3, 0.3, 0.8], b)  # HABIT_KINDS order
        self.kind_cdf = np.cumsum(kinds, axis=1)
        no_ack = kinds.copy()
        no_ack[:, ACK] = 0.0
        self.kind_cdf_no_ack = np.cumsum(no_ack / no_ack.sum(axis=1, keepdims=True), axis=1)
        self.p_split = rng.uniform(0.0, 0.25, b)
        self.p_follow = rng.uniform(0.15, 0.6, b)
        self.p_confirm = rng.uniform(0.1, 0.6, b)
        self.p_answer_follow = rng.uniform(0.3, 0.9, b)
        self.p_nudge = rng.uniform(0.02, 0.12, b)
        self.signature = rng.integers(0, len(SIGNATURES), b)


def _latency(rng, brands: _Brands, b: np.ndarray) -> np.ndarray:
    """Brand reply latencies in whole seconds (log-normal per brand, some after the window)."""
    n = len(b)
    z = rng.standard_normal(n)
    lat = np.floor(np.exp(np.log(brands.median_s[b]) + brands.sigma[b] * z))
    lat = np.minimum(lat, MAX_LATENCY_S).astype(np.int64)
    late = rng.random(n) < brands.p_late[b]
    lat = np.where(late, WINDOW_S + 1 + rng.integers(0, 2 * WINDOW_S, n), lat)
    return lat


def _delay(rng, n: int, median_s: float, sigma: float) -> np.ndarray:
    """Customer delays: at least one second, so a follow-up is strictly after its parent."""
    lat = np.floor(np.exp(np.log(median_s) + sigma * rng.standard_normal(n)))
    return np.clip(lat, 1, MAX_LATENCY_S).astype(np.int64)


def _pick(rng, cdf: np.ndarray) -> np.ndarray:
    """One category per row from per-row cumulative probabilities."""
    u = rng.random(len(cdf))[:, None]
    return np.minimum((u >= cdf).sum(axis=1), cdf.shape[1] - 1)


_KIND_OF = np.array([k for k, _, _ in BRAND_TEMPLATES])
_BY_KIND = [np.flatnonzero(_KIND_OF == k) for k in range(GLAD + 1)]
_FLAG = {f: np.array([bool(t[2][f]) for t in BRAND_TEMPLATES]) for f in FLAGS}
_FOLLOW_CONFIRM = np.flatnonzero([c for _, c in FOLLOWUP_TEMPLATES])
_FOLLOW_OTHER = np.flatnonzero([not c for _, c in FOLLOWUP_TEMPLATES])


def _template_of(rng, kind: np.ndarray) -> np.ndarray:
    """A uniformly chosen brand template of each row's kind."""
    sizes = np.array([len(x) for x in _BY_KIND])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(_BY_KIND)
    return flat[offsets[kind] + (rng.random(len(kind)) * sizes[kind]).astype(np.int64)]


def _choose(rng, pool: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), n)]


# --------------------------------------------------------------------------------------
# the archive


class _Table:
    """Rows added segment by segment; parents are row numbers (or ids absent from the file)."""

    def __init__(self):
        self.parts: list[dict] = []
        self.size = 0

    def add(self, *, author, inbound, ts, text, parent=None, missing_parent=None) -> np.ndarray:
        """``author``: brand numbers for brand rows, customer ids for inbound rows."""
        n = len(ts)
        rows = self.size + np.arange(n)
        self.parts.append(
            {
                "author": np.asarray(author, dtype=np.int64),
                "inbound": np.full(n, inbound),
                "ts": np.asarray(ts, dtype=np.int64),
                "text": text,
                "parent": np.full(n, -1) if parent is None else parent,
                "missing": np.zeros(n, np.int64) if missing_parent is None else missing_parent,
            }
        )
        self.size += n
        return rows


def _slot_rows(mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Row number of a conversation's optional slot, -1 where the slot is absent."""
    out = np.full(len(mask), -1, dtype=np.int64)
    out[mask] = rows
    return out


def generate(conversations: int, *, brands: int = 100, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """An archive of ``conversations`` probes (shuffled twcs rows) and its ground truth.

    The DataFrame holds the CSV's columns as written: ``tweet_id`` int64, the others strings
    (``<NA>`` for empty fields, ``in_response_to_tweet_id`` like ``"3.0"``, ``inbound``
    ``"True"``/``"False"``).
    """
    table, truth = _generate(conversations, brands, seed)
    return table.to_pandas(), truth


def _generate(conversations: int, brands_n: int, seed: int) -> tuple[pa.Table, dict]:
    if conversations < 1:
        raise ValueError("conversations must be at least 1")
    if brands_n < 1:
        raise ValueError("brands must be at least 1")
    rng = np.random.default_rng(seed)
    brands = _Brands(rng, brands_n)
    n = conversations
    W = WINDOW_S

    # ---- decisions, one array per conversation -----------------------------------------
    b = rng.choice(brands_n, n, p=brands.popularity)
    cust = FIRST_CUSTOMER + rng.integers(0, max(1, int(n * 0.8)), n)
    t0 = START + rng.integers(0, SPAN_S, n)
    end = t0 + W

    has_r1 = rng.random(n) < brands.p_reply[b]
    lat1 = _latency(rng, brands, b)
    edge = rng.random(n) < 0.01
    lat1 = np.where(edge, np.array(EDGE_LATENCIES)[rng.integers(0, len(EDGE_LATENCIES), n)], lat1)
    # and a few of each boundary in every archive, however small
    forced = rng.choice(n, size=min(n, 3 * len(EDGE_LATENCIES)), replace=False)
    has_r1[forced] = True
    lat1[forced] = np.resize(np.array(EDGE_LATENCIES), len(forced))
    t_r1 = t0 + lat1
    kind1 = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf[b])]
    tmpl1 = _template_of(rng, kind1)

    # a nudge from the customer before any brand reply (strictly between probe and reply)
    has_nudge = (rng.random(n) < brands.p_nudge[b]) & (~has_r1 | (lat1 >= 2))
    u = rng.random(n)
    t_nudge = np.where(
        has_r1,
        t0 + 1 + np.floor(u * np.maximum(lat1 - 1, 0)).astype(np.int64),
        t0 + _delay(rng, n, 7200, 1.2),
    )
    nudge_tmpl = rng.integers(0, len(NUDGE_TEMPLATES), n)
    r1_to_nudge = has_nudge & (rng.random(n) < 0.5)

    # the first reply split over two tweets
    p_split = brands.p_split[b] * np.where(kind1 == ACK, 2.5, 1.0)
    has_r1b = has_r1 & (rng.random(n) < p_split)
    t_r1b = t_r1 + 5 + rng.integers(0, 300, n)
    kind1b = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf_no_ack[b])]
    tmpl1b = _template_of(rng, kind1b)
    last_brand = np.where(has_r1b, t_r1b, t_r1)

    # the customer's follow-up, after the last of those
    has_f = has_r1 & (rng.random(n) < brands.p_follow[b])
    t_f = last_brand + _delay(rng, n, 1200, 1.8)
    edge_f = rng.random(n) < 0.02
    t_edge = end + rng.integers(0, 2, n)
    t_f = np.where(edge_f & (t_edge > last_brand), t_edge, t_f)
    confirm_f = rng.random(n) < brands.p_confirm[b]
    tmpl_f = np.where(confirm_f, _choose(rng, _FOLLOW_CONFIRM, n), _choose(rng, _FOLLOW_OTHER, n))
    f_to_r1b = has_r1b & (rng.random(n) < 0.5)

    # the brand's answer to the follow-up
    has_r2 = has_f & (rng.random(n) < np.where(confirm_f, 0.3, brands.p_answer_follow[b]))
    t_r2 = t_f + np.maximum(_latency(rng, brands, b), 1)
    edge_r2 = rng.random(n) < 0.02
    t_edge = end + rng.integers(0, 2, n)
    t_r2 = np.where(edge_r2 & (t_edge > t_f), t_edge, t_r2)
    kind2 = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf[b])]
    kind2 = np.where(confirm_f, GLAD, kind2)
    tmpl2 = _template_of(rng, kind2)

    # the customer's second follow-up
    has_f2 = has_r2 & ~confirm_f & (rng.random(n) < 0.5)
    t_f2 = t_r2 + _delay(rng, n, 1800, 1.5)
    confirm_f2 = rng.random(n) < brands.p_confirm[b]
    tmpl_f2 = np.where(confirm_f2, _choose(rng, _FOLLOW_CONFIRM, n), _choose(rng, _FOLLOW_OTHER, n))

    # ---- noise outside every probe conversation ----------------------------------------
    n_broadcast = max(1, n // 200)
    bc_brand = rng.integers(0, brands_n, n_broadcast)
    bc_t = START + rng.integers(0, SPAN_S, n_broadcast)
    bc_replies = rng.integers(0, 3, n_broadcast)
    n_orphan = n // 100  # brand replies to tweets missing from the file
    orphan_brand = rng.integers(0, brands_n, n_orphan)
    n_stray = n // 200  # customer replies to tweets missing from the file

    known = np.zeros(brands_n, bool)
    known[b[has_r1]] = True
    known[bc_brand] = True
    known[orphan_brand] = True

    # ---- rows ---------------------------------------------------------------------------
    tab = _Table()

    def brand_text(sel_b, sel_cust, tmpl):
        rows = _Rows(rng, brands, brand=sel_b, cust=sel_cust)
        head = _render(("@{cust} ",), np.zeros(len(sel_b), np.int64), rows)
        body = _render([t for _, t, _ in BRAND_TEMPLATES], tmpl, rows)
        sig = _render(SIGNATURES, brands.signature[sel_b], rows)
        return _join(head, body, sig)

    def customer_text(sel_b, sel_cust, templates, tmpl):
        rows = _Rows(rng, brands, brand=sel_b, cust=sel_cust)
        head = _render(("@{brand} ",), np.zeros(len(sel_b), np.int64), rows)
        return _join(head, _render([t for t, _ in templates], tmpl, rows))

    # probes
    variant = _pick(rng, np.tile(np.cumsum(PROBE_PREFIX_P), (n, 1)))
    needs_known = (variant == 2) | (variant == 3) | (variant == 4)
    variant = np.where(needs_known & ~known[b], 0, variant)
    if brands_n < 2:
        variant = np.where(variant == 4, 0, variant)
    other = (b + 1 + rng.integers(0, max(brands_n - 1, 1), n)) % brands_n
    friend = FIRST_CUSTOMER + rng.integers(0, max(1, int(n * 0.8)), n)
    rows = _Rows(rng, brands, brand=b, cust=cust, friend=friend, other=other)
    probe_text = _join(
        _render(PROBE_PREFIXES, variant, rows),
        _render([t for t, _ in PROBE_TEMPLATES], rng.integers(0, len(PROBE_TEMPLATES), n), rows),
    )
    p_rows = tab.add(author=cust, inbound=True, ts=t0, text=probe_text)

    def slot(mask, *, author_brand, ts, parent, text):
        sel = np.flatnonzero(mask)
        author = b[sel] if author_brand else cust[sel]
        rows_ = tab.add(
            author=author, inbound=not author_brand, ts=ts[sel], parent=parent[sel], text=text(sel)
        )
        return _slot_rows(mask, rows_)

    nudge_rows = slot(
        has_nudge,
        author_brand=False,
        ts=t_nudge,
        parent=p_rows,
        text=lambda s: customer_text(b[s], cust[s], NUDGE_TEMPLATES, nudge_tmpl[s]),
    )
    r1_rows = slot(
        has_r1,
        author_brand=True,
        ts=t_r1,
        parent=np.where(r1_to_nudge, nudge_rows, p_rows),
        text=lambda s: brand_text(b[s], cust[s], tmpl1[s]),
    )
    r1b_rows = slot(
        has_r1b,
        author_brand=True,
        ts=t_r1b,
        parent=r1_rows,
        text=lambda s: brand_text(b[s], cust[s], tmpl1b[s]),
    )
    f_rows = slot(
        has_f,
        author_brand=False,
        ts=t_f,
        parent=np.where(f_to_r1b, r1b_rows, r1_rows),
        text=lambda s: customer_text(b[s], cust[s], FOLLOWUP_TEMPLATES, tmpl_f[s]),
    )
    r2_rows = slot(
        has_r2,
        author_brand=True,
        ts=t_r2,
        parent=f_rows,
        text=lambda s: brand_text(b[s], cust[s], tmpl2[s]),
    )
    slot(
        has_f2,
        author_brand=False,
        ts=t_f2,
        parent=r2_rows,
        text=lambda s: customer_text(b[s], cust[s], FOLLOWUP_TEMPLATES, tmpl_f2[s]),
    )

    # broadcasts and customers answering them
    rows = _Rows(rng, brands, brand=bc_brand, cust=None)
    bc_rows = tab.add(
        author=bc_brand,
        inbound=False,
        ts=bc_t,
        text=_render(
            BROADCAST_TEMPLATES, rng.integers(0, len(BROADCAST_TEMPLATES), n_broadcast), rows
        ),
    )
    rep = np.repeat(np.arange(n_broadcast), bc_replies)
    rep_cust = FIRST_CUSTOMER + rng.integers(0, max(1, int(n * 0.8)), len(rep))
    tab.add(
        author=rep_cust,
        inbound=True,
        ts=bc_t[rep] + _delay(rng, len(rep), 1800, 1.5),
        parent=bc_rows[rep],
        text=customer_text(
            bc_brand[rep], rep_cust, STRAY_CUSTOMER_TEMPLATES, rng.integers(0, 2, len(rep))
        ),
    )
    # replies to tweets absent from the file (ids above every real id: filled in below)
    orphan_cust = FIRST_CUSTOMER + rng.integers(0, max(1, int(n * 0.8)), n_orphan)
    orphan_t = START + rng.integers(0, SPAN_S, n_orphan)
    missing_next = [0]

    def missing_ids(k):
        ids = missing_next[0] + np.arange(1, k + 1)
        missing_next[0] += k
        return ids  # offsets; the table size is added once known

    orphan_rows = tab.add(
        author=orphan_brand,
        inbound=False,
        ts=orphan_t,
        missing_parent=missing_ids(n_orphan),
        text=brand_text(
            orphan_brand,
            orphan_cust,
            _template_of(rng, np.array(HABIT_KINDS)[rng.integers(0, 6, n_orphan)]),
        ),
    )
    answered = rng.random(n_orphan) < 0.5
    tab.add(
        author=orphan_cust[answered],
        inbound=True,
        ts=orphan_t[answered] + _delay(rng, int(answered.sum()), 1800, 1.5),
        parent=orphan_rows[answered],
        text=customer_text(
            orphan_brand[answered],
            orphan_cust[answered],
            FOLLOWUP_TEMPLATES,
            rng.integers(0, len(FOLLOWUP_TEMPLATES), int(answered.sum())),
        ),
    )
    stray_brand = rng.integers(0, brands_n, n_stray)
    stray_cust = FIRST_CUSTOMER + rng.integers(0, max(1, int(n * 0.8)), n_stray)
    tab.add(
        author=stray_cust,
        inbound=True,
        ts=START + rng.integers(0, SPAN_S, n_stray),
        missing_parent=missing_ids(n_stray),
        text=customer_text(
            stray_brand, stray_cust, STRAY_CUSTOMER_TEMPLATES, rng.integers(1, 3, n_stray)
        ),
    )
    # a few probes list a reply that is absent from the file
    dangling_probe = np.flatnonzero(rng.random(n) < 0.01)
    dangling_ids = missing_ids(len(dangling_probe))

    table = _assemble(rng, tab, brands.handles, p_rows[dangling_probe], dangling_ids)

    # ---- the truth, from the decisions ------------------------------------------------
    responded = has_r1 & (lat1 <= W)
    in_r1b = has_r1b & (t_r1b <= end)
    in_r2 = has_r2 & (t_r2 <= end)
    flags = {
        f: (responded & _FLAG[f][tmpl1]) | (in_r1b & _FLAG[f][tmpl1b]) | (in_r2 & _FLAG[f][tmpl2])
        for f in ("link", "dm", "phone", "email")
    }
    flags["ack_only"] = responded & _FLAG["ack_only"][tmpl1]
    resolved = responded & (
        (has_f & confirm_f & (t_f <= end)) | (has_f2 & confirm_f2 & (t_f2 <= end))
    )
    truth = _truth(brands.names, b, responded, np.where(responded, lat1, 0), flags, resolved)
    truth["params"] = {
        "conversations": conversations,
        "brands": brands_n,
        "seed": seed,
        "rows": table.num_rows,
    }
    return table, truth


def _assemble(rng, tab: _Table, handles: pa.Array, dangling_parent, dangling_ids) -> pa.Table:
    parts = tab.parts
    m = tab.size
    author = np.concatenate([p["author"] for p in parts])
    inbound = np.concatenate([p["inbound"] for p in parts])
    ts = np.concatenate([p["ts"] for p in parts])
    parent = np.concatenate([p["parent"] for p in parts]).astype(np.int64)
    missing = np.concatenate([p["missing"] for p in parts]).astype(np.int64)
    text = pa.concat_arrays([p["text"] for p in parts])

    ids = rng.permutation(m).astype(np.int64) + 1  # tweet ids in no time order
    parent_id = np.where(parent >= 0, ids[np.maximum(parent, 0)], 0)
    parent_id = np.where(missing > 0, m + missing, parent_id)
    has_parent = parent_id > 0

    # response_tweet_id: the children of each row, in no particular order
    child_parent = np.concatenate([parent[parent >= 0], dangling_parent])
    child_id = np.concatenate([ids[parent >= 0], m + dangling_ids])
    order = np.lexsort((rng.random(len(child_parent)), child_parent))
    child_parent, child_id = child_parent[order], child_id[order]
    first = np.r_[True, child_parent[1:] != child_parent[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    position = np.arange(len(first)) - group_start
    responses = None
    for j in range(int(position.max()) + 1 if len(position) else 0):
        at = position == j
        values = np.zeros(m, np.int64)
        values[child_parent[at]] = child_id[at]
        mask = np.ones(m, bool)
        mask[child_parent[at]] = False
        col = pc.cast(pa.array(values, mask=mask), pa.string())
        if responses is None:
            responses = col
        else:
            joined = pc.binary_join_element_wise(responses, col, ",")
            responses = pc.if_else(pc.is_valid(col), joined, responses)
    if responses is None:
        responses = pa.nulls(m, pa.string())

    in_reply = pc.binary_join_element_wise(
        pc.cast(pa.array(parent_id, mask=~has_parent), pa.string()), ".0", ""
    )
    author_str = pc.if_else(
        pa.array(inbound),
        pc.cast(pa.array(author), pa.string()),
        handles.take(pa.array(np.where(inbound, 0, author))),
    )
    table = pa.table(
        {
            "tweet_id": pa.array(ids),
            "author_id": author_str,
            "inbound": pa.array(["False", "True"]).take(pa.array(inbound.astype(np.int8))),
            "created_at": _twitter_times(ts),
            "text": text,
            "response_tweet_id": responses,
            "in_response_to_tweet_id": in_reply,
        }
    )
    return table.take(pa.array(rng.permutation(m)))


def _twitter_times(ts: np.ndarray) -> pa.Array:
    """Epoch seconds -> ``Tue Oct 31 22:10:47 +0000 2017`` (via per-day and per-second tables)."""
    day = ts // 86400
    first_day = int(day.min())
    days = np.arange(first_day, int(day.max()) + 1)
    dates = [dt.datetime.fromtimestamp(int(d) * 86400, dt.UTC) for d in days]
    heads = pa.array([d.strftime("%a %b %d ") for d in dates])
    tails = pa.array([d.strftime(" +0000 %Y") for d in dates])
    clock = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])
    di = pa.array(day - first_day)
    return _join(heads.take(di), clock.take(pa.array(ts % 86400)), tails.take(di))


# --------------------------------------------------------------------------------------
# the truth


def _quantile(sorted_s: np.ndarray, num: int, den: int) -> float:
    """Linear-interpolation quantile q = num/den (numpy's default, SQL quantile_cont), exactly.

    h = (n - 1) q; the value x[floor h] + (x[floor h + 1] - x[floor h]) (h - floor h) is
    worked out in integers and rounded once, so it does not depend on how a library orders
    its floating-point operations (numpy, pandas and DuckDB differ in the last bit).
    """
    lo, rest = divmod((len(sorted_s) - 1) * num, den)
    a = int(sorted_s[lo])
    b = int(sorted_s[min(lo + 1, len(sorted_s) - 1)])
    return (den * a + rest * (b - a)) / den


def _truth(names, b, responded, ttfr, flags, resolved) -> dict:
    nb = len(names)
    probes = np.bincount(b, minlength=nb)
    resp = np.bincount(b, weights=responded, minlength=nb).astype(np.int64)
    resp_b, resp_t = b[responded], ttfr[responded]
    order = np.lexsort((resp_t, resp_b))
    sorted_t = resp_t[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(resp_b, minlength=nb))])

    def count(mask):
        return np.bincount(b[mask], minlength=nb).astype(np.int64)

    within = {k: count(responded & (ttfr <= s)) for k, s in {**WITHIN, "window": WINDOW_S}.items()}
    flag_counts = {f: count(v) for f, v in flags.items()}
    deflect = count(flags["dm"] | flags["phone"] | flags["email"])
    resolved_n = count(resolved)
    out = {}
    for i in np.argsort(np.array(names, dtype=object)):
        if probes[i] == 0:
            continue
        p, r = int(probes[i]), int(resp[i])
        t = sorted_t[bounds[i] : bounds[i + 1]]

        def share(k, over):
            return None if over == 0 else int(k) / over

        median = _quantile(t, 1, 2) if r else None
        p90 = _quantile(t, 9, 10) if r else None
        out[names[i]] = {
            "probes": p,
            "responded": r,
            "response_rate": r / p,
            "ttfr_median_s": median,
            "ttfr_p90_s": p90,
            "ttfr_mean_s": int(t.sum()) / r if r else None,
            "within": {k: share(v[i], p) for k, v in within.items()},
            "link_rate": share(flag_counts["link"][i], r),
            "dm_rate": share(flag_counts["dm"][i], r),
            "phone_rate": share(flag_counts["phone"][i], r),
            "email_rate": share(flag_counts["email"][i], r),
            "ack_only_rate": share(flag_counts["ack_only"][i], r),
            "deflection_rate": share(deflect[i], r),
            "resolution_rate": share(resolved_n[i], p),
        }
    return {"window_s": WINDOW_S, "brands": out}


def examples(per_template: int = 12, *, brands: int = 8, seed: int = 0) -> list[dict]:
    """Rendered texts of every template, as they appear in archives, with what they are.

    Each item: ``role`` (brand, probe, nudge, followup, stray), ``template`` (its index in
    that role's table), ``text`` and ``expect``, a dict of classifier name -> bool (brand
    replies: link, dm, phone, email, ack_only; customer replies: confirms_resolution;
    probes: phone). For checking that a classifier reads the archive as intended.
    """
    rng = np.random.default_rng(seed)
    table = _Brands(rng, brands)
    k = per_template
    ctx = _Rows(
        rng,
        table,
        brand=np.arange(k) % brands,
        cust=FIRST_CUSTOMER + np.arange(k),
        friend=FIRST_CUSTOMER + 5000 + np.arange(k),
        other=(np.arange(k) + 1) % brands,
    )
    zeros = np.zeros(k, np.int64)
    out: list[dict] = []
    bodies = [t for _, t, _ in BRAND_TEMPLATES]
    for j, (_, _, flags) in enumerate(BRAND_TEMPLATES):
        texts = _join(
            _render(("@{cust} ",), zeros, ctx),
            _render(bodies, zeros + j, ctx),
            _render(SIGNATURES, np.arange(k) % len(SIGNATURES), ctx),
        )
        expect = {f: v for f, v in flags.items() if v is not None}
        out += [
            {"role": "brand", "template": j, "text": t, "expect": expect} for t in texts.to_pylist()
        ]
    probe_bodies = [t for t, _ in PROBE_TEMPLATES]
    for j, (_, phone) in enumerate(PROBE_TEMPLATES):
        texts = _join(
            _render(PROBE_PREFIXES, np.arange(k) % len(PROBE_PREFIXES), ctx),
            _render(probe_bodies, zeros + j, ctx),
        )
        out += [
            {"role": "probe", "template": j, "text": t, "expect": {"phone": phone}}
            for t in texts.to_pylist()
        ]
    for role, templates in (
        ("nudge", NUDGE_TEMPLATES),
        ("followup", FOLLOWUP_TEMPLATES),
        ("stray", STRAY_CUSTOMER_TEMPLATES),
    ):
        for j, (_, confirms) in enumerate(templates):
            texts = _join(
                _render(("@{brand} ",), zeros, ctx),
                _render([t for t, _ in templates], zeros + j, ctx),
            )
            out += [
                {
                    "role": role,
                    "template": j,
                    "text": t,
                    "expect": {"confirms_resolution": confirms},
                }
                for t in texts.to_pylist()
            ]
    return out


# --------------------------------------------------------------------------------------
# files


def write_csv(table: pa.Table | pd.DataFrame, path: str | Path) -> None:
    """Write rows in the twcs layout: quotes only where needed, empty fields for nulls."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table[list(COLUMNS)], preserve_index=False)
    fields = [_csv_field(table[c], c) for c in COLUMNS]
    lines = pc.binary_join_element_wise(*fields, pa.scalar(","))
    lines = pc.binary_join_element_wise(lines, "\n", "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks() if lines.num_chunks else pa.array([], pa.string())
    with open(path, "wb") as out:
        out.write((",".join(COLUMNS) + "\n").encode())
        if len(lines):
            out.write(memoryview(arrowtext.TextBuffers(lines).data))  # every line, in place


def _csv_field(column, name: str) -> pa.Array:
    """One column as CSV fields: quoted (quotes doubled) only when it holds , " or a newline."""
    text = pc.fill_null(pc.cast(column, pa.string()), "")
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if name not in _FREE_TEXT:  # ids, flags and timestamps never need quotes
        return text
    needs = pc.match_substring_regex(text, r'[,"\r\n]')
    some = pc.filter(text, needs)
    if not len(some):
        return text
    quoted = _join(pa.scalar('"'), pc.replace_substring(some, '"', '""'), pa.scalar('"'))
    return pc.replace_with_mask(text, needs, quoted)


_FREE_TEXT = ("author_id", "text", "response_tweet_id")


def default_truth_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".truth.json")


def write(
    path: str | Path,
    conversations: int,
    *,
    brands: int = 100,
    seed: int = 1,
    truth_path: str | Path | None = None,
) -> dict:
    """Generate an archive, write it to ``path`` and its truth next to it; return the truth."""
    table, truth = _generate(conversations, brands, seed)
    write_csv(table, path)
    truth_path = default_truth_path(path) if truth_path is None else Path(truth_path)
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socialbench.synth",
        description="Write a synthetic twcs archive and its exact per-brand ground truth.",
    )
    parser.add_argument("--conversations", type=int, default=10_000, help="probes to generate")
    parser.add_argument("--brands", type=int, default=100, help="brand accounts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", required=True, help="archive CSV to write")
    parser.add_argument("--truth", help="truth JSON (default: OUTPUT with .truth.json)")
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.brands < 1:
        parser.error("--conversations and --brands must be at least 1")
    out = Path(args.output)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    truth = write(
        out, args.conversations, brands=args.brands, seed=args.seed, truth_path=args.truth
    )
    truth_path = default_truth_path(out) if args.truth is None else Path(args.truth)
    print(
        f"wrote {out} ({truth['params']['rows']:,} rows, {args.conversations:,} conversations, "
        f"{len(truth['brands'])} brands) and {truth_path} in "
        f"{time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Synthetic twcs archives with exact ground truth.

``python tests/synth.py --conversations N --brands B --seed S -o FILE.csv [--truth J]``
writes an archive in the layout of the public "Customer Support on Twitter" (twcs) dataset
and, next to it (``FILE.truth.json`` unless ``--truth`` says otherwise), the per-brand
response metrics that socialbench must find in it.

The truth is computed from what the generator decided (which replies it made, when, to whom
and of which kind), never by re-reading the CSV. It follows socialbench's definitions
(METRICS.md):

- a *probe* is an inbound tweet with no ``in_response_to_tweet_id``; its *conversation* is
  the probe and every tweet replying to it, directly or through other replies;
- the probe's *exchange* is the probe and every reply to a tweet of the exchange written by
  the probe's customer or by a brand account: another customer who joins the thread ("same
  problem here"), what the brand says to them, and everything below them are not in it;
- *brand messages* are non-inbound tweets of the exchange with
  ``probe_time <= created_at <= probe_time + W`` (W = 7 days);
- responded = at least one brand message; ttfr_s = first brand message time - probe time;
- link / dm / phone / email: some brand message offers a URL / asks to move to DM / gives a
  phone number / gives an email address (shares of responded probes); an e-mail inbox
  ("check your inbox") is not a DM request;
- ack_only: the first brand message only acknowledges or apologises;
- resolved: a later message of the probe's customer in the exchange, after the first brand
  message and within the window, confirms the problem is solved (share of all probes).

Every probe's brand is the brand it mentions, which is also the only brand that replies in
its conversation (to the probe's customer or to others), so the brand of a probe is the
same whether it is read from the first brand message of the conversation, of the exchange,
or from the probe's mentions.

Each brand has its own habits drawn from the seed: reply probability, a log-normal latency
with its own median (2 minutes to 10 hours), replies after the window, how often it links,
moves to DM, gives a phone number or an email address, only acknowledges, splits an answer
over two tweets, answers a customer's follow-up. Conversations have customer nudges before
the first reply, follow-ups (some confirming resolution, some beyond the window) and second
brand replies (some beyond the window). Boundary latencies (exactly 15 min, 1 h, 4 h, 24 h,
7 days, 7 days + 1 s, ...) are planted on purpose.

A few percent of threads are joined by another customer, replying to the probe or to the
brand's first reply. The brand answers many of them: some before it answers the probe's
customer (or instead of answering them), some later, some days later within the window,
with every kind of reply (links, DMs, phone numbers, ...). Below the other customer the
thread goes on: their own follow-ups (some saying "that fixed it"), the probe's customer
replying there (some confirming) and the brand answering the probe's customer there. None of
it is in the exchange, so none of it is in the truth.

Noise rows that belong to no probe conversation: brand broadcasts and the replies to them,
replies to tweets missing from the file. Quirks of the real file: float parent ids
(``3.0``), quoted comma-separated ``response_tweet_id`` lists (a few naming tweets absent
from the file), rows and ids in no time order, quoted texts with commas, double quotes,
newlines and emoji.

Everything is vectorised with numpy and pyarrow (no Python loop per conversation or row).
Texts are rendered once as ``large_string`` segments; the CSV is written in chunks of rows
(``CHUNK_ROWS``), each gathered from those segments, so an archive of any size is written
without a string array over 2 GiB and with memory for the rows' numbers and texts plus one
chunk. A seed gives the same bytes whatever the chunk size. On a 2-core machine, 1,000,000
conversations (2.3 million rows, 0.3 GB) take about 10 s and 1.4 GB of peak memory;
10,000,000 (22.7 million rows, 3.1 GB) about 110 s and 4.9 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import string
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
P_JOIN = 0.04  # share of threads another customer joins
MIN_JOINS = 8  # and at least this many in every archive (or every thread of a smaller one)
CHUNK_ROWS = 1 << 20  # rows per chunk of the CSV written
LARGE = pa.large_string()  # rendered texts: a segment may hold over 2 GiB

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
    # e-mail inboxes: not a move to private messages (METRICS, Reply-type detection)
    _t(
        ANSWER,
        "We've sent a password reset link to your email, please check your inbox or spam folder.",
    ),
    _t(
        EMAIL,
        "Please email help@{domain}-support.com and keep an eye on your inbox for our reply.",
        email=True,
    ),
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
# Another customer joining a probe's thread (replying to the probe or to a brand reply).
JOIN_TEMPLATES = (
    ("same problem here", False),
    ("Same here! Mine stopped working on {date} too", False),
    ("+1, exactly the same thing happened to me", False),
    ("Same issue for me since {time}, any news?", False),
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
    """Text of each row: ``templates[choice[i]]`` with its {slots} filled from ``rows``
    (``large_string``: a segment of millions of rows may hold over 2 GiB)."""
    n = len(choice)
    order = np.argsort(choice, kind="stable")
    counts = np.bincount(choice, minlength=len(templates))
    pieces, start = [], 0
    for j, template in enumerate(templates):
        sel = order[start : start + counts[j]]
        start += counts[j]
        if len(sel):
            pieces.append(_fill(template, rows, sel))
    if not pieces:
        return pa.array([], LARGE)
    joined = pa.concat_arrays(pieces)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return joined.take(pa.array(inverse))


def _fill(template: str, rows: _Rows, sel: np.ndarray) -> pa.Array:
    """One template with its {slots} filled for the rows ``sel``."""
    parts: list = []
    for literal, field in _parse(template):
        if literal:
            parts.append(pa.scalar(literal, LARGE))
        if field is not None:
            parts.append(rows.slot(field, sel).cast(LARGE))
    if all(isinstance(p, pa.Scalar) for p in parts):
        text = "".join(p.as_py() for p in parts)
        return pa.array([text], LARGE).take(pa.array(np.zeros(len(sel), np.int64)))
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, pa.scalar("", LARGE))


def _join(*arrays: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*arrays, pa.scalar("", arrays[0].type))


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


def _habit_template(rng, brands: _Brands, b: np.ndarray) -> np.ndarray:
    """A brand template of a kind drawn from each row's brand habits."""
    return _template_of(rng, np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf[b])])


# --------------------------------------------------------------------------------------
# decisions: one array per conversation (the probe's exchange)


def _pool(n: int) -> int:
    """How many distinct customers an archive of ``n`` probes draws from."""
    return max(1, int(n * 0.8))


def _exchange(rng, brands: _Brands, n: int) -> SimpleNamespace:
    """What happens between each probe's customer and the brand (one array per field)."""
    c = SimpleNamespace(n=n)
    c.b = rng.choice(len(brands.names), n, p=brands.popularity)
    c.cust = FIRST_CUSTOMER + rng.integers(0, _pool(n), n)
    c.t0 = START + rng.integers(0, SPAN_S, n)
    c.end = c.t0 + WINDOW_S
    _first_reply(rng, brands, c)
    _nudge(rng, brands, c)
    _split_reply(rng, brands, c)
    _follow_up(rng, brands, c)
    _second_reply(rng, brands, c)
    return c


def _first_reply(rng, brands: _Brands, c: SimpleNamespace) -> None:
    n, b = c.n, c.b
    c.has_r1 = rng.random(n) < brands.p_reply[b]
    lat1 = _latency(rng, brands, b)
    edge = rng.random(n) < 0.01
    edges = np.array(EDGE_LATENCIES)
    lat1 = np.where(edge, edges[rng.integers(0, len(edges), n)], lat1)
    # and a few of each boundary in every archive, however small
    forced = rng.choice(n, size=min(n, 3 * len(edges)), replace=False)
    c.has_r1[forced] = True
    lat1[forced] = np.resize(edges, len(forced))
    c.lat1, c.t_r1 = lat1, c.t0 + lat1
    c.kind1 = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf[b])]
    c.tmpl1 = _template_of(rng, c.kind1)


def _nudge(rng, brands: _Brands, c: SimpleNamespace) -> None:
    """A nudge from the customer before any brand reply (strictly between probe and reply)."""
    n = c.n
    c.has_nudge = (rng.random(n) < brands.p_nudge[c.b]) & (~c.has_r1 | (c.lat1 >= 2))
    u = rng.random(n)
    c.t_nudge = np.where(
        c.has_r1,
        c.t0 + 1 + np.floor(u * np.maximum(c.lat1 - 1, 0)).astype(np.int64),
        c.t0 + _delay(rng, n, 7200, 1.2),
    )
    c.nudge_tmpl = rng.integers(0, len(NUDGE_TEMPLATES), n)
    c.r1_to_nudge = c.has_nudge & (rng.random(n) < 0.5)


def _split_reply(rng, brands: _Brands, c: SimpleNamespace) -> None:
    """The first reply split over two tweets."""
    n, b = c.n, c.b
    p_split = brands.p_split[b] * np.where(c.kind1 == ACK, 2.5, 1.0)
    c.has_r1b = c.has_r1 & (rng.random(n) < p_split)
    c.t_r1b = c.t_r1 + 5 + rng.integers(0, 300, n)
    kind1b = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf_no_ack[b])]
    c.tmpl1b = _template_of(rng, kind1b)


def _follow_up(rng, brands: _Brands, c: SimpleNamespace) -> None:
    """The customer's follow-up, after the last tweet of the first reply."""
    n, b = c.n, c.b
    last_brand = np.where(c.has_r1b, c.t_r1b, c.t_r1)
    c.has_f = c.has_r1 & (rng.random(n) < brands.p_follow[b])
    t_f = last_brand + _delay(rng, n, 1200, 1.8)
    edge_f = rng.random(n) < 0.02
    t_edge = c.end + rng.integers(0, 2, n)
    c.t_f = np.where(edge_f & (t_edge > last_brand), t_edge, t_f)
    c.confirm_f = rng.random(n) < brands.p_confirm[b]
    c.tmpl_f = _followup_template(rng, c.confirm_f)
    c.f_to_r1b = c.has_r1b & (rng.random(n) < 0.5)


def _second_reply(rng, brands: _Brands, c: SimpleNamespace) -> None:
    """The brand's answer to the follow-up, and the customer's second follow-up."""
    n, b = c.n, c.b
    p_answer = np.where(c.confirm_f, 0.3, brands.p_answer_follow[b])
    c.has_r2 = c.has_f & (rng.random(n) < p_answer)
    t_r2 = c.t_f + np.maximum(_latency(rng, brands, b), 1)
    edge_r2 = rng.random(n) < 0.02
    t_edge = c.end + rng.integers(0, 2, n)
    c.t_r2 = np.where(edge_r2 & (t_edge > c.t_f), t_edge, t_r2)
    kind2 = np.array(HABIT_KINDS)[_pick(rng, brands.kind_cdf[b])]
    c.tmpl2 = _template_of(rng, np.where(c.confirm_f, GLAD, kind2))
    c.has_f2 = c.has_r2 & ~c.confirm_f & (rng.random(n) < 0.5)
    c.t_f2 = c.t_r2 + _delay(rng, n, 1800, 1.5)
    c.confirm_f2 = rng.random(n) < brands.p_confirm[b]
    c.tmpl_f2 = _followup_template(rng, c.confirm_f2)


def _followup_template(rng, confirm: np.ndarray) -> np.ndarray:
    n = len(confirm)
    return np.where(confirm, _choose(rng, _FOLLOW_CONFIRM, n), _choose(rng, _FOLLOW_OTHER, n))


# --------------------------------------------------------------------------------------
# decisions: threads another customer joins (one array per joined thread)


def _joins(rng, brands: _Brands, c: SimpleNamespace) -> SimpleNamespace:
    """Another customer joins some threads; the brand answers them, the thread goes on below.

    Nothing here is in the probe's exchange: it is all the other customer's message or below.
    """
    joined = rng.random(c.n) < P_JOIN
    joined[rng.choice(c.n, size=min(c.n, MIN_JOINS), replace=False)] = True
    j = SimpleNamespace(conv=np.flatnonzero(joined))
    j.k = len(j.conv)
    j.b, j.cust = c.b[j.conv], c.cust[j.conv]
    j.who = _other_customer(rng, j.cust, c.n)
    _join_message(rng, c, j)
    _join_answer(rng, brands, c, j)
    _below_join(rng, brands, j)
    return j


def _other_customer(rng, cust: np.ndarray, n: int) -> np.ndarray:
    """A customer id other than each of ``cust`` (from the same pool, widened to two)."""
    pool = max(2, _pool(n))
    step = 1 + rng.integers(0, pool - 1, len(cust))
    return FIRST_CUSTOMER + (cust - FIRST_CUSTOMER + step) % pool


def _join_message(rng, c: SimpleNamespace, j: SimpleNamespace) -> None:
    """The other customer's "same here": below the brand's first reply, or below the probe
    (for ``early`` threads, early enough for the brand to answer them before the probe)."""
    k, has_r1, lat1 = j.k, c.has_r1[j.conv], c.lat1[j.conv]
    t0, t_r1 = c.t0[j.conv], c.t_r1[j.conv]
    j.to_r1 = has_r1 & (rng.random(k) < 0.35)
    j.early = ~j.to_r1 & has_r1 & (lat1 >= 3) & (rng.random(k) < 0.4)
    u = rng.random(k)
    before_r1 = t0 + 1 + np.floor(u * np.maximum(lat1 - 2, 0)).astype(np.int64)
    after_r1 = t_r1 + _delay(rng, k, 1800, 1.5)
    j.t = np.select([j.to_r1, j.early], [after_r1, before_r1], t0 + _delay(rng, k, 3600, 1.5))
    j.tmpl = rng.integers(0, len(JOIN_TEMPLATES), k)


def _join_answer(rng, brands: _Brands, c: SimpleNamespace, j: SimpleNamespace) -> None:
    """The brand's answer to the other customer: before its first reply to the probe's
    customer (``early``), at its usual latency, or days later (mostly within the window)."""
    k, t_r1, end = j.k, c.t_r1[j.conv], c.end[j.conv]
    j.has_r = j.early | (rng.random(k) < 0.7)
    days = rng.random(k) < 0.3
    u = rng.random(k)
    before_r1 = j.t + 1 + np.floor(u * np.maximum(t_r1 - j.t - 1, 0)).astype(np.int64)
    days_later = j.t + 86400 + rng.integers(0, np.maximum(end - j.t - 86400, 1))
    usual = j.t + np.maximum(_latency(rng, brands, j.b), 1)
    j.t_r = np.select([j.early, days], [before_r1, days_later], usual)
    j.tmpl_r = _habit_template(rng, brands, j.b)


def _below_join(rng, brands: _Brands, j: SimpleNamespace) -> None:
    """Below the other customer: their follow-up to the brand's answer (some confirming),
    the probe's customer replying there (some confirming) and the brand answering them."""
    k = j.k
    j.has_f = j.has_r & (rng.random(k) < 0.4)
    j.t_f = j.t_r + _delay(rng, k, 1800, 1.5)
    j.tmpl_f = rng.integers(0, len(FOLLOWUP_TEMPLATES), k)
    j.has_c = rng.random(k) < 0.4
    j.c_to_r = j.has_c & j.has_r & (rng.random(k) < 0.5)
    j.t_c = np.where(j.c_to_r, j.t_r, j.t) + _delay(rng, k, 3600, 1.5)
    j.tmpl_c = _followup_template(rng, rng.random(k) < 0.5)
    j.has_cr = j.has_c & (rng.random(k) < 0.5)
    j.t_cr = j.t_c + np.maximum(_latency(rng, brands, j.b), 1)
    j.tmpl_cr = _habit_template(rng, brands, j.b)


# --------------------------------------------------------------------------------------
# decisions: noise outside every probe conversation


def _noise(rng, brands_n: int, n: int) -> SimpleNamespace:
    z = SimpleNamespace(n_broadcast=max(1, n // 200))
    z.bc_brand = rng.integers(0, brands_n, z.n_broadcast)
    z.bc_t = START + rng.integers(0, SPAN_S, z.n_broadcast)
    z.bc_replies = rng.integers(0, 3, z.n_broadcast)
    z.n_orphan = n // 100  # brand replies to tweets missing from the file
    z.orphan_brand = rng.integers(0, brands_n, z.n_orphan)
    z.n_stray = n // 200  # customer replies to tweets missing from the file
    return z


# --------------------------------------------------------------------------------------
# rows


class _Table:
    """Rows added segment by segment; parents are row numbers (or ids absent from the file)."""

    def __init__(self):
        self.parts: list[dict] = []
        self.texts: list[pa.Array] = []
        self.size = 0
        self.missing_next = 0

    def add(self, *, author, inbound, ts, text, parent=None, missing_parent=None) -> np.ndarray:
        """``author``: brand numbers for brand rows, customer ids for inbound rows."""
        n = len(ts)
        rows = self.size + np.arange(n)
        self.parts.append(
            {
                "author": np.asarray(author, dtype=np.int64),
                "inbound": np.full(n, inbound),
                "ts": np.asarray(ts, dtype=np.int64),
                "parent": np.full(n, -1) if parent is None else parent,
                "missing": np.zeros(n, np.int64) if missing_parent is None else missing_parent,
            }
        )
        self.texts.append(text)
        self.size += n
        return rows

    def missing_ids(self, k: int) -> np.ndarray:
        """Ids of ``k`` tweets absent from the file, as offsets above every real id."""
        ids = self.missing_next + np.arange(1, k + 1)
        self.missing_next += k
        return ids

    def column(self, name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in self.parts])


def _add(tab: _Table, mask, *, author, inbound, ts, parent, text) -> np.ndarray:
    """One optional reply per conversation (where ``mask``); its row numbers, -1 where absent.
    ``author``, ``ts`` and ``parent`` are per conversation; ``text(sel)`` renders the rows."""
    sel = np.flatnonzero(mask)
    rows = tab.add(
        author=author[sel], inbound=inbound, ts=ts[sel], parent=parent[sel], text=text(sel)
    )
    out = np.full(len(mask), -1, dtype=np.int64)
    out[sel] = rows
    return out


def _brand_text(rng, brands: _Brands, b, cust, tmpl) -> pa.Array:
    rows = _Rows(rng, brands, brand=b, cust=cust)
    head = _render(("@{cust} ",), np.zeros(len(b), np.int64), rows)
    body = _render([t for _, t, _ in BRAND_TEMPLATES], tmpl, rows)
    sig = _render(SIGNATURES, brands.signature[b], rows)
    return _join(head, body, sig)


def _customer_text(rng, brands: _Brands, b, cust, templates, tmpl) -> pa.Array:
    rows = _Rows(rng, brands, brand=b, cust=cust)
    head = _render(("@{brand} ",), np.zeros(len(b), np.int64), rows)
    return _join(head, _render([t for t, _ in templates], tmpl, rows))


def _speakers(rng, brands: _Brands, b: np.ndarray):
    """Keyword arguments of ``_add`` for a brand's replies and a customer's messages."""

    def brand(to, ts, tmpl):
        def text(s):
            return _brand_text(rng, brands, b[s], to[s], tmpl[s])

        return {"author": b, "inbound": False, "ts": ts, "text": text}

    def customer(who, ts, templates, tmpl):
        def text(s):
            return _customer_text(rng, brands, b[s], who[s], templates, tmpl[s])

        return {"author": who, "inbound": True, "ts": ts, "text": text}

    return brand, customer


def _probe_text(rng, brands: _Brands, c: SimpleNamespace, known: np.ndarray) -> pa.Array:
    n, b, brands_n = c.n, c.b, len(brands.names)
    variant = _pick(rng, np.tile(np.cumsum(PROBE_PREFIX_P), (n, 1)))
    needs_known = (variant == 2) | (variant == 3) | (variant == 4)
    variant = np.where(needs_known & ~known[b], 0, variant)
    if brands_n < 2:
        variant = np.where(variant == 4, 0, variant)
    other = (b + 1 + rng.integers(0, max(brands_n - 1, 1), n)) % brands_n
    friend = FIRST_CUSTOMER + rng.integers(0, _pool(n), n)
    rows = _Rows(rng, brands, brand=b, cust=c.cust, friend=friend, other=other)
    return _join(
        _render(PROBE_PREFIXES, variant, rows),
        _render([t for t, _ in PROBE_TEMPLATES], rng.integers(0, len(PROBE_TEMPLATES), n), rows),
    )


def _exchange_rows(rng, brands: _Brands, tab: _Table, c: SimpleNamespace, known) -> tuple:
    """The probes and their exchanges; the row numbers of the probes and first replies."""
    p_rows = tab.add(author=c.cust, inbound=True, ts=c.t0, text=_probe_text(rng, brands, c, known))
    brand, customer = _speakers(rng, brands, c.b)
    nudge = _add(
        tab,
        c.has_nudge,
        parent=p_rows,
        **customer(c.cust, c.t_nudge, NUDGE_TEMPLATES, c.nudge_tmpl),
    )
    r1_parent = np.where(c.r1_to_nudge, nudge, p_rows)
    r1 = _add(tab, c.has_r1, parent=r1_parent, **brand(c.cust, c.t_r1, c.tmpl1))
    r1b = _add(tab, c.has_r1b, parent=r1, **brand(c.cust, c.t_r1b, c.tmpl1b))
    f_parent = np.where(c.f_to_r1b, r1b, r1)
    f = _add(tab, c.has_f, parent=f_parent, **customer(c.cust, c.t_f, FOLLOWUP_TEMPLATES, c.tmpl_f))
    r2 = _add(tab, c.has_r2, parent=f, **brand(c.cust, c.t_r2, c.tmpl2))
    _add(tab, c.has_f2, parent=r2, **customer(c.cust, c.t_f2, FOLLOWUP_TEMPLATES, c.tmpl_f2))
    return p_rows, r1


def _join_rows(rng, brands: _Brands, tab: _Table, j: SimpleNamespace, p_rows, r1_rows) -> None:
    """The other customers' messages and everything below them."""
    brand, customer = _speakers(rng, brands, j.b)
    parent = np.where(j.to_r1, r1_rows[j.conv], p_rows[j.conv])
    every = np.ones(j.k, bool)
    joined = _add(tab, every, parent=parent, **customer(j.who, j.t, JOIN_TEMPLATES, j.tmpl))
    answer = _add(tab, j.has_r, parent=joined, **brand(j.who, j.t_r, j.tmpl_r))
    _add(tab, j.has_f, parent=answer, **customer(j.who, j.t_f, FOLLOWUP_TEMPLATES, j.tmpl_f))
    below_parent = np.where(j.c_to_r, answer, joined)
    below = _add(
        tab, j.has_c, parent=below_parent, **customer(j.cust, j.t_c, FOLLOWUP_TEMPLATES, j.tmpl_c)
    )
    _add(tab, j.has_cr, parent=below, **brand(j.cust, j.t_cr, j.tmpl_cr))


def _noise_rows(rng, brands: _Brands, tab: _Table, z: SimpleNamespace, n: int) -> None:
    _broadcast_rows(rng, brands, tab, z, n)
    _orphan_rows(rng, brands, tab, z, n)
    stray_brand = rng.integers(0, len(brands.names), z.n_stray)
    stray_cust = FIRST_CUSTOMER + rng.integers(0, _pool(n), z.n_stray)
    tab.add(
        author=stray_cust,
        inbound=True,
        ts=START + rng.integers(0, SPAN_S, z.n_stray),
        missing_parent=tab.missing_ids(z.n_stray),
        text=_customer_text(
            rng, brands, stray_brand, stray_cust, STRAY_CUSTOMER_TEMPLATES,
            rng.integers(1, 3, z.n_stray),
        ),
    )  # fmt: skip


def _broadcast_rows(rng, brands: _Brands, tab: _Table, z: SimpleNamespace, n: int) -> None:
    """Brand broadcasts and customers answering them."""
    rows = _Rows(rng, brands, brand=z.bc_brand, cust=None)
    choice = rng.integers(0, len(BROADCAST_TEMPLATES), z.n_broadcast)
    bc_rows = tab.add(
        author=z.bc_brand,
        inbound=False,
        ts=z.bc_t,
        text=_render(BROADCAST_TEMPLATES, choice, rows),
    )
    rep = np.repeat(np.arange(z.n_broadcast), z.bc_replies)
    rep_cust = FIRST_CUSTOMER + rng.integers(0, _pool(n), len(rep))
    tab.add(
        author=rep_cust,
        inbound=True,
        ts=z.bc_t[rep] + _delay(rng, len(rep), 1800, 1.5),
        parent=bc_rows[rep],
        text=_customer_text(
            rng, brands, z.bc_brand[rep], rep_cust, STRAY_CUSTOMER_TEMPLATES,
            rng.integers(0, 2, len(rep)),
        ),
    )  # fmt: skip


def _orphan_rows(rng, brands: _Brands, tab: _Table, z: SimpleNamespace, n: int) -> None:
    """Brand replies to tweets absent from the file, and customers answering some of them."""
    k, orphan_brand = z.n_orphan, z.orphan_brand
    orphan_cust = FIRST_CUSTOMER + rng.integers(0, _pool(n), k)
    orphan_t = START + rng.integers(0, SPAN_S, k)
    orphan_rows = tab.add(
        author=orphan_brand,
        inbound=False,
        ts=orphan_t,
        missing_parent=tab.missing_ids(k),
        text=_brand_text(
            rng, brands, orphan_brand, orphan_cust,
            _template_of(rng, np.array(HABIT_KINDS)[rng.integers(0, 6, k)]),
        ),
    )  # fmt: skip
    answered = rng.random(k) < 0.5
    m = int(answered.sum())
    tab.add(
        author=orphan_cust[answered],
        inbound=True,
        ts=orphan_t[answered] + _delay(rng, m, 1800, 1.5),
        parent=orphan_rows[answered],
        text=_customer_text(
            rng, brands, orphan_brand[answered], orphan_cust[answered], FOLLOWUP_TEMPLATES,
            rng.integers(0, len(FOLLOWUP_TEMPLATES), m),
        ),
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# the archive


def generate(conversations: int, *, brands: int = 100, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """An archive of ``conversations`` probes (shuffled twcs rows) and its ground truth.

    The DataFrame holds the CSV's columns as written: ``tweet_id`` int64, the others strings
    (``<NA>`` for empty fields, ``in_response_to_tweet_id`` like ``"3.0"``, ``inbound``
    ``"True"``/``"False"``).
    """
    archive, truth = _generate(conversations, brands, seed)
    return pa.concat_tables(archive.tables(CHUNK_ROWS)).to_pandas(), truth


def _generate(conversations: int, brands_n: int, seed: int) -> tuple[_Archive, dict]:
    if conversations < 1:
        raise ValueError("conversations must be at least 1")
    if brands_n < 1:
        raise ValueError("brands must be at least 1")
    rng = np.random.default_rng(seed)
    brands = _Brands(rng, brands_n)
    c = _exchange(rng, brands, conversations)
    z = _noise(rng, brands_n, conversations)
    j = _joins(rng, brands, c)
    truth = _truth(brands.names, *_exchange_truth(c))

    known = np.zeros(brands_n, bool)  # brands with a tweet in the file
    known[c.b[c.has_r1]] = True
    known[z.bc_brand] = True
    known[z.orphan_brand] = True
    tab = _Table()
    p_rows, r1_rows = _exchange_rows(rng, brands, tab, c, known)
    _join_rows(rng, brands, tab, j, p_rows, r1_rows)
    del c, j, r1_rows  # the per-conversation decisions are no longer needed
    _noise_rows(rng, brands, tab, z, conversations)
    # a few probes list a reply that is absent from the file
    dangling_probe = np.flatnonzero(rng.random(conversations) < 0.01)
    dangling_ids = tab.missing_ids(len(dangling_probe))
    archive = _Archive(rng, tab, brands.handles, p_rows[dangling_probe], dangling_ids)
    truth["params"] = {
        "conversations": conversations,
        "brands": brands_n,
        "seed": seed,
        "rows": archive.size,
    }
    return archive, truth


class _Archive:
    """The rows in the order they were generated (numbers, and texts in segments) and the
    order they are written in; ``tables`` renders them chunk by chunk."""

    def __init__(self, rng, tab: _Table, handles: pa.Array, dangling_parent, dangling_ids):
        m = self.size = tab.size
        self.handles = handles
        self.author = tab.column("author")
        self.inbound = tab.column("inbound")
        self.ts = tab.column("ts")
        self.texts = tab.texts
        self.text_starts = np.cumsum([0] + [len(t) for t in tab.texts[:-1]])
        self.ids = rng.permutation(m).astype(np.int64) + 1  # tweet ids in no time order
        parent, missing = tab.column("parent").astype(np.int64), tab.column("missing")
        self.parent_id = np.where(parent >= 0, self.ids[np.maximum(parent, 0)], 0)
        self.parent_id = np.where(missing > 0, m + missing, self.parent_id)
        has = parent >= 0
        self.child_ptr, self.child_id = _children(
            rng,
            np.concatenate([parent[has], dangling_parent]),
            np.concatenate([self.ids[has], m + dangling_ids]),
            m,
        )
        self.order = rng.permutation(m)

    def tables(self, chunk_rows: int) -> Iterator[pa.Table]:
        for start in range(0, self.size, chunk_rows):
            yield self.table(self.order[start : start + chunk_rows])

    def table(self, rows: np.ndarray) -> pa.Table:
        """The given rows (generation row numbers), in the CSV's columns."""
        inbound, author, parent_id = self.inbound[rows], self.author[rows], self.parent_id[rows]
        author_str = pc.if_else(
            pa.array(inbound),
            pc.cast(pa.array(author), pa.string()),
            self.handles.take(pa.array(np.where(inbound, 0, author))),
        )
        in_reply = pc.binary_join_element_wise(
            pc.cast(pa.array(parent_id, mask=parent_id == 0), pa.string()), ".0", ""
        )
        return pa.table(
            {
                "tweet_id": pa.array(self.ids[rows]),
                "author_id": author_str,
                "inbound": pa.array(["False", "True"]).take(pa.array(inbound.astype(np.int8))),
                "created_at": _twitter_times(self.ts[rows]),
                "text": _gather(self.texts, self.text_starts, rows).cast(pa.string()),
                "response_tweet_id": _response_lists(self.child_ptr, self.child_id, rows),
                "in_response_to_tweet_id": in_reply,
            }
        )


def _children(rng, child_parent, child_id, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's children (tweet ids, in no particular order) as offsets into one array."""
    order = np.lexsort((rng.random(len(child_parent)), child_parent))
    ptr = np.concatenate([[0], np.cumsum(np.bincount(child_parent, minlength=m))])
    return ptr, child_id[order]


def _response_lists(ptr: np.ndarray, child_id: np.ndarray, rows: np.ndarray) -> pa.Array:
    """``response_tweet_id`` of the given rows: their children's ids joined by commas."""
    start, count = ptr[rows], ptr[rows + 1] - ptr[rows]
    responses = pa.nulls(len(rows), pa.string())
    for j in range(int(count.max()) if len(rows) else 0):
        at = count > j
        values = np.zeros(len(rows), np.int64)
        values[at] = child_id[start[at] + j]
        col = pc.cast(pa.array(values, mask=~at), pa.string())
        if j == 0:
            responses = col
        else:
            joined = pc.binary_join_element_wise(responses, col, ",")
            responses = pc.if_else(pa.array(at), joined, responses)
    return responses


def _gather(chunks: list[pa.Array], starts: np.ndarray, rows: np.ndarray) -> pa.Array:
    """``concat(chunks).take(rows)`` without concatenating the chunks (pyarrow's take on a
    chunked array does, and they may hold over 2 GiB together); a loop over chunks."""
    which = np.searchsorted(starts, rows, side="right") - 1
    order = np.argsort(which, kind="stable")
    counts = np.bincount(which, minlength=len(chunks))
    pieces, at = [], 0
    for i in np.flatnonzero(counts):
        sel = order[at : at + counts[i]]
        at += counts[i]
        pieces.append(chunks[i].take(pa.array(rows[sel] - starts[i])))
    joined = pa.concat_arrays(pieces) if pieces else pa.array([], LARGE)
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = np.arange(len(rows))
    return joined.take(pa.array(inverse))


def _twitter_times(ts: np.ndarray) -> pa.Array:
    """Epoch seconds -> ``Tue Oct 31 22:10:47 +0000 2017`` (via per-day and per-second tables)."""
    day = ts // 86400
    first_day = int(day.min())
    days = np.arange(first_day, int(day.max()) + 1)
    dates = [dt.datetime.fromtimestamp(int(d) * 86400, dt.UTC) for d in days]
    heads = pa.array([d.strftime("%a %b %d ") for d in dates])
    tails = pa.array([d.strftime(" +0000 %Y") for d in dates])
    di = pa.array(day - first_day)
    return _join(heads.take(di), _clock().take(pa.array(ts % 86400)), tails.take(di))


@functools.cache
def _clock() -> pa.Array:
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


# --------------------------------------------------------------------------------------
# the truth


def _exchange_truth(c: SimpleNamespace) -> tuple:
    """Per probe, from the exchange's decisions only: brand, responded, ttfr, flags, resolved.

    The exchange's brand messages are the first reply (r1), its second tweet (r1b) and the
    answer to the follow-up (r2); the probe's customer's messages after r1 are the follow-ups
    (f, f2). Nudges come before r1; the joined threads are all outside the exchange.
    """
    responded = c.has_r1 & (c.lat1 <= WINDOW_S)
    in_r1b = c.has_r1b & (c.t_r1b <= c.end)
    in_r2 = c.has_r2 & (c.t_r2 <= c.end)
    flags = {
        f: (responded & _FLAG[f][c.tmpl1])
        | (in_r1b & _FLAG[f][c.tmpl1b])
        | (in_r2 & _FLAG[f][c.tmpl2])
        for f in ("link", "dm", "phone", "email")
    }
    flags["ack_only"] = responded & _FLAG["ack_only"][c.tmpl1]
    confirmed_f = c.has_f & c.confirm_f & (c.t_f <= c.end)
    confirmed_f2 = c.has_f2 & c.confirm_f2 & (c.t_f2 <= c.end)
    resolved = responded & (confirmed_f | confirmed_f2)
    return c.b, responded, np.where(responded, c.lat1, 0), flags, resolved


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

    Each item: ``role`` (brand, probe, nudge, followup, stray, join), ``template`` (its index in
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
        ("join", JOIN_TEMPLATES),
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


def write_csv(
    table: pa.Table | pd.DataFrame, path: str | Path, *, chunk_rows: int = CHUNK_ROWS
) -> None:
    """Write rows in the twcs layout: quotes only where needed, empty fields for nulls."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table[list(COLUMNS)], preserve_index=False)
    chunks = (table.slice(s, chunk_rows) for s in range(0, table.num_rows, chunk_rows))
    _write_tables(chunks, path)


def _write_tables(tables, path: str | Path) -> None:
    """A header, then each table's rows (each well under 2 GiB of text)."""
    with open(path, "wb") as out:
        out.write((",".join(COLUMNS) + "\n").encode())
        for table in tables:
            _write_lines(table, out)


def _write_lines(table: pa.Table, out) -> None:
    fields = [_csv_field(table[c], c) for c in COLUMNS]
    lines = pc.binary_join_element_wise(*fields, pa.scalar(","))
    lines = pc.binary_join_element_wise(lines, "\n", "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks() if lines.num_chunks else pa.array([], pa.string())
    if len(lines):
        out.write(_text_bytes(lines))  # every line, in place


def _text_bytes(array: pa.Array) -> memoryview:
    """The UTF-8 bytes of every value of a string array without nulls, back to back."""
    wide = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if wide else np.int32)
    first, last = offsets[array.offset], offsets[array.offset + len(array)]
    return memoryview(array.buffers()[2])[first:last]


def _csv_field(column, name: str) -> pa.Array:
    """One column as CSV fields: quoted (quotes doubled) only when it holds , " or a newline."""
    text = pc.fill_null(pc.cast(column, pa.string()), "")
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks else pa.array([], pa.string())
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
    chunk_rows: int = CHUNK_ROWS,
) -> dict:
    """Generate an archive, write it to ``path`` (``chunk_rows`` rows at a time) and its truth
    next to it; return the truth. The bytes do not depend on ``chunk_rows``."""
    archive, truth = _generate(conversations, brands, seed)
    _write_tables(archive.tables(chunk_rows), path)
    truth_path = default_truth_path(path) if truth_path is None else Path(truth_path)
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/synth.py",
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

"""The real twcs slice: socialbench against an independent plain-Python computation."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from conftest import external

from socialbench import conversations, sources
from socialbench.conversations import analyse
from socialbench.measure import metrics

WINDOW = timedelta(days=7)


def independent_figures(path) -> tuple[int, int, float]:
    """Probes, responded and median TTFR (s) with csv + datetime and a walk down the probe's
    exchange (replies by the probe's customer or a brand account, METRICS.md)."""
    # The slice has bare carriage returns inside unquoted text, which the csv module would
    # read as line ends; their content does not matter here.
    text = path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", " ")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    tweets = {}
    children = defaultdict(list)
    for row in rows:
        tid = row["tweet_id"]
        parent = row["in_response_to_tweet_id"].split(".")[0]
        tweets[tid] = (
            row["inbound"].lower() == "true",
            datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y"),
            parent,
            row["author_id"],
        )
        if parent:
            children[parent].append(tid)
    probes, answered = 0, []
    for tid, (inbound, at, parent, customer) in tweets.items():
        if not inbound or parent:
            continue
        probes += 1
        firsts, queue = [], list(children[tid])
        while queue:
            child = queue.pop()
            c_inbound, c_at, _, author = tweets[child]
            if c_inbound and author != customer:
                continue  # another customer: neither they nor what is below them count
            queue.extend(children[child])
            if not c_inbound and at <= c_at <= at + WINDOW:
                firsts.append(c_at)
        if firsts:
            answered.append((min(firsts) - at).total_seconds())
    return probes, len(answered), statistics.median(answered)


def test_twcs_slice_matches_independent_computation():
    path = external("twcs_head5000", "twcs_head5000.csv")
    probes, responded, median = independent_figures(path)
    result = analyse.analyse(
        [path],
        fmt=None,
        options=sources.ReadOptions(),
        settings=conversations.Settings(),
        metric_settings=metrics.MetricSettings(window_s=7 * 86400),
    )
    overall = result.summary["overall"]
    assert (overall["probes"], overall["responded"]) == (probes, responded)
    assert overall["ttfr_median_s"] == median
    assert probes == 1285  # SOURCES.md: thread-opening inbound tweets

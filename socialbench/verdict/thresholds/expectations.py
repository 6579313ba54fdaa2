"""A probe run's expectations (a query's ``expect``) as one case per probe and expectation,
for JUnit. Whether a case held is read from the probe table's ``expectations_missed``, the
one place that decides it.
"""

from __future__ import annotations

import pandas as pd

from socialbench.durations import format_seconds
from socialbench.probing.probes import ALLOWED, REPLY_REQUIRED, REQUIRED, Expectation

ORDER = ("reply", "deadline", "link", "dm", "resolution")


def applicable(expect: Expectation) -> dict[str, str]:
    """The expectations of ``expect`` that a probe can miss, each with what it asks."""
    asks = {}
    if expect.reply == REPLY_REQUIRED:
        asks["reply"] = "a brand reply within the window"
    if expect.deadline_s is not None:
        asks["deadline"] = f"a first reply within {format_seconds(expect.deadline_s)}"
    if expect.link != ALLOWED:
        asks["link"] = "a link" if expect.link == REQUIRED else "no link"
    if expect.dm != ALLOWED:
        asks["dm"] = "a move to private messages" if expect.dm == REQUIRED else "no move to DM"
    if expect.resolution is not None and not expect.resolution.is_empty():
        asks["resolution"] = "an answer matching the query's answer key"
    return asks


def cases(probes: pd.DataFrame, by_scenario: dict[str, Expectation]) -> list[dict]:
    """One dict per probe and applicable expectation, in probe-table order."""
    columns = [
        "probe_id",
        "scenario",
        "brand",
        "persona",
        "channel",
        "surface",
        "ttfr_s",
        "expectations_missed",
    ]
    out = []
    for row in probes.reindex(columns=columns).itertuples(index=False):
        expect = by_scenario.get(row.scenario)
        if expect is None:
            continue
        missed = (
            set(row.expectations_missed.split(";")) if pd.notna(row.expectations_missed) else set()
        )
        for name, asks in applicable(expect).items():
            met = name not in missed
            out.append(
                {
                    "probe_id": row.probe_id,
                    "scenario": row.scenario,
                    "brand": row.brand,
                    "persona": row.persona,
                    "channel": row.channel,
                    "surface": row.surface,
                    "expectation": name,
                    "asks": asks,
                    "met": met,
                    "detail": "" if met else _missed(name, asks, row.ttfr_s),
                }
            )
    return out


def _missed(name: str, asks: str, ttfr_s: float) -> str:
    if name in ("reply", "deadline") and pd.isna(ttfr_s):
        return f"expected {asks}; no brand reply"
    if name == "deadline":
        return f"expected {asks}; first reply after {format_seconds(ttfr_s)}"
    return f"expected {asks}; not met"

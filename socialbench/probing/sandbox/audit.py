"""Compare a probe run's probe table with the sandbox's ground truth.

The sandbox writes what it received and how its brands answered (``sandbox_truth.jsonl``);
this module derives, from that alone, what every probe's row must say, and lists where the
probe table differs. Tests and ``bench/probe_bench.py`` use it; so can a user who doubts a
figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FLAGS = ("responded", "link", "dm", "phone", "email", "ack_only")


@dataclass(frozen=True)
class Check:
    probes_compared: int
    missing: list[str]  # probes in the truth, absent from the table
    extra: list[str]  # probes in the table the sandbox never received
    mismatches: dict[str, list[str]]  # field -> probe ids that differ
    largest_ttfr_error_s: float
    duplicates: list[str]  # probes received more than once

    @property
    def exact(self) -> bool:
        return not (
            self.missing or self.extra or self.duplicates or self.largest_ttfr_error_s
        ) and not any(self.mismatches.values())


def read_truth(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def expected(truth: list[dict], window_s: float) -> pd.DataFrame:
    """Per probe, what the probe table must say: first response time and reply types of the
    brand messages within the window (the first one alone for ack_only)."""
    probes = pd.DataFrame([e for e in truth if e["event"] == "probe"])
    withdrawn = {e["id"] for e in truth if e["event"] == "withdrawn"}
    replies = pd.DataFrame([e for e in truth if e["event"] == "reply" and e["id"] not in withdrawn])
    if probes.empty:
        return pd.DataFrame(columns=["probe_id", "ttfr_s", *FLAGS, "answer"])
    probes["t"] = pd.to_datetime(probes["at"], utc=True, format="ISO8601")
    first = probes.drop_duplicates("probe_id").set_index("probe_id")
    if replies.empty:
        replies = pd.DataFrame(columns=["probe_id", "at", "types", "private"])
    replies["t"] = pd.to_datetime(replies["at"], utc=True, format="ISO8601")
    replies["sent"] = replies["probe_id"].map(first["t"])
    replies["probe_private"] = replies["probe_id"].map(first["private"]).astype(bool)
    delta = (replies["t"] - replies["sent"]).dt.total_seconds()
    replies = replies[(delta >= 0) & (delta <= window_s)].sort_values("t", kind="stable")
    has = {name: replies["types"].map(lambda types, n=name: n in types) for name in FLAGS}
    # a private reply to a public probe moves the conversation to private messages
    has["dm"] = has["dm"] | (replies["private"].astype(bool) & ~replies["probe_private"])
    flags = pd.DataFrame({n: has[n] for n in ("link", "dm", "phone", "email")})
    flags["probe_id"] = replies["probe_id"]
    per_probe = flags.groupby("probe_id").any()
    head = replies.drop_duplicates("probe_id").set_index("probe_id")
    out = pd.DataFrame(index=first.index)
    out["responded"] = out.index.isin(head.index)
    out["ttfr_s"] = (head["t"] - head["sent"]).dt.total_seconds().reindex(out.index)
    for name in ("link", "dm", "phone", "email"):
        out[name] = per_probe[name].reindex(out.index, fill_value=False).astype(bool)
    out["ack_only"] = (
        head["types"]
        .map(lambda t: list(t) == ["ack_only"])
        .reindex(out.index, fill_value=False)
        .astype(bool)
    )
    answered = replies[replies["types"].map(lambda t: "answer" in t)]["probe_id"]
    out["answer"] = out.index.isin(set(answered))
    return out.reset_index()


def compare(table: pd.DataFrame, truth: list[dict], window_s: float) -> Check:
    """Where the probe table (as read from probes.csv) differs from the truth."""
    want = expected(truth, window_s).set_index("probe_id")
    got = table.set_index("probe_id")
    received = pd.Series([e["probe_id"] for e in truth if e["event"] == "probe"])
    common = want.index.intersection(got.index)
    mismatches = {}
    for name in FLAGS:
        a = want.loc[common, name].astype(bool)
        b = _bools(got.loc[common, name])
        mismatches[name] = sorted(common[(a != b).to_numpy()])
    a, b = want.loc[common, "ttfr_s"], pd.to_numeric(got.loc[common, "ttfr_s"])
    both = a.notna() & b.notna()
    error = float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0
    mismatches["ttfr_s"] = sorted(common[(a.isna() != b.isna()).to_numpy()])
    return Check(
        probes_compared=len(common),
        missing=sorted(want.index.difference(got.index)),
        extra=sorted(got.index.difference(want.index)),
        mismatches=mismatches,
        largest_ttfr_error_s=error,
        duplicates=sorted(received[received.duplicated()].unique()),
    )


def _bools(column: pd.Series) -> pd.Series:
    if column.dtype == object:
        return column.astype(str).str.lower().eq("true")
    return column.astype(bool)

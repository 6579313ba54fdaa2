"""Compare a probe run's probe table with the sandbox's ground truth.

The sandbox writes what it received and how its brands answered (``sandbox_truth.jsonl``);
this module derives, from that alone, what every probe's row must say (on x and in chats
with the brands' bots: the probe's time, the first human response and the first automated
reply, bot-only and the hand-off), and lists where the probe table differs. Tests and
``bench/probe_bench.py`` use it; so can a user who doubts a figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FLAGS = ("responded", "link", "dm", "phone", "email", "ack_only")
TIMES = ("ttfr_s", "ttfa_s", "handoff_s")  # seconds, compared to the millisecond: exactly


@dataclass(frozen=True)
class Check:
    probes_compared: int
    missing: list[str]  # probes in the truth, absent from the table
    extra: list[str]  # probes in the table the sandbox never received
    mismatches: dict[str, list[str]]  # field -> probe ids that differ
    largest_ttfr_error_s: float
    duplicates: list[str]  # probes received more than once
    largest_ttfa_error_s: float = 0.0
    largest_handoff_error_s: float = 0.0

    @property
    def exact(self) -> bool:
        errors = (
            self.largest_ttfr_error_s,
            self.largest_ttfa_error_s,
            self.largest_handoff_error_s,
        )
        return not (self.missing or self.extra or self.duplicates or any(errors)) and not any(
            self.mismatches.values()
        )


def read_truth(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def expected(truth: list[dict], window_s: float) -> pd.DataFrame:
    """Per probe, what the probe table must say, from the brand messages within the window:
    the person's (``automated`` false or absent) give the first response, its time and the
    reply types (the first one alone for ack_only); the bots' give the first automated
    reply's time, ``bot_only`` and, with both, the hand-off's time."""
    probes = pd.DataFrame([e for e in truth if e["event"] == "probe"])
    withdrawn = {e["id"] for e in truth if e["event"] == "withdrawn"}
    replies = pd.DataFrame([e for e in truth if e["event"] == "reply" and e["id"] not in withdrawn])
    if probes.empty:
        return pd.DataFrame(columns=["probe_id", "sent_at", *TIMES, *FLAGS, "bot_only", "answer"])
    probes["t"] = pd.to_datetime(probes["at"], utc=True, format="ISO8601")
    first = probes.drop_duplicates("probe_id").set_index("probe_id")
    if replies.empty:
        replies = pd.DataFrame(columns=["probe_id", "at", "types", "private"])
    replies["t"] = pd.to_datetime(replies["at"], utc=True, format="ISO8601")
    replies["sent"] = replies["probe_id"].map(first["t"])
    replies["probe_private"] = replies["probe_id"].map(first["private"]).astype(bool)
    replies["automated"] = replies.get("automated", pd.Series(False, index=replies.index))
    replies["automated"] = replies["automated"].fillna(False).astype(bool)
    delta = _seconds(replies["t"], replies["sent"])
    replies = replies[(delta >= 0) & (delta <= window_s)].sort_values("t", kind="stable")
    out = _human(replies[~replies["automated"]], first)
    out.insert(0, "sent_at", first["t"])
    bots = replies[replies["automated"]].drop_duplicates("probe_id").set_index("probe_id")
    person = replies[~replies["automated"]].drop_duplicates("probe_id").set_index("probe_id")
    out["ttfa_s"] = _seconds(bots["t"], bots["sent"]).reindex(out.index)
    out["bot_only"] = out.index.isin(bots.index) & ~out["responded"]
    handoff = _seconds(person["t"], bots["t"].reindex(person.index))
    out["handoff_s"] = handoff[handoff >= 0].reindex(out.index)
    return out.reset_index()


def _seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Seconds between two columns of times, through whole milliseconds (the platform's
    resolution), so 2.962 s is the float a probe table writes, not 2.9619999999999997."""
    return (later - earlier) / pd.Timedelta(milliseconds=1) / 1000.0


def _human(replies: pd.DataFrame, first: pd.DataFrame) -> pd.DataFrame:
    """Responded, time to first response, reply types and answer, from the people's replies
    within the window (in time order), per probe of ``first``."""
    has = {name: replies["types"].map(lambda types, n=name: n in types) for name in FLAGS}
    # a private reply to a public probe moves the conversation to private messages
    has["dm"] = has["dm"] | (replies["private"].astype(bool) & ~replies["probe_private"])
    flags = pd.DataFrame({n: has[n] for n in ("link", "dm", "phone", "email")})
    flags["probe_id"] = replies["probe_id"]
    per_probe = flags.groupby("probe_id").any()
    head = replies.drop_duplicates("probe_id").set_index("probe_id")
    out = pd.DataFrame(index=first.index)
    out["responded"] = out.index.isin(head.index)
    out["ttfr_s"] = _seconds(head["t"], head["sent"]).reindex(out.index)
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
    return out


def compare(table: pd.DataFrame, truth: list[dict], window_s: float) -> Check:
    """Where the probe table (as read from probes.csv) differs from the truth."""
    want = expected(truth, window_s).set_index("probe_id")
    got = table.set_index("probe_id")
    received = pd.Series([e["probe_id"] for e in truth if e["event"] == "probe"])
    common = want.index.intersection(got.index)
    mismatches = {}
    for name in (*FLAGS, "bot_only"):
        a = want.loc[common, name].astype(bool)
        b = _bools(got.loc[common, name])
        mismatches[name] = sorted(common[(a != b).to_numpy()])
    sent = pd.to_datetime(got.loc[common, "sent_at"], utc=True, format="ISO8601")
    mismatches["sent_at"] = sorted(common[(want.loc[common, "sent_at"] != sent).to_numpy()])
    errors = {}
    for name in TIMES:
        a, b = want.loc[common, name].astype(float), pd.to_numeric(got.loc[common, name])
        both = a.notna() & b.notna()
        errors[name] = float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0
        mismatches[name] = sorted(common[(a.isna() != b.isna()).to_numpy()])
    return Check(
        probes_compared=len(common),
        missing=sorted(want.index.difference(got.index)),
        extra=sorted(got.index.difference(want.index)),
        mismatches=mismatches,
        largest_ttfr_error_s=errors["ttfr_s"],
        duplicates=sorted(received[received.duplicated()].unique()),
        largest_ttfa_error_s=errors["ttfa_s"],
        largest_handoff_error_s=errors["handoff_s"],
    )


def _bools(column: pd.Series) -> pd.Series:
    if column.dtype == object:
        return column.astype(str).str.lower().eq("true")
    return column.astype(bool)

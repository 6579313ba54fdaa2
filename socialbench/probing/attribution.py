"""A probe run's store → messages → probe table → summary, and its recording.

The store keeps raw observations; this module turns them into the same messages table that
recorded data gives, threads it with ``conversations.frames.probe_table`` (so probe runs and
archives are measured by one code path), then puts back what only a probe run knows: the
target brand, persona, scenario and the query's answer key and expectations.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from socialbench import conversations
from socialbench.conversations import frames
from socialbench.conversations.brands import BrandBook
from socialbench.measure import metrics
from socialbench.probing.probes import (
    FORBIDDEN,
    PRIVATE,
    REPLY_REQUIRED,
    REQUIRED,
    Probe,
    link_pattern,
    question_key,
)
from socialbench.probing.store import MESSAGE_COLUMNS, RunStore
from socialbench.scenarios import patterns
from socialbench.sources import messages as m

_UTC = "datetime64[ns, UTC]"
RUN_COLUMNS = (
    "question",
    "platform_id",
    "resolved_at",
    "ttr_s",
    "one_touch",
    "expectations_met",
    "expectations_missed",
)


@dataclass(frozen=True)
class RunInfo:
    """What summary.json says about the run itself."""

    suite: str
    target: str
    live: bool
    as_of: float  # platform epoch seconds of the last poll
    complete: bool


def messages_table(store: RunStore, brand_handles: frozenset[str]) -> tuple[pd.DataFrame, dict]:
    """The run's messages (probes and what was observed in their conversations) and the sent
    probes by platform id."""
    sent = {s.platform_id: s for s in store.probes(states=("sent",))}
    observed = pd.DataFrame(store.message_rows(), columns=list(MESSAGE_COLUMNS))
    observed = observed.assign(probe_id=attribute(observed, sent))
    observed = observed[observed["probe_id"].notna()]
    own = observed[observed["id"].isin(sent.keys())].set_index("id")
    probe_rows = _probe_rows(sent, own)
    others = _reply_rows(observed[~observed["id"].isin(sent.keys())], sent, brand_handles)
    table = pd.concat([probe_rows, others], ignore_index=True)
    return m.normalize(table), sent


def attribute(observed: pd.DataFrame, sent: dict) -> pd.Series:
    """The probe each stored message belongs to (<NA>: none), decided again from the raw
    messages (whatever a poll guessed while some probes were still being sent): a probe's
    own message; in public, the probe whose conversation it is in; in private, the latest
    probe sent at or before it in its conversation."""
    probes = pd.DataFrame(
        [
            (pid, s.conversation_id, s.probe.probe_id, s.probe.surface == PRIVATE, s.sent_at)
            for pid, s in sent.items()
        ],
        columns=["platform_id", "conversation_id", "owner", "private", "sent_at"],
    )
    is_private = probes["private"].astype(bool)
    owner = observed["id"].map(probes.set_index("platform_id")["owner"]).astype("string")
    public = probes[~is_private].set_index("conversation_id")["owner"]
    in_public = observed["surface"].ne(PRIVATE)
    owner = owner.fillna(observed["conversation_id"].where(in_public).map(public).astype("string"))
    private = _latest_probe_before(observed[~in_public], probes[is_private])
    return owner.fillna(private).astype("string")


def _latest_probe_before(messages: pd.DataFrame, probes: pd.DataFrame) -> pd.Series:
    if messages.empty or probes.empty:
        return pd.Series(pd.NA, index=messages.index, dtype="string")
    left = pd.DataFrame(
        {
            "at": pd.to_datetime(messages["created_at"], utc=True, format="ISO8601"),
            "conversation_id": messages["conversation_id"].astype(str),
            "row": messages.index,
        }
    ).sort_values("at", kind="stable")
    right = pd.DataFrame(
        {
            "at": pd.to_datetime(probes["sent_at"], utc=True, format="ISO8601"),
            "conversation_id": probes["conversation_id"].astype(str),
            "owner": probes["owner"],
        }
    ).sort_values("at", kind="stable")
    joined = pd.merge_asof(left, right, on="at", by="conversation_id", direction="backward")
    return joined.set_index("row")["owner"].reindex(messages.index).astype("string")


def _probe_rows(sent: dict, own: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for platform_id, stored in sent.items():
        probe: Probe = stored.probe
        seen = own.loc[platform_id] if platform_id in own.index else None
        followers = probe.followers
        if seen is not None and pd.notna(seen.get("followers")):
            followers = seen["followers"]
        rows.append(
            {
                m.ID: platform_id,
                m.PARENT_ID: None,
                m.CONVERSATION_ID: platform_id,
                m.AUTHOR: probe.persona_handle,
                m.AUTHOR_IS_BRAND: False,
                m.CREATED_AT: seen["created_at"] if seen is not None else stored.sent_at,
                m.TEXT: probe.text,
                m.CHANNEL: probe.channel,
                m.SURFACE: probe.surface,
                m.FOLLOWERS: followers,
                m.AUTOMATED: False,
                m.SCENARIO: probe.scenario,
                m.CATEGORY: probe.category,
            }
        )
    frame = pd.DataFrame(rows, columns=list(m.COLUMNS))
    frame[m.CREATED_AT] = pd.to_datetime(frame[m.CREATED_AT], utc=True, format="ISO8601")
    return frame


def _reply_rows(observed: pd.DataFrame, sent: dict, brand_handles: frozenset[str]):
    """Messages in the probes' conversations; private ones hang from their probe."""
    platform_of = {s.probe.probe_id: pid for pid, s in sent.items()}
    observed = observed.astype({c: "string" for c in _TEXT_FIELDS})
    owner = observed["probe_id"].map(platform_of).astype("string")
    private = observed["surface"].eq(PRIVATE).fillna(False)
    parent = observed["parent_id"].where(~private & observed["parent_id"].notna(), owner)
    return pd.DataFrame(
        {
            m.ID: observed["id"],
            m.PARENT_ID: parent,
            m.CONVERSATION_ID: owner,
            m.AUTHOR: observed["author"],
            m.AUTHOR_IS_BRAND: observed["author"].str.lower().isin(brand_handles),
            m.CREATED_AT: pd.to_datetime(observed["created_at"], utc=True, format="ISO8601"),
            m.TEXT: observed["text"].fillna(""),
            m.CHANNEL: observed["channel"],
            m.SURFACE: observed["surface"],
            m.FOLLOWERS: pd.to_numeric(observed["followers"], errors="coerce"),
            m.AUTOMATED: observed["automated"].fillna(0).astype(bool),
        }
    )


_TEXT_FIELDS = ("id", "probe_id", "surface", "parent_id", "author", "text", "channel")


def probe_table(
    store: RunStore, *, book: BrandBook, window_s: float, as_of: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The probe table of a run (PROBE_COLUMNS, EXTRA_COLUMNS, RUN_COLUMNS) and its messages."""
    brand_handles = book.handles()
    msgs, sent = messages_table(store, brand_handles)
    settings = conversations.Settings(window_s=window_s, reopen_after_s=None, brand_book=book)
    table = frames.probe_table(msgs, settings)
    info = _probe_info(sent)
    table = table.merge(info, left_on="probe_id", right_on="platform_id", how="left")
    table = table.assign(
        probe_id=table["run_probe_id"],
        brand=table["run_brand"],
        persona=table["run_persona"],
        watched_s=np.clip(as_of - table["sent_at"].astype("int64") / 1e9, 0, window_s),
    )
    table = frames.with_clocks(table, settings)
    table = _with_resolution(table, msgs, sent, window_s)
    table = _with_expectations(table)
    columns = list(conversations.PROBE_COLUMNS + conversations.EXTRA_COLUMNS + RUN_COLUMNS)
    return table[columns].reset_index(drop=True), msgs


def _probe_info(sent: dict) -> pd.DataFrame:
    rows = []
    for platform_id, stored in sent.items():
        probe, expect = stored.probe, stored.probe.expect
        rows.append(
            {
                "platform_id": platform_id,
                "run_probe_id": probe.probe_id,
                "question": question_key(probe),
                "run_brand": probe.brand,
                "run_persona": probe.persona,
                "expect_reply": expect.reply == REPLY_REQUIRED,
                "expect_deadline_s": expect.deadline_s,
                "expect_link": expect.link,
                "expect_dm": expect.dm,
                "has_key": expect.resolution is not None and not expect.resolution.is_empty(),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "platform_id",
            "run_probe_id",
            "question",
            "run_brand",
            "run_persona",
            "expect_reply",
            "expect_deadline_s",
            "expect_link",
            "expect_dm",
            "has_key",
        ],
    )


def key_pattern(probe: Probe) -> str | None:
    """A query's answer key as one key for grouping replies (None: no key): its keywords and
    patterns as one RE2 expression, a tab, its link domain (see ``_key_hits``)."""
    key = probe.expect.resolution
    if key is None or key.is_empty():
        return None
    parts = [re.escape(word) for word in key.keywords] + [f"(?:{p})" for p in key.patterns]
    return "|".join(parts) + "\t" + (key.link_domain or "")


def _key_hits(key: str, texts: pd.Series) -> np.ndarray:
    """Which ``texts`` satisfy the answer ``key``: users' patterns with RE2 (linear time, see
    ``scenarios.patterns``), the link domain with its own fixed expression."""
    pattern, _, domain = key.rpartition("\t")
    hits = np.zeros(len(texts), dtype=bool)
    if pattern:
        hits |= patterns.matches(texts.tolist(), pattern)
    if domain:
        hits |= texts.str.contains(link_pattern(domain), case=False, regex=True).to_numpy(bool)
    return hits


def _with_resolution(table: pd.DataFrame, msgs: pd.DataFrame, sent: dict, window_s: float):
    """Answer-key resolution: some brand message in the window matches the query's key."""
    brand = msgs[msgs[m.AUTHOR_IS_BRAND].fillna(False).astype(bool)]
    root = _root_of(msgs)
    replies = pd.DataFrame(
        {
            "platform_id": brand[m.ID].map(root),
            "at": brand[m.CREATED_AT],
            "text": brand[m.TEXT],
        }
    ).dropna(subset=["platform_id"])
    keys = {pid: key_pattern(s.probe) for pid, s in sent.items()}
    replies["key"] = replies["platform_id"].map(keys)
    replies = replies[replies["key"].notna()]
    sent_at = table.set_index("platform_id")["sent_at"]
    start = pd.Series(
        sent_at.reindex(replies["platform_id"]).to_numpy(), index=replies.index, dtype=_UTC
    )
    in_window = (replies["at"] >= start) & (replies["at"] <= start + pd.Timedelta(seconds=window_s))
    replies = replies[in_window].sort_values("at", kind="stable")
    hit = pd.Series(False, index=replies.index)
    with warnings.catch_warnings():
        # the link pattern has groups; only whether it matches matters here
        warnings.filterwarnings("ignore", "This pattern is interpreted", UserWarning)
        for key, group in replies.groupby("key"):
            hit[group.index] = _key_hits(key, group["text"].fillna(""))
    first_at = replies[hit].groupby("platform_id")["at"].min()
    first_reply = replies.groupby("platform_id")["at"].min()
    resolved_at = pd.Series(
        first_at.reindex(table["platform_id"]).to_numpy(), index=table.index, dtype=_UTC
    )
    resolved = pd.array(resolved_at.notna(), dtype="boolean")
    resolved[~table["has_key"].to_numpy(dtype=bool)] = pd.NA
    return table.assign(
        resolved=resolved,
        resolved_at=resolved_at,
        ttr_s=(resolved_at - table["sent_at"]).dt.total_seconds(),
        one_touch=resolved_at.notna()
        & resolved_at.eq(first_reply.reindex(table["platform_id"]).to_numpy()),
    )


def _root_of(msgs: pd.DataFrame) -> pd.Series:
    """Message id -> the probe (thread root) it belongs to: a probe's conversation id is its
    own id, and every other message carries its probe's id as conversation id."""
    return msgs.set_index(m.ID)[m.CONVERSATION_ID]


def _with_expectations(table: pd.DataFrame) -> pd.DataFrame:
    """Which of its query's expectations each probe missed ("" when it met them all)."""
    responded = table["responded"].astype(bool)
    deadline = table["expect_deadline_s"].astype(float)
    missed = {
        "reply": table["expect_reply"].astype(bool) & ~responded,
        "deadline": deadline.notna() & ~(responded & (table["ttfr_s"] <= deadline)),
        "link": _rule(table["expect_link"], table["link"]),
        "dm": _rule(table["expect_dm"], table["dm"]),
        "resolution": table["has_key"].astype(bool) & ~table["resolved"].fillna(False).astype(bool),
    }
    joined = pd.Series("", index=table.index, dtype=object)
    for name, flag in missed.items():
        joined = joined + np.where(flag, name + ";", "")
    return table.assign(
        expectations_missed=joined.str.rstrip(";"),
        expectations_met=~pd.DataFrame(missed).any(axis=1),
    )


def _rule(rule: pd.Series, flag: pd.Series) -> pd.Series:
    flag = flag.astype(bool)
    return (rule.eq(REQUIRED) & ~flag) | (rule.eq(FORBIDDEN) & flag)


def summarize(probes: pd.DataFrame, settings: metrics.MetricSettings, run: RunInfo, store):
    """summary.json of a probe run: the aggregates, then the run itself and failed probes."""
    summary = frames.summarize_frame(probes, settings)
    failed = store.probes(states=("failed",))
    summary["run"] = {
        "suite": run.suite,
        "target": run.target,
        "live": run.live,
        "complete": run.complete,
        "as_of": pd.Timestamp(run.as_of, unit="s", tz="UTC").isoformat(),
        "planned": len(store.probes()),
        "failed": [
            {
                "probe_id": s.probe.probe_id,
                "scenario": s.probe.scenario,
                "brand": s.probe.brand,
                "persona": s.probe.persona,
                "channel": s.probe.channel,
                "surface": s.probe.surface,
                "error": s.error,
            }
            for s in failed
        ],
    }
    return summary


def write_recording(msgs: pd.DataFrame, sent: dict, path: Path, *, secrets: list[str]) -> None:
    """The observed conversations as socialbench fixtures (JSON Lines), secrets redacted."""
    from socialbench.sources import fixture

    by_platform = {pid: s.probe for pid, s in sent.items()}
    lines = [json.dumps(fixture.HEADER)]
    ordered = msgs.sort_values(m.CREATED_AT, kind="stable")
    for row in ordered.to_dict("records"):
        lines.append(
            json.dumps(_fixture_record(row, by_platform.get(row[m.ID])), ensure_ascii=False)
        )
    text = "\n".join(lines) + "\n"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    from socialbench.report.output import write_text

    write_text(path, text)


def _fixture_record(row: dict, probe: Probe | None) -> dict:
    record = {
        "id": row[m.ID],
        "author": row[m.AUTHOR],
        "created_at": row[m.CREATED_AT].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "parent_id": None if pd.isna(row[m.PARENT_ID]) else row[m.PARENT_ID],
        "conversation_id": None if pd.isna(row[m.CONVERSATION_ID]) else row[m.CONVERSATION_ID],
        "is_brand": bool(row[m.AUTHOR_IS_BRAND]),
        "text": row[m.TEXT],
        "channel": row[m.CHANNEL],
        "surface": row[m.SURFACE],
    }
    if row[m.AUTOMATED]:
        record["automated"] = True
    if pd.notna(row[m.FOLLOWERS]):
        record["followers"] = int(row[m.FOLLOWERS])
    if probe is not None:
        record.update(
            scenario=probe.scenario,
            category=probe.category,
            brand=probe.brand,
            persona=probe.persona,
            probe_id=probe.probe_id,
            probe_key=probe.key,
        )
    return record

"""The fixture target: replay a suite against recorded conversations, with their timing.

Each probe of the suite is found in the recordings by its suite entry's stable key (the
``probe_key`` that ``--record`` writes on each probe's line); its recorded conversation is
"observed" as it was, so the probe table, summary and checks are computed exactly as for a
live run, from the recorded platform times. A probe with no recording fails by name, with
the closest recording, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from socialbench.errors import UsageError
from socialbench.probing.connectors import TargetContext
from socialbench.probing.connectors.base import Observed, SendFailed, Sent, Watch
from socialbench.probing.probes import Probe

CHANNELS = None  # recordings of any channel
DIALOGUE_CHANNELS = None  # a dialogue is replayed as it was recorded, the customer's turns too
LIVE = False


class ReplayClock:
    """A clock that stands after every recorded window: nothing is ever waited for."""

    speed = 1.0

    def __init__(self, end: float) -> None:
        self.end = end

    def now(self) -> float:
        return self.end

    async def sleep_until(self, moment: float) -> None:
        return None


class FixtureConnector:
    name = "fixture"
    settle_s = 0.0
    poll_every_s = 0.0  # nothing to wait for: every recorded message is there at once
    poll_max_s = 0.0

    def __init__(
        self, observed: list[Observed], keys: dict[str, str], suite_probes: list[Probe], end: float
    ) -> None:
        self.clock = ReplayClock(end)
        self._observed = observed
        self._by_key = {p.key: p for p in suite_probes}
        self._recorded = {keys[message.id]: message for message in observed if message.id in keys}

    async def start(self) -> None:
        return None

    async def send(self, probe: Probe) -> Sent:
        found = await self.find_sent(probe)
        if found is None:
            raise SendFailed(f"no recording of {describe(probe)}; {self._closest(probe)}")
        return found

    async def find_sent(self, probe: Probe) -> Sent | None:
        message = self._recorded.get(probe.key)
        if message is None:
            return None
        return Sent(message.id, message.conversation_id, message.created_at)

    async def poll(self, watch: Watch) -> list[Observed]:
        return list(self._observed)

    async def close(self) -> None:
        return None

    def _closest(self, probe: Probe) -> str:
        """The recorded probe sharing most of this probe's scenario, brand, persona, channel,
        surface, variant and repetition."""
        best, best_score = None, -1
        for key in sorted(self._recorded):
            other = self._by_key.get(key)
            score = _likeness(probe, other) if other is not None else 0
            if score > best_score:
                best, best_score = key, score
        if best is None:
            return "the recordings hold no probes of a suite"
        other = self._by_key.get(best)
        what = describe(other) if other is not None else "a probe of another suite"
        return f"closest recording: {self._recorded[best].id} ({what})"


def describe(probe: Probe) -> str:
    """A probe by name, for messages."""
    return (
        f"probe {probe.probe_id} (scenario {probe.scenario}, brand {probe.brand}, persona "
        f"{probe.persona}, {probe.channel} {probe.surface}, variant {probe.variant}, "
        f"repetition {probe.repetition})"
    )


def _likeness(a: Probe, b: Probe) -> int:
    fields = ("scenario", "brand", "persona", "channel", "surface", "variant", "repetition")
    return sum(getattr(a, f) == getattr(b, f) for f in fields) * 2 + (a.variables == b.variables)


async def open_target(context: TargetContext) -> FixtureConnector:
    if not context.fixtures:
        raise UsageError("--target fixture: give the recordings with --fixtures FILE")
    paths = list(context.fixtures)
    observed, last = _load(paths)
    keys = _probe_keys(paths)
    return FixtureConnector(observed, keys, list(context.probes), last + context.window_s + 1.0)


def _probe_keys(paths: list[Path]) -> dict[str, str]:
    """Recorded message id -> the suite entry key of the probe it is (fixture lines that
    ``--record`` wrote carry ``probe_key``; other recordings hold no probes of a suite)."""
    keys = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if '"probe_key"' not in line:
                    continue
                record = json.loads(line)
                if isinstance(record, dict) and record.get("probe_key"):
                    keys[str(record["id"])] = str(record["probe_key"])
    return keys


def _load(paths: list[Path]) -> tuple[list[Observed], float]:
    """Recorded messages (any supported format) as observations, each with its thread root
    as conversation id."""
    from socialbench import sources
    from socialbench.conversations import analyse
    from socialbench.sources import messages as m

    table, _ = analyse.load_messages(paths, fmt=None, options=sources.ReadOptions())
    parents = dict(zip(table[m.ID], table[m.PARENT_ID], strict=True))
    observed = []
    for row in table.to_dict("records"):
        parent = None if _missing(row[m.PARENT_ID]) else row[m.PARENT_ID]
        observed.append(
            Observed(
                id=row[m.ID],
                channel=row[m.CHANNEL],
                surface=row[m.SURFACE],
                conversation_id=_root(row[m.ID], parents),
                parent_id=parent,
                author=row[m.AUTHOR],
                author_id=row[m.AUTHOR],
                created_at=_iso(row[m.CREATED_AT]),
                text=row[m.TEXT],
                followers=None if _missing(row[m.FOLLOWERS]) else int(row[m.FOLLOWERS]),
                automated=bool(row[m.AUTOMATED]),
            )
        )
    last = table[m.CREATED_AT].max().timestamp()
    return observed, last


def _root(message_id: str, parents: dict) -> str:
    seen = set()
    while not _missing(parents.get(message_id)) and message_id not in seen:
        seen.add(message_id)
        parent = parents[message_id]
        if parent not in parents:
            break
        message_id = parent
    return message_id


def _missing(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value)) or str(value) == ""


def _iso(stamp) -> str:
    moment = stamp.to_pydatetime().astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

"""The fixture target: replay a suite against recorded conversations, with their timing.

Each probe of the suite is found in the recordings by the marker in its text (its stable
``probe_id``); its recorded conversation is "observed" as it was, so the probe table, summary
and checks are computed exactly as for a live run, from the recorded platform times. A probe
with no recording fails by name, with the closest recording, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from socialbench.connectors import TargetContext
from socialbench.connectors.base import Observed, SendFailed, Sent, Watch
from socialbench.errors import UsageError
from socialbench.probes import Probe, find_marker


class ReplayClock:
    """A clock that stands after every recorded window: nothing is ever waited for."""

    speed = 1.0

    def __init__(self, end: float) -> None:
        self.end = end

    def now(self) -> float:
        return self.end

    async def sleep_until(self, moment: float) -> None:
        return None


@dataclass(frozen=True)
class _Recorded:
    probe_id: str
    message: Observed
    scenario: str | None


class FixtureConnector:
    name = "fixture"
    settle_s = 0.0

    def __init__(self, observed: list[Observed], suite_probes: dict[str, Probe], end: float):
        self.clock = ReplayClock(end)
        self._observed = observed
        self._known = suite_probes
        self._recorded = {
            pid: message
            for message in observed
            if (pid := find_marker(message.text)) is not None and message.parent_id is None
        }

    async def start(self) -> None:
        return None

    async def send(self, probe: Probe) -> Sent:
        found = await self.find_sent(probe)
        if found is None:
            raise SendFailed(f"no recording of {describe(probe)}; {self._closest(probe)}")
        return found

    async def find_sent(self, probe: Probe) -> Sent | None:
        message = self._recorded.get(probe.probe_id)
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
        for pid in sorted(self._recorded):
            other = self._known.get(pid)
            score = _likeness(probe, other) if other is not None else 0
            if score > best_score:
                best, best_score = pid, score
        if best is None:
            return "the recordings hold no probes"
        other = self._known.get(best)
        what = describe(other) if other is not None else "a probe of another suite"
        return f"closest recording: {best} ({what})"


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
    observed, last = _load(list(context.fixtures))
    probes = {p.probe_id: p for p in context.probes}
    return FixtureConnector(observed, probes, last + context.window_s + 1.0)


def _load(paths: list[Path]) -> tuple[list[Observed], float]:
    """Recorded messages (any supported format) as observations, each with its thread root
    as conversation id."""
    from socialbench import analyse, sources
    from socialbench import messages as m

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
    return value is None or value != value or str(value) in ("<NA>", "")


def _iso(stamp) -> str:
    moment = stamp.to_pydatetime().astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

"""When each probe of a run is due: pacing per brand and channel, spread across the day.

Pure functions over probes and platform times (seconds since the epoch); the runner enforces
the same gaps again when it sends, so a late or resumed run never bunches probes together.
"""

from __future__ import annotations

import bisect
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from socialbench.probing.probes import PRIVATE, Probe


@dataclass(frozen=True)
class Pacing:
    """How a run spaces its probes (platform seconds)."""

    gap_s: float = 0.0  # between two probes to the same brand on the same channel
    spread_s: float = 0.0  # first sends spread evenly over this span
    window_s: float = 7 * 86400.0  # a private conversation holds one probe at a time
    # channels where every probe is a conversation of its own (a chatbot session per
    # probe): none waits for another's window
    own_channels: frozenset[str] = frozenset()


def lane(probe: Probe) -> tuple[str, str]:
    """Probes in one lane are spaced by the gap: same brand, same channel."""
    return (probe.brand, probe.channel)


def conversation(probe: Probe, own_channels=frozenset()) -> tuple[str, str, str] | None:
    """Private probes from one persona to one brand share a conversation: a brand's private
    reply is attributed to the latest probe before it, so windows there must not overlap.
    None for a public probe, and on ``own_channels``, where each probe opens its own."""
    if probe.surface != PRIVATE or probe.channel in own_channels:
        return None
    return (probe.persona, probe.brand, probe.channel)


def interleave(probes: Sequence[Probe]) -> list[Probe]:
    """Round-robin across lanes, so every brand is probed from the start of the run."""
    queues: dict[tuple[str, str], deque[Probe]] = defaultdict(deque)
    for probe in probes:
        queues[lane(probe)].append(probe)
    order: list[Probe] = []
    while queues:
        for key in list(queues):
            order.append(queues[key].popleft())
            if not queues[key]:
                del queues[key]
    return order


class Lanes:
    """Times taken in each lane: a new probe gets the earliest time at or after the one it
    wants that is at least ``gap_s`` away from every probe already placed in its lane (so a
    probe held back for its own reasons does not hold back the rest of the lane)."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self._taken: dict[tuple[str, str], list[float]] = defaultdict(list)

    def reserve(self, key: tuple[str, str], wanted: float) -> float:
        taken = self._taken[key]
        moment = wanted
        index = bisect.bisect_left(taken, moment - self.gap_s)
        while index < len(taken) and taken[index] < moment + self.gap_s:
            if taken[index] > moment - self.gap_s:
                moment = taken[index] + self.gap_s
            index += 1
        bisect.insort(taken, moment)
        return moment


def schedule(
    probes: Sequence[Probe], *, origin: float, pacing: Pacing
) -> list[tuple[Probe, float]]:
    """Each probe with the platform time it is due, in sending order."""
    order = interleave(probes)
    step = pacing.spread_s / len(order) if order else 0.0
    lanes = Lanes(pacing.gap_s)
    talk_free: dict[tuple[str, str, str], float] = {}
    planned = []
    for index, probe in enumerate(order):
        wanted = origin + index * step
        talk = conversation(probe, pacing.own_channels)
        if talk is not None:
            wanted = max(wanted, talk_free.get(talk, origin))
        due = lanes.reserve(lane(probe), wanted)
        if talk is not None:
            talk_free[talk] = due + pacing.window_s + 1.0
        planned.append((probe, due))
    planned.sort(key=lambda pair: pair[1])
    return planned


def span(planned: Iterable[tuple[Probe, float]], window_s: float) -> float:
    """Platform seconds from the first due time to the end of the last window."""
    dues = [due for _, due in planned]
    return (max(dues) - min(dues) + window_s) if dues else 0.0

"""When each probe of a run is due: pacing per brand and channel, spread across the day.

Pure functions over probes and platform times (seconds since the epoch); the runner enforces
the same gaps again when it sends, so a late or resumed run never bunches probes together.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from socialbench.probes import PRIVATE, Probe


@dataclass(frozen=True)
class Pacing:
    """How a run spaces its probes (platform seconds)."""

    gap_s: float = 0.0  # between two probes to the same brand on the same channel
    spread_s: float = 0.0  # first sends spread evenly over this span
    window_s: float = 7 * 86400.0  # a private conversation holds one probe at a time


def lane(probe: Probe) -> tuple[str, str]:
    """Probes in one lane are spaced by the gap: same brand, same channel."""
    return (probe.brand, probe.channel)


def conversation(probe: Probe) -> tuple[str, str, str] | None:
    """Private probes from one persona to one brand share a conversation: a brand's private
    reply is attributed to the latest probe before it, so windows there must not overlap."""
    if probe.surface != PRIVATE:
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


def schedule(
    probes: Sequence[Probe], *, origin: float, pacing: Pacing
) -> list[tuple[Probe, float]]:
    """Each probe with the platform time it is due, in sending order."""
    order = interleave(probes)
    step = pacing.spread_s / len(order) if order else 0.0
    lane_free: dict[tuple[str, str], float] = {}
    talk_free: dict[tuple[str, str, str], float] = {}
    planned = []
    for index, probe in enumerate(order):
        due = max(origin + index * step, lane_free.get(lane(probe), origin))
        talk = conversation(probe)
        if talk is not None:
            due = max(due, talk_free.get(talk, origin))
            talk_free[talk] = due + pacing.window_s + 1.0
        lane_free[lane(probe)] = due + pacing.gap_s
        planned.append((probe, due))
    planned.sort(key=lambda pair: pair[1])
    return planned


def span(planned: Iterable[tuple[Probe, float]], window_s: float) -> float:
    """Platform seconds from the first due time to the end of the last window."""
    dues = [due for _, due in planned]
    return (max(dues) - min(dues) + window_s) if dues else 0.0

"""What every connector provides to the runner, and the clock that tells platform time.

A connector talks to one target (the X API v2, the sandbox, recordings, ...) through an
injected httpx transport. The runner never sees HTTP: it calls ``send``, ``find_sent`` and
``poll`` and stores what comes back. Times are always the platform's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from socialbench.errors import SocialbenchError

if TYPE_CHECKING:
    from socialbench.probing.probes import Probe


class RunFailed(SocialbenchError):
    """Raised when the run itself cannot go on: target unreachable, authentication refused."""

    exit_code = 3


class SendFailed(Exception):
    """Raised by ``send`` when one probe cannot be sent (after retries); the run goes on."""


class PollFailed(Exception):
    """Raised by ``poll`` and ``find_sent`` when the platform could not be read (after
    retries); the runner logs it and tries again next round."""


class Clock(Protocol):
    """Platform time, as seconds since the Unix epoch (UTC)."""

    def now(self) -> float: ...

    async def sleep_until(self, moment: float) -> None: ...


class WallClock:
    """A live platform's clock: this machine's UTC clock."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, moment: float) -> None:
        delay = moment - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class SpeedClock:
    """A simulated platform's clock, running ``speed`` times faster than real time from
    ``origin`` (platform epoch seconds at this process's monotonic instant ``anchor``)."""

    def __init__(self, origin: float, speed: float, anchor: float | None = None) -> None:
        self.origin = origin
        self.speed = speed
        self.anchor = time.monotonic() if anchor is None else anchor

    def now(self) -> float:
        return self.origin + (time.monotonic() - self.anchor) * self.speed

    async def sleep_until(self, moment: float) -> None:
        delay = (moment - self.now()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class Observed:
    """One message as the platform reported it (a probe, a brand reply, a follow-up)."""

    id: str
    channel: str
    surface: str  # public | private
    conversation_id: str
    parent_id: str | None  # the message replied to (public threads); None for DMs
    author: str  # handle, no "@"
    author_id: str
    created_at: str  # the platform's ISO 8601 timestamp, as given
    text: str
    followers: int | None = None
    automated: bool = False  # a bot or an away message, when the target says so
    raw: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Sent:
    """Where a probe landed on the platform."""

    platform_id: str  # tweet id or DM event id
    conversation_id: str  # tweet conversation id, or DM conversation id
    sent_at: str | None = None  # the platform's ISO 8601 timestamp, when known
    # what came back with the send itself (a chatbot answering in its HTTP response)
    replies: tuple[Observed, ...] = ()


@dataclass(frozen=True)
class Watch:
    """What one poll should look at."""

    conversations: tuple[tuple[str, float], ...] = ()  # (conversation id, since epoch s)
    personas: tuple[str, ...] = ()  # persona handles whose private messages to read


class Connector(Protocol):
    name: str
    clock: Clock

    async def start(self) -> None:
        """Resolve accounts and check credentials; raise RunFailed when that fails."""

    async def send(self, probe: Probe) -> Sent:
        """Post the probe; reconcile before any retry so it is never posted twice."""

    async def find_sent(self, probe: Probe) -> Sent | None:
        """The probe on the platform, found by its marker, or None when it never arrived."""

    async def poll(self, watch: Watch) -> list[Observed]:
        """Every message of the watched conversations and personas' private messages."""

    async def close(self) -> None: ...


def iso(moment: float) -> str:
    """Platform epoch seconds as ISO 8601 UTC to the millisecond (``2026-01-05T09:00:00.123Z``)."""
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(moment, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

"""Platform time and snowflake ids.

Platform time runs ``speed`` times faster than real time from ``start``:
``now = start + (monotonic elapsed) * speed + advanced``, where ``advance`` lets a test jump
ahead (with ``speed=0`` the clock only moves when advanced). Instants are integer milliseconds
since the Unix epoch; the API shows them as ``2026-11-22T13:45:07.123Z``.

Ids of tweets and DM events are X snowflakes: ``(ms - 1288834974657) << 22 | sequence``, so
they grow with the instant they encode. Messages are given ids when created, even for an
instant in the platform's future (a brand reply decided at probe receipt), so a sequence per
millisecond keeps them unique.
"""

from __future__ import annotations

import datetime as dt
import time

from socialbench.errors import UsageError

TWEPOCH_MS = 1288834974657
# the latest start a sandbox accepts: its times stay within what nanosecond clocks (pandas,
# Arrow) hold, 2262-04-11, with room for a year's window
LATEST_START_MS = 7_258_118_400_000  # 2200-01-01
MAX_SPEED = 1e8  # a year of platform time in a third of a second
SEQUENCE_BITS = 22
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)


def iso_ms(ms: int) -> str:
    """``2026-11-22T13:45:07.123Z`` for epoch milliseconds."""
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 instant (no offset means UTC); ValueError if not one."""
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def snowflake_ms(snowflake: int) -> int:
    """The epoch milliseconds a snowflake encodes."""
    return (snowflake >> SEQUENCE_BITS) + TWEPOCH_MS


def first_snowflake_after(ms: int) -> int:
    """The smallest snowflake of any instant later than ``ms``: visibility is ``id < this``."""
    return (ms + 1 - TWEPOCH_MS) << SEQUENCE_BITS


def first_snowflake_at(ms: int) -> int:
    """The smallest snowflake of the instant ``ms``."""
    return (ms - TWEPOCH_MS) << SEQUENCE_BITS


class PlatformClock:
    """The platform's clock; ``start`` an ISO string or aware datetime (default: now UTC)."""

    def __init__(self, *, start: str | dt.datetime | None = None, speed: float = 1.0) -> None:
        if not 0 <= speed <= MAX_SPEED:  # NaN fails both
            raise UsageError(f"speed: {speed} must be from 0 to {MAX_SPEED:g}")
        self.speed = float(speed)
        self.start_ms = _start_ms(start)
        self._anchor = time.monotonic()
        self._advanced_ms = 0.0

    def now_ms(self) -> int:
        """Platform now, epoch milliseconds."""
        elapsed = (time.monotonic() - self._anchor) * self.speed * 1000.0
        return self.start_ms + int(elapsed + self._advanced_ms)

    def now(self) -> float:
        """Platform now, epoch seconds."""
        return self.now_ms() / 1000.0

    def restart(self, anchor: float) -> None:
        """Run from ``start`` again, as of the monotonic instant ``anchor`` (a run that
        plans from the start it gave, after the time it took to get ready)."""
        self._anchor = anchor
        self._advanced_ms = 0.0

    def advance(self, seconds: float) -> None:
        """Jump platform time ahead by ``seconds`` (tests, demos)."""
        self._advanced_ms += seconds * 1000.0


def _start_ms(start: str | dt.datetime | None) -> int:
    if start is None:
        return time.time_ns() // 1_000_000
    if isinstance(start, dt.datetime):
        start = start.isoformat()
    try:
        ms = parse_iso_ms(start)
    except ValueError:
        raise UsageError(f"start: {start!r} is not an ISO 8601 instant") from None
    if not TWEPOCH_MS <= ms < LATEST_START_MS:
        raise UsageError(
            f"start: {start!r} is outside the times the sandbox simulates, from "
            f"{iso_ms(TWEPOCH_MS)} (X's first snowflake id) to {iso_ms(LATEST_START_MS)}"
        )
    return ms


class Snowflakes:
    """Unique snowflake ids for instants, increasing with the instant (not thread-safe: the
    world calls it under its lock)."""

    def __init__(self) -> None:
        self._next_sequence: dict[int, int] = {}

    def make(self, ms: int) -> int:
        sequence = self._next_sequence.get(ms, 0)
        self._next_sequence[ms] = sequence + 1
        if sequence >> SEQUENCE_BITS:
            raise OverflowError(f"more than {1 << SEQUENCE_BITS} ids in one millisecond")
        return first_snowflake_at(ms) | sequence

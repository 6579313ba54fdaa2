"""Human durations: ``90s``, ``15m``, ``4h``, ``7d``, ``1h30m``, ``1.5h``;
a bare number is seconds. Every duration is finite and at most ``MAX_SECONDS`` (a year), so a
window or a wait cannot make a run endless.
"""

from __future__ import annotations

import math
import re

from socialbench.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
MAX_SECONDS = 365 * 86400.0  # the longest duration accepted anywhere: 365d


def parse(text: str, *, option: str = "duration") -> float:
    """Seconds in ``text``; raises UsageError naming the option on anything else."""
    value = str(text).strip().lower().replace(" ", "")
    try:
        seconds = float(value)
    except ValueError:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise UsageError(
                f"{option}: {text!r} is not a duration (examples: 30m, 4h, 7d, 1h30m)"
            ) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    return bounded(seconds, text=text, option=option)


def bounded(seconds: float, *, text: object, option: str = "duration") -> float:
    """``seconds`` if it is finite, positive and at most a year; else UsageError."""
    if not math.isfinite(seconds):
        raise UsageError(f"{option}: {text!r} is not a finite duration")
    if seconds <= 0:
        raise UsageError(f"{option}: {text!r} must be longer than zero")
    if seconds > MAX_SECONDS:
        raise UsageError(f"{option}: {text!r} is longer than the limit of 1 year (365d)")
    return seconds


def format_seconds(seconds: float | None) -> str:
    """A compact human form: ``42s``, ``11.5m``, ``3.2h``, ``2.1d``; ``-`` for None."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"

"""Rate limits per (token, endpoint) in platform time, and seeded fault injection.

A bucket's window opens at its first request and ends at a whole platform second (the
``x-rate-limit-reset`` a client sees), after which the next request opens a fresh one. A
request refused with 429 marks the bucket; a request arriving more than `GRACE_S` real
seconds after the first refusal and before the advertised reset is a violation: the
client ignored the headers (requests in flight when the 429 was sent are forgiven).

The profile sets the limits of the endpoints the sandbox implements (`ENDPOINT_KEYS`); /2
requests outside them (answered 404) share a bucket of their own, `OTHER`, whose limit is
`OTHER_LIMIT`, so that their answers carry the same headers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from socialbench.probing.sandbox.profile import ENDPOINT_KEYS, Faults, Profile
from socialbench.probing.sandbox.rng import seeded

GRACE_S = 0.2
OTHER = "other"
OTHER_LIMIT = (300, 900.0)


@dataclass(slots=True)
class Bucket:
    reset: int  # platform epoch seconds at which the window ends
    remaining: int
    refused_real: float | None = None  # monotonic instant of the first 429 in this window


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rate-limit decision: allowed or not, headers, and whether the client violated."""

    allowed: bool
    headers: dict[str, str]
    violation_reset: int | None  # the ignored reset when this request is a violation


class RateLimiter:
    """Buckets per (token, endpoint key)."""

    def __init__(self, profile: Profile) -> None:
        self.limits = {key: profile.limit(key) for key in ENDPOINT_KEYS}
        self.limits[OTHER] = OTHER_LIMIT
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def take(self, token: str, key: str, *, now: float, real: float | None = None) -> Verdict:
        """Count one request at platform time ``now`` (epoch seconds)."""
        real = time.monotonic() if real is None else real
        limit, window = self.limits[key]
        bucket = self._buckets.get((token, key))
        violation = None
        if bucket is not None and bucket.refused_real is not None:
            if real - bucket.refused_real > GRACE_S and now < bucket.reset:
                violation = bucket.reset
        if bucket is None or now >= bucket.reset:
            bucket = Bucket(reset=math.ceil(now + window), remaining=limit)
            self._buckets[(token, key)] = bucket
        if bucket.remaining <= 0:
            if bucket.refused_real is None:
                bucket.refused_real = real
            return Verdict(False, _headers(limit, bucket), violation)
        bucket.remaining -= 1
        return Verdict(True, _headers(limit, bucket), violation)

    def exhaust(self, token: str, key: str, *, now: float, reset_s: float) -> dict[str, str]:
        """Refuse the bucket until ``now + reset_s`` (an injected 429); its headers."""
        limit, window = self.limits[key]
        bucket = Bucket(reset=math.ceil(now + reset_s), remaining=0, refused_real=time.monotonic())
        self._buckets[(token, key)] = bucket
        return _headers(limit, bucket)


def _headers(limit: int, bucket: Bucket) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(bucket.remaining),
        "x-rate-limit-reset": str(bucket.reset),
    }


class FaultDraws:
    """One seeded uniform draw per /2 request: the n-th request's fault depends only on the
    seed and n."""

    def __init__(self, faults: Faults, *, seed: int) -> None:
        self.faults = faults
        self._thresholds = faults.thresholds()
        self._active = self._thresholds[-1][0] > 0
        self._rng = seeded(seed, "faults")
        self.count = 0

    def next(self) -> str | None:
        """The fault kind for the next request, or None."""
        self.count += 1
        if not self._active:
            return None
        draw = self._rng.random()
        for threshold, kind in self._thresholds:
            if draw < threshold:
                return kind
        return None

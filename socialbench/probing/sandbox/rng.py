"""Seeded random streams: one per purpose, derived from the sandbox seed by hashing."""

from __future__ import annotations

import hashlib
import random


def seeded(*parts: object) -> random.Random:
    """A `random.Random` seeded with a hash of ``parts`` (e.g. seed, "probe", probe id)."""
    key = "\x1f".join(str(part) for part in parts).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def digest(*parts: object) -> str:
    """A hex digest of ``parts``, for deterministic ids and tokens."""
    key = "\x1f".join(str(part) for part in parts).encode()
    return hashlib.sha256(key).hexdigest()

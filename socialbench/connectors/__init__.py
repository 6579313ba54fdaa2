"""Targets a probe run can be sent to: one module each, registered here by name.

Each module has ``async def open_target(context: TargetContext) -> Connector``. A new target
(a chatbot webhook, the Graph API, the WhatsApp Cloud API) is one module plus one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from socialbench.errors import UsageError

TARGETS = {
    "sandbox": "socialbench.connectors.sandbox",
    "fixture": "socialbench.connectors.fixture",
    "x": "socialbench.connectors.x_target",
}


@dataclass(frozen=True)
class TargetContext:
    """What a target may need to open: the suite's probes and the run's options."""

    suite: object  # scenarios.Suite
    probes: tuple = ()
    out_dir: Path | None = None
    endpoint: str | None = None  # sandbox: use a running sandbox instead of starting one
    speed: float = 1.0
    seed: int = 0
    profile: Path | None = None
    fixtures: tuple[Path, ...] = ()
    window_s: float = 7 * 86400.0
    env: dict = field(default_factory=dict, repr=False)

    def brand_handles(self) -> list[str]:
        """Every handle and alias of the suite's brands, lower-cased."""
        from socialbench import scenarios

        return sorted(scenarios.brand_book(self.suite).handles())


async def open_target(name: str, context: TargetContext):
    """The connector for target ``name``, started."""
    if name not in TARGETS:
        raise UsageError(f"--target: unknown target {name!r}; targets: {', '.join(TARGETS)}")
    module = importlib.import_module(TARGETS[name])
    return await module.open_target(context)

"""Targets a probe run can be sent to: one module each, registered here by name.

Each module has ``async def open_target(context: TargetContext) -> Connector`` and declares
``CHANNELS`` (the channels it sends on; None: any) and ``LIVE`` (whether it reaches a real
platform, so that personas' credentials are checked before anything is sent), and may
declare ``DIALOGUE_CHANNELS`` (where it holds a query's scripted dialogue; None: on every
channel, absent: nowhere); it may define
``check(suite, probes, env)`` to check what it needs itself instead. A new target
(a chatbot webhook, the Graph API, the WhatsApp Cloud API) is one module plus one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from socialbench.errors import UsageError

TARGETS = {
    "sandbox": "socialbench.probing.connectors.sandbox",
    "fixture": "socialbench.probing.connectors.fixture",
    "x": "socialbench.probing.connectors.x_target",
    "bots": "socialbench.probing.connectors.bots",
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
    start: str | None = None  # sandbox: the simulated platform's start (ISO 8601)

    def brand_handles(self) -> list[str]:
        """Every handle and alias of the suite's brands, lower-cased."""
        from socialbench import scenarios

        return sorted(scenarios.brand_book(self.suite).handles())


def target(name: str):
    """The module of target ``name``."""
    if name not in TARGETS:
        raise UsageError(f"--target: unknown target {name!r}; targets: {', '.join(TARGETS)}")
    return importlib.import_module(TARGETS[name])


def is_live(name: str) -> bool:
    """Whether target ``name`` reaches a real platform."""
    return target(name).LIVE


def check_channels(name: str, probes) -> None:
    """UsageError when some probe is on a channel target ``name`` does not send on."""
    channels = target(name).CHANNELS
    if channels is None:
        return
    others = sorted({p.channel for p in probes if p.channel not in channels})
    if others:
        raise UsageError(
            f"--target {name} sends on channel {', '.join(channels)} only; this suite also "
            f"has probes on {', '.join(others)} (limit its queries' channels to "
            f"{', '.join(channels)} for this target)"
        )


def check_dialogues(name: str, probes) -> None:
    """UsageError when a probe with a scripted dialogue is on a channel where target
    ``name`` cannot hold one (a dialogue is with a bot)."""
    channels = getattr(target(name), "DIALOGUE_CHANNELS", ())
    if channels is None:
        return
    others = sorted({p.channel for p in probes if p.dialogue and p.channel not in channels})
    if others:
        where = f"on {', '.join(channels)} only" if channels else "on no channel"
        raise UsageError(
            f"--target {name} holds scripted dialogues {where}; queries with a dialogue "
            f"are also sent on {', '.join(others)} (limit those queries' channels)"
        )


def check(name: str, suite, probes, env) -> None:
    """Before anything is sent or planned: target ``name`` sends on the probes' channels and
    has what it needs (its module's ``check``; else, for a live target, every persona's
    credential variable set in ``env``). UsageError or ConfigError otherwise."""
    check_channels(name, probes)
    check_dialogues(name, probes)
    module = target(name)
    if hasattr(module, "check"):
        module.check(suite, probes, env)
    elif module.LIVE:
        from socialbench import scenarios

        scenarios.check_credentials(suite, probes, env)


async def open_target(name: str, context: TargetContext):
    """The connector for target ``name``, started."""
    return await target(name).open_target(context)

"""``summary.json``: its groupings, and reading it back from a run folder.

Light on purpose (no pandas): ``compare`` and ``--help`` read it too.
"""

from __future__ import annotations

import json
from pathlib import Path

from socialbench.errors import InputError

SCHEMA_VERSION = 1
# the groupings of summary.json, in order: the probe tags figures are grouped (and
# thresholds scoped) by
GROUPS = (
    "brand",
    "channel",
    "surface",
    "category",
    "scenario",
    "persona",
    "follower_tier",
    "weekday",
    "hour",
)


def read_summary(directory: Path) -> dict:
    """The ``summary.json`` of the run in ``directory``; InputError naming the folder or file
    when it is missing, unreadable, not JSON or not a socialbench summary."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "no such folder")
    path = directory / "summary.json"
    if not path.is_file():
        raise InputError(directory, "no summary.json here: is this a socialbench run folder?")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON: {exc}") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if not isinstance(summary, dict) or summary.get("schema_version") != SCHEMA_VERSION:
        raise InputError(path, f"not a socialbench summary (schema_version {SCHEMA_VERSION})")
    return summary


def run_kind(summary: dict) -> str:
    """live, simulated, replay (probe runs), observed (a brand's inbox, ``observe``) or
    recorded (archives), as the reports say."""
    run = summary.get("run")
    if not isinstance(run, dict):
        return "observed" if isinstance(summary.get("observed"), dict) else "recorded"
    if run.get("live"):
        return "live"
    return "replay" if run.get("target") == "fixture" else "simulated"


def document(settings, overall: dict, groups: dict, fairness: dict, omnichannel: dict) -> dict:
    """The whole ``summary.json`` document from its parts (``settings``: the
    ``metrics.MetricSettings`` it was computed with)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "window_s": settings.window_s,
        "min_group": settings.min_group,
        "tiers": list(settings.tiers),
        "overall": overall,
        "groups": groups,
        "fairness": fairness,
        "omnichannel": omnichannel,
    }

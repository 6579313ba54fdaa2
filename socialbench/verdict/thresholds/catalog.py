"""The metrics a threshold can name, what their samples are, and the tags that scope them.

Each metric reads probe-table columns (``probes.csv``), so a threshold's figure is computed
the way ``summary.json`` computes it (METRICS.md), for any combination of tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialbench.measure.summaries import GROUPS

RATE, TREND, COUNTER = "rate", "trend", "counter"
AGGREGATES = {
    RATE: ("rate", "count"),
    TREND: ("avg", "min", "max", "med", "p", "count"),
    COUNTER: ("count",),
}
# the probes a metric's samples are drawn from
ALL, RESPONDED, WITH_RULE, RESOLVED = "probes", "responded", "with_rule", "resolved"


@dataclass(frozen=True)
class Metric:
    """One metric: ``column`` holds a flag (rates) or seconds (trends) per probe."""

    name: str
    kind: str
    column: str | None
    samples: str  # which probes count: ALL, RESPONDED, WITH_RULE or RESOLVED
    higher_is_better: bool
    probe_runs_only: bool = False

    @property
    def aggregates(self) -> tuple[str, ...]:
        return AGGREGATES[self.kind]

    @property
    def default_aggregate(self) -> str | None:
        return {RATE: "rate", COUNTER: "count"}.get(self.kind)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("probes", COUNTER, None, ALL, True),
        Metric("response_rate", RATE, "responded", ALL, True),
        Metric("link_rate", RATE, "link", RESPONDED, True),
        Metric("dm_rate", RATE, "dm", RESPONDED, False),
        Metric("phone_rate", RATE, "phone", RESPONDED, False),
        Metric("email_rate", RATE, "email", RESPONDED, False),
        Metric("ack_only_rate", RATE, "ack_only", RESPONDED, False),
        Metric("deflection_rate", RATE, "deflected", RESPONDED, False),
        Metric("resolution_rate", RATE, "resolved", WITH_RULE, True),
        Metric("automated_rate", RATE, "automated", ALL, False),
        Metric("bot_only_rate", RATE, "bot_only", ALL, False),
        Metric("expectations_met", RATE, "expectations_met", ALL, True, probe_runs_only=True),
        Metric("ttfr", TREND, "ttfr_s", RESPONDED, False),
        Metric("ttfr_business", TREND, "ttfr_business_s", RESPONDED, False),
        Metric("ttr", TREND, "ttr_s", RESOLVED, False, probe_runs_only=True),
        # over the probes that have one (a trend's samples are the probes with a value)
        Metric("ttfa", TREND, "ttfa_s", ALL, False),
        Metric("handoff", TREND, "handoff_s", ALL, False),
    )
}

# tags a threshold can be scoped by: probe-table columns
TAGS = GROUPS
# tags whose values are compared case-insensitively (handles, ids, names)
FOLDED_TAGS = frozenset(TAGS) - {"hour", "follower_tier"}

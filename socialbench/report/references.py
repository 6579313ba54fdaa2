"""Published reference figures (METRICS.md), shown beside a run's headline figures. Each
says who measured it, when and how, so a reader can judge the comparison."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    metric: str  # the summary key it compares with ("" when it compares with none exactly)
    value: float | None  # a share (0..1) or seconds
    text: str  # how it reads
    source: str  # who and when
    method: str  # how it was measured


REFERENCES = (
    Reference(
        "response_rate", 0.646, "64.6% of direct @questions answered",
        "Brandwatch, 2015", "~100 US/UK retailers, 300+ probe tweets, 5-day window",
    ),
    Reference(
        "within.1h", 0.112, "11.2% answered within 1 hour",
        "Brandwatch, 2015", "~100 US/UK retailers, 300+ probe tweets, 5-day window",
    ),
    Reference(
        "link_rate", 0.30, "~30% of replies had a helpful link",
        "Brandwatch, 2015", "~100 US/UK retailers, 300+ probe tweets, 5-day window",
    ),
    Reference(
        "deflection_rate", 0.15, "under 15% used DM or gave a phone number",
        "Brandwatch, 2015", "~100 US/UK retailers, 300+ probe tweets, 5-day window",
    ),
    Reference(
        "ttr_mean_s", 157 * 60.0, "questions resolved after 157 minutes on average",
        "Brandwatch, 2015", "~100 US/UK retailers, 300+ probe tweets, 5-day window",
    ),
    Reference(
        "response_rate", 0.11, "brands answered 11% of messages needing a response",
        "Sprout Social Index, 2016", "messages to brands' social accounts that needed a reply",
    ),
    Reference(
        "ttfr_mean_s", 10 * 3600.0, "average first response 10 hours (customers expect 4)",
        "Sprout Social Index, 2016", "messages to brands' social accounts that needed a reply",
    ),
    Reference(
        "response_rate", 0.76, "Facebook question response rate 76%",
        "Socialbakers Socially Devoted, Q2 2015", "questions on brands' Facebook pages",
    ),
    Reference(
        "ttfr_mean_s", 27 * 3600.0, "average response just under 27 hours (Facebook)",
        "Socialbakers Socially Devoted, Q2 2015", "questions on brands' Facebook pages",
    ),
    Reference(
        "response_rate", 0.90, "Meta 'very responsive' badge: 90% answered, within 15 minutes",
        "Meta Pages badge", "over the last 7 days of a Page's messages",
    ),
)  # fmt: skip


# shown beside the references whenever a run reads the twcs archive
TWCS_CAVEAT = (
    'If this twcs archive is Kaggle\'s "Customer Support on Twitter" (2017), it is a sample '
    "of conversations with the support accounts of large brands that answer a lot, not a "
    "random sample of customer messages: its response rate overstates how often brands in "
    "general answer."
)


def for_metric(metric: str) -> list[Reference]:
    """The references that compare with one summary figure."""
    return [r for r in REFERENCES if r.metric == metric]

"""The executive summary: the few findings that matter, worded by rules from the figures.

Each rule is a small function of ``summary.json`` (and the report's kind) that returns a
``Finding`` — one sentence and the figures it rests on — or None when the data does not
support it. Nothing is estimated or invented: every number is a summary figure or a test on
its counts, and "significant" is said only when a test at the 5% level says so.

Values from data (brand names, tier labels) go through ``text``, the renderer's escape
(Markdown); the HTML renderer escapes the whole sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from socialbench.durations import format_seconds
from socialbench.report.references import TWCS_CAVEAT, for_metric

MAX_FINDINGS = 5
ALPHA = 0.05
MIN_BRAND_PROBES = 20  # a brand needs this many probes (and min_group) to be best or worst
DEFLECTION_NOTABLE = 0.20  # share of answered probes moved to DM, phone or e-mail
BOT_ONLY_NOTABLE = 0.05  # share of all probes answered by automation alone
NOT_REAL = {"simulated": "simulated brands (the sandbox)", "replay": "replayed recordings"}


@dataclass(frozen=True)
class Finding:
    rule: str
    sentence: str
    figures: tuple[tuple[str, str], ...]  # (what, value) the sentence rests on


@dataclass(frozen=True)
class Facts:
    """What the rules read: the summary, the kind of run and the source formats."""

    summary: dict
    kind: str  # live, simulated, replay, recorded
    text: Callable[[object], str]

    @property
    def overall(self) -> dict:
        return self.summary["overall"]

    @property
    def min_group(self) -> int:
        return int(self.summary.get("min_group", 10))

    @property
    def formats(self) -> set[str]:
        return {str(s.get("format")) for s in self.summary.get("sources") or []}


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# ------------------------------------------------------------------------------ rules


def response_rate(facts: Facts) -> Finding | None:
    """How many probes were answered, and how that stands against the published figure."""
    o = facts.overall
    rate, interval = o.get("response_rate"), o.get("response_rate_ci")
    if rate is None:
        return None
    sentence = f"Brands answered {pct(rate)} of {_count(o['probes'], 'probe')}"
    figures = [("answered", f"{pct(rate)} ({o['responded']:,} of {o['probes']:,})")]
    if interval:
        shown = f"{100 * interval[0]:.1f}–{pct(interval[1])}"
        sentence += f" (95% CI {shown})"
        figures.append(("95% interval", shown))
    sentence += "."
    if facts.kind in NOT_REAL:
        return Finding(
            "response_rate",
            sentence + f" These probes went to {NOT_REAL[facts.kind]}: the figures show "
            "how the tool measures, not how real brands answer.",
            tuple(figures),
        )
    reference = for_metric("response_rate")[0]
    side = _side(interval, reference.value)
    who, _, year = reference.source.partition(", ")
    sentence += (
        f" That is {side} the {pct(reference.value)} that {who} measured in {year} "
        f"({facts.text(reference.method)}); methods differ, so read it as context."
    )
    figures.append((reference.source, pct(reference.value)))
    if "twcs" in facts.formats:
        sentence += " " + TWCS_CAVEAT
    return Finding("response_rate", sentence, tuple(figures))


def _side(interval, value: float) -> str:
    """above / below a reference only when the 95% interval excludes it."""
    if not interval:
        return "to be compared with"
    if interval[0] > value:
        return "above"
    if interval[1] < value:
        return "below"
    return "in line with"


def best_and_worst(facts: Facts) -> Finding | None:
    """The brands that answered most and least often, among those with enough probes;
    whether the gap is more than chance (Fisher's exact test)."""
    minimum = max(MIN_BRAND_PROBES, facts.min_group)
    rows = [
        r
        for r in facts.summary["groups"].get("brand") or []
        if r.get("probes", 0) >= minimum and r.get("response_rate") is not None
    ]
    if len(rows) < 2:
        return None
    rows.sort(key=lambda r: (-r["response_rate"], -r["probes"], str(r["brand"])))
    best, worst = rows[0], rows[-1]
    if best["response_rate"] == worst["response_rate"]:
        return None
    p = fisher(best["responded"], best["probes"], worst["responded"], worst["probes"])
    test = f"Fisher's exact test, {p_text(p)}"
    gap = "a significant gap" if p < ALPHA else "a gap that is not significant at the 5% level"
    name = lambda r: facts.text(r["brand"])  # noqa: E731
    sentence = (
        f"Of the {len(rows)} brands with at least {minimum} probes, {name(best)} answered "
        f"most often ({pct(best['response_rate'])} of {best['probes']:,}) and {name(worst)} "
        f"least often ({pct(worst['response_rate'])} of {worst['probes']:,}): {gap} ({test})."
    )
    figures = (
        (f"{name(best)} answered", f"{best['responded']:,} of {best['probes']:,}"),
        (f"{name(worst)} answered", f"{worst['responded']:,} of {worst['probes']:,}"),
        ("Fisher's exact test", p_text(p)),
    )
    return Finding("best_and_worst", sentence, figures)


def fisher(responded_a: int, probes_a: int, responded_b: int, probes_b: int) -> float:
    """Two-sided Fisher's exact test on two response counts (as significance.py tests)."""
    from scipy.stats import fisher_exact

    table = [[responded_a, probes_a - responded_a], [responded_b, probes_b - responded_b]]
    return float(fisher_exact(table).pvalue)


def fairness(facts: Facts) -> Finding | None:
    """A follower-tier gap, only when its test finds it significant."""
    compare = (facts.summary.get("fairness") or {}).get("compare")
    if not compare:
        return None
    tiers = {t["tier"]: t for t in facts.summary["fairness"].get("tiers") or []}
    high, low = tiers.get(compare["high"], {}), tiers.get(compare["low"], {})
    who = f"customers with {facts.text(compare['high'])} followers"
    than = f"those with {facts.text(compare['low'])}"
    parts, figures = [], []
    rate_p, diff = compare.get("fisher_p"), compare.get("response_rate_diff")
    if (
        rate_p is not None
        and rate_p < ALPHA
        and diff
        and None not in (high.get("response_rate"), low.get("response_rate"))
    ):
        how = "more" if diff > 0 else "less"
        parts.append(
            f"answered {100 * abs(diff):.1f} percentage points {how} often than {than} "
            f"({pct(high['response_rate'])} vs {pct(low['response_rate'])}; Fisher's exact "
            f"test, {p_text(rate_p)})"
        )
        figures.append(("response-rate gap", f"{100 * diff:+.1f} pp, {p_text(rate_p)}"))
    speed_p, ratio = compare.get("mannwhitney_p"), compare.get("ttfr_median_ratio_low_over_high")
    if speed_p is not None and speed_p < ALPHA and ratio and ratio != 1:
        how = f"{ratio:.1f}× faster" if ratio > 1 else f"{1 / ratio:.1f}× slower"
        parts.append(
            f"answered {how} at the median than {than} "
            f"({format_seconds(high.get('ttfr_median_s'))} vs "
            f"{format_seconds(low.get('ttfr_median_s'))}; Mann–Whitney U, {p_text(speed_p)})"
        )
        figures.append(("median-time ratio", f"{ratio:.2f}, {p_text(speed_p)}"))
    if not parts:
        return None
    sentence = f"Follower count mattered: {who} were " + ", and ".join(parts) + "."
    if compare.get("small"):
        sentence += f" A compared tier has fewer than {facts.min_group} probes."
    return Finding("fairness", sentence, tuple(figures))


def speed(facts: Facts) -> Finding | None:
    """How fast: the median first response and the share answered within an hour."""
    o = facts.overall
    median, within = o.get("ttfr_median_s"), (o.get("within") or {}).get("1h")
    if median is None or within is None:
        return None
    sentence = (
        f"Half the answered probes had a first reply within {format_seconds(median)}; "
        f"{pct(within)} of all probes were answered within an hour"
    )
    figures = [("median time to first response", format_seconds(median)),
               ("answered within 1 hour", pct(within))]  # fmt: skip
    if facts.kind not in NOT_REAL:
        reference = for_metric("within.1h")[0]
        sentence += f" ({reference.source}: {pct(reference.value)})"
        figures.append((reference.source, pct(reference.value)))
    return Finding("speed", sentence + ".", tuple(figures))


def deflection(facts: Facts) -> Finding | None:
    """Many replies sent the customer elsewhere (DM, phone, e-mail) instead of answering."""
    o = facts.overall
    rate = o.get("deflection_rate")
    if rate is None or rate < DEFLECTION_NOTABLE:
        return None
    sentence = (
        f"{pct(rate)} of answered probes were sent elsewhere — to private messages "
        f"({pct(o['dm_rate'] or 0)}), a phone number ({pct(o['phone_rate'] or 0)}) or "
        f"e-mail ({pct(o['email_rate'] or 0)}) — rather than answered where they were asked"
    )
    figures = [("deflected", pct(rate))]
    if facts.kind not in NOT_REAL:
        reference = for_metric("deflection_rate")[0]
        sentence += f" ({reference.source}: {facts.text(reference.text)})"
        figures.append((reference.source, reference.text))
    return Finding("deflection", sentence + ".", tuple(figures))


def bot_only(facts: Facts) -> Finding | None:
    """Probes that only a bot or an away message answered."""
    o = facts.overall
    rate = o.get("bot_only_rate")
    if not o.get("automated") or rate is None or rate < BOT_ONLY_NOTABLE:
        return None
    sentence = (
        f"{pct(rate)} of probes got only an automated reply (a bot or an away message) and "
        "no person within the window; automated replies never count as answers here."
    )
    return Finding("bot_only", sentence, (("answered only by automation", pct(rate)),))


RULES = (response_rate, best_and_worst, fairness, speed, deflection, bot_only)


def summarise(summary: dict, *, kind: str, text: Callable[[object], str] = str) -> list[Finding]:
    """The findings the data supports, most important first, at most MAX_FINDINGS."""
    facts = Facts(summary, kind, text)
    found = [finding for rule in RULES if (finding := rule(facts)) is not None]
    return found[:MAX_FINDINGS]

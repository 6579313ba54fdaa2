"""The methodology appendix, written from the run's own settings (not boilerplate)."""

from __future__ import annotations

from socialbench.durations import format_seconds

CLASSIFIER = (
    ("link", "a web address with http://, https:// or www. (t.co short links count)"),
    ("DM", "asks the customer to continue in private messages (DM, PM, inbox, 'send us a "
     "message'), or is itself a private reply to a public probe"),
    ("phone", "a telephone number in national or international form; order, ticket and "
     "tracking numbers, dates, times and prices do not count"),
    ("email", "an e-mail address"),
    ("acknowledgement only", "the first reply only acknowledges, apologises or thanks, with "
     "no answer, link, question or channel switch"),
)  # fmt: skip


def file_name(path) -> str:
    """A source's file name, never the folders it was read from (``/home/…``, ``C:\\…``):
    reports go to clients, machine paths stay here."""
    return str(path or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


BUSINESS_ZERO = (
    "counts only the seconds inside the brand's support hours; a reply that came while "
    "support was closed, before it next opened, has a support-hours time of 0s, so a median "
    "of 0s means at least half of the answered probes were answered out of hours"
)


def statements(report) -> list[tuple[str, str]]:
    """(topic, statement) pairs describing how this run's figures were made."""
    summary = report.summary
    out = [
        ("Probes", _probes(report)),
        (
            "Window",
            f"each probe is watched for {format_seconds(summary['window_s'])}; brand "
            "messages after that do not count, and unanswered probes stay in every rate",
        ),
        ("Time span", _span(report)),
        ("Generated", f"{report.generated_at} (the wall-clock time this report was made)"),
        (
            "Small groups",
            f"a figure is shown only when its sample has at least "
            f"{summary.get('min_group', 10)} probes; smaller groups show '–'",
        ),
        (
            "Intervals",
            "response rates carry a 95% Wilson interval; 'answered within' shares "
            "are Kaplan-Meier estimates, equal to plain shares when every probe was watched for "
            "the whole window",
        ),
        ("Quantiles", "medians and p90 by linear interpolation over answered probes"),
        ("Resolution", _resolution(report)),
    ]
    out += [(f"Reply type: {name}", rule) for name, rule in CLASSIFIER]
    out += _hours(report)
    if report.suite and any(b.get("hours") for b in report.suite.get("brands") or []):
        out.append(("Support-hours clock", BUSINESS_ZERO))
    out += _sources(report)
    return out


def _probes(report) -> str:
    if report.is_probe_run:
        run = report.summary["run"]
        kind = {"live": "a live run", "replay": "a replay of recordings"}.get(
            report.run_kind, "a simulated run"
        )
        state = "complete" if run["complete"] else f"in progress as of {run['as_of']}"
        return (
            f"suite {run['suite']}, {run['planned']} probes planned, sent to target "
            f"{run['target']} ({kind}), {state}; {len(run['failed'])} never sent"
        )
    reopen = report.summary.get("reopen_after_s")
    extra = (
        f"; a customer message after {format_seconds(reopen)} of silence opens a new probe"
        if reopen
        else ""
    )
    return "each customer message that opens a conversation in the recorded data" + extra


def _span(report) -> str:
    sent = report.probes["sent_at"].dropna() if "sent_at" in report.probes else None
    if sent is None or sent.empty:
        return "no probes"
    text = f"probes sent from {sent.min():%Y-%m-%d %H:%M} to {sent.max():%Y-%m-%d %H:%M} UTC"
    span = report.data_span()
    if span is not None:
        text += f"; the last message measured is of {span[1]:%Y-%m-%d %H:%M} UTC"
    if report.simulated_clock:
        text += (
            " (platform time of the sandbox, whose clock runs faster than real time: "
            "not when the run took place)"
        )
    return text


def _resolution(report) -> str:
    if report.is_probe_run:
        return (
            "answer key: a brand message in the window matches the query's keywords, "
            "patterns or link domain; queries without a key are left out"
        )
    return (
        "customer confirmation (a heuristic): a later customer message says the problem is solved"
    )


def _hours(report) -> list[tuple[str, str]]:
    suite = report.suite or {}
    out = []
    for brand in suite.get("brands") or []:
        hours = brand.get("hours")
        aliases = [h for handles in (brand.get("aliases") or {}).values() for h in handles]
        text = "no support hours: the business clock equals the calendar clock"
        if hours:
            weekly = ", ".join(
                f"{day} {' '.join(spans)}" for day, spans in (hours.get("weekly") or {}).items()
            )
            text = f"{hours.get('timezone')}: {weekly}"
            if hours.get("holidays"):
                text += f"; closed on {hours['holidays']} public holidays"
        if aliases:
            text += f"; alias handles {', '.join(aliases)}"
        out.append((f"Brand {brand.get('id')}", text))
    return out


def _sources(report) -> list[tuple[str, str]]:
    return [
        ("Source", f"{file_name(s['path'])} ({s['format']}, {s['messages']:,} messages)")
        for s in report.summary.get("sources") or []
    ]

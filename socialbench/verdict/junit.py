"""A check's Verdict as JUnit XML, the schema CI test reporters read (GitHub test-report
actions, GitLab ``artifacts:reports:junit``, Jenkins).

The file's test cases fail exactly when the verdict fails, so a passing check (exit code 0)
is green in every reporter. One test suite, ``thresholds``:

- one case per threshold and per regression (the rows of the verdict's table): a failing
  row is a ``<failure>``; a warning passes, with the warning in ``<system-out>``; a
  threshold with no data and ``on_no_data: skip`` is ``<skipped/>``;
- one case named ``run`` when the run itself is a problem: an ``<error>`` when probes could
  not be sent (exit code 3: nothing was measured, let alone missed), otherwise a
  ``<failure>`` (still in progress, ``--require-live`` not met; exit code 1).

A probe run's expectations (a query's ``expect``) are not cases of their own: one probe
missing one expectation decides nothing unless a threshold says so. Where one does (an
``expectations_met`` threshold or regression), that row is the gate, and the probes that
missed, with what they missed, are listed in its ``<system-out>``. The suite's properties
say where the figures came from (a live run, the sandbox, a replay or recorded
conversations), the verdict, and how many expectations were missed.

The document is valid against Jenkins xunit-plugin's ``junit-10.xsd`` (the flavour
junitparser's ``xunit2`` writes): no ``skipped`` on ``<testsuites>``; ``time`` in seconds
with at most three decimals; ``timestamp`` in ISO 8601 without a zone (UTC). Every string is
stripped of the characters XML 1.0 cannot hold (social-media text can contain them).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from junitparser import Error, Failure, Skipped, xunit2

from socialbench.verdict import FAILED, SKIPPED, WARNED, Row, rows

CLASSNAME = "socialbench"
SUITE = "thresholds"
GATE = "expectations_met"  # the metric that makes a probe run's expectations a gate
MISSES_SHOWN = 1000  # per gate's <system-out>; the probe table has them all

# Not allowed anywhere in an XML 1.0 document: C0 controls but tab, newline and carriage
# return; lone surrogates; U+FFFE and U+FFFF.
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def legal(value: object) -> str:
    """``value`` as text an XML 1.0 document can hold: illegal characters removed."""
    return _ILLEGAL.sub("", str(value))


def judged(verdict) -> list[tuple[Row, str]]:
    """Each Row of ``rows(verdict)`` with how it counts: FAILED, WARNED, SKIPPED or PASSED."""
    return [(row, row.counts) for row in rows(verdict)]


def case_name(row: Row) -> str:
    """``ttfr{channel:x} p(90) < 4h``: the row as one line."""
    scope = f"{{{row.scope}}}" if row.scope else ""
    return f"{row.metric}{scope} {row.expression}"


def message(row: Row) -> str:
    """``observed 5.2h over 1,204 samples; baseline 4.1h; no samples in this scope``."""
    observed = f"observed {row.observed}"
    if row.samples != "-":
        observed += f" over {row.samples} samples"
    parts = [observed]
    if row.baseline is not None:
        parts.append(f"baseline {row.baseline}")
    if row.detail:
        parts.append(row.detail)
    return "; ".join(parts)


def write(verdict, path: Path) -> Path:
    """Write the verdict's JUnit XML to ``path`` (UTF-8), atomically: a reader sees the old
    file or the new one, never half of one; WriteFailed (DiskFull on a full disk) names
    ``path`` when it cannot be written."""
    from socialbench.report.output import write_text

    return write_text(Path(path), render(verdict))


def render(verdict) -> str:
    """The verdict as a JUnit XML document, with its XML declaration."""
    suite = _suite(verdict)
    root = xunit2.JUnitXml(CLASSNAME)
    root.add_testsuite(suite)
    root.update_statistics()  # counts; its times are the cases', which are not timed
    started, seconds = _timing(verdict)
    suite.time = root.time = round(seconds, 3)
    if started is not None:
        suite.timestamp = started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    # Indented by ElementTree: junitparser's pretty printer (minidom) writes newlines in
    # attribute values as they are, which readers turn into spaces.
    element = ET.fromstring(root.tostring())
    ET.indent(element)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, "unicode") + "\n"


def _timing(verdict) -> tuple[datetime | None, float]:
    """When the check was made and how long it took, where the verdict says (else no
    timestamp and 0 seconds: nothing was timed)."""
    return getattr(verdict, "checked_at", None), getattr(verdict, "duration_s", None) or 0.0


def _suite(verdict) -> xunit2.TestSuite:
    suite = xunit2.TestSuite(SUITE)
    for name, value in _properties(verdict).items():
        suite.add_property(name, legal(value))
    cases = [_threshold_case(row, how, verdict.expectations) for row, how in judged(verdict)]
    if verdict.problems:
        cases.append(_run_case(verdict))
    suite.add_testcases(cases)
    suite.system_out = legal(verdict.headline())
    return suite


def _threshold_case(row: Row, how: str, expectations: list[dict]) -> xunit2.TestCase:
    case = _case(case_name(row))
    text = f"{row.status_text}: {case_name(row)}: {message(row)}"
    if row.origin:
        text += f" (written at {row.origin})"
    if how == FAILED:
        case.result = _result(Failure, message(row), text=text, type_=row.status)
    elif how == SKIPPED:
        case.result = _result(Skipped, message(row))
    output = [text] if how == WARNED else []
    if row.metric == GATE and expectations:
        output += _misses(row, expectations)
    if output:
        case.system_out = legal("\n".join(output))
    return case


def _run_case(verdict) -> xunit2.TestCase:
    """The run's own problems: an error when probes could not be sent (exit code 3), else a
    failure."""
    case = _case("run")
    kind = Error if verdict.failed_sends else Failure
    problems = verdict.problems
    case.result = _result(kind, "; ".join(problems), text="\n".join(problems), type_=verdict.status)
    return case


def _misses(row: Row, expectations: list[dict]) -> list[str]:
    """The gate's output: how many expectations were missed, then one line per miss."""
    missed = [item for item in expectations if not item["met"]]
    probes = len({item["probe_id"] for item in expectations})
    missing = len({item["probe_id"] for item in missed})
    where = f" (every probe of the run, not only {{{row.scope}}})" if row.scope else ""
    lines = [
        f"{len(missed):,} of {len(expectations):,} expectation(s) missed, by {missing:,} of "
        f"{probes:,} probe(s){where}{':' if missed else '.'}"
    ]
    lines += [f"{_expectation(item)}: {item['detail']}" for item in missed[:MISSES_SHOWN]]
    if len(missed) > MISSES_SHOWN:
        lines.append(f"… and {len(missed) - MISSES_SHOWN:,} more (probes.csv: expectations_missed)")
    return lines


def _expectation(item: dict) -> str:
    """``p-0007 acme/angry x/public: deadline``: a probe and one expectation of its query."""
    return (
        f"{item['probe_id']} {item['brand']}/{item['persona']} "
        f"{item['channel']}/{item['surface']}: {item['expectation']}"
    )


def _properties(verdict) -> dict[str, object]:
    values = {
        "source": verdict.source,
        "source_text": verdict.source_text,
        "directory": verdict.directory,
        "baseline": verdict.baseline,
        "status": verdict.status,
        "exit_code": verdict.exit_code,
    }
    if verdict.expectations:
        values["expectations"] = len(verdict.expectations)
        values["expectations_missed"] = sum(not item["met"] for item in verdict.expectations)
    return {name: value for name, value in values.items() if value is not None}


def _case(name: str) -> xunit2.TestCase:
    return xunit2.TestCase(legal(name), classname=f"{CLASSNAME}.{SUITE}")


def _result(kind, message: str, *, text: str | None = None, type_: str | None = None):
    """A junitparser Failure, Error or Skipped with legal text."""
    result = kind(legal(message), legal(type_) if type_ else None)
    if text is not None:
        result.text = legal(text)
    return result

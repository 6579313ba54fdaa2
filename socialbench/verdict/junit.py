"""A check's Verdict as JUnit XML, the schema CI test reporters read (GitHub test-report
actions, GitLab ``artifacts:reports:junit``, Jenkins).

Two test suites:

``thresholds``
    One case per threshold and per regression (the rows of the verdict's table), and one
    failing case named ``run`` when the run itself failed (still in progress, probes that
    could not be sent). These are the cases that decide the exit code: a failing row fails,
    a warning passes with the warning in ``<system-out>``, and a threshold with no data and
    ``on_no_data: skip`` is skipped. The suite's properties say where the figures came from
    (a live run, the sandbox, a replay or recorded conversations) and the verdict.

``expectations`` (probe runs only)
    One case per probe and expectation of its query (``expect``), failed when the probe
    missed it. These cases are informational, to find the probes that missed: they do not
    decide the exit code. The threshold that gates on them is
    ``expectations_met: ["rate >= 0.8"]``.

Every string is stripped of the characters XML 1.0 cannot hold (social-media text can
contain them); ElementTree escapes the rest.
"""

from __future__ import annotations

import os
import re
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

from socialbench.verdict import FAILED, SKIPPED, WARNED, Row, rows

CLASSNAME = "socialbench"

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
    file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("xb") as file:
            file.write(render(verdict).encode("utf-8"))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def render(verdict) -> str:
    """The verdict as a JUnit XML document, with its XML declaration."""
    suites = [_thresholds(verdict)]
    if verdict.expectations:
        suites.append(_expectations(verdict.expectations))
    root = _element("testsuites", name=CLASSNAME, **_totals(suites))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _thresholds(verdict) -> ET.Element:
    cases = [_threshold_case(row, how) for row, how in judged(verdict)]
    if verdict.problems:
        case = _element("testcase", classname=f"{CLASSNAME}.thresholds", name="run")
        problems = "; ".join(verdict.problems)
        case.append(_element("failure", "\n".join(verdict.problems), message=problems))
        cases.append(case)
    suite = _suite("thresholds", cases)
    suite.insert(0, _properties(verdict))
    suite.append(_element("system-out", verdict.headline()))
    return suite


def _threshold_case(row: Row, how: str) -> ET.Element:
    case = _element("testcase", classname=f"{CLASSNAME}.thresholds", name=case_name(row))
    text = f"{row.status}: {case_name(row)}: {message(row)}"
    if row.origin:
        text += f" (written at {row.origin})"
    if how == FAILED:
        case.append(_element("failure", text, message=message(row), type=row.status))
    elif how == SKIPPED:
        case.append(_element("skipped", message=message(row)))
    elif how == WARNED:
        case.append(_element("system-out", text))
    return case


def _expectations(expectations: list[dict]) -> ET.Element:
    cases = []
    for item in expectations:
        name = (
            f"{item['probe_id']} {item['brand']}/{item['persona']} "
            f"{item['channel']}/{item['surface']}: {item['expectation']}"
        )
        case = _element(
            "testcase", classname=f"{CLASSNAME}.expectations.{item['scenario']}", name=name
        )
        if not item["met"]:
            case.append(
                _element("failure", item["detail"], message=item["detail"], type="expectation")
            )
        cases.append(case)
    return _suite("expectations", cases)


def _properties(verdict) -> ET.Element:
    values = {
        "source": verdict.source,
        "source_text": verdict.source_text,
        "directory": verdict.directory,
        "baseline": verdict.baseline,
        "status": verdict.status,
        "exit_code": verdict.exit_code,
    }
    properties = _element("properties")
    for name, value in values.items():
        if value is not None:
            properties.append(_element("property", name=name, value=value))
    return properties


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    suite = _element("testsuite", name=name, **_counts(cases))
    suite.extend(cases)
    return suite


def _counts(cases: list[ET.Element]) -> dict[str, int]:
    return {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": 0,
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }


def _totals(suites: list[ET.Element]) -> dict[str, int]:
    keys = ("tests", "failures", "errors", "skipped")
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in keys}


def _element(tag: str, text: object = None, **attributes: object) -> ET.Element:
    element = ET.Element(tag, {k: legal(v) for k, v in attributes.items()})
    if text is not None:
        element.text = legal(text)
    return element

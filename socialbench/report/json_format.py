"""The JSON report: the run's ``summary.json`` (schema_version 1, documented in the README)
as it is, pretty-printed.

Parsed, it is the same document. Written, characters that could turn it live where it is
embedded or displayed are ``\\u`` escapes: ``<``, ``>`` and ``&`` (a page inlining it in a
``<script>``), the line separators U+2028/U+2029 (JavaScript), C1 controls and bidirectional
overrides (a terminal or an editor showing it). JSON escapes C0 controls already.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from socialbench.report.model import Report
from socialbench.report.output import clean_json

DEFAULT_NAME = "report.json"  # beside the run's files

# Characters that appear only inside JSON strings, so escaping them in the text is safe.
_LIVE = re.compile("[<>&\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def write(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


def render(report: Report) -> str:
    text = json.dumps(clean_json(report.summary), indent=2, ensure_ascii=False)
    return _LIVE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"

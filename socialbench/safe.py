"""Making untrusted text safe to show in a terminal or a log.

Control characters (which include terminal escape sequences) and bidirectional overrides
are shown as visible ``\\xNN`` / ``\\u202e`` escapes instead of being acted on.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value: object) -> str:
    """``value`` as one line of inert text."""
    text = str(value).replace("\n", " ").replace("\t", " ")
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

"""Making untrusted text safe to show in a terminal or a log.

Control characters (which include terminal escape sequences), every line and paragraph
break (vertical tab, form feed, U+001C–U+001E, NEL U+0085, the separators U+2028 and
U+2029), bidirectional marks and overrides, and lone surrogates (which no terminal encoding
can hold) are shown as visible ``\\xNN`` / ``\\u2028`` escapes instead of being acted on, so
the text stays on one line, in its place.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 controls (line breaks included) but tab and newline; C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, embeddings, isolates
    "\u2028\u2029"  # line and paragraph separators (categories Zl, Zp)
    "\ud800-\udfff"  # lone surrogates
    "]"
)


def terminal_text(value: object) -> str:
    """``value`` as one line of inert text."""
    text = str(value).replace("\n", " ").replace("\t", " ")
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_lines(text: str) -> str:
    """``text`` (an error message, which may quote data) safe for a terminal, its own line
    breaks kept and each line inert."""
    return "\n".join(terminal_text(line) for line in text.split("\n"))

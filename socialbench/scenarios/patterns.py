"""Users' regular expressions (answer keys' ``patterns``, endpoints' ``human``, dialogue ``bot``
steps), checked and matched with RE2 semantics as Arrow runs them: case-insensitive, in time
linear in the text, so no pattern can hang a run. RE2 has no backreferences or lookarounds;
a pattern that uses them is refused when the suite is read. Arrow is imported when a pattern
is first checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def problem(pattern: str) -> str | None:
    """Why RE2 cannot compile ``pattern`` (None: it can)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern, ignore_case=True)
    except pa.ArrowInvalid as exc:
        return str(exc).removeprefix("Invalid regular expression: ")
    return None


def matches(texts: Sequence[str | None], pattern: str) -> np.ndarray:
    """Whether each text contains a match of ``pattern`` (a missing text: no), as booleans."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.match_substring_regex(pa.array(texts, pa.string()), pattern, ignore_case=True)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def search(pattern: str, text: str) -> bool:
    """Whether ``text`` contains a match of ``pattern``."""
    return bool(matches([text], pattern)[0])

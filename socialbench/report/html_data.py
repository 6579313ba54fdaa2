"""The HTML report's embedded data: the probe table and transcripts as compact JSON.

The probe table is columnar (one array per column, short keys, text columns as codes into a
dictionary) so 100,000 probes stay a few megabytes; the page's script renders one page of
rows at a time. Every text here is untrusted: ``script_json`` makes the JSON safe inside a
``<script type="application/json">`` block, and ``inert`` shows control and bidirectional
override characters as visible escapes.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd

# C0/C1 controls (but tab and newline) and the bidirectional marks, embeddings, overrides and
# isolates: shown as \u202e so a name cannot reorder or hide the text around it
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029]")
# spreadsheet formula guard of probes.csv (output.defuse_formulas), undone on reading
_GUARDED = re.compile(r"^'(?=[=+\-@\t\r])")
_EPOCH = pd.Timestamp(0, tz="UTC")

# bits of the probe table's "f" column, the commonest lowest (so most values take two
# base-36 digits); "rule" and "expected": ``resolved`` / ``expectations_met`` is known;
# "automated": an automated reply came (it never counts as a response)
BITS = {
    "responded": 1,
    "rule": 2,
    "expected": 4,
    "expectations_met": 8,
    "resolved": 16,
    "link": 32,
    "one_touch": 64,
    "dm": 128,
    "ack_only": 256,
    "phone": 512,
    "email": 1024,
    "automated": 2048,
}
CODED = {
    "b": "brand",
    "c": "channel",
    "s": "surface",
    "p": "persona",
    "sc": "scenario",
    "x": "expectations_missed",
}
# the page's budget: transcripts fill what the rest leaves of it (8 MB for 100,000 probes is
# the requirement); MESSAGE_BYTES is a message's packed columns besides its text
PAGE_BYTES = 7_000_000
MIN_TRANSCRIPT_BYTES = 500_000
MESSAGE_BYTES = 14


def script_json(value) -> str:
    """JSON that cannot end its ``<script>`` block or be read as HTML (``<``, ``>``, ``&``
    and the JavaScript line separators escaped)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES[m.group()], text)


def inert(text: str) -> str:
    """``text`` with control and bidirectional-override characters as visible escapes."""
    return UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def unguard(series: pd.Series) -> pd.Series:
    """Text as it was before probes.csv's spreadsheet guard prefixed ``'``."""
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        return series.str.replace(_GUARDED, "", regex=True)
    return series


def epoch_seconds(times: pd.Series) -> np.ndarray:
    """UTC timestamps as float seconds since 1970 (NaN for missing)."""
    return ((times - _EPOCH) / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan)


_DIGITS = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def pack(values) -> str:
    """Integers (rounded; NaN for missing) as one string: base-36 numbers joined by ``,``,
    empty for missing. The page decodes it with ``split(",")`` and ``parseInt(x, 36)``.

    A third the size of a JSON array of decimal numbers and nulls, built without a loop
    over the values.
    """
    values = np.asarray(values, dtype=float)
    if not len(values):
        return ""
    missing = np.isnan(values)
    number = np.where(missing, 0, np.rint(values)).astype(np.int64)
    size = np.abs(number)
    width = 1
    while 36**width <= int(size.max()):
        width += 1
    cells = np.empty((len(size), width + 2), dtype=np.uint8)  # sign, digits, comma
    cells[:, 0], cells[:, -1] = ord("-"), ord(",")
    rest = size.copy()
    for j in range(width, 0, -1):
        cells[:, j] = _DIGITS[rest % 36]
        rest //= 36
    digits = np.ones(len(size), dtype=np.int64)
    for j in range(1, width):
        digits += size >= 36**j
    column = np.arange(width + 2)[None, :]
    keep = (column > width - digits[:, None]) & (column <= width) & ~missing[:, None]
    keep[:, 0] = (number < 0) & ~missing
    keep[:, -1] = True
    return cells[keep].tobytes().decode("ascii")[:-1]


def _coded(series: pd.Series) -> tuple[str | int, list[str]]:
    """Packed codes into a dictionary of distinct values (empty for missing); a bare 0 when
    the column holds one value throughout."""
    codes, uniques = pd.factorize(unguard(series), sort=False)
    words = [inert(str(v)) for v in uniques]
    if len(words) <= 1 and not (codes < 0).any():
        return 0, words
    return pack(np.where(codes < 0, np.nan, codes)), words


def _followers(followers: pd.Series) -> tuple[str | int, list | None]:
    """Follower counts packed; as codes into a list when there are few distinct counts."""
    values = followers.to_numpy(dtype=float)
    distinct = np.unique(values[~np.isnan(values)])
    if len(distinct) > 36**2:
        return pack(values), None
    codes = np.searchsorted(distinct, values).astype(float)
    return pack(np.where(np.isnan(values), np.nan, codes)), [int(v) for v in distinct]


def _ids(ids: pd.Series) -> str | list[str]:
    """Probe ids joined by spaces (a list when some id has a space)."""
    ids = unguard(ids.astype(str))
    risky = ids.str.contains(UNSAFE).to_numpy(dtype=bool)
    values = ids.tolist()
    for i in np.flatnonzero(risky):
        values[i] = inert(values[i])
    if ids.str.contains(" ", regex=False).any() or (ids == "").any():
        return values
    return " ".join(values)


def _flags(probes: pd.DataFrame) -> np.ndarray:
    known = {
        "rule": probes["resolved"].notna() if "resolved" in probes else None,
        "expected": probes["expectations_met"].notna() if "expectations_met" in probes else None,
        "automated": probes["automated_messages"].fillna(0) > 0
        if "automated_messages" in probes
        else None,
    }
    bits = np.zeros(len(probes), dtype=np.int64)
    for name, bit in BITS.items():
        column = known[name] if name in known else probes.get(name)
        if column is not None:
            bits |= column.fillna(False).to_numpy(dtype=bool) * bit
    return bits


def probe_table(probes: pd.DataFrame) -> dict:
    """The probe table as packed columns (see ``pack``), one entry per probe in table order.

    ``id``: probe ids; ``k``: the dictionaries of the coded text columns (CODED); ``t0``:
    the first probe's time (seconds since 1970) and ``t`` each probe's time minus the
    previous one's; ``r``: time to first response; ``rb``: ``r`` minus the support-hours
    time (0 when equal); ``fo``: followers; ``f``: flag bits (FLAGS); ``q``: time to
    resolution. Seconds are whole.
    """
    sent = epoch_seconds(probes["sent_at"])
    known = sent[~np.isnan(sent)]
    t0 = int(np.floor(known.min())) if len(known) else 0
    whole = np.floor(sent)
    table: dict = {"n": len(probes), "t0": t0, "id": _ids(probes["probe_id"]), "k": {}}
    table["bits"] = BITS
    for key, name in CODED.items():
        if name in probes:
            table[key], table["k"][key] = _coded(probes[name])
    table["t"] = pack(np.diff(whole, prepend=t0))
    ttfr = np.rint(probes["ttfr_s"].to_numpy(dtype=float))
    table["r"] = pack(ttfr)
    table["rb"] = pack(ttfr - np.rint(probes["ttfr_business_s"].to_numpy(dtype=float)))
    table["fo"], table["k"]["fo"] = _followers(probes["followers"])
    table["f"] = pack(_flags(probes))
    if "ttr_s" in probes:
        table["q"] = pack(probes["ttr_s"].to_numpy(dtype=float))
    return table


def transcript_table(
    transcripts: dict, probe_ids: list[str], sent: np.ndarray, *, budget: int
) -> dict:
    """The probes' messages as packed columns, in probe-table order, while they fit in
    ``budget`` bytes; conversations of probe ``upto`` onwards are left out.

    ``m``: the number of messages. Per message: ``i`` the probe's row minus the previous
    message's, ``t`` seconds after the probe was sent, ``w`` author and ``x`` text (indexes
    into ``a`` and ``s``), ``k`` 1 when the brand wrote it + 2 when it was private.
    """
    texts: dict[str, int] = {}
    authors: dict[str, int] = {}
    rows, times, who, kinds, what = [], [], [], [], []
    used, upto = 0, len(probe_ids)
    for row, probe_id in enumerate(probe_ids):
        messages = transcripts.get(probe_id) or ()
        cost = MESSAGE_BYTES * len(messages) + sum(
            len(m.text.encode()) for m in messages if m.text not in texts
        )
        if used + cost > budget:
            upto = row
            break
        used += cost
        for message in messages:
            rows.append(row)
            times.append(_epoch(message.at) - sent[row])
            who.append(authors.setdefault(inert(message.author), len(authors)))
            kinds.append(
                (1 if message.is_brand else 0) | (2 if message.surface == "private" else 0)
            )
            what.append(texts.setdefault(inert(message.text), len(texts)))
    return {
        "m": len(rows),
        "s": list(texts),
        "a": list(authors),
        "i": pack(np.diff(np.array(rows, dtype=float), prepend=0)),
        "t": pack(times),
        "w": pack(who),
        "k": pack(kinds),
        "x": pack(what),
        "upto": upto,
        "omitted": sum(1 for pid in probe_ids[upto:] if transcripts.get(pid)),
    }


def _epoch(at: str) -> float:
    return dt.datetime.fromisoformat(at).timestamp()

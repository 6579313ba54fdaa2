"""The aggregates of METRICS.md: probe table in, summary dict out. Pure: no I/O, no printing.

Every group row and ``overall`` carry AGGREGATE_KEYS. A figure is ``None`` when it is
undefined (no responded probe for a time) or when its sample is smaller than ``min_group``
(``small`` then lists which samples were too small): a number from three probes means
nothing, and the report says so instead of printing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from socialbench.measure import summaries
from socialbench.measure.summaries import GROUPS

if TYPE_CHECKING:
    import pandas as pd

Z95 = 1.959963984540054
WITHIN = {"15m": 900.0, "1h": 3600.0, "4h": 14400.0, "24h": 86400.0}
TYPE_FLAGS = ("link", "dm", "phone", "email", "ack_only")
AGGREGATE_KEYS = (
    "probes",
    "responded",
    "automated",
    "response_rate",
    "response_rate_ci",
    "ttfr_median_s",
    "ttfr_p90_s",
    "ttfr_mean_s",
    "within",
    "ttfr_business_median_s",
    "ttfr_business_p90_s",
    "link_rate",
    "dm_rate",
    "phone_rate",
    "email_rate",
    "ack_only_rate",
    "deflection_rate",
    "resolution_rate",
    "automated_rate",
    "ttfa_median_s",
    "bot_only_rate",
    "handoff_median_s",
)
OTHER_PERSONAS = "(other personas)"
MAX_PERSONAS = 50
UNKNOWN_TIER = "(unknown)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SUMMARY_THREADS = 2


@dataclass(frozen=True)
class MetricSettings:
    window_s: float
    min_group: int = 10
    tiers: tuple[float, ...] = (1000.0, 10000.0)


def summarize(probes: pd.DataFrame, settings: MetricSettings) -> dict:
    """The whole ``summary.json`` document for a probe table.

    The groupings are independent: they are computed on two threads (numpy and Arrow
    release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    probes = with_tiers(probes, settings.tiers)
    table = ProbeArrays(probes)
    overall = _rows(table.groups(np.zeros(len(probes), dtype=np.int64), 1), settings)[0]

    def rows(name: str) -> list[dict]:
        return group_rows(probes, name, settings, table=table, overall=overall)

    with ThreadPoolExecutor(max_workers=_SUMMARY_THREADS) as pool:
        tiers = pool.submit(fairness, probes, settings, table=table)
        groups = dict(zip(GROUPS, pool.map(rows, GROUPS), strict=True))
    return summaries.document(
        settings, overall, groups, tiers.result(), omnichannel(probes, settings)
    )


def aggregate(frame: pd.DataFrame, settings: MetricSettings) -> dict:
    """Every aggregate of one group of probes."""
    codes = np.zeros(len(frame), dtype=np.int64)
    return _rows(ProbeArrays(frame).groups(codes, 1), settings)[0]


def group_rows(
    probes: pd.DataFrame,
    name: str,
    settings: MetricSettings,
    *,
    table: ProbeArrays | None = None,
    overall: dict | None = None,
) -> list[dict]:
    """One row per value of a grouping column (missing values left out), in a stable order.

    A grouping whose single group holds every probe has the overall figures (``overall``,
    when given, is reused rather than computed again).
    """
    codes, values = _group_codes(probes, name, settings)
    if not values:  # nothing to group (a column missing throughout)
        return []
    if overall is not None and len(values) == 1 and bool((codes == 0).all()):
        rows = [overall]
    else:
        rows = _rows((table or ProbeArrays(probes)).groups(codes, len(values)), settings)
    keyed = [{name: _jsonable(v), **row} for v, row in zip(values, rows, strict=True)]
    return sorted(keyed, key=lambda row: _order(name, row[name]))


def _factorize(key: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (-1 for missing) and the distinct values of a grouping column, in order
    of first appearance."""
    import pandas as pd

    if isinstance(key.dtype, pd.StringDtype) and key.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        column = pa.chunked_array(pa.array(key.array))
        if column.null_count == len(column):  # missing throughout: no group
            return np.full(len(column), -1, dtype=np.int64), []
        if not column.null_count:
            low, high = pc.min_max(column).values()
            if low == high:  # one value throughout (a channel, a surface): one group
                return np.zeros(len(column), dtype=np.int64), [low.as_py()]
        encoded = pc.dictionary_encode(column).combine_chunks()
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return codes.astype(np.int64), encoded.dictionary.to_pylist()
    codes, values = pd.factorize(key, sort=False)
    return codes.astype(np.int64), list(values)


class ProbeArrays:
    """The columns of a probe table that metrics read, as numpy arrays, read once.

    Response times are also kept sorted (among responded probes), so that every grouping's
    quantiles need only a stable sort of the group codes.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.responded = frame["responded"].to_numpy(dtype=bool)
        self.ttfr = frame["ttfr_s"].to_numpy(dtype=float)
        business = frame["ttfr_business_s"].to_numpy(dtype=float)
        self.times = {"ttfr": self.ttfr, "business": business}
        # automated replies: their delay, and the hand-off to a human (NaN: none)
        self.times |= {name: _floats(frame, column) for name, column in _BOT_TIMES.items()}
        # without support hours the business clock is the plain one: sort it once
        self.same = {"business": "ttfr"} if np.array_equal(business, self.ttfr, True) else {}
        self.watched = frame["watched_s"].to_numpy(dtype=float)
        self.flags = {f: frame[f].to_numpy(dtype=bool) for f in TYPE_FLAGS}
        automated = frame.get("automated_messages")
        self.automated = (
            np.zeros(len(frame), dtype=bool) if automated is None else automated.to_numpy() > 0
        )
        bot_only = frame.get("bot_only")
        self.bot_only = (
            np.zeros(len(frame), dtype=bool) if bot_only is None else bot_only.to_numpy(bool)
        )
        self.handoff = ~np.isnan(self.times["handoff"])
        resolved = frame["resolved"]
        self.rule = resolved.notna().to_numpy()
        self.resolved = resolved.fillna(False).to_numpy(dtype=bool) & self.rule
        self.bits = np.zeros(len(frame), dtype=np.int64)
        for i, name in enumerate(_JOINT):
            self.bits |= self._flag(name).astype(np.int64) << i
        answered = np.flatnonzero(self.responded)
        present = {name: np.flatnonzero(~np.isnan(self.times[name])) for name in _BOT_TIMES}
        self.by_value = {
            name: rows[np.argsort(values[rows], kind="stable")]
            for name, values in self.times.items()
            if name not in self.same
            for rows in [present.get(name, answered)]
        }
        # the answered probes' times in that order, read in order by every grouping
        self.sorted_times = {name: self.times[name][rows] for name, rows in self.by_value.items()}

    def _flag(self, name: str) -> np.ndarray:
        return self.flags[name] if name in self.flags else getattr(self, name)

    def groups(self, codes: np.ndarray, count: int) -> Groups:
        return Groups(self, codes, count)


# the columns of automated replies' times (NaN, or absent from an older table: none)
_BOT_TIMES = {"ttfa": "ttfa_s", "handoff": "handoff_s"}


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame.get(column)
    return np.full(len(frame), np.nan) if values is None else values.to_numpy(dtype=float)


_JOINT = ("responded", "automated", "rule", "resolved", "bot_only", "handoff", *TYPE_FLAGS)
_PATTERNS = 1 << len(_JOINT)


class _Combinations:
    """Every combination of the flags in _JOINT, one per bit pattern: what a condition of
    ``Groups.tally`` reads in place of the probes' own flags."""

    def __init__(self) -> None:
        pattern = np.arange(_PATTERNS)
        value = {name: (pattern >> i) & 1 == 1 for i, name in enumerate(_JOINT)}
        self.responded, self.automated = value["responded"], value["automated"]
        self.rule, self.resolved = value["rule"], value["resolved"]
        self.bot_only, self.handoff = value["bot_only"], value["handoff"]
        self.flags = {f: value[f] for f in TYPE_FLAGS}


_COMBINATIONS = _Combinations()


class Groups:
    """Probes cut into groups by integer codes (-1 = left out), with grouped reductions.

    Everything is computed for all groups at once, so the cost does not grow with the
    number of groups: the counts, the sum of response times and the horizon buckets by
    ``bincount`` (``measure``, ``Measured``), quantiles from one stable sort by group.
    """

    def __init__(self, table: ProbeArrays, codes: np.ndarray, count: int) -> None:
        self.table = table
        self.count = count
        self.all_codes = np.asarray(codes, dtype=np.int64)
        self._sorted_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._measured = None
        self._limits: tuple[float, ...] = ()
        self._horizons: tuple[float, ...] = ()

    def measure(self, horizons: tuple[float, ...] = ()) -> None:
        """Count everything, the buckets of ``horizons`` included (``within``)."""
        self._horizons = tuple(horizons)
        self._limits = tuple(sorted(set(horizons)))
        joint = self.count * _PATTERNS <= max(len(self.all_codes), 1 << 16)
        t = self.table
        self._measured = Measured(
            self.all_codes, self.count, t, _PATTERNS if joint else 0, self._limits, self._horizons
        )

    @property
    def measured(self):
        if self._measured is None:
            self.measure()
        return self._measured

    @cached_property
    def _keep(self):
        keep = self.all_codes >= 0
        return slice(None) if keep.all() else keep  # a view of every column, not a copy

    # the probes of the groups, column by column (for conditions and the rare slow paths)
    codes = cached_property(lambda self: self.all_codes[self._keep])
    responded = cached_property(lambda self: self.table.responded[self._keep])
    ttfr = cached_property(lambda self: self.table.ttfr[self._keep])
    watched = cached_property(lambda self: self.table.watched[self._keep])
    automated = cached_property(lambda self: self.table.automated[self._keep])
    bot_only = cached_property(lambda self: self.table.bot_only[self._keep])
    handoff = cached_property(lambda self: self.table.handoff[self._keep])
    rule = cached_property(lambda self: self.table.rule[self._keep])
    resolved = cached_property(lambda self: self.table.resolved[self._keep])
    flags = cached_property(lambda self: {f: v[self._keep] for f, v in self.table.flags.items()})

    def total(self, mask: np.ndarray | None = None, weights=None) -> np.ndarray:
        if mask is None and weights is None:
            return self.measured.n.astype(float)
        codes = self.codes if mask is None else self.codes[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(codes, weights=w, minlength=self.count).astype(float)

    def tally(self, condition: Callable[[Any], np.ndarray]) -> np.ndarray:
        """Per group, how many probes ``condition`` holds for. The condition reads the
        attributes responded, automated, rule, resolved and flags of what it is given.
        With few groups that is every combination of them, counted per group by one
        ``bincount`` shared by all tallies; otherwise these probes themselves."""
        joint = self.measured.joint
        if not joint.shape[1]:
            return self.total(condition(self))
        return joint[:, condition(_COMBINATIONS)].sum(axis=1).astype(float)

    def ttfr_sum(self) -> np.ndarray:
        """Per group, the sum of response times over responded probes (in row order)."""
        return self.measured.sums

    def quantile(self, name: str, q: float) -> np.ndarray:
        """Per-group quantile of a time (``ttfr`` or ``business`` over responded probes,
        ``ttfa`` or ``handoff`` over the probes that have one), by linear interpolation
        (pandas' and SQL ``quantile_cont``'s definition, without their last-bit
        differences; see ``interpolate``)."""
        v, codes = self._sorted(name)
        return interpolate(v, np.bincount(codes, minlength=self.count), q)

    def _sorted(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Responded values sorted by (group, value), and their group codes (cached)."""
        name = self.table.same.get(name, name)
        if name not in self._sorted_cache:
            self._sorted_cache[name] = self._sort(name)
        return self._sorted_cache[name]

    def _sort(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        codes = self.all_codes[self.table.by_value[name]]
        return sort_by_group(codes, self.table.sorted_times[name])

    def within(self, horizons: dict[str, float], n: np.ndarray) -> dict[str, np.ndarray]:
        """Share of all probes answered by each horizon; Kaplan–Meier for censored groups."""
        if self._horizons != tuple(horizons.values()):
            self.measure(tuple(horizons.values()))
        limits = np.array(self._limits)
        # per group, answered by the first limit >= t; the last bucket: later than every one
        upto = np.cumsum(self.measured.cells, axis=1)
        out = {}
        for h, (key, horizon) in enumerate(horizons.items()):
            shares = upto[:, int(np.searchsorted(limits, horizon))] / np.maximum(n, 1)
            for group in np.flatnonzero(self.measured.censored[:, h]):
                mine = self.codes == group
                events = self.ttfr[mine & self.responded]
                shares[group] = kaplan_meier_share(
                    events, self.watched[mine & ~self.responded], horizon
                )
            out[key] = shares
        return out


class Measured:
    """One grouping's counts: ``n`` per group, ``joint`` (per group and bit pattern of the
    flags; no columns when ``patterns`` is 0), ``sums`` of response times over responded
    probes (added in row order, as ``bincount`` adds them), ``cells`` (per group, how many
    answered within each of ``limits``' buckets: the first limit >= the time, NaN after
    every one), ``censored`` (per group and horizon, whether a probe without an answer was
    watched for less than the horizon). Codes of -1 are left out."""

    def __init__(self, codes, count, table: ProbeArrays, patterns, limits, horizons) -> None:
        keep = codes >= 0
        answered, waiting = keep & table.responded, keep & ~table.responded
        self.n = np.bincount(codes[keep], minlength=count)
        self.joint = _counts(codes[keep], table.bits[keep], count, patterns)
        self.sums = np.bincount(codes[answered], weights=table.ttfr[answered], minlength=count)
        buckets = np.searchsorted(np.asarray(limits, dtype=np.float64), table.ttfr[answered])
        self.cells = _counts(codes[answered], buckets, count, len(limits) + 1)
        watched, waiting_codes = table.watched[waiting], codes[waiting]
        self.censored = np.zeros((count, len(horizons)), dtype=np.bool_)
        for h, horizon in enumerate(horizons):
            self.censored[:, h] = np.bincount(
                waiting_codes[watched < horizon], minlength=count
            ).astype(bool)


def _counts(codes: np.ndarray, cells: np.ndarray, count: int, width: int) -> np.ndarray:
    """Per group (``codes``, all >= 0) and cell (0..``width`` - 1), how many probes."""
    if not width:
        return np.zeros((count, 0), dtype=np.int64)
    return np.bincount(codes * width + cells, minlength=count * width).reshape(count, width)


def sort_by_group(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (sorted by value) sorted by (group, value): a stable sort by ``codes``,
    one per value (-1: left out); and their codes."""
    keep = codes >= 0
    codes, values = codes[keep], values[keep]
    order = np.argsort(codes, kind="stable")
    return values[order], codes[order]


QUANTILE_DENOMINATOR = 1_000_000


def interpolate(v: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile, by linear interpolation, of each run of ``v``: ``v`` holds groups'
    values one after another, each group's sorted, ``n`` how many each group has.

    The position (n - 1)·q is computed in integers and the interpolation rounded once, so
    integer inputs give the exactly rounded result. NaN for a group with no values.
    """
    if not len(v):
        return np.full(len(n), np.nan)
    start = np.cumsum(n) - n
    num, den = round(q * QUANTILE_DENOMINATOR), QUANTILE_DENOMINATOR
    pos = (np.maximum(n, 1) - 1) * num
    lo = np.minimum(start + pos // den, len(v) - 1)
    hi = np.minimum(lo + 1, np.minimum(start + n - 1, len(v) - 1))
    a, b = v[lo], v[np.maximum(hi, lo)]
    out = (a * den + (b - a) * (pos % den)) / den
    return np.where(n > 0, out, np.nan)


def quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile of ``values`` as ``summary.json`` computes it (NaN when empty)."""
    return float(interpolate(np.sort(values), np.array([len(values)]), q)[0])


def _rows(groups: Groups, settings: MetricSettings) -> list[dict]:
    """The aggregates of every group, as dicts in code order."""
    horizons = {**WITHIN, "window": float(settings.window_s)}
    groups.measure(tuple(horizons.values()))  # every count below in one pass
    n, r = groups.total(), groups.tally(lambda g: g.responded)
    automated = groups.tally(lambda g: g.automated)
    rule = groups.tally(lambda g: g.rule)
    handoffs = groups.tally(lambda g: g.handoff)
    rates_ok, times_ok, rule_ok = (x >= settings.min_group for x in (n, r, rule))
    safe_n, safe_r = np.maximum(n, 1), np.maximum(r, 1)
    flag_rates = {
        f: groups.tally(lambda g, f=f: g.responded & g.flags[f]) / safe_r for f in TYPE_FLAGS
    }
    deflected = groups.tally(
        lambda g: g.responded & (g.flags["dm"] | g.flags["phone"] | g.flags["email"])
    )
    within_all = groups.within(horizons, n)
    low, high = wilson_arrays(r, n)
    columns = {
        "response_rate": (r / safe_n, rates_ok),
        "ttfr_median_s": (groups.quantile("ttfr", 0.5), times_ok),
        "ttfr_p90_s": (groups.quantile("ttfr", 0.9), times_ok),
        "ttfr_mean_s": (groups.ttfr_sum() / safe_r, times_ok),
        "ttfr_business_median_s": (groups.quantile("business", 0.5), times_ok),
        "ttfr_business_p90_s": (groups.quantile("business", 0.9), times_ok),
        **{f"{f}_rate": (v, times_ok) for f, v in flag_rates.items()},
        "deflection_rate": (deflected / safe_r, times_ok),
        "resolution_rate": (groups.tally(lambda g: g.resolved) / np.maximum(rule, 1), rule_ok),
        "automated_rate": (automated / safe_n, rates_ok),
        "ttfa_median_s": (groups.quantile("ttfa", 0.5), automated >= settings.min_group),
        "bot_only_rate": (groups.tally(lambda g: g.bot_only) / safe_n, rates_ok),
        "handoff_median_s": (groups.quantile("handoff", 0.5), handoffs >= settings.min_group),
    }
    rows = []
    for g in range(groups.count):
        row = {"probes": int(n[g]), "responded": int(r[g]), "automated": int(automated[g])}
        for key, (values, ok) in columns.items():
            row[key] = _figure(values[g], ok[g])
        row["response_rate_ci"] = [float(low[g]), float(high[g])] if rates_ok[g] else None
        row["within"] = {k: float(v[g]) for k, v in within_all.items()} if rates_ok[g] else None
        small = _small(n[g], r[g], rule[g], settings.min_group, automated[g], handoffs[g])
        rows.append({k: row[k] for k in AGGREGATE_KEYS} | ({"small": small} if small else {}))
    return rows


def _figure(value: float, ok: bool) -> float | None:
    return float(value) if ok and not math.isnan(value) else None


def _small(
    n: float, r: float, rule: float, minimum: int, automated: float = 0, handoffs: float = 0
) -> list[str]:
    """Which samples of a group are too small for their figures (an absent rule, automated
    reply or hand-off is not)."""
    samples = [("probes", n), ("responded", r)]
    optional = [("probes with a resolution rule", rule),
                ("probes with an automated reply", automated),
                ("hand-offs from automation to a human", handoffs)]  # fmt: skip
    samples += [(what, k) for what, k in optional if k]
    return [f"{what} {int(k)} < {minimum}" for what, k in samples if k < minimum]


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion."""
    low, high = wilson_arrays(np.array([successes], float), np.array([n], float), z)
    return (float(low[0]), float(high[0]))


def wilson_arrays(successes: np.ndarray, n: np.ndarray, z: float = Z95):
    """Vectorised Wilson score intervals; (0, 1) where n is 0."""
    safe = np.maximum(n, 1)
    p = successes / safe
    denom = 1 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
    empty = n == 0
    return (
        np.where(empty, 0.0, np.maximum(0.0, centre - half)),
        np.where(empty, 1.0, np.minimum(1.0, centre + half)),
    )


def kaplan_meier_share(events: np.ndarray, censored: np.ndarray, horizon: float) -> float:
    """1 − S(horizon): the Kaplan–Meier estimate of the share answered by ``horizon``.

    Censored probes are at risk at their own censoring time (the usual convention).
    """
    times, deaths = np.unique(events[events <= horizon], return_counts=True)
    if not len(times):
        return 0.0
    at_risk = (len(events) - np.searchsorted(np.sort(events), times, side="left")) + (
        len(censored) - np.searchsorted(np.sort(censored), times, side="left")
    )
    return float(1.0 - np.prod(1.0 - deaths / at_risk))


def with_tiers(probes: pd.DataFrame, tiers: tuple[float, ...]) -> pd.DataFrame:
    """Add ``follower_tier`` (labels like ``<1k``, ``1k–10k``, ``≥10k``; unknown apart)."""
    import pandas as pd

    labels = tier_labels(tiers)
    edges = [-math.inf, *tiers, math.inf]
    tier = pd.cut(probes["followers"], bins=edges, right=False, labels=labels)
    tier = tier.cat.add_categories([UNKNOWN_TIER]).fillna(UNKNOWN_TIER)
    return probes.assign(follower_tier=tier)


def tier_labels(tiers: tuple[float, ...]) -> list[str]:
    names = [_short(t) for t in tiers]
    middle = [f"{a}–{b}" for a, b in zip(names, names[1:], strict=False)]
    return [f"<{names[0]}", *middle, f"≥{names[-1]}"]


def _short(value: float) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if value >= size and value % (size / 10) == 0:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def _group_codes(
    probes: pd.DataFrame, name: str, settings: MetricSettings
) -> tuple[np.ndarray, list]:
    """Codes and values of a grouping column; personas beyond the MAX_PERSONAS largest (with
    at least ``min_group`` probes) are pooled into one row."""
    codes, values = _factorize(probes[name])
    if name != "persona":
        return codes, values
    counts = np.bincount(codes[codes >= 0], minlength=len(values))
    large = np.flatnonzero(counts >= settings.min_group)
    shown = large[np.argsort(-counts[large], kind="stable")][:MAX_PERSONAS]
    if len(shown) == len(values):
        return codes, values
    recode = np.full(len(values) + 1, len(shown))  # everyone else -> the pooled row
    recode[shown] = np.arange(len(shown))
    recode[-1] = -1  # missing stays missing
    return recode[codes], [values[i] for i in shown] + [OTHER_PERSONAS]


def _order(name: str, value) -> tuple:
    if name == "weekday" and value in WEEKDAYS:
        return (0, WEEKDAYS.index(value), "")
    if name == "hour":
        return (0, value, "")
    if name == "follower_tier":
        return (1, 0, "") if value == UNKNOWN_TIER else (0, 0, "")
    return (1 if str(value).startswith("(") else 0, 0, str(value).lower())


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def fairness(
    probes: pd.DataFrame, settings: MetricSettings, *, table: ProbeArrays | None = None
) -> dict:
    """Per follower tier: response rate and median TTFR; the highest tier against the lowest.

    Figures here are not withheld for small tiers (the tests' p-values speak to sample size);
    ``small`` says when a compared tier is below ``min_group``.
    """
    import pandas as pd

    labels = tier_labels(settings.tiers)
    tier = probes["follower_tier"]
    present = [t for t in labels if (tier == t).any()]
    codes = pd.Index(present).get_indexer(tier.astype(object)).astype(np.int64)
    groups = (table or ProbeArrays(probes)).groups(codes, len(present))
    n, r = groups.total(), groups.tally(lambda g: g.responded)
    median = groups.quantile("ttfr", 0.5)
    rows = [
        {"tier": t, "probes": int(n[i]), "responded": int(r[i]),
         "response_rate": float(r[i] / n[i]), "ttfr_median_s": _figure(median[i], True)}
        for i, t in enumerate(present)
    ]  # fmt: skip
    compare = _compare_tiers(groups, rows, settings) if len(rows) >= 2 else None
    return {"tiers": rows, "compare": compare}


def _compare_tiers(groups: Groups, rows: list[dict], settings: MetricSettings) -> dict:
    from scipy import stats

    low, high = rows[0], rows[-1]
    answered = groups.codes[groups.responded]
    times = groups.ttfr[groups.responded]
    lo_t, hi_t = times[answered == 0], times[answered == len(rows) - 1]
    table = [
        [high["responded"], high["probes"] - high["responded"]],
        [low["responded"], low["probes"] - low["responded"]],
    ]
    ratio = None
    if low["ttfr_median_s"] is not None and high["ttfr_median_s"]:
        ratio = low["ttfr_median_s"] / high["ttfr_median_s"]
    both = len(lo_t) and len(hi_t)
    return {
        "high": high["tier"],
        "low": low["tier"],
        "response_rate_diff": high["response_rate"] - low["response_rate"],
        "fisher_p": float(stats.fisher_exact(table).pvalue),
        "ttfr_median_ratio_low_over_high": ratio,
        "mannwhitney_p": float(stats.mannwhitneyu(hi_t, lo_t).pvalue) if both else None,
        "small": min(low["probes"], high["probes"]) < settings.min_group,
    }


# ----------------------------------------------------------------------- cross-channel

MATRIX_KEYS = ("probes", "responded", "response_rate", "ttfr_median_s", "automated_rate",
               "resolution_rate")  # fmt: skip


def matrix_row(brand, channel, counts: dict, median: float, settings: MetricSettings) -> dict:
    """One cell of the brand × channel matrix from its counts (probes, responded,
    automated, rule, resolved) and median response time, figures withheld as elsewhere."""
    n, r, rule = counts["probes"], counts["responded"], counts["rule"]
    minimum = settings.min_group
    row = {
        "brand": brand,
        "channel": channel,
        "probes": int(n),
        "responded": int(r),
        "response_rate": _figure(r / max(n, 1), n >= minimum),
        "ttfr_median_s": _figure(median, r >= minimum),
        "automated_rate": _figure(counts["automated"] / max(n, 1), n >= minimum),
        "resolution_rate": _figure(counts["resolved"] / max(rule, 1), rule >= minimum),
    }
    return row


def consistency_row(pairs: int, consistent: int, brand=None) -> dict:
    """How many (brand, query) pairs were answered on two channels or more, how many of
    them consistently, and the share (None without pairs; not withheld for small samples:
    the counts stand beside it)."""
    row = {} if brand is None else {"brand": brand}
    rate = consistent / pairs if pairs else None
    return row | {"pairs": int(pairs), "consistent": int(consistent), "consistency_rate": rate}


def matrix_sorted(cells: list[dict]) -> list[dict]:
    """Matrix cells given in order of first appearance, by brand (each brand's cells
    together, case variants in order of first appearance), then channel."""
    seen = {}
    for cell in cells:
        seen.setdefault(cell["brand"], len(seen))

    def key(cell: dict) -> tuple:
        brand = cell["brand"]
        return (*_order("brand", brand), seen[brand], *_order("channel", cell["channel"]))

    return sorted(cells, key=key)


def omnichannel(probes: pd.DataFrame, settings: MetricSettings) -> dict:
    """METRICS.md's cross-channel consistency: the brand × channel matrix, and per brand and
    query, whether the answer key held on every channel that answered or on none."""
    frame = probes[probes["brand"].notna() & probes["channel"].notna()].copy()
    frame["_row"] = np.arange(len(frame))
    cells = []
    for (brand, channel), g in frame.groupby(["brand", "channel"], sort=False):
        responded = g["responded"].to_numpy(dtype=bool)
        automated = g.get("automated_messages")
        counts = {
            "probes": len(g),
            "responded": int(responded.sum()),
            "automated": 0 if automated is None else int((automated.fillna(0) > 0).sum()),
            "rule": int(g["resolved"].notna().sum()),
            "resolved": int(g["resolved"].fillna(False).astype(bool).sum()),
        }
        median = quantile(g["ttfr_s"].to_numpy(dtype=float)[responded], 0.5)
        cells.append(matrix_row(_jsonable(brand), _jsonable(channel), counts, median, settings))
    return {"matrix": matrix_sorted(cells), "consistency": _consistency(frame)}


def question_columns(questions: bool) -> tuple[str, ...]:
    """What names one question for cross-channel consistency: a brand and a query, and in
    a probe run the ``question`` itself (a query's variant, variable values, persona and
    repetition: the same question asked on each channel, METRICS.md's "same query")."""
    return ("brand", "scenario", "question") if questions else ("brand", "scenario")


def _consistency(frame: pd.DataFrame) -> dict:
    """Questions of a brand (``question_columns``) answered on two channels or more (probes
    with an answer key), consistent when the key held on all their answered probes or on
    none."""
    answered = frame[frame["responded"].astype(bool) & frame["resolved"].notna()
                     & frame["scenario"].notna()]  # fmt: skip
    held = answered["resolved"].astype(bool)
    unit = list(question_columns("question" in frame.columns))
    pairs = answered.assign(held=held).groupby(unit, sort=False).agg(
        channels=("channel", "nunique"), all=("held", "all"), any=("held", "any"),
        first=("_row", "min"))  # fmt: skip
    pairs = pairs[pairs["channels"] >= 2].reset_index()
    pairs["consistent"] = pairs["all"] | ~pairs["any"]
    brands = pairs.groupby("brand", sort=False).agg(
        pairs=("consistent", "size"), consistent=("consistent", "sum"), first=("first", "min")
    ).reset_index()  # fmt: skip
    brands = brands.sort_values("first", kind="stable")
    counted = zip(brands["brand"], brands["pairs"], brands["consistent"], strict=True)
    rows = [consistency_row(p, c, _jsonable(b)) for b, p, c in counted]
    rows.sort(key=lambda row: _order("brand", row["brand"]))
    total = consistency_row(len(pairs), int(pairs["consistent"].sum()))
    return total | {"by_brand": rows}

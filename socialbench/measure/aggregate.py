"""``summary.json`` computed where the probe table lives: SQL on the engine, shaped in Python.

``summarize(engine, table, settings)`` returns what ``metrics.summarize`` returns for the
same probe table, and only small results leave the engine:

1. the personas shown: the MAX_PERSONAS largest with at least ``min_group`` probes (one
   query, at most MAX_PERSONAS rows back); the others are pooled into OTHER_PERSONAS;
2. every group of every grouping, and the overall figures: one ``GROUP BY GROUPING SETS``
   query, kept as the engine's table ``_summary_groups``, one row per group: counts, the sum
   and quantiles of response times, how many were answered within each horizon;
3. Kaplan–Meier (``within``), only for the groups where it can differ from the plain share,
   i.e. where a probe without an answer was watched for less time than an answer before the
   horizon took: those groups' (responded, ttfr, watched) rows, to
   ``metrics.kaplan_meier_share``. Elsewhere the estimate is the plain share, which equals
   it (the product telescopes to it), up to the product's rounding;
4. Mann–Whitney: the response times of the lowest and the highest follower tier.

The figures, small-sample rules, Wilson intervals, tier labels, group order and the tier
comparison are metrics' own code (``_figure``, ``_small``, ``_order`` and ``_compare_tiers``
are imported though private).

The table has ``conversations.PROBE_COLUMNS`` and ``EXTRA_COLUMNS``: ``ttfr_s``,
``ttfr_business_s``, ``watched_s`` and ``followers`` DOUBLE (NULL or NaN when none),
``responded`` and the reply flags BOOLEAN, ``resolved`` BOOLEAN (NULL: no rule applies),
``automated_messages`` BIGINT. No time column is read but the row order: ``order`` names
columns of any orderable type (timestamps or BIGINT nanoseconds alike) whose ascending order
is the table's row order. metrics breaks ties by row order (equal-sized personas at the
MAX_PERSONAS cut, values that differ only by case, follower tiers, which it lists in order
of first appearance), so ``order`` must reproduce it for the same result on such ties.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from socialbench.measure import metrics, summaries
from socialbench.measure.arrays import bools, floats
from socialbench.measure.summaries import GROUPS

GROUPED = "_summary_groups"
SHOWN = "_summary_personas"
SET, FIRST = "grouping_set", "first_at"  # which grouping a row is of; its first probe
PLACE = "place"  # a group's row in the groups' table, by grouping set then first probe
QUANTILES = (0.5, 0.9)
DEFAULT_ORDER = ("sent_at", "probe_id")
_TIMES = ("ttfr", "business")  # the two clocks, each with its QUANTILES
_BOT_TIMES = ("ttfa", "handoff")  # automated replies' delay and hand-off: medians only


class Spellings:
    """What DuckDB and Spark spell differently here (DuckDB's spellings)."""

    def quantiles(self, column: str, qs: tuple[float, ...]) -> str:
        """The list of ``qs``-quantiles of ``column``, by linear interpolation."""
        return f"quantile_cont({column}, [{', '.join(map(repr, qs))}])"

    def row_key(self, columns: list[str]) -> str:
        """A value ordered as the tuple of ``columns``, for min."""
        return f"row({', '.join(columns)})"

    def no_quantiles(self) -> str:
        """A NULL list of quantiles."""
        return "CAST(NULL AS DOUBLE[])"


class SparkSpellings(Spellings):
    """Spark SQL's spellings (``percentile`` interpolates linearly, as ``quantile_cont``)."""

    def quantiles(self, column: str, qs: tuple[float, ...]) -> str:
        return f"percentile({column}, array({', '.join(map(repr, qs))}))"

    def row_key(self, columns: list[str]) -> str:
        return f"struct({', '.join(columns)})"

    def no_quantiles(self) -> str:
        return "CAST(NULL AS ARRAY<DOUBLE>)"


_SPELLINGS = {"Dialect": Spellings(), "SparkDialect": SparkSpellings()}


def spellings(engine) -> Spellings:
    """The engine's dialect when it spells ``quantiles`` and ``row_key`` itself, else ours
    for its dialect class (``plan.Dialect``: DuckDB, ``SparkDialect``: Spark)."""
    dialect = engine.dialect
    if hasattr(dialect, "quantiles") and hasattr(dialect, "row_key"):
        return dialect
    return _SPELLINGS[type(dialect).__name__]


def summarize(
    engine,
    table: str,
    settings: metrics.MetricSettings,
    *,
    order=DEFAULT_ORDER,
    key=None,
    questions: bool = False,
) -> dict:
    """The whole ``summary.json`` document of the engine's probe table ``table``, as
    ``metrics.summarize`` makes it; ``order``: the columns giving the table's row order, or
    ``key``: one SQL value of the table's columns ordered as its rows (cheaper to compare);
    ``questions``: the table has a ``question`` column (probe runs), which cross-channel
    consistency compares by."""
    query = Query(engine, table, settings, tuple(order), key, questions=questions)
    try:
        query.personas()
        groups = query.groups()
        overall = groups.pop("")
        return summaries.document(settings, overall, groups, query.fairness(), query.omnichannel())
    finally:
        engine.drop(GROUPED, SHOWN)


class Query:
    """The SQL of one summary and the small results it brings back."""

    def __init__(
        self,
        engine,
        table: str,
        settings: metrics.MetricSettings,
        order,
        key=None,
        *,
        questions: bool = False,
    ) -> None:
        self.engine, self.table, self.settings, self.order = engine, table, settings, order
        self.key = key
        self.questions = questions
        self.spell = spellings(engine)
        self.shown: list | None = None  # the personas shown, when others are pooled
        self.horizons = {**metrics.WITHIN, "window": float(settings.window_s)}
        self.data: dict[str, list] = {}

    # ------------------------------------------------------------------------- personas

    def personas(self) -> None:
        """Which personas are shown: the largest first, ties by first appearance."""
        rows = self.engine.rows(_personas_sql(self.table, self.settings, self._first("")))
        shown = [p for p, n, _ in rows if n >= self.settings.min_group]
        if rows and len(shown) < rows[0][2]:
            self.shown = shown
            self.engine.small_table(SHOWN, {"persona": "VARCHAR"}, [(p,) for p in shown])

    def _first(self, prefix: str) -> str:
        if self.key is not None:
            return self.key
        return self.spell.row_key([f"{prefix}{c}" for c in self.order])

    # --------------------------------------------------------------------------- groups

    def base(self) -> str:
        """One row per probe: the grouping keys and the columns the measures read."""
        persona, join = "t.persona", ""
        if self.shown is not None:
            persona = (f"CASE WHEN s.persona IS NOT NULL THEN t.persona WHEN t.persona IS "
                       f"NOT NULL THEN '{metrics.OTHER_PERSONAS}' END")  # fmt: skip
            join = f"LEFT JOIN {SHOWN} s ON s.persona = t.persona"
        flags = ", ".join(f"t.{f}" for f in metrics.TYPE_FLAGS)
        return f"""
            SELECT t.brand, t.channel, t.surface, t.category, t.scenario,
                   {persona} AS persona, {tier_sql(self.settings.tiers)} AS follower_tier,
                   t.weekday, t.hour, t.responded, t.resolved, {flags},
                   t.automated_messages > 0 AS automated, t.watched_s AS watched,
                   t.bot_only, t.ttfa_s AS ttfa, t.handoff_s AS handoff,
                   CASE WHEN t.responded THEN t.ttfr_s END AS ttfr,
                   CASE WHEN t.responded THEN t.ttfr_business_s END AS business,
                   {self._first("t.")} AS {FIRST}
            FROM {self.table} t {join}
        """

    def groups(self) -> dict[str, list[dict]]:
        """Every grouping's rows (``""``: the overall figures), as ``metrics`` shapes them.
        A grouping whose column has one value on every probe is the overall row under that
        value, and one whose column is always empty has no rows: neither is computed."""
        shape = self.shape()
        sql = grouped_sql(
            self.base(), self.settings, self.spell, shape.censoring, shape.two_clocks,
            bot_times=shape.bot_times, groups=shape.computed,
        )  # fmt: skip
        self.engine.create(GROUPED, sql)
        data = self.engine.arrow(f"SELECT * FROM {GROUPED} ORDER BY {PLACE}")
        self.data = data.drop_columns([FIRST]).to_pydict()
        sets = np.asarray(self.data[SET])
        overall = self._rows(np.flatnonzero(sets == 0), 0) or [_empty(self.settings)]
        out = {"": overall[0]}
        for i, name in enumerate(GROUPS, start=1):
            if name in shape.computed:
                out[name] = self._keyed(name, np.flatnonzero(sets == i), i, overall[0])
            elif name in shape.single:
                out[name] = [{name: self._value(name, shape.single[name]), **overall[0]}]
            else:
                out[name] = []
        return out

    def shape(self) -> SimpleNamespace:
        """What the groups' query needs, from one pass over the table:

        - ``censoring``: whether some group may need Kaplan–Meier: overall, the shortest
          watch without an answer is shorter than the latest answer by the last horizon (no
          group's can be otherwise);
        - ``two_clocks``: whether the business clock differs from the plain one for some
          answer (else its quantiles are the plain clock's);
        - ``bot_times``: whether any probe has an automated reply's delay or a hand-off;
        - per grouping, whether its column has a single value on every probe (``single``:
          the value) or none on any (neither is ``computed``)."""
        last = _double(max(self.horizons.values()))
        simple = [g for g in GROUPS if g != "follower_tier"]  # fairness reads its rows
        tests = [f"count(b.{g}), min(b.{g}), max(b.{g})" for g in simple]
        (row,) = self.engine.rows(
            f"SELECT count(*), count(b.ttfa) + count(b.handoff), "
            f"min(b.watched) FILTER (WHERE NOT b.responded) < "
            f"max(b.ttfr) FILTER (WHERE b.ttfr <= {last}), "
            f"count(*) FILTER (WHERE b.responded AND b.business IS DISTINCT FROM b.ttfr), "
            f"{', '.join(tests)} FROM ({self.base()}) AS b"
        )
        probes, bot_times, censoring, two_clocks, found = *row[:4], row[4:]
        single, empty = {}, set()
        for k, g in enumerate(simple):
            count, low, high = found[3 * k : 3 * k + 3]
            if not count:
                empty.add(g)
            elif count == probes and low == high:
                single[g] = low
        computed = tuple(g for g in GROUPS if g not in single and g not in empty)
        return SimpleNamespace(
            censoring=bool(censoring), two_clocks=bool(two_clocks), bot_times=bool(bot_times),
            single=single, computed=computed,
        )  # fmt: skip

    def _keyed(self, name: str, at: np.ndarray, i: int, overall: dict) -> list[dict]:
        """A grouping's rows, keyed by its values, in metrics' order."""
        values = [self._value(name, v) for v in self._column(name, at)]
        whole = len(at) == 1 and self.data["probes"][at[0]] == overall["probes"]
        rows = [overall] if whole else self._rows(at, i)
        keyed = [{name: v, **row} for v, row in zip(values, rows, strict=True)]
        if name == "persona" and self.shown is not None:  # by size, as metrics codes them
            rank = {p: k for k, p in enumerate(self.shown)}
            keyed.sort(key=lambda row: rank.get(row[name], len(rank)))
        return sorted(keyed, key=lambda row: metrics._order(name, row[name]))

    def _value(self, name: str, value):
        if name != "follower_tier":
            return value
        labels = metrics.tier_labels(self.settings.tiers)
        return labels[value] if value < len(labels) else metrics.UNKNOWN_TIER

    def _column(self, name: str, at: np.ndarray) -> np.ndarray:
        """The rows ``at`` of a column of the groups' table, as an object array."""
        column = np.empty(len(self.data[name]), dtype=object)
        column[:] = self.data[name]
        return column[at]

    def _rows(self, at: np.ndarray, i: int) -> list[dict]:
        """The aggregates of the groups ``at`` of grouping set ``i``."""
        columns = {k: self._column(k, at) for k in self.data}
        counts = {k: v.astype(float) for k, v in columns.items() if k in _COUNTS}
        counts["ttfr_sum"] = columns["ttfr_sum"].astype(float)
        for what in _TIMES:  # one clock's quantiles when the two are the same
            counts[what] = _quantiles(columns.get(f"{what}_q", columns["ttfr_q"]))
        for what in _BOT_TIMES:
            counts[what] = _quantiles(columns[f"{what}_q"], 1)
        return aggregate_rows(counts, self._within(columns, counts, i), self.settings)

    # ---------------------------------------------------------------------- within, KM

    def _within(self, columns: dict, counts: dict, i: int) -> dict[str, np.ndarray]:
        """Per horizon, the share answered in time: plain, or Kaplan–Meier where flagged."""
        n = np.maximum(counts["probes"], 1)
        shares = {k: counts[f"within_{h}"] / n for h, k in enumerate(self.horizons)}
        flagged = np.column_stack([columns[f"km_{h}"] for h in range(len(self.horizons))])
        if flagged.any():
            self._kaplan_meier(shares, columns, flagged.astype(bool), i)
        return shares

    def _kaplan_meier(self, shares: dict, columns: dict, flagged: np.ndarray, i: int) -> None:
        """``shares`` of the flagged (group, horizon) pairs by ``metrics.kaplan_meier_share``."""
        name = GROUPS[i - 1] if i else None
        place, responded, ttfr, watched = self._censored_rows(name, i)
        for g in np.flatnonzero(flagged.any(axis=1)):
            mine = place == columns[PLACE][g]
            events, censored = ttfr[mine & responded], watched[mine & ~responded]
            for h, (k, horizon) in enumerate(self.horizons.items()):
                if flagged[g, h]:
                    shares[k][g] = metrics.kaplan_meier_share(events, censored, horizon)

    def _censored_rows(self, name: str | None, i: int) -> tuple[np.ndarray, ...]:
        """The (place of the group, responded, ttfr, watched) rows of the groups flagged for
        Kaplan–Meier in grouping set ``i`` (``name``: its column; None: overall)."""
        flagged = " OR ".join(f"km_{h}" for h in range(len(self.horizons)))
        place, join = "0", ""  # the overall row comes first
        if name:
            place = f"g.{PLACE}"
            join = (f"JOIN (SELECT {name}, {PLACE} FROM {GROUPED} WHERE {SET} = {i} AND "
                    f"({flagged})) AS g ON g.{name} = b.{name}")  # fmt: skip
        columns = f"{place} AS {PLACE}, b.responded, b.ttfr, b.watched"
        rows = self.engine.arrow(f"SELECT {columns} FROM ({self.base()}) AS b {join}")
        return tuple(_floats(rows.column(c)) for c in (PLACE, "responded", "ttfr", "watched"))

    # ------------------------------------------------------------------------- fairness

    def fairness(self) -> dict:
        """Per follower tier (unknown apart): response rate and median TTFR; the highest
        tier against the lowest (``metrics.fairness``)."""
        labels = metrics.tier_labels(self.settings.tiers)
        sets = np.asarray(self.data[SET])
        at = np.flatnonzero(sets == GROUPS.index("follower_tier") + 1)
        found = {self.data["follower_tier"][j]: j for j in at}
        present = [t for t in range(len(labels)) if t in found]
        rows = [self._tier(labels[t], found[t]) for t in present]
        compare = None
        if len(rows) >= 2:
            times = self._tier_times(present[0], present[-1], len(rows) - 1)
            compare = metrics._compare_tiers(times, rows, self.settings)
        return {"tiers": rows, "compare": compare}

    def _tier(self, label: str, j: int) -> dict:
        n, r = self.data["probes"][j], self.data["responded"][j]
        median = _quantiles(self._column("ttfr_q", np.array([j])))[0, 0]
        figure = metrics._figure(median, True)
        return {"tier": label, "probes": int(n), "responded": int(r),
                "response_rate": float(r / n), "ttfr_median_s": figure}  # fmt: skip

    def _tier_times(self, low: int, high: int, last: int) -> SimpleNamespace:
        """What ``metrics._compare_tiers`` reads of the probes: the lowest tier's answered
        probes coded 0, the highest's ``last``, and their response times."""
        sql = (f"SELECT follower_tier, ttfr FROM ({self.base()}) AS b "
               f"WHERE b.responded AND b.follower_tier IN ({low}, {high})")  # fmt: skip
        found = self.engine.arrow(sql)
        tier = floats(found.column("follower_tier"))
        codes = np.where(tier == low, 0, last)
        return SimpleNamespace(
            codes=codes, responded=np.ones(len(codes), bool), ttfr=_floats(found.column("ttfr"))
        )

    # ----------------------------------------------------------------------- cross-channel

    def omnichannel(self) -> dict:
        """The brand × channel matrix and the consistency of answers across channels, as
        ``metrics.omnichannel`` makes them (few rows: brands × channels, and brands)."""
        cells = self.engine.arrow(_matrix_sql(self.table, self.spell, self._first("t.")))
        data = cells.drop_columns([FIRST]).to_pylist()
        matrix = [
            metrics.matrix_row(row["brand"], row["channel"], row, _median(row["ttfr_q"]),
                               self.settings)
            for row in data
        ]  # fmt: skip
        return {"matrix": metrics.matrix_sorted(matrix), "consistency": self._consistency()}

    def _consistency(self) -> dict:
        unit = metrics.question_columns(self.questions)
        found = self.engine.arrow(_consistency_sql(self.table, self._first("t."), unit))
        data = found.drop_columns([FIRST]).to_pylist()
        rows = [metrics.consistency_row(r["pairs"], r["consistent"], r["brand"]) for r in data]
        rows.sort(key=lambda row: metrics._order("brand", row["brand"]))
        pairs, consistent = sum(r["pairs"] for r in rows), sum(r["consistent"] for r in rows)
        return metrics.consistency_row(pairs, consistent) | {"by_brand": rows}


# ------------------------------------------------------------------------------- the SQL

_HORIZONS = len(metrics.WITHIN) + 1  # and the window
_COUNTS = ("probes", "responded", "automated", "rule", "resolved", "deflected", "bot_only",
           "handoffs",
           *metrics.TYPE_FLAGS, *(f"within_{h}" for h in range(_HORIZONS)))  # fmt: skip


def _personas_sql(table: str, settings: metrics.MetricSettings, first: str) -> str:
    """Personas: the MAX_PERSONAS largest of at least ``min_group`` probes come first, by
    size then first appearance; with each, how many personas there are."""
    return f"""
        SELECT persona, n, personas FROM (
            SELECT persona, count(*) AS n, min({first}) AS first_seen,
                   count(*) OVER () AS personas
            FROM {table} WHERE persona IS NOT NULL GROUP BY persona
        ) AS p
        ORDER BY CASE WHEN n >= {settings.min_group} THEN 0 ELSE 1 END, n DESC, first_seen
        LIMIT {metrics.MAX_PERSONAS}
    """


def tier_sql(tiers: tuple[float, ...]) -> str:
    """The follower tier's index in ``metrics.tier_labels`` (as ``pd.cut`` with
    ``right=False``); unknown (no count, NaN, +inf) one past the last."""
    followers = "CAST(t.followers AS DOUBLE)"
    edges = [*map(float, tiers), math.inf]
    steps = " ".join(f"WHEN {followers} < {_double(e)} THEN {i}" for i, e in enumerate(edges))
    unknown = len(edges)
    return (f"CASE WHEN t.followers IS NULL OR isnan({followers}) THEN {unknown} {steps} "
            f"ELSE {unknown} END")  # fmt: skip


def _double(value: float) -> str:
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def measures(
    horizons: dict[str, float],
    spell: Spellings,
    censoring: bool,
    two_clocks: bool = True,
    bot_times: bool = True,
) -> dict[str, str]:
    """Per group: the counts, sums and quantiles the aggregates are made of (the business
    clock's only with ``two_clocks``); per horizon h, ``within_h`` (answered by it); with
    ``censoring``, ``first_censor`` (the shortest watch of a probe without an answer) and
    per horizon ``last_h`` (the latest answer by it)."""
    count = "count(*) FILTER (WHERE {})".format
    out = {
        "probes": "count(*)",
        "responded": count("b.responded"),
        "automated": count("b.automated"),
        "rule": count("b.resolved IS NOT NULL"),
        "resolved": count("b.resolved"),
        **{f: count(f"b.responded AND b.{f}") for f in metrics.TYPE_FLAGS},
        "deflected": count("b.responded AND (b.dm OR b.phone OR b.email)"),
        "bot_only": count("b.bot_only"),
        "handoffs": count("b.handoff IS NOT NULL"),
        "ttfr_sum": "coalesce(sum(b.ttfr), 0)",
        "ttfr_q": spell.quantiles("b.ttfr", QUANTILES),
        "business_q": spell.quantiles("b.business", QUANTILES),
        **{f"{what}_q": spell.quantiles(f"b.{what}", (0.5,)) for what in _BOT_TIMES},
        FIRST: f"min(b.{FIRST})",
    }
    if not two_clocks:
        del out["business_q"]
    if not bot_times:  # no probe has one: no list to gather
        out |= {f"{what}_q": spell.no_quantiles() for what in _BOT_TIMES}
    for h, horizon in enumerate(horizons.values()):
        out[f"within_{h}"] = count(f"b.ttfr <= {_double(horizon)}")
    if censoring:
        out["first_censor"] = "min(b.watched) FILTER (WHERE NOT b.responded)"
        for h, horizon in enumerate(horizons.values()):
            out[f"last_{h}"] = f"max(b.ttfr) FILTER (WHERE b.ttfr <= {_double(horizon)})"
    return out


def grouped_sql(
    base: str,
    settings: metrics.MetricSettings,
    spell: Spellings,
    censoring: bool,
    two_clocks: bool = True,
    *,
    bot_times: bool = True,
    groups: tuple[str, ...] = GROUPS,
) -> str:
    """One row per group of every grouping (``grouping_set``: 0 overall, else 1 + the
    grouping's place in GROUPS; groups of a missing value left out; ``place``: its row, by
    grouping set then first appearance), with ``measures`` and
    ``km_h``: whether horizon h needs Kaplan–Meier (with ``censoring``: a group with figures
    whose shortest watch without an answer is shorter than its latest answer by h)."""
    horizons = {**metrics.WITHIN, "window": float(settings.window_s)}
    numbered = [(i, g) for i, g in enumerate(GROUPS, 1) if g in groups]
    which = " ".join(f"WHEN grouping(b.{g}) = 0 THEN {i}" for i, g in numbered)
    sets = ", ".join(["()", *(f"(b.{g})" for _, g in numbered)])
    found = measures(horizons, spell, censoring, two_clocks, bot_times)
    columns = ", ".join(f"{sql} AS {name}" for name, sql in found.items())
    kept = " OR ".join([f"{SET} = 0", *(f"({SET} = {i} AND {g} IS NOT NULL)"
                                        for i, g in numbered)])  # fmt: skip
    flag = "coalesce(probes >= {} AND first_censor < last_{}, false)" if censoring else "false"
    km = ", ".join(f"{flag.format(settings.min_group, h)} AS km_{h}" for h in range(len(horizons)))
    return f"""
        SELECT *, {km}, row_number() OVER (ORDER BY {SET}, {FIRST}) - 1 AS {PLACE} FROM (
            SELECT CASE {which} ELSE 0 END AS {SET}, {"".join(f"b.{g}, " for _, g in numbered)}
                   {columns}
            FROM ({base}) AS b
            GROUP BY GROUPING SETS ({sets})
        ) AS g
        WHERE {kept}
    """


def _matrix_sql(table: str, spell: Spellings, first: str) -> str:
    """Per brand and channel: the counts of ``metrics.matrix_row`` and the median response
    time, with the cell's first probe (for ties in the order)."""
    answered = "CASE WHEN t.responded THEN t.ttfr_s END"
    return f"""
        SELECT t.brand, t.channel, count(*) AS probes,
               count(*) FILTER (WHERE t.responded) AS responded,
               count(*) FILTER (WHERE t.automated_messages > 0) AS automated,
               count(*) FILTER (WHERE t.resolved IS NOT NULL) AS rule,
               count(*) FILTER (WHERE t.resolved) AS resolved,
               {spell.quantiles(answered, (0.5,))} AS ttfr_q, min({first}) AS {FIRST}
        FROM {table} t
        WHERE t.brand IS NOT NULL AND t.channel IS NOT NULL
        GROUP BY t.brand, t.channel
        ORDER BY {FIRST}
    """


def _consistency_sql(table: str, first: str, unit: tuple[str, ...]) -> str:
    """Per brand: its questions (``unit``: the columns naming one, see
    ``metrics.question_columns``) answered on two channels or more (probes with an answer
    key), how many consistently (the key held on all or none of their answered probes),
    and the first probe of those questions."""
    keys = ", ".join(f"t.{column}" for column in unit)
    return f"""
        SELECT brand, count(*) AS pairs,
               count(*) FILTER (WHERE held_all OR NOT held_any) AS consistent,
               min({FIRST}) AS {FIRST}
        FROM (
            SELECT {keys}, count(DISTINCT t.channel) AS channels,
                   bool_and(CAST(t.resolved AS BOOLEAN)) AS held_all,
                   bool_or(CAST(t.resolved AS BOOLEAN)) AS held_any,
                   min({first}) AS {FIRST}
            FROM {table} t
            WHERE t.responded AND t.resolved IS NOT NULL AND t.brand IS NOT NULL
              AND t.scenario IS NOT NULL AND t.channel IS NOT NULL
            GROUP BY {keys}
        ) AS pairs
        WHERE channels >= 2
        GROUP BY brand
        ORDER BY {FIRST}
    """


def _median(values) -> float:
    """The one quantile of a list (None or empty: NaN)."""
    return math.nan if not values or values[0] is None else float(values[0])


# ---------------------------------------------------------------------- shaping (Python)


def aggregate_rows(counts: dict, within: dict[str, np.ndarray], settings) -> list[dict]:
    """Each group's AGGREGATE_KEYS from its counts, as ``metrics`` shapes them (``counts``:
    float arrays of ``_COUNTS``, ``ttfr_sum``, and ``ttfr``/``business`` quantiles)."""
    n, r, rule = counts["probes"], counts["responded"], counts["rule"]
    automated, handoffs = counts["automated"], counts["handoffs"]
    rates_ok, times_ok, rule_ok = (x >= settings.min_group for x in (n, r, rule))
    safe_n, safe_r = np.maximum(n, 1), np.maximum(r, 1)
    columns = {
        "response_rate": (r / safe_n, rates_ok),
        "ttfr_median_s": (counts["ttfr"][:, 0], times_ok),
        "ttfr_p90_s": (counts["ttfr"][:, 1], times_ok),
        "ttfr_mean_s": (counts["ttfr_sum"] / safe_r, times_ok),
        "ttfr_business_median_s": (counts["business"][:, 0], times_ok),
        "ttfr_business_p90_s": (counts["business"][:, 1], times_ok),
        **{f"{f}_rate": (counts[f] / safe_r, times_ok) for f in metrics.TYPE_FLAGS},
        "deflection_rate": (counts["deflected"] / safe_r, times_ok),
        "resolution_rate": (counts["resolved"] / np.maximum(rule, 1), rule_ok),
        "automated_rate": (automated / safe_n, rates_ok),
        "ttfa_median_s": (counts["ttfa"][:, 0], automated >= settings.min_group),
        "bot_only_rate": (counts["bot_only"] / safe_n, rates_ok),
        "handoff_median_s": (counts["handoff"][:, 0], handoffs >= settings.min_group),
    }
    low, high = metrics.wilson_arrays(r, n)
    return [
        _row(g, counts, columns, within, (low[g], high[g]) if rates_ok[g] else None, settings)
        for g in range(len(n))
    ]


def _row(g: int, counts: dict, columns: dict, within: dict, ci, settings) -> dict:
    """Group ``g``'s row (``ci``: its Wilson interval, None when its rates are withheld)."""
    n, r, rule, automated, handoffs = (
        counts[k][g] for k in ("probes", "responded", "rule", "automated", "handoffs")
    )
    row = {"probes": int(n), "responded": int(r), "automated": int(counts["automated"][g])}
    row |= {key: metrics._figure(values[g], ok[g]) for key, (values, ok) in columns.items()}
    row["response_rate_ci"] = None if ci is None else [float(ci[0]), float(ci[1])]
    row["within"] = None if ci is None else {k: float(v[g]) for k, v in within.items()}
    small = metrics._small(n, r, rule, settings.min_group, automated, handoffs)
    return {k: row[k] for k in metrics.AGGREGATE_KEYS} | ({"small": small} if small else {})


def _empty(settings) -> dict:
    """The overall row of a table without probes (an engine may return no row for it)."""
    zeros = {k: np.zeros(1) for k in (*_COUNTS, "ttfr_sum")}
    zeros |= {t: np.full((1, len(QUANTILES)), np.nan) for t in _TIMES}
    zeros |= {t: np.full((1, 1), np.nan) for t in _BOT_TIMES}
    within = {k: np.zeros(1) for k in (*metrics.WITHIN, "window")}
    return aggregate_rows(zeros, within, settings)[0]


def _quantiles(values: np.ndarray, width: int = len(QUANTILES)) -> np.ndarray:
    """Lists of ``width`` quantiles (None: no value) as a groups × ``width`` float array."""
    nan = [math.nan] * width
    return np.array([nan if v is None else v for v in values], dtype=float).reshape(
        len(values), width
    )


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric or boolean column as numpy (NULL: NaN, or False; integers as floats)."""
    return bools(column) if pa.types.is_boolean(column.type) else floats(column)

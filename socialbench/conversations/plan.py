"""The probe table as one relational plan: the messages relation in, the probe table out.

Every step is SQL that DuckDB runs as written and Spark runs through the same text (the few
spellings the two dialects do not share are ``Dialect`` methods). The steps, each a table
the engine keeps (DuckDB spills it to disk past its memory limit; Spark checkpoints it):

1. ``msg``: the messages, the first occurrence of each (channel, id) kept, brand accounts
   flagged (the source's flag, or a handle of the brand book); a reply whose parent is
   missing hangs from the opening message of its ``conversation_id`` when that one opens a
   thread.
2. ``tree``: each message's *root*, its thread's opening message, and whether it belongs to
   its probe's exchange (METRICS.md: no message on its path up to the probe is by a third
   party, neither a brand account nor the probe's customer). The trees are followed down
   from their roots (a recursive query, or one query per level); what that leaves is
   settled by pointer jumping. A chain that ends at a missing message is an orphan; one
   that never reaches a root is a reply loop, which is bad input and named (``ReplyLoop``).
3. ``conv``: the messages of threads opened by a customer, from the opening message's time
   on, cut into probes: the thread is one probe, or with ``reopen_after`` one more probe
   at each message of the probe's customer after that much silence.
4. ``first``: per probe, its first response, first automated reply and counts.
5. ``texts`` → the text rules (``conversations.rules``, the same Arrow functions on every
   engine) for the exchange's brand messages within the window, the first reply and the
   customer's follow-ups.
6. ``brand_of``, then ``probe_rows``: per probe its brand, first response, counts, reply
   types and clock.

Times are BIGINT nanoseconds since the epoch throughout (UTC).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from socialbench.errors import InputError

UNKNOWN_BRAND = "(unknown)"
# the bits of the reply-type rule's result (``rules.reply_types``)
LINK, DM, PHONE, EMAIL = 1, 2, 4, 8
REPLY_BITS = {"link": LINK, "dm": DM, "phone": PHONE, "email": EMAIL}
# an @mention: "@" and a handle, not preceded by a handle character (help@acme.com is none)
MENTION = r"(?:^|[^A-Za-z0-9_])@([A-Za-z0-9_]+)"


FINISHED = "probe_rows"  # the probe table the plan leaves in the engine
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_NS, _HOUR_NS = 86_400_000_000_000, 3_600_000_000_000


ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineOptions:
    """Which engine runs the plan and how it may use the machine (``None``: its default)."""

    kind: str = "duckdb"
    threads: int | None = None
    memory_limit: str | None = None
    temp_dir: str | None = None
    spark_master: str | None = None


class ReplyLoop(InputError):
    """Raised when a message's chain of parents leads back to itself (bad input)."""


@dataclass(frozen=True)
class Params:
    """What the plan needs besides the messages: nanosecond windows and the brand book."""

    window_ns: int
    reopen_ns: int | None
    handles: dict[str, str]  # lower-cased handle of a brand account -> its brand name
    listed: frozenset[str]  # lower-cased handles the brand book says are brand accounts
    source: str = "messages"  # what error messages name
    # the moment the messages were read (an inbox still being observed): a window that has
    # not ended by then is watched only until then; None: every window has ended
    as_of_ns: int | None = None


class Engine:
    """What the plan asks of an engine (``duck.DuckEngine``, ``spark.SparkEngine``)."""

    dialect: Dialect

    def create(self, name: str, sql: str) -> None:  # pragma: no cover - interface
        """Run ``sql`` and keep its result as the table ``name`` (replacing one)."""
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple]:  # pragma: no cover - interface
        """Run a query with a small result and return its rows."""
        raise NotImplementedError

    def drop(self, *names: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def small_table(self, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
        """A small table of ``rows`` (``columns``: name -> SQL type)."""
        raise NotImplementedError  # pragma: no cover - interface

    def append(self, name: str, sql: str) -> None:
        """Add the rows of ``sql`` to the table ``name``."""
        self.create(name, f"SELECT * FROM {name} UNION ALL {sql}")

    def reader(self) -> Engine | None:
        """An engine over the same tables that may run queries while this one runs others
        (None: queries must take turns)."""
        return None

    def holds(self, size: int) -> bool:
        """Whether a query keeping ``size`` bytes in memory (a recursive query) stays well
        within the engine's memory (Spark's recursion is distributed: always)."""
        return True


class Dialect:
    """Spellings that differ between engines; DuckDB's are the default."""

    def order_key(self, t: str, seq: str) -> str:
        """A value ordered as the pair (``t``, ``seq``), for min_by: one 128-bit integer
        (seq is below 2^40, a trillion rows)."""
        return f"(CAST({t} AS HUGEINT) * 1099511627776 + {seq})"

    def iso_time(self, ns: str, *, milliseconds: bool) -> str:
        """ISO 8601 UTC text of a time in nanoseconds, to the second or the millisecond."""
        seconds = "%S.%g" if milliseconds else "%S"
        return f"strftime(make_timestamp_ns({ns}), '%Y-%m-%dT%H:%M:{seconds}Z')"

    def floor_div(self, a: str, b: int) -> str:
        """``a`` divided by the positive integer ``b``, rounded down (BIGINT)."""
        return f"CAST(({a} - ((({a}) % {b}) + {b}) % {b}) / {b} AS BIGINT)"

    def mentions(self, text: str, key: str, source: str) -> str:
        """SELECT key, pos, handle: every @mention of each text, numbered from 1."""
        return f"""
            SELECT {key}, generate_subscripts(handles, 1) AS pos, unnest(handles) AS handle
            FROM (SELECT {key}, regexp_extract_all({text}, '{MENTION}', 1) AS handles
                  FROM {source}) AS listed_mentions
        """


# ------------------------------------------------------------------------------ the steps


def probe_table(engine: Engine, params: Params, classify: Callable[[Engine], None]) -> str:
    """Run the plan on ``engine`` (whose table ``messages`` holds the messages relation,
    see ``conversations.COLUMNS``); returns the name of the probe table it made.
    ``classify`` makes the table ``flags`` from the table ``texts`` (the text rules)."""
    _brand_tables(engine, params)
    _messages(engine)
    _tree(engine, params)
    engine.create("conv", _conv(engine.dialect, params))
    engine.drop("tree")  # each step's inputs go as soon as no later step reads them
    engine.create("first", _first(engine.dialect, params))
    engine.create("texts", texts_sql(params))
    engine.drop("conv")
    classify(engine)
    engine.drop("texts")
    engine.create("brand_of", _brands(engine.dialect))
    engine.drop("msg")
    engine.create(FINISHED, _finished(engine.dialect, params))
    engine.drop("first", "flags", "brand_of")
    return FINISHED


def _brand_tables(engine: Engine, params: Params) -> None:
    engine.small_table(
        "book", {"handle": "VARCHAR", "brand": "VARCHAR"}, sorted(params.handles.items())
    )
    engine.small_table("listed", {"handle": "VARCHAR"}, [(h,) for h in sorted(params.listed)])


def _messages(engine: Engine) -> None:
    """``msg``: the first occurrence of each (channel, id), brand accounts flagged, ids and
    references as join keys (``pk``: the key a reply hangs from, see ``_ADOPTED``)."""
    key = _key_kind(engine)
    engine.create("msg", _MSG.format(id=key("d.id"), parent=key("d.parent_id"),
                                     conversation=key("d.conversation_id")))  # fmt: skip
    repeated = "SELECT count(*) FROM (SELECT channel, k FROM msg GROUP BY channel, k " \
               "HAVING count(*) > 1) AS r"  # fmt: skip
    if engine.rows(repeated)[0][0]:
        engine.create("msg", _FIRST_OCCURRENCES)
    if engine.rows("SELECT count(*) FROM msg WHERE ck IS NOT NULL AND pk IS NOT NULL")[0][0]:
        engine.create("msg", _ADOPTED)


def _key_kind(engine: Engine) -> Callable[[str], str]:
    """Ids as BIGINT when every id and reference is a canonical integer (as on X), which
    makes the joins cheap; else the text itself."""
    checks = " + ".join(
        f"count(*) FILTER (WHERE {c} IS NOT NULL AND (TRY_CAST({c} AS BIGINT) IS NULL "
        f"OR CAST(TRY_CAST({c} AS BIGINT) AS STRING) <> {c}))"
        for c in ("id", "parent_id", "conversation_id")
    )
    if engine.rows(f"SELECT {checks} FROM messages")[0][0]:
        return lambda column: column
    return lambda column: f"TRY_CAST({column} AS BIGINT)"


_MSG_COLUMNS = "seq, channel, author, t, automated, account, k, pk, ck, private, is_brand"

# brand accounts flagged; k, pk, ck: the join keys of id, parent_id and conversation_id
_MSG = """
SELECT d.seq, d.channel, d.author, d.t, d.automated, d.account,
       {id} AS k, {parent} AS pk, {conversation} AS ck,
       d.surface = 'private' AS private,
       coalesce(d.author_is_brand, false) OR l.handle IS NOT NULL AS is_brand
FROM messages d
LEFT JOIN listed l ON l.handle = lower(d.author)
"""

# duplicates: the first occurrence of each (channel, id) wins
_FIRST_OCCURRENCES = f"""
SELECT {_MSG_COLUMNS} FROM (
    SELECT *, row_number() OVER (PARTITION BY channel, k ORDER BY seq) AS nth FROM msg
) AS numbered WHERE nth = 1
"""

# a reply whose parent is missing hangs from its conversation's opening message when that
# one opens a thread (its pk becomes the conversation's key); else it stays an orphan
_ADOPTED = """
SELECT m.seq, m.channel, m.author, m.t, m.automated, m.account, m.k,
       CASE WHEN m.pk IS NOT NULL AND p.k IS NULL AND o.k IS NOT NULL THEN m.ck ELSE m.pk END
           AS pk,
       m.ck, m.private, m.is_brand
FROM msg m
LEFT JOIN msg p ON p.channel = m.channel AND p.k = m.pk
LEFT JOIN (SELECT channel, k FROM msg WHERE pk IS NULL) AS o
       ON o.channel = m.channel AND o.k = m.ck
"""


# ------------------------------------------------------------------------ the reply trees

TOP_DOWN_LEVELS = 32  # levels of replies followed down from the roots
# what the recursive query holds per message, about (it keeps its rows in memory; DuckDB
# needed 100-150 MB for 2.27 million messages)
TREE_ROW_BYTES = 128


def _tree(engine: Engine, params: Params) -> None:
    """``tree(seq, root, root_t, cust, public, ex)``: every message that hangs, through its
    parents, from an opening message (its *root*), with the root's time, whether a customer
    opened the thread (``cust``) in public, and ``ex``: whether the message is in the
    probe's exchange (no third party, neither a brand account nor the root's author, on
    its path up to the root, itself included).

    The usual thread is a few replies deep: the trees are followed down from their roots,
    level by level (``TOP_DOWN_LEVELS`` deep): in one recursive query when the engine holds
    it in memory, else one query per level, whose tables spill to disk. What that leaves
    (deeper replies, orphans whose chain ends at a missing message, reply loops) is settled
    by pointer jumping (``_rest``), whose rounds grow with the logarithm of the depth."""
    (total,) = engine.rows("SELECT count(*) FROM msg")[0]
    if engine.holds(total * TREE_ROW_BYTES):
        engine.create("tree", _recursive_tree())
    else:
        _tree_by_levels(engine)
    if engine.rows(f"SELECT {total} - count(*) FROM tree")[0][0]:
        _rest(engine, params)


# the roots, and one level down from the messages ``{down}`` (ex: no third party on the way)
_DOWN_COLUMNS = "seq, channel, k, root, root_author, root_t, cust, public, ex"
_ROOTS = """
SELECT seq, channel, k, seq AS root, author AS root_author, t AS root_t,
       NOT is_brand AS cust, NOT private AS public, true AS ex{level}
FROM msg WHERE pk IS NULL
"""
_ONE_DOWN = """
SELECT m.seq, m.channel, m.k, d.root, d.root_author, d.root_t, d.cust, d.public,
       d.ex AND (m.is_brand OR m.author IS NOT DISTINCT FROM d.root_author) AS ex{level}
FROM {down} d JOIN msg m ON m.channel = d.channel AND m.pk = d.k
"""
_TREE_COLUMNS = "seq, root, root_t, cust, public, ex"


def _recursive_tree() -> str:
    roots = _ROOTS.replace("{level}", ", 0 AS level")
    down = _ONE_DOWN.replace("{level}", ", d.level + 1 AS level").replace("{down}", "down")
    return f"""
        WITH RECURSIVE down AS (
            {roots} UNION ALL {down} WHERE d.level < {TOP_DOWN_LEVELS}
        )
        SELECT {_TREE_COLUMNS} FROM down
    """


def _tree_by_levels(engine: Engine) -> None:
    """``_recursive_tree``, one level at a time."""
    engine.create("level", _ROOTS.replace("{level}", ""))
    engine.create("tree", f"SELECT {_TREE_COLUMNS} FROM level")
    for _ in range(TOP_DOWN_LEVELS):
        engine.create("below", _ONE_DOWN.replace("{level}", "").replace("{down}", "level"))
        if not engine.rows("SELECT count(*) FROM below")[0][0]:
            break
        engine.append("tree", f"SELECT {_TREE_COLUMNS} FROM below")
        engine.create("level", f"SELECT {_DOWN_COLUMNS} FROM below")
    engine.drop("level", "below")


def _rest(engine: Engine, params: Params) -> None:
    """The messages the top-down pass did not reach, settled by pointer jumping: each
    points one step up (its parent; NULL when that is missing: an orphan) and, while its
    target is not settled, jumps to its target's target. A chain that never reaches a
    settled message is a reply loop, which is bad input and named (``ReplyLoop``). Those
    that reach a customer's thread then learn ``ex`` the same way, OR-ing whether a third
    party is on the way until they reach a message of the tree."""
    engine.create("rest", _REST)
    engine.create("todo", "SELECT seq, up FROM rest WHERE up IS NOT NULL")
    engine.create("settled", "SELECT seq, CAST(NULL AS BIGINT) AS root FROM rest WHERE up IS NULL")
    for _ in range(_jumps(engine.rows("SELECT count(*) FROM rest")[0][0])):
        if not engine.rows("SELECT count(*) FROM todo")[0][0]:
            break
        engine.create("step", _JUMP)
        engine.append("settled", "SELECT seq, root FROM step WHERE done")
        engine.create("todo", "SELECT seq, up FROM step WHERE NOT done")
    else:
        if engine.rows("SELECT count(*) FROM todo")[0][0]:
            loop = engine.rows(
                "SELECT min_by(m.id, m.seq) FROM todo w JOIN messages m ON m.seq = w.seq"
            )
            problem = (
                f"a reply loop: message {loop[0][0]!r} replies, through its parents, to itself"
            )
            raise ReplyLoop(params.source, problem)
    engine.create("outside", _OUTSIDE)
    for _ in range(_jumps(engine.rows("SELECT count(*) FROM outside")[0][0])):
        if not engine.rows("SELECT count(*) FROM outside WHERE up IS NOT NULL")[0][0]:
            break
        engine.create("outside", _JUMP_BAD)
    engine.append("tree", _JOINED)
    engine.drop("rest", "todo", "step", "settled", "outside")


def _jumps(total: int) -> int:
    """Doublings enough for any chain of ``total`` messages, and one to spare."""
    return max(1, math.ceil(math.log2(max(total, 2)))) + 2


# the messages not reached, each with its parent (up NULL: the parent is missing)
_REST = """
SELECT m.seq, m.author, m.is_brand, p.seq AS up
FROM msg m
LEFT JOIN tree t ON t.seq = m.seq
LEFT JOIN msg p ON p.channel = m.channel AND p.k = m.pk
WHERE t.seq IS NULL
"""

# a target that is settled gives its root (NULL: an orphan's chain); else its next step up
_JUMP = """
SELECT t.seq, s.seq IS NOT NULL OR r.seq IS NOT NULL AS done, coalesce(s.root, r.root) AS root,
       n.up
FROM todo t
LEFT JOIN tree s ON s.seq = t.up
LEFT JOIN settled r ON r.seq = t.up
LEFT JOIN todo n ON n.seq = t.up
"""

# the settled messages of a thread: whether they or a message on their way up to the tree
# are by a third party (bad), and their next step up (NULL once it is a message of the tree)
_OUTSIDE = """
SELECT s.seq, s.root, NOT (r.is_brand OR r.author IS NOT DISTINCT FROM a.author) AS bad, r.up
FROM settled s JOIN rest r ON r.seq = s.seq JOIN msg a ON a.seq = s.root
WHERE s.root IS NOT NULL
"""

_JUMP_BAD = """
SELECT e.seq, e.root, e.bad OR coalesce(a.bad, false) OR coalesce(NOT t.ex, false) AS bad,
       a.up
FROM outside e LEFT JOIN outside a ON a.seq = e.up LEFT JOIN tree t ON t.seq = e.up
"""

_JOINED = """
SELECT o.seq, o.root, r.root_t, r.cust, r.public, NOT o.bad AS ex
FROM outside o JOIN tree r ON r.seq = o.root
"""


def _conv(dialect: Dialect, params: Params) -> str:
    """Messages of customer-opened threads from the opener's time on, each with its probe
    (``probe``: the seq of the probe's message; ``sent``, ``public``: its time and whether
    it is public) and whether it is in the probe's exchange (``ex``)."""
    thread = _THREAD
    columns = "seq, root, t, author, is_brand, automated, private, account, ex"
    if params.reopen_ns is None:
        return f"""SELECT {columns}, root AS probe, root_t AS sent, root_public AS public
                   FROM ({thread}) AS th"""
    # a message of the probe's customer after reopen_ns of silence opens another probe
    order = "PARTITION BY root ORDER BY t, CASE WHEN seq = root THEN 0 ELSE 1 END, seq"
    starts = f"""
        SELECT *, CASE WHEN seq = root THEN 1
                       WHEN ex AND NOT is_brand AND t - prev_t >= {params.reopen_ns} THEN 1
                       ELSE 0 END AS start
        FROM (SELECT *, lag(t) OVER ({order}) AS prev_t FROM ({thread}) AS th) AS gaps
    """
    numbered = f"""
        SELECT *, sum(start) OVER ({order} ROWS UNBOUNDED PRECEDING) AS part
        FROM ({starts}) AS s
    """
    prefixed = ", ".join(f"c.{c}" for c in columns.split(", "))
    return f"""
        SELECT {prefixed}, p.seq AS probe, p.t AS sent, NOT p.private AS public
        FROM ({numbered}) AS c
        JOIN ({numbered}) AS p ON p.root = c.root AND p.part = c.part AND p.start = 1
    """


def _first(dialect: Dialect, params: Params) -> str:
    """Per probe: its thread's root, its time, whether it is public and its platform's
    business account (``account``, when the source names one); the author of the
    first brand message of its conversation (at any time), the first response (the
    exchange's first human brand message within the window), the first automated brand
    message within the window, and counts (brand messages alone are aggregated)."""
    first = dialect.order_key("t", "seq")
    watched = f"ex AND t <= sent + {params.window_ns}"
    return f"""
        SELECT p.probe, p.root, p.sent, p.public, p.account, b.brand_author, b.reply_seq,
               b.first_t, b.auto_t, coalesce(b.brand_messages, 0) AS brand_messages,
               coalesce(b.automated_messages, 0) AS automated_messages
        FROM (SELECT probe, root, sent, public, account FROM conv WHERE seq = probe) AS p
        LEFT JOIN (
            SELECT probe, min_by(author, {first}) AS brand_author,
                   min_by(seq, {first}) FILTER (WHERE {watched} AND NOT automated) AS reply_seq,
                   min(t) FILTER (WHERE {watched} AND NOT automated) AS first_t,
                   min(t) FILTER (WHERE {watched} AND automated) AS auto_t,
                   count(*) FILTER (WHERE {watched} AND NOT automated) AS brand_messages,
                   count(*) FILTER (WHERE {watched} AND automated) AS automated_messages
            FROM conv
            WHERE is_brand
            GROUP BY probe
        ) AS b ON b.probe = p.probe
    """


# the messages of threads a customer opened, from the opening message's time on
_THREAD = """
SELECT m.seq, r.root, m.t, m.author, m.is_brand, m.automated, m.private, m.account, r.ex,
       r.root_t, r.public AS root_public
FROM tree r JOIN msg m ON m.seq = r.seq
WHERE r.cust AND m.t >= r.root_t
"""

# the texts the rules read: the exchange's human brand messages within the window (reply
# types; the first reply also its wording), and the customer's later messages within it
_TEXTS = """
SELECT c.seq, c.probe, m.text,
       c.is_brand AS reply, c.seq = f.reply_seq AS first_reply,
       c.is_brand AND c.private AND c.public AS moved
FROM conv c
JOIN first f ON f.probe = c.probe
JOIN messages m ON m.seq = c.seq
WHERE c.ex AND c.t <= c.sent + {window}
  AND ((c.is_brand AND NOT c.automated) OR (NOT c.is_brand AND c.t > f.first_t))
"""


def texts_sql(params: Params) -> str:
    return _TEXTS.replace("{window}", str(params.window_ns))


def _brands(dialect: Dialect) -> str:
    """``brand_of(probe, brand)``: the platform's business account, else the author of the
    first brand message, else the first @mention naming a brand account, else the first
    @mention, else (unknown); each handle named through the brand book, else spelled as its
    first brand message spells it."""
    unanswered = """
        SELECT f.probe, m.text FROM first f JOIN messages m ON m.seq = f.probe
        WHERE f.brand_author IS NULL AND f.account IS NULL
    """
    return f"""
        WITH spelled AS (
            SELECT lower(author) AS handle, min_by(author, seq) AS spelling
            FROM (SELECT author, min(seq) AS seq FROM msg
                  WHERE is_brand AND author IS NOT NULL GROUP BY author) AS authors
            GROUP BY lower(author)
        ), named AS (
            SELECT coalesce(b.handle, s.handle) AS handle,
                   coalesce(b.brand, s.spelling) AS brand
            FROM spelled s FULL OUTER JOIN book b ON b.handle = s.handle
        ), known AS (
            SELECT handle FROM spelled UNION SELECT handle FROM listed
        ), mentions AS ({dialect.mentions("text", "probe", f"({unanswered}) AS u")}
        ), mentioned AS (
            SELECT x.probe,
                   coalesce(min_by(x.handle, x.pos) FILTER (WHERE k.handle IS NOT NULL),
                            min_by(x.handle, x.pos)) AS handle
            FROM mentions x LEFT JOIN known k ON k.handle = lower(x.handle)
            GROUP BY x.probe
        ), chosen AS (
            SELECT f.probe, coalesce(f.account, f.brand_author, mm.handle) AS handle
            FROM first f LEFT JOIN mentioned mm ON mm.probe = f.probe
        )
        SELECT c.probe, coalesce(n.brand, c.handle, '{UNKNOWN_BRAND}') AS brand
        FROM chosen c LEFT JOIN named n ON n.handle = lower(c.handle)
    """


def _probes(params: Params) -> str:
    """The probe table (times in nanoseconds; clocks and calendars come after)."""
    reply_bits = "bit_or(CASE WHEN x.reply THEN x.types END)"
    # the thread's id: the probe's own, unless --reopen-after cut the thread into probes
    thread_id, thread_join = "p.id", ""
    if params.reopen_ns is not None:
        thread_id, thread_join = "root.id", "\n        JOIN messages root ON root.seq = f.root"
    per_probe = f"""
        SELECT x.probe,
               {reply_bits} AS types,
               bool_or(x.moved) AS moved,
               bool_or(x.first_reply AND x.acknowledges AND x.types = 0) AS ack_only,
               bool_or(NOT x.reply AND x.confirms) AS resolved
        FROM flags x GROUP BY x.probe
    """
    return f"""
        WITH per_probe AS ({per_probe})
        SELECT p.id AS probe_id, b.brand,
               p.channel, p.surface, p.author AS persona,
               p.followers, p.category, p.scenario, f.sent AS sent_ns,
               f.first_t IS NOT NULL AS responded, f.first_t AS first_ns,
               {_flag("link", LINK)}, {_flag("dm", DM, "OR coalesce(r.moved, false)")},
               {_flag("phone", PHONE)}, {_flag("email", EMAIL)},
               coalesce(r.ack_only, false) AS ack_only,
               coalesce(r.resolved, false) AS resolved,
               f.brand_messages, {thread_id} AS conversation_id, f.automated_messages,
               f.auto_t AS auto_ns, p.seq
        FROM first f
        JOIN messages p ON p.seq = f.probe{thread_join}
        JOIN brand_of b ON b.probe = f.probe
        LEFT JOIN per_probe r ON r.probe = f.probe
    """


def _finished(dialect: Dialect, params: Params) -> str:
    """The probe table as users see it (``conversations.PROBE_COLUMNS`` and
    ``EXTRA_COLUMNS``), times in nanoseconds as ``sent_ns``, ``first_ns`` and ``auto_ns``:
    the plain clock in seconds, the business clock equal to it (support hours change it
    after), the automated reply's delay and the hand-off to a human (when the human came at
    or after the first automated reply), the weekday and hour in UTC (1970-01-01 was a
    Thursday)."""
    ttfr = _seconds("first_ns - sent_ns")
    day = f"(({dialect.floor_div('sent_ns', _DAY_NS)} + 3) % 7 + 7) % 7"
    names = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(WEEKDAYS))
    hour = f"(({dialect.floor_div('sent_ns', _HOUR_NS)}) % 24 + 24) % 24"
    return f"""
        SELECT probe_id, brand, channel, surface, persona, followers, category, scenario,
               sent_ns, responded, first_ns, {ttfr} AS ttfr_s, {ttfr} AS ttfr_business_s,
               link, dm, phone, email, ack_only, resolved, brand_messages, conversation_id,
               {_watched(params)} AS watched_s,
               automated_messages, auto_ns, {_seconds("auto_ns - sent_ns")} AS ttfa_s,
               auto_ns IS NOT NULL AND first_ns IS NULL AS bot_only,
               CASE WHEN first_ns >= auto_ns THEN {_seconds("first_ns - auto_ns")} END
                   AS handoff_s,
               CASE {day} {names} END AS weekday, {hour} AS hour, seq
        FROM ({_probes(params)}) AS probes
    """


def _watched(params: Params) -> str:
    """How long a probe was watched, in seconds: its window, or until ``as_of``."""
    if params.as_of_ns is None:
        return f"CAST({params.window_ns} AS DOUBLE) / 1000000000.0"
    until = f"least({params.window_ns}, greatest(0, {params.as_of_ns} - sent_ns))"
    return _seconds(until)


def _seconds(ns: str) -> str:
    """A span of nanoseconds in seconds (DOUBLE; NULL stays NULL)."""
    return f"CAST({ns} AS DOUBLE) / 1000000000.0"


_FINISHED_COLUMNS = (
    "probe_id", "brand", "channel", "surface", "persona", "followers", "category", "scenario",
    "sent_ns", "responded", "first_ns", "ttfr_s", "ttfr_business_s", "link", "dm", "phone",
    "email", "ack_only", "resolved", "brand_messages", "conversation_id", "watched_s",
    "automated_messages", "auto_ns", "ttfa_s", "bot_only", "handoff_s", "weekday", "hour",
    "seq",
)  # fmt: skip
_LOCAL = {
    "ttfr_business_s": "CASE WHEN c.seq IS NULL THEN p.ttfr_business_s ELSE c.business END",
    "weekday": "coalesce(c.local_weekday, p.weekday)",
    "hour": "coalesce(c.local_hour, p.hour)",
}


def with_calendar() -> str:
    """The finished probe table with the business clock and local weekday and hour of the
    table ``calendar`` (seq, business, local_weekday, local_hour) where it has them."""
    columns = ", ".join(f"{_LOCAL.get(c, 'p.' + c)} AS {c}" for c in _FINISHED_COLUMNS)
    return f"SELECT {columns} FROM {FINISHED} p LEFT JOIN calendar c ON c.seq = p.seq"


def _flag(name: str, bit: int, extra: str = "") -> str:
    return f"((coalesce(r.types, 0) & {bit}) <> 0 {extra}) AS {name}"


def describe(engine: Engine, params: Params) -> dict[str, int]:
    """What ``validate`` reports of the messages: counts of the plan's first steps."""
    _brand_tables(engine, params)
    _messages(engine)
    _tree(engine, params)
    engine.create("conv", _conv(engine.dialect, params))
    (row,) = engine.rows(_DESCRIBE)
    keys = ("messages", "duplicates", "conversations", "orphans", "probes", "brand_accounts")
    return dict(zip(keys, (int(v or 0) for v in row), strict=True))


_DESCRIBE = """
SELECT (SELECT count(*) FROM msg),
       (SELECT count(*) FROM messages) - (SELECT count(*) FROM msg),
       (SELECT count(*) FROM tree WHERE seq = root),
       (SELECT count(*) FROM msg) - (SELECT count(*) FROM tree),
       (SELECT count(DISTINCT probe) FROM conv),
       (SELECT count(DISTINCT lower(author)) FROM msg WHERE is_brand)
"""

"""Per-brand response metrics of a twcs archive, in DuckDB SQL: the benchmark's reference.

    python bench/duckdb_reference.py ARCHIVE.csv -o OUT.json [--threads N] [--template-rules]

Writes the figures in the shape of the synthetic archive's truth file
(``{"window_s": ..., "brands": {"AcmeHelp": {...}}}``), following socialbench's definitions
(README, Methodology):

- probe: inbound tweet without ``in_response_to_tweet_id``; its exchange: the probe and every
  tweet replying to it directly or through other replies, each written by the probe's
  customer or a brand account (recursive CTE), from the probe's time on;
- brand messages: non-inbound tweets of the conversation sent within [probe, probe + 7 days];
  the first one is the first response (equal times: the earlier row of the file);
- brand: author of the first non-inbound tweet of the exchange at any time (not only in
  the window), else the first @mention naming a known brand account (any inbound=False
  author, case-insensitive), else the first @mention, else ``(unknown)``;
- link / dm / phone / email: some brand message has that reply type; ack_only: the first brand
  message only acknowledges; resolved: a customer message after the first brand message,
  within the window, confirms resolution.

The reply types are socialbench's own rules (``socialbench.measure.classify``): its RE2 patterns,
imported at run time, applied step for step in SQL - ``regexp_matches``, ``regexp_replace``
with the same replacements, ``CASE`` so that the costly steps run only on the rows that
matched the first pattern - on texts padded as ``classify._prepare`` pads them. So the
reference computes the same definitions as socialbench, by another road (SQL instead of
numpy/pyarrow). ``--template-rules`` swaps in the short regexes written for the synthetic
archive's templates (the reference's earlier version, kept for timing: right on the
synthetic archive, wrong on real replies).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
import time
import types
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
WINDOW_S = 7 * 86400
WITHIN = {"15m": 900, "1h": 3600, "4h": 14400, "24h": 86400, "window": WINDOW_S}
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
RULES = ("link", "dm", "phone", "email", "ack_only", "confirms_resolution")

COLUMN_TYPES = {
    "tweet_id": "BIGINT",
    "author_id": "VARCHAR",
    "inbound": "BOOLEAN",
    "created_at": "VARCHAR",
    "text": "VARCHAR",
    "response_tweet_id": "VARCHAR",
    "in_response_to_tweet_id": "DOUBLE",
}


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ------------------------------------------------------------------------ reply-type rules


def _classify_module() -> types.ModuleType:
    """``socialbench.measure.classify`` of this checkout, for its pattern strings.

    The module imports numpy, pandas and pyarrow but needs none to build its patterns. Unless they
    are loaded already, it is executed here with empty placeholder modules in their place, and
    everything it loaded is unloaded again, so that the reference does not pay pandas' import
    (about 0.5 s and 90 MiB). Should it ever use them at import time, it is imported normally.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    libraries = ("numpy", "pandas", "pyarrow", "pyarrow.compute")
    placeholders = [name for name in libraries if name not in sys.modules]
    if placeholders:
        spec = importlib.util.find_spec("socialbench.measure.classify")
        module = importlib.util.module_from_spec(spec)
        loaded = set(sys.modules)
        sys.modules.update({name: types.ModuleType(name) for name in placeholders})
        try:
            spec.loader.exec_module(module)
            return module
        except Exception:
            pass  # fall back to the real import
        finally:
            for name in set(sys.modules) - loaded:
                del sys.modules[name]
    from socialbench.measure import classify

    return classify


class FullRules:
    """SQL expressions applying ``socialbench.measure.classify``'s rules, step for step."""

    def __init__(self) -> None:
        classify = _classify_module()
        self.patterns = {k: _sql_str(v) for k, v in classify.PATTERNS.items()}
        self.end = _sql_str(classify._END)  # the padding of classify._prepare
        self.offer = _sql_str("\\1" + classify._OFFER)  # the replacement in classify._ack_only

    def prepare(self, text: str) -> str:
        """classify._prepare: a space at each end, then the end marker (text is never NULL)."""
        return f"' ' || {text} || ' ' || {self.end}"

    def _contains(self, s: str, pattern: str) -> str:
        return f"regexp_matches({s}, {self.patterns[pattern]})"

    def _replace(self, s: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({s}, {self.patterns[pattern]}, {replacement}, 'g')"

    def _contains_after_removing(self, s: str, pattern: str, excluded: str) -> str:
        """classify._contains_after_removing: the replace runs only where `pattern` occurs."""
        cleaned = self._replace(s, excluded, "' '")
        return (
            f"CASE WHEN {self._contains(s, pattern)} THEN {self._contains(cleaned, pattern)} "
            "ELSE false END"
        )

    def link(self, s: str) -> str:
        return self._contains(s, "link")

    def email(self, s: str) -> str:
        return self._contains(s, "email")

    def phone(self, s: str) -> str:
        return self._contains_after_removing(s, "phone", "phone_id")

    def dm(self, s: str) -> str:
        """classify._dm: the exclusions removed, then an e-mail inbox ("inbox" in a text
        with an e-mail cue) blanked out too."""
        cleaned = self._replace(s, "dm_excluded", "' '")
        mail = f"regexp_matches({cleaned}, '(?i)inbox') AND {self._contains(s, 'dm_mail_context')}"
        blanked = self._replace(cleaned, "dm_mail_inbox", "'\\1'")
        return (
            f"CASE WHEN NOT {self._contains(s, 'dm')} THEN false "
            f"WHEN NOT {self._contains(cleaned, 'dm')} THEN false "
            f"WHEN {mail} THEN {self._contains(blanked, 'dm')} ELSE true END"
        )

    def confirms_resolution(self, s: str) -> str:
        """classify._confirms_resolution; the regression test only where the rest holds."""
        hit = self._contains_after_removing(s, "resolved", "resolved_excluded")
        return f"CASE WHEN {hit} THEN NOT {self._contains(s, 'regression')} ELSE false END"

    def ack_only(self, source: str, columns: str) -> str:
        """SELECT columns, ack_only FROM source (which also has s and other: whether s is a
        link, dm, phone or email).

        classify._ack_only: a cheap head pattern; no question mark or link; @mentions,
        "please accept" and the signature stripped, generic offers of help marked; no cue of
        an instruction or action; vocative names removed (twice); then the whole text must be
        acknowledgement sentences; and the text has none of the other reply types.
        """
        stripped = self._replace(self._replace("s", "ack_strip", "'\\1'"), "ack_offer", self.offer)
        unnamed = "stripped"
        for _ in range(2):
            unnamed = self._replace(unnamed, "ack_name", "'\\1\\2\\3\\4'")
        return f"""
            SELECT {columns},
                   CASE WHEN stripped IS NULL THEN false
                        WHEN {self._contains("stripped", "ack_cues")} THEN false
                        WHEN {self._contains(unnamed, "ack_text")} THEN NOT other
                        ELSE false END AS ack_only
            FROM (
                SELECT {columns}, other,
                       CASE WHEN {self._contains("s", "ack_head")}
                             AND NOT {self._contains("s", "ack_quick_no")}
                            THEN {stripped} END AS stripped
                FROM {source}
            )
        """


class TemplateRules:
    """The reference's earlier regexes, written for the synthetic archive's templates only."""

    LINK = r"(?i)https?://\S+|\bwww\.\S+"
    DM = r"(?i)\b(dms?|direct message|private message)\b"
    PHONE = r"(?i)\b(call|phone|ring)\b[^.?!]{0,30}?\+?\d[\d \-().]{6,}\d"
    EMAIL = r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"
    ACK = r"(?i)\b(sorry|apologi[sz]e|apologies|thanks for reaching out|we hear you|understand)\b"
    NOT_ACK = (
        r"(?i)\?|https?://|www\.|\d|@\w|\b(dms?|please|try|call|email|send|check|visit|follow"
        r"|click|restart|refund|order)\b"
    )
    LEADING_MENTIONS = r"^(\s*@\w+)+\s*"
    CONFIRM = (
        r"(?i)\b(fixed it|that worked|it worked|all sorted|sorted now|sorted it|working again"
        r"|works now|problem solved|resolved)\b"
    )
    NOT_CONFIRM = r"(?i)\bnot\b|n't\b|\bstill\b|\bno\b"

    def prepare(self, text: str) -> str:
        return text

    def link(self, s: str) -> str:
        return f"regexp_matches({s}, {_sql_str(self.LINK)})"

    def dm(self, s: str) -> str:
        return f"regexp_matches({s}, {_sql_str(self.DM)})"

    def phone(self, s: str) -> str:
        return f"regexp_matches({s}, {_sql_str(self.PHONE)})"

    def email(self, s: str) -> str:
        return f"regexp_matches({s}, {_sql_str(self.EMAIL)})"

    def confirms_resolution(self, s: str) -> str:
        return (
            f"(regexp_matches({s}, {_sql_str(self.CONFIRM)}) "
            f"AND NOT regexp_matches({s}, {_sql_str(self.NOT_CONFIRM)}))"
        )

    def ack_only(self, source: str, columns: str) -> str:
        body = f"regexp_replace(s, {_sql_str(self.LEADING_MENTIONS)}, '')"
        return f"""
            SELECT {columns},
                   regexp_matches(body, {_sql_str(self.ACK)})
                   AND NOT regexp_matches(body, {_sql_str(self.NOT_ACK)}) AS ack_only
            FROM (SELECT {columns}, {body} AS body FROM {source})
        """


def rules_query(rules: FullRules | TemplateRules, source: str) -> str:
    """Every rule on every text of ``source`` (columns ``i``, ``text``): for checking the SQL
    rules against ``socialbench.measure.classify`` row by row."""
    typed = f"""
        SELECT i, s,
               {rules.link("s")} AS link, {rules.dm("s")} AS dm,
               {rules.phone("s")} AS phone, {rules.email("s")} AS email,
               {rules.confirms_resolution("s")} AS confirms_resolution
        FROM (SELECT i, {rules.prepare("coalesce(text, '')")} AS s FROM {source})
    """
    return f"""
        WITH typed AS ({typed}),
        typed_other AS (SELECT i, s, link OR dm OR phone OR email AS other FROM typed),
        ack AS ({rules.ack_only("typed_other", "i")})
        SELECT i, link, dm, phone, email, ack_only, confirms_resolution
        FROM typed JOIN ack USING (i)
        ORDER BY i
    """


# ------------------------------------------------------------------------------ reference


def _columns(path: Path) -> dict[str, str]:
    """Explicit column types; a leading unnamed index column (pandas re-export) is allowed."""
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    types_ = {}
    for i, name in enumerate(header):  # read_csv takes the names given here, in file order
        types_[name or f"column{i}"] = COLUMN_TYPES.get(name, "VARCHAR")
    missing = [c for c in COLUMN_TYPES if c not in types_ and c != "response_tweet_id"]
    if missing:
        raise SystemExit(f"{path}: not a twcs archive (missing {', '.join(missing)})")
    return types_


def reference(
    path: str | Path,
    *,
    threads: int | None = None,
    template_rules: bool = False,
    probes_csv: Path | None = None,
) -> dict:
    path = Path(path)
    rules = TemplateRules() if template_rules else FullRules()
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    columns = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in _columns(path).items())
    columns += "}"
    # insertion order is preserved, so rowid is the row's position in the file (ties in time)
    con.execute(
        f"""
        CREATE TEMP TABLE tweets AS
        SELECT tweet_id AS id,
               CAST(in_response_to_tweet_id AS BIGINT) AS parent,
               author_id AS author,
               inbound,
               CAST(epoch(strptime(created_at, '{TWITTER_TIME}')) AS BIGINT) AS ts,
               coalesce(text, '') AS text
        FROM read_csv({_sql_str(str(path))}, header = true, columns = {columns},
                      quote = '"', escape = '"', auto_detect = false)
        """
    )
    rows = per_brand(con, rules, probes_csv=probes_csv)
    con.close()
    return _shape(rows)


def per_brand(
    con: duckdb.DuckDBPyConnection,
    rules: FullRules | TemplateRules,
    *,
    probes_csv: Path | None = None,
) -> list[tuple]:
    """The per-brand rows from table ``tweets`` (id, parent, author, inbound, ts, text; its
    rowid in the file's order). ``probes_csv``: also write the per-probe rows there, in time
    order (what a run's ``probes.csv`` holds of these figures), and aggregate those."""
    # every tweet of every probe's conversation (the probe itself included)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE conv AS
        WITH RECURSIVE probes AS (
            SELECT id, author FROM tweets WHERE inbound AND parent IS NULL
        ), replies AS (
            SELECT id, parent, author, inbound FROM tweets WHERE parent IS NOT NULL
        ), tree(pid, customer, id) AS (
            SELECT id, author, id FROM probes
            UNION ALL
            -- the probe's exchange: replies by the probe's customer or by a brand account
            SELECT tree.pid, tree.customer, r.id FROM tree JOIN replies r ON r.parent = tree.id
            WHERE NOT r.inbound OR r.author = tree.customer
        )
        SELECT pid, id FROM tree
        """
    )
    per_probe = f"""
        WITH probes AS (
            SELECT id AS pid, ts AS pts, text AS ptext, rowid AS prow
            FROM tweets WHERE inbound AND parent IS NULL
        ), msgs AS (
            -- ord: time order, equal times in the order of the file
            SELECT c.pid, p.pts, t.inbound, t.ts, t.ts::HUGEINT * 4294967296 + t.rowid AS ord,
                   t.author, t.text
            FROM conv c
            JOIN tweets t ON t.id = c.id
            JOIN probes p ON p.pid = c.pid
            WHERE c.id <> c.pid AND t.ts >= p.pts
        ), brand_msgs AS (
            -- brand messages from the probe's time on; those within the window count, and
            -- only they are classified (padded as socialbench's classifier pads texts)
            SELECT pid, author, ts, ord, counted,
                   CASE WHEN counted THEN {rules.prepare("text")} END AS s
            FROM (SELECT *, ts <= pts + {WINDOW_S} AS counted FROM msgs WHERE NOT inbound)
        ), typed AS (
            SELECT *,
                   {rules.link("s")} AS link,
                   {rules.dm("s")} AS dm,
                   {rules.phone("s")} AS phone,
                   {rules.email("s")} AS email
            FROM brand_msgs
        ), answered AS (
            SELECT pid,
                   arg_min(author, ord) AS brand,  -- the first brand message at any time
                   min(ts) FILTER (counted) AS first_ts,
                   arg_min(s, ord) FILTER (counted) AS s,
                   arg_min(link OR dm OR phone OR email, ord) FILTER (counted) AS other,
                   bool_or(link) FILTER (counted) AS link,
                   bool_or(dm) FILTER (counted) AS dm,
                   bool_or(phone) FILTER (counted) AS phone,
                   bool_or(email) FILTER (counted) AS email
            FROM typed
            GROUP BY pid
        ), first_reply AS (
            {rules.ack_only("answered", "pid, brand, first_ts, link, dm, phone, email")}
        ), follow_ups AS (
            SELECT m.pid, {rules.prepare("m.text")} AS s
            FROM msgs m JOIN answered a ON a.pid = m.pid
            WHERE m.inbound AND m.ts > a.first_ts AND m.ts <= m.pts + {WINDOW_S}
        ), resolved AS (
            SELECT pid, bool_or({rules.confirms_resolution("s")}) AS resolved
            FROM follow_ups GROUP BY pid
        ), known AS (
            SELECT lower(author) AS handle_lower, min(author) AS handle
            FROM tweets WHERE NOT inbound GROUP BY 1
        ), mention_lists AS (
            SELECT p.pid,
                   regexp_extract_all(p.ptext, '(?:^|[^A-Za-z0-9_])@([A-Za-z0-9_]+)', 1)
                   AS handles
            FROM probes p ANTI JOIN answered a ON a.pid = p.pid
        ), mentions AS (
            SELECT pid, unnest(handles) AS handle, generate_subscripts(handles, 1) AS pos
            FROM mention_lists
        ), mentioned AS (
            SELECT m.pid,
                   coalesce(arg_min(k.handle, m.pos) FILTER (WHERE k.handle IS NOT NULL),
                            arg_min(m.handle, m.pos)) AS brand
            FROM mentions m LEFT JOIN known k ON k.handle_lower = lower(m.handle)
            GROUP BY m.pid
        ), per_probe AS (
            SELECT p.pid, p.pts, p.prow, coalesce(f.brand, mb.brand, '(unknown)') AS brand,
                   f.first_ts, f.first_ts - p.pts AS ttfr,
                   f.link, f.dm, f.phone, f.email, f.ack_only,
                   coalesce(r.resolved, false) AS resolved
            FROM probes p
            LEFT JOIN first_reply f ON f.pid = p.pid
            LEFT JOIN resolved r ON r.pid = p.pid
            LEFT JOIN mentioned mb ON mb.pid = p.pid
        )
        SELECT * FROM per_probe
    """
    source = f"({per_probe})"
    if probes_csv is not None:
        con.execute(f"CREATE TEMP TABLE per_probe AS {per_probe}")
        write_probes(con, "per_probe", probes_csv)
        source = "per_probe"
    within = WITHIN.items()
    return con.execute(
        f"""
        SELECT brand,
               count(*) AS probes,
               count(ttfr) AS responded,
               quantile_cont(ttfr, 0.5) AS ttfr_median_s,
               quantile_cont(ttfr, 0.9) AS ttfr_p90_s,
               CAST(sum(ttfr) AS DOUBLE) / count(ttfr) AS ttfr_mean_s,
               {", ".join(f"count(*) FILTER (ttfr <= {s}) AS within_{k}" for k, s in within)},
               -- count(*) FILTER, not count_if, which is NULL on a group of NULLs
               count(*) FILTER (link) AS link,
               count(*) FILTER (dm) AS dm,
               count(*) FILTER (phone) AS phone,
               count(*) FILTER (email) AS email,
               count(*) FILTER (ack_only) AS ack_only,
               count(*) FILTER (dm OR phone OR email) AS deflection,
               count(*) FILTER (resolved) AS resolved
        FROM {source}
        GROUP BY brand
        ORDER BY brand
        """
    ).fetchall()


def write_probes(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    """The per-probe rows as CSV in time order (equal times: the earlier row of the file),
    with the columns of a run's ``probes.csv`` that the reference computes."""
    iso = "strftime(to_timestamp({}), '%Y-%m-%dT%H:%M:%SZ')"
    con.execute(
        f"""
        COPY (
            SELECT CAST(pid AS VARCHAR) AS probe_id, brand, {iso.format("pts")} AS sent_at,
                   ttfr IS NOT NULL AS responded,
                   {iso.format("first_ts")} AS first_response_at, ttfr AS ttfr_s,
                   link, dm, phone, email, ack_only, resolved
            FROM {table}
            ORDER BY pts, prow
        ) TO {_sql_str(str(path))} (HEADER)
        """
    )


def _shape(rows) -> dict:
    brands = {}
    for row in rows:
        (brand, probes, responded, median, p90, mean, *counts) = row
        within = dict(zip(WITHIN, counts[: len(WITHIN)], strict=True))
        link, dm, phone, email, ack, deflection, resolved = counts[len(WITHIN) :]

        def share(k, over):
            return None if not over else k / over

        brands[brand] = {
            "probes": probes,
            "responded": responded,
            "response_rate": responded / probes,
            "ttfr_median_s": None if median is None else float(median),
            "ttfr_p90_s": None if p90 is None else float(p90),
            "ttfr_mean_s": None if not responded else float(mean),
            "within": {k: share(v, probes) for k, v in within.items()},
            "link_rate": share(link, responded),
            "dm_rate": share(dm, responded),
            "phone_rate": share(phone, responded),
            "email_rate": share(email, responded),
            "ack_only_rate": share(ack, responded),
            "deflection_rate": share(deflection, responded),
            "resolution_rate": share(resolved, probes),
        }
    return {"window_s": WINDOW_S, "brands": brands}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="twcs CSV")
    parser.add_argument("-o", "--output", type=Path, required=True, help="JSON to write")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument(
        "--template-rules",
        action="store_true",
        help="classify replies with the short regexes written for the synthetic archive's "
        "templates instead of socialbench's rules (for timing only)",
    )
    parser.add_argument(
        "--probes-csv",
        type=Path,
        help="also write the per-probe rows (in time order) to this CSV file, as a run's "
        "probes.csv holds them, and aggregate those",
    )
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        parser.error(f"{args.archive}: no such file")
    started = time.perf_counter()
    result = reference(
        args.archive,
        threads=args.threads,
        template_rules=args.template_rules,
        probes_csv=args.probes_csv,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    rules = "template regexes" if args.template_rules else "socialbench.measure.classify rules"
    print(
        f"duckdb reference ({rules}): {len(result['brands'])} brands in "
        f"{time.perf_counter() - started:.1f}s -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

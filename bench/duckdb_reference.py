"""Per-brand response metrics of a twcs archive, in DuckDB SQL: the benchmark's reference.

    python bench/duckdb_reference.py ARCHIVE.csv -o OUT.json [--threads N]

Writes the figures in the shape of the synthetic archive's truth file
(``{"window_s": ..., "brands": {"AcmeHelp": {...}}}``), following socialbench's definitions:

- probe: inbound tweet without ``in_response_to_tweet_id``; conversation: the probe and every
  tweet replying to it directly or through other replies (recursive CTE);
- brand messages: non-inbound tweets of the conversation sent within [probe, probe + 7 days];
- brand: author of the first brand message, else the first @mention naming a known brand
  account (any inbound=False author, case-insensitive), else the first @mention, else
  ``(unknown)``;
- link / dm / phone / email: some brand message matches the pattern (RE2, below);
  ack_only: the first brand message only acknowledges or apologises;
  resolved: a customer message after the first brand message, within the window, confirms
  the fix.

The patterns are written for the synthetic archive's texts (and plausible real ones); they
are an analyst's regexes, not socialbench's classifier.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import duckdb

WINDOW_S = 7 * 86400
WITHIN = {"15m": 900, "1h": 3600, "4h": 14400, "24h": 86400, "window": WINDOW_S}
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"

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


def _columns(path: Path) -> dict[str, str]:
    """Explicit column types; a leading unnamed index column (pandas re-export) is allowed."""
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    types = {}
    for name in header:
        types[name] = COLUMN_TYPES.get(name, "VARCHAR")
    missing = [c for c in COLUMN_TYPES if c not in types and c != "response_tweet_id"]
    if missing:
        raise SystemExit(f"{path}: not a twcs archive (missing {', '.join(missing)})")
    return types


def reference(path: str | Path, *, threads: int | None = None) -> dict:
    path = Path(path)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    columns = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in _columns(path).items())
    columns += "}"
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
    # every tweet of every probe's conversation (the probe itself included)
    con.execute(
        """
        CREATE TEMP TABLE conv AS
        WITH RECURSIVE probes AS (
            SELECT id FROM tweets WHERE inbound AND parent IS NULL
        ), replies AS (
            SELECT id, parent FROM tweets WHERE parent IS NOT NULL
        ), tree(pid, id) AS (
            SELECT id, id FROM probes
            UNION ALL
            SELECT tree.pid, r.id FROM tree JOIN replies r ON r.parent = tree.id
        )
        SELECT pid, id FROM tree
        """
    )
    rows = con.execute(
        f"""
        WITH probes AS (
            SELECT id AS pid, ts AS pts, text AS ptext
            FROM tweets WHERE inbound AND parent IS NULL
        ), msgs AS (
            SELECT c.pid, p.pts, t.inbound, t.ts, t.author, t.text
            FROM conv c
            JOIN tweets t ON t.id = c.id
            JOIN probes p ON p.pid = c.pid
            WHERE c.id <> c.pid
        ), first_brand AS (
            SELECT pid,
                   arg_min(author, ts) AS brand,
                   min(ts) AS first_ts,
                   arg_min(text, ts) AS first_text,
                   bool_or(regexp_matches(text, {_sql_str(LINK)})) AS link,
                   bool_or(regexp_matches(text, {_sql_str(DM)})) AS dm,
                   bool_or(regexp_matches(text, {_sql_str(PHONE)})) AS phone,
                   bool_or(regexp_matches(text, {_sql_str(EMAIL)})) AS email
            FROM msgs
            WHERE NOT inbound AND ts BETWEEN pts AND pts + {WINDOW_S}
            GROUP BY pid
        ), resolved AS (
            SELECT DISTINCT m.pid
            FROM msgs m JOIN first_brand f ON f.pid = m.pid
            WHERE m.inbound AND m.ts > f.first_ts AND m.ts <= m.pts + {WINDOW_S}
              AND regexp_matches(m.text, {_sql_str(CONFIRM)})
              AND NOT regexp_matches(m.text, {_sql_str(NOT_CONFIRM)})
        ), known AS (
            SELECT lower(author) AS handle_lower, min(author) AS handle
            FROM tweets WHERE NOT inbound GROUP BY 1
        ), mention_lists AS (
            SELECT p.pid, regexp_extract_all(p.ptext, '@(\\w+)', 1) AS handles
            FROM probes p ANTI JOIN first_brand f ON f.pid = p.pid
        ), mentions AS (
            SELECT pid, unnest(handles) AS handle, generate_subscripts(handles, 1) AS pos
            FROM mention_lists
        ), mentioned AS (
            SELECT m.pid,
                   coalesce(arg_min(k.handle, m.pos) FILTER (WHERE k.handle IS NOT NULL),
                            arg_min(m.handle, m.pos)) AS brand
            FROM mentions m LEFT JOIN known k ON k.handle_lower = lower(m.handle)
            GROUP BY m.pid
        ), joined AS (
            SELECT coalesce(f.brand, mb.brand, '(unknown)') AS brand,
                   f.first_ts - p.pts AS ttfr,
                   f.link, f.dm, f.phone, f.email,
                   regexp_replace(f.first_text, {_sql_str(LEADING_MENTIONS)}, '') AS first_body,
                   r.pid IS NOT NULL AS resolved
            FROM probes p
            LEFT JOIN first_brand f ON f.pid = p.pid
            LEFT JOIN mentioned mb ON mb.pid = p.pid
            LEFT JOIN resolved r ON r.pid = p.pid
        ), per_probe AS (
            SELECT *,
                   regexp_matches(first_body, {_sql_str(ACK)})
                   AND NOT regexp_matches(first_body, {_sql_str(NOT_ACK)}) AS ack_only
            FROM joined
        )
        SELECT brand,
               count(*) AS probes,
               count(ttfr) AS responded,
               quantile_cont(ttfr, 0.5) AS ttfr_median_s,
               quantile_cont(ttfr, 0.9) AS ttfr_p90_s,
               CAST(sum(ttfr) AS DOUBLE) / count(ttfr) AS ttfr_mean_s,
               {", ".join(f"count_if(ttfr <= {s}) AS within_{k}" for k, s in WITHIN.items())},
               count_if(link) AS link,
               count_if(dm) AS dm,
               count_if(phone) AS phone,
               count_if(email) AS email,
               count_if(ack_only) AS ack_only,
               count_if(dm OR phone OR email) AS deflection,
               count_if(resolved) AS resolved
        FROM per_probe
        GROUP BY brand
        ORDER BY brand
        """
    ).fetchall()
    con.close()
    return _shape(rows)


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
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        parser.error(f"{args.archive}: no such file")
    started = time.perf_counter()
    result = reference(args.archive, threads=args.threads)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"duckdb reference: {len(result['brands'])} brands in "
        f"{time.perf_counter() - started:.1f}s -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

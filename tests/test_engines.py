"""The probe table's plan on DuckDB and on Spark: the same table from the same messages.

Hand-made conversations that cover every rule of the plan (two settings: defaults, then a
brand book, --reopen-after and a short window), the real twcs sample, a synthetic archive
and a reply loop. The Spark tests share one local session (``spark`` fixture, module
scope) and are skipped, saying why, without pyspark or a Java 17+ runtime (``make java``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import synth
from conftest import external

from socialbench import conversations, sources
from socialbench.conversations import brands, frames, plan
from socialbench.errors import EngineUnavailable
from socialbench.measure import calendar
from socialbench.sources import messages

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
MIN, HOUR, DAY = 60, 3600, 86400
WEEK = 7 * DAY


def _spark_missing() -> str | None:
    """Why the Spark engine cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return "no Java runtime (the Spark engine needs Java 17+; `make java` installs one)"
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{java} -version failed: {exc}"
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown.stderr + shown.stdout)
    major = int(found.group(1)) if found else 0
    major = int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8
    if major < 17:
        return f"Java {major or '?'} at {java}: Spark 4 needs Java 17+ (`make java`)"
    return None


SPARK_MISSING = _spark_missing()
# a JVM that lives for a few minutes: no C2 compiler, one GC thread (a fifth less time on 2
# cores), and room for the code of every query the tests run (without C2 the JVM reserves
# 48 MB for compiled code, which the module's hundreds of queries fill: "Out of space in
# CodeCache for adapters")
SPARK_CONF = {
    "spark.driver.extraJavaOptions": (
        "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"
    )
}


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for every Spark test of this module (starting one takes
    seconds); each engine works in a session of its own on it."""
    if SPARK_MISSING:
        pytest.skip(SPARK_MISSING)
    from socialbench.conversations import spark as spark_engine

    session = spark_engine.start_session(master="local[2]", conf=SPARK_CONF)
    yield session
    session.stop()


# ------------------------------------------------------------------------------ helpers


def m(id, author, at_s, text="", *, parent=None, brand=False, **extra) -> dict:
    """One message; ``at_s``: seconds after T0."""
    return {
        "id": str(id),
        "parent_id": None if parent is None else str(parent),
        "author": author,
        "author_is_brand": brand,
        "created_at": T0 + timedelta(seconds=at_s),
        "text": text,
        "channel": extra.pop("channel", "x"),
        "surface": extra.pop("surface", "public"),
        **extra,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    return messages.normalize(pd.DataFrame(rows))


def duck_table(msgs: pd.DataFrame, settings: conversations.Settings) -> pd.DataFrame:
    return frames.probe_table(msgs, settings)


def spark_table(
    session, msgs: pd.DataFrame, settings: conversations.Settings, csv: Path | None = None
) -> pd.DataFrame:
    """The probe table on Spark (and ``probes.csv`` as the engine writes it, to ``csv``)."""
    from socialbench.conversations.spark import SparkEngine

    return on_engine(SparkEngine(session=session), msgs, settings, csv)


def on_engine(engine, msgs, settings, csv: Path | None = None) -> pd.DataFrame:
    try:
        engine.load(frames.arrow_messages(msgs))
        table = frames.build(engine, settings)
        if csv is not None:
            table.write_csv(csv)
        return table.frame()
    finally:
        engine.close()


def assert_same(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Row for row, column for column, dtypes included; floats to rounding."""
    assert list(spark.columns) == list(duck.columns)
    assert dict(spark.dtypes) == dict(duck.dtypes)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9, atol=1e-6)


def row(probes: pd.DataFrame, probe_id: str, channel: str = "x") -> pd.Series:
    found = probes[(probes["probe_id"] == probe_id) & (probes["channel"] == channel)]
    assert len(found) == 1, (probe_id, channel, len(found))
    return found.iloc[0]


# ------------------------------------------------------------- hand-made conversations


def threads() -> list[dict]:
    """Every case the plan distinguishes, in one messages table (ids are numbers: the plan
    joins on BIGINT keys; ``lettered`` makes them text)."""
    return [
        # a reply chain: first reply with a link, a confirmation, a later brand message
        m(100, "ann", 0, "@Acme my parcel is late"),
        m(101, "Acme", 12 * MIN, "@ann sorry! https://acme.example/t", parent=100, brand=True),
        m(102, "ann", 20 * MIN, "@Acme thanks, that fixed it", parent=101),
        m(103, "Acme", 25 * MIN, "@ann glad to help", parent=102, brand=True),
        # a third customer joins: what the brand says to them, and everything below them,
        # is outside carol's exchange
        m(200, "carol", 0, "@Acme my router is down"),
        m(201, "dave", 5 * MIN, "same here @Acme", parent=200),
        m(202, "Acme", 10 * MIN, "@dave please DM us", parent=201, brand=True),
        m(203, "dave", 11 * MIN, "@Acme done", parent=202),
        m(204, "Acme", 12 * MIN, "@dave thanks, fixed now", parent=203, brand=True),
        m(205, "Acme", 30 * MIN, "@carol call us on 0800 123 4567", parent=200, brand=True),
        m(206, "carol", 40 * MIN, "@Acme that worked, thank you!", parent=205),
        # a reply to a missing message, attached through conversation_id to its opener
        m(300, "erin", 0, "@Acme the app crashes", conversation_id="300"),
        m(301, "Acme", 15 * MIN, "@erin email us: help@acme.example", parent=399,
          conversation_id="300", brand=True),
        # ... but not when the conversation's opener is itself a reply (an orphan chain)
        m(310, "fred", 0, "@Acme hi", parent=398, conversation_id="311"),
        m(311, "Acme", MIN, "@fred hello", parent=397, conversation_id="396", brand=True),
        # orphans: replies to messages missing from the data are no probes
        m(400, "gina", 0, "@Acme still waiting", parent=499),
        m(401, "Acme", 5 * MIN, "@gina sorry", parent=400, brand=True),
        # duplicates: the first occurrence wins (a later copy, another text and time)
        m(500, "hank", 0, "@Acme help"),
        m(501, "Acme", 3 * MIN, "@hank we're on it", parent=500, brand=True),
        m(500, "hank", 2 * MIN, "@Acme help (copy)"),
        m(501, "Acme", MIN, "@hank a copy https://x.example", parent=500, brand=True),
        # the same ids on another channel are other messages
        m(100, "ivy", HOUR, "Hi, my order?", channel="facebook", account="AcmePage"),
        m(101, "AcmePage", 2 * HOUR, "Hi Ivy, DM us", parent=100, brand=True,
          channel="facebook"),
        # unanswered probes named by their mentions
        m(700, "jack", 0, "hey @randomguy, is @acme down?"),
        m(701, "kate", MIN, "@nobodyhere @Acme help"),
        m(702, "liam", 2 * MIN, "no mention at all"),
        m(703, "mia", 3 * MIN, "mail help@acme.example, not a mention"),
        m(704, "noah", 4 * MIN, "@ZetaCares @Acme refund?"),
        m(705, "olga", 5 * MIN, "@AcmeHelp\n@Zeta where is it"),
        m(706, "pete", 6 * MIN, "(@nobodyhere) help"),
        # a private conversation named by its business account, unanswered
        m(800, "pam", 0, "hello?", channel="messenger", surface="private", account="AcmePage"),
        # a public probe answered in private: moved to private messages
        m(810, "quinn", 0, "@Acme broken"),
        m(811, "Acme", 9 * MIN, "sent you the details", parent=810, brand=True,
          surface="private"),
        # automated replies: not the first response; ties in time: the earlier row first
        m(900, "rosa", 0, "@Acme hello"),
        m(901, "Acme", 30, "Thanks for your message! We reply within 24h", parent=900,
          brand=True, automated=True),
        m(902, "Acme", HOUR, "@rosa sorry for the wait", parent=900, brand=True),
        m(903, "AcmeHelp", HOUR, "@rosa we can help: https://help.example", parent=900,
          brand=True),
        # window edges: exactly the window counts, one second more does not
        m(1000, "sam", 0, "@Acme one"),
        m(1001, "Acme", WEEK, "@sam at the edge", parent=1000, brand=True),
        m(1010, "tina", 0, "@Acme two"),
        m(1011, "Acme", WEEK + 1, "@tina too late", parent=1010, brand=True),
        m(1100, "uma", 0, "@Acme three"),
        m(1101, "Acme", 2 * HOUR, "@uma at a short window's edge", parent=1100, brand=True),
        m(1110, "vic", 0, "@Acme four"),
        m(1111, "Acme", 2 * HOUR + 1, "@vic a second after it", parent=1110, brand=True),
        # the customer comes back after silence (a new probe with --reopen-after 1h)
        m(1200, "walt", 0, "@Acme my card was declined"),
        m(1201, "Acme", 10 * MIN, "@walt sorry, try again?", parent=1200, brand=True),
        m(1202, "walt", 4 * HOUR, "@Acme declined again", parent=1201),
        m(1203, "Acme", 4 * HOUR + 30 * MIN, "@walt DM us your order", parent=1202,
          brand=True),
        m(1204, "walt", 5 * HOUR + 30 * MIN, "@Acme sorted, thanks", parent=1203),
        # brand accounts the brand book names (not flagged by the source)
        m(1300, "xena", 0, "@AcmeHelp is the shop open?"),
        m(1301, "AcmeHelp", 20 * MIN, "@xena yes, till 6", parent=1300, brand=None),
        m(1302, "ZetaCares", 25 * MIN, "@xena we are open too", parent=1300, brand=None),
        # a brand opens a thread: not a probe, and neither are the replies to it
        m(1400, "Acme", 0, "Big sale today!", brand=True),
        m(1401, "yan", MIN, "@Acme nice", parent=1400),
    ]  # fmt: skip


# support hours (the business clock, local weekday and hour) for a brand whose name needs
# quoting in SQL
HOURS = calendar.SupportHours(
    timezone="Europe/London", weekly={d: ["09:30-17:00"] for d in ("mon", "tue", "wed", "thu")}
)
BOOK = brands.BrandBook(
    brands=[
        brands.Brand(name="Acme's", handles=["Acme", "AcmeHelp", "AcmePage"], hours=HOURS),
        brands.Brand(name="Zeta", handles=["ZetaCares"]),
    ]
)
DEFAULTS = conversations.Settings()
BOOKED = conversations.Settings(window_s=2 * HOUR, reopen_after_s=HOUR, brand_book=BOOK)


def lettered(rows: list[dict]) -> list[dict]:
    """The same messages with text ids (the plan joins on the text itself)."""

    def text(value):
        return None if value is None else f"m{value}"

    return [
        {**r, "id": text(r["id"]), "parent_id": text(r["parent_id"]),
         "conversation_id": text(r.get("conversation_id"))}
        for r in rows
    ]  # fmt: skip


@pytest.fixture(scope="module")
def duck_threads():
    return {
        "defaults": duck_table(frame(threads()), DEFAULTS),
        "booked": duck_table(frame(lettered(threads())), BOOKED),
    }


def test_the_hand_made_threads_hold_what_they_cover(duck_threads):
    """The cases are there (on DuckDB; the next tests hold Spark to the same table)."""
    probes = duck_threads["defaults"]
    chain = row(probes, "100")
    assert (chain.ttfr_s, chain.link, chain.resolved, chain.brand_messages) == (720, True, True, 2)
    joined = row(probes, "200")
    assert (joined.ttfr_s, joined.dm, joined.phone, joined.brand_messages) == (
        1800, False, True, 1,
    )  # fmt: skip
    assert joined.resolved
    assert row(probes, "300").ttfr_s == 900 and row(probes, "300").email
    assert not set(probes["probe_id"]) & {"310", "311", "400", "401", "1400", "1401"}
    dup = row(probes, "500")
    assert (dup.ttfr_s, dup.link, dup.brand_messages) == (180, False, 1)
    fb = row(probes, "100", "facebook")
    assert (fb.brand, fb.ttfr_s, fb.dm) == ("AcmePage", 3600, True)
    named = probes.set_index("probe_id")["brand"]
    assert named[["700", "701", "702", "703", "704", "705", "706"]].tolist() == [
        "Acme", "Acme", "(unknown)", "(unknown)", "Acme", "AcmeHelp", "nobodyhere",
    ]  # fmt: skip
    assert row(probes, "800", "messenger").brand == "AcmePage"
    assert row(probes, "810").dm
    bot = row(probes, "900")
    assert (bot.ttfr_s, bot.automated_messages, bot.brand_messages, bot.link) == (
        3600, 1, 2, True,
    )  # fmt: skip
    assert row(probes, "1000").responded and not row(probes, "1010").responded
    assert len(probes[probes["probe_id"] == "1200"]) == 1

    booked = duck_threads["booked"].set_index("probe_id")
    assert booked.loc["m1100", "responded"] and not booked.loc["m1110", "responded"]
    reopened = booked.loc[["m1200", "m1202", "m1204"]]
    assert reopened["ttfr_s"].tolist()[:2] == [600, 1800]
    assert reopened["conversation_id"].tolist() == ["m1200"] * 3
    assert (booked.loc["m1300", "brand"], booked.loc["m1300", "responded"]) == ("Acme's", True)
    assert booked.loc[["m704", "m800"], "brand"].tolist() == ["Zeta", "Acme's"]
    opened_early = booked.loc["m100"].set_index("channel").loc["x"]  # 09:00 UTC, 09:00 GMT
    assert (opened_early.ttfr_s, opened_early.ttfr_business_s) == (720, 0)


def test_hand_made_threads_same_on_spark(spark, duck_threads):
    assert_same(duck_threads["defaults"], spark_table(spark, frame(threads()), DEFAULTS))


def test_hand_made_threads_with_brand_book_reopen_and_window_same_on_spark(
    spark, duck_threads, tmp_path
):
    """... support hours too, and probes.csv as each engine writes it."""
    msgs = frame(lettered(threads()))
    spark_probes = spark_table(spark, msgs, BOOKED, tmp_path / "spark.csv")
    assert_same(duck_threads["booked"], spark_probes)
    duck_probes = on_engine(conversations.open_engine(), msgs, BOOKED, tmp_path / "duck.csv")
    assert_same(duck_threads["booked"], duck_probes)
    written = (tmp_path / "spark.csv").read_bytes()
    assert written == (tmp_path / "duck.csv").read_bytes()
    assert b"2024-03-04T09:00:00Z" in written
    sent = [row["sent_at"] for row in csv.DictReader(io.StringIO(written.decode()))]
    assert sent == sorted(sent) and len(set(sent)) > 3  # in time order (ISO text sorts so)


AS_OF = conversations.Settings(as_of_s=(T0 + timedelta(hours=3)).timestamp())


def test_an_inbox_read_before_its_windows_end_is_watched_until_then(duck_threads):
    """``as_of`` (an observed inbox): a window still open is watched until that moment, a
    probe sent after the window would have ended keeps its whole window."""
    probes = duck_table(frame(threads()), AS_OF).set_index(["probe_id", "channel"])
    full = duck_threads["defaults"].set_index(["probe_id", "channel"])
    sent = (probes["sent_at"] - T0).dt.total_seconds()
    assert (probes["watched_s"] == (3 * HOUR - sent).clip(0, WEEK)).all()
    assert probes["watched_s"].min() < 3 * HOUR < full["watched_s"].min()
    others = [c for c in full.columns if c != "watched_s"]
    pd.testing.assert_frame_equal(probes[others], full.loc[probes.index, others])


def test_an_inbox_read_before_its_windows_end_same_on_spark(spark):
    msgs = frame(threads())
    assert_same(duck_table(msgs, AS_OF), spark_table(spark, msgs, AS_OF))


def test_a_reply_loop_is_named_on_both_engines(spark):
    rows = frame(
        [
            m(1, "ann", 0, "@Acme hi"),
            m(2, "bob", MIN, "a", parent=3),
            m(3, "Acme", 2 * MIN, "b", parent=2, brand=True),
        ]
    )
    with pytest.raises(plan.ReplyLoop) as duck:
        duck_table(rows, DEFAULTS)
    with pytest.raises(plan.ReplyLoop) as on_spark:
        spark_table(spark, rows, DEFAULTS)
    assert str(on_spark.value) == str(duck.value)
    assert "'2'" in str(duck.value)


MENTION_TEXTS = [
    "@Acme hi", "hi @Acme", "x@Acme", "@a@b @c", "@@Acme", "(@Acme)", "@Acme_Help, @acme2!",
    "mail help@acme.com or @Acme", "tab\t@Acme", "line\n@Acme", "cr\r@Acme", "é@Acme",
    "😀@Acme", "@Acmé", "@_", "@", "", "@Acme😀@Zeta", "ß@x", "\u00a0@nbsp", "@" + "a" * 300,
]  # fmt: skip


def test_mentions_are_the_same_on_both_engines(spark):
    """Java's regular expressions (Spark) and RE2 (DuckDB) find the same @mentions, in the
    same places (posexplode from 0, generate_subscripts from 1)."""
    import duckdb
    import pyarrow as pa

    from socialbench.conversations.spark import SparkDialect, SparkEngine

    texts = pa.table({"k": range(len(MENTION_TEXTS)), "text": MENTION_TEXTS})
    query = "SELECT * FROM ({}) AS x ORDER BY k, pos"
    con = duckdb.connect()
    con.register("src", texts)
    duck = con.execute(query.format(plan.Dialect().mentions("text", "k", "src"))).fetchall()
    engine = SparkEngine(session=spark)
    try:
        engine.spark.createDataFrame(texts).createOrReplaceTempView("src")
        on_spark = engine.rows(query.format(SparkDialect().mentions("text", "k", "src")))
    finally:
        engine.close()
    assert on_spark == duck
    assert [h for k, _, h in duck if k == 3] == ["a", "c"]  # "@a@b @c": b is no mention


def test_spark_hands_a_result_over_in_order_a_partition_at_a_time(spark):
    """``batches`` of an ordered query spread over many partitions: every row, in order,
    with the query's types (also none at all: the schema alone)."""
    import pyarrow as pa

    from socialbench.conversations.spark import SparkEngine

    n = 20_000
    table = pa.table({"k": pa.array(range(n)[::-1]), "name": [f"r{i % 97}" for i in range(n)]})
    engine = SparkEngine(session=spark)
    try:
        engine.spark.createDataFrame(table).repartition(7).createOrReplaceTempView("spread")
        reader = engine.batches("SELECT k, name, k % 2 = 0 AS even FROM spread ORDER BY k")
        got = reader.read_all()
        empty = engine.batches("SELECT k FROM spread WHERE k < 0 ORDER BY k").read_all()
    finally:
        engine.close()
    assert got.column("k").to_pylist() == list(range(n))
    assert got.column("name").to_pylist() == [f"r{(n - 1 - i) % 97}" for i in range(n)]
    assert got.schema.field("even").type == pa.bool_()
    assert got.num_rows == n and empty.num_rows == 0 and empty.schema.names == ["k"]


# ------------------------------------------------------------------- real and synthetic


def test_real_twcs_sample_same_on_spark(spark):
    path = external("twcs_head5000", "twcs_head5000.csv")
    msgs = sources.read(path, options=sources.ReadOptions())
    duck = duck_table(msgs, DEFAULTS)
    assert len(duck) > 1000
    assert_same(duck, spark_table(spark, msgs, DEFAULTS))


def test_synthetic_archive_same_on_spark(spark, tmp_path):
    """Through ``frames.probe_table(engine=...)``: the engine the options name, on
    the session this process already runs."""
    path = tmp_path / "synth.csv"
    synth.main(["--conversations", "3000", "--brands", "8", "--seed", "3", "-o", str(path)])
    msgs = sources.read(path, options=sources.ReadOptions())
    duck = duck_table(msgs, DEFAULTS)
    assert len(duck) == 3000
    on_spark = frames.probe_table(msgs, DEFAULTS, engine=conversations.EngineOptions(kind="spark"))
    assert_same(duck, on_spark)


# ------------------------------------------------------------------------ unavailable


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
def test_an_unreachable_master_is_a_clear_error():
    from socialbench.conversations import spark as spark_engine

    with pytest.raises(EngineUnavailable, match="cannot be reached") as caught:
        spark_engine.start_session(master="spark://127.0.0.1:1")
    assert caught.value.exit_code == 3


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
def test_spark_connect_and_a_master_at_once_is_a_usage_error(monkeypatch):
    from socialbench.conversations import spark as spark_engine
    from socialbench.errors import UsageError

    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    with pytest.raises(UsageError, match="give one, not both"):
        spark_engine.start_session(master="local[1]")


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
def test_an_unreachable_spark_connect_server_is_a_clear_error(monkeypatch):
    from socialbench.conversations import spark as spark_engine

    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:1")
    with pytest.raises(EngineUnavailable, match="Spark Connect server.*cannot be reached"):
        spark_engine.start_session()

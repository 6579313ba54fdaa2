"""Reply trees, conversations and the probe table, on small hand-made conversations."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import msg, write_fixture

from socialbench import conversations, sources
from socialbench.conversations import brands, frames
from socialbench.conversations.plan import ReplyLoop
from socialbench.sources import fixture

HOUR = 60


def table(tmp_path: Path, rows: list[dict], **settings) -> pd.DataFrame:
    path = write_fixture(tmp_path / "f.jsonl", rows)
    book = settings.pop("brand_book", brands.BrandBook())
    options = sources.ReadOptions(brand_handles=book.handles())
    msgs = fixture.read(path, options)
    return frames.probe_table(msgs, conversations.Settings(brand_book=book, **settings))


def row(probes: pd.DataFrame, probe_id: str) -> pd.Series:
    return probes.set_index("probe_id").loc[probe_id]


def test_direct_reply_is_first_response(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme my parcel is late"),
            msg(2, "Acme", 12, "@cust Sorry! Tracking: https://acme.com/t", parent=1, brand=True),
        ],
    )
    p = row(probes, "1")
    assert list(probes.columns[:20]) == list(conversations.PROBE_COLUMNS)
    assert (p.brand, p.responded, p.ttfr_s, p.link, p.brand_messages) == (
        "Acme",
        True,
        720.0,
        True,
        1,
    )


def test_reply_through_follow_up_counts_and_later_brand_messages_count(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "cust", 1, "@Acme anyone?", parent=1),
            msg(3, "Acme", 30, "@cust DM us please", parent=2, brand=True),
            msg(4, "Acme", 90, "@cust call 0800 123 4567", parent=3, brand=True),
        ],
    )
    p = row(probes, "1")
    assert len(probes) == 1
    assert (p.ttfr_s, p.brand_messages, p.dm, p.phone) == (1800.0, 2, True, True)


def test_brand_message_after_the_window_does_not_count(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "Acme", 2 * HOUR + 1, "@cust hi", parent=1, brand=True),
        ],
        window_s=2 * 3600,
    )
    p = row(probes, "1")
    assert (p.responded, p.brand_messages, p.brand) == (False, 0, "Acme")
    assert pd.isna(p.ttfr_s)


def test_reply_at_exactly_the_window_counts(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "Acme", 2 * HOUR, "@cust hi", parent=1, brand=True),
        ],
        window_s=2 * 3600,
    )
    assert row(probes, "1").ttfr_s == 7200.0


def test_brand_message_stamped_before_the_probe_is_ignored(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 10, "@Acme help"),
            msg(2, "Acme", 5, "@cust hi", parent=1, brand=True),
        ],
    )
    assert not row(probes, "1").responded


def test_reply_to_a_missing_message_is_not_a_probe(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme still broken", parent=999),
            msg(2, "Acme", 5, "@cust hi", parent=1, brand=True),
            msg(3, "other", 0, "@Acme hello"),
        ],
    )
    assert probes["probe_id"].tolist() == ["3"]


def test_missing_parent_attaches_through_conversation_id(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help", conversation_id="1"),
            msg(3, "Acme", 20, "@cust on it", parent=2, brand=True, conversation_id="1"),
        ],
    )
    assert row(probes, "1").ttfr_s == 1200.0


def test_a_reply_loop_is_named_as_bad_input(tmp_path):
    with pytest.raises(ReplyLoop, match="reply loop: message '1'"):
        table(
            tmp_path,
            [
                msg(1, "cust", 0, "a", parent=2),
                msg(2, "cust", 1, "b", parent=1),
                msg(3, "cust", 2, "@Acme c"),
            ],
        )


def test_brand_opened_thread_is_not_a_probe(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "Acme", 0, "New product!", brand=True),
            msg(2, "cust", 5, "@Acme broken", parent=1),
        ],
    )
    assert probes.empty


def test_reopen_after_silence_starts_a_new_probe(tmp_path):
    rows = [
        msg(1, "cust", 0, "@Acme help"),
        msg(2, "Acme", 10, "@cust done", parent=1, brand=True),
        msg(3, "cust", 30 * HOUR, "@Acme broken again", parent=2),
        msg(4, "Acme", 30 * HOUR + 5, "@cust sorry", parent=3, brand=True),
    ]
    assert len(table(tmp_path, rows)) == 1
    probes = table(tmp_path, rows, reopen_after_s=24 * 3600)
    assert probes["probe_id"].tolist() == ["1", "3"]
    assert row(probes, "1").brand_messages == 1
    assert row(probes, "3").ttfr_s == 300.0


def test_reopen_needs_silence_from_everyone(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "cust", 20 * HOUR, "@Acme ??", parent=1),
            msg(3, "cust", 40 * HOUR, "@Acme ???", parent=2),
        ],
        reopen_after_s=24 * 3600,
    )
    assert probes["probe_id"].tolist() == ["1"]


def test_automated_reply_is_not_the_first_response(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "Acme", 0, "Thanks, we'll reply soon", parent=1, brand=True, automated=True),
            msg(3, "Acme", 45, "@cust Try a restart.", parent=1, brand=True),
        ],
    )
    p = row(probes, "1")
    assert (p.ttfr_s, p.brand_messages, p.automated_messages) == (2700.0, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("@someone @acme broken", "Acme", id="known-brand-mention-wins"),
        pytest.param("hey @someone broken", "someone", id="first-mention"),
        pytest.param("no mention at all", "(unknown)", id="unknown"),
    ],
)
def test_brand_of_unanswered_probe(tmp_path, text, expected):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, text),
            msg(10, "cust2", 0, "@Acme x"),
            msg(11, "Acme", 5, "@cust2 hi", parent=10, brand=True),
        ],
    )
    assert row(probes, "1").brand == expected


def test_alias_handles_merge_into_one_brand(tmp_path):
    book = brands.BrandBook(brands=[brands.Brand(name="Acme", handles=["@AcmeHelp", "AcmeUK"])])
    probes = table(
        tmp_path,
        [
            msg(1, "c1", 0, "@AcmeHelp a"),
            msg(2, "AcmeHelp", 5, "@c1 hi", parent=1),
            msg(3, "c2", 0, "@acmeuk b"),
        ],
        brand_book=book,
    )
    assert probes["brand"].tolist() == ["Acme", "Acme"]
    assert row(probes, "1").responded


def test_private_reply_to_public_probe_counts_as_dm(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help", surface="public"),
            msg(2, "Acme", 5, "Hello from our team", parent=1, brand=True, surface="private"),
        ],
    )
    assert row(probes, "1").dm


def test_customer_confirmation_after_reply_resolves(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme wifi down"),
            msg(2, "Acme", 5, "@cust Please restart the router.", parent=1, brand=True),
            msg(3, "cust", 20, "@Acme thanks, that fixed it!", parent=2),
            msg(4, "cust2", 0, "@Acme wifi down"),
            msg(5, "cust2", 1, "@Acme thanks, that fixed it!", parent=4),
        ],
    )
    assert row(probes, "1").resolved
    assert not row(probes, "4").resolved


def test_duplicate_ids_are_dropped(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "Acme", 5, "@cust hi", parent=1, brand=True),
        ],
    )
    assert len(probes) == 1 and row(probes, "1").brand_messages == 1


def test_business_clock_and_local_weekday_from_brand_book(tmp_path):
    hours = {"timezone": "Europe/London", "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue")}}
    book = brands.BrandBook(brands=[brands.Brand(name="Acme", handles=["Acme"], hours=hours)])
    # Monday 2024-03-04 16:00 UTC (= London) -> reply Tuesday 10:00: 1 h Monday + 1 h Tuesday.
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 7 * HOUR, "@Acme help"),
            msg(2, "Acme", 25 * HOUR, "@cust hi", parent=1, brand=True),
        ],
        brand_book=book,
    )
    p = row(probes, "1")
    assert (p.ttfr_s, p.ttfr_business_s, p.weekday, p.hour) == (18 * 3600.0, 7200.0, "Mon", 16)


@pytest.mark.parametrize(
    ("probe", "reply", "other"),
    [
        pytest.param("7", "8", "007", id="leading-zero-is-another-id"),
        pytest.param("1590000000000000001", "1590000000000000002", "1590000000000000003",
                     id="sparse-snowflake-ids"),
        pytest.param("c1", "c2", "c3", id="text-ids"),
    ],
)  # fmt: skip
def test_reply_links_resolve_on_every_id_kind(tmp_path, probe, reply, other):
    probes = table(
        tmp_path,
        [
            msg(probe, "cust", 0, "@Acme help"),
            msg(other, "cust2", 1, "@Acme me too"),
            msg(reply, "Acme", 10, "@cust hi", parent=probe, brand=True),
            msg(reply, "Acme", 11, "@cust duplicate of the reply", parent=other, brand=True),
        ],
    )
    assert row(probes, probe).ttfr_s == 600.0 and row(probes, probe).brand_messages == 1
    assert not row(probes, other).responded


def test_an_email_address_is_not_a_mention(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "wrote to help@AcmeHelp and @BetaCare, no answer"),
            msg(2, "cust", 0, "mail@someone.com"),
            msg(10, "c2", 0, "@AcmeHelp x"),
            msg(11, "AcmeHelp", 5, "@c2 hi", parent=10, brand=True),
        ],
    )
    assert row(probes, "1").brand == "BetaCare" and row(probes, "2").brand == "(unknown)"


def test_ids_are_matched_within_their_channel(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help", channel="facebook"),
            msg(1, "jo", 1, "@Acme hello", channel="instagram"),
            msg(2, "Acme", 10, "@jo hi", parent=1, brand=True, channel="instagram"),
        ],
    )
    assert list(zip(probes["channel"], probes["responded"], strict=True)) == [
        ("facebook", False),
        ("instagram", True),
    ]


def test_automated_replies_have_their_own_columns(tmp_path):
    """METRICS.md: the first automated message's time and delay, bot-only, and the hand-off
    to the first human brand message (empty when a human answered before the bot)."""
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),  # bot at 1 min, a human at 31 min
            msg(2, "Acme", 1, "Thanks, we'll reply soon", parent=1, brand=True, automated=True),
            msg(3, "Acme", 3, "Anything else?", parent=2, brand=True, automated=True),
            msg(4, "Acme", 31, "@cust Try a restart.", parent=1, brand=True),
            msg(5, "cust", 60, "@Acme hello?"),  # the bot alone
            msg(6, "Acme", 62, "Away until Monday", parent=5, brand=True, automated=True),
            msg(7, "cust", 120, "@Acme hi"),  # a human first, then the bot
            msg(8, "Acme", 125, "@cust Hello!", parent=7, brand=True),
            msg(9, "Acme", 126, "Rate us", parent=8, brand=True, automated=True),
            msg(10, "cust", 180, "@Acme hey"),  # nothing automated
            msg(11, "Acme", 200, "@cust Hi", parent=10, brand=True),
            msg(12, "cust", 240, "@Acme late bot"),  # the bot after the window
            msg(13, "Acme", 240 + 25 * 60, "Hi", parent=12, brand=True, automated=True),
        ],
        window_s=24 * 3600,
    )
    got = {
        p.probe_id: (p.ttfa_s, p.bot_only, p.handoff_s, p.automated_messages)
        for p in probes.itertuples()
    }
    assert got["1"] == (60.0, False, 1800.0, 2)
    assert got["5"][:2] == (120.0, True) and math.isnan(got["5"][2])
    assert got["7"][:2] == (360.0, False) and math.isnan(got["7"][2])
    assert math.isnan(got["10"][0]) and not got["10"][1] and math.isnan(got["10"][2])
    assert math.isnan(got["12"][0]) and not got["12"][1] and got["12"][3] == 0
    at = probes.set_index("probe_id")["automated_at"]
    assert at["1"] == pd.Timestamp("2024-03-04T09:01:00Z") and pd.isna(at["10"])


def test_automated_replies_are_reported_apart_in_the_summary(tmp_path):
    from socialbench.measure import metrics

    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme help"),
            msg(2, "Acme", 0, "Away until Monday", parent=1, brand=True, automated=True),
            msg(3, "cust2", 0, "@Acme hi"),
        ],
    )
    overall = metrics.aggregate(probes, metrics.MetricSettings(window_s=86400, min_group=1))
    assert (overall["probes"], overall["responded"], overall["automated"]) == (2, 0, 1)


def test_mentions_follow_the_handle_rule(tmp_path):
    """An @mention is "@" and a handle not preceded by a handle character."""
    texts = ["@a hi", "hi @b", "@ x @c", "x@y.com @d", "@e@f", "@_9 z", "é@g", "@@h", "\n@i",
             "(@j)", "@k,@l"]  # fmt: skip
    rows = [msg(i + 1, f"c{i}", i, text) for i, text in enumerate(texts)]
    probes = table(tmp_path, rows).set_index("probe_id")
    got = [probes.loc[str(i + 1), "brand"] for i in range(len(texts))]
    assert got == ["a", "b", "c", "d", "e", "_9", "g", "h", "i", "j", "k"]


def test_a_known_brand_mention_wins_over_an_earlier_mention_any_case(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@bob @ACME_help broken"),
            msg(2, "c2", 0, "@acme_help hi"),
            msg(3, "Acme_Help", 1, "@c2 hello", parent=2, brand=True),
        ],
    )
    assert row(probes, "1").brand == "Acme_Help"


def test_another_customers_thread_is_not_an_answer_to_the_probe(tmp_path):
    """METRICS.md, the probe's exchange: what the brand says to a customer who joined the
    thread, and everything below that customer, is not an answer to the probe."""
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "@Acme my order is late"),
            msg(2, "other", 1, "@Acme same here", parent=1),
            msg(3, "Acme", 5, "@other Please DM us https://acme.com", parent=2, brand=True),
            msg(4, "cust", 6, "@Acme still waiting", parent=3),
            msg(5, "Acme", 7, "@cust sorry, call 0800 123 4567", parent=4, brand=True),
            msg(6, "Acme", 90, "@cust We're sorry to hear that.", parent=1, brand=True),
            msg(7, "cust", 95, "@Acme fixed now, thanks", parent=6),
        ],
    )
    p = row(probes, "1")
    assert len(probes) == 1
    assert (p.brand, p.ttfr_s, p.brand_messages) == ("Acme", 5400.0, 1)
    assert (p.link, p.dm, p.phone, p.ack_only, p.resolved) == (False, False, False, True, True)


def test_the_brand_is_named_by_the_first_brand_message_even_to_another_customer(tmp_path):
    probes = table(
        tmp_path,
        [
            msg(1, "cust", 0, "help"),
            msg(2, "other", 1, "+1", parent=1),
            msg(3, "AcmeHelp", 5, "@other hi", parent=2, brand=True),
        ],
    )
    p = row(probes, "1")
    assert (p.brand, p.responded) == ("AcmeHelp", False)


def test_the_platforms_business_account_names_a_private_conversations_brand(tmp_path):
    """METRICS.md: an unanswered private conversation counts against its brand."""
    probes = table(
        tmp_path,
        [
            {
                **msg(1, "15550001", 0, "where is my order?", channel="whatsapp"),
                "surface": "private",
                "account": "Acme Shop",
            },
            {
                **msg(2, "15550002", 0, "hi", channel="whatsapp"),
                "surface": "private",
                "account": "Acme Shop",
            },
            {
                **msg(
                    3,
                    "Acme Shop",
                    60,
                    "Hello! How can we help?",
                    parent=2,
                    brand=True,
                    channel="whatsapp",
                ),
                "surface": "private",
                "account": "Acme Shop",
            },
        ],  # fmt: skip
    )
    assert probes["brand"].tolist() == ["Acme Shop", "Acme Shop"]
    assert probes["responded"].tolist() == [False, True]


def test_a_private_reply_to_a_private_probe_is_not_a_dm(tmp_path):
    probes = table(
        tmp_path,
        [
            {**msg(1, "cust", 0, "@Acme help", channel="messenger"), "surface": "private"},
            {
                **msg(
                    2,
                    "Acme",
                    5,
                    "Sure, what is your order number?",
                    parent=1,
                    brand=True,
                    channel="messenger",
                ),
                "surface": "private",
            },
        ],  # fmt: skip
    )
    assert not row(probes, "1").dm


def test_deep_threads_keep_their_root(tmp_path):
    depth = 300
    rows = [msg(1, "cust", 0, "@Acme help")]
    for i in range(2, depth + 1):
        brand = i % 2 == 0
        rows.append(msg(i, "Acme" if brand else "cust", i, "@x ok", parent=i - 1, brand=brand))
    probes = table(tmp_path, rows)
    p = row(probes, "1")
    assert (len(probes), p.brand_messages, p.ttfr_s) == (1, depth // 2, 120.0)


@pytest.mark.parametrize("fraction", [False, True], ids=["whole-seconds", "milliseconds"])
def test_the_engine_writes_probes_csv_as_the_frame_writer_does(tmp_path, fraction):
    """probes.csv streamed from the engine equals output.write_probes_csv of the frame."""
    from socialbench.conversations import duck
    from socialbench.report import output

    rows = [
        msg(1, "=cust", 0, "@Acme help", followers=12),
        msg(2, "Acme", 3, "@cust hi https://x.co", parent=1, brand=True),
        msg(3, "+jo", 5, "@Beta hello", followers=2.5),
        msg(4, "@ann", 7, "@Acme?"),
    ]
    if fraction:
        rows[1]["created_at"] = rows[1]["created_at"].replace("+00:00", ".250+00:00")
    path = write_fixture(tmp_path / "f.jsonl", rows)
    msgs = fixture.read(path, sources.ReadOptions())
    settings = conversations.Settings()
    db = duck.DuckEngine()
    db.load(frames.arrow_messages(msgs))
    table = frames.build(db, settings)
    table.write_csv(tmp_path / "engine.csv")
    output.write_probes_csv(table.frame(), tmp_path / "frame.csv")
    db.close()
    assert (tmp_path / "engine.csv").read_bytes() == (tmp_path / "frame.csv").read_bytes()
    assert b"'=cust" in (tmp_path / "engine.csv").read_bytes()


@pytest.mark.parametrize("in_memory", [True, False], ids=["recursive-query", "level-by-level"])
def test_threads_deeper_than_the_top_down_pass(tmp_path, monkeypatch, in_memory):
    """Beyond plan.TOP_DOWN_LEVELS the rest is settled by pointer jumping: roots, the
    exchange (a third party deep in the thread cuts off what hangs below it) and orphans,
    whether the top-down pass ran as one recursive query or level by level (as DuckDB
    does when the query would not fit in its memory)."""
    from socialbench.conversations import plan

    if not in_memory:
        monkeypatch.setattr(plan, "TREE_ROW_BYTES", 10**30)
    deep = plan.TOP_DOWN_LEVELS + 8
    rows = [msg(1, "cust", 0, "@Acme help")]
    for i in range(2, deep + 1):
        brand = i % 2 == 0
        rows.append(msg(i, "Acme" if brand else "cust", i, "@x ok", parent=i - 1, brand=brand))
    rows.append(msg(500, "other", deep + 1, "@Acme me too", parent=deep))
    for i in range(501, 540):
        brand = i % 2 == 1
        rows.append(msg(i, "Acme" if brand else "other", i, "@x hi", parent=i - 1, brand=brand))
    rows.append(msg(900, "cust", 2, "@Acme orphan", parent=899))  # its parent is missing
    probes = table(tmp_path, rows)
    p = row(probes, "1")
    assert (len(probes), p.brand_messages, p.ttfr_s) == (1, deep // 2, 120.0)


def test_duckdb_memory_sizes_are_read():
    from socialbench.conversations import duck

    assert duck._bytes("953.6 MiB") == pytest.approx(953.6 * 2**20)
    assert duck._bytes("18.8 GiB") == pytest.approx(18.8 * 2**30)
    assert duck._bytes("0 bytes") == 0
    assert duck._bytes("3 XB") == 0  # unknown: the query by levels, which spills

"""X API v2 pages (socialbench.sources.x_v2): tweets, DM events, brand inference, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXTERNAL
from conftest import SOURCE_DATA as DATA
from conftest import write_file as write

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, messages, read_head, x_v2

COLUMNS = [
    messages.ID,
    messages.PARENT_ID,
    messages.CONVERSATION_ID,
    messages.AUTHOR,
    messages.AUTHOR_IS_BRAND,
    messages.CREATED_AT,
    messages.FOLLOWERS,
    messages.CHANNEL,
    messages.SURFACE,
]
FIXTURE_LINE = '{"id": "1", "author": "a", "created_at": "2024-01-01T00:00:00Z", "text": "hi"}\n'
TWCS_HEADER = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
)


def table(rows: list[tuple], *, surface: str = "public") -> pd.DataFrame:
    """Expected messages: (id, parent, conversation, author, is_brand, created_at, followers)."""
    frame = pd.DataFrame(rows, columns=COLUMNS[:7])
    frame[messages.CHANNEL] = "x"
    frame[messages.SURFACE] = surface
    return messages.normalize(frame)[COLUMNS]


def external(name: str) -> Path:
    if not EXTERNAL.is_dir():
        pytest.skip(f"{EXTERNAL} (…/data/external) not present: real samples unavailable")
    return EXTERNAL / "x_api_v2_samples" / name


def page(*tweets: dict, users: list[dict] | None = None) -> dict:
    return {"data": list(tweets), "includes": {"users": users or []}}


def tweet(ident: str, author: str, when: str = "2024-01-01T00:00:00.000Z", **extra) -> dict:
    return {"id": ident, "author_id": author, "created_at": when, "text": f"t{ident}", **extra}


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param((DATA / "x_v2_support_thread.json").read_text(), True, id="tweet-page"),
        pytest.param((DATA / "x_v2_pages.jsonl").read_text(), True, id="json-lines-pages"),
        pytest.param((DATA / "x_v2_dm_events.json").read_text(), True, id="dm-events"),
        pytest.param((DATA / "graph_fb_comments.json").read_text(), False, id="graph"),
        pytest.param((DATA / "whatsapp_webhooks.jsonl").read_text(), False, id="whatsapp"),
        pytest.param(FIXTURE_LINE, False, id="fixture"),
        pytest.param(TWCS_HEADER, False, id="twcs"),
        pytest.param("id,author,time,text\n1,a,2024-01-01,hi\n", False, id="generic-csv"),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert x_v2.sniff(head, Path("input")) is expected


# --- hand-made inputs -------------------------------------------------------------------------


def test_support_thread_page() -> None:
    """Replies, context tweets, retweets, followers, brand from the opener's reply target."""
    got = x_v2.read(DATA / "x_v2_support_thread.json", ReadOptions())
    expected = table(
        [
            ("1001", None, "1001", "jdoe", False, "2024-03-01T09:00:00Z", 42),
            ("1002", "1001", "1001", "AcmeHelp", True, "2024-03-01T09:12:30Z", 50000),
            ("1003", "1002", "1001", "jdoe", False, "2024-03-01T09:20:00Z", 42),
            ("1004", None, "1004", "msmith", False, "2024-03-01T10:00:00Z", 7),
            ("1006", None, "1006", "msmith", False, "2024-03-01T10:30:00Z", 7),
            ("990", None, "990", "AcmeHelp", True, "2024-02-28T12:00:00Z", 50000),
        ]
    )
    pd.testing.assert_frame_equal(got[COLUMNS], expected)
    assert got[messages.TEXT].iloc[0] == "@AcmeHelp my order #123 never arrived"


def test_json_lines_pages_share_users() -> None:
    got = x_v2.read(DATA / "x_v2_pages.jsonl", ReadOptions())
    expected = table(
        [
            ("2001", None, "2001", "pat", False, "2024-04-02T08:00:00Z", 12),
            ("2002", "2001", "2001", "ShopCare", True, "2024-04-02T08:45:00Z", 9000),
        ]
    )
    pd.testing.assert_frame_equal(got[COLUMNS], expected)


def test_dm_events_thread_and_brand() -> None:
    """Parent = earliest event of the DM conversation; brand = the account in every one."""
    got = x_v2.read(DATA / "x_v2_dm_events.json", ReadOptions())
    expected = table(
        [
            ("3001", None, "100100-501", "kim", False, "2024-05-01T10:00:00Z", None),
            ("3002", "3001", "100100-501", "AcmeHelp", True, "2024-05-01T10:05:00Z", None),
            ("3003", None, "100100-502", "lee", False, "2024-05-01T11:00:00Z", None),
            ("3005", "3001", "100100-501", "kim", False, "2024-05-01T10:07:00Z", None),
        ],
        surface="private",
    )
    pd.testing.assert_frame_equal(got[COLUMNS], expected)


@pytest.mark.parametrize(
    ("tweets", "handles", "flags"),
    [
        pytest.param(
            [tweet("1", "10", in_reply_to_user_id="20"), tweet("2", "20")],
            frozenset(),
            [False, True],
            id="opener-reply-target",
        ),
        pytest.param(
            [
                tweet("1", "10", entities={"mentions": [{"start": 0, "username": "Brand"}]}),
                tweet("2", "20"),
            ],
            frozenset(),
            [False, True],
            id="opener-leading-mention",
        ),
        pytest.param(
            [
                tweet("1", "10", entities={"mentions": [{"start": 5, "username": "Brand"}]}),
                tweet("2", "20"),
            ],
            frozenset(),
            [False, False],
            id="mention-not-leading",
        ),
        pytest.param(
            [tweet("1", "10"), tweet("2", "20")], frozenset({"brand"}), [False, True], id="--brands"
        ),
        pytest.param(
            [
                tweet("1", "10", in_reply_to_user_id="20"),
                tweet(
                    "2",
                    "30",
                    in_reply_to_user_id="10",
                    referenced_tweets=[{"type": "replied_to", "id": "1"}],
                ),
                tweet("3", "20", referenced_tweets=[{"type": "replied_to", "id": "1"}]),
            ],
            frozenset(),
            [False, False, True],
            id="only-openers-name-brands",
        ),
    ],
)
def test_brand_inference(tmp_path: Path, tweets: list, handles: frozenset, flags: list) -> None:
    users = [{"id": "20", "username": "Brand"}]
    path = write(tmp_path / "page.json", json.dumps(page(*tweets, users=users)))
    got = x_v2.read(path, ReadOptions(brand_handles=handles))
    assert got[messages.AUTHOR_IS_BRAND].tolist() == flags


def test_unanswered_dm_names_the_brand_as_answered_dms_spell_it() -> None:
    """100100-501 is answered by AcmeHelp (100100); 100100-502 is not: both name AcmeHelp."""
    got = x_v2.read(DATA / "x_v2_dm_events.json", ReadOptions()).set_index(messages.ID)
    assert got.loc["3002", messages.AUTHOR] == "AcmeHelp"
    assert got.loc["3003", messages.CONVERSATION_ID] == "100100-502"
    assert got[messages.ACCOUNT].to_dict() == {i: "AcmeHelp" for i in got.index}


def test_tweets_name_no_account() -> None:
    got = x_v2.read(DATA / "x_v2_support_thread.json", ReadOptions())
    assert got[messages.AUTHOR_IS_BRAND].any()
    assert got[messages.ACCOUNT].isna().all()


def test_dm_account_named_by_brands_or_a_tweet(tmp_path: Path) -> None:
    """One unanswered DM conversation: its brand side is known from --brands or from a tweet."""
    dm = {
        "id": "1",
        "event_type": "MessageCreate",
        "sender_id": "5",
        "text": "hi",
        "dm_conversation_id": "5-9",
        "created_at": "2024-01-01T10:00:00.000Z",
    }
    users = [{"id": "9", "username": "BrandCare"}, {"id": "5", "username": "sam"}]
    path = write(tmp_path / "dm.json", json.dumps(page(dm, users=users)))
    assert x_v2.read(path, ReadOptions())[messages.ACCOUNT].isna().all()
    named = x_v2.read(path, ReadOptions(brand_handles=frozenset({"brandcare"})))
    assert named[messages.ACCOUNT].tolist() == ["BrandCare"]
    opener = tweet("2", "5", in_reply_to_user_id="9")
    path = write(tmp_path / "both.json", json.dumps(page(dm, opener, users=users)))
    got = x_v2.read(path, ReadOptions()).set_index(messages.ID)[messages.ACCOUNT]
    assert got["1"] == "BrandCare" and pd.isna(got["2"])
    unnamed = write(tmp_path / "ids.json", json.dumps(page(dm, opener)))
    assert x_v2.read(unnamed, ReadOptions())[messages.ACCOUNT].tolist() == ["9", pd.NA]


def test_single_dm_conversation_brand_unknown_unless_named(tmp_path: Path) -> None:
    events = [
        {
            "id": "1",
            "event_type": "MessageCreate",
            "sender_id": "5",
            "text": "hi",
            "dm_conversation_id": "5-9",
            "created_at": "2024-01-01T10:00:00.000Z",
        },
        {
            "id": "2",
            "event_type": "MessageCreate",
            "sender_id": "9",
            "text": "hello",
            "dm_conversation_id": "5-9",
            "created_at": "2024-01-01T10:01:00.000Z",
        },
    ]
    path = write(tmp_path / "dm.json", json.dumps({"data": events}))
    unknown = x_v2.read(path, ReadOptions())
    assert unknown[messages.AUTHOR_IS_BRAND].isna().all()
    named = x_v2.read(path, ReadOptions(brand_handles=frozenset({"9"})))
    assert named[messages.AUTHOR_IS_BRAND].tolist() == [False, True]
    assert named[messages.PARENT_ID].tolist() == [pd.NA, "1"]


def test_reply_without_referenced_tweets_uses_conversation(tmp_path: Path) -> None:
    path = write(tmp_path / "p.json", json.dumps(page(tweet("7", "1", conversation_id="3"))))
    got = x_v2.read(path, ReadOptions())
    assert got[messages.PARENT_ID].tolist() == ["3"]


def test_empty_page(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.json", '{"meta": {"result_count": 0}, "data": []}')
    got = x_v2.read(path, ReadOptions())
    assert got.empty
    assert list(got.columns) == list(messages.COLUMNS)


# --- real samples -----------------------------------------------------------------------------


def test_real_search_sample_threads() -> None:
    """The search sample: 4 tweets + 3 context tweets (one repeated) = 6 messages."""
    path = external("searches__search_tweets_query.json")
    assert x_v2.sniff(read_head(path), path)
    got = x_v2.read(path, ReadOptions())
    parents = dict(zip(got[messages.ID], got[messages.PARENT_ID].astype(object), strict=True))
    assert parents == {
        "1276035977375477760": "1275653067283759104",
        "1275882613572583424": "1273733248749690880",
        "1275763727908798470": "1275653067283759104",
        "1275653067283759104": "1274086728471461889",
        "1273733248749690880": pd.NA,
        "1274086728471461889": "1273733248749690880",
    }
    assert got[messages.AUTHOR].iloc[0] == "happycamper"
    assert got[messages.CREATED_AT].iloc[0] == pd.Timestamp("2020-06-25T06:14:19Z")
    assert (got[messages.AUTHOR_IS_BRAND] == False).all()  # noqa: E712 - no opener addresses anyone


@pytest.mark.parametrize(
    ("name", "count", "surface"),
    [
        pytest.param("tweet__tweets_resp.json", 2, "public", id="tweets"),
        pytest.param("tweet__tweet_quote_tweets_resp.json", 15, "public", id="quote-tweets"),
        pytest.param("searches__search_tweets_for_nyc.json", 3, "public", id="search-retweets"),
        pytest.param("dm_events__events.json", 1, "private", id="dm-events"),
    ],
)
def test_real_samples_parse(name: str, count: int, surface: str) -> None:
    got = x_v2.read(external(name), ReadOptions())
    assert len(got) == count
    assert set(got[messages.SURFACE]) == {surface}
    assert got[messages.CREATED_AT].notna().all()


# --- bad input --------------------------------------------------------------------------------


GOOD_LINE = json.dumps(page(tweet("1", "10")))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "broken.jsonl",
            GOOD_LINE + '\n{"data": [\n',
            ["broken.jsonl:2", "broken JSON"],
            id="broken-json-line",
        ),
        pytest.param(
            "broken.json",
            '{\n  "data": [\n    {"id": "1",\n  ]\n}\n',
            ["broken.json:4", "broken JSON"],
            id="broken-json-document",
        ),
        pytest.param(
            "time.json",
            json.dumps(page(tweet("1", "10"), tweet("2", "10", "yesterday")), indent=2),
            ["time.json: record data[1].created_at", "'yesterday'"],
            id="bad-timestamp-document",
        ),
        pytest.param(
            "time.jsonl",
            GOOD_LINE + "\n" + json.dumps(page(tweet("2", "10", "2024-13-01T00:00:00Z"))),
            ["time.jsonl:2: record data[0].created_at", "not an ISO 8601 timestamp"],
            id="bad-timestamp-line",
        ),
        pytest.param(
            "missing.json",
            json.dumps({"data": [{"id": "1", "created_at": "2024-01-01T00:00:00Z"}]}, indent=1),
            ["missing.json: record data[0].author_id: missing"],
            id="missing-author",
        ),
        pytest.param(
            "type.json",
            json.dumps(page(tweet("1", "10", text=5)), indent=1),
            ["type.json: record data[0].text", "expected a string, found a number"],
            id="wrong-type",
        ),
        pytest.param(
            "dm.json",
            json.dumps(
                {
                    "data": [
                        {
                            "id": "1",
                            "event_type": "MessageCreate",
                            "sender_id": "2",
                            "created_at": "2024-01-01T00:00:00Z",
                        }
                    ]
                },
                indent=1,
            ),
            ["dm.json: record data[0].dm_conversation_id: missing"],
            id="dm-without-conversation",
        ),
        pytest.param(
            "latin1.jsonl",
            (GOOD_LINE + "\n" + GOOD_LINE + "\n").encode() + b'{"data": [], "x": "caf\xe9"}\n',
            ["latin1.jsonl:3", "not UTF-8"],
            id="non-utf8",
        ),
        pytest.param(
            "shape.json",
            '{\n  "users": []\n}\n',
            ["shape.json", "expected an X API v2 page", "found an object with keys users"],
            id="unknown-shape",
        ),
        pytest.param(
            "items.json",
            '{\n  "data": [1]\n}\n',
            ["items.json: record data[0]: expected a tweet or DM event object, found a number"],
            id="not-an-object",
        ),
    ],
)
def test_bad_input(tmp_path: Path, name: str, content: str | bytes, expected: list[str]) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError) as caught:
        x_v2.read(path, ReadOptions())
    for part in expected:
        assert part in str(caught.value)
    assert str(path) in str(caught.value)


def test_skip_bad_rows_records_the_skip(tmp_path: Path) -> None:
    lines = [
        GOOD_LINE,
        json.dumps(page(tweet("2", "10", "not a time"))),
        "{broken",
        json.dumps(page(tweet("3", "10"))),
    ]
    path = write(tmp_path / "mixed.jsonl", "\n".join(lines) + "\n")
    options = ReadOptions(skip_bad_rows=True)
    got = x_v2.read(path, options)
    assert got[messages.ID].tolist() == ["1", "3"]
    assert sorted((bad.line, bad.problem[:30]) for bad in options.skipped) == [
        (2, "record data[0].created_at: not"),
        (3, "broken JSON: Expecting propert"),
    ]

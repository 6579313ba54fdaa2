"""Meta Graph API JSON (socialbench.sources.graph): FB comments, Messenger, IG comments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXTERNAL
from conftest import SOURCE_DATA as DATA
from conftest import write_file as write

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, graph, messages, read_head

SAMPLES = EXTERNAL / "meta_graph_samples"
COLUMNS = [
    messages.ID,
    messages.PARENT_ID,
    messages.CONVERSATION_ID,
    messages.AUTHOR,
    messages.AUTHOR_IS_BRAND,
    messages.CREATED_AT,
    messages.CHANNEL,
    messages.SURFACE,
    messages.FOLLOWERS,
]
FIXTURE_LINE = '{"id": "1", "author": "a", "created_at": "2024-01-01T00:00:00Z", "text": "hi"}\n'


def table(rows: list[tuple], *, channel: str) -> pd.DataFrame:
    """Expected messages: (id, parent, conversation, author, is_brand, created_at)."""
    frame = pd.DataFrame(rows, columns=COLUMNS[:6])
    frame[messages.CHANNEL] = channel
    frame[messages.SURFACE] = "private" if channel == "messenger" else "public"
    return messages.normalize(frame)[COLUMNS]


def read(name: str, *brands: str, columns: list[str] = COLUMNS) -> pd.DataFrame:
    return graph.read(DATA / name, ReadOptions(brand_handles=frozenset(brands)))[columns]


def samples() -> Path:
    if not EXTERNAL.is_dir():
        pytest.skip(f"{EXTERNAL} (…/data/external) not present: real samples unavailable")
    return SAMPLES


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("graph_fb_comments.json", True, id="fb-comments"),
        pytest.param("graph_fb_comments_stream.json", True, id="fb-stream"),
        pytest.param("graph_messenger_conversations.json", True, id="messenger"),
        pytest.param("graph_instagram_comments.json", True, id="instagram"),
        pytest.param("x_v2_support_thread.json", False, id="x-v2"),
        pytest.param("whatsapp_webhooks.jsonl", False, id="whatsapp"),
        pytest.param("generic_export.jsonl", False, id="generic-jsonl"),
    ],
)
def test_sniff(name: str, expected: bool) -> None:
    path = DATA / name
    assert graph.sniff(read_head(path), path) is expected


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(FIXTURE_LINE, id="fixture"),
        pytest.param("tweet_id,author_id,inbound,created_at,text\n", id="twcs"),
        pytest.param('{"created_time": "yesterday"}', id="not-graph-time"),
    ],
)
def test_sniff_rejects(head: str) -> None:
    assert not graph.sniff(head, Path("input"))


# --- hand-made inputs -------------------------------------------------------------------------


def test_facebook_comments_nested_and_parent_field() -> None:
    """Page 777 owns the post (permalink), so its replies are brand replies."""
    expected = table(
        [
            ("555_201", None, "555_201", "Ana Lima", False, "2024-06-01T09:00:00Z"),
            ("555_202", "555_201", "555_201", "Acme", True, "2024-06-01T09:30:00Z"),
            ("555_203", None, "555_203", "Ben Okafor", False, "2024-06-01T10:00:00Z"),
            ("555_204", "555_202", "555_201", "Ana Lima", False, "2024-06-01T10:15:00Z"),
        ],
        channel="facebook",
    )
    pd.testing.assert_frame_equal(read("graph_fb_comments.json"), expected)


def test_facebook_stream_ids_and_parents_from_permalinks() -> None:
    """Comments fetched without id and from: ids from permalink_url, authors unknown."""
    expected = table(
        [
            ("556_601", None, "556_601", None, None, "2024-06-02T08:00:00Z"),
            ("556_602", "556_601", "556_601", None, None, "2024-06-02T08:20:00Z"),
        ],
        channel="facebook",
    )
    pd.testing.assert_frame_equal(read("graph_fb_comments_stream.json"), expected)


def test_facebook_post_is_context_not_a_message() -> None:
    expected = table(
        [
            ("557_701", None, "557_701", "Chen Wei", False, "2024-06-03T07:30:00Z"),
            ("557_702", "557_701", "557_701", "Acme", True, "2024-06-03T07:45:00Z"),
        ],
        channel="facebook",
    )
    pd.testing.assert_frame_equal(read("graph_fb_post.json"), expected)


@pytest.mark.parametrize(
    ("brands", "flags"),
    [
        pytest.param((), [False, False, False, False], id="no-brands"),
        pytest.param(("ben okafor",), [False, False, True, False], id="brand-by-name"),
        pytest.param(("9001",), [True, False, False, True], id="brand-by-id"),
    ],
)
def test_facebook_comment_brands_without_page_hint(
    tmp_path: Path, brands: tuple, flags: list
) -> None:
    data = json.loads((DATA / "graph_fb_comments.json").read_text())
    for comment in data["data"]:
        comment.pop("permalink_url", None)
    path = write(tmp_path / "comments.json", json.dumps(data))
    got = graph.read(path, ReadOptions(brand_handles=frozenset(brands)))
    assert got[messages.AUTHOR_IS_BRAND].tolist() == flags


def test_messenger_conversations() -> None:
    """Newest-first messages; the Page (777) is the one participant of both conversations."""
    expected = table(
        [
            ("m_3", "m_1", "t_10", "Acme", True, "2024-07-01T12:10:00Z"),
            ("m_2", "m_1", "t_10", "Cara Diaz", False, "2024-07-01T12:05:00Z"),
            ("m_1", None, "t_10", "Cara Diaz", False, "2024-07-01T12:00:00Z"),
            ("m_4", None, "t_20", "Dev Patel", False, "2024-07-02T08:00:00Z"),
        ],
        channel="messenger",
    )
    pd.testing.assert_frame_equal(read("graph_messenger_conversations.json"), expected)


@pytest.mark.parametrize(
    ("brands", "flags"),
    [
        pytest.param((), [None, None], id="page-unknown"),
        pytest.param(("acme",), [True, False], id="page-by-name"),
        pytest.param(("777",), [True, False], id="page-by-id"),
        pytest.param(("eli brown",), [False, True], id="customer-named-as-brand"),
    ],
)
def test_messenger_message_list(brands: tuple, flags: list) -> None:
    expected = table(
        [
            ("m_12", "m_11", None, "Acme", flags[0], "2024-07-03T09:02:00Z"),
            ("m_11", None, None, "Eli Brown", flags[1], "2024-07-03T09:00:00Z"),
        ],
        channel="messenger",
    )
    pd.testing.assert_frame_equal(read("graph_messenger_messages.json", *brands), expected)


def test_messenger_page_from_inbox_link(tmp_path: Path) -> None:
    listing = json.loads((DATA / "graph_messenger_messages.json").read_text())
    conversation = {"id": "t_30", "link": "/777/inbox/123456/", "messages": listing}
    path = write(tmp_path / "conversation.json", json.dumps(conversation))
    got = graph.read(path, ReadOptions())
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [True, False]
    assert got[messages.CONVERSATION_ID].tolist() == ["t_30", "t_30"]


def test_instagram_comments_and_replies() -> None:
    """The reply carrying `user` is the business's own; its username marks its other comments."""
    expected = table(
        [
            ("17900000000000001", None, "17900000000000001", "lena.k", False, "2024-08-01T15:00Z"),
            (
                "17900000000000002",
                "17900000000000001",
                "17900000000000001",
                "acme.shop",
                True,
                "2024-08-01T15:20Z",
            ),
            (
                "17900000000000003",
                "17900000000000001",
                "17900000000000001",
                "lena.k",
                False,
                "2024-08-01T15:25Z",
            ),
            (
                "17900000000000004",
                None,
                "17900000000000004",
                "acme.shop",
                True,
                "2024-08-01T16:00Z",
            ),
            ("17900000000000005", None, "17900000000000005", "omar", False, "2024-08-02T09:00Z"),
            (
                "17900000000000006",
                "17900000000000005",
                "17900000000000005",
                "zoe",
                False,
                "2024-08-02T09:10Z",
            ),
        ],
        channel="instagram",
    )
    pd.testing.assert_frame_equal(read("graph_instagram_comments.json"), expected)


def test_json_lines_of_responses_and_duplicates(tmp_path: Path) -> None:
    page = (DATA / "graph_fb_comments_stream.json").read_text().strip()
    path = write(tmp_path / "pages.jsonl", f"{page}\n{page}\n")
    got = graph.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["556_601", "556_602"]


# --- the business account ---------------------------------------------------------------------


def accounts(got: pd.DataFrame) -> dict[str, str | None]:
    pairs = zip(got[messages.ID], got[messages.ACCOUNT], strict=True)
    return {ident: (None if pd.isna(account) else account) for ident, account in pairs}


def test_unanswered_messenger_thread_names_the_page_as_answered_replies_spell_it() -> None:
    """t_10 is answered by the Page (777, "Acme"); t_20 is not: both name "Acme"."""
    got = graph.read(DATA / "graph_messenger_conversations.json", ReadOptions())
    reply = got[got[messages.ID] == "m_3"].iloc[0]
    assert reply[messages.AUTHOR_IS_BRAND] and reply[messages.AUTHOR] == "Acme"
    unanswered = got[got[messages.CONVERSATION_ID] == "t_20"]
    assert unanswered[messages.AUTHOR_IS_BRAND].tolist() == [False]
    assert accounts(got) == {"m_3": "Acme", "m_2": "Acme", "m_1": "Acme", "m_4": "Acme"}


def test_unanswered_messenger_thread_alone_names_the_page_by_its_inbox_link(tmp_path: Path):
    """A lone customer message; the link names Page 777, listed as recipient "Acme"."""
    listing = json.loads((DATA / "graph_messenger_messages.json").read_text())
    listing["data"] = [m for m in listing["data"] if m["id"] == "m_11"]
    conversation = {"id": "t_30", "link": "/777/inbox/123456/", "messages": listing}
    got = graph.read(write(tmp_path / "conversation.json", json.dumps(conversation)), ReadOptions())
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False]
    assert accounts(got) == {"m_11": "Acme"}


@pytest.mark.parametrize(
    ("brands", "account"),
    [
        pytest.param((), None, id="page-unknown"),
        pytest.param(("777",), "Acme", id="page-by-id"),
        pytest.param(("acme",), "Acme", id="page-by-name"),
    ],
)
def test_messenger_message_list_account(brands: tuple, account: str | None) -> None:
    got = read("graph_messenger_messages.json", *brands, columns=[messages.ID, messages.ACCOUNT])
    assert accounts(got) == {"m_12": account, "m_11": account}


def test_messenger_page_spelled_by_id_when_never_named(tmp_path: Path) -> None:
    """Graph entries without names: the Page's messages and the account are both its id."""
    data = json.loads((DATA / "graph_messenger_conversations.json").read_text())
    for conversation in data["data"]:
        for message in conversation["messages"]["data"]:
            for person in [message["from"], *message["to"]["data"]]:
                person.pop("name")
    got = graph.read(write(tmp_path / "inbox.json", json.dumps(data)), ReadOptions())
    assert got.loc[got[messages.ID] == "m_3", messages.AUTHOR].tolist() == ["777"]
    assert set(got[messages.ACCOUNT]) == {"777"}


def test_facebook_comments_name_the_page_owning_the_post() -> None:
    """Page 777 (permalink) owns post 555; it is spelled as its reply's author, "Acme".

    555_203 has no permalink: it sits under the same post (its id), so names the same Page.
    """
    got = graph.read(DATA / "graph_fb_comments.json", ReadOptions())
    assert got.loc[got[messages.ID] == "555_202", messages.AUTHOR].tolist() == ["Acme"]
    assert set(accounts(got).values()) == {"Acme"}
    post = graph.read(DATA / "graph_fb_post.json", ReadOptions())
    assert set(accounts(post).values()) == {"Acme"}


def test_facebook_comments_page_as_the_payload_names_it() -> None:
    """Comments fetched without from: the Page is the id in their permalinks."""
    got = graph.read(DATA / "graph_fb_comments_stream.json", ReadOptions())
    assert accounts(got) == {"556_601": "777", "556_602": "777"}


def test_facebook_comments_without_page_hint_name_no_account(tmp_path: Path) -> None:
    data = json.loads((DATA / "graph_fb_comments.json").read_text())
    for item in data["data"]:
        item.pop("permalink_url", None)
    got = graph.read(write(tmp_path / "comments.json", json.dumps(data)), ReadOptions())
    assert got[messages.ACCOUNT].isna().all()


def test_instagram_comments_name_no_account() -> None:
    got = graph.read(DATA / "graph_instagram_comments.json", ReadOptions())
    assert got[messages.ACCOUNT].isna().all()


def test_real_comment_pages_name_their_page() -> None:
    got = graph.read(samples() / "facebook__comments__comments_p1.json", ReadOptions())
    assert set(got[messages.ACCOUNT]) == {"19292868552"}
    one = graph.read(samples() / "facebook__models__comment.json", ReadOptions())
    assert one[messages.ACCOUNT].tolist() == ["2121008874780932"]


def test_real_messenger_messages_name_the_page_once_known() -> None:
    """Kun Liu writes to Page "MyLife" (2121008874780932), named by --brands."""
    path = samples() / "facebook__messages__messages_info.json"
    unknown = graph.read(path, ReadOptions())
    assert unknown[messages.ACCOUNT].isna().all()
    named = graph.read(path, ReadOptions(brand_handles=frozenset({"2121008874780932"})))
    assert set(named[messages.ACCOUNT]) == {"MyLife"}
    assert set(named[messages.AUTHOR_IS_BRAND]) == {False}


# --- real samples -----------------------------------------------------------------------------


MESSAGE_SAMPLES = [
    ("facebook__comments__comment_info.json", 1, "facebook"),
    ("facebook__comments__comments_info.json", 2, "facebook"),
    ("facebook__comments__comments_p1.json", 10, "facebook"),
    ("facebook__comments__comments_p2.json", 5, "facebook"),
    ("facebook__models__comment.json", 1, "facebook"),
    ("facebook__messages__message_info.json", 1, "messenger"),
    ("facebook__messages__messages_info.json", 2, "messenger"),
    ("facebook__models__message.json", 1, "messenger"),
    ("instagram__comments__comment_fields.json", 1, "instagram"),
    ("instagram__comments__comments_fields.json", 2, "instagram"),
    ("instagram__comments__replies.json", 1, "instagram"),
    ("instagram__medias__comments_p1.json", 2, "instagram"),
    ("instagram__medias__comments_p2.json", 2, "instagram"),
    ("instagram__models__ig_comment.json", 2, "instagram"),
    ("instagram__users__mentioned_comment.json", 1, "instagram"),
]


@pytest.mark.parametrize(
    ("name", "count", "channel"), [pytest.param(*case, id=case[0]) for case in MESSAGE_SAMPLES]
)
def test_real_samples_parse(name: str, count: int, channel: str) -> None:
    path = samples() / name
    assert graph.sniff(read_head(path), path)
    got = graph.read(path, ReadOptions())
    assert len(got) == count
    assert set(got[messages.CHANNEL]) == {channel}
    assert got[messages.CREATED_AT].notna().all()
    assert got[messages.ID].is_unique


def test_every_comment_and_message_sample_is_covered() -> None:
    names = {p.name for p in samples().glob("*.json") if "conversation" not in p.name}
    assert names == {case[0] for case in MESSAGE_SAMPLES}


def test_real_stream_page_threads_replies() -> None:
    got = graph.read(samples() / "facebook__comments__comments_p1.json", ReadOptions())
    replies = got[got[messages.PARENT_ID].notna()]
    assert dict(zip(replies[messages.ID], replies[messages.PARENT_ID], strict=True)) == {
        "10158407654328553_10158409983033553": "10158407654328553_10158407903973553",
        "10158407654328553_10158409984053553": "10158407654328553_10158407903973553",
        "10158407654328553_10158409984103553": "10158407654328553_10158407835073553",
        "10158407654328553_10158411321043553": "10158407654328553_10158410332078553",
    }
    assert got[messages.CREATED_AT].iloc[0] == pd.Timestamp("2021-08-10T18:45:03Z")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("facebook__conversations__cvs_info.json", id="conversation"),
        pytest.param("facebook__conversations__cvses_info.json", id="conversations"),
        pytest.param("facebook__models__conversation.json", id="model"),
    ],
)
def test_real_conversation_metadata_without_messages(name: str) -> None:
    path = samples() / name
    with pytest.raises(InputError, match=r"conversation without its messages"):
        graph.read(path, ReadOptions())


# --- bad input --------------------------------------------------------------------------------


def comment(ident: str, when: str = "2024-06-01T09:00:00+0000", **extra) -> dict:
    return {"id": ident, "created_time": when, "message": "hi", **extra}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "broken.json",
            '{\n  "data": [\n    {"id": "1"\n    {"id": "2"}\n  ]\n}\n',
            ["broken.json:4", "broken JSON"],
            id="broken-json-document",
        ),
        pytest.param(
            "broken.jsonl",
            json.dumps({"data": [comment("1")]}) + "\n{nope\n",
            ["broken.jsonl:2", "broken JSON"],
            id="broken-json-line",
        ),
        pytest.param(
            "time.json",
            json.dumps({"data": [comment("1"), comment("2", "10/08/2021")]}, indent=2),
            ["time.json: record data[1].created_time", "'10/08/2021'"],
            id="bad-timestamp",
        ),
        pytest.param(
            "nested.json",
            json.dumps(
                {"data": [comment("1", comments={"data": [comment("2", "soon")]})]}, indent=2
            ),
            ["nested.json: record data[0].comments.data[0].created_time", "'soon'"],
            id="bad-timestamp-nested",
        ),
        pytest.param(
            "ig.json",
            json.dumps(
                {"data": [{"id": "1", "text": ["x"], "timestamp": "2020-08-07T03:30:06+0000"}]},
                indent=2,
            ),
            ["ig.json: record data[0].text", "expected a string, found a list"],
            id="wrong-type",
        ),
        pytest.param(
            "noid.json",
            json.dumps({"data": [{"created_time": "2024-06-01T09:00:00+0000"}]}, indent=2),
            ["noid.json: record data[0].id: missing"],
            id="missing-id",
        ),
        pytest.param(
            "messages.json",
            json.dumps({"data": [{"id": "t_1", "messages": {"data": [{"id": "m_1"}]}}]}, indent=2),
            ["messages.json: record data[0].messages.data[0].created_time: missing"],
            id="missing-message-time",
        ),
        pytest.param(
            "latin1.json",
            b'{\n  "data": [\n    {"message": "ol\xe1"}\n  ]\n}\n',
            ["latin1.json:3", "not UTF-8"],
            id="non-utf8",
        ),
        pytest.param(
            "shape.json",
            '{\n  "error": "nope"\n}\n',
            ["shape.json", "expected Graph API JSON", "found an object with keys error"],
            id="unknown-shape",
        ),
        pytest.param(
            "items.json",
            '{\n  "data": [{"name": "Acme", "category": "Shop"}]\n}\n',
            ["items.json: record data[0]: expected a comment, conversation or message"],
            id="unknown-item",
        ),
    ],
)
def test_bad_input(tmp_path: Path, name: str, content: str | bytes, expected: list[str]) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError) as caught:
        graph.read(path, ReadOptions())
    for part in expected:
        assert part in str(caught.value)
    assert str(path) in str(caught.value)


def test_skip_bad_rows_records_the_skip(tmp_path: Path) -> None:
    data = {"data": [comment("1"), comment("2", "never"), comment("3")]}
    path = write(tmp_path / "comments.json", json.dumps(data, indent=2))
    options = ReadOptions(skip_bad_rows=True)
    got = graph.read(path, options)
    assert got[messages.ID].tolist() == ["1", "3"]
    assert [str(bad) for bad in options.skipped] == [
        f"{path}: record data[1].created_time: not an ISO 8601 timestamp: 'never'"
    ]

"""Meta webhook payloads (socialbench.sources.webhooks) and the payload bugs found with real
public samples in the graph and whatsapp readers (issue 16 §2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import external
from conftest import write_file as write

from socialbench import sources
from socialbench.cli import main
from socialbench.errors import InputError
from socialbench.sources import ReadOptions, graph, messages, read_head, webhooks, whatsapp

# --- graph: a Page post object with `to`, `type` and its `comments` ---------------------------

# The shape of restfb's src/test/resources/json/post-with-normal-comments.json (a post written
# to a Page by a person, `type` and `to` as Graph API v2 returned them, the Page's comment under
# it), with ids that agree with each other as the Graph API's do.
VISITOR_POST = {
    "id": "512331_1234",
    "from": {"name": "Manuel Martin", "id": "4132"},
    "to": {"data": [{"name": "Vodafone", "category": "Communications", "id": "512331"}]},
    "message": "hello world! my router is down",
    "type": "status",
    "created_time": "2010-09-14T22:41:25+0000",
    "updated_time": "2010-09-14T22:41:25+0000",
    "comments": {
        "data": [
            {
                "id": "1234_54123",
                "from": {"name": "Vodafone", "category": "Communications", "id": "512331"},
                "message": "Sorry to hear that, please send us a DM",
                "created_time": "2010-09-15T16:09:21+0000",
            }
        ],
        "count": 1,
    },
}


def test_graph_post_with_to_is_a_post_not_a_messenger_message(tmp_path: Path) -> None:
    path = write(tmp_path / "post.json", json.dumps(VISITOR_POST, indent=2))
    got = graph.read(path, ReadOptions()).set_index(messages.ID)
    assert set(got[messages.CHANNEL]) == {"facebook"}
    assert set(got[messages.SURFACE]) == {"public"}
    assert got.loc["1234_54123", messages.AUTHOR] == "Vodafone"
    assert got.loc["1234_54123", messages.AUTHOR_IS_BRAND]
    assert got.loc["1234_54123", messages.PARENT_ID] == "512331_1234"
    assert not got.loc["512331_1234", messages.AUTHOR_IS_BRAND]
    assert set(got[messages.CONVERSATION_ID]) == {"512331_1234"}
    assert set(got[messages.ACCOUNT]) == {"Vodafone"}


# --- graph: the answer of /{object-id}?fields=comments ----------------------------------------


def test_graph_object_answered_with_its_comments(tmp_path: Path) -> None:
    answer = {
        "id": "777_557",
        "comments": {
            "data": [
                {"id": "557_701", "created_time": "2024-06-03T07:30:00+0000",
                 "from": {"name": "Chen Wei", "id": "9003"}, "message": "Where is it?"},
                {"id": "557_702", "created_time": "2024-06-03T07:45:00+0000",
                 "from": {"name": "Acme", "id": "777"}, "message": "Main Street 12!",
                 "parent": {"id": "557_701"}},
            ],
            "paging": {"cursors": {"before": "b", "after": "a"}},
        },
    }  # fmt: skip
    path = write(tmp_path / "comments.json", json.dumps(answer, indent=2))
    got = graph.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["557_701", "557_702"]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "557_701"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True]
    assert set(got[messages.ACCOUNT]) == {"Acme"}


# --- whatsapp: a message identified only by from_user_id --------------------------------------

BSUID = "US.13491208655302741918"


def wa_body(value: dict) -> dict:
    """A messages webhook body (Meta's business-scoped user ID example, trimmed)."""
    metadata = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    change = {"value": value, "field": "messages"}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [change]}]}  # fmt: skip


def test_whatsapp_message_with_only_from_user_id(tmp_path: Path) -> None:
    contact = {"profile": {"name": "Sheena Nelson", "username": "@realsheenanelson"},
               "user_id": BSUID}  # fmt: skip
    message = {"from_user_id": BSUID, "id": "wamid.HBgL1", "timestamp": "1749416383",
               "type": "text", "text": {"body": "Does it come in another color?"}}  # fmt: skip
    path = write(
        tmp_path / "hooks.jsonl",
        json.dumps(wa_body({"contacts": [contact], "messages": [message]})) + "\n",
    )
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["wamid.HBgL1"]
    assert got[messages.AUTHOR].tolist() == [BSUID]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False]
    assert got[messages.CONVERSATION_ID].tolist() == [f"106540352242922:{BSUID}"]
    assert got[messages.ACCOUNT].tolist() == ["15550783881"]
    assert got[messages.CREATED_AT].tolist() == [pd.Timestamp(1749416383, unit="s", tz="UTC")]


def test_graph_post_as_restfb_spells_it_page_named_in_to_answers_by_name(tmp_path: Path) -> None:
    """restfb's own ids (post 1234, the Page's comment from id 4123, `to` id 512331): the Page
    is told by the name `to` gives it."""
    post = {**VISITOR_POST, "id": "1234"}
    post["comments"] = {"data": [{**post["comments"]["data"][0], "id": "54123",
                                  "from": {"name": "Vodafone", "id": "4123"}}]}  # fmt: skip
    path = write(tmp_path / "post.json", json.dumps(post, indent=2))
    got = graph.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["1234", "54123"]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "1234"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True]
    assert set(got[messages.ACCOUNT]) == {"Vodafone"}


def test_graph_page_post_with_to_stays_context(tmp_path: Path) -> None:
    """The Page's own post (from = the owner Page), `to` naming a tagged person: context."""
    post = {**VISITOR_POST, "from": {"name": "Vodafone", "id": "512331"},
            "to": {"data": [{"name": "Manuel Martin", "id": "4132"}]}}  # fmt: skip
    post["comments"] = {
        "data": [
            {
                "id": "1234_9",
                "from": {"name": "Manuel Martin", "id": "4132"},
                "message": "thanks!",
                "created_time": "2010-09-15T10:00:00+0000",
            }
        ]
    }
    path = write(tmp_path / "post.json", json.dumps(post, indent=2))
    got = graph.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["1234_9"]
    assert got[messages.PARENT_ID].tolist() == [pd.NA]
    assert got[messages.ACCOUNT].tolist() == ["512331"]


def test_graph_messenger_message_with_to_is_still_a_message(tmp_path: Path) -> None:
    message = {"id": "m_1", "created_time": "2021-07-23T09:50:48+0000", "message": "hi",
               "from": {"name": "Kun Liu", "id": "27"}, "to": {"data": [{"name": "MyLife",
               "id": "21"}]}, "tags": {"data": [{"name": "inbox"}]}}  # fmt: skip
    path = write(tmp_path / "message.json", json.dumps(message, indent=2))
    assert graph.read(path, ReadOptions())[messages.CHANNEL].tolist() == ["messenger"]


@pytest.mark.parametrize(
    ("answer", "ids", "channel"),
    [
        pytest.param(
            {"id": "17846368219941692", "comments": {"data": [
                {"timestamp": "2020-06-01T10:56:52+0000", "text": "Beautiful!", "id": "178581"}]}},
            ["178581"], "instagram", id="ig-media",
        ),
        pytest.param(
            {"data": [{"id": "777_557", "comments": {"data": [
                {"id": "557_1", "created_time": "2024-06-03T07:30:00+0000", "message": "a"}]}},
                      {"id": "777_558"}]},
            ["557_1"], "facebook", id="posts-page",
        ),
        pytest.param(
            {"777_557": {"id": "777_557", "comments": {"data": [
                {"id": "557_1", "created_time": "2024-06-03T07:30:00+0000", "message": "a"}]}}},
            ["557_1"], "facebook", id="ids-answer",
        ),
        pytest.param({"id": "777_559", "comments": {"data": []}}, [], None, id="no-comments"),
        pytest.param({"id": "777_559"}, [], None, id="no-comments-edge"),
    ],
)  # fmt: skip
def test_graph_objects_answered_with_their_comments(
    tmp_path: Path, answer: dict, ids: list, channel: str | None
) -> None:
    path = write(tmp_path / "answer.json", json.dumps(answer, indent=2))
    got = graph.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ids
    assert set(got[messages.CHANNEL]) == ({channel} if channel else set())


def test_graph_real_comment_page_through_fields_comments(tmp_path: Path) -> None:
    """The real first page of Facebook for Developers' post comments, as its post's
    ?fields=comments answer: the same 10 comments, the Page 19292868552 named by the post id."""
    page = json.loads(external("meta_graph_samples", "facebook__comments__comments_p1.json")
                      .read_text())  # fmt: skip
    answer = {"id": "19292868552_10158407654328553", "comments": page}
    path = write(tmp_path / "answer.json", json.dumps(answer))
    got = graph.read(path, ReadOptions())
    assert len(got) == 10
    assert set(got[messages.ACCOUNT]) == {"19292868552"}


# --- whatsapp: business-scoped user IDs -------------------------------------------------------


def wa_text(ident: str, when: str, **who: str) -> dict:
    return {**who, "id": ident, "timestamp": when, "type": "text", "text": {"body": ident}}


def test_whatsapp_status_and_echo_with_only_bsuids(tmp_path: Path) -> None:
    """Meta's BSUID examples: a delivered status with recipient_user_id and no recipient_id; an
    echo with to_user_id and no to. Both are the BSUID customer's chat."""
    status = {"id": "wamid.S1", "status": "delivered", "timestamp": "1750030073",
              "recipient_user_id": BSUID, "recipient_parent_user_id": "US.ENT.1"}  # fmt: skip
    echo = {"from": "15550783881", "to_user_id": BSUID, "id": "wamid.E1",
            "timestamp": "1750030100", "type": "text",
            "text": {"body": "Yes, in blue"}}  # fmt: skip
    bodies = [wa_body({"messages": [wa_text("wamid.M1", "1750030000", from_user_id=BSUID)]}),
              wa_body({"statuses": [status]}), wa_body({"message_echoes": [echo]})]  # fmt: skip
    bodies[2]["entry"][0]["changes"][0]["field"] = "smb_message_echoes"
    path = write(tmp_path / "hooks.jsonl", "\n".join(map(json.dumps, bodies)) + "\n")
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["wamid.M1", "wamid.E1", "wamid.S1"]
    assert set(got[messages.CONVERSATION_ID]) == {f"106540352242922:{BSUID}"}
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True, True]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "wamid.M1", "wamid.M1"]


def test_whatsapp_bsuid_paired_with_a_number_is_one_chat(tmp_path: Path) -> None:
    """The customer's number is withheld in a later message; `contacts` of an earlier one paired
    it with the BSUID, so both messages are one chat named by the number."""
    contact = {"profile": {"name": "Pablo"}, "wa_id": "16505551234", "user_id": BSUID}
    first = wa_text("wamid.1", "1750030000", **{"from": "16505551234", "from_user_id": BSUID})
    later = wa_text("wamid.2", "1750030600", from_user_id=BSUID)
    bodies = [wa_body({"messages": [later]}), wa_body({"contacts": [contact], "messages": [first]})]
    path = write(tmp_path / "hooks.jsonl", "\n".join(map(json.dumps, bodies)) + "\n")
    got = whatsapp.read(path, ReadOptions()).set_index(messages.ID)
    assert got[messages.AUTHOR].tolist() == ["16505551234", "16505551234"]
    assert set(got[messages.CONVERSATION_ID]) == {"106540352242922:16505551234"}
    assert got.loc["wamid.2", messages.PARENT_ID] == "wamid.1"


def test_whatsapp_real_quick_reply_with_from_user_id(tmp_path: Path) -> None:
    """pywa's callback_button.json `quick_reply_without_context` carries from and from_user_id."""
    cases = json.loads(external("whatsapp_webhook_samples", "callback_button.json").read_text())
    path = write(tmp_path / "hooks.jsonl", json.dumps(cases["quick_reply_without_context"]) + "\n")
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.AUTHOR].tolist() == ["972987654321"]
    assert got[messages.CONVERSATION_ID].tolist() == ["1122334455667:972987654321"]


def test_whatsapp_message_without_any_customer_id_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hooks.jsonl",
        json.dumps(wa_body({"messages": [wa_text("wamid.1", "1750030000")]})) + "\n",
    )
    with pytest.raises(InputError) as caught:
        whatsapp.read(path, ReadOptions())
    assert str(caught.value) == (
        f"{path}:1: record entry[0].changes[0].value.messages[0].from: "
        "missing (and no from_user_id)"
    )


# --- meta-webhooks: Messenger and Instagram messaging -----------------------------------------

PAGE, ANA, BEN = "1001", "2001", "2002"
COLUMNS = [
    messages.ID,
    messages.PARENT_ID,
    messages.CONVERSATION_ID,
    messages.AUTHOR,
    messages.AUTHOR_IS_BRAND,
    messages.CREATED_AT,
    messages.TEXT,
    messages.CHANNEL,
    messages.SURFACE,
    messages.ACCOUNT,
]
T0 = 1717236000000  # 2024-06-01T10:00:00Z in milliseconds


def event(sender: str, recipient: str, at_s: int, **content) -> dict:
    """A messaging event ``at_s`` seconds after T0."""
    return {"sender": {"id": sender}, "recipient": {"id": recipient},
            "timestamp": T0 + at_s * 1000, **content}  # fmt: skip


def text_from(customer: str, mid: str, at_s: int, text: str, **extra) -> dict:
    return event(customer, PAGE, at_s, message={"mid": mid, "text": text, **extra})


def echo_to(customer: str, mid: str, at_s: int, text: str, **extra) -> dict:
    content = {"mid": mid, "text": text, "is_echo": True, "app_id": 263902037430900, **extra}
    return event(PAGE, customer, at_s, message=content)


def hook(*events: dict, obj: str = "page", account: str = PAGE, field: str = "messaging") -> dict:
    return {"object": obj, "entry": [{"id": account, "time": T0 + 5000, field: list(events)}]}


def lines(*bodies: dict | str) -> str:
    return "\n".join(b if isinstance(b, str) else json.dumps(b) for b in bodies) + "\n"


def at(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + seconds * 1000, unit="ms", tz="UTC")


MESSENGER_LOG = lines(
    hook(text_from(ANA, "m_a1", 0, "Hi, my order hasn't arrived")),
    hook(event(PAGE, ANA, 30, delivery={"mids": ["m_x"], "watermark": T0}),
         event(ANA, PAGE, 40, read={"watermark": T0})),
    hook(echo_to(ANA, "m_r1", 300, "Sorry! What's the order number?")),
    hook(text_from(ANA, "m_a2", 400, "It's 42", reply_to={"mid": "m_r1"}),
         event(ANA, PAGE, 410, reaction={"mid": "m_r1", "action": "react", "reaction": "like"})),
    hook(text_from(ANA, "m_a2", 400, "It's 42", reply_to={"mid": "m_r1"})),  # a retry
    hook(text_from(BEN, "m_b1", 600, "", attachments=[{"type": "image",
                                                      "payload": {"url": "https://x"}}])),
    hook(event(BEN, PAGE, 700, message={"mid": "m_b0", "is_deleted": True})),
)  # fmt: skip


def test_messenger_log(tmp_path: Path) -> None:
    """Messages, an echo, a quoted reply, a retry; deliveries, reads, reactions, deletions are
    not messages. Every message names the Page as its account, Ben's unanswered chat too."""
    got = webhooks.read(write(tmp_path / "hooks.jsonl", MESSENGER_LOG), ReadOptions())
    expected = pd.DataFrame(
        [
            ("m_a1", None, f"{PAGE}:{ANA}", ANA, False, at(0), "Hi, my order hasn't arrived"),
            ("m_r1", "m_a1", f"{PAGE}:{ANA}", PAGE, True, at(300),
             "Sorry! What's the order number?"),
            ("m_a2", "m_r1", f"{PAGE}:{ANA}", ANA, False, at(400), "It's 42"),
            ("m_b1", None, f"{PAGE}:{BEN}", BEN, False, at(600), ""),
        ],
        columns=COLUMNS[:7],
    )  # fmt: skip
    expected[messages.CHANNEL] = "messenger"
    expected[messages.SURFACE] = "private"
    expected[messages.ACCOUNT] = PAGE
    pd.testing.assert_frame_equal(got[COLUMNS], messages.normalize(expected)[COLUMNS])


def test_one_document_a_list_and_json_lines_read_the_same(tmp_path: Path) -> None:
    bodies = [hook(text_from(ANA, "m_1", 0, "hi")), hook(echo_to(ANA, "m_2", 60, "hello"))]
    from_lines = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions())
    from_list = webhooks.read(
        write(tmp_path / "list.json", json.dumps(bodies, indent=2)), ReadOptions()
    )
    one = {"object": "page", "entry": [*bodies[0]["entry"], *bodies[1]["entry"]]}
    from_one = webhooks.read(write(tmp_path / "one.json", json.dumps(one, indent=2)), ReadOptions())
    pd.testing.assert_frame_equal(from_lines, from_list)
    pd.testing.assert_frame_equal(from_lines, from_one)
    assert from_lines[messages.ID].tolist() == ["m_1", "m_2"]


def test_instagram_direct_messages(tmp_path: Path) -> None:
    """restfb's instagram/messaging-*.json shape: object instagram, entry id = the IG account."""
    account, customer = "17841452691600098", "5614879045272581"
    bodies = [
        hook(event(customer, account, 0, message={"mid": "aWdfZ1", "text": "Is this in stock?"}),
             obj="instagram", account=account),
        hook(event(account, customer, 90, message={"mid": "aWdfZ2", "text": "Yes!",
                                                   "is_echo": True}),
             obj="instagram", account=account),
    ]  # fmt: skip
    got = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions())
    assert set(got[messages.CHANNEL]) == {"instagram"}
    assert set(got[messages.SURFACE]) == {"private"}
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "aWdfZ1"]
    assert set(got[messages.ACCOUNT]) == {account}


def test_standby_and_postbacks_are_messages(tmp_path: Path) -> None:
    """Echoes may come on `standby` (another app owns the thread); a postback with a mid is the
    customer tapping a button (its title is the text); one without a mid is not a message."""
    bodies = [
        hook(event(ANA, PAGE, 0, postback={"mid": "m_p1", "title": "Track my order",
                                           "payload": "TRACK"})),
        hook(event(ANA, PAGE, 5, postback={"title": "Get Started", "payload": "START"})),
        hook(echo_to(ANA, "m_r1", 60, "It ships tomorrow"), field="standby"),
    ]  # fmt: skip
    got = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions())
    assert got[messages.ID].tolist() == ["m_p1", "m_r1"]
    assert got[messages.TEXT].tolist() == ["Track my order", "It ships tomorrow"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True]


def test_brand_handles_mark_any_author(tmp_path: Path) -> None:
    path = write(tmp_path / "hooks.jsonl", lines(hook(text_from(ANA, "m_1", 0, "hi"))))
    got = webhooks.read(path, ReadOptions(brand_handles=frozenset({ANA})))
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [True]


def test_real_restfb_echo_shape_with_number_ids(tmp_path: Path) -> None:
    """restfb's messaging-message-basic-echo.json: ids as JSON numbers, ms timestamps."""
    body = {"object": "page", "entry": [{"id": 12345654332, "time": 1457764198246, "messaging": [
        {"sender": {"id": 987654321432}, "recipient": {"id": 12345654332},
         "timestamp": 1457764197627, "message": {
             "mid": "mid.1457764197618:41d102a3e1ae206a38", "seq": 73, "text": "hello, world!",
             "is_echo": True, "app_id": 1517776481860111,
             "metadata": "DEVELOPER_DEFINED_METADATA_STRING"}}]}]}  # fmt: skip
    got = webhooks.read(write(tmp_path / "echo.json", json.dumps(body, indent=2)), ReadOptions())
    assert got[messages.AUTHOR].tolist() == ["987654321432"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [True]
    assert got[messages.ACCOUNT].tolist() == ["987654321432"]
    assert got[messages.CONVERSATION_ID].tolist() == ["987654321432:12345654332"]
    assert got[messages.CREATED_AT].tolist() == [pd.Timestamp("2016-03-12T06:29:57.627Z")]


# --- meta-webhooks: Page and Instagram comments -----------------------------------------------


def change(field: str, value: dict, *, obj: str = "page", account: str = PAGE, time: int = 0):
    entry = {
        "id": account,
        "time": 1717236000 + time,
        "changes": [{"field": field, "value": value}],
    }
    return {"object": obj, "entry": [entry]}  # fmt: skip


def feed(item: str, at_s: int, who: tuple[str, str] | None, message: str, **ids) -> dict:
    value = {"item": item, "verb": "add", "created_time": 1717236000 + at_s, "message": message}
    if who:
        value["from"] = {"id": who[0], "name": who[1]}
    return change("feed", {**value, **ids})


ACME, CHEN, DANA = (PAGE, "Acme"), ("3001", "Chen Wei"), ("3002", "Dana")


def test_page_feed_comments_and_a_visitor_post(tmp_path: Path) -> None:
    """Chen comments on the Page's own post (context); Acme replies. Dana writes a post on the
    Page (a visitor post): Acme's comment on it replies to it. Likes and edits are not messages.
    The Page is named as its comments name it, on its Messenger chats too."""
    bodies = [
        feed("status", 0, ACME, "New store!", post_id=f"{PAGE}_1"),
        feed("comment", 60, CHEN, "Where is it?", post_id=f"{PAGE}_1",
             comment_id="1_11", parent_id=f"{PAGE}_1"),
        feed("comment", 120, ACME, "Main Street 12", post_id=f"{PAGE}_1",
             comment_id="1_12", parent_id="1_11"),
        change("feed", {"item": "like", "verb": "add", "post_id": f"{PAGE}_1",
                        "created_time": 1717236130}),
        change("feed", {"item": "comment", "verb": "edited", "comment_id": "1_11",
                        "post_id": f"{PAGE}_1", "created_time": 1717236140, "message": "?"}),
        feed("post", 200, DANA, "My order 42 is late", post_id=f"{PAGE}_2"),
        feed("comment", 260, ACME, "Sorry Dana, DM us", post_id=f"{PAGE}_2",
             comment_id="2_21", parent_id=f"{PAGE}_2"),
        hook(text_from(ANA, "m_a1", 0, "hello")),
    ]  # fmt: skip
    got = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions()).set_index(
        messages.ID
    )
    assert got.index.tolist() == ["1_11", "1_12", f"{PAGE}_2", "2_21", "m_a1"]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "1_11", pd.NA, f"{PAGE}_2", pd.NA]
    assert got[messages.CONVERSATION_ID].tolist() == [
        "1_11", "1_11", f"{PAGE}_2", f"{PAGE}_2", f"{PAGE}:{ANA}"
    ]  # fmt: skip
    assert got[messages.AUTHOR].tolist() == ["Chen Wei", "Acme", "Dana", "Acme", ANA]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True, False, True, False]
    assert got[messages.CHANNEL].tolist() == ["facebook"] * 4 + ["messenger"]
    assert set(got[messages.ACCOUNT]) == {"Acme"}


def test_page_mentions_and_old_sender_fields(tmp_path: Path) -> None:
    """restfb's mention-post-add-real.json (no author at all) and feed-comment-add-25.json
    (sender_id / sender_name, the v2.5 shape; here the Page itself)."""
    bodies = [
        change("mention", {"message": "A test post message", "post_id": f"{PAGE}_987",
                           "created_time": 1717236000, "item": "post", "verb": "add"}),
        change("feed", {"item": "comment", "verb": "add", "comment_id": "987_1",
                        "post_id": f"{PAGE}_987", "parent_id": f"{PAGE}_987",
                        "sender_id": int(PAGE), "created_time": 1717236060,
                        "message": "Thanks for the mention!", "sender_name": "Acme"}),
    ]  # fmt: skip
    got = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions())
    assert got[messages.AUTHOR].tolist() == [pd.NA, "Acme"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [pd.NA, True]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, f"{PAGE}_987"]
    assert set(got[messages.ACCOUNT]) == {"Acme"}


def test_instagram_comments(tmp_path: Path) -> None:
    """Meta's comments example and restfb's wh-comments-2021.json: a comment, the account's reply
    (parent_id), timed by the entry; mentions carry only ids and are not messages."""
    account = "17841405309211844"
    bodies = [
        change("comments", {"id": "179_1", "text": "Ships to Canada?",
                            "from": {"id": "6001", "username": "jo.k"},
                            "media": {"id": "180_1", "media_product_type": "FEED"}},
               obj="instagram", account=account),
        change("comments", {"id": "179_2", "text": "@jo.k yes!", "parent_id": "179_1",
                            "from": {"id": account, "username": "acme"},
                            "media": {"id": "180_1", "media_product_type": "FEED"}},
               obj="instagram", account=account, time=300),
        change("mentions", {"comment_id": "179_9", "media_id": "180_9"},
               obj="instagram", account=account),
    ]  # fmt: skip
    got = webhooks.read(write(tmp_path / "hooks.jsonl", lines(*bodies)), ReadOptions())
    assert got[messages.ID].tolist() == ["179_1", "179_2"]
    assert got[messages.AUTHOR].tolist() == ["jo.k", "acme"]
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [False, True]
    assert got[messages.PARENT_ID].tolist() == [pd.NA, "179_1"]
    assert got[messages.CREATED_AT].tolist() == [at(0), at(300)]
    assert set(got[messages.CHANNEL]) == {"instagram"} and set(got[messages.SURFACE]) == {"public"}
    assert set(got[messages.ACCOUNT]) == {"acme"}


# --- meta-webhooks: detection ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(lines(hook(text_from(ANA, "m_1", 0, "hi"))), "meta-webhooks", id="page"),
        pytest.param(json.dumps([hook(obj="instagram")], indent=2), "meta-webhooks", id="ig-list"),
        pytest.param(lines(wa_body({"messages": [wa_text("w.1", "1", **{"from": "44"})]})),
                     "whatsapp", id="whatsapp"),
        pytest.param(json.dumps(VISITOR_POST, indent=2), "graph", id="graph"),
    ],
)  # fmt: skip
def test_detection(content: str, expected: str, tmp_path: Path) -> None:
    path = write(tmp_path / "hooks.jsonl", content)
    assert sources.detect(path) == expected
    assert webhooks.sniff(read_head(path), path) is (expected == "meta-webhooks")


# --- meta-webhooks: bad input -----------------------------------------------------------------

GOOD = lines(hook(text_from(ANA, "m_1", 0, "hi"))).strip()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(lines(GOOD, '{"object": "page", "entry": ['), ":2: broken JSON",
                     id="broken-json"),
        pytest.param(lines(GOOD, hook(event(ANA, PAGE, 0, message={"text": "no id"}))),
                     ":2: record entry[0].messaging[0].message.mid: missing", id="missing-mid"),
        pytest.param(lines(hook({**text_from(ANA, "m_2", 0, "x"), "timestamp": "soon"})),
                     ":1: record entry[0].messaging[0].timestamp: not an ISO 8601 timestamp: "
                     "'soon'", id="bad-timestamp"),
        pytest.param(lines(hook({"recipient": {"id": PAGE}, "timestamp": T0,
                                 "message": {"mid": "m_3", "text": "x"}})),
                     ":1: record entry[0].messaging[0].sender: missing", id="missing-sender"),
        pytest.param(lines(hook(text_from(ANA, "m_4", 0, ["x"]))),
                     ":1: record entry[0].messaging[0].message.text: expected a string, found a "
                     "list", id="wrong-type"),
        pytest.param(lines({"object": "page", "entry": [{"time": 1, "messaging": []}]}),
                     ":1: record entry[0].id: missing", id="entry-without-id"),
        pytest.param(lines(change("feed", {"item": "comment", "verb": "add", "message": "x",
                                           "created_time": 1717236000})),
                     ":1: record entry[0].changes[0].value.comment_id: missing",
                     id="comment-without-id"),
        pytest.param(lines(GOOD, wa_body({"messages": []})),
                     ":2: expected a Messenger or Instagram webhook body", id="whatsapp-body"),
        pytest.param(json.dumps([json.loads(GOOD), ["nested"]], indent=2),
                     ": record [1]: expected a Messenger or Instagram webhook body",
                     id="list-item"),
        pytest.param(json.dumps({"object": "page"}, indent=2),
                     ": expected a Messenger or Instagram webhook body", id="no-entry"),
    ],
)  # fmt: skip
def test_bad_input_names_file_record_and_problem(
    content: str, expected: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "hooks.jsonl", content)
    with pytest.raises(InputError) as caught:
        webhooks.read(
            path,
            ReadOptions(),
        )
    assert str(caught.value).startswith(f"{path}{expected}"), str(caught.value)


def test_skip_bad_rows_records_the_skip(tmp_path: Path) -> None:
    bad = hook(event(ANA, PAGE, 0, message={"text": "no id"}))
    path = write(tmp_path / "hooks.jsonl", lines(GOOD, "not json", bad))
    options = ReadOptions(skip_bad_rows=True)
    got = webhooks.read(path, options)
    assert got[messages.ID].tolist() == ["m_1"]
    assert [str(skip) for skip in options.skipped] == [
        f"{path}:2: broken JSON: Expecting value at column 1",
        f"{path}:3: record entry[0].messaging[0].message.mid: missing",
    ]


def test_cli_refuses_a_malformed_payload_in_one_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hooks.jsonl", lines(GOOD, hook(event(ANA, PAGE, 0, message={"text": "no id"})))
    )
    out = tmp_path / "out"
    for args in (["run", "--fixtures", path, "--out", out], ["validate", path]):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 2, result.output
        assert (
            result.output == f"error: {path}:2: record entry[0].messaging[0].message.mid: missing\n"
        )
    assert not out.exists()


def test_cli_runs_a_webhook_log(tmp_path: Path) -> None:
    """Ben's unanswered chat counts against the Page, never against (unknown)."""
    path, out = write(tmp_path / "hooks.jsonl", MESSENGER_LOG), tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--fixtures", str(path), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    probes = pd.read_csv(out / "probes.csv", dtype=str)
    assert probes[["probe_id", "brand", "responded"]].values.tolist() == [
        ["m_a1", PAGE, "true"],
        ["m_b1", PAGE, "false"],
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert [s["format"] for s in summary["sources"]] == ["meta-webhooks"]

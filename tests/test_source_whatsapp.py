"""WhatsApp Cloud API webhook bodies (socialbench.sources.whatsapp)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXTERNAL
from conftest import SOURCE_DATA as DATA

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, messages, read_head, whatsapp

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
    messages.FOLLOWERS,
]
BUSINESS = "15550001111"
CHAT_ANA = "106000000000001:447700900001"
CHAT_BEN = "106000000000001:447700900002"
FIXTURE_LINE = '{"id": "1", "author": "a", "created_at": "2024-01-01T00:00:00Z", "text": "hi"}\n'


def table(rows: list[tuple]) -> pd.DataFrame:
    """Expected messages: (id, parent, conversation, author, is_brand, created_at, text)."""
    frame = pd.DataFrame(rows, columns=COLUMNS[:7])
    frame[messages.CHANNEL] = "whatsapp"
    frame[messages.SURFACE] = "private"
    return messages.normalize(frame)[COLUMNS]


def samples(name: str) -> dict:
    if not EXTERNAL.is_dir():
        pytest.skip(f"{EXTERNAL} (…/data/external) not present: real samples unavailable")
    return json.loads((EXTERNAL / "whatsapp_webhook_samples" / name).read_text())


def body(value: dict, field: str = "messages") -> dict:
    metadata = {"display_phone_number": BUSINESS, "phone_number_id": "106000000000001"}
    change = {"field": field, "value": {"messaging_product": "whatsapp", "metadata": metadata}}
    change["value"].update(value)
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def text(ident: str, when: str = "1717236000", sender: str = "447700900001") -> dict:
    message = {"from": sender, "id": ident, "timestamp": when, "type": "text"}
    return {**message, "text": {"body": f"text {ident}"}}


def write(path: Path, lines: list[dict | str] | bytes) -> Path:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        rows = [line if isinstance(line, str) else json.dumps(line) for line in lines]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("whatsapp_webhooks.jsonl", True, id="webhooks"),
        pytest.param("x_v2_pages.jsonl", False, id="x-v2"),
        pytest.param("graph_messenger_messages.json", False, id="graph"),
        pytest.param("generic_export.jsonl", False, id="generic"),
    ],
)
def test_sniff(name: str, expected: bool) -> None:
    path = DATA / name
    assert whatsapp.sniff(read_head(path), path) is expected


def test_sniff_rejects_fixture() -> None:
    assert not whatsapp.sniff(FIXTURE_LINE, Path("input"))


# --- hand-made inputs -------------------------------------------------------------------------


def test_webhook_log() -> None:
    """Texts, a quoted reply, a retry, a caption, a reaction, an echo, statuses, other fields."""
    got = whatsapp.read(DATA / "whatsapp_webhooks.jsonl", ReadOptions())
    expected = table(
        [
            ("wamid.A1", None, CHAT_ANA, "447700900001", False, "2024-06-01T10:00:00Z",
             "Hi, my order hasn't arrived"),
            ("wamid.A2", "wamid.B1", CHAT_ANA, "447700900001", False, "2024-06-01T10:08:20Z",
             "It's order 42"),
            ("wamid.C1", None, CHAT_BEN, "447700900002", False, "2024-06-01T11:00:00Z",
             "The screen arrived broken"),
            ("wamid.B2", "wamid.C1", CHAT_BEN, BUSINESS, True, "2024-06-01T11:10:00Z",
             "We're sorry, Ben. A replacement is on its way."),
            ("wamid.B1", "wamid.A1", CHAT_ANA, BUSINESS, True, "2024-06-01T10:05:00Z", ""),
        ]
    )  # fmt: skip
    pd.testing.assert_frame_equal(got[COLUMNS], expected)


def test_status_time_is_the_earliest_status(tmp_path: Path) -> None:
    statuses = [
        {"id": "wamid.B", "status": "read", "timestamp": "1717236400", "recipient_id": "4477"},
        {"id": "wamid.B", "status": "sent", "timestamp": "1717236300", "recipient_id": "4477"},
        {"id": "wamid.F", "status": "failed", "timestamp": "1717236300", "recipient_id": "4477"},
    ]
    path = write(tmp_path / "statuses.jsonl", [body({"statuses": statuses})])
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["wamid.B"]
    assert got[messages.CREATED_AT].tolist() == [pd.Timestamp("2024-06-01T10:05:00Z")]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            {"type": "image", "image": {"caption": "look", "id": "9"}}, "look", id="caption"
        ),
        pytest.param({"type": "audio", "audio": {"id": "9", "voice": True}}, "", id="voice"),
        pytest.param(
            {"type": "button", "button": {"payload": "p", "text": "Yes"}}, "Yes", id="button"
        ),
        pytest.param(
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "1", "title": "Refund"}},
            },
            "Refund",
            id="interactive",
        ),
        pytest.param({"type": "location", "location": {"latitude": 1.0}}, "", id="location"),
        pytest.param({"type": "unsupported"}, "", id="unsupported"),
    ],
)
def test_non_text_messages(tmp_path: Path, message: dict, expected: str) -> None:
    item = {"from": "4477", "id": "wamid.X", "timestamp": "1717236000", **message}
    path = write(tmp_path / "one.jsonl", [body({"messages": [item]})])
    assert whatsapp.read(path, ReadOptions())[messages.TEXT].tolist() == [expected]


def test_brand_handles_mark_any_author(tmp_path: Path) -> None:
    path = write(tmp_path / "one.jsonl", [body({"messages": [text("wamid.1")]})])
    got = whatsapp.read(path, ReadOptions(brand_handles=frozenset({"447700900001"})))
    assert got[messages.AUTHOR_IS_BRAND].tolist() == [True]


# --- real samples -----------------------------------------------------------------------------


def test_real_message_bodies_one_per_line(tmp_path: Path) -> None:
    """message.json: 23 cases; reactions are not messages; the samples reuse wamid.xyzxyz."""
    cases = samples("message.json")
    path = write(tmp_path / "message.jsonl", list(cases.values()))
    assert whatsapp.sniff(read_head(path), path)
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ["wamid.xyzxyz", "wamid.wegrchytvwcggt=", "wamid.ID"]
    assert got[messages.TEXT].iloc[0] == "Body Text"
    assert got[messages.CREATED_AT].iloc[0] == pd.Timestamp(1697043223, unit="s", tz="UTC")
    assert (got[messages.AUTHOR_IS_BRAND] == False).all()  # noqa: E712
    assert set(got[messages.CONVERSATION_ID]) == {"1122334455667:972987654321"}


@pytest.mark.parametrize(
    ("name", "ids", "brand"),
    [
        pytest.param("message_status.json", ["wamid.xyzxyz", "<WHATSAPP_MESSAGE_ID>"], True,
                     id="statuses"),
        pytest.param("outgoing_message.json", ["<WHATSAPP_MESSAGE_ID>"], True, id="echoes"),
        pytest.param("callback_button.json", ["wamid.xyzxyz", "wamid.xsidjw", "wamid.xsidjx"],
                     False, id="buttons"),
        pytest.param("system.json", [], None, id="system-notices"),
        pytest.param("deleted_message.json", [], None, id="deletions"),
        pytest.param("edited_message.json", [], None, id="edits"),
    ],
)  # fmt: skip
def test_real_samples_parse(tmp_path: Path, name: str, ids: list, brand: bool | None) -> None:
    path = write(tmp_path / "bodies.jsonl", list(samples(name).values()))
    got = whatsapp.read(path, ReadOptions())
    assert got[messages.ID].tolist() == ids
    if ids:
        assert set(got[messages.AUTHOR_IS_BRAND]) == {brand}


# --- bad input --------------------------------------------------------------------------------


GOOD = json.dumps(body({"messages": [text("wamid.1")]}))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([GOOD, '{"object": "whatsapp_business_account", "entry": ['],
                     [":2:", "broken JSON"], id="broken-json"),
        pytest.param([GOOD, body({"messages": [text("wamid.2", "2024-06-01")]})],
                     [":2: record entry[0].changes[0].value.messages[0].timestamp",
                      "not an epoch-seconds timestamp: '2024-06-01'"], id="bad-timestamp"),
        pytest.param([body({"messages": [{"id": "wamid.3", "timestamp": "1717236000"}]})],
                     [":1: record entry[0].changes[0].value.messages[0].from: missing"],
                     id="missing-from"),
        pytest.param([body({"statuses": [{"id": "w", "status": "sent", "timestamp": "1"}]})],
                     [":1: record entry[0].changes[0].value.statuses[0].recipient_id: missing"],
                     id="status-missing-recipient"),
        pytest.param([body({"messages": [{**text("wamid.4"), "from": ["4477"]}]})],
                     ["messages[0].from: expected a string, found a list"], id="wrong-type"),
        pytest.param([{"object": "whatsapp_business_account", "entry": [{"changes": [
                         {"field": "messages", "value": {"messages": [text("wamid.5")]}}]}]}],
                     [":1: record entry[0].changes[0].value.metadata: missing"],
                     id="missing-metadata"),
        pytest.param([GOOD, {"object": "page", "entry": []}],
                     [":2:", "expected a WhatsApp Cloud API webhook body",
                      "found an object with keys entry, object"], id="unknown-shape"),
    ],
)  # fmt: skip
def test_bad_input(tmp_path: Path, lines: list, expected: list[str]) -> None:
    path = write(tmp_path / "hooks.jsonl", lines)
    with pytest.raises(InputError) as caught:
        whatsapp.read(path, ReadOptions())
    for part in expected:
        assert part in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_non_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "hooks.jsonl", (GOOD + "\n").encode() + b'{"x": "\xff"}\n')
    with pytest.raises(InputError, match=r"hooks\.jsonl:2: text is not UTF-8"):
        whatsapp.read(path, ReadOptions())


def test_unknown_document_shape(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{\n  "text": {"name": "case"}\n}\n')
    with pytest.raises(InputError, match=r"doc\.json: expected a WhatsApp Cloud API webhook body"):
        whatsapp.read(path, ReadOptions())


def test_skip_bad_rows_records_the_skip(tmp_path: Path) -> None:
    lines = [GOOD, "not json", body({"messages": [text("wamid.2", "soon")]}), body({})]
    path = write(tmp_path / "hooks.jsonl", lines)
    options = ReadOptions(skip_bad_rows=True)
    got = whatsapp.read(path, options)
    assert got[messages.ID].tolist() == ["wamid.1"]
    assert [(bad.line, bad.problem.split(":")[0]) for bad in options.skipped] == [
        (2, "broken JSON"),
        (3, "record entry[0].changes[0].value.messages[0].timestamp"),
    ]


def test_quote_of_a_message_missing_from_the_log_falls_back_to_the_chat_opener(tmp_path: Path):
    quoting = {**text("wamid.2", when="1717236060"), "context": {"id": "wamid.template"}}
    present = {**text("wamid.3", when="1717236120"), "context": {"id": "wamid.1"}}
    path = write(tmp_path / "chat.jsonl", [body({"messages": [text("wamid.1"), quoting, present]})])
    got = whatsapp.read(path, ReadOptions()).set_index(messages.ID)
    assert got.loc["wamid.2", messages.PARENT_ID] == "wamid.1"
    assert got.loc["wamid.3", messages.PARENT_ID] == "wamid.1"
    assert pd.isna(got.loc["wamid.1", messages.PARENT_ID])


# --- the business account ---------------------------------------------------------------------


def echo(ident: str, when: str, customer: str) -> dict:
    message = {"from": BUSINESS, "to": customer, "id": ident, "timestamp": when, "type": "text"}
    return {**message, "text": {"body": f"reply {ident}"}}


def test_unanswered_chat_names_the_business_as_an_answered_one_spells_its_replies(
    tmp_path: Path,
) -> None:
    """Ana's chat is answered (an echo), Ben's is not: both name the business number."""
    lines = [
        body({"messages": [text("wamid.A1"), text("wamid.B1", sender="447700900002")]}),
        body({"message_echoes": [echo("wamid.R1", "1717236300", "447700900001")]},
             field="smb_message_echoes"),
    ]  # fmt: skip
    got = whatsapp.read(write(tmp_path / "hooks.jsonl", lines), ReadOptions())
    got = got.set_index(messages.ID)
    reply_author = got.loc["wamid.R1", messages.AUTHOR]
    assert got.loc["wamid.R1", messages.AUTHOR_IS_BRAND]
    assert reply_author == BUSINESS
    assert got.loc["wamid.B1", messages.CONVERSATION_ID] == CHAT_BEN  # unanswered, own chat
    assert got[messages.ACCOUNT].tolist() == [reply_author] * 3


def test_account_on_every_message_of_the_log() -> None:
    got = whatsapp.read(DATA / "whatsapp_webhooks.jsonl", ReadOptions())
    assert set(got[messages.ACCOUNT]) == {BUSINESS}
    assert set(got.loc[got[messages.AUTHOR_IS_BRAND], messages.AUTHOR]) == {BUSINESS}


def test_account_without_a_display_number_is_the_phone_number_id(tmp_path: Path) -> None:
    """Spelled as the business's replies are: display_phone_number, else phone_number_id."""
    value = body({"messages": [text("wamid.1")]})
    value["entry"][0]["changes"][0]["value"]["metadata"].pop("display_phone_number")
    status = body({"statuses": [{"id": "wamid.2", "status": "sent", "timestamp": "1717236300",
                                 "recipient_id": "447700900002"}]})  # fmt: skip
    status["entry"][0]["changes"][0]["value"]["metadata"].pop("display_phone_number")
    got = whatsapp.read(write(tmp_path / "hooks.jsonl", [value, status]), ReadOptions())
    assert got[messages.AUTHOR].tolist() == ["447700900001", "106000000000001"]
    assert got[messages.ACCOUNT].tolist() == ["106000000000001", "106000000000001"]


def test_real_bodies_name_the_business_number(tmp_path: Path) -> None:
    """Customer messages name the number the business's echoes are authored by."""
    bodies = [*samples("message.json").values(), *samples("outgoing_message.json").values()]
    got = whatsapp.read(write(tmp_path / "bodies.jsonl", bodies), ReadOptions())
    brand = got[messages.AUTHOR_IS_BRAND].astype(bool)
    assert brand.any() and (~brand).any()
    assert set(got.loc[brand, messages.AUTHOR]) == {"972123456789"}
    assert set(got[messages.ACCOUNT]) == {"972123456789"}

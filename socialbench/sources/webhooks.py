"""Meta webhook payloads for Pages and Instagram accounts: Messenger and Instagram messages,
Facebook Page comments and Instagram comments, as a webhook receiver logs them.

A file holds webhook bodies ``{"object": "page" | "instagram", "entry": [...]}``: one body, a
JSON array of bodies, or JSON Lines with one body (or array of bodies) per line, as an observe
store exports them. Each entry is ``{"id": <Page or Instagram account id>, "time", "messaging":
[...], "standby": [...], "changes": [...]}``.

Shapes relied on (checked against Meta's references and restfb's test resources,
``src/test/resources/json/webhooks/*.json`` and ``json/instagram/wh-*.json``):

- Messenger Platform "messages" and "message_echoes" webhook events (developers.facebook.com/
  documentation/business-messaging/messenger-platform/webhooks/webhook-events/messages and
  .../message-echoes): ``{"sender": {"id": <PSID>}, "recipient": {"id": <PAGE_ID>},
  "timestamp": <ms>, "message": {"mid", "text", "reply_to": {"mid"}, "attachments"}}``; an echo
  has ``message.is_echo: true``, ``app_id`` and sender = the Page, recipient = the customer.
  Echoes and messages may arrive under ``standby`` instead of ``messaging`` (handover
  protocol). Instagram messaging uses the same events with ``object: "instagram"`` (echoes come
  with the ``messages`` field there).
- Page ``feed`` changes (restfb ``feed-comment-add-*.json``, ``feed-post-add-25.json``):
  ``{"item": "comment" | "post" | "status" | "photo" | "video" | "share", "verb": "add",
  "comment_id", "post_id", "parent_id", "from": {"id", "name"}, "created_time": <s>,
  "message"}``, older payloads ``sender_id`` / ``sender_name`` instead of ``from``; ``mention``
  changes (restfb ``mention-*.json``) have the same value.
- Instagram ``comments`` / ``live_comments`` changes (Meta, "Instagram Platform Webhook
  Notification Examples"; Graph API changelog, Oct 20 2021): ``{"id", "text", "from": {"id",
  "username"}, "media": {"id", "media_product_type"}, "parent_id"}``, no time of their own.

Rows:

- **Private messages** (Messenger: channel "messenger"; Instagram: "instagram"; surface
  "private"): a ``message`` with a ``mid`` (or a ``postback`` with one: the customer tapped a
  button, text = its title). Its author is the sender; an echo is a brand message, anything
  else a customer message. The account of the chat is the Page (the customer message's
  recipient, the echo's sender). One chat per account and customer: ``conversation_id`` is
  ``<account id>:<customer id>``; ``parent_id`` is the quoted message (``reply_to.mid``) when
  present in the data, else the chat's earliest message, which opens the chat. Deleted
  messages (``is_deleted``), edits, reactions, reads, deliveries, opt-ins and referrals are not
  messages. ``app_id`` on an echo names the sending app, which may be a helpdesk relaying a
  person's reply, so it is not read as automation.
- **Facebook comments** (``feed`` and ``mention`` changes of a Page; channel "facebook",
  surface "public"): a comment (``verb`` "add") whose parent is the comment it answers
  (``parent_id``) or, when it answers the post, the post if the post is a message of the
  data, else nothing (it opens a thread). A post added to the Page's feed by someone else (a
  visitor post), or a post or comment that mentions the Page, is a customer message; the
  Page's own posts are context. Time ``created_time`` (epoch seconds), else the entry's time.
  Author ``from.name``, else ``from.id`` (or ``sender_name`` / ``sender_id``); unknown when the
  payload has none (``author`` and ``author_is_brand`` <NA>).
- **Instagram comments** (``comments`` and ``live_comments`` changes; channel "instagram",
  surface "public"): a reply's parent is ``parent_id``; author ``from.username`` (else
  ``from.id``); time the entry's ``time``, the time Meta sent the notification, the only time
  the payload gives. ``mentions`` changes carry only ids (``comment_id``, ``media_id``) and
  are not rows: fetch the comment with the Graph API (the ``graph`` format reads it).

A comment's ``conversation_id`` is its thread's top message (or the missing message the top
replies to).

Brand accounts and accounts. The entry's id is the Page or Instagram account the webhook was
delivered for: it is the brand account and the ``account`` of every message of the entry
(private chats: the Page the event names). Its own messages (echoes; comments whose ``from.id``
is that id) are brand messages; others are customer messages. An author named in ``--brands``
(id or name) is a brand. The account is spelled as its own messages spell their author: its
name when a payload of the file gives it (``from.name`` / ``from.username`` on its own
comments), else its id; every message the account wrote is authored the same way.

Times. Messaging times are epoch milliseconds and change times epoch seconds (Meta sends both;
``entry.time`` is either): a number of 12 or more digits is read as milliseconds. An ISO 8601
string is accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, messages
from socialbench.sources.payloads import (
    RecordError,
    dedupe,
    describe,
    epoch,
    iso_instant,
    join,
    json_values,
    optional_str,
    report,
    required_str,
    text_field,
    thread_chats,
    thread_replies,
    to_table,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "meta-webhooks"
DESCRIPTION = "Messenger and Instagram webhook payloads: messages, echoes, Page and IG comments"

FACEBOOK, MESSENGER, INSTAGRAM = "facebook", "messenger", "instagram"
CHAT_CHANNEL = {"page": MESSENGER, "instagram": INSTAGRAM}
FEED_FIELDS = frozenset({"feed", "mention"})
IG_COMMENT_FIELDS = frozenset({"comments", "live_comments"})
POST_ITEMS = frozenset({"post", "status", "photo", "video", "share"})
_SNIFF = re.compile(r'"object"\s*:\s*"(page|instagram)"')
_EXPECTED = 'a Messenger or Instagram webhook body {"object": "page" | "instagram", "entry": [...]}'

Row = dict[str, Any]


def sniff(head: str, path: Path) -> bool:
    """A webhook body's markers: ``"object": "page"`` (or ``"instagram"``) and ``"entry"``."""
    return bool(_SNIFF.search(head)) and '"entry"' in head


def read(path: Path, options: ReadOptions) -> pd.DataFrame:
    rows: list[Row] = []
    for line, value in json_values(path, options):
        reader = _Reader(path, options, line)
        for record, body in _bodies(value):
            reader.body(body, record)
        rows.extend(reader.rows)
    rows = dedupe(rows)
    chats = [row for row in rows if row[messages.SURFACE] == messages.PRIVATE]
    comments = [row for row in rows if row[messages.SURFACE] == messages.PUBLIC]
    thread_chats(chats)
    _answer_posts(comments)
    thread_replies(comments)
    _spell_accounts(rows)
    _mark_brands(rows, options.brand_handles)
    return to_table(rows)


def _bodies(value: Any):
    """(record path, body) for one JSON value: a body, or a list of them."""
    if isinstance(value, list):
        yield from ((f"[{i}]", body) for i, body in enumerate(value))
    else:
        yield "", value


class _Reader:
    """Turns the webhook bodies of one JSON value into rows, reporting bad records."""

    def __init__(self, path: Path, options: ReadOptions, line: int | None) -> None:
        self.path, self.options, self.line = path, options, line
        self.rows: list[Row] = []

    def bad(self, record: str, error: RecordError) -> None:
        where = join(record, error.field)
        if self.line is None and not where:
            raise InputError(self.path, error.problem)
        report(self.options, self.path, error.problem, line=self.line, record=where)

    def body(self, body: Any, record: str) -> None:
        kind = body.get("object") if isinstance(body, dict) else None
        entries = body.get("entry") if isinstance(kind, str) and kind in CHAT_CHANNEL else None
        if not isinstance(entries, list):
            self.bad(record, RecordError("", f"expected {_EXPECTED}, found {describe(body)}"))
            return
        for i, entry in enumerate(entries):
            self.entry(entry, join(record, f"entry[{i}]"), kind)

    def entry(self, entry: Any, record: str, kind: str) -> None:
        try:
            entry = _object(entry)
            account = required_str(entry, "id")
            sent = _instant(entry, "time") if entry.get("time") is not None else None
        except RecordError as exc:
            self.bad(record, exc)
            return
        for field in ("messaging", "standby"):
            for sub, event in _items(entry, field, record):
                self.add(sub, _chat_row, event, CHAT_CHANNEL[kind])
        for sub, change in _items(entry, "changes", record):
            self.add(sub, _change_row, change, kind, account, sent)

    def add(self, record: str, make: Callable[..., Row | None], *args: Any) -> None:
        """The row ``make(*args)`` builds, if any; a RecordError is a bad record."""
        try:
            row = make(*args)
        except RecordError as exc:
            self.bad(record, exc)
            return
        if row is not None:
            self.rows.append(row)


def _items(entry: dict, field: str, record: str) -> list[tuple[str, Any]]:
    items = entry.get(field)
    if not isinstance(items, list):
        return []
    return [(join(record, f"{field}[{i}]"), item) for i, item in enumerate(items)]


def _object(item: Any, field: str = "") -> dict:
    if not isinstance(item, dict):
        missing = item is None
        problem = "missing" if missing else f"expected an object, found {describe(item)}"
        raise RecordError(field, problem, missing=missing)
    return item


def _within(field: str, get: Callable[[dict, str], Any], record: dict, name: str) -> Any:
    """``get(record, name)`` with errors named ``field.name``."""
    try:
        return get(record, name)
    except RecordError as exc:
        raise RecordError(join(field, exc.field), exc.problem, missing=exc.missing) from None


def _instant(record: dict, field: str) -> datetime:
    """Epoch seconds or milliseconds (12+ digits), or an ISO 8601 string."""
    raw = required_str(record, field)
    digits = raw.removeprefix("-")
    if not digits.isdigit():
        return iso_instant(record, field)
    return epoch(record, field, millis=len(digits) >= 12)


# --- private messages -------------------------------------------------------------------------


def _chat_row(event: Any, channel: str) -> Row | None:
    event = _object(event)
    content, text_key = event.get("message"), "text"
    if content is None and isinstance(event.get("postback"), dict) and event["postback"].get("mid"):
        content, text_key = event["postback"], "title"
    if content is None:
        return None  # reads, deliveries, reactions, edits, referrals, opt-ins, ...
    field = "message" if text_key == "text" else "postback"
    content = _object(content, field)
    if content.get("is_deleted") is True:
        return None
    ident = _within(field, required_str, content, "mid")
    echo = content.get("is_echo") is True
    sender, recipient = _party(event, "sender"), _party(event, "recipient")
    page, customer = (sender, recipient) if echo else (recipient, sender)
    return {
        messages.ID: ident,
        messages.CREATED_AT: _instant(event, "timestamp"),
        messages.AUTHOR: sender,
        messages.AUTHOR_IS_BRAND: echo,
        messages.TEXT: _within(field, text_field, content, text_key),
        messages.CHANNEL: channel,
        messages.SURFACE: messages.PRIVATE,
        messages.CONVERSATION_ID: f"{page}:{customer}",
        messages.ACCOUNT: page,
        "_author_id": sender,
        "_author_name": None,
        "_quoted": _quoted(content),
    }


def _party(event: dict, field: str) -> str:
    """The id of a ``sender`` or ``recipient`` (a chat plugin's guest has a ``user_ref``)."""
    party = _object(event.get(field), field)
    ident = _within(field, optional_str, party, "id")
    ident = ident or _within(field, optional_str, party, "user_ref")
    if ident is None:
        raise RecordError(f"{field}.id", "missing", missing=True)
    return ident


def _quoted(content: dict) -> str | None:
    reply_to = content.get("reply_to")
    mid = reply_to.get("mid") if isinstance(reply_to, dict) else None
    return mid if isinstance(mid, str) and mid else None


# --- comments ---------------------------------------------------------------------------------


def _change_row(change: Any, kind: str, account: str, sent: datetime | None) -> Row | None:
    """The message of one change; ``sent`` is the entry's time (when Meta sent it)."""
    change = _object(change)
    field, value = change.get("field"), change.get("value")
    if isinstance(value, dict) and "sender" in value and "recipient" in value:
        return _chat_row(value, CHAT_CHANNEL[kind])  # a messaging event in the changes form
    if kind == "page" and field in FEED_FIELDS:
        return _feed_row(_object(value, "value"), account, sent, mention=field == "mention")
    if kind == "instagram" and field in IG_COMMENT_FIELDS:
        return _ig_comment_row(_object(value, "value"), account, sent)
    return None  # other fields (reactions, ratings, Instagram mentions, ...) hold no message


def _feed_row(value: dict, account: str, sent: datetime | None, *, mention: bool) -> Row | None:
    item = value.get("item")
    if value.get("verb") != "add" or not (item == "comment" or item in POST_ITEMS):
        return None
    author_id, author_name = _author(value)
    post = _within("value", optional_str, value, "post_id")
    if item == "comment":
        ident = _within("value", required_str, value, "comment_id")
        parent = _within("value", optional_str, value, "parent_id") or post
    else:
        if not (mention or (author_id and author_id != account)):
            return None  # the Page's own post: context, not a message
        ident, parent, post = _within("value", required_str, value, "post_id"), None, None
    created = None
    if value.get("created_time") is not None:
        created = _within("value", _instant, value, "created_time")
    return {
        **_comment(ident, parent, author_id, author_name, FACEBOOK, account),
        messages.CREATED_AT: _time(created or sent, "value.created_time"),
        messages.TEXT: _within("value", text_field, value, "message"),
        "_post": post,
    }


def _time(moment: datetime | None, field: str) -> datetime:
    """A change's time, else its entry's; neither is a bad record."""
    if moment is None:
        raise RecordError(field, "no time: missing, and the entry has no time", missing=True)
    return moment


def _ig_comment_row(value: dict, account: str, sent: datetime | None) -> Row:
    sender = value.get("from")
    sender = _object(sender, "value.from") if sender is not None else {}
    author_id = _within("value.from", optional_str, sender, "id")
    author_name = _within("value.from", optional_str, sender, "username")
    ident = _within("value", required_str, value, "id")
    parent = _within("value", optional_str, value, "parent_id")
    return {
        **_comment(ident, parent, author_id, author_name, INSTAGRAM, account),
        messages.CREATED_AT: _time(sent, ""),
        messages.TEXT: _within("value", text_field, value, "text"),
        "_post": None,
    }


def _author(value: dict) -> tuple[str | None, str | None]:
    """(id, name) of a feed change's author: ``from``, else ``sender_id`` / ``sender_name``."""
    sender = value.get("from")
    if sender is not None:
        sender = _object(sender, "value.from")
        return (
            _within("value.from", optional_str, sender, "id"),
            _within("value.from", optional_str, sender, "name"),
        )
    return (
        _within("value", optional_str, value, "sender_id"),
        _within("value", optional_str, value, "sender_name"),
    )


def _comment(
    ident: str, parent: str | None, author_id: str | None, name: str | None, channel: str, page: str
) -> Row:
    return {
        messages.ID: ident,
        messages.PARENT_ID: parent,
        messages.AUTHOR: name or author_id,
        messages.AUTHOR_IS_BRAND: (author_id == page) if (author_id or name) else None,
        messages.CHANNEL: channel,
        messages.SURFACE: messages.PUBLIC,
        messages.ACCOUNT: page,
        "_author_id": author_id,
        "_author_name": name,
    }


def _answer_posts(rows: list[Row]) -> None:
    """A comment on a post replies to the post when the post is a message of the data."""
    known = {row[messages.ID] for row in rows}
    for row in rows:
        if row["_post"] and row[messages.PARENT_ID] == row["_post"] and row["_post"] not in known:
            row[messages.PARENT_ID] = None


# --- accounts and brands ----------------------------------------------------------------------


def _spell_accounts(rows: list[Row]) -> None:
    """Name an account (and its own messages) as the file names it, else by its id."""
    names: dict[str, str] = {}
    for row in rows:
        if row["_author_id"] and row["_author_name"]:
            names.setdefault(row["_author_id"], row["_author_name"])
    for row in rows:
        row[messages.ACCOUNT] = names.get(row[messages.ACCOUNT], row[messages.ACCOUNT])
        if row["_author_id"] in names:
            row[messages.AUTHOR] = names[row["_author_id"]]


def _mark_brands(rows: list[Row], handles: frozenset[str]) -> None:
    for row in rows:
        keys = {row[messages.AUTHOR], row["_author_id"]} - {None}
        if {key.lower() for key in keys} & handles:
            row[messages.AUTHOR_IS_BRAND] = True

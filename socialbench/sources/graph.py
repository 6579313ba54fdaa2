"""Meta Graph API JSON: Facebook Page comments, Messenger conversations, Instagram comments.

A file holds one Graph API response (usually one JSON document; JSON Lines with one response
per line works too). A response is a page ``{"data": [...], "paging": {...}}``, a single
object, a ``?ids=`` answer ``{"<id>": {...}, ...}`` or a list. Each object is recognised by
its fields:

- **Messenger conversation** (``messages`` field, or an id starting ``t_``): its
  ``messages.data`` are the messages. Channel "messenger", surface "private",
  ``conversation_id`` = the conversation id.
- **Messenger message** (``to`` field without a post's fields, or an id starting ``m_``): a
  message listed without its conversation; messages between the same participants form one
  conversation whose ``conversation_id`` is unknown (<NA>).
- **Instagram comment** (``timestamp``): channel "instagram", surface "public", text from
  ``text``, author from ``username`` (else ``from.username``, ``from.id`` or ``user.id``).
  ``replies.data`` are replies to it; ``parent_id`` marks a reply too.
- **Facebook comment** (``created_time``): channel "facebook", surface "public", text from
  ``message``, author from ``from.name`` (else ``from.id``). ``comments.data`` are replies to
  it; ``parent.id`` marks a reply too. A comment without ``id`` (not requested) gets
  ``<post id>_<comment id>`` from its ``permalink_url``, whose ``reply_comment_id`` also names
  the comment it replies to (flat ``filter=stream`` listings).
- **Facebook post** (``status_type``, ``type``, ``story``, ``full_picture``, ``privacy`` or
  ``updated_time``, a ``permalink_url`` without ``comment_id``, or ``to`` together with
  ``comments``), or any object answered with its ``comments`` but no ``created_time`` (the
  answer of ``/{object-id}?fields=comments``; an object with nothing but its ``id`` is such an
  answer for an object without comments, and holds no message): its ``comments.data`` are
  top-level comments (Instagram ones when they carry ``timestamp``). A Page's own post is
  context, not a message. A post written to a Page by someone else (a visitor post: ``to``
  names the Page, which also owns the post when its id is ``<page id>_<post id>``, and
  ``from`` is another profile) is a customer message: it opens the thread and its comments
  reply to it. Shapes relied on: Meta's Post reference ("an individual post in a profile's
  feed"; ``to``: "profiles mentioned or targeted in this post"; ``type`` deprecated in v3.3
  but present in older exports) and restfb's test resource ``post-with-normal-comments.json``.
- ``{"mentioned_comment": {...}}`` (Instagram mentions) is the comment inside.

Threads. A top-level comment opens a thread; a reply's ``parent_id`` is the comment it answers
and its ``conversation_id`` the top-level comment. In Messenger the earliest message of a
conversation opens it and every later message's ``parent_id`` is that first message.

Authors. Comments fetched without the ``from`` field carry no author: ``author`` and
``author_is_brand`` are then <NA>.

Brand accounts. An author whose name or id (Facebook, Messenger) or username (Instagram)
is in ``--brands`` is a brand.

- Facebook comments: the Page that owns the post is a brand. The payload names it only in a
  comment's ``permalink_url`` (``facebook.com/<page>/posts/...``), in a post's id
  (``<page id>_<post id>``) or in a visitor post's ``to`` (its id and name); a comment whose
  ``from.id`` (or name) is that Page is the Page's.
  When the payload cannot tell, ``--brands`` is how the Page is named. Other authors are
  customers (False).
- Instagram comments: the API returns the ``user`` field only on comments written by the app
  user, i.e. the business account itself, so those comments (and others by the same username)
  are brand comments; ``--brands`` names the account otherwise. Other authors are customers.
- Messenger: the Page is known from ``--brands`` (matching any participant's name or id), from
  a conversation's ``link`` (``/<page id>/inbox/...``), or as the one participant present in
  every conversation when the file holds two or more. Its messages are brand messages and the
  other participant's are customer messages. In a conversation where the Page cannot be told
  (a single conversation, no link, no ``--brands``), ``author_is_brand`` is <NA>.

Accounts (``account``, the business account the platform names for the conversation), on every
message of the conversation, answered or not, spelled as the account's own messages spell
their ``author`` (its name, else its id):

- Messenger: the conversation's Page, found as above (its inbox ``link`` first); spelled as its
  messages' author in the file, else by the name it is listed under as a recipient or
  participant, else its id. <NA> where the Page cannot be told.
- Facebook comments: the Page that owns the post (``permalink_url`` or the post id), for every
  comment of the thread and of other threads under the same post (comment ids
  ``<post id>_<comment id>``); spelled as that Page's comments' author when the file holds one, else
  as the payload names it (a visitor post's ``to`` name, else the id or vanity name in the
  permalink). <NA> when not named.
- Instagram comments: <NA> (the payloads name no owner of the media).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, messages
from socialbench.sources.payloads import (
    RecordError,
    dedupe,
    describe,
    iso_instant,
    join,
    json_values,
    optional_str,
    report,
    required_str,
    text_field,
    thread_replies,
    to_table,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "graph"
DESCRIPTION = "Meta Graph API JSON: Facebook Page comments, Messenger conversations, IG comments"

FACEBOOK, MESSENGER, INSTAGRAM = "facebook", "messenger", "instagram"
_GRAPH_TIME = r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}"'
_SNIFF = re.compile(rf'"(created_time|timestamp)"\s*:\s*{_GRAPH_TIME}')
_INBOX_LINK = re.compile(r"^/(\d+)/inbox/")
_EXPECTED = (
    "Graph API JSON (Facebook comments, Messenger conversations or messages, Instagram comments)"
)
_RECORD_KEYS = ("id", "created_time", "timestamp", "messages", "message", "text")
# fields of a Post that neither a Messenger message nor a comment has
_POST_FIELDS = frozenset(
    {"status_type", "type", "story", "full_picture", "privacy", "updated_time"}
)

Row = dict[str, Any]


def sniff(head: str, path: Path) -> bool:
    """Graph's own timestamp style ("2021-08-10T18:45:03+0000") in created_time or timestamp."""
    return bool(_SNIFF.search(head))


def read(path: Path, options: ReadOptions) -> pd.DataFrame:
    rows: list[Row] = []
    for line, value in json_values(path, options):
        reader = _Reader(path, options, line)
        for record, item in _records(value, path, options, line=line):
            reader.item(item, record)
        rows.extend(reader.rows)
    rows = dedupe(rows)
    thread_replies([row for row in rows if row[messages.CHANNEL] != MESSENGER])
    _thread_messenger(rows)
    _mark_brands(rows, options.brand_handles)
    return to_table(rows)


def _records(value: Any, path: Path, options: ReadOptions, *, line: int | None):
    """Yield (record path, object) for the objects of one Graph API response."""
    if isinstance(value, list):
        yield from ((f"[{i}]", item) for i, item in enumerate(value))
    elif isinstance(value, dict) and isinstance(value.get("data"), list):
        yield from ((f"data[{i}]", item) for i, item in enumerate(value["data"]))
    elif isinstance(value, dict) and isinstance(value.get("data"), dict):
        yield "data", value["data"]
    elif isinstance(value, dict) and isinstance(value.get("mentioned_comment"), dict):
        yield "mentioned_comment", value["mentioned_comment"]
    elif isinstance(value, dict) and any(key in value for key in _RECORD_KEYS):
        yield "", value
    elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        yield from ((str(key), item) for key, item in value.items())
    else:
        problem = f"expected {_EXPECTED}, found {describe(value)}"
        if line is None:
            raise InputError(path, problem)
        options.bad(path, problem, line=line)


def _kind(item: dict) -> str | None:
    ident = str(item.get("id", ""))
    if "messages" in item or ident.startswith("t_"):
        return "conversation"
    if ident.startswith("m_") or ("to" in item and not _is_post(item)):
        return "message"
    if "timestamp" in item:
        return "instagram"
    if "created_time" in item:
        return "post" if _is_post(item) else "comment"
    if "comments" in item or item.keys() == {"id"}:
        return "post"  # /{object-id}?fields=comments: the object is context (no comments: no edge)
    return None


def _is_post(item: dict) -> bool:
    if _POST_FIELDS & item.keys() or ("to" in item and "comments" in item):
        return True
    link = item.get("permalink_url")
    return isinstance(link, str) and "comment_id=" not in link


class _Reader:
    """Turns the objects of one response into rows, reporting bad records."""

    def __init__(self, path: Path, options: ReadOptions, line: int | None) -> None:
        self.path, self.options, self.line = path, options, line
        self.rows: list[Row] = []

    def bad(self, record: str, error: RecordError) -> None:
        report(
            self.options, self.path, error.problem, line=self.line, record=join(record, error.field)
        )

    def item(self, item: Any, record: str) -> None:
        kind = _kind(item) if isinstance(item, dict) else None
        if kind is None:
            found = describe(item)
            self.bad(
                record,
                RecordError("", f"expected a comment, conversation or message, found {found}"),
            )
        elif kind == "conversation":
            self.conversation(item, record)
        elif kind == "message":
            self.message(item, record, conversation=None)
        elif kind == "post":
            self.post(item, record)
        elif kind == "comment":
            self.comment(item, record, parent=None, page=None)
        else:
            self.instagram(item, record, parent=None)

    def conversation(self, item: dict, record: str) -> None:
        if not isinstance(item.get("messages"), dict):
            problem = "a conversation without its messages (request fields=messages{...})"
            self.bad(record, RecordError("messages", problem))
            return
        try:
            conversation = {
                "id": optional_str(item, "id"),
                "parties": _parties(item.get("participants")),
                "page": _inbox_page(item.get("link")),
            }
        except RecordError as exc:
            self.bad(record, exc)
            return
        for sub, message in _children(item, "messages", record):
            self.message(message, sub, conversation=conversation)

    def message(self, item: Any, record: str, *, conversation: dict | None) -> None:
        try:
            row = _message_row(_object(item), conversation)
        except RecordError as exc:
            self.bad(record, exc)
            return
        self.rows.append(row)

    def post(self, item: dict, record: str) -> None:
        """A post's comments; a visitor post is itself the message they reply to."""
        try:
            page, name, visitor = _post_owner(item)
            row = _comment_row(item, parent=None) if visitor else None
        except RecordError as exc:
            self.bad(record, exc)
            return
        if row is not None:
            row["_page"], row["_page_name"] = page, name
            self.rows.append(row)
        parent = row[messages.ID] if row is not None else None
        for sub, child in _children(item, "comments", record):
            if isinstance(child, dict) and "timestamp" in child:
                self.instagram(child, sub, parent=parent)
            else:
                self.comment(child, sub, parent=parent, page=page)

    def comment(self, item: Any, record: str, *, parent: str | None, page: str | None) -> None:
        try:
            row = _comment_row(_object(item), parent=parent)
            row["_page"] = row["_page"] or page
        except RecordError as exc:
            self.bad(record, exc)
            return
        self.rows.append(row)
        for sub, reply in _children(item, "comments", record):
            self.comment(reply, sub, parent=row[messages.ID], page=row["_page"])

    def instagram(self, item: Any, record: str, *, parent: str | None) -> None:
        try:
            row = _instagram_row(_object(item), parent=parent)
        except RecordError as exc:
            self.bad(record, exc)
            return
        self.rows.append(row)
        for sub, reply in _children(item, "replies", record):
            self.instagram(reply, sub, parent=row[messages.ID])


def _object(item: Any) -> dict:
    if not isinstance(item, dict):
        raise RecordError("", f"expected an object, found {describe(item)}")
    return item


def _children(item: dict, field: str, record: str) -> list[tuple[str, Any]]:
    """The objects of a nested edge such as ``comments.data``."""
    edge = item.get(field)
    data = edge.get("data") if isinstance(edge, dict) else None
    if not isinstance(data, list):
        return []
    return [(join(record, f"{field}.data[{i}]"), child) for i, child in enumerate(data)]


def _person(value: Any) -> tuple[str | None, str | None]:
    """(id, name) of a Graph ``from``/``to`` entry."""
    if not isinstance(value, dict):
        return None, None
    return optional_str(value, "id"), optional_str(value, "name") or optional_str(value, "username")


def _parties(edge: Any) -> list[tuple[str | None, str | None]]:
    data = edge.get("data") if isinstance(edge, dict) else None
    return [_person(entry) for entry in data] if isinstance(data, list) else []


def _inbox_page(link: Any) -> str | None:
    match = _INBOX_LINK.match(link) if isinstance(link, str) else None
    return match.group(1) if match else None


def _message_row(item: dict, conversation: dict | None) -> Row:
    sender = _person(item.get("from"))
    recipients = _parties(item.get("to"))
    parties = [sender, *recipients, *(conversation["parties"] if conversation else [])]
    ids = {pid for pid, _ in parties if pid}
    conversation_id = conversation["id"] if conversation else None
    return {
        messages.ID: required_str(item, "id"),
        messages.CREATED_AT: iso_instant(item, "created_time"),
        messages.AUTHOR: sender[1] or sender[0],
        messages.TEXT: text_field(item, "message"),
        messages.CHANNEL: MESSENGER,
        messages.SURFACE: messages.PRIVATE,
        messages.CONVERSATION_ID: conversation_id,
        "_group": conversation_id or "|".join(sorted(ids)) or item["id"],
        "_sender": sender,
        "_parties": parties,
        "_page": conversation["page"] if conversation else None,
    }


def _post_owner(item: dict) -> tuple[str | None, str | None, bool]:
    """(the Page whose feed holds a post, its name when ``to`` gives it, is a visitor post).

    The owner is the ``<page id>`` of a post id ``<page id>_<post id>``, else the one profile
    ``to`` addresses. A visitor post is addressed ``to`` its owner by another, known author.
    """
    ident = optional_str(item, "id") or ""
    author_id, _ = _person(item.get("from"))
    targets = {pid: name for pid, name in _parties(item.get("to")) if pid and pid != author_id}
    owner, underscore, _ = ident.partition("_")
    if not (underscore and owner):
        owner = next(iter(targets)) if len(targets) == 1 else ""
    visitor = owner in targets and author_id is not None
    return owner or None, targets.get(owner), visitor


def _comment_row(item: dict, *, parent: str | None) -> Row:
    derived_id, derived_parent, page = _from_permalink(item.get("permalink_url"))
    ident = optional_str(item, "id") or derived_id
    if ident is None:
        raise RecordError("id", "missing (and no permalink_url to derive it from)", missing=True)
    parent = parent or _parent_field(item) or derived_parent
    author_id, author_name = _person(item.get("from"))
    return {
        messages.ID: ident,
        messages.PARENT_ID: parent,
        messages.CREATED_AT: iso_instant(item, "created_time"),
        messages.AUTHOR: author_name or author_id,
        messages.TEXT: text_field(item, "message"),
        messages.CHANNEL: FACEBOOK,
        messages.SURFACE: messages.PUBLIC,
        "_keys": {key.lower() for key in (author_id, author_name) if key},
        "_self": False,
        "_page": page,
    }


def _parent_field(item: dict) -> str | None:
    parent = item.get("parent")
    return optional_str(parent, "id") if isinstance(parent, dict) else None


def _from_permalink(link: Any) -> tuple[str | None, str | None, str | None]:
    """(comment id, replied-to comment id, Page) from a comment's permalink_url, when it tells.

    Comment permalinks look like ``https://www.facebook.com/<page>/posts/<post>/?comment_id=<c>``
    with ``&reply_comment_id=<r>`` for a reply, or ``permalink.php?story_fbid=<post>&id=<page>``.
    """
    if not isinstance(link, str):
        return None, None, None
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    segments = [s for s in parts.path.split("/") if s]
    post, page = query.get("story_fbid", [None])[0], query.get("id", [None])[0]
    if "posts" in segments and 0 < segments.index("posts") < len(segments) - 1:
        at = segments.index("posts")
        post, page = segments[at + 1], segments[at - 1]
    comment = query.get("comment_id", [None])[0]
    if not (post and comment):
        return None, None, page
    reply = query.get("reply_comment_id", [None])[0]
    if reply:
        return f"{post}_{reply}", f"{post}_{comment}", page
    return f"{post}_{comment}", None, page


def _instagram_row(item: dict, *, parent: str | None) -> Row:
    ident = required_str(item, "id")
    parent = parent or optional_str(item, "parent_id")
    sender_id, sender_name = _person(item.get("from"))
    user_id, _ = _person(item.get("user"))
    author = optional_str(item, "username") or sender_name or sender_id or user_id
    return {
        messages.ID: ident,
        messages.PARENT_ID: parent,
        messages.CREATED_AT: iso_instant(item, "timestamp"),
        messages.AUTHOR: author,
        messages.TEXT: text_field(item, "text"),
        messages.CHANNEL: INSTAGRAM,
        messages.SURFACE: messages.PUBLIC,
        "_keys": {key.lower() for key in (author, sender_id, user_id) if key},
        "_self": "user" in item,
        "_page": None,
    }


def _thread_messenger(rows: list[Row]) -> None:
    """The earliest message of a conversation opens it; later ones reply to it."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row[messages.CHANNEL] == MESSENGER:
            groups[row["_group"]].append(row)
    for group in groups.values():
        first = min(group, key=lambda row: row[messages.CREATED_AT])
        for row in group:
            row[messages.PARENT_ID] = None if row is first else first[messages.ID]


def _mark_brands(rows: list[Row], handles: frozenset[str]) -> None:
    comments = [row for row in rows if row[messages.CHANNEL] != MESSENGER]
    chats = [row for row in rows if row[messages.CHANNEL] == MESSENGER]
    _mark_comment_brands(comments, handles)
    _comment_accounts(comments)
    _messenger_accounts(chats, _mark_messenger_brands(chats, handles))


def _mark_comment_brands(rows: list[Row], handles: frozenset[str]) -> None:
    brands = set(handles) | {row["_page"].lower() for row in rows if row["_page"]}
    brands |= {row["_page_name"].lower() for row in rows if row.get("_page_name")}
    for row in rows:
        if row["_self"]:
            brands |= row["_keys"]
    for row in rows:
        known = row[messages.AUTHOR] is not None
        row[messages.AUTHOR_IS_BRAND] = bool(row["_keys"] & brands) if known else None


def _mark_messenger_brands(rows: list[Row], handles: frozenset[str]) -> set[str]:
    """Flag Page messages as brand ones; return the Page ids."""
    pages = _page_ids(rows, handles)
    parties: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        parties[row["_group"]] |= {pid for pid, _ in row["_parties"] if pid}
    for row in rows:
        sender_id = row["_sender"][0]
        named = {key.lower() for key in row["_sender"] if key} & handles
        if named or (sender_id and sender_id in pages):
            row[messages.AUTHOR_IS_BRAND] = True
        elif parties[row["_group"]] & pages:
            row[messages.AUTHOR_IS_BRAND] = False
        else:
            row[messages.AUTHOR_IS_BRAND] = None
    return pages


def _spellings(rows: list[Row]) -> dict[str, str]:
    """Lower-cased id or name of each author -> their ``author`` as first spelled in the file."""
    spelled: dict[str, str] = {}
    for row in rows:
        if row[messages.AUTHOR] is not None:
            for key in row["_keys"]:
                spelled.setdefault(key, row[messages.AUTHOR])
    return spelled


def _comment_accounts(rows: list[Row]) -> None:
    """Every comment of a thread names the Page that owns the post, when the payload names it.

    Spelled as the Page's own comments spell their author (the Page is found the way
    ``_mark_comment_brands`` finds it); the Page id or name from the payload when none is in
    the file. Instagram comments name no owner: <NA>.
    """
    owners: dict[str | None, str] = {}  # thread (top comment id), then "post:<id>" -> Page
    for row in rows:
        if row["_page"]:
            owners.setdefault(row[messages.CONVERSATION_ID], row["_page"])
            owners.setdefault(_post(row[messages.CONVERSATION_ID]), row["_page"])
    owners.pop(None, None)
    spelled = _spellings(rows)
    named = {row["_page"]: row["_page_name"] for row in rows if row.get("_page_name")}
    for row in rows:
        thread = row[messages.CONVERSATION_ID]
        page = owners.get(thread) or owners.get(_post(thread))
        row[messages.ACCOUNT] = _spelled(page, named.get(page), spelled) if page else None


def _spelled(page: str, name: str | None, spelled: dict[str, str]) -> str:
    """A Page as its comments spell their author (by id, else by name), else its name or id."""
    return spelled.get(page.lower()) or (name and spelled.get(name.lower())) or name or page


def _post(comment_id: str) -> str | None:
    """The post of a Facebook comment id ``<post id>_<comment id>`` (None when not of that form)."""
    post, underscore, _ = comment_id.partition("_")
    return f"post:{post}" if underscore and post else None


def _messenger_accounts(rows: list[Row], pages: set[str]) -> None:
    """Every message of a conversation names its Page, spelled as the Page's messages' author.

    The Page of a conversation is the one of its participants known to be a Page (its inbox
    link first); <NA> when none or several are. Its spelling is the ``author`` of its first
    message in the file, else the name it is listed under (as a sender, recipient or
    participant), else its id, so an unanswered conversation names the Page exactly as an
    answered one's replies do.
    """
    spelled: dict[str, str] = {}
    for row in rows:
        sender_id = row["_sender"][0]
        if sender_id and row[messages.AUTHOR] is not None:
            spelled.setdefault(sender_id, row[messages.AUTHOR])
    for row in rows:
        for pid, name in row["_parties"]:
            if pid and name:
                spelled.setdefault(pid, name)
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row["_group"]].append(row)
    for group in groups.values():
        linked = {row["_page"] for row in group if row["_page"]}
        present = {pid for row in group for pid, _ in row["_parties"] if pid} & pages
        candidates = linked if len(linked) == 1 else present
        page = next(iter(candidates)) if len(candidates) == 1 else None
        for row in group:
            row[messages.ACCOUNT] = spelled.get(page, page) if page else None


def _page_ids(rows: list[Row], handles: frozenset[str]) -> set[str]:
    """Page ids: participants named in --brands, inbox links, the one id in every conversation."""
    pages = {row["_page"] for row in rows if row["_page"]}
    parties: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for pid, name in row["_parties"]:
            if pid and ({pid.lower(), (name or "").lower()} & handles):
                pages.add(pid)
            if pid:
                parties[row["_group"]].add(pid)
    if len(parties) >= 2:
        common = set.intersection(*parties.values())
        if len(common) == 1:
            pages |= common
    return pages

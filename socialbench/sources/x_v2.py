"""X (Twitter) API v2 response pages: tweets and DM events.

A file holds one page (``{"data": [...], "includes": {...}, "meta": {...}}``, usually
pretty-printed) or one page per line (JSON Lines). ``data`` may be a list or a single object.

Tweets (``id``, ``text``, ``author_id``, ``created_at``, ``conversation_id``,
``in_reply_to_user_id``, ``referenced_tweets``) become public messages on channel "x":

- ``parent_id`` is the ``replied_to`` reference (a quote is not a reply);
- retweets (a ``retweeted`` reference) repeat someone else's tweet and are not messages;
- ``conversation_id`` is the tweet's own ``conversation_id`` when the page has it; a tweet
  whose ``conversation_id`` is not its own id is a reply even without a ``replied_to``
  reference (the field was not requested): its parent is taken to be the conversation's first
  tweet;
- ``author`` is the username from ``includes.users`` (else the ``author_id``), and ``followers``
  is that user's ``public_metrics.followers_count``;
- tweets in ``includes.tweets`` are the referenced tweets: they become messages too when they
  carry ``id``, ``author_id`` and ``created_at`` (context tweets lacking them are left out);
  a tweet seen twice is kept once (the first time).

DM events (``event_type`` "MessageCreate", ``sender_id``, ``dm_conversation_id``) become
private messages: ``conversation_id`` is the ``dm_conversation_id``, and every event's
``parent_id`` is the earliest event of its DM conversation (which itself opens the thread).
Other event types (participants joining or leaving) are not messages.

Brand accounts. An author named in ``--brands`` (username or id, any case) is a brand.
Otherwise the file tells: a tweet that opens a thread (no ``replied_to`` reference) addresses
a brand, so the account in its ``in_reply_to_user_id`` (failing that, the account @mentioned at
the very start of its text) is a brand account. For DMs, when the file holds two or more DM
conversations and exactly one account takes part in all of them, that account is the brand.
Every other tweet author is a customer. A DM conversation in which no participant is known to
be a brand has ``author_is_brand`` <NA>: one of its two sides is the brand, but which is unknown.

Accounts. Every event of a DM conversation, answered or not, names as its ``account`` the one
participant (the senders, and both sides of a one-to-one ``<id>-<id>`` conversation id) known
to be a brand account as above, spelled as its DMs' author (its username from
``includes.users``, else its id); <NA> when none or several are. Tweets are public and name no
account (<NA>).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    to_table,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "x-v2"
DESCRIPTION = "X (Twitter) API v2 JSON pages of tweets or DM events (one page, or one per line)"

CHANNEL = "x"
_SNIFF_KEYS = re.compile(
    r'"(author_id|conversation_id|referenced_tweets|in_reply_to_user_id|dm_conversation_id)"\s*:'
)
_DATA_KEY = re.compile(r'"data"\s*:')
_ONE_TO_ONE = re.compile(r"^(\d+)-(\d+)$")
_EXPECTED = 'an X API v2 page {"data": [tweets or DM events], "includes": {...}}'

Row = dict[str, Any]


def sniff(head: str, path: Path) -> bool:
    """A "data" key plus a tweet or DM event key (author_id, referenced_tweets, ...)."""
    return bool(_DATA_KEY.search(head) and _SNIFF_KEYS.search(head))


def read(path: Path, options: ReadOptions) -> pd.DataFrame:
    pages = list(json_values(path, options))
    users = _users(page for _, page in pages)
    rows: list[Row] = []
    for line, page in pages:
        rows.extend(_page_rows(page, path, options, line=line, users=users))
    rows = dedupe(rows)
    _thread_dms(rows)
    _mark_brands(rows, options.brand_handles)
    return to_table(rows)


def _users(pages: Any) -> dict[str, dict[str, Any]]:
    """includes.users of every page: id -> user object."""
    users: dict[str, dict[str, Any]] = {}
    for page in pages:
        includes = page.get("includes") if isinstance(page, dict) else None
        found = includes.get("users") if isinstance(includes, dict) else None
        for user in found if isinstance(found, list) else []:
            if isinstance(user, dict) and isinstance(user.get("id"), str):
                users.setdefault(user["id"], user)
    return users


def _page_rows(
    page: Any, path: Path, options: ReadOptions, *, line: int | None, users: dict
) -> list[Row]:
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, dict | list):
        problem = f"expected {_EXPECTED}, found {describe(page)}"
        if line is None:
            raise InputError(path, problem)
        options.bad(path, problem, line=line)
        return []
    items = [("data", data)] if isinstance(data, dict) else _indexed("data", data)
    includes = page.get("includes")
    context = includes.get("tweets") if isinstance(includes, dict) else None
    if isinstance(context, list):
        items += _indexed("includes.tweets", context)
    rows = []
    for record, item in items:
        row = _row(item, record=record, users=users, context=record.startswith("includes"))
        if isinstance(row, RecordError):
            report(options, path, row.problem, line=line, record=join(record, row.field))
        elif row is not None:
            rows.append(row)
    return rows


def _indexed(name: str, items: list) -> list[tuple[str, Any]]:
    return [(f"{name}[{i}]", item) for i, item in enumerate(items)]


def _row(item: Any, *, record: str, users: dict, context: bool) -> Row | RecordError | None:
    """One tweet or DM event as a row; None when it is not a message; the error when bad."""
    if not isinstance(item, dict):
        return RecordError("", f"expected a tweet or DM event object, found {describe(item)}")
    try:
        if "dm_conversation_id" in item or "event_type" in item:
            return _dm(item, users)
        return _tweet(item, users)
    except RecordError as exc:
        return None if context and exc.missing else exc


def _base(item: dict, users: dict, *, author_field: str) -> Row:
    author_id = required_str(item, author_field)
    metrics = users.get(author_id, {}).get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    return {
        messages.ID: required_str(item, "id"),
        messages.CREATED_AT: iso_instant(item, "created_at"),
        messages.AUTHOR: _username(author_id, users) or author_id,
        messages.TEXT: text_field(item, "text"),
        messages.CHANNEL: CHANNEL,
        messages.FOLLOWERS: followers if isinstance(followers, int | float) else None,
        "_keys": _keys(author_id, users),
    }


def _username(user_id: str, users: dict) -> str | None:
    name = users.get(user_id, {}).get("username")
    return name if isinstance(name, str) and name else None


def _keys(user_id: str, users: dict) -> set[str]:
    """The lower-cased id and username of an account, to match against brand accounts."""
    name = _username(user_id, users)
    return {user_id.lower(), name.lower()} if name else {user_id.lower()}


def _tweet(item: dict, users: dict) -> Row | None:
    references = _references(item)
    if "retweeted" in references:
        return None
    row = _base(item, users, author_field="author_id")
    conversation = optional_str(item, "conversation_id")
    parent = references.get("replied_to")
    if parent is None and conversation not in (None, row[messages.ID]):
        parent = conversation
    row.update(
        {
            messages.PARENT_ID: parent,
            messages.CONVERSATION_ID: conversation,
            messages.SURFACE: messages.PUBLIC,
            "_addresses": set() if parent else _addressed(item, required_str(item, "author_id")),
        }
    )
    return row


def _references(item: dict) -> dict[str, str]:
    """referenced_tweets as type -> tweet id."""
    references = item.get("referenced_tweets") or []
    if not isinstance(references, list):
        raise RecordError("referenced_tweets", "expected a list")
    found = {}
    for reference in references:
        if isinstance(reference, dict) and isinstance(reference.get("type"), str):
            found.setdefault(reference["type"], required_str(reference, "id"))
    return found


def _addressed(item: dict, author_id: str) -> set[str]:
    """Who a thread-opening tweet addresses: its in_reply_to_user_id, else a leading @mention."""
    target = optional_str(item, "in_reply_to_user_id")
    if target and target != author_id:
        return {target.lower()}
    entities = item.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    for mention in mentions if isinstance(mentions, list) else []:
        if isinstance(mention, dict) and mention.get("start") == 0:
            name = mention.get("username")
            return {name.lower()} if isinstance(name, str) else set()
    return set()


def _dm(item: dict, users: dict) -> Row | None:
    if item.get("event_type", "MessageCreate") != "MessageCreate":
        return None
    row = _base(item, users, author_field="sender_id")
    conversation = required_str(item, "dm_conversation_id")
    match = _ONE_TO_ONE.match(conversation)
    participants = {item["sender_id"], *(match.groups() if match else ())}
    row.update(
        {
            messages.CONVERSATION_ID: conversation,
            messages.SURFACE: messages.PRIVATE,
            "_participants": participants,
            "_party_keys": set().union(*(_keys(p, users) for p in participants)),
            "_spellings": {p: _username(p, users) or p for p in participants},
        }
    )
    return row


def _thread_dms(rows: list[Row]) -> None:
    """Each DM's parent is the earliest event of its conversation (which gets none)."""
    by_conversation: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row[messages.SURFACE] == messages.PRIVATE:
            by_conversation[row[messages.CONVERSATION_ID]].append(row)
    for events in by_conversation.values():
        first = min(events, key=lambda row: row[messages.CREATED_AT])
        for row in events:
            row[messages.PARENT_ID] = None if row is first else first[messages.ID]


def _mark_brands(rows: list[Row], handles: frozenset[str]) -> None:
    brands = set(handles) | _dm_brand(rows)
    for row in rows:
        if row[messages.SURFACE] == messages.PUBLIC and row[messages.PARENT_ID] is None:
            brands |= row["_addresses"]
    parties = _dm_parties(rows)
    for row in rows:
        is_brand: bool | None = bool(row["_keys"] & brands)
        private = row[messages.SURFACE] == messages.PRIVATE
        if private and not parties[row[messages.CONVERSATION_ID]] & brands:
            is_brand = None
        row[messages.AUTHOR_IS_BRAND] = is_brand
    _dm_accounts(rows, brands)


def _dm_accounts(rows: list[Row], brands: set[str]) -> None:
    """Each DM names its conversation's one brand participant, spelled as its messages' author.

    <NA> when no participant, or more than one, is known to be a brand; public tweets name none.
    """
    spellings: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row[messages.SURFACE] == messages.PRIVATE:
            spellings[row[messages.CONVERSATION_ID]].update(row["_spellings"])
    accounts = {}
    for conversation, spelled in spellings.items():
        found = {name for pid, name in spelled.items() if {pid.lower(), name.lower()} & brands}
        accounts[conversation] = found.pop() if len(found) == 1 else None
    for row in rows:
        private = row[messages.SURFACE] == messages.PRIVATE
        row[messages.ACCOUNT] = accounts[row[messages.CONVERSATION_ID]] if private else None


def _dm_parties(rows: list[Row]) -> dict[str, set[str]]:
    """DM conversation id -> lower-cased ids and usernames of everyone taking part."""
    parties: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row[messages.SURFACE] == messages.PRIVATE:
            parties[row[messages.CONVERSATION_ID]] |= row["_party_keys"]
    return parties


def _dm_brand(rows: list[Row]) -> set[str]:
    """The one account in every DM conversation, when there are two or more conversations."""
    participants: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row[messages.SURFACE] == messages.PRIVATE:
            participants[row[messages.CONVERSATION_ID]] |= row["_participants"]
    if len(participants) < 2:
        return set()
    common = set.intersection(*participants.values())
    return {common.pop().lower()} if len(common) == 1 else set()

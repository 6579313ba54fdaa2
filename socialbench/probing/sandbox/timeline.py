"""Stored tweets and DM events with the indexes search and paging need.

Ids are snowflakes, so an id range is a time range: "visible now", ``since_id``,
``start_time`` and a page's ``next_token`` all become bounds on ids. Id lists kept sorted
(``bisect.insort``; a brand reply lands in the future, so not always at the end) give
pages by bisection; the conversation, author and addressee indexes give search its
candidates without a scan of all tweets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from socialbench.probing.sandbox import query as q


@dataclass(slots=True)
class Tweet:
    """One tweet. ``to_ids`` are the users it is addressed to (for ``to:``)."""

    id: int
    text: str
    author_id: str
    created_ms: int
    conversation_id: int
    in_reply_to_user_id: str | None
    replied_to: int | None
    to_ids: tuple[str, ...]


@dataclass(slots=True)
class DmEvent:
    """One direct message (a MessageCreate event)."""

    id: int
    text: str
    sender_id: str
    recipient_id: str
    created_ms: int
    conversation_id: str


def _add(index: dict, key, value: int) -> None:
    ids = index.get(key)
    if ids is None:
        index[key] = [value]
    elif value > ids[-1]:
        ids.append(value)
    else:
        bisect.insort(ids, value)


def newest_below(ids: list[int], *, below: int, above: int, limit: int) -> list[int]:
    """Up to ``limit`` ids of a sorted list with above < id < below, newest first."""
    stop = bisect.bisect_left(ids, below)
    start = max(bisect.bisect_right(ids, above), stop - limit)
    return ids[start:stop][::-1]


class Timeline:
    """All tweets and DM events, by id and indexed."""

    def __init__(self) -> None:
        self.tweets: dict[int, Tweet] = {}
        self.all_ids: list[int] = []
        self.by_conversation: dict[int, list[int]] = {}
        self.by_author: dict[str, list[int]] = {}
        self.by_addressee: dict[str, list[int]] = {}
        self._texts: dict[str, set[str]] = {}
        self.dms: dict[int, DmEvent] = {}
        self.dms_by_user: dict[str, list[int]] = {}

    def add_tweet(self, tweet: Tweet) -> None:
        self.tweets[tweet.id] = tweet
        _add(self.by_conversation, tweet.conversation_id, tweet.id)
        _add(self.by_author, tweet.author_id, tweet.id)
        for user_id in tweet.to_ids:
            _add(self.by_addressee, user_id, tweet.id)
        if not self.all_ids or tweet.id > self.all_ids[-1]:
            self.all_ids.append(tweet.id)
        else:
            bisect.insort(self.all_ids, tweet.id)
        self._texts.setdefault(tweet.author_id, set()).add(tweet.text)

    def posted_before(self, author_id: str, text: str) -> bool:
        """Whether ``author_id`` already posted exactly ``text``."""
        return text in self._texts.get(author_id, ())

    def add_dm(self, event: DmEvent) -> None:
        self.dms[event.id] = event
        _add(self.dms_by_user, event.sender_id, event.id)
        _add(self.dms_by_user, event.recipient_id, event.id)

    def remove_dm(self, event: DmEvent) -> None:
        """Take back a DM event (a brand reply that was still to come)."""
        del self.dms[event.id]
        for user_id in (event.sender_id, event.recipient_id):
            ids = self.dms_by_user[user_id]
            del ids[bisect.bisect_left(ids, event.id)]

    def find(self, node: q.Node, *, above: int, below: int, limit: int) -> list[Tweet]:
        """Up to ``limit`` tweets matching a bound query with above < id < below, newest
        first: the indexes' candidates when the query allows, else a scan down the ids."""
        found = q.candidates(node, self._lookup)
        if found is None:
            ids: Iterator[int] | list[int] = self._scan(above, below)
        else:
            ids = sorted((i for i in found if above < i < below), reverse=True)
        test = q.predicate(node)
        out: list[Tweet] = []
        for tid in ids:
            tweet = self.tweets[tid]
            if test(tweet):
                out.append(tweet)
                if len(out) == limit:
                    break
        return out

    def _lookup(self, term: q.Term) -> list[int]:
        if term.kind == "conversation_id":
            return self.by_conversation.get(int(term.value), [])
        index = self.by_author if term.kind == "from" else self.by_addressee
        return index.get(term.value, [])

    def _scan(self, above: int, below: int) -> Iterator[int]:
        ids = self.all_ids
        for i in range(bisect.bisect_left(ids, below) - 1, -1, -1):
            if ids[i] <= above:
                return
            yield ids[i]

    def tweet_count(self, user_id: str, below: int) -> int:
        """Tweets by ``user_id`` with an id below ``below`` (visible ones)."""
        return bisect.bisect_left(self.by_author.get(user_id, []), below)

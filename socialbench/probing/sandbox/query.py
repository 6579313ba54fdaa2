"""The search-query subset: parse, find candidates in the indexes, match.

Grammar (AND binds tighter than OR, as on X)::

    query := group ("OR" group)*
    group := atom atom*                      implicit AND, at least one atom not negated
    atom  := ["-"] ("(" query ")" | term)    "-" negates
    term  := conversation_id:ID | from:handle | to:handle | is:KIND | has:KIND
             | "quoted phrase" | word

A phrase matches a case-insensitive substring of the text; a word matches
case-insensitively where it stands alone (not inside a longer word: ``fix`` does not match
``fixed``, ``ref:p0123456789a`` matches inside ``(ref:p0123456789a)``). ``to:handle``
matches replies to the user and tweets opening with a mention of them. ``is:reply`` matches
replies; ``is:retweet`` and ``is:quote`` match nothing (the sandbox has neither), so
``-is:retweet`` matches everything; ``has:links``, ``has:mentions`` and ``has:hashtags``
look at the text, ``has:media``, ``has:images`` and ``has:videos`` match nothing. A group of
negations only (``-is:retweet`` alone) and other X operators (``lang:``, ...) are refused
with `QueryError`, as X refuses the former.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socialbench.probing.sandbox.timeline import Tweet

MAX_QUERY = 4096
INDEXED = ("conversation_id", "from", "to")
_UNSUPPORTED = frozenset(
    "lang url place place_country point_radius bounding_box bio bio_name bio_location "
    "retweets_of context entity sample source in_reply_to_tweet_id retweets_of_tweet_id "
    "quotes_of_tweet_id followers_count tweets_count following_count listed_count "
    "url_title url_description list".split()
)
_HANDLE = re.compile(r"^@?[A-Za-z0-9_]{1,50}$")
_TOKEN = re.compile(r'(\))|(-?)(?:(\()|"([^"]*)("?)|([^\s()"]+))')
_NOTHING = re.compile(r"(?!)")
_PROPERTIES = {  # is: and has: values -> a pattern the text matches when the tweet has it
    "has": {
        "links": re.compile(r"https?://\S", re.IGNORECASE),
        "mentions": re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9_]"),
        "hashtags": re.compile(r"(?<![\w&])#\w"),
        "media": _NOTHING,
        "images": _NOTHING,
        "videos": _NOTHING,
    },
    "is": {"reply": None, "retweet": _NOTHING, "quote": _NOTHING},  # None: by the tweet's parent
}


class QueryError(ValueError):
    """Raised for a query outside the supported grammar; the message says where."""


@dataclass(frozen=True)
class Term:
    """One term; ``kind`` is conversation_id, from, to, is, has, phrase or word."""

    kind: str
    value: str
    pattern: re.Pattern | None = field(default=None, compare=False)


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | And | Or | Not


def _term(word: str, at: int) -> Term:
    name, colon, value = word.partition(":")
    if colon and name in INDEXED:
        return _operator(name, value, at)
    if colon and name in _PROPERTIES:
        if value not in _PROPERTIES[name]:
            known = ", ".join(f"{name}:{v}" for v in _PROPERTIES[name])
            raise QueryError(f"'{word}' is not one of {known} (at position {at})")
        return Term(name, value, _PROPERTIES[name][value])
    if colon and name in _UNSUPPORTED:
        raise QueryError(f"the operator '{name}:' is not supported (at position {at})")
    pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
    return Term("word", word, pattern)


def _operator(name: str, value: str, at: int) -> Term:
    if name == "conversation_id":
        if not value.isdigit():
            raise QueryError(f"conversation_id needs a numeric id (at position {at})")
        return Term(name, str(int(value)))
    if not _HANDLE.match(value):
        raise QueryError(f"'{name}:' needs a user name (at position {at})")
    return Term(name, value.lstrip("@").lower())


Token = tuple[int, str, Term | None, bool]  # position, kind ("(", ")", OR, term), negated


def _tokens(query: str) -> list[Token]:
    out: list[Token] = []
    at = 0
    while True:
        while at < len(query) and query[at].isspace():
            at += 1
        if at == len(query):
            return out
        match = _TOKEN.match(query, at)
        assert match is not None  # every non-space character starts some token
        closed, minus, opened, phrase, quote_end, word = match.groups()
        negated = bool(minus)
        if phrase is not None and not quote_end:
            raise QueryError(f"unterminated quoted phrase (at position {at})")
        if closed or opened:
            out.append((at, closed or opened, None, negated))
        elif phrase is not None:
            if not phrase.strip():
                raise QueryError(f"empty quoted phrase (at position {at})")
            out.append((at, "term", Term("phrase", phrase.casefold()), negated))
        elif word == "OR" and not negated:
            out.append((at, "OR", None, False))
        else:
            out.append((at, "term", _term(word, at), negated))
        at = match.end()


class _Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens, self.i, self.length = tokens, 0, length

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def where(self) -> int:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else self.length

    def query(self) -> Node:
        groups = [self.group()]
        while self.peek() == "OR":
            self.i += 1
            groups.append(self.group())
        return groups[0] if len(groups) == 1 else Or(tuple(groups))

    def group(self) -> Node:
        at = self.where()
        atoms = []
        while self.peek() not in (None, ")", "OR"):
            atoms.append(self.atom())
        if not atoms:
            raise QueryError(f"expected a term (at position {at})")
        if all(isinstance(atom, Not) for atom in atoms):
            raise QueryError(f"the query needs a term that is not negated (at position {at})")
        return atoms[0] if len(atoms) == 1 else And(tuple(atoms))

    def atom(self) -> Node:
        at, kind, term, negated = self.tokens[self.i]
        self.i += 1
        if kind == "term":
            assert term is not None
            return Not(term) if negated else term
        inner = self.query()
        if self.peek() != ")":
            raise QueryError(f"unbalanced parentheses (at position {at})")
        self.i += 1
        return Not(inner) if negated else inner


def parse(query: str) -> Node:
    """The query's tree; QueryError when empty, too long or outside the grammar."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters")
    tokens = _tokens(query)
    if not tokens:
        raise QueryError("the query is empty")
    parser = _Parser(tokens, len(query))
    node = parser.query()
    if parser.i < len(tokens):
        raise QueryError(f"unbalanced parentheses (at position {parser.where()})")
    return node


def bind(node: Node, user_id: Callable[[str], str | None]) -> Node:
    """The tree with ``from:`` and ``to:`` handles replaced by user ids ("" if unknown)."""
    if isinstance(node, Term):
        if node.kind in ("from", "to"):
            return Term(node.kind, user_id(node.value) or "")
        return node
    if isinstance(node, Not):
        return Not(bind(node.item, user_id))
    items = tuple(bind(item, user_id) for item in node.items)
    return And(items) if isinstance(node, And) else Or(items)


Predicate = Callable[["Tweet"], bool]


def predicate(node: Node) -> Predicate:
    """A bound query as a function of a tweet; OR-ed operator terms become set lookups."""
    if isinstance(node, Term):
        return _term_predicate(node)
    if isinstance(node, Not):
        inner = predicate(node.item)
        return lambda tweet: not inner(tweet)
    if isinstance(node, And):
        parts = [predicate(item) for item in node.items]
        return lambda tweet: all(part(tweet) for part in parts)
    conversations = {int(t.value) for t in node.items if _is(t, "conversation_id")}
    authors = {t.value for t in node.items if _is(t, "from")}
    others = [predicate(t) for t in node.items if not (_is(t, "conversation_id") or _is(t, "from"))]
    return lambda tweet: (
        tweet.conversation_id in conversations
        or tweet.author_id in authors
        or any(part(tweet) for part in others)
    )


def _is(node: Node, kind: str) -> bool:
    return isinstance(node, Term) and node.kind == kind


def _term_predicate(term: Term) -> Predicate:
    value, kind = term.value, term.kind
    if kind == "conversation_id":
        number = int(value)
        return lambda tweet: tweet.conversation_id == number
    if kind == "from":
        return lambda tweet: tweet.author_id == value
    if kind == "to":
        return lambda tweet: value in tweet.to_ids
    if kind == "phrase":
        return lambda tweet: value in tweet.text.casefold()
    if kind == "is" and value == "reply":
        return lambda tweet: tweet.replied_to is not None
    search = term.pattern.search  # type: ignore[union-attr]
    return lambda tweet: search(tweet.text) is not None


def matches(node: Node, tweet: Tweet) -> bool:
    """Whether a tweet satisfies a bound query."""
    return predicate(node)(tweet)


def candidates(node: Node, lookup: Callable[[Term], list[int]]) -> set[int] | None:
    """Ids that may match, from the indexes; None when some branch needs a full scan."""
    if isinstance(node, Term):
        return set(lookup(node)) if node.kind in INDEXED else None
    if isinstance(node, Not):
        return None
    found = [candidates(item, lookup) for item in node.items]
    if isinstance(node, Or):
        if any(ids is None for ids in found):
            return None
        return set().union(*found)  # type: ignore[arg-type]
    known = sorted((ids for ids in found if ids is not None), key=len)
    if not known:
        return None
    return known[0].intersection(*known[1:])

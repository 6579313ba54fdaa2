"""What a request to the X API v2 subset may carry, as the official OpenAPI document defines
it (its subset ships in docs/x_api_openapi/): each operation's query parameters and their
schemas, and the JSON bodies of ``POST /2/tweets`` and of a DM as strict models.

A request outside its operation's schema gets X's 400 invalid-request problem, worded as X
words it. Values the spec allows that the sandbox does not simulate (media, poll and place
fields, ``ParticipantsJoin`` events, ``reply_settings``, DM attachments, ...) are accepted
and have no effect. ``post.fields`` is taken as ``tweet.fields``: the xdk SDK, generated from
a later revision of the document, sends that name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

import pydantic
from pydantic import ConfigDict, Field, StringConstraints

from socialbench.probing.sandbox.clock import parse_iso_ms
from socialbench.probing.sandbox.intake import BadJson, load_json
from socialbench.probing.sandbox.query import MAX_QUERY
from socialbench.probing.sandbox.shapes import ApiError, invalid

ID_PATTERN = "^[0-9]{1,19}$"
USERNAME_PATTERN = "^[A-Za-z0-9_]{1,15}$"
_ID = re.compile(ID_PATTERN)
_USERNAME = re.compile(USERNAME_PATTERN)

# The enums of the document's field and expansion parameters (tests check them against it).
TWEET_FIELDS = frozenset(
    "article attachments author_id card_uri community_id context_annotations conversation_id "
    "created_at display_text_range edit_controls edit_history_tweet_ids entities geo id "
    "in_reply_to_user_id lang media_metadata non_public_metrics note_tweet organic_metrics "
    "possibly_sensitive promoted_metrics public_metrics referenced_tweets reply_settings scopes "
    "source suggested_source_links suggested_source_links_with_counts text withheld".split()
)
USER_FIELDS = frozenset(
    "affiliation confirmed_email connection_status created_at description entities id "
    "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id "
    "profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscription subscription_type url username verified verified_followers_count "
    "verified_type withheld".split()
)
MEDIA_FIELDS = frozenset(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics "
    "preview_image_url promoted_metrics public_metrics type url variants width".split()
)
POLL_FIELDS = frozenset("duration_minutes end_datetime id options voting_status".split())
PLACE_FIELDS = frozenset(
    "contained_within country country_code full_name geo id name place_type".split()
)
DM_EVENT_FIELDS = frozenset(
    "attachments created_at dm_conversation_id entities event_type id participant_ids "
    "referenced_tweets sender_id text".split()
)
TWEET_EXPANSIONS = frozenset(
    "article.cover_media article.media_entities attachments.media_keys "
    "attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids "
    "entities.mentions.username geo.place_id in_reply_to_user_id "
    "entities.note.mentions.username referenced_tweets.id "
    "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id".split()
)
USER_EXPANSIONS = frozenset("affiliation.user_id most_recent_tweet_id pinned_tweet_id".split())
DM_EVENT_EXPANSIONS = frozenset(
    "attachments.media_keys participant_ids referenced_tweets.id sender_id".split()
)
EVENT_TYPES = frozenset({"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"})

Rule = Callable[[str, str], object]


def one_of(allowed: frozenset[str]) -> Rule:
    """A comma-separated list of distinct values of an enum, as a frozenset."""

    def rule(name: str, text: str) -> frozenset[str]:
        values = text.split(",")
        for value in values:
            if value not in allowed:
                known = ",".join(sorted(allowed))
                raise _bad(name, text, f"value [{value}] is not one of [{known}]")
        if len(set(values)) < len(values):
            raise _bad(name, text, "has duplicate values")
        return frozenset(values)

    return rule


def id_list(pattern: re.Pattern, *, most: int) -> Rule:
    """A comma-separated list of 1 to ``most`` values matching ``pattern``."""

    def rule(name: str, text: str) -> list[str]:
        values = text.split(",")
        if len(values) > most:
            raise _bad(name, text, f"has more than {most} values")
        for value in values:
            if not pattern.match(value):
                raise _bad(name, text, f"value [{value}] does not match {pattern.pattern}")
        return values

    return rule


def integer(lo: int, hi: int) -> Rule:
    def rule(name: str, text: str) -> int:
        if not re.fullmatch(r"-?[0-9]+", text) or not lo <= int(text) <= hi:
            raise _bad(name, text, f"value [{text}] is not between {lo} and {hi}")
        return int(text)

    return rule


def tweet_id(name: str, text: str) -> int:
    if not _ID.match(text):
        raise _bad(name, text, f"value [{text}] does not match {ID_PATTERN}")
    return int(text)


def instant(name: str, text: str) -> int:
    try:
        return parse_iso_ms(text)
    except ValueError:
        raise invalid(
            f"Invalid '{name}':'{text}'. '{name}' must be a ISO 8601 timestamp", **{name: text}
        ) from None


def token(least: int) -> Rule:
    """An opaque pagination token of at least ``least`` characters."""

    def rule(name: str, text: str) -> str:
        if len(text) < least:
            raise _bad(name, text, f"value [{text}] is shorter than {least} characters")
        return text

    return rule


def query_text(name: str, text: str) -> str:
    if len(text) > MAX_QUERY:
        raise _bad(name, text, f"is longer than {MAX_QUERY} characters")
    return text


def choice(allowed: frozenset[str]) -> Rule:
    def rule(name: str, text: str) -> str:
        if text not in allowed:
            raise _bad(name, text, f"value [{text}] is not one of [{','.join(sorted(allowed))}]")
        return text

    return rule


def _bad(name: str, text: str, problem: str) -> ApiError:
    return invalid(f"The `{name}` query parameter {problem}", **{name: text})


_TWEET_FIELDS = {"tweet.fields": one_of(TWEET_FIELDS), "post.fields": one_of(TWEET_FIELDS)}
USER_LOOKUP: dict[str, Rule] = {
    "user.fields": one_of(USER_FIELDS),
    "expansions": one_of(USER_EXPANSIONS),
    **_TWEET_FIELDS,
}
USERNAMES = {**USER_LOOKUP, "usernames": id_list(_USERNAME, most=100)}
USER_IDS = {**USER_LOOKUP, "ids": id_list(_ID, most=100)}
SEARCH: dict[str, Rule] = {
    "query": query_text,
    "start_time": instant,
    "end_time": instant,
    "since_id": tweet_id,
    "until_id": tweet_id,
    "max_results": integer(10, 100),
    "next_token": token(1),
    "pagination_token": token(1),
    "sort_order": choice(frozenset({"recency", "relevancy"})),
    **_TWEET_FIELDS,
    "expansions": one_of(TWEET_EXPANSIONS),
    "media.fields": one_of(MEDIA_FIELDS),
    "poll.fields": one_of(POLL_FIELDS),
    "user.fields": one_of(USER_FIELDS),
    "place.fields": one_of(PLACE_FIELDS),
}
DM_EVENTS: dict[str, Rule] = {
    "max_results": integer(1, 100),
    "pagination_token": token(16),
    "event_types": one_of(EVENT_TYPES),
    "dm_event.fields": one_of(DM_EVENT_FIELDS),
    "expansions": one_of(DM_EVENT_EXPANSIONS),
    "media.fields": one_of(MEDIA_FIELDS),
    "user.fields": one_of(USER_FIELDS),
    **_TWEET_FIELDS,
}


def parse(
    given: Mapping[str, str], rules: Mapping[str, Rule], *, required: tuple[str, ...] = ()
) -> dict[str, object]:
    """The query parameters, each checked and converted by its rule; 400 for a parameter
    the operation does not have, a missing required one, or a value outside its schema."""
    for name, text in given.items():
        if name not in rules:
            known = ",".join(sorted(rules))
            raise invalid(f"The query parameter [{name}] is not one of [{known}]", **{name: text})
    for name in required:
        if not given.get(name):
            raise invalid(f"The `{name}` query parameter can not be empty", **{name: ""})
    out: dict[str, object] = {}
    for name, text in given.items():
        if text == "":
            raise invalid(f"The `{name}` query parameter can not be empty", **{name: ""})
        out[name] = rules[name](name, text)
    return out


def path_id(name: str, text: str) -> str:
    """A user or tweet id in the path."""
    if not _ID.match(text):
        raise invalid(
            f"The `{name}` path parameter value [{text}] does not match {ID_PATTERN}",
            **{name: text},
        )
    return text


def path_username(name: str, text: str) -> str:
    if not _USERNAME.match(text):
        raise invalid(
            f"The `{name}` path parameter value [{text}] does not match {USERNAME_PATTERN}",
            **{name: text},
        )
    return text


# ---------------------------------------------------------------------------------- bodies

IdText = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
ReplySettings = Literal["following", "mentionedUsers", "subscribers", "verified"]


class _Closed(pydantic.BaseModel):
    """An object of the document with ``additionalProperties: false``; no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class _Open(pydantic.BaseModel):
    """An object of the document that allows other properties (they are ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True)


class ReplyIn(_Closed):
    in_reply_to_tweet_id: IdText
    exclude_reply_user_ids: list[IdText] = []
    auto_populate_reply_metadata: bool | None = None


class MediaIn(_Closed):
    media_ids: list[IdText] = Field(min_length=1, max_length=4)
    tagged_user_ids: list[IdText] = Field(default=[], max_length=10)


class PollIn(_Closed):
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=25)]] = Field(
        min_length=2, max_length=4
    )
    duration_minutes: int = Field(ge=5, le=10080)
    reply_settings: ReplySettings | None = None


class GeoIn(_Closed):
    place_id: str | None = None


class EditOptionsIn(_Closed):
    previous_post_id: IdText


class TweetIn(_Closed):
    """``TweetCreateRequest``: only ``text`` and ``reply.in_reply_to_tweet_id`` take effect."""

    text: str | None = None
    reply: ReplyIn | None = None
    reply_settings: ReplySettings | None = None
    card_uri: str | None = None
    community_id: IdText | None = None
    direct_message_deep_link: str | None = None
    edit_options: EditOptionsIn | None = None
    for_super_followers_only: bool | None = None
    geo: GeoIn | None = None
    media: MediaIn | None = None
    nullcast: bool | None = None
    poll: PollIn | None = None
    quote_tweet_id: IdText | None = None
    share_with_followers: bool | None = None

    def has_content(self) -> bool:
        """Whether there is something to post: non-blank text, media, a poll, a card or a
        quoted post."""
        text = bool(self.text and self.text.strip())
        return text or any((self.media, self.poll, self.card_uri, self.quote_tweet_id))


class DmAttachmentIn(_Open):
    media_id: IdText


class DmIn(_Open):
    """``CreateMessageRequest``: a text, attachments, or both; attachments have no effect."""

    text: str | None = Field(default=None, min_length=1)
    attachments: list[DmAttachmentIn] | None = None

    @pydantic.model_validator(mode="after")
    def _text_or_attachments(self) -> DmIn:
        if self.text is None and self.attachments is None:
            raise ValueError("text or attachments is required")
        return self


def body(raw: bytes, model: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """The JSON body as ``model``; 400 naming the JSON path of the first problem (the
    document's properties are not nullable)."""
    try:
        data = load_json(raw)
    except BadJson as exc:
        raise invalid(str(exc)) from None
    if not isinstance(data, dict):
        raise invalid("$: an object is required")
    null = _null_at(data, "$")
    if null is not None:
        raise invalid(f"{null}: null is not allowed")
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        raise invalid(f"${where}: {_wording(error)}") from None


def _null_at(value: object, where: str) -> str | None:
    """The JSON path of the first null inside ``value``, or None."""
    items = value.items() if isinstance(value, dict) else enumerate(value)  # type: ignore[arg-type]
    for key, item in items:
        path = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
        if item is None:
            return path
        if isinstance(item, dict | list):
            found = _null_at(item, path)
            if found is not None:
                return found
    return None


def _wording(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "is not defined in the schema and the schema does not allow additional properties"
    if error["type"] == "model_type":
        return "an object is required"
    return error["msg"].removeprefix("Value error, ")

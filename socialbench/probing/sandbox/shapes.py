"""The JSON shapes of the X API v2 subset: objects, field selection and error bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialbench.probing.sandbox.clock import iso_ms

if TYPE_CHECKING:
    from socialbench.probing.sandbox.accounts import User
    from socialbench.probing.sandbox.timeline import DmEvent, Tweet

PROBLEMS = "https://api.twitter.com/2/problems/"


class ApiError(Exception):
    """An HTTP error answer of the simulated API: status and JSON body."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body.get("detail") or body.get("title"))
        self.status = status
        self.body = body


def problem(status: int, title: str, detail: str | None = None) -> ApiError:
    """A plain problem body: 401, 403, 404, 429, 503."""
    body = {"title": title, "type": "about:blank", "status": status, "detail": detail or title}
    return ApiError(status, body)


UNAUTHORIZED = problem(401, "Unauthorized")
NOT_FOUND = problem(404, "Not Found")
TOO_MANY = problem(429, "Too Many Requests")
UNAVAILABLE = problem(503, "Service Unavailable")
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"  # every error answer: RFC 7807, as X sends them


def duplicate() -> ApiError:
    """403 for a text the same user already posted."""
    return problem(
        403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
    )


def invalid(message: str, **parameters: str) -> ApiError:
    """X's 400 body, naming the offending parameters and their values."""
    error: dict = {"message": message}
    if parameters:
        error = {"parameters": {k: [v] for k, v in parameters.items()}, "message": message}
    return ApiError(
        400,
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def not_found(parameter: str, value: str) -> dict:
    """One entry of the ``errors`` list for an unknown user name or id (a
    ResourceNotFoundProblem)."""
    return {
        "value": value,
        "detail": f"Could not find user with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def user_json(user: User, fields: frozenset[str], tweet_count: int) -> dict:
    """A user with the default fields and ``public_metrics`` when requested: ``tweet_count``
    (required by the document's 2.159 revision) and the same figure as ``post_count``
    (required by later revisions and the xdk SDK's models)."""
    out = {"id": user.id, "name": user.name, "username": user.handle}
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "followers_count": user.followers,
            "following_count": user.following,
            "tweet_count": tweet_count,
            "post_count": tweet_count,
            "listed_count": 0,
        }
    return out


def tweet_json(tweet: Tweet, fields: frozenset[str]) -> dict:
    """A tweet with the default fields and those requested in ``tweet.fields``."""
    tid = str(tweet.id)
    out: dict = {"id": tid, "text": tweet.text, "edit_history_tweet_ids": [tid]}
    if "created_at" in fields:
        out["created_at"] = iso_ms(tweet.created_ms)
    if "author_id" in fields:
        out["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = str(tweet.conversation_id)
    if tweet.replied_to is not None:
        if "in_reply_to_user_id" in fields:
            out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "referenced_tweets" in fields:
            out["referenced_tweets"] = [{"type": "replied_to", "id": str(tweet.replied_to)}]
    return out


def dm_json(event: DmEvent, fields: frozenset[str]) -> dict:
    """A DM event with the default fields (id, event_type, text) and those requested."""
    out = {"id": str(event.id), "event_type": "MessageCreate", "text": event.text}
    if "created_at" in fields:
        out["created_at"] = iso_ms(event.created_ms)
    if "sender_id" in fields:
        out["sender_id"] = event.sender_id
    if "dm_conversation_id" in fields:
        out["dm_conversation_id"] = event.conversation_id
    return out

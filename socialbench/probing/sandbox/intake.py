"""What the sandbox takes in, whatever the route: a request body of at most `MAX_BODY`
bytes (`limit_body`, whose middleware answers 413 in the shape of the API asked), JSON
nested at most 200 levels (`load_json`, with the readers' ``sources.parse_json``), and
texts within the platforms' limits (`MAX_TWEET_WEIGHT`, `MAX_DM_WEIGHT`, `MAX_TEXT`).
"""

from __future__ import annotations

import json

from starlette.middleware import Middleware
from starlette.responses import Response

from socialbench.probing.sandbox.shapes import JSON, PROBLEM_JSON, problem
from socialbench.probing.serving import BodyLimit
from socialbench.sources import JSONLimitError, parse_json

MAX_BODY = 1024 * 1024  # bytes in a request body: far above any request a run sends
MAX_TWEET_WEIGHT = 280  # X's limit for a standard post, in weighted characters (twitter-text)
MAX_DM_WEIGHT = 10_000  # X's limit for a DM, counted the same way
# characters in any text (a post, a DM, a Direct Line activity's) whatever their weight (a
# link counts 23 however long it is): X's limit for long posts, above any text a suite renders
MAX_TEXT = 25_000
DIRECTLINE_PREFIX = "/v3/directline/"


class BadJson(ValueError):
    """A request body that is not JSON, or JSON beyond socialbench's limits."""


def load_json(raw: bytes) -> object:
    """The body decoded as UTF-8 JSON (an empty body is null); BadJson names the problem."""
    try:
        return parse_json(raw.decode("utf-8")) if raw else None
    except JSONLimitError as exc:
        raise BadJson(f"The request body is refused: {exc} (the limit)") from None
    except ValueError:  # not UTF-8, or not JSON
        raise BadJson("The request body is not valid JSON") from None


def text_problem(text: str, *, most: int | None) -> str | None:
    """What is wrong with a text's length, if anything: more than MAX_TEXT characters, or
    (``most`` given) more than ``most`` weighted characters as X counts them."""
    if len(text) > MAX_TEXT:
        return f"the text is {len(text):,} characters, over the limit of {MAX_TEXT:,}"
    if most is not None and (counted := weight(text)) > most:
        return (
            f"the text is {counted:,} weighted characters, over X's limit of {most:,} "
            "(a link counts 23; CJK characters, emoji and others past U+10FF count 2)"
        )
    return None


def weight(text: str) -> int:
    """The text's length as X counts it, as the suites' renderer does (most characters 1,
    CJK characters and emoji 2, a link 23)."""
    from socialbench.scenarios.render import length

    return length(text, "x")


def limit_body() -> Middleware:
    """Starlette middleware refusing request bodies over MAX_BODY: 413 as Direct Line's
    ErrorResponse on its routes, as an X problem everywhere else."""
    return Middleware(BodyLimit, limit=MAX_BODY, too_large=_too_large)


def _too_large(scope: dict) -> Response:
    detail = f"The request body is over the limit of {MAX_BODY:,} bytes"
    if scope["path"].startswith(DIRECTLINE_PREFIX):
        body: dict = {"error": {"code": "MessageSizeTooBig", "message": detail}}
        media = JSON
    else:
        body, media = problem(413, "Payload Too Large", detail).body, PROBLEM_JSON
    return Response(json.dumps(body, separators=(",", ":")), 413, media_type=media)

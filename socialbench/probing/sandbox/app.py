"""The Starlette application: the X API v2 subset of docs/x_api_subset.md, the brands'
chatbots over Direct Line 3.0 (`directline`), and /_sandbox.

Every /2 route goes through `_api`: bearer token (401), rate-limit bucket (429, violations),
then the request's injected fault (spurious 429, 503, slow, or a hang after handling), and
its answer carries the bucket's ``x-rate-limit-*`` headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from socialbench.probing.sandbox import directline
from socialbench.probing.sandbox import query as q
from socialbench.probing.sandbox.accounts import User
from socialbench.probing.sandbox.clock import first_snowflake_at, iso_ms, parse_iso_ms
from socialbench.probing.sandbox.shapes import (
    TOO_MANY,
    UNAUTHORIZED,
    UNAVAILABLE,
    ApiError,
    dm_json,
    field_list,
    invalid,
    not_found,
    tweet_json,
    user_json,
)
from socialbench.probing.sandbox.world import World

Handler = Callable[[World, Request, User], Awaitable[tuple[int, dict]]]
_HEX = frozenset("0123456789abcdef")
_USER_PARAMS = frozenset({"user.fields", "expansions", "tweet.fields"})
_SEARCH_PARAMS = frozenset(
    {"query", "start_time", "end_time", "since_id", "until_id", "max_results", "next_token",
     "pagination_token", "tweet.fields", "expansions", "user.fields", "sort_order"}
)  # fmt: skip
_DM_PARAMS = frozenset(
    {"event_types", "dm_event.fields", "max_results", "pagination_token", "expansions",
     "user.fields", "tweet.fields"}
)  # fmt: skip


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type="application/json")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _api(world: World, key: str, handler: Handler):
    faults = world.profile.faults

    async def endpoint(request: Request) -> Response:
        user = world.authenticate(_bearer(request))
        if user is None:
            return _json(401, UNAUTHORIZED.body)
        verdict, fault = world.admit(user, key)
        if not verdict.allowed:
            return _json(429, TOO_MANY.body, verdict.headers)
        if fault == "server_error":
            return _json(503, UNAVAILABLE.body, verdict.headers)
        if fault == "slow":
            await asyncio.sleep(faults.slow_s)
        try:
            status, body = await handler(world, request, user)
        except ApiError as exc:
            status, body = exc.status, exc.body
        if fault == "timeout":
            await asyncio.sleep(faults.timeout_s)
        return _json(status, body, verdict.headers)

    return endpoint


# ------------------------------------------------------------------------------ parameters


def _params(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    params = dict(request.query_params)
    for name, value in params.items():
        if name not in allowed:
            known = ",".join(sorted(allowed))
            raise invalid(f"The query parameter [{name}] is not one of [{known}]", **{name: value})
    return params


def _int(params: dict[str, str], name: str, *, default: int, lo: int, hi: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise invalid(
            f"The `{name}` query parameter value [{text}] is not between {lo} and {hi}",
            **{name: text},
        )
    return int(text)


def _snowflake(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise invalid(f"The `{name}` query parameter value [{text}] is not valid", **{name: text})
    return int(text)


def _instant(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        return parse_iso_ms(text)
    except ValueError:
        raise invalid(
            f"Invalid '{name}':'{text}'. '{name}' must be a ISO 8601 timestamp", **{name: text}
        ) from None


def _page_token(params: dict[str, str], name: str) -> int | None:
    """The id a page continues below (our tokens are "n" + hex of the last id shown)."""
    text = params.get(name)
    if text is None:
        return None
    digits = text[1:]
    if not text.startswith("n") or not digits or not all(c in _HEX for c in digits):
        raise invalid(f"The `{name}` query parameter value [{text}] is not valid", **{name: text})
    return int(digits, 16)


def _next_token(last_id: int) -> str:
    return f"n{last_id:x}"


async def _body(request: Request, allowed: frozenset[str]) -> dict:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise invalid("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    for name in body:
        if name not in allowed:
            raise invalid(
                f"$.{name}: is not defined in the schema and the schema does not allow "
                "additional properties"
            )
    return body


def _text(body: dict) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise invalid("$.text: a non-empty string is required")
    return text


# ----------------------------------------------------------------------------------- users


async def users_me(world: World, request: Request, user: User) -> tuple[int, dict]:
    fields = field_list(_params(request, _USER_PARAMS).get("user.fields"))
    return 200, {"data": user_json(user, fields, world.tweet_count(user))}


def _users(world: World, request: Request, parameter: str, lookup) -> tuple[int, dict]:
    params = _params(request, _USER_PARAMS | {parameter})
    names = [n.strip() for n in params.get(parameter, "").split(",") if n.strip()]
    if not names or len(names) > 100:
        raise invalid(
            f"The `{parameter}` query parameter needs 1 to 100 values",
            **{parameter: ",".join(names)},
        )
    fields = field_list(params.get("user.fields"))
    data, errors = [], []
    for name in names:
        found = lookup(name)
        if found is None:
            errors.append(not_found(parameter, name))
        else:
            data.append(user_json(found, fields, world.tweet_count(found)))
    body: dict = {"data": data} if data else {}
    if errors:
        body["errors"] = errors
    return 200, body


async def users_by(world: World, request: Request, user: User) -> tuple[int, dict]:
    return _users(world, request, "usernames", world.accounts.user_named)


async def users_by_ids(world: World, request: Request, user: User) -> tuple[int, dict]:
    return _users(world, request, "ids", world.accounts.by_id.get)


# ---------------------------------------------------------------------------------- tweets


async def post_tweet(world: World, request: Request, user: User) -> tuple[int, dict]:
    body = await _body(request, frozenset({"text", "reply"}))
    reply = body.get("reply")
    parent = None
    if reply is not None:
        parent = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if not isinstance(parent, str) or set(reply) != {"in_reply_to_tweet_id"}:
            raise invalid("$.reply: an object with in_reply_to_tweet_id is required")
    tweet = world.post_tweet(user, _text(body), parent)
    tid = str(tweet.id)
    return 201, {"data": {"id": tid, "text": tweet.text, "edit_history_tweet_ids": [tid]}}


async def search_recent(world: World, request: Request, user: User) -> tuple[int, dict]:
    params = _params(request, _SEARCH_PARAMS)
    text = params.get("query", "")
    try:
        node = q.parse(text)
    except q.QueryError as exc:
        raise invalid(f"There were errors processing your request: {exc}", query=text) from None
    limit = _int(params, "max_results", default=10, lo=10, hi=100)
    page = world.search(node, above=_above(params), below=_below(params), limit=limit)
    return 200, _search_body(world, params, page, limit)


def _above(params: dict[str, str]) -> int:
    since, start = _snowflake(params, "since_id"), _instant(params, "start_time")
    above = since or 0
    if start is not None:
        above = max(above, first_snowflake_at(start) - 1)
    return above


def _below(params: dict[str, str]) -> int | None:
    bounds = [
        _snowflake(params, "until_id"),
        _page_token(params, "next_token"),
        _page_token(params, "pagination_token"),
    ]
    end = _instant(params, "end_time")
    if end is not None:
        bounds.append(first_snowflake_at(end))
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def _search_body(world: World, params: dict[str, str], page: list, limit: int) -> dict:
    if not page:
        return {"meta": {"result_count": 0}}
    shown = page[:limit]
    fields = field_list(params.get("tweet.fields"))
    meta: dict = {
        "newest_id": str(shown[0].id),
        "oldest_id": str(shown[-1].id),
        "result_count": len(shown),
    }
    if len(page) > limit:
        meta["next_token"] = _next_token(shown[-1].id)
    body: dict = {"data": [tweet_json(t, fields) for t in shown]}
    if "author_id" in field_list(params.get("expansions")):
        authors = dict.fromkeys(t.author_id for t in shown)
        user_fields = field_list(params.get("user.fields"))
        users = [world.accounts.by_id[a] for a in authors]
        body["includes"] = {
            "users": [user_json(u, user_fields, world.tweet_count(u)) for u in users]
        }
    body["meta"] = meta
    return body


# ------------------------------------------------------------------------------------- DMs


async def post_dm(world: World, request: Request, user: User) -> tuple[int, dict]:
    body = await _body(request, frozenset({"text"}))
    event = world.post_dm(user, request.path_params["participant_id"], _text(body))
    return 201, {
        "data": {"dm_conversation_id": event.conversation_id, "dm_event_id": str(event.id)}
    }


async def dm_events(world: World, request: Request, user: User) -> tuple[int, dict]:
    params = _params(request, _DM_PARAMS)
    kinds = field_list(params.get("event_types"))
    if kinds - {"MessageCreate"}:
        raise invalid("Only MessageCreate events are available", event_types=params["event_types"])
    limit = _int(params, "max_results", default=100, lo=1, hi=100)
    before = _page_token(params, "pagination_token")
    page = world.dm_page(user, before=before, limit=limit)
    if not page:
        return 200, {"meta": {"result_count": 0}}
    shown, fields = page[:limit], field_list(params.get("dm_event.fields"))
    meta: dict = {"result_count": len(shown)}
    if len(page) > limit:
        meta["next_token"] = _next_token(shown[-1].id)
    return 200, {"data": [dm_json(e, fields) for e in shown], "meta": meta}


# -------------------------------------------------------------------------------- sandbox


def _sandbox_routes(world: World) -> list[Route]:
    async def clock(request: Request) -> Response:
        now_ms = world.clock.now_ms()
        return _json(
            200, {"now": iso_ms(now_ms), "epoch": now_ms / 1000.0, "speed": world.clock.speed}
        )

    async def accounts(request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            return _json(400, invalid("The request body is not valid JSON").body)
        try:
            return _json(200, world.register(payload))
        except ApiError as exc:
            return _json(exc.status, exc.body)

    async def truth(request: Request) -> Response:
        with world.lock:
            return PlainTextResponse(world.truth.text())

    return [
        Route("/_sandbox/clock", clock),
        Route("/_sandbox/accounts", accounts, methods=["POST"]),
        Route("/_sandbox/truth", truth),
    ]


def create_app(world: World) -> Starlette:
    """The sandbox as an ASGI application over ``world``."""
    routes = [
        Route("/2/users/me", _api(world, "users_me", users_me)),
        Route("/2/users/by", _api(world, "users_by", users_by)),
        Route("/2/users", _api(world, "users_by", users_by_ids)),
        Route("/2/tweets", _api(world, "tweets_post", post_tweet), methods=["POST"]),
        Route("/2/tweets/search/recent", _api(world, "search_recent", search_recent)),
        Route(
            "/2/dm_conversations/with/{participant_id}/messages",
            _api(world, "dm_post", post_dm),
            methods=["POST"],
        ),
        Route("/2/dm_events", _api(world, "dm_events", dm_events)),
        *directline.routes(world.chats),
        *_sandbox_routes(world),
    ]
    return Starlette(routes=routes)

"""The Starlette application: the X API v2 subset of docs/x_api_subset.md, the brands'
chatbots over Direct Line 3.0 (`directline`), and /_sandbox.

Every /2 request goes through `_api`: bearer token (401), rate-limit bucket (429, violations),
then the request's injected fault (spurious 429, 503, slow, or a hang after handling), and
its answer carries the bucket's ``x-rate-limit-*`` headers. What a request may carry is
`params`'s business (the official spec's schemas); a /2 request outside the subset is 404.
Error answers are ``application/problem+json``, as X sends them. Every request passes
`intake` first (a body of at most ``MAX_BODY`` bytes), and the /_sandbox routes `admin`'s
check when an admin token is set. The faults' waits end when the server stops (`Waits`):
the request is then answered 503.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from socialbench.probing.sandbox import admin, directline, intake
from socialbench.probing.sandbox import params as p
from socialbench.probing.sandbox import query as q
from socialbench.probing.sandbox.accounts import User
from socialbench.probing.sandbox.clock import first_snowflake_at, iso_ms
from socialbench.probing.sandbox.limits import OTHER
from socialbench.probing.sandbox.shapes import (
    JSON,
    NOT_FOUND,
    PROBLEM_JSON,
    TOO_MANY,
    UNAUTHORIZED,
    UNAVAILABLE,
    ApiError,
    dm_json,
    invalid,
    not_found,
    problem,
    tweet_json,
    user_json,
)
from socialbench.probing.sandbox.world import World

Handler = Callable[[World, Request, User], Awaitable[tuple[int, dict]]]
_HEX = frozenset("0123456789abcdef")
_TOKEN_DIGITS = 16
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_NOTHING: frozenset[str] = frozenset()


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type=PROBLEM_JSON if status >= 400 else JSON)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Waits:
    """The injected faults' waits (slow, timeout), all cut short when the server stops, so
    that no request hangs past it, however long its profile says."""

    def __init__(self) -> None:
        self._stopped = False
        self._waiting: set[asyncio.Future] = set()

    async def wait(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the server started stopping meanwhile."""
        if self._stopped:
            return False
        woken = asyncio.get_running_loop().create_future()
        self._waiting.add(woken)
        try:
            await asyncio.wait_for(woken, seconds)
        except TimeoutError:
            return True
        finally:
            self._waiting.discard(woken)
        return False

    def stop(self) -> None:
        """End every wait, now and to come (called on the server's loop)."""
        self._stopped = True
        for woken in self._waiting:
            if not woken.done():
                woken.set_result(None)


def _api(world: World, key: str, handler: Handler, waits: Waits):
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
        if fault == "slow" and not await waits.wait(faults.slow_s):
            return _json(503, UNAVAILABLE.body, verdict.headers)
        try:
            status, body = await handler(world, request, user)
        except ApiError as exc:
            status, body = exc.status, exc.body
        if fault == "timeout" and not await waits.wait(faults.timeout_s):
            return _json(503, UNAVAILABLE.body, verdict.headers)
        return _json(status, body, verdict.headers)

    return endpoint


def _query(request: Request, rules: dict[str, p.Rule], *, required: tuple[str, ...] = ()) -> dict:
    return p.parse(request.query_params, rules, required=required)


def _fields(params: dict, name: str) -> frozenset[str]:
    return params.get(name, _NOTHING)  # type: ignore[return-value]


def _page_token(params: dict, name: str) -> int | None:
    """The id a page continues below (our tokens are the last id shown, 16 hex digits)."""
    text = params.get(name)
    if text is None:
        return None
    if len(text) != _TOKEN_DIGITS or not set(text) <= _HEX:
        raise invalid(f"The `{name}` query parameter value [{text}] is not valid", **{name: text})
    return int(text, 16)


def _next_token(last_id: int) -> str:
    return f"{last_id:0{_TOKEN_DIGITS}x}"


async def unrouted(world: World, request: Request, user: User) -> tuple[int, dict]:
    """Any other /2 request: an operation the sandbox does not implement."""
    return 404, NOT_FOUND.body


# ----------------------------------------------------------------------------------- users


def _user_fields(params: dict) -> frozenset[str]:
    return _fields(params, "user.fields")


async def users_me(world: World, request: Request, user: User) -> tuple[int, dict]:
    params = _query(request, p.USER_LOOKUP)
    return 200, {"data": user_json(user, _user_fields(params), world.tweet_count(user))}


def _users(world: World, request: Request, parameter: str, lookup) -> tuple[int, dict]:
    rules = p.USERNAMES if parameter == "usernames" else p.USER_IDS
    params = _query(request, rules, required=(parameter,))
    fields = _user_fields(params)
    data, errors = [], []
    for name in params[parameter]:
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


async def user_by_username(world: World, request: Request, user: User) -> tuple[int, dict]:
    name = p.path_username("username", request.path_params["username"])
    params = _query(request, p.USER_LOOKUP)
    found = world.accounts.user_named(name)
    if found is None:
        return 200, {"errors": [not_found("username", name)]}
    return 200, {"data": user_json(found, _user_fields(params), world.tweet_count(found))}


# ---------------------------------------------------------------------------------- tweets


async def post_tweet(world: World, request: Request, user: User) -> tuple[int, dict]:
    body = p.body(await request.body(), p.TweetIn)
    assert isinstance(body, p.TweetIn)
    if not body.has_content():
        raise invalid("$.text: a non-blank text, media, a poll, a card or a quoted post is needed")
    too_long = intake.text_problem(body.text or "", most=intake.MAX_TWEET_WEIGHT)
    if too_long is not None:
        raise invalid(f"$.text: {too_long}")
    parent = body.reply.in_reply_to_tweet_id if body.reply is not None else None
    tweet = world.post_tweet(user, body.text or "", parent)
    tid = str(tweet.id)
    return 201, {"data": {"id": tid, "text": tweet.text, "edit_history_tweet_ids": [tid]}}


async def search_recent(world: World, request: Request, user: User) -> tuple[int, dict]:
    params = _query(request, p.SEARCH, required=("query",))
    text = params["query"]
    try:
        node = q.parse(text)
    except q.QueryError as exc:
        raise invalid(f"There were errors processing your request: {exc}", query=text) from None
    limit = params.get("max_results", 10)
    page = world.search(node, above=_above(params), below=_below(params), limit=limit)
    return 200, _search_body(world, params, page, limit)


def _above(params: dict) -> int:
    above = params.get("since_id", 0)
    start = params.get("start_time")
    if start is not None:
        above = max(above, first_snowflake_at(start) - 1)
    return above


def _below(params: dict) -> int | None:
    bounds = [
        params.get("until_id"),
        _page_token(params, "next_token"),
        _page_token(params, "pagination_token"),
    ]
    end = params.get("end_time")
    if end is not None:
        bounds.append(first_snowflake_at(end))
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def _search_body(world: World, params: dict, page: list, limit: int) -> dict:
    if not page:
        return {"meta": {"result_count": 0}}
    shown = page[:limit]
    fields = _fields(params, "tweet.fields") | _fields(params, "post.fields")
    meta: dict = {
        "newest_id": str(shown[0].id),
        "oldest_id": str(shown[-1].id),
        "result_count": len(shown),
    }
    if len(page) > limit:
        meta["next_token"] = _next_token(shown[-1].id)
    body: dict = {"data": [tweet_json(t, fields) for t in shown]}
    expansions = _fields(params, "expansions")
    ids = [t.author_id for t in shown] if "author_id" in expansions else []
    if "in_reply_to_user_id" in expansions:
        ids += [t.in_reply_to_user_id for t in shown if t.in_reply_to_user_id is not None]
    if ids:
        body["includes"] = {"users": _users_json(world, ids, _user_fields(params))}
    body["meta"] = meta
    return body


def _users_json(world: World, ids: list[str], fields: frozenset[str]) -> list[dict]:
    """The users behind ``ids``, once each, in order of first appearance."""
    users = [world.accounts.by_id[i] for i in dict.fromkeys(ids)]
    return [user_json(u, fields, world.tweet_count(u)) for u in users]


# ------------------------------------------------------------------------------------- DMs


async def post_dm(world: World, request: Request, user: User) -> tuple[int, dict]:
    participant = p.path_id("participant_id", request.path_params["participant_id"])
    body = p.body(await request.body(), p.DmIn)
    assert isinstance(body, p.DmIn)
    if not (body.text and body.text.strip()) and not body.attachments:
        raise invalid("$.text: a non-blank text or attachments are needed")
    too_long = intake.text_problem(body.text or "", most=intake.MAX_DM_WEIGHT)
    if too_long is not None:
        raise invalid(f"$.text: {too_long}")
    event = world.post_dm(user, participant, body.text or "")
    return 201, {
        "data": {"dm_conversation_id": event.conversation_id, "dm_event_id": str(event.id)}
    }


async def dm_events(world: World, request: Request, user: User) -> tuple[int, dict]:
    params = _query(request, p.DM_EVENTS)
    if "MessageCreate" not in params.get("event_types", p.EVENT_TYPES):
        return 200, {"meta": {"result_count": 0}}  # the only kind of event the sandbox has
    limit = params.get("max_results", 100)
    before = _page_token(params, "pagination_token")
    page = world.dm_page(user, before=before, limit=limit)
    if not page:
        return 200, {"meta": {"result_count": 0}}
    shown, fields = page[:limit], _fields(params, "dm_event.fields")
    meta: dict = {"result_count": len(shown)}
    if len(page) > limit:
        meta["next_token"] = _next_token(shown[-1].id)
    body: dict = {"data": [dm_json(e, fields) for e in shown]}
    if "sender_id" in _fields(params, "expansions"):
        senders = [e.sender_id for e in shown]
        body["includes"] = {"users": _users_json(world, senders, _user_fields(params))}
    body["meta"] = meta
    return 200, body


# -------------------------------------------------------------------------------- sandbox


def _admin(token: str | None, endpoint: Callable[[Request], Awaitable[Response]]):
    """``endpoint`` behind the admin token (when one is set)."""
    refused = {401: UNAUTHORIZED.body, 403: problem(403, "Forbidden", "Wrong admin token").body}

    async def guarded(request: Request) -> Response:
        status = admin.check(token, request.headers.get("authorization", ""))
        if status is not None:
            return _json(status, refused[status], {"www-authenticate": "Bearer"})
        return await endpoint(request)

    return guarded


def _sandbox_routes(world: World, token: str | None) -> list[Route]:
    async def clock(request: Request) -> Response:
        now_ms = world.clock.now_ms()
        return _json(
            200, {"now": iso_ms(now_ms), "epoch": now_ms / 1000.0, "speed": world.clock.speed}
        )

    async def accounts(request: Request) -> Response:
        try:
            payload = intake.load_json(await request.body())
        except intake.BadJson as exc:
            return _json(400, invalid(str(exc)).body)
        try:
            return _json(200, world.register(payload))
        except ApiError as exc:
            return _json(exc.status, exc.body)

    async def truth(request: Request) -> Response:
        with world.lock:
            return PlainTextResponse(world.truth.text())

    return [
        Route("/_sandbox/clock", _admin(token, clock)),
        Route("/_sandbox/accounts", _admin(token, accounts), methods=["POST"]),
        Route("/_sandbox/truth", _admin(token, truth)),
        Route("/_sandbox/{rest:path}", _admin(token, _unknown), methods=_METHODS),
    ]


async def _unknown(request: Request) -> Response:
    return _json(404, NOT_FOUND.body)


def create_app(
    world: World, *, admin_token: str | None = None, waits: Waits | None = None
) -> Starlette:
    """The sandbox as an ASGI application over ``world``; with ``admin_token``, the
    /_sandbox routes need it. ``waits`` (by default a fresh `Waits`) are the faults' waits,
    which the server ends as it stops."""
    waits = waits or Waits()
    routes = [
        Route("/2/users/me", _api(world, "users_me", users_me, waits)),
        Route("/2/users/by", _api(world, "users_by", users_by, waits)),
        Route("/2/users/by/username/{username}", _api(world, "users_by", user_by_username, waits)),
        Route("/2/users", _api(world, "users_by", users_by_ids, waits)),
        Route("/2/tweets", _api(world, "tweets_post", post_tweet, waits), methods=["POST"]),
        Route("/2/tweets/search/recent", _api(world, "search_recent", search_recent, waits)),
        Route(
            "/2/dm_conversations/with/{participant_id}/messages",
            _api(world, "dm_post", post_dm, waits),
            methods=["POST"],
        ),
        Route("/2/dm_events", _api(world, "dm_events", dm_events, waits)),
        Route("/2/{rest:path}", _api(world, OTHER, unrouted, waits), methods=_METHODS),
        *directline.routes(world.chats),
        *_sandbox_routes(world, admin_token),
    ]
    return Starlette(routes=routes, middleware=[intake.limit_body()])

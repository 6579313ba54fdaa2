"""The X API v2 connector (socialbench.probing.connectors.x) against a fake X behind MockTransport.

``FakeX`` answers the subset of docs/x_api_subset.md with the shapes X uses, counts rate
limits per (token, endpoint) in 15-minute windows and can be told to fail. ``FakeClock``
jumps to the moment waited for, after letting requests already in flight finish (as they
would during a real wait), and records every wait.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from socialbench.probing.connectors.base import Observed, RunFailed, SendFailed, Watch
from socialbench.probing.connectors.x import (
    Credential,
    PollFailed,
    XConnector,
    conversation_batches,
    parse_time,
    snowflake_time,
)
from socialbench.probing.probes import PRIVATE, PUBLIC, Probe, marker

TWITTER_EPOCH_MS = 1288834974657
START = 1_800_000_010.0  # 2027-01-15T08:00:10Z, 10 s into a 15-minute window
WINDOW_S = 900
ANN_TOKEN = "ann-secret-token-0001"
BOB_TOKEN = "bob-secret-token-0002"
TOKENS = (ANN_TOKEN, BOB_TOKEN)
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"}
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


def iso(at: float) -> str:
    seconds, millis = divmod(round(at * 1000), 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.t = now
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, moment: float) -> None:
        self.waits.append(moment)
        for _ in range(10):  # requests in flight finish first, as during a real wait
            await asyncio.sleep(0)
        self.t = max(self.t, moment)


@dataclass
class Call:
    method: str
    path: str
    key: str
    params: dict
    token: str
    at: float
    body: dict | None
    status: int = 0


def endpoint(method: str, path: str) -> str:
    if path.startswith("/2/dm_conversations/"):
        return "dm_post"
    return {
        ("GET", "/2/users/me"): "users_me",
        ("GET", "/2/users/by"): "users_by",
        ("GET", "/2/users"): "users_by",
        ("POST", "/2/tweets"): "tweets_post",
        ("GET", "/2/tweets/search/recent"): "search_recent",
        ("GET", "/2/dm_events"): "dm_events",
    }[(method, path)]


class FakeX:
    """X as far as docs/x_api_subset.md goes; ``faults[key]`` lists failures to serve next."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.users: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.tweets: list[dict] = []
        self.dms: list[dict] = []
        self.calls: list[Call] = []
        self.faults: dict[str, list] = defaultdict(list)
        self.limits: dict[str, int] = {}
        self.used: dict[tuple, int] = defaultdict(int)
        self.blocked: dict[tuple[str, str], float] = {}  # a 429's reset per bucket
        self.early: list[Call] = []  # requests sent before a 429's reset
        self.in_flight = 0
        self.most_in_flight = 0
        self._sequence = 0
        self._next_user = 4_000_000

    # -- world building ---------------------------------------------------------------

    def account(self, username: str, followers: int = 10, token: str | None = None) -> str:
        self._next_user += 17
        user_id = str(self._next_user)
        self.users[user_id] = {
            "id": user_id,
            "name": username.title(),
            "username": username,
            "public_metrics": {
                "followers_count": followers,
                "following_count": 3,
                "tweet_count": 40,
                "listed_count": 0,
            },
        }
        if token:
            self.tokens[token] = user_id
        return user_id

    def snowflake(self, at: float) -> str:
        self._sequence += 1
        return str(((round(at * 1000) - TWITTER_EPOCH_MS) << 22) | self._sequence)

    def post(self, author_id: str, text: str, *, reply_to: str | None = None, at=None) -> dict:
        at = self.clock.now() if at is None else at
        tweet = {
            "id": self.snowflake(at),
            "text": text,
            "created_at": iso(at),
            "author_id": author_id,
            "edit_history_tweet_ids": [],
        }
        tweet["edit_history_tweet_ids"].append(tweet["id"])
        tweet["conversation_id"] = tweet["id"]
        if reply_to is not None:
            parent = next(t for t in self.tweets if t["id"] == reply_to)
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self.tweets.append(tweet)
        return tweet

    def dm(self, sender_id: str, recipient_id: str, text: str, *, at=None) -> dict:
        at = self.clock.now() if at is None else at
        low, high = sorted((sender_id, recipient_id), key=int)
        event = {
            "id": self.snowflake(at),
            "event_type": "MessageCreate",
            "text": text,
            "created_at": iso(at),
            "sender_id": sender_id,
            "dm_conversation_id": f"{low}-{high}",
            "participant_ids": [low, high],
        }
        self.dms.append(event)
        return event

    def count(self, key: str, method: str = "") -> int:
        return sum(1 for c in self.calls if c.key == key and (not method or c.method == method))

    # -- the transport handler ----------------------------------------------------------

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # network latency: other coroutines run meanwhile
            call = self._call(request)
            response = self._serve(request, call)
            call.status = response.status_code
            return response
        finally:
            self.in_flight -= 1

    def _call(self, request: httpx.Request) -> Call:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        key = endpoint(request.method, request.url.path)
        body = json.loads(request.content) if request.content else None
        params = dict(request.url.params)
        call = Call(request.method, request.url.path, key, params, token, self.clock.now(), body)
        self.calls.append(call)
        if self.clock.now() < self.blocked.get((token, key), 0):
            self.early.append(call)
        return call

    def _serve(self, request: httpx.Request, call: Call) -> httpx.Response:
        fault = self.faults[call.key].pop(0) if self.faults[call.key] else None
        if fault == "connect-error":
            raise httpx.ConnectError("connection refused", request=request)
        if call.token not in self.tokens:
            return httpx.Response(401, json=UNAUTHORIZED)
        headers, over = self._limit(call)
        if over or fault == "429":
            self.blocked[(call.token, call.key)] = int(headers["x-rate-limit-reset"])
            headers["x-rate-limit-remaining"] = "0"
            return httpx.Response(429, json={**TOO_MANY, "status": 429}, headers=headers)
        if fault == "429-bare":
            return httpx.Response(429, json={**TOO_MANY, "status": 429})
        if fault in (500, 503):
            return httpx.Response(fault, json={"title": "Service Unavailable"}, headers=headers)
        if isinstance(fault, tuple):  # (status, detail)
            status, detail = fault
            problem = {"title": "Forbidden", "type": "about:blank", "status": status}
            return httpx.Response(status, json={**problem, "detail": detail}, headers=headers)
        status, body = self._route(call)
        if fault == "timeout-after":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(status, json=body, headers=headers)

    def _limit(self, call: Call) -> tuple[dict, bool]:
        limit = self.limits.get(call.key, 10_000)
        window = int(self.clock.now() // WINDOW_S)
        self.used[(call.token, call.key, window)] += 1
        used = self.used[(call.token, call.key, window)]
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str((window + 1) * WINDOW_S),
        }
        return headers, used > limit

    def _route(self, call: Call) -> tuple[int, dict]:
        me = self.tokens[call.token]
        if call.key == "users_me":
            user = self.users[me]
            return 200, {"data": {k: user[k] for k in ("id", "name", "username")}}
        if call.path == "/2/users/by":
            return 200, self._users_by(call.params["usernames"].split(","))
        if call.key == "users_by":
            ids = call.params["ids"].split(",")
            return 200, {"data": [self.users[i] for i in ids if i in self.users]}
        if call.key == "tweets_post":
            return self._create_tweet(me, call.body["text"])
        if call.key == "search_recent":
            return self._search(call.params)
        if call.key == "dm_post":
            recipient = call.path.split("/")[4]
            event = self.dm(me, recipient, call.body["text"])
            ids = {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["id"]}
            return 201, {"data": ids}
        return self._dm_events(me, call.params)

    def _users_by(self, names: list[str]) -> dict:
        by_name = {u["username"].lower(): u for u in self.users.values()}
        found = [by_name[n.lower()] for n in names if n.lower() in by_name]
        body: dict = {"data": found} if found else {}
        missing = [n for n in names if n.lower() not in by_name]
        if missing:
            body["errors"] = [
                {
                    "value": n,
                    "detail": f"Could not find user with usernames: [{n}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": "usernames",
                    "resource_id": n,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
                for n in missing
            ]
        return body

    def _create_tweet(self, me: str, text: str) -> tuple[int, dict]:
        if any(t["author_id"] == me and t["text"] == text for t in self.tweets):
            problem = {"type": "about:blank", "title": "Forbidden", "status": 403}
            return 403, {**problem, "detail": DUPLICATE}
        tweet = self.post(me, text)
        fields = ("id", "text", "edit_history_tweet_ids")
        return 201, {"data": {k: tweet[k] for k in fields}}

    def _search(self, params: dict) -> tuple[int, dict]:
        query = params["query"]
        if len(query) > 4096:
            return 400, {"title": "Invalid Request", "detail": "query too long"}
        conversations = set(re.findall(r"conversation_id:(\d+)", query))
        authors = {a.lower() for a in re.findall(r"from:(\w+)", query)}
        phrases = [p.lower() for p in re.findall(r'"([^"]*)"', query)]
        since = parse_time(params["start_time"]) if "start_time" in params else 0.0
        found = [
            t
            for t in self.tweets
            if (not conversations or t["conversation_id"] in conversations)
            and (not authors or self.users[t["author_id"]]["username"].lower() in authors)
            and all(p in t["text"].lower() for p in phrases)
            and since <= parse_time(t["created_at"]) <= self.clock.now()
        ]
        page, meta = self._page(found, params, "next_token", int(params.get("max_results", 10)))
        if not page:
            return 200, {"meta": {"result_count": 0}}
        authors_seen = dict.fromkeys(t["author_id"] for t in page)
        users = [
            {k: self.users[a][k] for k in ("id", "name", "username", "public_metrics")}
            for a in authors_seen
        ]
        return 200, {"data": page, "includes": {"users": users}, "meta": meta}

    def _dm_events(self, me: str, params: dict) -> tuple[int, dict]:
        mine = [e for e in self.dms if me in e["participant_ids"]]
        size = int(params.get("max_results", 100))
        page, meta = self._page(mine, params, "pagination_token", size)
        return 200, ({"data": page, "meta": meta} if page else {"meta": {"result_count": 0}})

    @staticmethod
    def _page(items: list[dict], params: dict, cursor: str, size: int) -> tuple[list, dict]:
        newest_first = sorted(items, key=lambda item: int(item["id"]), reverse=True)
        offset = int(params.get(cursor, "0").removeprefix("c") or 0)
        page = newest_first[offset : offset + size]
        meta: dict = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + size < len(newest_first):
            meta["next_token"] = f"c{offset + size}"
        return page, meta


# -- setup ------------------------------------------------------------------------------


@dataclass
class World:
    x: FakeX
    clock: FakeClock
    ann: str
    bob: str
    acme: str
    acme_help: str


def make_world() -> World:
    clock = FakeClock()
    x = FakeX(clock)
    ann = x.account("ann", followers=120, token=ANN_TOKEN)
    bob = x.account("Bob", followers=30, token=BOB_TOKEN)
    acme = x.account("Acme", followers=50_000)
    acme_help = x.account("AcmeHelp", followers=9_000)
    return World(x, clock, ann, bob, acme, acme_help)


def connector(world: World, **options) -> XConnector:
    settings = {"search_lag_s": 0.0, "backoff_s": 0.0, "retries": 3, **options}
    credentials = {
        "ann": Credential("X_TOKEN_ANN", ANN_TOKEN),
        "bob": Credential("X_TOKEN_BOB", BOB_TOKEN),
    }
    return XConnector(
        clock=world.clock,
        credentials=settings.pop("credentials", credentials),
        brand_handles=settings.pop("brand_handles", ["acme", "AcmeHelp"]),
        base_url="https://api.x.test",
        transport=httpx.MockTransport(world.x),
        **settings,
    )


def probe(surface: str = PUBLIC, pid: str = "p0123456789a") -> Probe:
    return Probe(
        probe_id=pid,
        suite="suite",
        scenario="late-order",
        category="delivery",
        brand="acme",
        brand_handle="acme",
        channel="x",
        surface=surface,
        persona="p1",
        persona_handle="ann",
        followers=None,
        credential="X_TOKEN_ANN",
        text=f"@acme my order 1234 is late {marker(pid)}",
    )


def run(world: World, scenario, **options):
    """Start a connector, run ``scenario(connector)`` and close it; return its result."""

    async def main():
        x = connector(world, **options)
        try:
            await x.start()
            return await scenario(x)
        finally:
            await x.close()

    return asyncio.run(main())


def failure(world: World, scenario, expected: type[Exception], **options) -> Exception:
    with pytest.raises(expected) as caught:
        run(world, scenario, **options)
    assert not any(token in str(caught.value) for token in TOKENS)
    return caught.value


async def nothing(x: XConnector) -> None:
    return None


def assert_no_token(value) -> None:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else value
    assert not any(token in text for token in TOKENS)


# -- start ------------------------------------------------------------------------------


def test_credential_repr_hides_the_token():
    credential = Credential("X_TOKEN_ANN", ANN_TOKEN)
    assert "X_TOKEN_ANN" in repr(credential)
    assert ANN_TOKEN not in repr(credential)


def test_start_checks_every_token_and_reads_follower_counts():
    world = make_world()

    async def scenario(x):
        return x.followers

    assert run(world, scenario) == {"ann": 120, "bob": 30}
    me_calls = [c for c in world.x.calls if c.key == "users_me"]
    assert sorted(c.token for c in me_calls) == sorted(TOKENS)
    (by,) = [c for c in world.x.calls if c.path == "/2/users/by"]
    assert set(by.params["usernames"].split(",")) == {"ann", "bob", "acme", "acmehelp"}
    assert by.params["user.fields"] == "public_metrics"


def test_refused_token_fails_the_run_naming_the_variable_not_the_token():
    world = make_world()
    del world.x.tokens[ANN_TOKEN]
    error = failure(world, nothing, RunFailed)
    assert "X_TOKEN_ANN" in str(error)
    assert error.exit_code == 3


def test_token_of_another_account_fails_the_run():
    world = make_world()
    credentials = {"ann": Credential("X_TOKEN_ANN", BOB_TOKEN)}
    error = failure(world, nothing, RunFailed, credentials=credentials)
    assert "X_TOKEN_ANN" in str(error) and "@Bob" in str(error) and "@ann" in str(error)


def test_unknown_brand_handle_fails_the_run_naming_it():
    world = make_world()
    error = failure(world, nothing, RunFailed, brand_handles=["acme", "NoSuchBrand"])
    assert "nosuchbrand" in str(error).lower()


def test_unreachable_x_fails_the_run():
    world = make_world()
    world.x.faults["users_me"] = ["connect-error"] * 3
    error = failure(world, nothing, RunFailed, retries=2)
    assert "ConnectError" in str(error)
    assert world.x.count("users_me") == 3


# -- send -------------------------------------------------------------------------------


def test_send_public_posts_the_text_and_times_it_from_the_snowflake():
    world = make_world()
    sent = run(world, lambda x: x.send(probe()))
    (tweet,) = world.x.tweets
    assert tweet["text"] == probe().text and tweet["author_id"] == world.ann
    assert sent.platform_id == tweet["id"] and sent.conversation_id == tweet["id"]
    assert sent.sent_at == iso(START) == tweet["created_at"]
    (post,) = [c for c in world.x.calls if c.key == "tweets_post"]
    assert post.body == {"text": probe().text} and post.token == ANN_TOKEN


def test_send_private_messages_the_brand():
    world = make_world()
    sent = run(world, lambda x: x.send(probe(PRIVATE)))
    (event,) = world.x.dms
    low, high = sorted((world.ann, world.acme), key=int)
    assert sent.conversation_id == f"{low}-{high}" == event["dm_conversation_id"]
    assert sent.platform_id == event["id"] and sent.sent_at == iso(START)
    (post,) = [c for c in world.x.calls if c.key == "dm_post"]
    assert post.path == f"/2/dm_conversations/with/{world.acme}/messages"
    assert post.body == {"text": probe(PRIVATE).text}


def test_snowflake_time_reads_milliseconds_since_the_twitter_epoch():
    snowflake = str(((1_700_000_000_123 - TWITTER_EPOCH_MS) << 22) | 4095)
    assert snowflake_time(snowflake) == "2023-11-14T22:13:20.123Z"
    assert parse_time("2023-11-14T22:13:20.123Z") == 1_700_000_000.123


def test_server_error_is_retried_after_checking_the_probe_did_not_land():
    world = make_world()
    world.x.faults["tweets_post"] = [503]
    sent = run(world, lambda x: x.send(probe()))
    assert [c.key for c in world.x.calls[-3:]] == ["tweets_post", "search_recent", "tweets_post"]
    (tweet,) = world.x.tweets
    assert sent.platform_id == tweet["id"]


def test_timeout_after_posting_is_reconciled_without_posting_again():
    world = make_world()
    world.x.faults["tweets_post"] = ["timeout-after"]
    sent = run(world, lambda x: x.send(probe()), search_lag_s=30.0)
    assert world.x.count("tweets_post") == 1
    (tweet,) = world.x.tweets
    assert sent.platform_id == tweet["id"] and sent.sent_at == tweet["created_at"]
    assert world.clock.waits == [START + 30.0]  # search may lag behind new posts
    (search,) = [c for c in world.x.calls if c.key == "search_recent"]
    assert search.params["query"] == 'from:ann "ref:p0123456789a"'
    assert search.token == ANN_TOKEN


def test_dm_timeout_after_sending_is_reconciled_from_dm_events():
    world = make_world()
    world.x.dm(world.bob, world.ann, "unrelated")
    world.x.faults["dm_post"] = ["timeout-after"]
    sent = run(world, lambda x: x.send(probe(PRIVATE)))
    assert world.x.count("dm_post") == 1 and world.x.count("dm_events") == 1
    assert sent.platform_id == world.x.dms[-1]["id"]


def test_refused_connection_is_retried_without_searching():
    world = make_world()
    world.x.faults["tweets_post"] = ["connect-error"]
    run(world, lambda x: x.send(probe()))
    assert world.x.count("tweets_post") == 2 and world.x.count("search_recent") == 0
    assert len(world.x.tweets) == 1


def test_duplicate_content_returns_the_probe_already_posted():
    world = make_world()
    earlier = world.x.post(world.ann, probe().text, at=START - 3600)
    sent = run(world, lambda x: x.send(probe()))
    assert sent.platform_id == earlier["id"] and sent.sent_at == iso(START - 3600)
    assert world.x.count("tweets_post") == 1 and len(world.x.tweets) == 1


@pytest.mark.parametrize(
    ("surface", "key", "fault", "detail"),
    [
        pytest.param(PUBLIC, "tweets_post", (400, "Invalid text"), "Invalid text", id="400"),
        pytest.param(
            PRIVATE,
            "dm_post",
            (403, "You cannot send messages to this user."),
            "You cannot send messages to this user.",
            id="403-recipient",
        ),
    ],
)
def test_refused_probe_is_send_failed_with_x_detail(surface, key, fault, detail):
    world = make_world()
    world.x.faults[key] = [fault]
    error = failure(world, lambda x: x.send(probe(surface)), SendFailed)
    assert detail in str(error) and "p0123456789a" in str(error)


def test_send_gives_up_after_the_retries():
    world = make_world()
    world.x.faults["tweets_post"] = [503] * 3
    error = failure(world, lambda x: x.send(probe()), SendFailed, retries=2)
    assert "503" in str(error)
    assert world.x.count("tweets_post") == 3 and not world.x.tweets


def test_revoked_token_while_sending_fails_the_run():
    world = make_world()

    async def scenario(x):
        del world.x.tokens[ANN_TOKEN]
        return await x.send(probe())

    error = failure(world, scenario, RunFailed)
    assert "X_TOKEN_ANN" in str(error)


def test_forbidden_token_while_sending_fails_the_run():
    world = make_world()
    world.x.faults["tweets_post"] = [(403, "Forbidden")]
    error = failure(world, lambda x: x.send(probe()), RunFailed)
    assert "X_TOKEN_ANN" in str(error)


# -- rate limits ------------------------------------------------------------------------


def reset_after(at: float) -> int:
    return (int(at // WINDOW_S) + 1) * WINDOW_S


def test_exhausted_bucket_waits_for_the_reset():
    world = make_world()
    world.x.limits["search_recent"] = 1

    async def scenario(x):
        return [await x.find_sent(probe()), await x.find_sent(probe())]

    assert run(world, scenario) == [None, None]
    first, second = [c for c in world.x.calls if c.key == "search_recent"]
    assert world.clock.waits == [reset_after(START) + 1]
    assert second.at == reset_after(START) + 1 and second.status == 200


def test_429_is_waited_out_and_retried_without_using_retries():
    world = make_world()
    world.x.faults["search_recent"] = ["429", "429"]
    assert run(world, lambda x: x.find_sent(probe()), retries=0) is None
    searches = [c for c in world.x.calls if c.key == "search_recent"]
    assert [c.status for c in searches] == [429, 429, 200]
    # after the reset's second, a backoff of 1 s doubling per 429 in a row, with jitter
    first_reset = reset_after(START)
    assert first_reset + 1 + 0.5 <= searches[1].at <= first_reset + 1 + 1.0
    second_reset = reset_after(searches[1].at)
    assert second_reset + 1 + 1.0 <= searches[2].at <= second_reset + 1 + 2.0
    assert not world.x.early


def test_429_without_reset_backs_off_from_a_minute_doubling_with_jitter():
    world = make_world()
    world.x.faults["search_recent"] = ["429-bare", "429-bare"]
    run(world, lambda x: x.find_sent(probe()))
    first, second = world.clock.waits
    assert START + 60.0 <= first <= START + 120.0
    assert first + 120.0 <= second <= first + 240.0


def test_concurrent_callers_wait_together_on_one_bucket():
    world = make_world()
    world.x.limits["search_recent"] = 3

    async def scenario(x):
        pids = [f"p{n:011x}" for n in range(8)]
        return await asyncio.gather(*(x.find_sent(probe(pid=pid)) for pid in pids))

    assert run(world, scenario) == [None] * 8
    searches = [c for c in world.x.calls if c.key == "search_recent"]
    assert len(searches) == 8 and {c.status for c in searches} == {200}
    windows = [int(c.at // WINDOW_S) for c in searches]
    assert max(windows.count(w) for w in windows) <= 3
    assert world.clock.waits and min(world.clock.waits) == reset_after(START) + 1


def test_concurrent_callers_never_call_before_a_429_reset():
    world = make_world()
    world.x.faults["search_recent"] = ["429"]

    async def scenario(x):
        pids = [f"p{n:011x}" for n in range(6)]
        return await asyncio.gather(*(x.find_sent(probe(pid=pid)) for pid in pids))

    run(world, scenario)
    searches = [c for c in world.x.calls if c.key == "search_recent"]
    assert [c.status for c in searches] == [429] + [200] * 6
    assert not world.x.early
    assert all(c.at >= reset_after(START) + 1 for c in searches[1:])


# -- poll: public -----------------------------------------------------------------------


def conversations_with_replies(world: World, count: int) -> list[tuple[str, float]]:
    """``count`` probe posts by ann, each answered by acme; (conversation id, since)."""
    watched = []
    for n in range(count):
        at = START - 5000 + n * 60
        probe_post = world.x.post(world.ann, f"@acme question {n}", at=at)
        world.x.post(world.acme, f"@ann answer {n}", reply_to=probe_post["id"], at=at + 30)
        watched.append((probe_post["id"], at - (n % 3)))
    return watched


def test_poll_batches_conversations_within_the_query_length():
    world = make_world()
    watched = conversations_with_replies(world, 40)
    observed = run(
        world, lambda x: x.poll(Watch(conversations=tuple(watched))), max_query_length=120
    )
    searches = [c for c in world.x.calls if c.key == "search_recent"]
    assert len(searches) > 1
    since = dict(watched)
    for call in searches:
        query = call.params["query"]
        assert len(query) <= 120
        ids = re.findall(r"conversation_id:(\d+)", query)
        assert query == " OR ".join(f"conversation_id:{i}" for i in ids)
        earliest = datetime.fromtimestamp(int(min(since[i] for i in ids)), UTC)
        assert call.params["start_time"] == earliest.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert call.params["expansions"] == "author_id"
        assert call.params["tweet.fields"] == (
            "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
        )
    assert {c.token for c in searches} == set(TOKENS)  # the searches are spread over tokens
    assert world.x.most_in_flight <= 4
    assert len(observed) == 80 and len({o.id for o in observed}) == 80


def test_poll_follows_pages_and_reports_replies():
    world = make_world()
    question = world.x.post(world.ann, "@acme where is my parcel?", at=START - 600)
    last = question["id"]
    for n in range(24):
        author = world.acme if n % 2 == 0 else world.ann
        last = world.x.post(author, f"message {n}", reply_to=last, at=START - 500 + n)["id"]
    watch = Watch(conversations=((question["id"], START - 600),))
    observed = run(world, lambda x: x.poll(watch), page_size=10)
    searches = [c for c in world.x.calls if c.key == "search_recent"]
    assert len(searches) == 3 and searches[1].params["next_token"] == "c10"
    assert all(c.params["max_results"] == "10" for c in searches)
    assert len(observed) == 25
    first_reply = next(o for o in observed if o.text == "message 0")
    assert first_reply == Observed(
        id=first_reply.id,
        channel="x",
        surface="public",
        conversation_id=question["id"],
        parent_id=question["id"],
        author="Acme",
        author_id=world.acme,
        created_at=iso(START - 500),
        text="message 0",
        followers=50_000,
    )
    assert first_reply.raw["author"]["username"] == "Acme"
    assert first_reply.raw["in_reply_to_user_id"] == world.ann
    assert next(o for o in observed if o.id == question["id"]).parent_id is None
    assert_no_token([o.raw for o in observed])


def test_poll_retries_a_server_error_then_gives_up_with_poll_failed():
    world = make_world()
    watched = conversations_with_replies(world, 1)
    world.x.faults["search_recent"] = [503]
    assert len(run(world, lambda x: x.poll(Watch(conversations=tuple(watched))))) == 2

    world.x.faults["search_recent"] = [503] * 2
    error = failure(
        world, lambda x: x.poll(Watch(conversations=tuple(watched))), PollFailed, retries=1
    )
    assert "503" in str(error)


def test_poll_with_revoked_token_fails_the_run():
    world = make_world()
    watched = conversations_with_replies(world, 1)

    async def scenario(x):
        world.x.tokens.clear()
        return await x.poll(Watch(conversations=tuple(watched)))

    error = failure(world, scenario, RunFailed)
    assert "X_TOKEN_" in str(error)


def test_conversation_batches_keep_the_earliest_since_and_a_lone_long_id():
    batches = conversation_batches([("1", 50.0), ("22", 10.0), ("1", 5.0), ("333", 20.0)], 40)
    assert batches == [
        ("conversation_id:1 OR conversation_id:22", 5.0),
        ("conversation_id:333", 20.0),
    ]
    assert conversation_batches([("123456789", 1.0)], 10) == [("conversation_id:123456789", 1.0)]
    assert conversation_batches([], 100) == []


# -- poll: private ----------------------------------------------------------------------


def test_dm_cursor_stops_paging_at_messages_seen_before():
    world = make_world()
    for n in range(45):
        sender, recipient = (world.acme, world.ann) if n % 2 else (world.ann, world.acme)
        world.x.dm(sender, recipient, f"dm {n}", at=START - 4000 + n * 60)
    watch = Watch(personas=("ann",))

    async def scenario(x):
        first = await x.poll(watch)
        cursor = x.dm_cursor("ann")
        calls = world.x.count("dm_events")
        world.clock.t += 600
        for n in range(3):
            world.x.dm(world.acme, world.ann, f"new {n}")
        second = await x.poll(watch)
        return first, cursor, calls, second, x.dm_cursor("ann")

    first, cursor, calls, second, cursor_after = run(world, scenario, page_size=10)
    assert len(first) == 45 and calls == 5
    assert cursor == iso(START - 4000 + 44 * 60)
    assert world.x.count("dm_events") == calls + 1
    assert sorted(o.text for o in second) == ["dm 44", "new 0", "new 1", "new 2"]
    assert cursor_after == iso(START + 600)
    reply = next(o for o in second if o.text == "new 0")
    low, high = sorted((world.ann, world.acme), key=int)
    assert (reply.surface, reply.author, reply.parent_id) == ("private", "Acme", None)
    assert reply.conversation_id == f"{low}-{high}" and reply.followers == 50_000
    assert_no_token([o.raw for o in first + second])


def test_dm_cursor_set_from_a_resumed_run_reaches_back_by_the_search_lag():
    world = make_world()
    for n in range(30):
        world.x.dm(world.acme, world.ann, f"dm {n}", at=START - 3000 + n * 10)

    async def scenario(x):
        x.set_dm_cursor("ann", iso(START - 3000 + 25 * 10))
        return await x.poll(Watch(personas=("ann",)))

    observed = run(world, scenario, page_size=10, search_lag_s=40.0)
    assert sorted(o.text for o in observed) == [f"dm {n}" for n in range(21, 30)]
    assert world.x.count("dm_events") == 1


def test_unknown_dm_sender_is_resolved_once():
    world = make_world()
    agent = world.x.account("acme_agent_7", followers=12)
    world.x.dm(agent, world.ann, "Hi, Sam here from Acme support")

    async def scenario(x):
        return [await x.poll(Watch(personas=("ann",))) for _ in range(2)]

    first, second = run(world, scenario)
    assert first[0].author == second[0].author == "acme_agent_7"
    assert first[0].followers == 12 and first[0].raw["author"]["id"] == agent
    lookups = [c for c in world.x.calls if c.path == "/2/users"]
    assert len(lookups) == 1 and lookups[0].params["ids"] == agent


def test_find_sent_private_pages_dm_events_for_the_marker():
    world = make_world()
    wanted = probe(PRIVATE)
    world.x.dm(world.ann, world.acme, wanted.text, at=START - 900)
    for n in range(25):
        world.x.dm(world.acme, world.ann, f"reply {n} {marker('p0123456789a')}", at=START - 800 + n)
    sent = run(world, lambda x: x.find_sent(wanted), page_size=10)
    assert sent.platform_id == world.x.dms[0]["id"] and sent.sent_at == iso(START - 900)
    assert world.x.count("dm_events") == 3

    world.x.calls.clear()
    missing = probe(PRIVATE, pid="pffffffffff0")
    assert run(world, lambda x: x.find_sent(missing), page_size=10, dm_find_pages=2) is None
    assert world.x.count("dm_events") == 2  # bounded by dm_find_pages

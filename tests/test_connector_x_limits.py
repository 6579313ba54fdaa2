"""Usage caps, rate limits and retries of the X connector over real HTTP on loopback.

``LoopbackX`` is a small X API v2 served by uvicorn on 127.0.0.1: it answers the accounts,
search and posting endpoints as X does, and serves scripted answers first (a usage-capped
429 shaped as X sends it, 429s with rate-limit headers, 503s). The connector reaches it with
its production transport. Rate-limit waits run on a ``JumpClock`` that the server reads too
(it jumps to the moment waited for); backoff after 503s is in real seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from click.testing import CliRunner
from conftest import serving
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from socialbench.cli import main
from socialbench.probing.connectors.base import RunFailed, WallClock
from socialbench.probing.connectors.x import Credential, XConnector
from socialbench.probing.connectors.x_api import backoff_s
from socialbench.probing.probes import PUBLIC, Probe, marker

TWITTER_EPOCH_MS = 1288834974657
START = 1_800_000_010.0  # 2027-01-15T08:00:10Z
WINDOW_S = 900
ANN_TOKEN = "ann-loopback-token-0001"
USERS = {"101": "ann", "202": "AcmeAir"}
# a usage-capped 429 as X sends it (X API v2 UsageCapExceededProblem; the body of
# xdevplatform/xdk issue 25), with rate-limit headers that show plenty of room
CAPPED = {
    "account_id": "1234567890",
    "product_name": "standard-basic",
    "title": "UsageCapExceeded",
    "period": "Monthly",
    "scope": "Product",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.twitter.com/2/problems/usage-capped",
}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"}


class JumpClock:
    """Platform time that jumps to the moment waited for; read by the server too."""

    def __init__(self, now: float = START) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    async def sleep_until(self, moment: float) -> None:
        await asyncio.sleep(0)
        self.t = max(self.t, moment)


@dataclass
class Arrival:
    method: str
    path: str
    at: float  # platform time
    real: float  # monotonic seconds
    status: int = 0


class LoopbackX:
    """X as far as these tests go; ``script[(method, path)]`` lists answers to serve first,
    each ``(status, body, headers)``."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.script: dict[tuple[str, str], list] = defaultdict(list)
        self.arrivals: list[Arrival] = []
        self.tweets: list[dict] = []
        self._sequence = 0
        routes = [
            Route("/2/users/me", self.users_me),
            Route("/2/users/by", self.users_by),
            Route("/2/tweets/search/recent", self.search),
            Route("/2/tweets", self.post, methods=["POST"]),
            Route("/2/dm_events", self.dm_events),
        ]
        self.app = Starlette(routes=routes, middleware=[Middleware(_Scripted, x=self)])

    def calls(self, method: str, path: str) -> list[Arrival]:
        return [a for a in self.arrivals if (a.method, a.path) == (method, path)]

    def snowflake(self) -> str:
        self._sequence += 1
        return str(((round(self.clock.now() * 1000) - TWITTER_EPOCH_MS) << 22) | self._sequence)

    async def users_me(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {ANN_TOKEN}":
            return JSONResponse({"title": "Unauthorized", "status": 401}, status_code=401)
        return JSONResponse({"data": {"id": "101", "name": "Ann", "username": "ann"}})

    async def users_by(self, request: Request) -> JSONResponse:
        wanted = {n.lower() for n in request.query_params["usernames"].split(",")}
        found = [
            {"id": i, "name": n, "username": n, "public_metrics": {"followers_count": 10}}
            for i, n in USERS.items()
            if n.lower() in wanted
        ]
        return JSONResponse({"data": found})

    async def search(self, request: Request) -> JSONResponse:
        return JSONResponse({"meta": {"result_count": 0}})

    async def dm_events(self, request: Request) -> JSONResponse:
        return JSONResponse({"meta": {"result_count": 0}})

    async def post(self, request: Request) -> JSONResponse:
        text = (await request.json())["text"]
        tweet = {"id": self.snowflake(), "text": text, "edit_history_tweet_ids": []}
        self.tweets.append(tweet)
        return JSONResponse({"data": tweet}, status_code=201)


class _Scripted:
    """ASGI middleware: records every arrival and serves the script's next answer, if any."""

    def __init__(self, app, x: LoopbackX) -> None:
        self.app = app
        self.x = x

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        arrival = Arrival(scope["method"], scope["path"], self.x.clock.now(), time.monotonic())
        self.x.arrivals.append(arrival)
        script = self.x.script[(arrival.method, arrival.path)]

        async def recording(message) -> None:
            if message["type"] == "http.response.start":
                arrival.status = message["status"]  # before the client can see the answer
            await send(message)

        if script:
            status, body, headers = script.pop(0)
            response = JSONResponse(body, status_code=status, headers=headers)
            await response(scope, receive, recording)
        else:
            await self.app(scope, receive, recording)


@pytest.fixture
def x_server():
    server = LoopbackX(JumpClock())
    with serving(server.app) as url:
        server.url = url
        yield server


def connector(server: LoopbackX, **options) -> XConnector:
    settings = {"search_lag_s": 0.0, "backoff_s": 0.0, "retries": 3, **options}
    return XConnector(
        clock=server.clock,
        credentials={"ann": Credential("SB_X_TOKEN_ANN", ANN_TOKEN)},
        brand_handles=["AcmeAir"],
        base_url=server.url,
        **settings,
    )


def probe(pid: str = "p0123456789a") -> Probe:
    return Probe(
        probe_id=pid,
        suite="suite",
        scenario="late-order",
        category="delivery",
        brand="acme",
        brand_handle="AcmeAir",
        channel="x",
        surface=PUBLIC,
        persona="casual",
        persona_handle="ann",
        followers=None,
        credential="SB_X_TOKEN_ANN",
        text=f"@AcmeAir my order 1234 is late {marker(pid)}",
    )


def run(server: LoopbackX, scenario, **options):
    async def main_():
        x = connector(server, **options)
        try:
            await x.start()
            return await scenario(x)
        finally:
            await x.close()

    return asyncio.run(main_())


def rate_headers(remaining: int, reset: float) -> dict:
    return {
        "x-rate-limit-limit": "40000",
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset)),
    }


# -- the usage cap ------------------------------------------------------------------------


def test_a_usage_capped_search_fails_the_run_at_once_in_one_line(x_server):
    search = ("GET", "/2/tweets/search/recent")
    x_server.script[search] = [(429, CAPPED, rate_headers(39999, START + 600))] * 3
    with pytest.raises(RunFailed) as caught:
        run(x_server, lambda x: x.find_sent(probe()), retries=5)
    message = str(caught.value)
    assert message == (
        "X's monthly usage cap is reached (scope Product, product standard-basic) for persona "
        "@ann's app (token in SB_X_TOKEN_ANN): GET /2/tweets/search/recent refused: Usage cap "
        "exceeded: Monthly product cap; X did not say when it resets (the developer portal "
        "shows the date); resume the run once it has"
    )
    assert RunFailed.exit_code == 3
    assert len(x_server.calls(*search)) == 1, "a usage cap is not waited out or retried"
    assert x_server.clock.now() == START, "nothing was waited for"
    assert ANN_TOKEN not in message


def test_a_usage_capped_post_fails_the_run_not_the_probe(x_server):
    x_server.script[("POST", "/2/tweets")] = [(429, CAPPED, rate_headers(99, START + 600))]
    with pytest.raises(RunFailed, match="monthly usage cap is reached .* POST /2/tweets"):
        run(x_server, lambda x: x.send(probe()), retries=5)
    assert len(x_server.calls("POST", "/2/tweets")) == 1 and not x_server.tweets


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        pytest.param(
            {**CAPPED, "type": "https://api.x.com/2/problems/usage-capped"},
            {"retry-after": "3600"},
            "X's monthly usage cap is reached (scope Product, product standard-basic) for "
            "persona @ann's app (token in SB_X_TOKEN_ANN): GET /2/tweets/search/recent refused: "
            "Usage cap exceeded: Monthly product cap; it resets at 2027-01-15T09:00:10.000Z",
            id="api.x.com-type-retry-after-seconds",
        ),
        pytest.param(
            {"errors": [{**CAPPED, "period": "Daily", "scope": "Account"}]},
            {"retry-after": format_datetime(datetime(2027, 1, 16, tzinfo=UTC), usegmt=True)},
            "X's daily usage cap is reached (scope Account, product standard-basic) for "
            "persona @ann's app (token in SB_X_TOKEN_ANN): GET /2/tweets/search/recent refused: "
            "Usage cap exceeded: Monthly product cap; it resets at 2027-01-16T00:00:00.000Z",
            id="errors-array-daily-http-date",
        ),
        pytest.param(
            {"title": "UsageCapExceeded"},
            {"retry-after": "Sat, 16 Jan 2027 06:00:00 -0000"},
            "X's usage cap is reached for persona @ann's app (token in SB_X_TOKEN_ANN): GET "
            "/2/tweets/search/recent refused: UsageCapExceeded; it resets at "
            "2027-01-16T06:00:00.000Z",
            id="title-only-date-without-zone",
        ),
    ],
)
def test_usage_cap_shapes_and_reset_times(x_server, body, headers, expected):
    x_server.script[("GET", "/2/tweets/search/recent")] = [(429, body, headers)]
    with pytest.raises(RunFailed) as caught:
        run(x_server, lambda x: x.find_sent(probe()))
    assert str(caught.value) == expected + "; resume the run once it has"


SUITE = """\
suite: capped
window: 1h
brands:
  - id: acme
    handles: {x: AcmeAir}
personas:
  - id: casual
    handles: {x: ann}
    credentials: {x: SB_X_TOKEN_ANN}
queries:
  - id: late
    category: delivery
    channels: [x]
    surfaces: [public]
    text: "my order hasn't arrived"
"""


@pytest.mark.parametrize("once", [["--once"], []], ids=["once", "long-lived"])
def test_a_ci_run_against_a_capped_app_exits_3_with_one_line(tmp_path, monkeypatch, once):
    """From cron (--once) or as a long-lived run watching an hour's window: the cap stops
    it at once, not when the windows end."""
    server = LoopbackX(WallClock())  # the live target's clock: this machine's
    server.script[("POST", "/2/tweets")] = [(429, CAPPED, rate_headers(99, time.time() + 600))]
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    monkeypatch.setenv("SB_X_TOKEN_ANN", ANN_TOKEN)
    with serving(server.app) as url:
        began = time.monotonic()
        args = ["run", suite, "--target", "x", "--endpoint", url, "--out", tmp_path / "run"]
        result = CliRunner().invoke(main, [str(a) for a in [*args, *once, "--quiet"]])
        took = time.monotonic() - began
    assert result.exit_code == 3, result.output
    assert result.output.count("\n") == 1 and result.output.startswith(
        "error: X's monthly usage cap is reached (scope Product, product standard-basic) for "
        "persona @ann's app (token in SB_X_TOKEN_ANN): POST /2/tweets refused"
    )
    assert ANN_TOKEN not in result.output
    assert len(server.calls("POST", "/2/tweets")) == 1 and took < 10


# -- rate limits and retries ----------------------------------------------------------------


def test_429s_in_a_row_wait_past_each_reset_with_growing_jitter(x_server):
    first_reset, second_reset = START + 300, START + 1200
    x_server.script[("GET", "/2/tweets/search/recent")] = [
        (429, TOO_MANY, rate_headers(0, first_reset)),
        (429, TOO_MANY, rate_headers(0, second_reset)),
    ]
    assert run(x_server, lambda x: x.find_sent(probe())) is None
    first, second, third = x_server.calls("GET", "/2/tweets/search/recent")
    assert [first.status, second.status, third.status] == [429, 429, 200]
    assert first_reset + 1 + 0.5 <= second.at <= first_reset + 1 + 1.0
    assert second_reset + 1 + 1.0 <= third.at <= second_reset + 1 + 2.0


def test_server_errors_are_retried_with_exponential_jittered_backoff(x_server):
    x_server.script[("GET", "/2/tweets/search/recent")] = [(503, {"title": "Down"}, {})] * 3
    base = 0.04
    assert run(x_server, lambda x: x.find_sent(probe()), backoff_s=base, retries=3) is None
    searches = x_server.calls("GET", "/2/tweets/search/recent")
    assert [a.status for a in searches] == [503, 503, 503, 200]
    gaps = [b.real - a.real for a, b in zip(searches, searches[1:], strict=False)]
    for attempt, gap in enumerate(gaps):  # at least half of base x 2^attempt
        assert gap >= base * 2**attempt / 2, (attempt, gaps)


def test_the_jitter_comes_from_the_injected_random_source(x_server):
    x_server.script[("GET", "/2/tweets/search/recent")] = [
        (429, TOO_MANY, rate_headers(0, START + 300))
    ]
    run(x_server, lambda x: x.find_sent(probe()), rng=random.Random(7))
    expected = START + 301 + backoff_s(0, base_s=1.0, cap_s=60.0, rng=random.Random(7))
    assert x_server.calls("GET", "/2/tweets/search/recent")[1].at == expected


# -- the backoff formula ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.25, 0.5), (1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (4, 2.5, 5.0), (40, 2.5, 5.0)],
)
def test_backoff_doubles_is_capped_and_stays_within_its_upper_half(attempt, low, high):
    rng = random.Random(attempt)
    waits = [backoff_s(attempt, base_s=0.5, cap_s=5.0, rng=rng) for _ in range(200)]
    assert all(low <= wait <= high for wait in waits)
    assert len(set(waits)) > 100, "jittered, not one fixed wait"
    assert min(waits) < low + (high - low) * 0.1 and max(waits) > high - (high - low) * 0.1


def test_backoff_without_a_base_is_no_wait():
    assert backoff_s(3, base_s=0.0, cap_s=5.0, rng=random.Random(1)) == 0.0

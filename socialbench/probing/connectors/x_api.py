"""One httpx client speaking the X API v2: bearer tokens, rate-limit buckets, retries.

Rate limits are per (token, endpoint key) as ``docs/x_api_subset.md`` gives them. A bucket
remembers what X last said (``x-rate-limit-remaining``/``-reset``), counts this process's
requests in flight, and makes every caller wait (on the platform clock) once it is spent,
so concurrent coroutines never stampede. Every retry waits an exponential backoff with
jitter (``backoff_s``): after a 429 on the platform clock and never before the reset, after
5xx and transport errors in real seconds. A usage cap (X's ``usage-capped`` problem) is no
rate limit: nothing more can be sent until it resets, so it fails the run. Tokens go into
the Authorization header and nowhere else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from socialbench.probing.connectors.base import Clock, RunFailed, iso

MAX_THROTTLES = 50  # 429s waited out for one request before giving up
MAX_BACKOFF_S = 5.0  # real seconds: the longest wait after a 5xx or a transport error
# after a 429, platform seconds as (base, cap) of ``backoff_s`` by the 429s in a row: with a
# reset, added to the reset's second; without one, from now (1 to 2 minutes, up to 15)
RESET_BACKOFF_S = (1.0, 60.0)
UNKNOWN_RESET_BACKOFF_S = (120.0, 900.0)
LIMIT_FAMILIES = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
AUTH_PROBLEMS = ("client-forbidden", "unsupported-authentication")
# UsageCapExceededProblem in X's OpenAPI spec: https://api.twitter.com/2/problems/usage-capped
# (newer problem types are under https://api.x.com/2/problems/, so only the path is compared)
USAGE_CAPPED = "/2/problems/usage-capped"
USAGE_CAPPED_TITLE = "UsageCapExceeded"


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """The wait before retry ``attempt`` (0 for the first): exponential with "equal
    jitter", a random point between half and all of ``base_s`` × 2^attempt (at most
    ``cap_s``). The waits still grow exponentially (each range is twice the last until
    the cap), and callers that failed together do not retry together."""
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 64))
    return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


@dataclass(frozen=True)
class Credential:
    """A persona's OAuth 2.0 user token and the environment variable it came from."""

    variable: str
    token: str = field(repr=False)


class Transient(Exception):
    """A failure worth retrying: a 5xx, a timeout, a transport error."""

    def __init__(self, what: str, *, maybe_executed: bool) -> None:
        super().__init__(what)
        self.maybe_executed = maybe_executed  # the server may have acted on the request


class Throttled(Exception):
    """One request was answered 429 too many times in a row."""


class _Bucket:
    """What X last said about one (token, endpoint) rate-limit window, plus the requests
    this process has in flight against it, so that concurrent callers wait together."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None  # None: not known yet
        self.reset: float | None = None  # end of the current window; None: not known
        self.not_before = 0.0  # after a 429: no request before this platform time
        self.in_flight = 0
        self._news: asyncio.Event | None = None

    async def admit(self, clock: Clock) -> None:
        """Wait until a request may go, then count it."""
        while True:
            now = clock.now()
            self._roll_over(now)
            if now < self.not_before:
                await clock.sleep_until(self.not_before)
            elif self.remaining is not None and self.remaining <= 0 and self.reset is not None:
                await clock.sleep_until(self.reset + 1)
            elif self.in_flight and (self.remaining is None or self.remaining <= 0):
                await self._next_answer()  # the answer in flight will tell the window
            else:
                break
        self.in_flight += 1
        if self.remaining is not None:
            self.remaining -= 1

    def answered(self, headers: httpx.Headers | None, now: float) -> None:
        """Record a request's end (``headers`` None when no answer came) and wake waiters."""
        self.in_flight -= 1
        if headers is not None:
            self._update(headers, now)
        if self._news is not None:
            self._news.set()
            self._news = None

    def throttle(
        self, headers: httpx.Headers, now: float, *, attempt: int, rng: random.Random
    ) -> None:
        """After the ``attempt``-th 429 in a row (from 0): no request before the reset of
        whichever limit ran out (its second over) plus a backoff with jitter; without a
        reset header, before a longer backoff from now."""
        exhausted, resets = [], []
        for family in LIMIT_FAMILIES:
            reset = _header_int(headers, f"{family}-reset")
            if reset is not None:
                resets.append(reset)
                if _header_int(headers, f"{family}-remaining") == 0:
                    exhausted.append(reset)
        chosen = exhausted or resets
        base, cap = RESET_BACKOFF_S if chosen else UNKNOWN_RESET_BACKOFF_S
        delay = backoff_s(attempt, base_s=base, cap_s=cap, rng=rng)
        until = (max(chosen) + 1 if chosen else now) + delay
        self.not_before = max(self.not_before, until, now + 1)

    def _update(self, headers: httpx.Headers, now: float) -> None:
        remaining = _header_int(headers, "x-rate-limit-remaining")
        reset = _header_int(headers, "x-rate-limit-reset")
        if remaining is None or reset is None or now >= reset + 1:
            return  # nothing said, or about a window already over
        self.limit = _header_int(headers, "x-rate-limit-limit") or self.limit
        if self.reset is None or reset == self.reset:
            # the same window (or the first word on it): what this process sent counts too
            self.remaining = remaining if self.remaining is None else min(remaining, self.remaining)
            self.reset = reset
        elif reset > self.reset:
            self.remaining, self.reset = remaining, reset

    def _roll_over(self, now: float) -> None:
        """Once a window has ended, the next one starts full, its end unknown."""
        if self.reset is not None and now >= self.reset + 1:
            self.remaining, self.reset = self.limit, None

    async def _next_answer(self) -> None:
        if self._news is None:
            self._news = asyncio.Event()
        await self._news.wait()


def default_transport() -> httpx.AsyncBaseTransport:
    """httpx's interface over aiohttp's connection handling: the same requests and responses
    for much less CPU per request than httpx's own pool, which is what lets a run keep up
    with a sped-up sandbox (bench/README.md). Tests inject their own transport instead."""
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport()


class XApi:
    """Requests on behalf of personas, each with its own token and rate-limit buckets."""

    def __init__(
        self,
        *,
        clock: Clock,
        credentials: dict[str, Credential],
        base_url: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.retries = retries
        self.backoff_s = backoff_s
        self.rng = rng or random.Random()
        self._credentials = {handle_key(handle): cred for handle, cred in credentials.items()}
        self._client = httpx.AsyncClient(
            base_url=base_url, transport=transport or default_transport(), timeout=timeout_s
        )
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def pages(
        self,
        handle: str,
        key: str,
        path: str,
        params: dict,
        *,
        cursor_name: str,
        max_pages: int,
        failure: type[Exception],
    ) -> AsyncIterator[dict]:
        """Successive pages of a GET, following ``meta.next_token`` into ``cursor_name``."""
        params = dict(params)
        for _ in range(max_pages):
            page = await self.get(handle, key, path, params, failure=failure)
            yield page
            next_token = (page.get("meta") or {}).get("next_token")
            if not next_token:
                return
            params[cursor_name] = next_token

    async def get(
        self, handle: str, key: str, path: str, params: dict, *, failure: type[Exception]
    ) -> dict:
        """A GET's JSON, retried after transient failures; ``failure`` raised otherwise."""
        last: Transient | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await self.backoff(attempt - 1)
            try:
                response = await self.request(handle, key, "GET", path, params=params)
            except Transient as error:
                last = error
                continue
            except Throttled as error:
                raise failure(str(error)) from None
            if response.is_success:
                return json_body(response)
            raise failure(f"GET {path}: HTTP {response.status_code}: {problem_detail(response)}")
        raise failure(f"GET {path}: gave up after {self.retries} retries: {last}")

    async def request(
        self,
        handle: str,
        key: str,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        payload: dict | None = None,
    ) -> httpx.Response:
        """One request through its rate-limit bucket, 429s waited out.

        Raises ``Transient`` (5xx, transport errors), ``Throttled`` and, when X refuses
        the token or a usage cap is reached, ``RunFailed``; any other answer is returned.
        """
        credential = self._credentials.get(handle_key(handle))
        if credential is None:
            raise RunFailed(f"no X token for persona @{handle}")
        bucket = self._buckets.setdefault((credential.token, key), _Bucket())
        headers = {"Authorization": f"Bearer {credential.token}"}
        what = f"{method} {path}"
        for throttles in range(MAX_THROTTLES + 1):
            await bucket.admit(self.clock)
            try:
                response = await self._client.request(
                    method, path, params=params, json=payload, headers=headers
                )
            except httpx.TransportError as error:
                bucket.answered(None, self.clock.now())
                raise _transient(method, path, error) from None
            except BaseException:
                bucket.answered(None, self.clock.now())
                raise
            bucket.answered(response.headers, self.clock.now())
            if (cap := usage_cap(response)) is not None:
                raise RunFailed(_capped(cap, response, handle, credential, what, self.clock.now()))
            if response.status_code != 429:
                return _checked(response, credential, what)
            bucket.throttle(response.headers, self.clock.now(), attempt=throttles, rng=self.rng)
        raise Throttled(f"{what}: still rate-limited after {MAX_THROTTLES} waits")

    async def backoff(self, attempt: int) -> None:
        """Real-time backoff before retry ``attempt`` (from 0) after a 5xx or a transport
        error: ``backoff_s`` × 2^attempt, at most 5 s, with jitter (``backoff_s()``)."""
        wait = backoff_s(attempt, base_s=self.backoff_s, cap_s=MAX_BACKOFF_S, rng=self.rng)
        await asyncio.sleep(wait)


def _checked(response: httpx.Response, credential: Credential, what: str) -> httpx.Response:
    if response.status_code >= 500:
        raise Transient(f"{what}: HTTP {response.status_code}", maybe_executed=True)
    if _is_auth_refusal(response):
        raise RunFailed(
            f"X refused the token in {credential.variable}: "
            f"HTTP {response.status_code}: {problem_detail(response)}"
        )
    return response


def usage_cap(response: httpx.Response) -> dict | None:
    """X's problem when the answer refuses a request for a usage cap (X API v2's
    ``UsageCapExceededProblem``: type ``…/2/problems/usage-capped``, ``period`` Daily or
    Monthly, ``scope`` Account or Product; sent with 429), else None."""
    if response.is_success:
        return None
    body = json_body(response)
    errors = body.get("errors")
    problems = [body] + (
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )
    for problem in problems:
        kind = str(problem.get("type", ""))
        if kind.endswith(USAGE_CAPPED) or problem.get("title") == USAGE_CAPPED_TITLE:
            return problem
    return None


def _capped(
    problem: dict,
    response: httpx.Response,
    handle: str,
    credential: Credential,
    what: str,
    now: float,
) -> str:
    """One line: which cap, whose (persona, token variable, X's scope and product), what
    was refused, and when the cap resets if X said so."""
    period = str(problem.get("period") or "").lower()
    cap = f"{period} usage cap" if period in ("daily", "monthly") else "usage cap"
    named = (("scope", "scope"), ("product_name", "product"))
    about = [f"{name} {problem[key]}" for key, name in named if problem.get(key)]
    whose = f" ({', '.join(about)})" if about else ""
    detail = problem.get("detail") or problem.get("title") or "usage cap exceeded"
    reset = retry_after(response.headers, now)
    when = (
        f"it resets at {iso(reset)}"
        if reset is not None
        else "X did not say when it resets (the developer portal shows the date)"
    )
    return (
        f"X's {cap} is reached{whose} for persona @{handle_key(handle)}'s app (token in "
        f"{credential.variable}): {what} refused: {detail}; {when}; resume the run once it has"
    )


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """The moment (epoch seconds) a ``Retry-After`` header names, in seconds from ``now``
    or as an HTTP date; None without one."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return now + max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _transient(method: str, path: str, error: httpx.TransportError) -> Transient:
    not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    return Transient(
        f"{method} {path}: {type(error).__name__}", maybe_executed=not isinstance(error, not_sent)
    )


def _is_auth_refusal(response: httpx.Response) -> bool:
    """401, or a 403 about the credential itself (not about the content or the recipient)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    body = json_body(response)
    if str(body.get("type", "")).endswith(AUTH_PROBLEMS):
        return True
    return body.get("detail") in (None, "", "Forbidden")


def json_body(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def problem_detail(response: httpx.Response) -> str:
    """X's problem detail, else its title, else the status phrase."""
    body = json_body(response)
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    text = body.get("detail") or body.get("title") or first.get("detail") or first.get("message")
    return str(text or response.reason_phrase)


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, ValueError):
        return None


def handle_key(handle: str) -> str:
    """A handle as X compares them: no "@", case-insensitive."""
    return handle.lstrip("@").lower()

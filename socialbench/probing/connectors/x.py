"""The X API v2 connector: probes go out as posts or DMs, brand replies come back by polling.

It speaks exactly ``docs/x_api_subset.md``, so the code that runs against the sandbox is the
code that runs against ``https://api.x.com``. Every time it reports is the platform's: a sent
probe's time comes from its snowflake id, a reply's from ``created_at``. Waits for rate limits
go through the injected clock (the sandbox's runs faster than real time); backoff after
server errors is in real seconds; both are exponential with jitter (``x_api.backoff_s``). A
token X refuses and a usage cap reached fail the run (``RunFailed``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import aclosing
from datetime import UTC, datetime

import httpx

from socialbench.probing.connectors.base import (
    Clock,
    Observed,
    PollFailed,
    RunFailed,
    SendFailed,
    Sent,
    Watch,
)
from socialbench.probing.connectors.x_api import (
    Credential,
    Throttled,
    Transient,
    XApi,
    handle_key,
    json_body,
    problem_detail,
)
from socialbench.probing.probes import PUBLIC, Probe, marker

__all__ = ["Credential", "PollFailed", "XConnector", "conversation_batches", "snowflake_time"]

CHANNEL = "x"
TWITTER_EPOCH_MS = 1288834974657
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
DM_FIELDS = "id,text,created_at,sender_id,dm_conversation_id,participant_ids"
LOOKUP_BATCH = 100  # names or ids per users lookup
MAX_SEARCH_PAGES = 100  # per query batch
SEARCH_WINDOW_S = 7 * 86400 - 60  # search/recent reaches back seven days
SEARCH_MIN_AGE_S = 10  # x.com wants start_time at least 10 s before the request


class XConnector:
    """Probes and replies on X through the API v2 (or the sandbox, which serves the same)."""

    name = CHANNEL

    def __init__(
        self,
        *,
        clock: Clock,
        credentials: dict[str, Credential],
        brand_handles: Iterable[str],
        base_url: str = "https://api.x.com",
        transport: httpx.AsyncBaseTransport | None = None,
        max_query_length: int = 512,
        timeout_s: float = 10.0,
        retries: int = 5,
        search_lag_s: float = 30.0,
        backoff_s: float = 0.5,
        page_size: int = 100,
        dm_find_pages: int = 100,
        concurrency: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.followers: dict[str, int] = {}
        self.max_query_length = max_query_length
        self.search_lag_s = search_lag_s
        self.page_size = page_size
        self.dm_find_pages = dm_find_pages
        self.concurrency = concurrency
        self._variables = {handle_key(h): cred.variable for h, cred in credentials.items()}
        self._persona_names = {handle_key(handle): handle for handle in credentials}
        self._brand_handles = list(dict.fromkeys(handle_key(handle) for handle in brand_handles))
        self._api = XApi(
            clock=clock,
            credentials=credentials,
            base_url=base_url,
            transport=transport,
            timeout_s=timeout_s,
            retries=retries,
            backoff_s=backoff_s,
            rng=rng,
        )
        self._users: dict[str, dict] = {}  # user id -> user object as X gave it
        self._ids: dict[str, str] = {}  # lower-case handle -> user id
        self._unresolvable: set[str] = set()
        self._resolving = asyncio.Lock()
        self._dm_cursors: dict[str, str] = {}

    # -- the Connector protocol ------------------------------------------------------------

    async def start(self) -> None:
        """Check every persona's token and resolve brand and persona accounts."""
        if not self._variables:
            raise RunFailed("no X credentials: every persona needs a token")
        for handle in self._variables:
            await self._check_account(handle)
        await self._look_up_names([*self._variables, *self._brand_handles])
        missing = [handle for handle in self._brand_handles if handle not in self._ids]
        if missing:
            raise RunFailed(f"X has no account for brand handle(s): @{', @'.join(missing)}")
        for handle, name in self._persona_names.items():
            user = self._users.get(self._ids.get(handle, ""), {})
            if "public_metrics" in user:
                self.followers[name] = user["public_metrics"].get("followers_count", 0)

    async def send(self, probe: Probe) -> Sent:
        """Post the probe; after a failure that may have posted it, look for it first."""
        key, path, payload = self._post_for(probe)
        last: Transient | None = None
        for attempt in range(self._api.retries + 1):
            try:
                response = await self._api.request(
                    probe.persona_handle, key, "POST", path, payload=payload
                )
            except Throttled as error:
                raise SendFailed(f"probe {probe.probe_id}: {error}") from None
            except Transient as error:
                last = error
                if error.maybe_executed and (found := await self._reconcile(probe)):
                    return found
                if attempt < self._api.retries:
                    await self._api.backoff(attempt)
                continue
            return await self._accepted(probe, response)
        raise SendFailed(
            f"probe {probe.probe_id}: gave up after {self._api.retries} retries: {last}"
        )

    async def find_sent(self, probe: Probe) -> Sent | None:
        """The probe on X, found by its marker, or None."""
        if probe.surface == PUBLIC:
            return await self._find_post(probe)
        return await self._find_dm(probe)

    async def poll(self, watch: Watch) -> list[Observed]:
        """Every post of the watched conversations and every DM of the watched personas."""
        batches = conversation_batches(watch.conversations, self.max_query_length)
        personas = list(self._variables)
        if batches and not personas:
            raise RunFailed("no X credentials: searching needs a persona's token")
        jobs = [
            self._poll_search(personas[index % len(personas)], query, since)
            for index, (query, since) in enumerate(batches)
        ]
        cursors: dict[str, list[dict]] = {}
        jobs += [self._poll_dms(handle, cursors) for handle in watch.personas]
        found = [item for part in await self._bounded(jobs) for item in part]
        for handle, events in cursors.items():  # only once the whole poll has succeeded
            self._advance_cursor(handle, events)
        return found

    async def close(self) -> None:
        await self._api.close()

    def dm_cursor(self, handle: str) -> str | None:
        """The newest DM time (ISO) seen for a persona, to be persisted across resumes."""
        return self._dm_cursors.get(handle_key(handle))

    def set_dm_cursor(self, handle: str, value: str | None) -> None:
        if value is None:
            self._dm_cursors.pop(handle_key(handle), None)
        else:
            self._dm_cursors[handle_key(handle)] = value

    # -- accounts -------------------------------------------------------------------------

    async def _check_account(self, handle: str) -> None:
        page = await self._api.get(handle, "users_me", "/2/users/me", {}, failure=RunFailed)
        user = page.get("data") or {}
        username = str(user.get("username", ""))
        if handle_key(username) != handle:
            variable = self._variables[handle]
            raise RunFailed(
                f"the token in {variable} belongs to @{username or '?'}, not to persona @{handle}"
            )
        self._remember(user)

    async def _look_up_names(self, handles: list[str]) -> None:
        handle = next(iter(self._variables))
        names = list(dict.fromkeys(handles))
        for start in range(0, len(names), LOOKUP_BATCH):
            params = {
                "usernames": ",".join(names[start : start + LOOKUP_BATCH]),
                "user.fields": "public_metrics",
            }
            page = await self._api.get(handle, "users_by", "/2/users/by", params, failure=RunFailed)
            for user in page.get("data") or []:
                self._remember(user)

    async def _resolve(self, ids: Iterable[str], handle: str) -> None:
        """Look up, once, the users behind ids not seen before."""
        async with self._resolving:
            unknown = sorted(set(ids) - self._users.keys() - self._unresolvable)
            for start in range(0, len(unknown), LOOKUP_BATCH):
                chunk = unknown[start : start + LOOKUP_BATCH]
                params = {"ids": ",".join(chunk), "user.fields": "public_metrics"}
                page = await self._api.get(
                    handle, "users_by", "/2/users", params, failure=PollFailed
                )
                for user in page.get("data") or []:
                    self._remember(user)
                self._unresolvable.update(set(chunk) - self._users.keys())

    def _remember(self, user: dict) -> None:
        if "id" not in user:
            return
        known = self._users.get(user["id"], {})
        self._users[user["id"]] = {**known, **user}
        if user.get("username"):
            self._ids[handle_key(user["username"])] = user["id"]

    def _user_id(self, handle: str, failure: type[Exception]) -> str:
        user_id = self._ids.get(handle_key(handle))
        if user_id is None:
            raise failure(f"@{handle} is not a resolved X account (was start() called?)")
        return user_id

    # -- sending --------------------------------------------------------------------------

    def _post_for(self, probe: Probe) -> tuple[str, str, dict]:
        if probe.surface == PUBLIC:
            return "tweets_post", "/2/tweets", {"text": probe.text}
        brand_id = self._user_id(probe.brand_handle, SendFailed)
        return "dm_post", f"/2/dm_conversations/with/{brand_id}/messages", {"text": probe.text}

    async def _accepted(self, probe: Probe, response: httpx.Response) -> Sent:
        """The Sent of a POST's answer; a duplicate is looked up, other refusals fail."""
        if response.is_success:
            data = json_body(response).get("data") or {}
            if probe.surface == PUBLIC and "id" in data:
                return Sent(data["id"], data["id"], snowflake_time(data["id"]))
            if "dm_event_id" in data and "dm_conversation_id" in data:
                event_id = data["dm_event_id"]
                return Sent(event_id, data["dm_conversation_id"], snowflake_time(event_id))
            raise SendFailed(f"probe {probe.probe_id}: X's answer has no id")
        detail = problem_detail(response)
        if response.status_code == 403 and "duplicate" in detail.lower():
            found = await self._checked_find(probe, settle=True)
            if found is None:
                raise SendFailed(f"probe {probe.probe_id}: X calls it a duplicate, not found")
            return found
        raise SendFailed(f"X refused probe {probe.probe_id}: HTTP {response.status_code}: {detail}")

    async def _reconcile(self, probe: Probe) -> Sent | None:
        """After a POST that may have gone through: the probe if it did."""
        if probe.surface == PUBLIC:
            await self._wait_for_search()
        return await self._checked_find(probe, settle=False)

    async def _checked_find(self, probe: Probe, *, settle: bool) -> Sent | None:
        """``find_sent`` for ``send``; with ``settle``, looked for again once search has
        caught up with recent posts. Not knowing is a failure: re-posting could duplicate."""
        try:
            found = await self.find_sent(probe)
            if found is None and settle and probe.surface == PUBLIC and self.search_lag_s > 0:
                await self._wait_for_search()
                found = await self.find_sent(probe)
        except PollFailed as error:
            raise SendFailed(
                f"probe {probe.probe_id}: may have been posted, could not check: {error}"
            ) from None
        return found

    async def _wait_for_search(self) -> None:
        if self.search_lag_s > 0:
            await self.clock.sleep_until(self.clock.now() + self.search_lag_s)

    # -- finding --------------------------------------------------------------------------

    async def _find_post(self, probe: Probe) -> Sent | None:
        query = f'from:{handle_key(probe.persona_handle)} "ref:{probe.probe_id}"'
        params = self._search_params(query)
        wanted = marker(probe.probe_id)
        pages = self._pages(probe.persona_handle, "search_recent", params, MAX_SEARCH_PAGES)
        async with aclosing(pages) as found:
            async for page in found:
                for tweet in page.get("data") or []:
                    if wanted in tweet.get("text", ""):
                        conversation = tweet.get("conversation_id", tweet["id"])
                        return Sent(tweet["id"], conversation, snowflake_time(tweet["id"]))
        return None

    async def _find_dm(self, probe: Probe) -> Sent | None:
        persona_id = self._user_id(probe.persona_handle, PollFailed)
        wanted = marker(probe.probe_id)
        pages = self._pages(
            probe.persona_handle, "dm_events", self._dm_params(), self.dm_find_pages
        )
        async with aclosing(pages) as found:
            async for page in found:
                for event in page.get("data") or []:
                    if wanted in event.get("text", "") and event.get("sender_id") == persona_id:
                        return Sent(
                            event["id"], event["dm_conversation_id"], snowflake_time(event["id"])
                        )
        return None

    # -- polling --------------------------------------------------------------------------

    async def _poll_search(self, handle: str, query: str, since: float) -> list[Observed]:
        params = {**self._search_params(query), "start_time": self._start_time(since)}
        tweets: list[dict] = []
        async for page in self._pages(handle, "search_recent", params, MAX_SEARCH_PAGES):
            for user in (page.get("includes") or {}).get("users") or []:
                self._remember(user)
            tweets += page.get("data") or []
        await self._resolve({tweet["author_id"] for tweet in tweets}, handle)
        return [self._observed_post(tweet) for tweet in tweets]

    async def _poll_dms(self, handle: str, cursors: dict[str, list[dict]]) -> list[Observed]:
        """The persona's DMs since its cursor; the events read go into ``cursors`` so the
        caller moves the cursor only when nothing of the poll is lost."""
        cursor = self.dm_cursor(handle)
        cutoff = None if cursor is None else parse_time(cursor) - self.search_lag_s
        events: list[dict] = []
        pages = self._pages(handle, "dm_events", self._dm_params(), self.dm_find_pages)
        async with aclosing(pages) as found:
            async for page in found:
                batch = [event for event in page.get("data") or [] if "created_at" in event]
                fresh = [
                    e for e in batch if cutoff is None or parse_time(e["created_at"]) >= cutoff
                ]
                events += fresh
                if len(fresh) < len(batch):
                    break
        await self._resolve({event["sender_id"] for event in events}, handle)
        cursors[handle] = events
        return [self._observed_dm(event) for event in events]

    def _advance_cursor(self, handle: str, events: list[dict]) -> None:
        times = [event["created_at"] for event in events]
        cursor = self.dm_cursor(handle)
        if cursor is not None:
            times.append(cursor)
        if times:
            self.set_dm_cursor(handle, max(times, key=parse_time))

    def _observed_post(self, tweet: dict) -> Observed:
        user = self._users.get(tweet["author_id"], {})
        parents = [ref["id"] for ref in tweet.get("referenced_tweets") or [] if _replied(ref)]
        return Observed(
            id=tweet["id"],
            channel=CHANNEL,
            surface="public",
            conversation_id=tweet.get("conversation_id", tweet["id"]),
            parent_id=parents[0] if parents else None,
            author=user.get("username", tweet["author_id"]),
            author_id=tweet["author_id"],
            created_at=tweet.get("created_at") or snowflake_time(tweet["id"]),
            text=tweet.get("text", ""),
            followers=_followers(user),
            raw={**tweet, "author": dict(user)},
        )

    def _observed_dm(self, event: dict) -> Observed:
        user = self._users.get(event["sender_id"], {})
        return Observed(
            id=event["id"],
            channel=CHANNEL,
            surface="private",
            conversation_id=event["dm_conversation_id"],
            parent_id=None,
            author=user.get("username", event["sender_id"]),
            author_id=event["sender_id"],
            created_at=event["created_at"],
            text=event.get("text", ""),
            followers=_followers(user),
            raw={**event, "author": dict(user)},
        )

    def _pages(self, handle: str, key: str, params: dict, max_pages: int) -> AsyncIterator[dict]:
        """Pages of a search or of a persona's DM events, newest first."""
        search = key == "search_recent"
        return self._api.pages(
            handle,
            key,
            "/2/tweets/search/recent" if search else "/2/dm_events",
            params,
            cursor_name="next_token" if search else "pagination_token",
            max_pages=max_pages,
            failure=PollFailed,
        )

    def _search_params(self, query: str) -> dict:
        return {
            "query": query,
            "max_results": min(100, max(10, self.page_size)),
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": "username,public_metrics",
        }

    def _dm_params(self) -> dict:
        return {
            "event_types": "MessageCreate",
            "dm_event.fields": DM_FIELDS,
            "max_results": min(100, max(1, self.page_size)),
        }

    def _start_time(self, since: float) -> str:
        """``since`` as search wants it: whole seconds, within the last seven days."""
        now = self.clock.now()
        moment = max(min(since, now - SEARCH_MIN_AGE_S), now - SEARCH_WINDOW_S)
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _bounded(self, jobs: list[Awaitable[list[Observed]]]) -> list[list[Observed]]:
        """Run jobs, at most ``concurrency`` at once; the first failure is raised."""
        gate = asyncio.Semaphore(self.concurrency)

        async def run(job: Awaitable[list[Observed]]) -> list[Observed]:
            async with gate:
                return await job

        results = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise next((f for f in failures if isinstance(f, RunFailed)), failures[0])
        return results  # type: ignore[return-value]


def conversation_batches(
    conversations: Iterable[tuple[str, float]], max_length: int
) -> list[tuple[str, float]]:
    """OR-queries of ``conversation_id:ID`` no longer than ``max_length`` (a lone term may
    be longer), each with the earliest ``since`` of its conversations.

    Conversations are taken in order of ``since``, so each batch's window is tight.
    """
    earliest: dict[str, float] = {}
    for conversation_id, since in conversations:
        earliest[conversation_id] = min(since, earliest.get(conversation_id, since))
    batches: list[tuple[str, float]] = []
    query, first_since = "", 0.0
    for conversation_id, since in sorted(earliest.items(), key=lambda item: item[1]):
        term = f"conversation_id:{conversation_id}"
        if query and len(query) + len(" OR ") + len(term) <= max_length:
            query += " OR " + term
            continue
        if query:
            batches.append((query, first_since))
        query, first_since = term, since
    if query:
        batches.append((query, first_since))
    return batches


def snowflake_time(snowflake: str) -> str:
    """The ISO 8601 time (UTC, milliseconds) encoded in a tweet or DM-event id."""
    seconds, millis = divmod((int(snowflake) >> 22) + TWITTER_EPOCH_MS, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO 8601 time such as ``2026-11-22T13:45:07.123Z``."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _replied(reference: dict) -> bool:
    return reference.get("type") == "replied_to"


def _followers(user: dict) -> int | None:
    return (user.get("public_metrics") or {}).get("followers_count")

"""Tests for the sandbox's HTTP API, in process through httpx.ASGITransport.

The clock starts on Monday 2026-01-05 09:00 UTC with speed 0, so platform time moves only
when a test advances it and every expected instant is exact. Every /2 exchange is checked
against the official spec's subset (`x_openapi.check`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import httpx
import pandas as pd
import pytest
from x_openapi import httpx_hook

from socialbench.measure.calendar import business_seconds
from socialbench.measure.classify import classify_text
from socialbench.probing.sandbox import PlatformClock, World, create_app
from socialbench.probing.sandbox.clock import iso_ms, parse_iso_ms, snowflake_ms
from socialbench.probing.sandbox.profile import Behaviour, Faults, Habits, Latency, Profile

START = "2026-01-05T09:00:00Z"
FIELDS = {
    "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets",
    "expansions": "author_id",
    "user.fields": "username,public_metrics",
}
DM_FIELDS = "id,text,created_at,sender_id,dm_conversation_id,participant_ids"
OFFICE = {
    "timezone": "Europe/London",
    "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
}
ACCOUNTS = {
    "brands": [
        {"id": "acme", "name": "Acme", "handle": "AcmeHelp", "aliases": ["AcmeCares"]},
        {"id": "zeta", "name": "Zeta", "handle": "ZetaSupport", "hours": OFFICE},
    ],
    "personas": [
        {"handle": "jo", "followers": 1000},
        {"handle": "al", "followers": 20},
        {"handle": "star", "followers": 2_000_000},
    ],
    "answers": {"p00000000001": "Go to Settings > Account > Reset password."},
}


def pid(n: int) -> str:
    return f"p{n:011x}"


def always(**changes) -> Behaviour:
    """A brand that always answers after exactly 10 minutes, with no follow-up."""
    values = dict(reply_rate=1.0, latency=Latency(fixed=600), follow_up_rate=0.0)
    values.update(changes)
    return Behaviour(**values)


def make_world(tmp_path=None, *, brands=None, limits=None, faults=None, seed=7, speed=0.0):
    profile = Profile(brands=brands or {"default": always()}, limits=limits or {})
    if faults is not None:
        profile = profile.model_copy(update={"faults": faults})
    truth = tmp_path / "truth.jsonl" if tmp_path is not None else None
    clock = PlatformClock(start=START, speed=speed)
    return World(profile=profile, seed=seed, clock=clock, truth_path=truth)


class Api:
    """A thin client over the sandbox app with the registered tokens."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def register(self, accounts: dict = ACCOUNTS) -> dict:
        response = await self.client.post("/_sandbox/accounts", json=accounts)
        assert response.status_code == 200, response.text
        body = response.json()
        self.tokens.update(body["tokens"])
        self.ids.update(body["users"])
        return body

    def auth(self, who: str) -> dict:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    async def tweet(self, who: str, text: str, reply_to: str | None = None) -> httpx.Response:
        body: dict = {"text": text}
        if reply_to is not None:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        return await self.client.post("/2/tweets", json=body, headers=self.auth(who))

    async def search(self, who: str, query: str, **params) -> httpx.Response:
        params = {"query": query, **FIELDS, **params}
        return await self.client.get(
            "/2/tweets/search/recent", params=params, headers=self.auth(who)
        )

    async def dm(self, who: str, to: str, text: str) -> httpx.Response:
        url = f"/2/dm_conversations/with/{self.ids[to]}/messages"
        return await self.client.post(url, json={"text": text}, headers=self.auth(who))

    async def dm_events(self, who: str, **params) -> httpx.Response:
        params = {"event_types": "MessageCreate", "dm_event.fields": DM_FIELDS, **params}
        return await self.client.get("/2/dm_events", params=params, headers=self.auth(who))


def run(world: World, scenario):
    """Run ``scenario(api)`` against the world's app in process; its result."""

    async def main():
        transport = httpx.ASGITransport(app=create_app(world))
        hooks = {"response": [httpx_hook]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", event_hooks=hooks
        ) as client:
            api = Api(client)
            await api.register()
            return await scenario(api)

    return asyncio.run(main())


def events(world: World, kind: str) -> list[dict]:
    return [e for e in world.truth.events() if e["event"] == kind]


# ---------------------------------------------------------------------------------- accounts


def test_accounts_are_idempotent_and_deterministic_per_seed():
    async def scenario(api):
        again = await api.register({"personas": [{"handle": "JO", "followers": 5}]})
        other = await api.register({"brands": [ACCOUNTS["brands"][0]]})
        return again, other

    async def tokens(api):
        return api.tokens, api.ids

    world = make_world()
    again, other = run(world, scenario)
    first_tokens, first_ids = run(make_world(), tokens)
    assert again == {"users": {"JO": first_ids["jo"]}, "tokens": {"JO": first_tokens["jo"]}}
    assert other["tokens"]["AcmeHelp"] == first_tokens["AcmeHelp"]
    assert other["users"]["AcmeCares"] == first_ids["AcmeCares"]
    assert all(token.startswith("sbx-") for token in first_tokens.values())
    assert len(set(first_ids.values())) == len(first_ids)
    assert world.accounts.user_named("jo").followers == 5  # updated, same id and token
    other_tokens, other_ids = run(make_world(seed=8), tokens)
    assert other_tokens["jo"] != first_tokens["jo"] and other_ids["jo"] != first_ids["jo"]
    assert world.accounts.user_named("AcmeCares").brand_id == "acme"


def test_accounts_refuse_bad_input_and_role_conflicts():
    async def scenario(api):
        bad = await api.client.post("/_sandbox/accounts", json={"personas": [{"handle": "a b"}]})
        too_long = await api.client.post(  # X usernames have 15 characters at most
            "/_sandbox/accounts", json={"personas": [{"handle": "a" * 16}]}
        )
        conflict = await api.client.post(
            "/_sandbox/accounts", json={"brands": [{"id": "x", "name": "X", "handle": "jo"}]}
        )
        hours = await api.client.post(
            "/_sandbox/accounts",
            json={
                "brands": [{"id": "y", "name": "Y", "handle": "y", "hours": {"timezone": "Mars"}}]
            },
        )
        not_json = await api.client.post("/_sandbox/accounts", content=b"{")
        return bad, too_long, conflict, hours, not_json

    for response in run(make_world(), scenario):
        assert response.status_code == 400, response.text
        assert response.json()["title"] == "Invalid Request"


def test_missing_or_unknown_token_is_401():
    async def scenario(api):
        none = await api.client.get("/2/users/me")
        wrong = await api.client.get("/2/users/me", headers={"authorization": "Bearer nope"})
        return none, wrong

    for response in run(make_world(), scenario):
        assert response.status_code == 401
        assert response.json() == {
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        }


def test_users_me_by_names_and_by_ids():
    async def scenario(api):
        me = await api.client.get("/2/users/me", headers=api.auth("jo"))
        by = await api.client.get(
            "/2/users/by",
            params={"usernames": "acmehelp,nobody", "user.fields": "public_metrics"},
            headers=api.auth("jo"),
        )
        ids = await api.client.get(
            "/2/users", params={"ids": f"{api.ids['star']},1"}, headers=api.auth("jo")
        )
        return api.ids, me.json(), by.json(), ids.json()

    ids, me, by, by_ids = run(make_world(), scenario)
    assert me == {"data": {"id": ids["jo"], "name": "jo", "username": "jo"}}
    (acme,) = by["data"]
    assert acme["username"] == "AcmeHelp" and acme["id"] == ids["AcmeHelp"]
    assert set(acme["public_metrics"]) == {
        "followers_count",
        "following_count",
        "tweet_count",
        "post_count",
        "listed_count",
    }
    assert acme["public_metrics"]["post_count"] == acme["public_metrics"]["tweet_count"]
    assert by["errors"][0]["detail"] == "Could not find user with usernames: [nobody]."
    assert by["errors"][0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert by_ids["data"] == [{"id": ids["star"], "name": "star", "username": "star"}]
    assert by_ids["errors"][0]["resource_id"] == "1"


def test_unknown_parameters_and_bad_values_are_400_with_x_error_bodies():
    async def scenario(api):
        responses = [
            await api.client.get("/2/users/me", params={"foo": "1"}, headers=api.auth("jo")),
            await api.search("jo", "router", max_results="5"),
            await api.search("jo", "router", since_id="abc"),
            await api.search("jo", "router", start_time="yesterday"),
            await api.search("jo", "router", next_token="zzz"),
            await api.search("jo", "(router"),
            await api.search("jo", "x" * 4097),
            await api.client.post("/2/tweets", json={"text": ""}, headers=api.auth("jo")),
            await api.client.post("/2/tweets", json={"txt": "a"}, headers=api.auth("jo")),
            await api.tweet("jo", "hello", reply_to="123"),
        ]
        return responses

    for response in run(make_world(), scenario):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["title"] == "Invalid Request" and body["errors"][0]["message"]
        assert "x-rate-limit-remaining" in response.headers


# ------------------------------------------------------------------------ probes and replies


def test_a_probe_is_answered_only_once_its_time_comes():
    world = make_world(brands={"default": always(follow_up_rate=1.0)})

    async def scenario(api):
        posted = await api.tweet("jo", f"@acmehelp my router is down (ref:{pid(1)})")
        assert posted.status_code == 201
        probe = posted.json()["data"]
        query = f"conversation_id:{probe['id']}"
        before = (await api.search("jo", query)).json()
        world.clock.advance(599.999)
        still = (await api.search("jo", query)).json()
        world.clock.advance(0.001)
        first = (await api.search("jo", query)).json()
        world.clock.advance(600)
        both = (await api.search("jo", query)).json()
        return api.ids, probe, before, still, first, both

    ids, probe, before, still, first, both = run(world, scenario)
    assert probe["edit_history_tweet_ids"] == [probe["id"]]
    assert before["meta"]["result_count"] == 1 and still["meta"]["result_count"] == 1
    assert first["meta"]["result_count"] == 2
    reply = first["data"][0]
    assert reply["created_at"] == "2026-01-05T09:10:00.000Z"
    assert reply["conversation_id"] == probe["id"]
    assert reply["in_reply_to_user_id"] == ids["jo"]
    assert reply["referenced_tweets"] == [{"type": "replied_to", "id": probe["id"]}]
    assert reply["text"].startswith("Hi @jo,")
    assert reply["author_id"] == ids["AcmeHelp"]
    assert {u["username"] for u in first["includes"]["users"]} == {"jo", "AcmeHelp"}
    follow_up = both["data"][0]
    assert follow_up["referenced_tweets"] == [{"type": "replied_to", "id": reply["id"]}]
    assert follow_up["in_reply_to_user_id"] == ids["AcmeHelp"]
    assert follow_up["created_at"] == "2026-01-05T09:20:00.000Z"
    assert snowflake_ms(int(follow_up["id"])) == parse_iso_ms(follow_up["created_at"])
    truth = world.truth.events()
    assert [e["event"] for e in truth] == ["probe", "reply", "reply"]
    assert truth[0] == {
        "event": "probe",
        "probe_id": pid(1),
        "at": "2026-01-05T09:00:00.000Z",
        "brand": "acme",
        "persona": "jo",
        "private": False,
        "id": probe["id"],
    }
    assert truth[1]["id"] == reply["id"] and truth[1]["author"] == "AcmeHelp"
    assert truth[2]["at"] == follow_up["created_at"]


def test_messages_without_a_marker_or_to_nobody_are_not_answered():
    world = make_world()

    async def scenario(api):
        await api.tweet("jo", "@acmehelp my router is down")
        await api.tweet("jo", f"my router is down (ref:{pid(2)})")
        await api.dm("jo", "star", f"hi (ref:{pid(3)})")
        await api.tweet("AcmeHelp", f"@jo hello (ref:{pid(4)})")
        world.clock.advance(86400)
        return (await api.search("jo", "down OR hi OR hello")).json()

    assert run(world, scenario)["meta"]["result_count"] == 3
    assert world.truth.events() == []


def test_decisions_do_not_depend_on_arrival_order():
    def outcome(order):
        world = make_world(brands={}, seed=11)  # behaviour derived from the seed

        async def scenario(api):
            for n in order:
                assert (await api.tweet("jo", f"@AcmeHelp help (ref:{pid(n)})")).status_code == 201
                world.clock.advance(7)

        run(world, scenario)
        sent = {e["probe_id"]: parse_iso_ms(e["at"]) for e in events(world, "probe")}
        return sorted(
            (
                e["probe_id"],
                parse_iso_ms(e["at"]) - sent[e["probe_id"]],
                tuple(e["types"]),
                e["author"],
            )
            for e in events(world, "reply")
        )

    forward = outcome(range(40))
    assert forward == outcome(reversed(range(40)))
    assert 5 < len(forward) < 80


def test_reply_texts_are_classified_as_the_truth_says():
    habits = Habits(link=0.5, dm=0.5, phone=0.3, email=0.3, ack_only=0.2, answer=0.5)
    world = make_world(brands={"default": always(habits=habits, follow_up_rate=0.5)})
    answers = {pid(n): "Reset it from Settings, then sign in again." for n in range(0, 60, 2)}
    answers[pid(1)] = "See https://acme.example/reset for the steps."

    async def scenario(api):
        await api.register({"answers": answers})
        for n in range(60):
            await api.tweet("jo", f"@AcmeHelp help me (ref:{pid(n)})")
        world.clock.advance(3600)
        page = (await api.search("jo", "from:AcmeHelp OR from:AcmeCares", max_results=100)).json()
        return {t["id"]: t["text"] for t in page["data"]}

    texts = run(world, scenario)
    replies = events(world, "reply")
    assert len(texts) == len(replies) > 60
    for reply in replies:
        text = texts[reply["id"]]
        flags = {k for k, v in classify_text(text).items() if v and k != "confirms_resolution"}
        assert flags == set(reply["types"]) - {"answer"}, text
        has_answer = any(a in text for a in answers.values())
        assert has_answer == ("answer" in reply["types"]), text
    assert {t for r in replies for t in r["types"]} == {
        "answer",
        "link",
        "dm",
        "phone",
        "email",
        "ack_only",
    }


def test_aliases_post_the_share_of_public_replies_they_are_given():
    world = make_world(brands={"default": always(alias_rate=1.0)})

    async def scenario(api):
        await api.tweet("jo", f"@AcmeHelp public (ref:{pid(1)})")
        await api.dm("jo", "AcmeHelp", f"private (ref:{pid(2)})")
        await api.dm("jo", "AcmeCares", f"private alias (ref:{pid(3)})")

    run(world, scenario)
    authors = {e["probe_id"]: e["author"] for e in events(world, "reply")}
    assert authors == {pid(1): "AcmeCares", pid(2): "AcmeHelp", pid(3): "AcmeCares"}


def test_support_hours_delay_a_probe_sent_while_closed():
    world = make_world(brands={"default": always(latency=Latency(fixed="45m"))})

    async def scenario(api):
        world.clock.advance(5 * 86400 + 3 * 3600)  # Saturday 12:00 UTC: Zeta is closed
        await api.tweet("jo", f"@ZetaSupport weekend trouble (ref:{pid(1)})")
        world.clock.advance(2 * 86400 - 3 * 3600)  # Monday 09:00 London, still nothing
        nothing = (await api.search("jo", "from:ZetaSupport")).json()
        world.clock.advance(45 * 60)
        return nothing, (await api.search("jo", "from:ZetaSupport")).json()

    nothing, found = run(world, scenario)
    assert nothing["meta"]["result_count"] == 0
    assert found["data"][0]["created_at"] == "2026-01-12T09:45:00.000Z"
    probe, reply = world.truth.events()
    start, end = (pd.Series([pd.Timestamp(e["at"])]) for e in (probe, reply))
    assert business_seconds(start, end, world.accounts.brands["zeta"].business.hours)[0] == 2700


def test_followers_raise_the_reply_rate_and_shorten_the_wait():
    behaviour = always(
        reply_rate=0.4, latency=Latency(uniform=["10m", "5h"]), follower_preference=1
    )
    world = make_world(brands={"default": behaviour})

    async def scenario(api):
        for n in range(150):
            await api.tweet("al", f"@AcmeHelp hi (ref:{pid(n)})")
            await api.tweet("star", f"@AcmeHelp hi (ref:{pid(1000 + n)})")

    run(world, scenario)
    probes = {e["probe_id"]: e["persona"] for e in events(world, "probe")}
    waits: dict[str, list[float]] = {"al": [], "star": []}
    for reply in events(world, "reply"):
        waits[probes[reply["probe_id"]]].append(parse_iso_ms(reply["at"]) - parse_iso_ms(START))
    assert len(waits["star"]) > 2 * len(waits["al"])
    assert sum(waits["star"]) / len(waits["star"]) < sum(waits["al"]) / len(waits["al"]) / 2


def test_a_duplicate_post_is_403_and_recorded():
    world = make_world()

    async def scenario(api):
        text = f"@AcmeHelp help (ref:{pid(1)})"
        first = await api.tweet("jo", text)
        again = await api.tweet("jo", text)
        other = await api.tweet("al", text)  # another user may post the same text
        return first, again, other

    first, again, other = run(world, scenario)
    assert first.status_code == 201 and other.status_code == 201
    assert again.status_code == 403
    assert again.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    (refused,) = events(world, "duplicate")
    assert refused == {
        "event": "duplicate",
        "probe_id": pid(1),
        "at": "2026-01-05T09:00:00.000Z",
        "persona": "jo",
        "private": False,
    }
    # received twice (another persona's post): recorded twice, answered once
    assert [p["persona"] for p in events(world, "probe")] == ["jo", "al"]
    assert len(events(world, "reply")) == 1


# ------------------------------------------------------------------------------------ search


def test_search_grammar_over_http():
    world = make_world(brands={"default": always(reply_rate=0.0)})

    async def scenario(api):
        await api.tweet("jo", "@AcmeHelp my router is down")
        await api.tweet("al", "@ZetaSupport my wifi is down")
        await api.tweet("star", "routers everywhere")
        await api.tweet("AcmeHelp", "Maintenance tonight")

        async def texts(query):
            body = (await api.search("jo", query)).json()
            return sorted(t["text"] for t in body.get("data", []))

        return {
            query: await texts(query)
            for query in (
                "router",
                '"IS DOWN"',
                "from:jo OR from:star",
                "to:ZetaSupport",
                "down (from:al OR from:AcmeHelp)",
                "maintenance OR routers down",
                "from:nobody",
            )
        }

    found = run(world, scenario)
    assert found["router"] == ["@AcmeHelp my router is down"]
    assert len(found['"IS DOWN"']) == 2
    assert found["from:jo OR from:star"] == ["@AcmeHelp my router is down", "routers everywhere"]
    assert found["to:ZetaSupport"] == ["@ZetaSupport my wifi is down"]
    assert found["down (from:al OR from:AcmeHelp)"] == ["@ZetaSupport my wifi is down"]
    assert found["maintenance OR routers down"] == ["Maintenance tonight"]
    assert found["from:nobody"] == []


def test_search_pages_newest_first_and_honours_since_id_and_times():
    world = make_world(brands={"default": always(reply_rate=0.0)})

    async def scenario(api):
        ids = []
        for n in range(25):
            ids.append((await api.tweet("jo", f"note {n}")).json()["data"]["id"])
            world.clock.advance(60)
        pages, token = [], None
        while True:
            extra = {"next_token": token} if token else {}
            page = (await api.search("al", "from:jo", **extra)).json()
            pages.append(page)
            token = page["meta"].get("next_token")
            if token is None:
                break
        since = (await api.search("al", "from:jo", since_id=ids[20])).json()
        window = (
            await api.search(
                "al", "note", start_time="2026-01-05T09:05:00Z", end_time="2026-01-05T09:08:00Z"
            )
        ).json()
        until = (await api.search("al", "note", until_id=ids[3])).json()
        return ids, pages, since, window, until

    ids, pages, since, window, until = run(world, scenario)
    assert [p["meta"]["result_count"] for p in pages] == [10, 10, 5]
    seen = [t["id"] for p in pages for t in p["data"]]
    assert seen == ids[::-1]
    assert pages[0]["meta"]["newest_id"] == ids[-1] and pages[0]["meta"]["oldest_id"] == ids[15]
    assert [t["id"] for t in since["data"]] == ids[:20:-1]
    assert [t["text"] for t in window["data"]] == ["note 7", "note 6", "note 5"]
    assert [t["id"] for t in until["data"]] == ids[2::-1]


def test_search_over_many_conversations_uses_the_index():
    world = make_world(brands={"default": always(reply_rate=0.0)})
    run(world, lambda api: asyncio.sleep(0))
    jo = world.accounts.user_named("jo")
    roots = [world.post_tweet(jo, f"root {n}") for n in range(3000)]
    for n, root in enumerate(roots[:200]):
        world.post_tweet(jo, f"reply {n}", str(root.id))

    def no_scan(*args):
        raise AssertionError("scanned every tweet")

    world.timeline._scan = no_scan
    wanted = roots[:100:2] + roots[2000:2050]
    query = " OR ".join(f"conversation_id:{t.id}" for t in wanted)

    async def scenario(api):
        body = (await api.search("jo", query, max_results=100)).json()
        return body

    body = run(world, scenario)
    assert body["meta"]["result_count"] == 100 and "next_token" in body["meta"]
    assert {t["conversation_id"] for t in body["data"]} <= {str(t.id) for t in wanted}


# --------------------------------------------------------------------------------------- DMs


def test_dm_probe_is_answered_in_the_same_conversation():
    world = make_world(brands={"default": always(follow_up_rate=1.0)})

    async def scenario(api):
        sent = await api.dm("jo", "AcmeHelp", f"my bill is wrong (ref:{pid(5)})")
        await api.dm("al", "AcmeHelp", "no marker here")
        early = (await api.dm_events("jo")).json()
        world.clock.advance(1200)
        late = (await api.dm_events("jo")).json()
        paged = (await api.dm_events("jo", max_results="2")).json()
        rest = (await api.dm_events("jo", pagination_token=paged["meta"]["next_token"])).json()
        brand = (await api.dm_events("AcmeHelp")).json()
        return api.ids, sent, early, late, paged, rest, brand

    ids, sent, early, late, paged, rest, brand = run(world, scenario)
    assert sent.status_code == 201
    low, high = sorted((ids["jo"], ids["AcmeHelp"]), key=int)
    assert sent.json()["data"]["dm_conversation_id"] == f"{low}-{high}"
    assert early["meta"]["result_count"] == 1
    assert late["meta"]["result_count"] == 3
    newest = late["data"][0]
    assert newest["sender_id"] == ids["AcmeHelp"]
    assert newest["dm_conversation_id"] == f"{low}-{high}"
    assert newest["event_type"] == "MessageCreate" and newest["text"].startswith("Hi @jo,")
    times = [e["created_at"] for e in late["data"]]
    assert times == sorted(times, reverse=True)
    assert [e["id"] for e in paged["data"] + rest["data"]] == [e["id"] for e in late["data"]]
    assert "next_token" not in rest["meta"]
    assert brand["meta"]["result_count"] == 4  # both conversations, sent and received
    replies = events(world, "reply")
    assert all(r["private"] and r["author"] == "AcmeHelp" for r in replies)
    assert [r["id"] for r in replies] == [e["id"] for e in late["data"][:2][::-1]]


def test_dm_to_an_unknown_user_is_400():
    async def scenario(api):
        api.ids["ghost"] = "42"
        return await api.dm("jo", "ghost", "hello")

    assert run(make_world(), scenario).status_code == 400


# ------------------------------------------------------------------------------- rate limits


def test_rate_limits_answer_429_with_headers_until_the_reset():
    world = make_world(limits={"tweets_post": (3, 60)})

    async def scenario(api):
        answers = [await api.tweet("jo", f"note {n}") for n in range(4)]
        other_user = await api.tweet("al", "note")
        world.clock.advance(60)
        after = await api.tweet("jo", "note after")
        return answers, other_user, after

    answers, other_user, after = run(world, scenario)
    reset = str(parse_iso_ms(START) // 1000 + 60)
    assert [r.status_code for r in answers] == [201, 201, 201, 429]
    assert [r.headers["x-rate-limit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert all(r.headers["x-rate-limit-limit"] == "3" for r in answers)
    assert all(r.headers["x-rate-limit-reset"] == reset for r in answers)
    assert answers[3].json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert other_user.status_code == 201
    assert after.status_code == 201 and after.headers["x-rate-limit-remaining"] == "2"
    assert events(world, "violation") == []


def test_requests_ignoring_a_429_are_recorded_as_violations():
    world = make_world(limits={"search_recent": (1, 900)})

    async def scenario(api):
        await api.search("jo", "a")
        refused = await api.search("jo", "a")
        in_flight = await api.search("jo", "a")  # within 0.2 s: forgiven
        time.sleep(0.25)
        ignored = await api.search("jo", "a")
        world.clock.advance(900)
        fine = await api.search("jo", "a")
        return refused, in_flight, ignored, fine

    refused, in_flight, ignored, fine = run(world, scenario)
    assert [r.status_code for r in (refused, in_flight, ignored, fine)] == [429, 429, 429, 200]
    (violation,) = events(world, "violation")
    assert violation == {
        "event": "violation",
        "endpoint": "search_recent",
        "user": "jo",
        "at": "2026-01-05T09:00:00.000Z",
        "reset": iso_ms((parse_iso_ms(START) // 1000 + 900) * 1000),
    }


# ------------------------------------------------------------------------------------ faults


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        pytest.param("rate_limit", 429, id="rate_limit"),
        pytest.param("server_error", 503, id="server_error"),
        pytest.param("slow", 201, id="slow"),
        pytest.param("timeout", 201, id="timeout"),
    ],
)
def test_each_fault_kind(kind, status):
    faults = Faults(**{kind: 1.0, "slow_s": 0.2, "timeout_s": 0.2, "reset_s": 30})
    world = make_world(faults=faults)

    async def scenario(api):
        began = time.monotonic()
        response = await api.tweet("jo", "hello")
        return response, time.monotonic() - began

    response, elapsed = run(world, scenario)
    assert response.status_code == status
    assert "x-rate-limit-reset" in response.headers
    stored = len(world.timeline.tweets)
    assert stored == (1 if status == 201 else 0)
    if kind in ("slow", "timeout"):
        assert elapsed >= 0.2
    if kind == "rate_limit":
        reset = parse_iso_ms(START) // 1000 + 30
        assert response.headers["x-rate-limit-reset"] == str(reset)
        assert response.headers["x-rate-limit-remaining"] == "0"
    (fault,) = events(world, "fault")
    assert fault == {
        "event": "fault",
        "kind": kind,
        "endpoint": "tweets_post",
        "at": iso_ms(parse_iso_ms(START)),
    }


def test_faults_are_seeded_and_only_on_api_routes():
    faults = Faults(rate_limit=0.1, server_error=0.2, slow=0.1, slow_s=0.0)

    def kinds(seed):
        world = make_world(faults=faults, seed=seed, limits={"users_me": (1000, 900)})

        async def scenario(api):
            for _ in range(40):
                await api.client.get("/2/users/me", headers=api.auth("jo"))
                await api.client.get("/_sandbox/clock")
                world.clock.advance(31)  # past any injected reset

        run(world, scenario)
        return [e["kind"] for e in events(world, "fault")]

    first = kinds(1)
    assert first == kinds(1) != kinds(2)
    assert set(first) == {"rate_limit", "server_error", "slow"}


# ---------------------------------------------------------------------------- sandbox routes


def test_clock_and_truth_routes(tmp_path):
    world = make_world(tmp_path)

    async def scenario(api):
        await api.tweet("jo", f"@AcmeHelp help (ref:{pid(1)})")
        clock = (await api.client.get("/_sandbox/clock")).json()
        truth = await api.client.get("/_sandbox/truth")
        return clock, truth

    with world:
        clock, truth = run(world, scenario)
    assert clock == {"now": "2026-01-05T09:00:00.000Z", "epoch": 1767603600.0, "speed": 0.0}
    assert truth.headers["content-type"].startswith("text/plain")
    lines = truth.text.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["probe", "reply"]
    assert (tmp_path / "truth.jsonl").read_text(encoding="utf-8") == truth.text


def test_at_is_iso_utc_with_milliseconds(tmp_path):
    with make_world(tmp_path) as world:
        run(world, lambda api: api.tweet("jo", f"@AcmeHelp help (ref:{pid(1)})"))
    lines = (tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    for event in map(json.loads, lines):
        parsed = dt.datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert len(event["at"]) == 24 and parsed.year == 2026


def test_a_marked_reply_to_a_brand_tweet_is_a_probe_for_that_brand():
    world = make_world()

    async def scenario(api):
        news = (await api.tweet("ZetaSupport", "Maintenance tonight")).json()["data"]["id"]
        world.clock.advance(1)
        return await api.tweet("jo", f"will it affect me? (ref:{pid(9)})", reply_to=news)

    assert run(world, scenario).status_code == 201
    (probe,) = events(world, "probe")
    assert probe["brand"] == "zeta" and probe["persona"] == "jo"


def test_personas_without_followers_count_as_neutral_and_blank_answers_as_none():
    world = make_world(brands={"default": always(habits=Habits(answer=1.0, ack_only=0.0))})

    async def scenario(api):
        await api.register({"personas": [{"handle": "anon", "followers": None}]})
        await api.register({"answers": {pid(8): "   "}})
        await api.tweet("anon", f"@AcmeHelp help (ref:{pid(8)})")
        me = await api.client.get(
            "/2/users/me", params={"user.fields": "public_metrics"}, headers=api.auth("anon")
        )
        return me.json()

    me = run(world, scenario)
    assert me["data"]["public_metrics"]["followers_count"] == 1000
    (reply,) = events(world, "reply")
    assert "answer" not in reply["types"]

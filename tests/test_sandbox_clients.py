"""Real X clients against the sandbox over loopback: tweepy 4.17 and the official xdk SDK
(generated from a later revision of the spec, 2.167, whose pydantic models validate every
answer), for what socialbench does on X: post, reply, search recent posts, look users up by
username, send a DM and list DM events. Every exchange is also checked against the spec's
subset (`x_openapi.check`, as a requests response hook).

tweepy's host is fixed (https://api.twitter.com): a transport adapter sends its requests to
the sandbox's loopback URL instead; nothing leaves the machine.
"""

from __future__ import annotations

import httpx
import pydantic
import pytest
import tweepy
import xdk
from requests.adapters import HTTPAdapter
from x_openapi import requests_hook
from xdk.direct_messages.models import CreateByParticipantIdRequest
from xdk.posts.models import CreateRequest
from xdk.schemas import CreatePostsReply

from socialbench.probing.sandbox import PlatformClock, World, serve_in_thread
from socialbench.probing.sandbox.profile import Behaviour, Latency, Profile

START = "2026-01-05T09:00:00Z"
ACCOUNTS = {
    "brands": [{"id": "acme", "name": "Acme", "handle": "AcmeHelp"}],
    "personas": [{"handle": "jo", "followers": 1000}],
}
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "in_reply_to_user_id"]


@pytest.fixture
def sandbox():
    """A sandbox served over loopback (its clock still until a test advances it) whose brand
    answers every probe after 10 minutes; its handle, user ids and tokens."""
    behaviour = Behaviour(reply_rate=1.0, latency=Latency(fixed="10m"), follow_up_rate=0.0)
    world = World(
        profile=Profile(brands={"default": behaviour}),
        seed=3,
        clock=PlatformClock(start=START, speed=0),
    )
    handle = serve_in_thread(world)
    try:
        accounts = httpx.post(handle.url + "/_sandbox/accounts", json=ACCOUNTS, timeout=5).json()
        yield handle, accounts["users"], accounts["tokens"]
    finally:
        handle.stop()


class _Loopback(HTTPAdapter):
    """Sends what tweepy addresses to https://api.twitter.com to the sandbox instead."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def send(self, request, **kwargs):
        request.url = request.url.replace("https://api.twitter.com", self.url, 1)
        assert request.url.startswith("http://127.0.0.1:"), request.url
        return super().send(request, **kwargs)


def _tweepy(url: str, token: str) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token)  # an OAuth 2.0 user token, sent as Bearer
    client.session.mount("https://", _Loopback(url))
    client.session.hooks["response"].append(requests_hook)
    return client


def _xdk(url: str, token: str) -> xdk.Client:
    client = xdk.Client(base_url=url, access_token=token)
    client.session.hooks["response"].append(requests_hook)
    return client


# ------------------------------------------------------------------------------- tweepy


def test_tweepy_posts_replies_searches_looks_up_and_sends_dms(sandbox):
    handle, ids, tokens = sandbox
    jo, brand = _tweepy(handle.url, tokens["jo"]), _tweepy(handle.url, tokens["AcmeHelp"])

    me = jo.get_me(user_auth=False, user_fields=["public_metrics"])
    assert (me.data.id, me.data.username) == (int(ids["jo"]), "jo")
    found = jo.get_user(username="AcmeHelp", user_fields=["public_metrics"])
    assert found.data.id == int(ids["AcmeHelp"])
    assert found.data.public_metrics["followers_count"] > 0
    both = jo.get_users(usernames=["AcmeHelp", "jo"], user_fields=["public_metrics"])
    assert [u.username for u in both.data] == ["AcmeHelp", "jo"]

    probe = jo.create_tweet(text="@AcmeHelp my router is down (ref:p00000000001)", user_auth=False)
    handle.world.clock.advance(600)
    search = jo.search_recent_tweets(
        query=f"conversation_id:{probe.data['id']} -is:retweet",
        tweet_fields=TWEET_FIELDS,
        expansions=["author_id"],
        user_fields=["username", "public_metrics"],
    )
    reply, original = search.data
    assert original.id == int(probe.data["id"])
    assert reply.author_id == int(ids["AcmeHelp"]) and reply.in_reply_to_user_id == int(ids["jo"])
    assert reply.text.startswith("Hi @jo,")
    assert {u.username for u in search.includes["users"]} == {"jo", "AcmeHelp"}

    answer = jo.create_tweet(text="thanks", in_reply_to_tweet_id=reply.id, user_auth=False)
    thread = brand.search_recent_tweets(query=f"conversation_id:{probe.data['id']}")
    assert thread.data[0].id == int(answer.data["id"]) and thread.meta["result_count"] == 3

    sent = jo.create_direct_message(
        participant_id=ids["AcmeHelp"], text="my bill (ref:p00000000002)", user_auth=False
    )
    low, high = sorted((ids["jo"], ids["AcmeHelp"]), key=int)
    assert sent.data["dm_conversation_id"] == f"{low}-{high}"
    handle.world.clock.advance(600)
    events = jo.get_direct_message_events(
        dm_event_fields=["created_at", "sender_id", "dm_conversation_id"],
        expansions=["sender_id"],
        user_fields=["username"],
        user_auth=False,
    )
    assert [e.sender_id for e in events.data] == [int(ids["AcmeHelp"]), int(ids["jo"])]
    assert [u.username for u in events.includes["users"]] == ["AcmeHelp", "jo"]


def test_tweepy_paginates_a_search_and_dm_events(sandbox):
    handle, ids, tokens = sandbox
    jo = _tweepy(handle.url, tokens["jo"])
    for n in range(15):
        jo.create_tweet(text=f"note {n}", user_auth=False)
        jo.create_direct_message(participant_id=ids["AcmeHelp"], text=f"dm {n}", user_auth=False)
    pages = list(tweepy.Paginator(jo.search_recent_tweets, query="note", max_results=10))
    assert [p.meta["result_count"] for p in pages] == [10, 5]
    assert [t.text for p in pages for t in p.data] == [f"note {n}" for n in range(14, -1, -1)]
    events = tweepy.Paginator(jo.get_direct_message_events, max_results=4, user_auth=False)
    assert [e.text for e in events.flatten()] == [f"dm {n}" for n in range(14, -1, -1)]


# ---------------------------------------------------------------------------------- xdk


def test_xdk_posts_replies_searches_looks_up_and_sends_dms(sandbox):
    handle, ids, tokens = sandbox
    jo = _xdk(handle.url, tokens["jo"])

    me = jo.users.get_me(user_fields=["public_metrics"])
    assert me.data.username == "jo" and me.data.public_metrics.post_count == 0
    found = jo.users.get_by_username(username="AcmeHelp", user_fields=["public_metrics"])
    assert found.data.id == ids["AcmeHelp"] and found.data.public_metrics.followers_count > 0
    both = jo.users.get_by_usernames(usernames=["AcmeHelp", "jo"])
    assert [u.username for u in both.data] == ["AcmeHelp", "jo"]

    probe = jo.posts.create(body=CreateRequest(text="@AcmeHelp help (ref:p00000000001)"))
    handle.world.clock.advance(600)
    pages = jo.posts.search_recent(
        query=f"conversation_id:{probe.data.id} -is:retweet",
        post_fields=TWEET_FIELDS,  # sent as post.fields, the SDK's name
        expansions=["author_id"],
        user_fields=["public_metrics"],
    )
    (page,) = list(pages)
    reply, original = page.data
    assert original.id == probe.data.id and reply.author_id == ids["AcmeHelp"]
    assert reply.in_reply_to_user_id == ids["jo"] and reply.created_at.endswith("Z")
    assert {u.public_metrics.post_count for u in page.includes.users} == {1}

    answer = jo.posts.create(
        body=CreateRequest(text="thanks", reply=CreatePostsReply(in_reply_to_tweet_id=reply.id))
    )
    assert answer.data.text == "thanks"

    sent = jo.direct_messages.create_by_participant_id(
        participant_id=ids["AcmeHelp"],
        body=CreateByParticipantIdRequest(text="my bill (ref:p00000000002)"),
    )
    assert sent.data.dm_event_id
    handle.world.clock.advance(600)
    (events,) = list(
        jo.direct_messages.get_events(
            dm_event_fields=["created_at", "sender_id"],
            expansions=["sender_id"],
            user_fields=["username"],
        )
    )
    assert [e.sender_id for e in events.data] == [ids["AcmeHelp"], ids["jo"]]
    assert [u.username for u in events.includes.users] == ["AcmeHelp", "jo"]


def test_xdk_pages_through_a_search(sandbox):
    handle, _, tokens = sandbox
    jo = _xdk(handle.url, tokens["jo"])
    for n in range(15):
        jo.posts.create(body=CreateRequest(text=f"note {n}"))
    pages = list(jo.posts.search_recent(query="note", max_results=10))
    assert [p.meta.result_count for p in pages] == [10, 5]


def test_xdk_reads_problem_types_of_a_later_revision(sandbox):
    """The one answer the SDK cannot read: a lookup's partial errors. Revision 2.159 (the
    sandbox's) maps problem types under https://api.twitter.com/2/problems/, 2.167 (the
    SDK's) allows only https://api.x.com/2/problems/ ones; the sandbox follows 2.159."""
    handle, _, tokens = sandbox
    answer = httpx.get(
        handle.url + "/2/users/by",
        params={"usernames": "nobody"},
        headers={"authorization": f"Bearer {tokens['jo']}"},
    ).json()
    assert answer["errors"][0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    with pytest.raises(pydantic.ValidationError, match="api.x.com/2/problems/resource-not-found"):
        xdk.users.models.GetByUsernamesResponse.model_validate(answer)


def test_xdk_models_need_post_count():
    """Why the sandbox sends post_count: the SDK refuses public metrics without it."""
    metrics = {"followers_count": 1, "following_count": 2, "tweet_count": 3, "listed_count": 0}
    with pytest.raises(pydantic.ValidationError, match="post_count"):
        xdk.schemas.UserPublicMetrics.model_validate(metrics)
    xdk.schemas.UserPublicMetrics.model_validate({**metrics, "post_count": 3})

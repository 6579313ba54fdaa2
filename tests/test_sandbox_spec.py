"""The sandbox against the official X API v2 OpenAPI document (its subset, docs/x_api_openapi/):
the subset itself, the sandbox's routes and parameter rules against it, request handling
(what the document refuses is refused, what it allows is served), and each deviation that
issue 17 found. Every /2 exchange here is also checked by `x_openapi.check` (the response
hook of `test_sandbox_api.run`).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from test_sandbox_api import always, make_world, pid, run
from x_openapi import SUBSET, Exchange, check, document, request_errors

from socialbench.probing.sandbox import create_app
from socialbench.probing.sandbox import params as p
from socialbench.probing.sandbox.profile import Faults
from socialbench.probing.sandbox.shapes import ApiError

DOCS = SUBSET.parent
PROBLEM = "application/problem+json"


def _extract_module():
    spec = importlib.util.spec_from_file_location("extract", DOCS / "extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _operation(method: str, path: str) -> dict:
    return document()["paths"][path][method]


def _query_parameters(method: str, path: str) -> dict[str, dict]:
    """The operation's query parameters by name, references resolved."""
    components = document()["components"]["parameters"]
    out = {}
    for parameter in _operation(method, path).get("parameters", []):
        if "$ref" in parameter:
            parameter = components[parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "query":
            out[parameter["name"]] = parameter
    return out


# ---------------------------------------------------------------------------- the subset


def test_the_subset_is_a_valid_self_contained_excerpt_of_version_2_159():
    spec = document()
    validate(spec)
    assert spec["info"]["version"] == "2.159"
    assert spec["info"]["license"]["name"] == "X Developer Agreement and Policy"
    source = spec["x-socialbench-subset"]["source"]
    assert source.startswith("https://github.com/xdevplatform/xdk/blob/")
    assert source.endswith("/latest-openapi.json")
    # cut again, it is unchanged: every component it holds is reached, none is missing
    again = _extract_module().subset(spec, commit=source.split("/")[-2])
    assert again == spec
    licence = (DOCS / "LICENSE").read_text(encoding="utf-8")
    assert "X Developer Agreement and Policy" in licence and "MIT License" in licence


def test_the_sandbox_serves_exactly_the_subset_s_operations():
    app = create_app(make_world())
    served = {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/2/") and "{rest" not in route.path
        for method in route.methods or ()
        if method != "HEAD"
    }
    listed = {(m, path) for path, ops in document()["paths"].items() for m in ops}
    assert served == listed


OPERATIONS = [
    pytest.param("get", "/2/users/me", p.USER_LOOKUP, id="users-me"),
    pytest.param("get", "/2/users/by", p.USERNAMES, id="users-by"),
    pytest.param("get", "/2/users", p.USER_IDS, id="users-ids"),
    pytest.param("get", "/2/users/by/username/{username}", p.USER_LOOKUP, id="by-username"),
    pytest.param("get", "/2/tweets/search/recent", p.SEARCH, id="search"),
    pytest.param("get", "/2/dm_events", p.DM_EVENTS, id="dm-events"),
]


@pytest.mark.parametrize(("method", "path", "rules"), OPERATIONS)
def test_each_operation_takes_the_document_s_query_parameters(method, path, rules):
    names = set(_query_parameters(method, path))
    assert set(rules) == names | {"post.fields"}  # the xdk SDK's name for tweet.fields


def _samples(parameter: dict) -> tuple[list[str], list[str]]:
    """Values the parameter's schema allows and refuses, derived from the schema."""
    schema = parameter["schema"]
    schemas = document()["components"]["schemas"]
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        item = schema["items"]
        if "$ref" in item:
            item = schemas[item["$ref"].rsplit("/", 1)[1]]
        if "enum" in item:
            values = item["enum"]
            return [*values, ",".join(values)], ["bogus", f"{values[0]},{values[0]}", ""]
        many = ",".join(["1"] * (schema["maxItems"] + 1))
        if item["pattern"] == p.USERNAME_PATTERN:
            return ["jo", "a_1,B2"], ["a" * 16, "jo,a-b", "@jo", many.replace("1", "a")]
        return ["1", "1234567890123456789,2"], ["abc", "1,x", "1" * 20, many]
    if schema.get("type") == "integer":
        lo, hi = schema["minimum"], schema["maximum"]
        return [str(lo), str(hi)], [str(lo - 1), str(hi + 1), "ten"]
    if "enum" in schema:
        return list(schema["enum"]), ["bogus"]
    if schema.get("format") == "date-time":
        return ["2026-01-05T09:00:00Z", "2026-01-05T09:00:00.123Z"], ["yesterday"]
    if "pattern" in schema:
        return ["1", "1234567890123456789"], ["abc", "1" * 20]
    if "maxLength" in schema:
        return ["a", "a" * schema["maxLength"]], ["a" * (schema["maxLength"] + 1)]
    least = schema.get("minLength", 1)
    return ["a" * least], ["a" * (least - 1)] if least > 1 else []


def _spec_allows(method: str, path: str, name: str, value: str) -> bool:
    required = {"query": "a", "usernames": "jo", "ids": "1"}
    params = {k: v for k, v in required.items() if k in _query_parameters(method, path)}
    params[name] = value
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = "https://api.x.com" + path.replace("{username}", "jo") + "?" + query
    exchange = Exchange(method, url, {}, None, 200, {}, b"{}")
    return not request_errors(exchange)


@pytest.mark.parametrize(("method", "path", "rules"), OPERATIONS)
def test_parameter_values_are_taken_or_refused_as_the_document_says(method, path, rules):
    for name, parameter in _query_parameters(method, path).items():
        allowed, refused = _samples(parameter)
        for value in allowed:
            assert _spec_allows(method, path, name, value), (name, value)
            p.parse({name: value}, rules)
        for value in refused:
            assert not _spec_allows(method, path, name, value), (name, value)
            with pytest.raises(ApiError) as caught:
                p.parse({name: value}, rules)
            assert caught.value.status == 400


@pytest.mark.parametrize(
    ("constant", "parameter"),
    [
        pytest.param(p.TWEET_FIELDS, "TweetFieldsParameter", id="tweet.fields"),
        pytest.param(p.USER_FIELDS, "UserFieldsParameter", id="user.fields"),
        pytest.param(p.MEDIA_FIELDS, "MediaFieldsParameter", id="media.fields"),
        pytest.param(p.POLL_FIELDS, "PollFieldsParameter", id="poll.fields"),
        pytest.param(p.PLACE_FIELDS, "PlaceFieldsParameter", id="place.fields"),
        pytest.param(p.DM_EVENT_FIELDS, "DmEventFieldsParameter", id="dm_event.fields"),
        pytest.param(p.TWEET_EXPANSIONS, "TweetExpansionsParameter", id="tweet-expansions"),
        pytest.param(p.USER_EXPANSIONS, "UserExpansionsParameter", id="user-expansions"),
        pytest.param(p.DM_EVENT_EXPANSIONS, "DmEventExpansionsParameter", id="dm-expansions"),
    ],
)
def test_field_and_expansion_enums_are_the_document_s(constant, parameter):
    schema = document()["components"]["parameters"][parameter]["schema"]
    assert constant == frozenset(schema["items"]["enum"])


# -------------------------------------------------------------------- request handling


_TEXTS = itertools.count()


def _tweet(**extra) -> dict:
    """A post body with a text of its own (the same text twice would be a duplicate)."""
    return {"text": f"hello {next(_TEXTS)}", **extra}


# (method, path, query, JSON body, whether the document allows it); the sandbox must answer
# 2xx exactly when it does
REQUESTS = [
    ("GET", "/2/users/me", {"user.fields": "public_metrics,created_at"}, None, True),
    ("GET", "/2/users/me", {"expansions": "pinned_tweet_id", "tweet.fields": "lang"}, None, True),
    ("GET", "/2/users/me", {"user.fields": "followers"}, None, False),
    ("GET", "/2/users/by", {"usernames": "AcmeHelp,jo", "user.fields": "id"}, None, True),
    ("GET", "/2/users/by", {"usernames": "way_too_long_name"}, None, False),
    ("GET", "/2/users/by", {}, None, False),
    ("GET", "/2/users", {"ids": "1,2"}, None, True),
    ("GET", "/2/users", {"ids": "abc"}, None, False),
    ("GET", "/2/users/by/username/AcmeHelp", {"user.fields": "public_metrics"}, None, True),
    ("GET", "/2/users/by/username/no-such", {}, None, False),
    ("POST", "/2/tweets", None, _tweet(reply_settings="mentionedUsers"), True),
    ("POST", "/2/tweets", None, _tweet(reply_settings="everyone"), False),
    ("POST", "/2/tweets", None, _tweet(nullcast=False, for_super_followers_only=False), True),
    ("POST", "/2/tweets", None, _tweet(geo={"place_id": "5a110d312052166f"}), True),
    ("POST", "/2/tweets", None, _tweet(media={"media_ids": ["1"], "tagged_user_ids": []}), True),
    ("POST", "/2/tweets", None, _tweet(media={"media_ids": []}), False),
    ("POST", "/2/tweets", None, _tweet(poll={"options": ["a", "b"], "duration_minutes": 5}), True),
    ("POST", "/2/tweets", None, _tweet(poll={"options": ["a"], "duration_minutes": 5}), False),
    ("POST", "/2/tweets", None, _tweet(quote_tweet_id="abc"), False),
    ("POST", "/2/tweets", None, _tweet(unknown=1), False),
    ("POST", "/2/tweets", None, {"text": 7}, False),
    ("POST", "/2/tweets", None, {"text": "a", "reply": None}, False),
    ("GET", "/2/tweets/search/recent", {"query": "a", "sort_order": "relevancy"}, None, True),
    ("GET", "/2/tweets/search/recent", {"query": "a", "sort_order": "oldest"}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": "a", "max_results": "101"}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": "a", "until_id": "1.5"}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": "a", "end_time": "soon"}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": "a", "expansions": "geo.place_id"}, None, True),
    ("GET", "/2/tweets/search/recent", {"query": "a", "expansions": "sender_id"}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": ""}, None, False),
    ("GET", "/2/tweets/search/recent", {"query": "a" * 4097}, None, False),
    ("GET", "/2/dm_events", {"event_types": "ParticipantsLeave"}, None, True),
    ("GET", "/2/dm_events", {"event_types": "MessageDelete"}, None, False),
    ("GET", "/2/dm_events", {"max_results": "0"}, None, False),
    ("GET", "/2/dm_events", {"pagination_token": "short"}, None, False),
    ("GET", "/2/dm_events", {"dm_event.fields": "attachments,entities"}, None, True),
]


def test_requests_are_served_or_refused_as_the_document_says():
    async def scenario(api):
        answers = []
        for method, path, query, body, _ in REQUESTS:
            answers.append(
                await api.client.request(
                    method, path, params=query, json=body, headers=api.auth("jo")
                )
            )
        return answers

    world = make_world(limits={key: (1000, 900) for key in ("users_me", "users_by")})
    for (method, path, query, body, allowed), answer in zip(
        REQUESTS, run(world, scenario), strict=True
    ):
        exchange = Exchange.from_httpx(answer)
        assert (not request_errors(exchange)) is allowed, (method, path, query, body)
        assert answer.is_success is allowed, (method, path, query, body, answer.text)
        if not allowed:
            assert answer.status_code == 400 and answer.json()["errors"][0]["message"]


def test_the_checker_catches_answers_outside_the_document():
    url = "https://api.x.com/2/users/me"
    limits = {"x-rate-limit-remaining": "1"}
    problem = json.dumps({"title": "Unauthorized", "type": "about:blank"}).encode()
    json_type = {"content-type": "application/json"}
    user = b'{"data":{"id":"1","name":"a","username":"a","public_metrics":{}}}'
    bad = [
        Exchange("GET", url, {}, None, 400, {**json_type, **limits}, problem),  # not problem+json
        Exchange("GET", url, {}, None, 200, json_type, b'{"data":{}}'),  # no rate-limit headers
        Exchange("GET", url, {}, None, 200, {**json_type, **limits}, user),  # metrics missing
        Exchange(  # a request the document refuses, served
            "GET", url + "?user.fields=bogus", {}, None, 200, {**json_type, **limits}, b"{}"
        ),
    ]
    for exchange in bad:
        with pytest.raises(AssertionError):
            check(exchange)


# --------------------------------------------------------- the deviations of issue 17


def test_every_error_is_application_problem_json():
    world = make_world(limits={"tweets_post": (2, 900)})

    async def scenario(api):
        return [
            await api.client.get("/2/users/me"),  # 401
            await api.search("jo", "(unbalanced"),  # 400
            await api.tweet("jo", "same"),
            await api.tweet("jo", "same"),  # 403
            await api.tweet("jo", "third"),  # 429
            await api.client.get("/2/nowhere", headers=api.auth("jo")),  # 404
        ]

    answers = run(world, scenario)
    assert [a.status_code for a in answers] == [401, 400, 201, 403, 429, 404]
    for answer in answers[:2] + answers[3:]:
        assert answer.headers["content-type"] == PROBLEM
        assert {"type", "title"} <= set(answer.json())


def test_a_server_error_fault_is_a_problem_too():
    world = make_world(faults=Faults(server_error=1.0))
    answer = run(world, lambda api: api.client.get("/2/users/me", headers=api.auth("jo")))
    assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM


def test_media_poll_place_and_post_fields_are_accepted():
    async def scenario(api):
        await api.tweet("jo", "router down")
        return await api.client.get(
            "/2/tweets/search/recent",
            params={
                "query": "router",
                "post.fields": "created_at,author_id",
                "media.fields": "url,alt_text",
                "poll.fields": "options",
                "place.fields": "country",
                "expansions": "attachments.media_keys,geo.place_id",
            },
            headers=api.auth("jo"),
        )

    answer = run(make_world(), scenario)
    assert answer.status_code == 200, answer.text
    (tweet,) = answer.json()["data"]
    assert tweet["created_at"] == "2026-01-05T09:00:00.000Z" and "author_id" in tweet


def test_dm_events_take_participants_join_and_leave():
    async def scenario(api):
        await api.dm("jo", "AcmeHelp", "hello")
        every = await api.dm_events(
            "jo", event_types="MessageCreate,ParticipantsJoin,ParticipantsLeave"
        )
        joins = await api.dm_events("jo", event_types="ParticipantsJoin,ParticipantsLeave")
        default = await api.client.get("/2/dm_events", headers=api.auth("jo"))
        return every.json(), joins.json(), default.json()

    every, joins, default = run(make_world(), scenario)
    assert every["meta"]["result_count"] == 1 and default["meta"]["result_count"] == 1
    assert joins == {"meta": {"result_count": 0}}  # the sandbox has no such events


def test_reply_settings_and_excluded_reply_users_are_accepted():
    async def scenario(api):
        root = (await api.tweet("AcmeHelp", "Maintenance tonight")).json()["data"]["id"]
        reply = await api.client.post(
            "/2/tweets",
            json={
                "text": "will it affect me?",
                "reply_settings": "following",
                "reply": {
                    "in_reply_to_tweet_id": root,
                    "exclude_reply_user_ids": [api.ids["AcmeHelp"]],
                    "auto_populate_reply_metadata": True,
                },
            },
            headers=api.auth("jo"),
        )
        found = await api.search("jo", f"conversation_id:{root}")
        return reply, found.json()

    reply, found = run(make_world(), scenario)
    assert reply.status_code == 201, reply.text
    assert found["meta"]["result_count"] == 2
    assert found["data"][0]["referenced_tweets"][0]["type"] == "replied_to"


def test_dm_attachments_are_accepted():
    world = make_world()

    async def scenario(api):
        url = f"/2/dm_conversations/with/{api.ids['AcmeHelp']}/messages"
        media = [{"media_id": "1146654567674912769"}]
        with_text = await api.client.post(
            url, json={"text": f"see this (ref:{pid(1)})", "attachments": media},
            headers=api.auth("jo"),
        )  # fmt: skip
        alone = await api.client.post(url, json={"attachments": media}, headers=api.auth("jo"))
        empty = await api.client.post(url, json={"attachments": []}, headers=api.auth("jo"))
        bad = await api.client.post(
            url, json={"attachments": [{"media_id": "x"}]}, headers=api.auth("jo")
        )
        return with_text, alone, empty, bad

    with_text, alone, empty, bad = run(world, scenario)
    assert (with_text.status_code, alone.status_code) == (201, 201)
    assert empty.status_code == 400 and bad.status_code == 400
    assert [e["probe_id"] for e in world.truth.events() if e["event"] == "probe"] == [pid(1)]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        pytest.param("/2/users", {"ids": "abc"}, id="ids"),
        pytest.param("/2/users", {"ids": "1,abc"}, id="ids-one-bad"),
        pytest.param("/2/users", {"ids": "12345678901234567890"}, id="ids-too-long"),
        pytest.param("/2/users/by", {"usernames": "a-b"}, id="usernames"),
        pytest.param("/2/tweets/search/recent", {"query": "a", "since_id": "abc"}, id="since"),
        pytest.param("/2/tweets/search/recent", {"query": "a", "until_id": "²"}, id="until"),
        pytest.param("/2/dm_conversations/with/abc/messages", None, id="participant"),
        pytest.param("/2/users/by/username/a.b", {}, id="username"),
    ],
)
def test_invalid_ids_are_refused(path, query):
    async def scenario(api):
        if query is None:
            return await api.client.post(path, json={"text": "hi"}, headers=api.auth("jo"))
        return await api.client.get(path, params=query, headers=api.auth("jo"))

    answer = run(make_world(), scenario)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"


def test_a_reply_to_an_invalid_tweet_id_is_refused():
    answer = run(make_world(), lambda api: api.tweet("jo", "hi", reply_to="abc"))
    assert answer.status_code == 400
    assert "in_reply_to_tweet_id" in answer.json()["errors"][0]["message"]


def test_other_requests_to_2_are_404_problems_with_rate_limit_headers():
    async def scenario(api):
        auth = api.auth("jo")
        return [
            await api.client.get("/2/nowhere", headers=auth),
            await api.client.get("/2/tweets", params={"ids": "1"}, headers=auth),
            await api.client.delete("/2/tweets/1", headers=auth),
            await api.client.post("/2/users/me", headers=auth),
            await api.client.get("/2/users/1/mentions", headers=auth),
            await api.client.get("/2/nowhere"),
        ]

    *others, anonymous = run(make_world(), scenario)
    for answer in others:
        assert answer.status_code == 404, answer.request.url
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json() == {
            "title": "Not Found",
            "type": "about:blank",
            "status": 404,
            "detail": "Not Found",
        }
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
            answer.headers
        )
    remaining = [int(a.headers["x-rate-limit-remaining"]) for a in others]
    assert remaining == [299, 298, 297, 296, 295]  # the bucket of other requests
    assert anonymous.status_code == 401


def test_dm_events_expand_sender_id():
    world = make_world(brands={"default": always()})

    async def scenario(api):
        await api.dm("jo", "AcmeHelp", f"my bill (ref:{pid(1)})")
        world.clock.advance(600)
        expanded = await api.dm_events(
            "jo", expansions="sender_id", **{"user.fields": "public_metrics"}
        )
        plain = await api.dm_events("jo")
        return api.ids, expanded.json(), plain.json()

    ids, expanded, plain = run(world, scenario)
    senders = [e["sender_id"] for e in expanded["data"]]
    assert senders == [ids["AcmeHelp"], ids["jo"]]
    users = expanded["includes"]["users"]
    assert [u["username"] for u in users] == ["AcmeHelp", "jo"]
    assert all("post_count" in u["public_metrics"] for u in users)
    assert "includes" not in plain


def test_public_metrics_carry_post_count():
    async def scenario(api):
        await api.tweet("jo", "one")
        await api.tweet("jo", "two")
        me = await api.client.get(
            "/2/users/me", params={"user.fields": "public_metrics"}, headers=api.auth("jo")
        )
        return me.json()["data"]["public_metrics"]

    metrics = run(make_world(), scenario)
    assert metrics["post_count"] == metrics["tweet_count"] == 2


def test_a_user_by_username():
    async def scenario(api):
        found = await api.client.get(
            "/2/users/by/username/acmehelp",
            params={"user.fields": "public_metrics"},
            headers=api.auth("jo"),
        )
        missing = await api.client.get("/2/users/by/username/nobody", headers=api.auth("jo"))
        return api.ids, found, missing

    ids, found, missing = run(make_world(), scenario)
    assert found.status_code == 200
    data = found.json()["data"]
    assert (data["id"], data["username"]) == (ids["AcmeHelp"], "AcmeHelp")
    assert "public_metrics" in data
    assert missing.status_code == 200
    assert missing.json() == {
        "errors": [
            {
                "value": "nobody",
                "detail": "Could not find user with username: [nobody].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "username",
                "resource_id": "nobody",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


def test_a_negated_term_such_as_minus_is_retweet_is_searched():
    async def scenario(api):
        root = (await api.tweet("jo", "@AcmeHelp router down")).json()["data"]["id"]
        await api.tweet("AcmeHelp", "@jo router fixed", reply_to=root)
        texts = {}
        for query in ("router -is:retweet", "router -is:reply", "router is:reply", "router -down"):
            body = (await api.search("jo", query)).json()
            texts[query] = [t["text"] for t in body.get("data", [])]
        alone = await api.search("jo", "-is:retweet")
        return texts, alone

    texts, alone = run(make_world(brands={"default": always(reply_rate=0.0)}), scenario)
    assert texts["router -is:retweet"] == ["@jo router fixed", "@AcmeHelp router down"]
    assert texts["router -is:reply"] == ["@AcmeHelp router down"]
    assert texts["router is:reply"] == ["@jo router fixed"]
    assert texts["router -down"] == ["@jo router fixed"]
    assert alone.status_code == 400  # X refuses a query of negations only


def test_page_tokens_are_opaque_and_long_enough_for_dm_events():
    async def scenario(api):
        for n in range(3):
            await api.dm("jo", "AcmeHelp", f"message {n}")
        first = (await api.dm_events("jo", max_results="2")).json()
        token = first["meta"]["next_token"]
        rest = (await api.dm_events("jo", pagination_token=token)).json()
        forged = await api.dm_events("jo", pagination_token="z" * 16)
        return token, first, rest, forged

    token, first, rest, forged = run(make_world(), scenario)
    assert len(token) >= 16
    assert [e["text"] for e in first["data"] + rest["data"]] == [f"message {n}" for n in (2, 1, 0)]
    assert forged.status_code == 400


def _colons(text: str) -> str:
    return re.sub(r"\{(\w+)\}", r":\1", text)


def test_the_docs_list_the_subset_s_operations():
    text = _colons((DOCS.parent / "x_api_subset.md").read_text("utf-8"))
    for operation in document()["x-socialbench-subset"]["operations"]:
        assert "`" + _colons(operation) in text, operation

"""The official X API v2 OpenAPI subset the sandbox follows (docs/x_api_openapi/subset.json)
as a checker of the sandbox's exchanges, through openapi-core: `request_errors` says what the
document finds wrong with a request, `check` that an answer (status, content type, body) is
one the document allows, and that the sandbox refused what the document refuses.

httpx exchanges (in process) and requests exchanges (tweepy and xdk over loopback) are
wrapped in openapi-core's request and response protocols; requests are matched against the
document's server, https://api.x.com, whatever host they went to.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

SUBSET = Path(__file__).resolve().parents[1] / "docs" / "x_api_openapi" / "subset.json"
SERVER = "https://api.x.com"
REFUSALS = (400, 401, 404, 429, 503)  # what a request the document refuses may get


@functools.cache
def document() -> dict:
    return json.loads(SUBSET.read_text(encoding="utf-8"))


@functools.cache
def openapi() -> OpenAPI:
    """The subset without its security requirements (openapi-core does not handle OAuth 2.0
    schemes, and the sandbox has tokens of its own), problem+json read as JSON."""
    spec = json.loads(SUBSET.read_text(encoding="utf-8"))
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    del spec["components"]["securitySchemes"]
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(spec, config=config)


class Exchange:
    """One request and its answer, as openapi-core's protocols want them."""

    def __init__(self, method, url, request_headers, body, status, response_headers, data):
        parts = urlsplit(str(url))
        self.host_url, self.path, self.method = SERVER, parts.path, method.lower()
        self.body = body or None
        self.content_type = request_headers.get("content-type", "")
        query = parse_qsl(parts.query, keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(dict(request_headers)),
            cookie=ImmutableMultiDict(),
        )
        self.status_code, self.data = status, data
        self.headers = Headers(dict(response_headers))
        self.response_content_type = response_headers.get("content-type", "")

    @classmethod
    def from_httpx(cls, response) -> Exchange:
        request = response.request
        return cls(
            request.method, request.url, request.headers, request.content,
            response.status_code, response.headers, response.content,
        )  # fmt: skip

    @classmethod
    def from_requests(cls, response) -> Exchange:
        request = response.request
        body = request.body.encode() if isinstance(request.body, str) else request.body
        return cls(
            request.method, request.url, request.headers, body,
            response.status_code, response.headers, response.content,
        )  # fmt: skip

    def response(self) -> _Response:
        return _Response(self)


class _Response:
    def __init__(self, exchange: Exchange) -> None:
        self.status_code, self.data = exchange.status_code, exchange.data
        self.headers, self.content_type = exchange.headers, exchange.response_content_type


def request_errors(exchange: Exchange) -> list[str]:
    """What the document finds wrong with the request ([] when valid)."""
    return [_describe(e) for e in openapi().unmarshal_request(exchange).errors]


def response_errors(exchange: Exchange) -> list[str]:
    result = openapi().unmarshal_response(exchange, exchange.response())
    return [_describe(e) for e in result.errors]


def check(exchange: Exchange) -> None:
    """Assert that the answer is one the document allows for the request: a request the
    document refuses was refused; an answer to one of its operations validates against the
    operation's responses (status, content type, body); any other /2 request got a 404
    problem. Every /2 answer but a 401 carries the rate-limit headers; every error answer
    is a problem (application/problem+json)."""
    if not exchange.path.startswith("/2/"):
        return
    what = f"{exchange.method.upper()} {exchange.path} -> {exchange.status_code}"
    if exchange.status_code != 401:
        assert "x-rate-limit-remaining" in exchange.headers, what
    if exchange.status_code >= 400:
        assert exchange.response_content_type == "application/problem+json", what
    errors = openapi().unmarshal_request(exchange).errors
    if any(isinstance(e, PathNotFound | OperationNotFound) for e in errors):
        assert exchange.status_code in (401, 404, 429, 503), what
        _assert_problem(exchange, what)
        return
    if errors:
        assert exchange.status_code in REFUSALS, f"{what}: {[_describe(e) for e in errors]}"
    problems = response_errors(exchange)
    assert not problems, f"{what}: {problems}\n{exchange.data[:2000]!r}"


async def httpx_hook(response) -> None:
    """An httpx.AsyncClient response hook that `check`s every exchange."""
    await response.aread()
    check(Exchange.from_httpx(response))


def httpx_sync_hook(response) -> None:
    """An httpx.Client response hook that `check`s every exchange."""
    response.read()
    check(Exchange.from_httpx(response))


def requests_hook(response, *args, **kwargs) -> None:
    """A requests.Session response hook that `check`s every exchange."""
    check(Exchange.from_requests(response))


def _assert_problem(exchange: Exchange, what: str) -> None:
    body = json.loads(exchange.data)
    problem = document()["components"]["schemas"]["Problem"]
    for name in problem["required"]:
        assert isinstance(body.get(name), str), f"{what}: {body}"


def _describe(error: Exception) -> str:
    causes = [str(error)]
    for attribute in ("schema_errors", "__cause__"):
        inner = getattr(error, attribute, None)
        if isinstance(inner, list | tuple):
            causes += [getattr(e, "message", str(e)) for e in inner]
        elif inner is not None:
            causes.append(_describe(inner))
    return ": ".join(causes)

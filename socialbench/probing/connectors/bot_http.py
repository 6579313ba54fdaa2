"""A chatbot behind a JSON endpoint the suite describes: the request (method, URL, headers,
a JSON body whose strings are Jinja templates) and where the reply texts are in the answer
(a JSONPath such as ``$.messages[*].text``, or a Jinja expression over ``response``)."""

from __future__ import annotations

from socialbench.probing.connectors.bots import BotError, Reply, Request, environment, render

DEFAULT_BODY = {"session": "{{ session }}", "text": "{{ text }}"}
DEFAULT_REPLIES = "$.replies[*]"


def request(endpoint, context: dict) -> Request:
    body = DEFAULT_BODY if endpoint.body is None else endpoint.body
    return Request(endpoint.method, render(endpoint.url, context), render(body, context), {})


def replies(endpoint, answer) -> list[Reply]:
    """The reply texts the endpoint's path finds in ``answer`` (none found: no reply)."""
    found = _found(endpoint.replies or DEFAULT_REPLIES, answer)
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        raise BotError(f"the replies path gives {type(found).__name__}, not texts")
    texts = []
    for value in found:
        if isinstance(value, dict | list):
            raise BotError(f"the replies path gives {type(value).__name__}s, not texts")
        if value is not None and str(value).strip():
            texts.append(Reply(str(value), raw=value))
    return texts


def _found(path: str, answer):
    if path.startswith("$"):
        from jsonpath_ng.ext import parse

        return [match.value for match in parse(path).find(answer)]
    return _expression(path, answer)


def _expression(path: str, answer):
    """A Jinja expression (``{{ ... }}``) evaluated with the answer as ``response``."""
    import jinja2

    inner = path.strip()[2:-2]
    try:
        return environment().compile_expression(inner)(response=answer)
    except jinja2.TemplateError as exc:
        raise BotError(f"the replies expression fails on this answer: {exc}") from None

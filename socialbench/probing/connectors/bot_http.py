"""A chatbot behind a JSON endpoint the suite describes: the request (method, URL, headers,
a JSON body whose strings are Jinja templates) and where the reply texts are in the answer
(a JSONPath such as ``$.messages[*].text``, or a Jinja expression over ``response``).

The endpoint's ``replies`` is bounded as templates are (``scenarios.templates``: loop and
print budgets, no huge strings or numbers), and so is what it finds: an answer nested
deeper than ``MAX_DEPTH`` levels, more than ``MAX_REPLIES`` replies or more than
``MAX_REPLY_TEXT`` characters of them fail the probe with a BotError naming ``replies``.
"""

from __future__ import annotations

from socialbench.probing.connectors.bots import BotError, Reply, Request, environment, render

DEFAULT_BODY = {"session": "{{ session }}", "text": "{{ text }}"}
DEFAULT_REPLIES = "$.replies[*]"
MAX_DEPTH = 200  # levels of nesting of an answer (as every JSON input)
MAX_REPLIES = 1_000  # replies one answer gives
MAX_REPLY_TEXT = 100_000  # characters of all the replies of one answer


def request(endpoint, context: dict) -> Request:
    body = DEFAULT_BODY if endpoint.body is None else endpoint.body
    return Request(endpoint.method, render(endpoint.url, context), render(body, context), {})


def replies(endpoint, answer) -> list[Reply]:
    """The reply texts the endpoint's path finds in ``answer`` (none found: no reply)."""
    _check_depth(answer)
    found = _found(endpoint.replies or DEFAULT_REPLIES, answer)
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        raise BotError(f"replies: the path gives {type(found).__name__}, not texts")
    if len(found) > MAX_REPLIES:
        raise BotError(f"replies: the path gives {len(found):,} replies; at most {MAX_REPLIES:,}")
    texts, size = [], 0
    for value in found:
        if isinstance(value, dict | list):
            raise BotError(f"replies: the path gives {type(value).__name__}s, not texts")
        text = _text(value)
        size += len(text)
        if size > MAX_REPLY_TEXT:
            raise BotError(f"replies: the replies pass {MAX_REPLY_TEXT:,} characters")
        if value is not None and text.strip():
            texts.append(Reply(text, raw=value))
    return texts


def _text(value) -> str:
    try:
        return str(value)
    except ValueError as exc:  # an integer too long to print
        raise BotError(f"replies: the path gives a value that cannot be text: {exc}") from None


def _check_depth(answer) -> None:
    """BotError when ``answer`` nests deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(answer, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BotError(f"replies: the answer nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _found(path: str, answer):
    if path.startswith("$"):
        from jsonpath_ng.ext import parse

        try:
            return [match.value for match in parse(path).find(answer)]
        except RecursionError:
            raise BotError("replies: the path recurses too deeply in this answer") from None
    return _expression(path, answer)


def _expression(path: str, answer):
    """A Jinja expression (``{{ ... }}``) evaluated with the answer as ``response``, within
    the templates' budgets."""
    import jinja2

    from socialbench.scenarios import templates

    inner = path.strip()[2:-2]
    try:
        with templates.budget():
            return environment().compile_expression(inner)(response=answer)
    except jinja2.TemplateError as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise BotError(f"replies: the expression fails on this answer: {message}") from None

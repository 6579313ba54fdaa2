"""Rasa's REST channel: ``POST /webhooks/rest/webhook`` with ``{"sender", "message"}``,
answered by the list of the bot's messages (``text``, or an ``image`` URL, or ``buttons``).
The endpoint's ``url`` is the webhook's whole URL; its ``session`` is the sender id."""

from __future__ import annotations

from socialbench.probing.connectors.bots import BotError, Reply, Request, render


def request(endpoint, context: dict) -> Request:
    body = {"sender": context["session"], "message": context["text"]}
    return Request("POST", render(endpoint.url, context), body, {})


def replies(endpoint, answer) -> list[Reply]:
    if not isinstance(answer, list):
        raise BotError(f"a Rasa REST answer is a list of messages, not {type(answer).__name__}")
    return [Reply(text, raw=item) for item in answer if (text := _text(item))]


def _text(item) -> str:
    """A message's text; an image or buttons written as text, so they count as an answer."""
    if not isinstance(item, dict):
        raise BotError(f"a Rasa REST message is an object, not {type(item).__name__}")
    parts = [str(item["text"])] if item.get("text") else []
    if item.get("image"):
        parts.append(str(item["image"]))
    for button in item.get("buttons") or []:
        if isinstance(button, dict) and button.get("title"):
            parts.append(f"[{button['title']}]")
    parts += [f"[{kind}]" for kind in ("attachment", "custom") if item.get(kind)]
    return " ".join(parts)

"""Microsoft Bot Framework Direct Line 3.0: start a conversation (``POST
/v3/directline/conversations``), post the customer's message activity, and read the bot's
activities by polling ``GET .../activities?watermark=``.

The endpoint's ``url`` is the service's base URI (``https://directline.botframework.com``,
or a regional one); its ``auth`` names the variable holding the Direct Line secret, which
may read any conversation of the bot, so a resumed run polls its probes' conversations
again. The customer's id in the conversation is the rendered ``session``.

Who wrote a reply comes from the protocol: a message whose ``from.role`` is ``bot`` is
automated, unless the bot has handed the conversation to a person (an ``event`` activity
``handoff.initiate``, or ``handoff.status`` with the state ``accepted``; ``completed`` or
``failed`` give it back to the bot); a message of any other author but the customer is a
person's. Reply times are the activities' ``timestamp``. An ``endOfConversation`` activity
ends the polling of its conversation.
"""

from __future__ import annotations

import datetime as dt

from socialbench.probing.connectors.bots import BotError, Call, Reply, Request

ASYNC = True  # replies arrive later, read by polling
_PATH = "/v3/directline/conversations"
_HANDED = "human"  # Call.state: whether a person has the conversation


def _base(call: Call) -> str:
    return call.endpoint.url.rstrip("/")


async def open(call: Call) -> None:  # noqa: A001 - the protocol's verb
    answer = await call.exchange(Request("POST", _base(call) + _PATH, None, {}))
    if not isinstance(answer, dict) or not isinstance(answer.get("conversationId"), str):
        raise BotError("starting a conversation gave no conversationId")
    call.conversation = answer["conversationId"]


async def say(call: Call, text: str) -> list[Reply]:
    activity = {"type": "message", "from": {"id": _user(call), "role": "user"}, "text": text}
    url = f"{_base(call)}{_PATH}/{call.conversation}/activities"
    await call.exchange(Request("POST", url, activity, {}))
    return []  # the bot answers later: see fetch


async def fetch(call: Call) -> list[Reply]:
    """The bot's activities since the last fetch: one read, as Direct Line's own clients
    poll (a service that pages gives the rest at the next poll, from the new watermark)."""
    url = f"{_base(call)}{_PATH}/{call.conversation}/activities"
    watermark = call.state.get("watermark")
    params = {"watermark": watermark} if watermark is not None else None
    answer = await call.exchange(Request("GET", url, None, {}, params))
    if not isinstance(answer, dict) or not isinstance(answer.get("activities"), list):
        raise BotError("an activity set has no list of activities")
    replies = [r for a in answer["activities"] if (r := _reply(call, a)) is not None]
    if answer.get("watermark") is not None:
        call.state["watermark"] = answer["watermark"]
    return replies


def _user(call: Call) -> str:
    return str(call.context["session"])


def _reply(call: Call, activity) -> Reply | None:
    """A message activity of someone else than the customer, as a reply; a hand-off event
    noted in the call's state; anything else (typing, the customer's own echo) skipped."""
    if not isinstance(activity, dict):
        raise BotError(f"an activity is {type(activity).__name__}, not an object")
    sender = activity.get("from") if isinstance(activity.get("from"), dict) else {}
    kind = activity.get("type")
    if kind == "event":
        _handoff(call, activity)
        return None
    if kind == "endOfConversation":
        call.state["ended"] = True  # no need to poll it again
        return None
    if kind != "message" or sender.get("id") == _user(call):
        return None
    text = _text(activity)
    if not text:
        return None
    automated = None
    if sender.get("role") == "bot":
        automated = not call.state.get(_HANDED, False)
    elif sender.get("role") is not None:
        automated = False
    return Reply(text, automated, activity, activity.get("id"), _time(activity.get("timestamp")))


def _handoff(call: Call, activity: dict) -> None:
    name = activity.get("name")
    value = activity.get("value") if isinstance(activity.get("value"), dict) else {}
    if name == "handoff.initiate":
        call.state[_HANDED] = True
    elif name == "handoff.status":
        state = value.get("state")
        if state == "accepted":
            call.state[_HANDED] = True
        elif state in ("completed", "failed"):
            call.state[_HANDED] = False


def _text(activity: dict) -> str:
    """A message's text; attachments (a card, an image) named so they count as an answer."""
    parts = [str(activity["text"])] if activity.get("text") else []
    for attachment in activity.get("attachments") or []:
        if isinstance(attachment, dict):
            name = attachment.get("name") or attachment.get("contentType")
            if name:
                parts.append(f"[{name}]")
    return " ".join(parts).strip()


def _time(stamp) -> float | None:
    """Epoch seconds of an activity's ISO 8601 timestamp (None when it has none)."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise BotError(f"an activity's timestamp {stamp!r} is not ISO 8601") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()

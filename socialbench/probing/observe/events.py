"""Meta webhook bodies cut into single events, each keyed by what Meta retries it with.

A webhook body (``{"object": ..., "entry": [...]}``) may carry several events: Messenger and
Instagram messaging items (``entry[].messaging[]``, and ``standby[]`` under the handover
protocol), comment and feed changes
(``entry[].changes[]``), WhatsApp messages, echoes and statuses (inside
``entry[].changes[].value``). Each is kept as a body of its own, in the same shape with only
that event in it, so the observe store holds bodies every webhook reader reads, and a retry
(Meta sends a body again until it is acknowledged) adds nothing: its events' keys are
already stored.

Keys: the message id where the platform gives one (``mid``, a WhatsApp ``wamid``, a comment
id), with the kind of event (a reaction or a status of a message is not the message), else
a digest of the event's JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

OBJECTS = ("page", "instagram", "whatsapp_business_account")
# WhatsApp value lists holding one event per item, and the key's kind for each
_WHATSAPP_LISTS = {"messages": "message", "message_echoes": "echo", "statuses": "status"}


class BadBody(ValueError):
    """A webhook body socialbench does not take (the receiver answers 400)."""


@dataclass(frozen=True)
class Event:
    """One event: its key, the platform object it came from, and a body holding it alone."""

    key: str
    object: str
    body: dict

    def json(self) -> str:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))


def split(payload: object) -> list[Event]:
    """The events of one webhook body; BadBody for a body that is not a Meta webhook of a
    known object (an entry without events is no event)."""
    if not isinstance(payload, dict):
        raise BadBody("the body is not a JSON object")
    kind = payload.get("object")
    if kind not in OBJECTS:
        raise BadBody(f"unknown object {kind!r}; observed: {', '.join(OBJECTS)}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise BadBody("the body has no entry list")
    events: list[Event] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadBody("an entry is not an object")
        head = {k: entry[k] for k in ("id", "time") if k in entry}
        for name in ("messaging", "standby"):  # standby: another app has the thread
            for item in _items(entry, name):
                events.append(_event(kind, _messaging_key(kind, item), head | {name: [item]}))
        for change in _items(entry, "changes"):
            events.extend(_changes(kind, head, change))
    return events


def _items(entry: dict, name: str) -> list[dict]:
    items = entry.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadBody(f"an entry's {name} is not a list of objects")
    return items


def _event(kind: str, key: str, entry: dict) -> Event:
    return Event(key, kind, {"object": kind, "entry": [entry]})


def _messaging_key(kind: str, item: dict) -> str:
    """``page:message:<mid>``; a reaction, read or delivery is its own event."""
    for name in ("message", "reaction", "postback", "read", "delivery", "referral"):
        value = item.get(name)
        if isinstance(value, dict):
            ident = value.get("mid") or value.get("watermark")
            if ident is not None:
                extra = f":{value.get('action', '')}" if name == "reaction" else ""
                return f"{kind}:{name}:{ident}{extra}"
    return f"{kind}:event:{_digest(item)}"


def _changes(kind: str, head: dict, change: dict) -> list[Event]:
    """A comment or feed change is one event; a WhatsApp change one per message, echo and
    status, each with the value's metadata and contacts."""
    value = change.get("value")
    field = change.get("field")
    if kind != "whatsapp_business_account" or not isinstance(value, dict):
        ident = value.get("id") or value.get("comment_id") if isinstance(value, dict) else None
        key = f"{kind}:{field}:{ident}" if ident else f"{kind}:{field}:{_digest(change)}"
        return [_event(kind, key, head | {"changes": [change]})]
    common = {k: v for k, v in value.items() if k not in _WHATSAPP_LISTS}
    events = []
    for name, label in _WHATSAPP_LISTS.items():
        items = value.get(name) or []
        if not isinstance(items, list):
            raise BadBody(f"a WhatsApp value's {name} is not a list")
        for item in items:
            ident = item.get("id") if isinstance(item, dict) else None
            if label == "status" and ident is not None:
                ident = f"{ident}:{item.get('status')}"
            key = f"whatsapp:{label}:{ident}" if ident else f"whatsapp:{label}:{_digest(item)}"
            alone = {"field": field, "value": common | {name: [item]}}
            events.append(_event(kind, key, head | {"changes": [alone]}))
    if not events:  # another kind of change (a template update, ...): kept whole
        events.append(
            _event(kind, f"whatsapp:{field}:{_digest(change)}", head | {"changes": [change]})
        )
    return events


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]

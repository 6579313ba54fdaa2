"""The ground truth: JSON Lines of what the sandbox did, flushed line by line.

Events: ``probe`` (a probe received; a probe id received again is written again, and
answered only the first time), ``reply`` (a brand message, written when decided, so
possibly for a platform instant still to come), ``withdrawn`` (a brand DM that was still
to come when a newer probe arrived in the same private conversation: the agent answers the
newest message, as a real one would), ``duplicate`` (a probe's post rejected with
403 as duplicate content), ``fault`` (an injected fault) and ``violation`` (a request before the
reset of a 429 answered more than 0.2 s of real time earlier). ``at`` is ISO 8601 UTC with
milliseconds.

Chats with the brands' bots (messenger, whatsapp, webchat) write ``probe`` and ``reply``
events too, with their ``channel``, the Direct Line ``conversation`` and activity ``id``;
their replies say whether they are ``automated`` (the bot's) or not (a person's, after a
``handoff`` event). Events of channel x carry neither field.
"""

from __future__ import annotations

import json
from pathlib import Path

from socialbench.probing.sandbox.clock import iso_ms
from socialbench.probing.sandbox.timeline import DmEvent, Tweet


class Truth:
    """The event log, in memory and, when a path is given, in a file written as it goes."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lines: list[str] = []
        self._file = self.path.open("w", encoding="utf-8") if self.path is not None else None

    def write(self, event: dict) -> None:
        line = json.dumps(event, ensure_ascii=False)
        self._lines.append(line)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()

    def text(self) -> str:
        """Every line so far, newline-terminated."""
        return "".join(line + "\n" for line in self._lines)

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self._lines]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def probe(probe_id: str, message: Tweet | DmEvent, *, brand: str, persona: str) -> dict:
    return {
        "event": "probe",
        "probe_id": probe_id,
        "at": iso_ms(message.created_ms),
        "brand": brand,
        "persona": persona,
        "private": isinstance(message, DmEvent),
        "id": str(message.id),
    }


def reply(probe_id: str, message: Tweet | DmEvent, *, types: tuple[str, ...], author: str) -> dict:
    return {
        "event": "reply",
        "probe_id": probe_id,
        "at": iso_ms(message.created_ms),
        "private": isinstance(message, DmEvent),
        "types": list(types),
        "id": str(message.id),
        "author": author,
    }


def withdrawn(probe_id: str, message: DmEvent, *, at_ms: int) -> dict:
    return {
        "event": "withdrawn",
        "probe_id": probe_id,
        "id": str(message.id),
        "at": iso_ms(at_ms),
    }


def duplicate(probe_id: str, *, at_ms: int, persona: str) -> dict:
    return {
        "event": "duplicate",
        "probe_id": probe_id,
        "at": iso_ms(at_ms),
        "persona": persona,
        "private": False,
    }


def fault(kind: str, *, endpoint: str, at_ms: int) -> dict:
    return {"event": "fault", "kind": kind, "endpoint": endpoint, "at": iso_ms(at_ms)}


def violation(endpoint: str, *, user: str, at_ms: int, reset_s: int) -> dict:
    return {
        "event": "violation",
        "endpoint": endpoint,
        "user": user,
        "at": iso_ms(at_ms),
        "reset": iso_ms(reset_s * 1000),
    }


def chat_probe(
    probe_id: str, *, at_ms: int, brand: str, channel: str, id: str, conversation: str
) -> dict:
    return {
        "event": "probe",
        "probe_id": probe_id,
        "at": iso_ms(at_ms),
        "brand": brand,
        "channel": channel,
        "private": True,
        "id": id,
        "conversation": conversation,
    }


def chat_reply(
    probe_id: str,
    *,
    at_ms: int,
    channel: str,
    types: tuple[str, ...],
    id: str,
    author: str,
    automated: bool,
) -> dict:
    return {
        "event": "reply",
        "probe_id": probe_id,
        "at": iso_ms(at_ms),
        "channel": channel,
        "private": True,
        "types": list(types),
        "id": id,
        "author": author,
        "automated": automated,
    }


def handoff(probe_id: str, *, at_ms: int, channel: str, id: str) -> dict:
    return {
        "event": "handoff",
        "probe_id": probe_id,
        "at": iso_ms(at_ms),
        "channel": channel,
        "id": id,
    }

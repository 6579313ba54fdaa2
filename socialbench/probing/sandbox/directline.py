"""The brands' chatbots (messenger, whatsapp, webchat), served as Microsoft Bot Framework
Direct Line 3.0, the subset socialbench's bots target speaks:

    POST /v3/directline/conversations                     201 {conversationId, token, expires_in}
    POST /v3/directline/conversations/{id}/activities     200 {id}
    GET  /v3/directline/conversations/{id}/activities?watermark=N
                                                          200 {activities, watermark}

Every brand with a handle on a chat channel has a bot there, with its own secret (handed out
by ``POST /_sandbox/accounts``, sent as ``Authorization: Bearer SECRET``); a secret opens any
conversation of its bot, the token a start answers with only that conversation. Errors are
Direct Line's ErrorResponse, ``{"error": {"code": ..., "message": ...}}``: 400 for a body
that is not an activity or a bad watermark, 401 without a bearer credential, 403 for one that
is unknown or does not open the conversation, 404 for an unknown conversation. Rate limits
and injected faults are the X routes' only; there is no WebSocket stream.

The customer's first message in a conversation that names a probe is a probe: by the probe
marker in its text, or by its ``from.id`` when that is a probe id (the bots target leaves the
marker out of what it sends a bot, and is the customer by its session, by default the probe
id). On receipt the bot's plan is made (`chatbot.plan`): its activities are stored with their
future instants and written to the ground truth at once, and a read shows each only from its
instant on. Messages naming no probe, and later messages, are stored and not answered; a
probe received again (in another conversation) is logged again and answered once.

Activities carry Direct Line's fields: ``type``, ``id`` (``{conversationId}|{seq:07d}``,
numbered as created, the bot's at the probe's receipt), ``timestamp`` (the platform clock,
ISO 8601 UTC with milliseconds), ``channelId`` (the sandbox channel), ``from`` (``id``,
``name``, ``role``), ``conversation`` (``id``), ``text`` and ``replyToId``. The bot writes
from its handle with the role ``bot``; after its ``handoff.initiate`` event an agent's
messages are relayed by the bot (role ``bot``, the agent's name); ``endOfConversation``
follows the last message. The watermark counts the activities shown, in time order, so a
reader misses none, whenever each became visible.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from socialbench.probing.probes import find_marker
from socialbench.probing.sandbox import chatbot, intake, truth
from socialbench.probing.sandbox.accounts import NEUTRAL_FOLLOWERS, BotIn
from socialbench.probing.sandbox.business import BusinessClock
from socialbench.probing.sandbox.clock import PlatformClock, iso_ms
from socialbench.probing.sandbox.decide import Situation
from socialbench.probing.sandbox.phrases import slug
from socialbench.probing.sandbox.profile import Behaviour, Profile
from socialbench.probing.sandbox.rng import digest
from socialbench.probing.sandbox.truth import Truth

PATH = "/v3/directline/conversations"
TOKEN_LIFETIME_S = 1800
_PROBE_ID = re.compile(r"p[0-9a-f]{11}")
_HANDOFF_VALUE = {"skill": "customer service"}

Answer = Callable[[str], tuple[str, tuple[str, ...] | None]]  # probe id -> text, its types


class DirectLineError(Exception):
    """An error answer: HTTP status and Direct Line's ErrorResponse."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message}}


@dataclass(slots=True)
class ChatBot:
    """One brand's bot on one chat channel."""

    brand_id: str
    channel: str
    handle: str
    name: str
    secret: str
    behaviour: Behaviour
    business: BusinessClock | None
    started: int = 0  # conversations started with it so far


@dataclass(slots=True)
class Conversation:
    """One conversation's activities, kept in time order (creation order within an
    instant); ``created`` numbers them."""

    id: str
    bot: ChatBot
    token: str
    keys: list[tuple[int, int]] = field(default_factory=list)  # (instant ms, seq)
    activities: list[dict] = field(default_factory=list)
    created: int = 0
    probe_id: str | None = None

    def add(self, at_ms: int, activity: dict) -> dict:
        """Store ``activity`` for the instant ``at_ms`` with the next id and Direct Line's
        common fields; returns it."""
        seq = self.created
        self.created += 1
        stored = {
            **activity,
            "id": f"{self.id}|{seq:07d}",
            "timestamp": iso_ms(at_ms),
            "channelId": self.bot.channel,
            "conversation": {"id": self.id},
        }
        index = bisect.bisect_right(self.keys, (at_ms, seq))
        self.keys.insert(index, (at_ms, seq))
        self.activities.insert(index, stored)
        return stored

    def shown(self, now_ms: int) -> int:
        """How many activities are visible at ``now_ms`` (a prefix: nothing is ever added
        before the present)."""
        return bisect.bisect_right(self.keys, (now_ms, math.inf))


class Chats:
    """The bots, their conversations and the probes they received."""

    def __init__(
        self,
        *,
        seed: int,
        profile: Profile,
        clock: PlatformClock,
        truth_log: Truth,
        answer: Answer,
        lock: threading.RLock,
        keys: dict[str, str] | None = None,
        stamp=None,
    ) -> None:
        self.seed = seed
        self.keys = {} if keys is None else keys  # probe id -> stable key (World.keys)
        # (probe id, now ms) -> when the probe is dated (World.stamp)
        self.stamp = stamp if stamp is not None else (lambda probe_id, now_ms: now_ms)
        self.profile = profile
        self.clock = clock
        self.truth = truth_log
        self.answer = answer
        self.lock = lock
        self._by_secret: dict[str, ChatBot] = {}
        self._by_token: dict[str, Conversation] = {}
        self.conversations: dict[str, Conversation] = {}
        self._answered: set[str] = set()

    def register(self, specs: list[BotIn]) -> dict[str, dict[str, str]]:
        """Create or update each brand's bots; brand id -> channel -> secret (the same for
        the same seed, brand and channel)."""
        out: dict[str, dict[str, str]] = {}
        with self.lock:
            for spec in specs:
                business = BusinessClock(spec.hours) if spec.hours is not None else None
                behaviour = self.profile.behaviour(spec.id, seed=self.seed)
                for channel, handle in spec.handles.items():
                    secret = "sbx-dl-" + digest(self.seed, "directline", spec.id, channel)[:43]
                    bot = ChatBot(spec.id, channel, handle, spec.name, secret, behaviour, business)
                    self._by_secret[secret] = bot
                    out.setdefault(spec.id, {})[channel] = secret
        return out

    # -- the protocol ----------------------------------------------------------------------

    def start(self, credential: str) -> tuple[int, dict]:
        """Start a conversation with the bot a secret names (201), or, for a conversation's
        token, answer with that conversation again (200)."""
        with self.lock:
            existing = self._by_token.get(credential)
            if existing is not None:
                return 200, _started(existing)
            bot = self._bot(credential)
            # numbered per bot: a run sends to one bot in its schedule's order, so the ids
            # are the same in every run of a suite (conversations of all bots interleave)
            bot.started += 1
            cid = digest(self.seed, "conversation", bot.brand_id, bot.channel, bot.started)[:24]
            token = "sbx-dlt-" + digest(self.seed, "token", cid)[:40]
            conversation = Conversation(cid, bot, token)
            self.conversations[cid] = self._by_token[token] = conversation
            return 201, _started(conversation)

    def post(self, credential: str, conversation_id: str, body: object) -> tuple[int, dict]:
        """The client's activity, stored now; the first message naming a probe is one."""
        with self.lock:
            conversation = self._open(credential, conversation_id)
            activity = _client_activity(body)
            now_ms = self.clock.now_ms()
            probe_id = _probe_named(activity) if conversation.probe_id is None else None
            if probe_id is not None:  # the probe dated as planned, when the run said
                now_ms = self.stamp(probe_id, now_ms)
            stored = conversation.add(now_ms, activity)
            if probe_id is not None:
                self._probe(conversation, probe_id, stored, now_ms)
            return 200, {"id": stored["id"]}

    def read(
        self, credential: str, conversation_id: str, watermark: str | None
    ) -> tuple[int, dict]:
        """The activities visible now after ``watermark``, and the next watermark."""
        with self.lock:
            conversation = self._open(credential, conversation_id)
            start = _watermark(watermark)
            shown = conversation.shown(self.clock.now_ms())
            activities = conversation.activities[min(start, shown) : shown]
            return 200, {"activities": activities, "watermark": str(max(start, shown))}

    def _bot(self, credential: str) -> ChatBot:
        if not credential:
            raise DirectLineError(
                401, "BadArgument", "Missing token or secret (Authorization: Bearer SECRET)"
            )
        bot = self._by_secret.get(credential)
        if bot is None:
            raise DirectLineError(403, "BadArgument", "Invalid token or secret")
        return bot

    def _open(self, credential: str, conversation_id: str) -> Conversation:
        """The conversation, if the credential (its bot's secret, or its token) opens it."""
        by_token = self._by_token.get(credential)
        bot = self._bot(credential) if by_token is None else None
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            raise DirectLineError(404, "BadArgument", f"Conversation {conversation_id} not found")
        opens = conversation is by_token if bot is None else conversation.bot.secret == credential
        if not opens:
            raise DirectLineError(403, "BadArgument", "Not a token or secret of this conversation")
        return conversation

    # -- the bot's side ----------------------------------------------------------------------

    def _probe(self, conversation: Conversation, probe_id: str, message: dict, now_ms: int) -> None:
        """Record a probe and store the bot's plan for it (once per probe id)."""
        bot = conversation.bot
        conversation.probe_id = probe_id
        self.truth.write(
            truth.chat_probe(probe_id, at_ms=now_ms, brand=bot.brand_id, channel=bot.channel,
                             id=message["id"], conversation=conversation.id)
        )  # fmt: skip
        if probe_id in self._answered:
            return  # received again: recorded, answered once only
        self._answered.add(probe_id)
        answer, answer_types = self.answer(probe_id)
        situation = Situation(
            behaviour=bot.behaviour,
            followers=NEUTRAL_FOLLOWERS,
            probe_ms=now_ms,
            private=True,
            aliases=0,
            business=bot.business,
            answer_types=answer_types,
        )
        key = self.keys.get(probe_id, probe_id)
        for turn in chatbot.plan(key, seed=self.seed, situation=situation):
            activity = conversation.add(turn.at_ms, _bot_activity(turn, bot, message, answer))
            self._log(probe_id, turn, activity)

    def _log(self, probe_id: str, turn: chatbot.Turn, activity: dict) -> None:
        channel = activity["channelId"]
        if turn.kind == chatbot.HANDOFF:
            self.truth.write(
                truth.handoff(probe_id, at_ms=turn.at_ms, channel=channel, id=activity["id"])
            )
        elif turn.is_message:
            self.truth.write(
                truth.chat_reply(probe_id, at_ms=turn.at_ms, channel=channel, types=turn.types,
                                 id=activity["id"], author=activity["from"]["name"],
                                 automated=turn.automated)
            )  # fmt: skip


def _started(conversation: Conversation) -> dict:
    return {
        "conversationId": conversation.id,
        "token": conversation.token,
        "expires_in": TOKEN_LIFETIME_S,
    }


def _client_activity(body: object) -> dict:
    """A client's activity, checked: an object with a ``type``, and for a message a sender
    (``from.id``); 400 otherwise."""
    if not isinstance(body, dict):
        raise DirectLineError(400, "BadArgument", "The body must be an activity (a JSON object)")
    if not isinstance(body.get("type"), str) or not body["type"]:
        raise DirectLineError(400, "MissingProperty", "The activity has no type")
    sender = body.get("from")
    if body["type"] == "message" and not (
        isinstance(sender, dict) and isinstance(sender.get("id"), str) and sender["id"]
    ):
        raise DirectLineError(400, "MissingProperty", "The message has no from.id")
    text = body.get("text")
    too_long = intake.text_problem(text, most=None) if isinstance(text, str) else None
    if too_long is not None:
        raise DirectLineError(400, "MessageSizeTooBig", f"text: {too_long}")
    return {k: v for k, v in body.items() if k not in ("id", "timestamp", "conversation")}


def _probe_named(activity: dict) -> str | None:
    """The probe a customer's message names: by the marker in its text, else by its
    sender's id when that is a probe id."""
    if activity.get("type") != "message":
        return None
    found = find_marker(str(activity.get("text") or ""))
    if found is not None:
        return found
    sender = str(activity["from"]["id"])
    return sender if _PROBE_ID.fullmatch(sender) else None


def _watermark(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isdigit():
        raise DirectLineError(400, "BadArgument", f"Invalid watermark {value!r}")
    return int(value)


def _bot_activity(turn: chatbot.Turn, bot: ChatBot, message: dict, answer: str) -> dict:
    """The activity of one turn of the bot's plan (the agent's messages relayed by the bot,
    under the agent's name)."""
    name = bot.name if turn.agent is None else f"{turn.agent} ({bot.name})"
    base = {"from": {"id": bot.handle, "name": name, "role": "bot"}, "replyToId": message["id"]}
    if turn.kind == chatbot.HANDOFF:
        return {"type": "event", "name": "handoff.initiate", "value": _HANDOFF_VALUE, **base}
    if turn.kind == chatbot.END:
        return {"type": "endOfConversation", "code": "completedSuccessfully", **base}
    said = chatbot.text(turn, name=bot.name, slug=slug(bot.brand_id), answer=answer)
    return {"type": "message", "text": said, **base}


# -- HTTP -------------------------------------------------------------------------------------


def routes(chats: Chats) -> list[Route]:
    """The Direct Line routes over ``chats``."""

    async def start(request: Request) -> Response:
        return _respond(lambda: chats.start(_bearer(request)))

    async def activities(request: Request) -> Response:
        cid = request.path_params["conversation_id"]
        if request.method == "GET":
            mark = request.query_params.get("watermark")
            return _respond(lambda: chats.read(_bearer(request), cid, mark))
        raw = await request.body()
        return _respond(lambda: chats.post(_bearer(request), cid, _parse(raw)))

    return [
        Route(PATH, start, methods=["POST"]),
        Route(PATH + "/{conversation_id}/activities", activities, methods=["GET", "POST"]),
    ]


def _bearer(request: Request) -> str:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""


def _parse(raw: bytes) -> object:
    try:
        return intake.load_json(raw)
    except intake.BadJson as exc:
        raise DirectLineError(400, "BadSyntax", str(exc)) from None


def _respond(answer: Callable[[], tuple[int, dict]]) -> Response:
    try:
        status, body = answer()
    except DirectLineError as exc:
        status, body = exc.status, exc.body
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, media_type="application/json")

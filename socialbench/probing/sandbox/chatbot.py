"""A brand's chatbot's decision for one chat: what it says, when, and whether a person takes
the chat over (messenger, whatsapp and webchat; served as Direct Line by `directline`).

A chat goes: the customer's message (the probe); the bot's automated acknowledgement
``bot.ack`` later; with ``bot.question_rate``, an automated question (an order number, an
e-mail address, a reference) ``bot.question`` after that; with ``bot.handoff_rate``, a
hand-off one second after the bot's last message (Direct Line's ``handoff.initiate``
event), then, after a wait of ``bot.handoff`` (counted in support hours when the brand
honours them), an agent's message composed as on X from the brand's ``habits``, and with
``follow_up_rate`` the agent's follow-up ``latency`` later; the conversation ends one second
after its last message. Bots work round the clock; only the wait for a person, and the
person's follow-up, keep to support hours.

As in `decide.plan`, everything random is drawn from a generator seeded with (seed,
``"chat"``, probe id), in a fixed order whatever the outcome, so a chat's course depends on
nothing but the seed, the probe id, the brand's behaviour and the probe's instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from socialbench.probing.sandbox import phrases
from socialbench.probing.sandbox.decide import Planned, Situation, later, message
from socialbench.probing.sandbox.rng import seeded

ACKS = (
    "Thanks for your message! I'm the {name} virtual assistant.",
    "Hello, you're chatting with the {name} assistant. I've got your message.",
    "Thanks for contacting {name}. I'm an automated assistant and I'm looking into this.",
)
QUESTIONS = (
    "Could you tell me your order number?",
    "What is the e-mail address on your account?",
    "Can you share your booking or account reference?",
)
AGENTS = ("Sam", "Priya", "Tom", "Aisha", "Leo", "Mei")
HANDOFF_AFTER_MS = 1000  # from the bot's last message to the hand-off event
END_AFTER_MS = 1000  # from the last message to the end of the conversation

ACK, QUESTION, HANDOFF, AGENT, END = "ack", "question", "handoff", "agent", "end"


@dataclass(frozen=True)
class Turn:
    """One thing the brand's side of a chat does at ``at_ms``: the bot's acknowledgement or
    question (``phrase``: its index), the hand-off, an agent's message (``planned``: its
    phrases and types; ``agent``: the person's name), or the end of the conversation."""

    at_ms: int
    kind: str
    phrase: int = 0
    planned: Planned | None = None
    agent: str | None = None

    @property
    def is_message(self) -> bool:
        return self.kind in (ACK, QUESTION, AGENT)

    @property
    def automated(self) -> bool:
        return self.kind != AGENT

    @property
    def types(self) -> tuple[str, ...]:
        """What the message contains, as the ground truth records it (the bot's
        acknowledgement is ack-only; its question contains nothing of note)."""
        if self.kind == ACK:
            return ("ack_only",)
        return self.planned.types if self.planned is not None else ()


def plan(key: str, *, seed: int, situation: Situation) -> list[Turn]:
    """The brand's side of the chat a probe opened, in time order (``key``: as in
    ``decide.plan``)."""
    rng = seeded(seed, "chat", key)
    behaviour = situation.behaviour
    bot = behaviour.bot
    ack_s, ack_pick = bot.ack.sample(rng), rng.randrange(len(ACKS))
    asks = rng.random() < bot.question_rate
    question_s, question_pick = bot.question.sample(rng), rng.randrange(len(QUESTIONS))
    hands = rng.random() < bot.handoff_rate
    wait_s, agent = bot.handoff.sample(rng), AGENTS[rng.randrange(len(AGENTS))]
    follows = rng.random() < behaviour.follow_up_rate
    follow_s = behaviour.latency.sample(rng)

    turns = [Turn(_after(situation.probe_ms, ack_s), ACK, ack_pick)]
    if asks:
        turns.append(Turn(_after(turns[-1].at_ms, question_s), QUESTION, question_pick))
    if hands:
        waits = (wait_s, follow_s) if follows else (wait_s,)
        turns += _agent(rng, turns[-1].at_ms, waits, agent, situation)
    turns.append(Turn(turns[-1].at_ms + END_AFTER_MS, END))
    return turns


def _after(start_ms: int, seconds: float) -> int:
    """``seconds`` after ``start_ms`` on the plain clock (bots never sleep), at least 1 ms."""
    return start_ms + max(1, round(seconds * 1000.0))


def _agent(
    rng: random.Random, after_ms: int, waits: tuple[float, ...], agent: str, situation: Situation
) -> list[Turn]:
    """The hand-off after the bot's last message, then the agent's messages, each ``waits``
    after the one before (fewer when the support hours do not open again)."""
    behaviour = situation.behaviour
    clock = situation.business if behaviour.honour_hours else None
    handoff = Turn(after_ms + HANDOFF_AFTER_MS, HANDOFF)
    turns, at = [handoff], handoff.at_ms
    for wait in waits:
        moment = later(at, wait, clock)
        if moment is None:
            break
        at = moment
        turns.append(Turn(at, AGENT, planned=message(rng, at, situation), agent=agent))
    return turns


def text(turn: Turn, *, name: str, slug: str, answer: str) -> str:
    """What a message turn says."""
    if turn.kind == ACK:
        return ACKS[turn.phrase].format(name=name)
    if turn.kind == QUESTION:
        return QUESTIONS[turn.phrase]
    assert turn.planned is not None
    return phrases.render(turn.planned.parts, persona=None, brand_slug=slug, answer=answer)

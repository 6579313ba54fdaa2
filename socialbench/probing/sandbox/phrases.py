"""The phrase book of simulated brand replies.

A reply is an opening ("Hi @persona,", or "Hi there," in a chat) then either one
acknowledgement (an ack-only reply) or the drawn components in a fixed order: the probe's
answer text, a help-centre link, a DM request, a phone number, an e-mail address; a reply
with none of them gets one substantive sentence that is not an acknowledgement. Every
phrase is checked by the tests against `socialbench.measure.classify.classify_text`, so a
reply's recorded types are what the runner's classifier finds in it.
"""

from __future__ import annotations

import random
import re

import pandas as pd

from socialbench.measure import classify

COMPONENTS = ("answer", "link", "dm", "phone", "email")
ACK = "ack"
PLAIN = "plain"

PHRASES: dict[str, tuple[str, ...]] = {
    ACK: (
        "Sorry to hear that, we understand how frustrating this is.",
        "We're so sorry for the trouble!",
        "Thanks for letting us know.",
    ),
    "answer": ("{answer}",),
    "link": (
        "The steps are here: https://help.{slug}.example/articles/troubleshooting",
        "You'll find more on https://help.{slug}.example/contact",
        "Check https://help.{slug}.example/status for updates.",
    ),
    "dm": (
        "Please send us a DM with your details.",
        "Please DM us your details so we can check.",
        "Could you send us a private message with more details?",
    ),
    "phone": (
        "You can call us on 0800 123 4567.",
        "You can call us on +44 20 7946 0958.",
        "You can call us on 1-800-555-0199.",
    ),
    "email": (
        "You can also write to support@{slug}.example.",
        "Email support@{slug}.example and the team will help.",
    ),
    PLAIN: (
        "A fix for this is rolling out this week; restarting the app applies it.",
        "Your request has been passed to the right team, who will update you within two days.",
    ),
}

_SLUG_DROP = re.compile(r"[^a-z0-9-]+")


def slug(brand_id: str) -> str:
    """The brand's name in its example domains (``help.<slug>.example``)."""
    return _SLUG_DROP.sub("", brand_id.lower()).strip("-") or "brand"


def choose(rng: random.Random, *, ack_only: bool, components: tuple[str, ...]) -> dict[str, int]:
    """The phrases of one reply: part name -> variant index, in reply order."""
    if ack_only:
        names: tuple[str, ...] = (ACK,)
    else:
        names = tuple(c for c in COMPONENTS if c in components) or (PLAIN,)
    return {name: rng.randrange(len(PHRASES[name])) for name in names}


def render(parts: dict[str, int], *, persona: str | None, brand_slug: str, answer: str = "") -> str:
    """The reply text for chosen parts, opening ``Hi @persona,`` (in a chat, where the
    customer has no handle, persona None: ``Hi there,``)."""
    values = {"slug": brand_slug, "answer": answer.strip()}
    sentences = [PHRASES[name][index].format(**values) for name, index in parts.items()]
    opening = f"Hi @{persona}," if persona is not None else "Hi there,"
    return " ".join([opening, *sentences])


def answer_types(answers: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """What each registered answer text itself contains (link, dm, phone, email), by probe
    id, from the runner's classifier, so a reply quoting it is recorded truthfully."""
    if not answers:
        return {}
    texts = pd.Series(list(answers.values()), index=list(answers.keys()), dtype=object)
    flags = {name: getattr(classify, name)(texts) for name in ("link", "dm", "phone", "email")}
    return {probe: tuple(name for name in flags if flags[name].at[probe]) for probe in answers}

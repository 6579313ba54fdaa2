"""The simulated platform's state and the brands' behaviour.

A message from a persona to a brand (a tweet mentioning one of the brand's handles, or a DM
to one of its accounts) whose text carries a probe marker is a probe: on receipt the brand's
decision is made (`decide.plan`), its messages are stored with their future instants and
written to the ground truth at once; search and DM listings show them only from their
instant on. Messages without a marker are stored and never answered.

The brands' chatbots (messenger, whatsapp, webchat) are `directline.Chats`, sharing the
world's seed, clock, ground truth, answers and lock.

All state is in memory and guarded by one lock, so a test thread may read it while a server
thread serves.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pydantic

from socialbench.probing.probes import find_marker
from socialbench.probing.sandbox import query as q
from socialbench.probing.sandbox import truth
from socialbench.probing.sandbox.accounts import Accounts, AccountsIn, Brand, User
from socialbench.probing.sandbox.clock import PlatformClock, Snowflakes, first_snowflake_after
from socialbench.probing.sandbox.decide import Planned, Situation, plan
from socialbench.probing.sandbox.directline import Chats
from socialbench.probing.sandbox.limits import FaultDraws, RateLimiter, Verdict
from socialbench.probing.sandbox.phrases import answer_types, render
from socialbench.probing.sandbox.profile import Profile, load_profile
from socialbench.probing.sandbox.shapes import duplicate, invalid
from socialbench.probing.sandbox.timeline import DmEvent, Timeline, Tweet, newest_below
from socialbench.probing.sandbox.truth import Truth

MAX_LATE_S = 0.5  # real seconds a probe may arrive after its planned time and be dated then
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]{1,50})")


class World:
    """Accounts, messages, rate limits, faults and the ground truth of one sandbox."""

    def __init__(
        self,
        *,
        profile: Profile | None = None,
        seed: int = 0,
        clock: PlatformClock | None = None,
        truth_path: Path | str | None = None,
    ) -> None:
        self.profile = profile if profile is not None else Profile()
        self.seed = seed
        self.clock = clock if clock is not None else PlatformClock()
        self.accounts = Accounts(seed=seed, profile=self.profile)
        self.timeline = Timeline()
        self.truth = Truth(truth_path)
        self.limiter = RateLimiter(self.profile)
        self.faults = FaultDraws(self.profile.faults, seed=seed)
        self.answers: dict[str, str] = {}
        # probe id -> the probe's stable key (its suite entry's, the same in every run of the
        # suite): what a brand's decisions are drawn from, when the run told us
        self.keys: dict[str, str] = {}
        # probe id -> when the run planned to send it (epoch ms): a probe arriving a little
        # after is stamped then, so that its time, and all that follows from it, does not
        # depend on how fast this machine got it here (see ``stamp``)
        self.due: dict[str, int] = {}
        self._answer_types: dict[str, tuple[str, ...]] = {}
        self._probes: set[str] = set()
        self._pending: dict[str, list[tuple[str, DmEvent]]] = {}  # DM conversation -> replies
        self._ids = Snowflakes()
        self.lock = threading.RLock()
        self.chats = Chats(
            seed=seed,
            profile=self.profile,
            clock=self.clock,
            truth_log=self.truth,
            answer=self.answer,
            lock=self.lock,
            keys=self.keys,
            stamp=self.stamp,
        )

    @classmethod
    def create(
        cls,
        *,
        profile_path: Path | str | None = None,
        seed: int = 0,
        speed: float = 1.0,
        truth_path: Path | str | None = None,
        start: str | None = None,
    ) -> World:
        """A world from a profile file (None: the built-in profile) and clock settings."""
        return cls(
            profile=load_profile(profile_path),
            seed=seed,
            clock=PlatformClock(start=start, speed=speed),
            truth_path=truth_path,
        )

    def close(self) -> None:
        """Close the truth file."""
        self.truth.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ accounts

    def register(self, payload: object) -> dict:
        """``POST /_sandbox/accounts``: create or update accounts and answers."""
        try:
            request = AccountsIn.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise invalid(_describe(exc)) from None
        with self.lock:
            try:
                users = self.accounts.register(request)
            except ValueError as exc:
                raise invalid(str(exc)) from None
            answers = {k: v.strip() for k, v in request.answers.items() if v.strip()}
            self.answers.update(answers)
            self.keys.update(request.keys)
            self._answer_types.update(answer_types(answers))
            bots = self.chats.register(request.bots)
        answer = {
            "users": {handle: user.id for handle, user in users.items()},
            "tokens": {handle: user.token for handle, user in users.items()},
        }
        return answer | ({"bots": bots} if request.bots else {})

    def answer(self, probe_id: str) -> tuple[str, tuple[str, ...] | None]:
        """A probe's registered answer text ("" if none) and its own types (None if none)."""
        with self.lock:
            if probe_id not in self.answers:
                return "", None
            return self.answers[probe_id], self._answer_types.get(probe_id)

    def authenticate(self, token: str) -> User | None:
        return self.accounts.by_token.get(token)

    # -------------------------------------------------------------------- gate (/2 only)

    def admit(self, user: User, key: str) -> tuple[Verdict, str | None]:
        """Count a request against its bucket and draw its fault (None when refused)."""
        with self.lock:
            now_ms = self.clock.now_ms()
            verdict = self.limiter.take(user.token, key, now=now_ms / 1000.0)
            if verdict.violation_reset is not None:
                self.truth.write(
                    truth.violation(
                        key, user=user.handle, at_ms=now_ms, reset_s=verdict.violation_reset
                    )
                )
            if not verdict.allowed:
                return verdict, None
            fault = self.faults.next()
            if fault is not None:
                self.truth.write(truth.fault(fault, endpoint=key, at_ms=now_ms))
            if fault == "rate_limit":
                reset_s = self.profile.faults.reset_s
                headers = self.limiter.exhaust(
                    user.token, key, now=now_ms / 1000.0, reset_s=reset_s
                )
                return Verdict(False, headers, None), fault
            return verdict, fault

    # ------------------------------------------------------------------------- tweets

    def stamp(self, probe_id: str | None, now_ms: int) -> int:
        """When a message arriving now is dated: a probe's planned time, when the run gave
        it and the probe arrives at most ``MAX_LATE_S`` of real time after it (a run's
        scheduling and the loopback trip, sped up); else now."""
        due = self.due.get(probe_id) if probe_id is not None else None
        late_ms = MAX_LATE_S * 1000.0 * max(self.clock.speed, 1.0)
        if due is None or not now_ms - late_ms <= due <= now_ms:
            return now_ms
        return due

    def visible_below(self) -> int:
        """Every snowflake below this is visible now."""
        return first_snowflake_after(self.clock.now_ms())

    def post_tweet(self, user: User, text: str, reply_to: str | None = None) -> Tweet:
        """``POST /2/tweets``: store the tweet; a probe gets its brand's decision."""
        with self.lock:
            now_ms = self.clock.now_ms()
            if self.timeline.posted_before(user.id, text):
                self._duplicate(user, text, now_ms)
                raise duplicate()
            parent = self._parent(reply_to) if reply_to is not None else None
            at_ms = self.stamp(find_marker(text), now_ms) if parent is None else now_ms
            tweet = self._new_tweet(user, text, at_ms, parent)
            brand = self._addressed_brand(user, text, parent)
            if brand is not None:
                self._probe(user, brand, tweet, private=False)
            return tweet

    def _parent(self, reply_to: str) -> Tweet:
        parent = self.timeline.tweets.get(int(reply_to)) if reply_to.isdigit() else None
        if parent is None or parent.id >= self.visible_below():
            raise invalid(
                "You attempted to reply to a Tweet that is deleted or not visible to you.",
                in_reply_to_tweet_id=reply_to,
            )
        return parent

    def _new_tweet(self, author: User, text: str, at_ms: int, parent: Tweet | None) -> Tweet:
        tid = self._ids.make(at_ms)
        to_ids = [parent.author_id] if parent is not None else []
        for handle in _leading_mentions(text):
            mentioned = self.accounts.user_named(handle)
            if mentioned is not None and mentioned.id not in to_ids:
                to_ids.append(mentioned.id)
        tweet = Tweet(
            id=tid,
            text=text,
            author_id=author.id,
            created_ms=at_ms,
            conversation_id=parent.conversation_id if parent is not None else tid,
            in_reply_to_user_id=parent.author_id if parent is not None else None,
            replied_to=parent.id if parent is not None else None,
            to_ids=tuple(to_ids),
        )
        self.timeline.add_tweet(tweet)
        return tweet

    def _addressed_brand(self, author: User, text: str, parent: Tweet | None) -> Brand | None:
        """The brand a persona's marked tweet is for: the first brand it mentions, else the
        brand whose tweet it replies to."""
        if author.brand_id is not None or "(ref:" not in text:
            return None
        handles = _MENTION.findall(text)
        accounts = [self.accounts.user_named(handle) for handle in handles]
        if parent is not None:
            accounts.append(self.accounts.by_id.get(parent.author_id))
        for account in accounts:
            if account is not None and account.brand_id is not None:
                return self.accounts.brands.get(account.brand_id)
        return None

    # ---------------------------------------------------------------------------- DMs

    def post_dm(self, user: User, participant_id: str, text: str) -> DmEvent:
        """``POST /2/dm_conversations/with/{participant_id}/messages``."""
        with self.lock:
            other = self.accounts.by_id.get(participant_id)
            if other is None or other is user:
                raise invalid(
                    "The participant is not a user you can message.", participant_id=participant_id
                )
            at_ms = self.stamp(find_marker(text), self.clock.now_ms())
            event = self._new_dm(user, other, text, at_ms)
            if user.brand_id is None and other.brand_id is not None and "(ref:" in text:
                brand = self.accounts.brands.get(other.brand_id)
                if brand is not None:
                    self._probe(user, brand, event, private=True, account=other)
            return event

    def _new_dm(self, sender: User, recipient: User, text: str, at_ms: int) -> DmEvent:
        low, high = sorted((sender.id, recipient.id), key=int)
        event = DmEvent(
            id=self._ids.make(at_ms),
            text=text,
            sender_id=sender.id,
            recipient_id=recipient.id,
            created_ms=at_ms,
            conversation_id=f"{low}-{high}",
        )
        self.timeline.add_dm(event)
        return event

    def dm_page(self, user: User, *, before: int | None, limit: int) -> list[DmEvent]:
        """Up to ``limit + 1`` visible DM events of ``user``, newest first, below ``before``."""
        with self.lock:
            below = self.visible_below()
            if before is not None:
                below = min(below, before)
            ids = newest_below(
                self.timeline.dms_by_user.get(user.id, []), below=below, above=0, limit=limit + 1
            )
            return [self.timeline.dms[i] for i in ids]

    # ------------------------------------------------------------------------- probes

    def _probe(
        self,
        persona: User,
        brand: Brand,
        message: Tweet | DmEvent,
        *,
        private: bool,
        account: User | None = None,
    ) -> None:
        """Record a probe and store its brand's messages; ``account`` answers DMs."""
        probe_id = find_marker(message.text)
        if probe_id is None:
            return
        self.truth.write(truth.probe(probe_id, message, brand=brand.id, persona=persona.handle))
        if probe_id in self._probes:
            return  # received again: recorded, answered once only
        self._probes.add(probe_id)
        if isinstance(message, DmEvent):
            self._withdraw(message)
        situation = Situation(
            behaviour=brand.behaviour,
            followers=persona.followers,
            probe_ms=message.created_ms,
            private=private,
            aliases=len(brand.aliases),
            business=brand.business,
            answer_types=self._answer_types.get(probe_id) if probe_id in self.answers else None,
        )
        previous = message
        for planned in plan(self.keys.get(probe_id, probe_id), seed=self.seed, situation=situation):
            author = account or (
                brand.main if planned.alias is None else brand.aliases[planned.alias]
            )
            previous = self._answer(probe_id, planned, author, persona, brand, previous)

    def _answer(
        self,
        probe_id: str,
        planned: Planned,
        author: User,
        persona: User,
        brand: Brand,
        previous: Tweet | DmEvent,
    ) -> Tweet | DmEvent:
        """Store one brand message (replying to ``previous`` in public) and its truth."""
        answer = self.answers.get(probe_id, "")
        text = render(planned.parts, persona=persona.handle, brand_slug=brand.slug, answer=answer)
        if isinstance(previous, DmEvent):
            sent: Tweet | DmEvent = self._new_dm(author, persona, text, planned.at_ms)
            self._pending.setdefault(sent.conversation_id, []).append((probe_id, sent))
        else:
            sent = self._new_tweet(author, text, planned.at_ms, previous)
        self.truth.write(truth.reply(probe_id, sent, types=planned.types, author=author.handle))
        return sent

    def _withdraw(self, message: DmEvent) -> None:
        """A new probe in a private conversation: the brand's replies to older probes there
        that are still to come are taken back (the agent answers the newest message), so
        every private reply after a probe belongs to it, as the runner attributes them."""
        pending = self._pending.get(message.conversation_id, [])
        for probe_id, reply in pending:
            if reply.created_ms >= message.created_ms:
                self.timeline.remove_dm(reply)
                self.truth.write(truth.withdrawn(probe_id, reply, at_ms=message.created_ms))
        self._pending[message.conversation_id] = []

    def _duplicate(self, persona: User, text: str, at_ms: int) -> None:
        probe_id = find_marker(text)
        if probe_id is not None:
            self.truth.write(truth.duplicate(probe_id, at_ms=at_ms, persona=persona.handle))

    # ------------------------------------------------------------------------- search

    def search(self, node: q.Node, *, above: int, below: int | None, limit: int) -> list[Tweet]:
        """Up to ``limit + 1`` visible tweets matching ``node`` with above < id < below,
        newest first."""
        with self.lock:
            visible = self.visible_below()
            below = visible if below is None else min(below, visible)
            bound = q.bind(
                node, lambda handle: getattr(self.accounts.user_named(handle), "id", None)
            )
            return self.timeline.find(bound, above=above, below=below, limit=limit + 1)

    def tweet_count(self, user: User) -> int:
        with self.lock:
            return self.timeline.tweet_count(user.id, self.visible_below())


def _leading_mentions(text: str) -> list[str]:
    """Handles mentioned before the first other word (a reply-style opening)."""
    out = []
    for word in text.split():
        if not word.startswith("@"):
            break
        out.append(word[1:].rstrip(",.:;!?"))
    return out


def _describe(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        ".".join(str(part) for part in error["loc"]) + ": " + error["msg"] for error in exc.errors()
    )

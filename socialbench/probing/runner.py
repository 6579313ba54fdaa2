"""Probe runs: send each probe through a connector, then watch every conversation until its
window ends, storing everything observed. No metrics here (see ``probe_runs``).

Crash safety: a probe's intent is committed before it is sent and its platform id after; on
resume, every intent without a platform id is looked for on the platform (by the marker in
its text) before anything is resent. Observed messages are committed as soon as a poll
returns them, so a killed run loses at most the poll in flight, which the next poll repeats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from socialbench.errors import SocialbenchError
from socialbench.probing.connectors.base import (
    Connector,
    PollFailed,
    SendFailed,
    Watch,
    iso,
)
from socialbench.probing.pacing import Lanes, Pacing, conversation, lane
from socialbench.probing.probes import PRIVATE, Probe
from socialbench.probing.store import RunStore, StoredProbe

_MARGIN_S = 1.0  # platform seconds between one private window's end and the next probe


@dataclass(frozen=True)
class _Sent:
    probe: Probe
    platform_id: str
    conversation_id: str
    at: float  # platform epoch seconds


@dataclass(frozen=True)
class RunSettings:
    """How a run sends and watches (poll intervals are real seconds)."""

    window_s: float
    pacing: Pacing
    concurrency: int = 8
    poll_every_s: float = 60.0
    poll_max_s: float = 300.0
    once: bool = False


@dataclass(frozen=True)
class Status:
    """Progress of a run, for the display."""

    planned: int
    sent: int
    failed: int
    messages: int
    replies: int
    left_s: float  # platform seconds until the last window ends (0 when done)
    done: bool


def epoch(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (``Z`` or an offset)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Runner:
    """Sends the planned probes of a store and watches their conversations."""

    def __init__(
        self,
        store: RunStore,
        connector: Connector,
        settings: RunSettings,
        *,
        brand_handles: frozenset[str],
        progress: Callable[[Status], None] | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.settings = settings
        self.brand_handles = brand_handles
        self.progress = progress or (lambda status: None)
        self.clock = connector.clock
        self._lanes = Lanes(settings.pacing.gap_s)
        self._in_flight = asyncio.Semaphore(settings.concurrency)
        self._sent: dict[str, _Sent] = {}
        self._talk_free: dict[tuple[str, str, str], float] = {}
        self._last_sent = float("-inf")  # platform time of the latest probe sent
        self._fresh: set[str] = set()  # sent since the last poll began: always watched
        self._last_poll = float("-inf")
        self._replies: set[str] = set()
        counts = store.counts()
        self._planned = sum(counts.values())
        self._failed = counts.get("failed", 0)
        self._messages = store.message_count()
        for stored in store.probes(states=("sent",)):
            self._track(stored.probe, stored.platform_id, stored.conversation_id, stored.sent_at)

    async def run(self) -> Status:
        """Reconcile, send and watch until every window has ended (or once, with ``once``)."""
        await self.connector.start()
        self._restore_cursors()
        await self._reconcile()
        sending = asyncio.create_task(self._send_all())
        try:
            await self._watch(sending)
        finally:
            if not sending.done():
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
        status = self.status()
        self.progress(status)
        return status

    def _log(self, kind: str, probe_id: str | None, detail: str) -> None:
        self.store.log_event(kind, probe_id, detail, at=self.clock.now())

    # sending ----------------------------------------------------------------------------

    async def _reconcile(self) -> None:
        """Intents without a platform id: found on the platform, or safe to send again.

        The search waits until the platform can show the newest intent (``settle_s``: how
        late a post may appear in search), so a post that did arrive is never missed."""
        intents = self.store.probes(states=("intent",))
        if intents:
            settle = getattr(self.connector, "settle_s", 0.0)
            latest = max(stored.intent_at or float("-inf") for stored in intents)
            await self.clock.sleep_until(latest + settle)
        for stored in intents:
            try:
                found = await self.connector.find_sent(stored.probe)
            except SendFailed as exc:  # cannot tell, and must not send twice: given up
                self.store.record_failed(stored.probe.probe_id, str(exc))
                self._failed += 1
                self._log("reconciled", stored.probe.probe_id, str(exc))
                continue
            if found is None:
                self.store.reset_intent(stored.probe.probe_id)
                self._log("reconciled", stored.probe.probe_id, "not on the platform")
            else:
                self._record_sent(stored.probe, found)
                self._log("reconciled", stored.probe.probe_id, "found on the platform")

    async def _send_all(self) -> None:
        """Every chain of planned probes at once; when one fails the run (RunFailed, e.g.
        X's usage cap), the others stop too and that failure is raised."""
        chains = self._chains(self.store.probes(states=("planned",)))
        try:
            async with asyncio.TaskGroup() as group:
                for chain in chains:
                    group.create_task(self._send_chain(chain))
        except* SocialbenchError as failed:  # RunFailed, a full disk under the store
            raise failed.exceptions[0] from None

    def _chains(self, planned: list[StoredProbe]) -> list[list[StoredProbe]]:
        """Public probes by lane, private probes by conversation; each chain in due order."""
        chains: dict[tuple, list[StoredProbe]] = defaultdict(list)
        for stored in sorted(planned, key=lambda s: s.due):
            chains[self._talk(stored.probe) or lane(stored.probe)].append(stored)
        return list(chains.values())

    async def _send_chain(self, chain: list[StoredProbe]) -> None:
        pending: list[asyncio.Task] = []
        try:
            for stored in chain:
                wanted = max(stored.due, self._conversation_free(stored.probe))
                if self.settings.once and wanted > self.clock.now():
                    break
                slot = self._lanes.reserve(lane(stored.probe), wanted)
                await self.clock.sleep_until(slot)
                await self._in_flight.acquire()
                task = asyncio.create_task(self._send_one(stored.probe))
                if stored.probe.surface == PRIVATE and self._talk(stored.probe) is not None:
                    await task  # the next private probe waits for this one's window
                else:
                    pending.append(task)
            done = await asyncio.gather(*pending, return_exceptions=True)
        finally:  # the chain failed or was cancelled: its sends stop, each outcome retrieved
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        failed = [result for result in done if isinstance(result, BaseException)]
        if failed:
            raise failed[0]

    def _talk(self, probe: Probe) -> tuple | None:
        """The private conversation a probe is sent in (its persona's with its brand on its
        channel), which it shares with the probes before and after it; None where every
        probe is a conversation of its own (a chatbot session per probe)."""
        return conversation(probe, self.settings.pacing.own_channels)

    def _conversation_free(self, probe: Probe) -> float:
        """When the previous probe in this private conversation has finished its window."""
        talk = self._talk(probe)
        return self._talk_free.get(talk, float("-inf")) if talk else float("-inf")

    async def _send_one(self, probe: Probe) -> None:
        try:
            self.store.record_intent(probe.probe_id, self.clock.now())
            try:
                sent = await self.connector.send(probe)
            except SendFailed as exc:
                self.store.record_failed(probe.probe_id, str(exc))
                self._failed += 1
                self._log("send_failed", probe.probe_id, str(exc))
                return
            self._record_sent(probe, sent)
        finally:
            self._in_flight.release()
        self.progress(self.status())

    def _record_sent(self, probe: Probe, sent) -> None:
        now = self.clock.now()
        at = sent.sent_at or iso(now)
        self.store.record_sent(probe.probe_id, replace(sent, sent_at=at), sent.replies, now)
        self._messages += len(sent.replies)
        self._replies.update(m.id for m in sent.replies if m.author.lower() in self.brand_handles)
        self._track(probe, sent.platform_id, sent.conversation_id, at)

    def _track(self, probe: Probe, platform_id: str, conversation_id: str, sent_at: str) -> None:
        record = _Sent(probe, platform_id, conversation_id, epoch(sent_at))
        self._sent[probe.probe_id] = record
        if hasattr(self.connector, "watching"):  # a connector that polls per conversation
            self.connector.watching(probe, platform_id, conversation_id)
        self._last_sent = max(self._last_sent, record.at)
        self._fresh.add(probe.probe_id)
        talk = self._talk(probe)
        if talk is None:
            return
        end = record.at + self.settings.window_s + _MARGIN_S
        self._talk_free[talk] = max(self._talk_free.get(talk, end), end)

    # watching ---------------------------------------------------------------------------

    async def _watch(self, sending: asyncio.Task) -> None:
        interval = self.settings.poll_every_s
        while True:
            if self.settings.once:
                await sending
            if sending.done() and not sending.cancelled() and sending.exception():
                sending.result()  # the run failed while sending: stop now, not at the end
            started = self.clock.now()
            found = await self._poll(started)
            finished = sending.done() and found is not None and self._all_windows_over(started)
            self.progress(self.status())
            if self.settings.once or finished:
                if sending.done():
                    sending.result()  # a bug in sending should not pass silently
                return
            interval = self._next_interval(interval, found or 0)
            await self._pause(interval, sending)

    async def _pause(self, seconds: float, sending: asyncio.Task) -> None:
        """Sleep ``seconds`` of real time, or until the last windows end, if sooner; wake
        at once when sending ends (a failure is raised at the next round)."""
        last_end = self._last_window_end()
        settle = getattr(self.connector, "settle_s", 0.0)
        if sending.done() and last_end is not None:
            until_end = (last_end + settle - self.clock.now()) / getattr(self.clock, "speed", 1)
            seconds = max(0.0, min(seconds, until_end))
        if sending.done():
            await asyncio.sleep(seconds)
        else:
            await asyncio.wait({sending}, timeout=seconds)

    def _next_interval(self, interval: float, found: int) -> float:
        """Poll sooner while replies arrive, back off while nothing happens."""
        if found:
            return self.settings.poll_every_s
        return min(interval * 1.5, self.settings.poll_max_s)

    def _all_windows_over(self, now: float) -> bool:
        last_end = self._last_window_end()
        settle = getattr(self.connector, "settle_s", 0.0)
        return last_end is None or now >= last_end + settle

    def _last_window_end(self) -> float | None:
        """When the last probe's window ends; at its send for a target whose replies all
        come with the send (a chatbot answering in its HTTP response): nothing to wait for."""
        if not self._sent:
            return None
        if getattr(self.connector, "replies_with_send", False):
            return self._last_sent
        return self._last_sent + self.settings.window_s

    def _watch_set(self, fresh: set[str]) -> Watch:
        """Sent probes whose window had not ended when the previous poll started, and those
        sent since (a replay's probes carry recorded times long past): public probes and
        those in a conversation of their own by conversation, other private ones by
        persona."""
        settle = getattr(self.connector, "settle_s", 0.0)
        since = self._last_poll - settle - self.settings.window_s
        own = self.settings.pacing.own_channels  # private, but a conversation of its own
        public, personas = [], set()
        for sent in self._sent.values():
            if sent.at < since and sent.probe.probe_id not in fresh:
                continue
            if sent.probe.surface == PRIVATE and sent.probe.channel not in own:
                personas.add(sent.probe.persona_handle)
            else:
                public.append((sent.conversation_id, sent.at))
        return Watch(conversations=tuple(public), personas=tuple(sorted(personas)))

    async def _poll(self, started: float) -> int | None:
        """Poll the watched conversations; how many messages were new (None: it failed)."""
        fresh, self._fresh = self._fresh, set()
        watch = self._watch_set(fresh)
        if not (watch.conversations or watch.personas):
            self._last_poll = started
            return 0
        try:
            observed = await self.connector.poll(watch)
        except PollFailed as exc:  # the same probes are watched again next round
            self._fresh |= fresh
            self._log("poll_failed", None, str(exc))
            return None
        self._last_poll = started
        # stored raw: which probe a message belongs to is decided from the stored messages
        # when the files are written (probe_runs.attribute), once every probe is known
        new = self.store.add_messages(((m, None) for m in observed), observed_at=started)
        self._messages += new
        self._save_cursors(watch.personas)
        self._replies.update(m.id for m in observed if m.author.lower() in self.brand_handles)
        return new

    def _restore_cursors(self) -> None:
        """Private-message positions: where the last run stopped reading, else the run's
        start (nothing before it can belong to a probe)."""
        if not hasattr(self.connector, "set_dm_cursor"):
            return
        origin = self.store.meta("origin")
        personas = {
            s.probe.persona_handle for s in self.store.probes() if s.probe.surface == PRIVATE
        }
        for handle in personas:
            saved = self.store.cursor(f"dm:{handle}")
            start = iso(origin) if origin is not None else None
            self.connector.set_dm_cursor(handle, saved or start)

    def _save_cursors(self, personas) -> None:
        if not hasattr(self.connector, "dm_cursor"):
            return
        for handle in personas:
            value = self.connector.dm_cursor(handle)
            if value:
                self.store.set_cursor(f"dm:{handle}", value)

    def status(self) -> Status:
        last_end = self._last_window_end()
        left = max(0.0, last_end - self.clock.now()) if last_end is not None else 0.0
        waiting = self._planned - len(self._sent) - self._failed
        return Status(
            planned=self._planned,
            sent=len(self._sent),
            failed=self._failed,
            messages=self._messages,
            replies=len(self._replies),
            left_s=left,
            done=waiting == 0 and left == 0.0,
        )

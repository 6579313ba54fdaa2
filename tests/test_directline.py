"""run --target bots with ``protocol: directline``, against a fake Bot Framework Direct Line
3.0 service over real HTTP on loopback: conversations started with the secret as a bearer
token, the customer's message posted as an activity, the bot's activities read page by page
by watermark. Reply times are the service's activity timestamps (to the millisecond), the
hand-off events say which replies are a person's, a refused secret or a failing service
fails its probe only, the secret is written nowhere, and a resumed run collects what the
bot said after the first run stopped without sending anything twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialbench import scenarios
from socialbench.cli import main
from socialbench.probing.connectors.base import PollFailed, Watch
from socialbench.probing.connectors.bots import BotsConnector
from socialbench.report.model import read_probes

PATH = "/v3/directline/conversations"
PAGE = 2  # activities in one activity set: more than that is read by following the watermark
SECRET = "dl-acme.5ecret-0f-the-acme-bot"
STATUS_SECRET = "dl-delta.5ecret-0f-the-status-bot"
ACK_SECRET = "dl-eps.5ecret-0f-the-ack-bot"
RESUME_SECRET = "dl-res.5ecret-0f-the-resumed-bot"
WRONG_SECRET = "dl-beta.n0t-a-secret-of-any-bot"

# What each bot does after the customer's message: (milliseconds after it, activity). The
# service delivers ``typing`` only over WebSocket, not in activity sets; this one serves it
# anyway, so that the client is seen to skip it.
BOT = {"id": "acme-bot", "name": "Acme", "role": "bot"}
END = {"type": "endOfConversation", "from": BOT}


def message(text: str, **sender) -> dict:
    return {"type": "message", "from": {**BOT, **sender}, "text": text}


def event(name: str, **value) -> dict:
    return {"type": "event", "name": name, "from": BOT, "value": value}


WELCOME = "Thanks! I'm Acme's virtual assistant."
AGENT = "Hi, Sam here from the support team: let me look at your order."
HANDOFF = [
    (0, message(WELCOME)),
    (400, {"type": "typing", "from": BOT}),
    (800, event("handoff.initiate", skill="billing")),
    (1200, message(AGENT, name="Sam (agent)")),  # relayed by the bot, as Direct Line does
    (1500, END),
]
STATUS = [
    (0, message("Hello, I'm the assistant.")),
    (300, event("handoff.status", state="accepted")),
    (600, message("Agent Kim here, happy to help.")),
    (900, event("handoff.status", state="completed", message="resolved")),
    (1200, message("Anything else I can do for you?")),
    (1500, END),
]
ACK = [(0, message("Got it, thanks.")), (300, END)]
BOTS = {SECRET: HANDOFF, STATUS_SECRET: STATUS, ACK_SECRET: ACK, RESUME_SECRET: HANDOFF}


def stamp(ms: int) -> str:
    """A Direct Line timestamp: UTC, seven digits of fraction as the service writes them
    (digits past the millisecond not zero, so a client must cut them, not misread them)."""
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}4567Z"


def at_ms(timestamp: str) -> pd.Timestamp:
    """The moment of a timestamp the service wrote, to the millisecond."""
    return pd.Timestamp(timestamp[:23] + "Z")


def error(status: int, code: str, message: str) -> JSONResponse:
    """Direct Line's ErrorResponse."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class Conversation:
    id: str
    secret: str
    token: str
    activities: list[tuple[int, dict]] = field(default_factory=list)  # (visible at ms, ...)
    held: list[tuple[int, dict]] = field(default_factory=list)  # a bot's script on hold
    served: Counter = field(default_factory=Counter)  # activity id -> times in an answer
    posts: int = 0

    def add(self, when_ms: int, activity: dict) -> dict:
        number = len(self.activities)
        activity = {
            **activity,
            "id": f"{self.id}|{number:07d}",
            "timestamp": stamp(when_ms),
            "channelId": "directline",
            "conversation": {"id": self.id},
        }
        self.activities.append((when_ms, activity))
        return activity

    def visible(self) -> list[dict]:
        """The activities the service has by now (in order: the script's times rise)."""
        now = now_ms()
        return [activity for when, activity in self.activities if when <= now]

    def of(self, kind: str, text: str | None = None) -> dict:
        return next(
            a for _, a in self.activities
            if a["type"] == kind and (text is None or a.get("text") == text)
        )  # fmt: skip


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class DirectLine:
    """The service: each secret is one bot's (the conversations' tokens it hands out are
    not accepted back: the client reads with the secret); every request is recorded (path,
    Authorization header), and every read of activities (``reads``); ``faults`` fails the
    next requests of a kind for a secret with a 500 (``start``: starting a conversation;
    ``read``: reading activities; a number: reading from that watermark), ``holding``
    keeps its secrets' bots quiet after their acknowledgement until ``release``."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.requests: list[dict] = []
        self.reads: list[dict] = []  # conversation, watermark, activities given, monotonic time
        self.faults: Counter = Counter()
        self.holding: set[str] = set()
        self.lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route(PATH, self.start, methods=["POST"]),
                Route(PATH + "/{cid}/activities", self.post, methods=["POST"]),
                Route(PATH + "/{cid}/activities", self.read, methods=["GET"]),
            ]
        )

    def of(self, secret: str, among=None) -> list[Conversation]:
        """The conversations of a secret's bot (those whose ids are ``among``, if given)."""
        return [
            c for c in self.conversations.values()
            if c.secret == secret and (among is None or c.id in among)
        ]  # fmt: skip

    def release(self, secret: str) -> None:
        """Let the held bots go on from now (a person picks the conversations up)."""
        with self.lock:
            self.holding.discard(secret)
            for conversation in self.of(secret):
                start = now_ms()
                for offset, activity in conversation.held:
                    conversation.add(start + offset, activity)
                conversation.held = []

    def _fault(self, secret: str, kind: str | int) -> bool:
        if self.faults[secret, kind] > 0:
            self.faults[secret, kind] -= 1
            return True
        return False

    def _authorized(self, request: Request) -> str | Response:
        """The secret of the request, or the ErrorResponse refusing it."""
        header = request.headers.get("authorization", "")
        self.requests.append({"path": request.url.path, "authorization": header})
        scheme, _, secret = header.partition(" ")
        if scheme != "Bearer" or not secret:
            return error(401, "BadArgument", "Missing token or secret")
        if secret not in BOTS:
            return error(403, "BadArgument", "Invalid token or secret")
        return secret

    def _conversation(self, request: Request, secret: str) -> Conversation | Response:
        conversation = self.conversations.get(request.path_params["cid"])
        if conversation is None or conversation.secret != secret:
            return error(404, "ConversationNotFound", "Conversation not found")
        return conversation

    async def start(self, request: Request) -> Response:
        secret = self._authorized(request)
        if isinstance(secret, Response):
            return secret
        if self._fault(secret, "start"):
            return error(500, "ServiceError", "An internal service error occurred")
        cid = uuid.uuid4().hex[:20]
        token = f"tok.{uuid.uuid4().hex}"
        self.conversations[cid] = Conversation(cid, secret, token)
        return JSONResponse(
            {"conversationId": cid, "token": token, "expires_in": 1800,
             "streamUrl": f"wss://directline.invalid{PATH}/{cid}/stream?t={token}"},
            status_code=201,
        )  # fmt: skip

    async def post(self, request: Request) -> Response:
        secret = self._authorized(request)
        if isinstance(secret, Response):
            return secret
        conversation = self._conversation(request, secret)
        if isinstance(conversation, Response):
            return conversation
        activity = await request.json()
        if activity.get("type") != "message" or not activity.get("from", {}).get("id"):
            return error(400, "MissingProperty", "An activity needs a type and from.id")
        with self.lock:
            conversation.posts += 1
            now = now_ms()
            echo = conversation.add(now, {**activity, "from": {**activity["from"], "role": "user"}})
            script = [(o, {**a, "replyToId": echo["id"]}) for o, a in BOTS[secret]]
            if secret in self.holding:  # the acknowledgement comes at once, the rest waits
                script, conversation.held = script[:1], script[1:]
            for offset, reply in script:
                conversation.add(now + offset, reply)
        return JSONResponse({"id": echo["id"]})

    async def read(self, request: Request) -> Response:
        secret = self._authorized(request)
        if isinstance(secret, Response):
            return secret
        conversation = self._conversation(request, secret)
        if isinstance(conversation, Response):
            return conversation
        watermark = request.query_params.get("watermark")
        first = int(watermark) if watermark else 0
        if self._fault(secret, "read") or self._fault(secret, first):
            return error(500, "ServiceError", "An internal service error occurred")
        with self.lock:
            page = conversation.visible()[first : first + PAGE]
            conversation.served.update(a["id"] for a in page)
            self.reads.append(
                {"conversation": conversation.id, "watermark": first, "given": len(page),
                 "at": time.monotonic()}
            )  # fmt: skip
        return JSONResponse({"activities": page, "watermark": str(first + len(page))})


@pytest.fixture(scope="module")
def service():
    server = DirectLine()
    with serving(server.app) as url:
        server.url = url
        yield server


def brand(name: str, url: str, env: str, scheme: str | None = None) -> str:
    auth = f"{{env: {env}}}" if scheme is None else f"{{env: {env}, scheme: '{scheme}'}}"
    return f"""  - id: {name}
    handles: {{webchat: {name}_bot}}
    endpoints:
      webchat:
        protocol: directline
        url: {url}
        auth: {auth}
        timeout: 2s
"""


def suite_text(brands: list[str], queries: list[tuple[str, str, str]], window="4s") -> str:
    """A suite of ``brands`` (``brand`` blocks) and queries (id, brand, text): one probe each."""
    asked = "".join(
        f"""  - id: {qid}
    category: support
    channels: [webchat]
    brands: [{name}]
    text: "{text}"
"""
        for qid, name, text in queries
    )
    return f"""suite: directline
window: {window}
pacing: {{gap: 0, concurrency: 8}}
brands:
{"".join(brands)}personas:
  - id: casual
    handles: {{webchat: jo}}
queries:
{asked}"""


ENV = {
    "ACME_DL": SECRET,
    "BETA_DL": WRONG_SECRET,
    "GAMMA_DL": SECRET,  # the right secret, sent without "Bearer"
    "DELTA_DL": STATUS_SECRET,
    "EPS_DL": ACK_SECRET,
    "RESUME_DL": RESUME_SECRET,
}


def invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV)


def run(tmp_path: Path, suite: str, *options):
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", path, "--target", "bots", "--out", out, "--quiet", *options)
    return result, out


def stored(out: Path) -> list[tuple[str, str, int]]:
    """The run store's messages: (id, text, automated), in time order."""
    with sqlite3.connect(out / "run.sqlite") as db:
        rows = db.execute("SELECT id, text, automated FROM messages ORDER BY created_at, id")
        return list(rows)


def failures(out: Path) -> dict[str, str]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {f["scenario"]: f["error"] for f in summary["run"]["failed"]}


@pytest.fixture(scope="module")
def bots_run(service, tmp_path_factory):
    """One run of five brands' probes against the service: a bot that hands over to a
    person, a wrong secret, a secret without its scheme, a bot reporting hand-off status,
    and a bot whose first conversation fails to start."""
    url = service.url
    suite = suite_text(
        [
            brand("acme", url, "ACME_DL"),
            brand("beta", url, "BETA_DL"),
            brand("gamma", url, "GAMMA_DL", scheme=""),
            brand("delta", url, "DELTA_DL"),
            brand("eps", url, "EPS_DL"),
        ],
        [
            ("router", "acme", "My router is down since this morning"),
            ("refund", "beta", "Where is my refund?"),
            ("login", "gamma", "I cannot log in"),
            ("status", "delta", "My parcel is late"),
            ("ack1", "eps", "Hello there"),
            ("ack2", "eps", "Hello again"),
        ],
    )
    service.faults[ACK_SECRET, "start"] = 1
    before = set(service.conversations)
    result, out = run(tmp_path_factory.mktemp("bots"), suite)
    assert result.exit_code == 0, result.output
    probes = read_probes(out / "probes.csv").set_index("scenario")
    return BotsRun(result, out, probes, frozenset(service.conversations) - before)


@dataclass(frozen=True)
class BotsRun:
    result: object  # click's Result
    out: Path
    probes: pd.DataFrame  # by scenario
    conversations: frozenset[str]  # the ids of the conversations the run started


def test_reply_times_are_the_services_timestamps_and_the_hand_off_counts(service, bots_run):
    out, probes = bots_run.out, bots_run.probes
    [conversation] = service.of(SECRET, bots_run.conversations)
    ack = conversation.of("message", WELCOME)
    agent = conversation.of("message", AGENT)
    probe = probes.loc["router"]
    assert probe["conversation_id"] == f"{conversation.id}:{probe['probe_id']}"
    assert probe["automated_at"] == at_ms(ack["timestamp"])
    assert probe["first_response_at"] == at_ms(agent["timestamp"])
    assert probe["handoff_s"] == pytest.approx(1.2, abs=1e-9)
    assert probe["responded"] and not probe["bot_only"]
    assert (probe["automated_messages"], probe["brand_messages"]) == (1, 1)
    assert probe["ttfa_s"] >= 0 and probe["ttfr_s"] == pytest.approx(probe["ttfa_s"] + 1.2)
    # the typing activity, the hand-off event and the customer's own echo are no replies
    ids = {i for i, _, _ in stored(out)}
    assert {ack["id"], agent["id"]} <= ids
    echo = conversation.of("message", "My router is down since this morning")
    typing, handoff = conversation.of("typing"), conversation.of("event")
    assert not {echo["id"], typing["id"], handoff["id"]} & ids


def test_activity_sets_are_read_by_watermark_each_activity_once(service, bots_run):
    [conversation] = service.of(SECRET, bots_run.conversations)
    delivered = [a["id"] for a in conversation.visible()]
    assert len(delivered) == 6  # the echo, typing, two messages, the hand-off, the end
    assert all(conversation.served[i] == 1 for i in delivered), conversation.served
    reads = [r for r in service.reads if r["conversation"] == conversation.id]
    watermarks = [r["watermark"] for r in reads]
    assert watermarks == sorted(watermarks)  # never back
    # one read a poll, as Direct Line's own clients poll; a full page is followed, at the
    # next poll, by a read from its watermark
    assert any(
        a["given"] == PAGE and b["watermark"] == a["watermark"] + PAGE
        for a, b in itertools.pairwise(reads)
    )
    # endOfConversation ends the polling: the read that gave it was the last
    assert reads[-1]["watermark"] + reads[-1]["given"] == len(conversation.activities)
    assert watermarks.count(reads[-1]["watermark"]) == 1


def assert_written_nowhere(out: Path, service: DirectLine) -> None:
    """No secret, and no conversation token the service handed out, in any file under
    ``out`` (the run store's bytes included)."""
    secrets = [*ENV.values(), *(c.token for c in service.conversations.values())]
    for path in out.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not [s for s in secrets if s.encode() in content], path


def test_the_secret_is_a_bearer_token_and_written_nowhere(service, bots_run):
    result, out = bots_run.result, bots_run.out
    starts = Counter(r["authorization"] for r in service.requests if r["path"] == PATH)
    assert starts[f"Bearer {SECRET}"] == 1 and starts[SECRET] == 1  # acme's; gamma's
    [conversation] = service.of(SECRET, bots_run.conversations)
    used = {r["authorization"] for r in service.requests if conversation.id in r["path"]}
    assert used == {f"Bearer {SECRET}"}  # the message posted and every read
    assert SECRET not in result.output and WRONG_SECRET not in result.output
    assert_written_nowhere(out, service)


@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        pytest.param("refund", 403, id="wrong-secret"),
        pytest.param("login", 401, id="no-bearer-scheme"),
    ],
)
def test_a_refused_secret_fails_its_probe_and_the_run_goes_on(bots_run, scenario, status):
    out, probes = bots_run.out, bots_run.probes
    reason = failures(out)[scenario]
    brand_id = {"refund": "beta", "login": "gamma"}[scenario]
    assert reason.startswith(f"{brand_id} webchat bot: ") and f"HTTP {status} (" in reason
    assert scenario not in probes.index
    assert probes.loc["router"]["responded"]  # the others were measured


def test_a_service_error_on_start_fails_that_probe_only(service, bots_run):
    out, probes = bots_run.out, bots_run.probes
    failed = failures(out)
    [which] = [s for s in ("ack1", "ack2") if s in failed]
    assert failed[which] == (
        "eps webchat bot: answered HTTP 500 (ServiceError: An internal service error occurred)"
    )
    [other] = {"ack1", "ack2"} - {which}
    assert probes.loc[other]["automated_messages"] == 1
    assert probes.loc[other]["bot_only"]
    [conversation] = service.of(ACK_SECRET, bots_run.conversations)  # the failed start: none
    assert conversation.posts == 1
    assert set(failed) == {"refund", "login", which}


def test_hand_off_status_accepted_then_completed_toggles_automation(service, bots_run):
    out, probes = bots_run.out, bots_run.probes
    [conversation] = service.of(STATUS_SECRET, bots_run.conversations)
    texts = {a["text"]: a for _, a in conversation.activities if a.get("text")}
    replies = [(t, auto) for _, t, auto in stored(out) if t in texts]
    assert replies == [
        ("Hello, I'm the assistant.", 1),
        ("Agent Kim here, happy to help.", 0),  # accepted: a person has it
        ("Anything else I can do for you?", 1),  # completed: back to the bot
    ]
    probe = probes.loc["status"]
    assert (probe["automated_messages"], probe["brand_messages"]) == (2, 1)
    assert probe["automated_at"] == at_ms(texts["Hello, I'm the assistant."]["timestamp"])
    assert probe["first_response_at"] == at_ms(texts["Agent Kim here, happy to help."]["timestamp"])
    assert probe["handoff_s"] == pytest.approx(0.6, abs=1e-9)


@pytest.fixture(scope="module")
def stopped_run(service, tmp_path_factory):
    """A run of two probes to a bot that acknowledges at once and hands the conversation to
    a person later, stopped (``--once``) after sending and reading once; the agents are
    held until the test releases them. The run's directory, with its files as they were."""
    suite = suite_text(
        [brand("acme", service.url, "RESUME_DL")],
        [("router", "acme", "My router is down"), ("bill", "acme", "My bill is wrong")],
        window="5s",
    )
    service.holding.add(RESUME_SECRET)
    result, out = run(tmp_path_factory.mktemp("resume"), suite, "--once")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return out, read_probes(out / "probes.csv").set_index("scenario"), summary


def conversation_of(service, probe) -> Conversation:
    return service.conversations[probe["conversation_id"].split(":")[0]]


def test_a_run_stopped_after_sending_has_read_the_acknowledgements(service, stopped_run):
    out, probes, summary = stopped_run
    assert summary["run"]["complete"] is False and summary["run"]["failed"] == []
    assert len(service.of(RESUME_SECRET)) == 2
    assert_written_nowhere(out, service)
    for _, probe in probes.iterrows():
        conversation = conversation_of(service, probe)
        assert probe["automated_at"] == at_ms(conversation.of("message")["timestamp"])
        assert pd.isna(probe["first_response_at"])  # the agents had not answered yet
        assert conversation.posts == 1


def test_a_resumed_run_collects_later_replies_and_sends_nothing_twice(service, stopped_run):
    out, first, _ = stopped_run
    service.release(RESUME_SECRET)
    time.sleep(1.6)  # the agents answer while no run is reading
    result = invoke("run", "--resume", out, "--quiet")
    assert result.exit_code == 0, repr(result.exception)
    probes = read_probes(out / "probes.csv").set_index("scenario")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["complete"] is True and summary["run"]["failed"] == []
    for scenario, probe in probes.iterrows():
        conversation = conversation_of(service, probe)
        agent = conversation.of("message", AGENT)
        assert probe["first_response_at"] == at_ms(agent["timestamp"])
        assert probe["automated_at"] == first.loc[scenario]["automated_at"]
        assert (probe["automated_messages"], probe["brand_messages"]) == (1, 1)
        assert probe["handoff_s"] > 0
    conversations = service.of(RESUME_SECRET)
    assert len(conversations) == 2  # no conversation started again
    assert [c.posts for c in conversations] == [1, 1]  # no message sent again
    replies = [i for i, _, _ in stored(out) if i.split("|")[0] in {c.id for c in conversations}]
    assert len(replies) == len(set(replies)) == 4  # two acknowledgements, two agents


# -- a poll that fails part-way, at the connector ----------------------------------------


def connector_for(service, tmp_path: Path, brands: list[str], queries) -> tuple:
    path = tmp_path / "suite.yaml"
    path.write_text(suite_text(brands, queries), encoding="utf-8")
    suite = scenarios.load_suite(path)
    return BotsConnector(suite, ENV), scenarios.expand(suite, run="unit")


async def send_then_poll_twice(connector, probes, *, fault, settle: float) -> list:
    """Send the probes, give the bots ``settle`` seconds, poll once with ``fault`` armed
    (that poll fails), then again: what the second poll found."""
    await connector.start()
    try:
        sent = [await connector.send(probe) for probe in probes]
        watch = Watch(conversations=tuple((s.conversation_id, 0.0) for s in sent))
        await asyncio.sleep(settle)
        fault()
        with pytest.raises(PollFailed, match="answered HTTP 500"):
            await connector.poll(watch)
        await asyncio.sleep(0.3)  # whatever was still reading has finished
        return await connector.poll(watch)
    finally:
        await connector.close()


def test_a_read_failing_part_way_loses_no_reply_and_keeps_the_hand_off(service, tmp_path):
    """Pages read at successive polls, the third read failing: the poll after it reads
    from the same watermark, with the hand-off state the earlier pages set."""
    connector, probes = connector_for(
        service, tmp_path, [brand("delta", service.url, "DELTA_DL")], [("late", "delta", "Late")]
    )

    async def polls() -> list:
        await connector.start()
        try:
            [sent] = [await connector.send(probe) for probe in probes]
            watch = Watch(conversations=((sent.conversation_id, 0.0),))
            await asyncio.sleep(1.6)
            found = [*await connector.poll(watch), *await connector.poll(watch)]
            service.faults[STATUS_SECRET, 2 * PAGE] = 1  # [echo, hello], [accepted, agent]
            with pytest.raises(PollFailed, match="answered HTTP 500"):
                await connector.poll(watch)
            for _ in range(3):
                found += await connector.poll(watch)
            return found
        finally:
            await connector.close()

    found = asyncio.run(polls())
    assert [(m.text, m.automated) for m in found] == [
        ("Hello, I'm the assistant.", True),
        ("Agent Kim here, happy to help.", False),
        ("Anything else I can do for you?", True),
    ]


def test_one_conversation_failing_a_poll_loses_no_other_reply(service, tmp_path):
    connector, probes = connector_for(
        service,
        tmp_path,
        [brand("eps", service.url, "EPS_DL"), brand("delta", service.url, "DELTA_DL")],
        [("hi", "eps", "Hi"), ("late", "delta", "Late")],
    )

    def fault():
        service.faults[STATUS_SECRET, "read"] = 1

    found = asyncio.run(send_then_poll_twice(connector, probes, fault=fault, settle=0.5))
    assert "Got it, thanks." in [m.text for m in found]

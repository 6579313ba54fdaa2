"""Rasa's callback channel (protocol rasa-callback) over real HTTP on loopback: the customer's
message posted to a fake Rasa that answers "success" and posts the bot's messages to the
run's receiver, before or after its answer; each post stored in the run's inbox before it is
acknowledged, read back by polling (by a resumed run too); wrong secrets, bad bodies and
bad suites refused."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pandas as pd
import pytest
from conftest import run_bots, serving
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from socialbench import scenarios
from socialbench.probing.connectors import bot_rasa_callback
from socialbench.probing.connectors.base import RunFailed, WallClock, Watch, iso
from socialbench.probing.connectors.bots import BotsConnector
from socialbench.probing.connectors.receiver import MAX_BODY, Receiver
from socialbench.probing.store import Inbox, RunStore
from socialbench.report.model import read_probes

SECRET = "cb-5ecret-t0ken-value-0123456789"
BOT = "Hi, I'm the Acme bot."
AGENT = "Agent Sam here: your order ships today."


def at(epoch: float) -> pd.Timestamp:
    return pd.Timestamp(iso(epoch))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeRasa:
    """Rasa's callback channel: answers "success" to a customer's message and posts the bot's
    two messages to ``callback`` (the URL of credentials.yml's ``callback:``), after its
    answer, or before it ("early" in the text, as Rasa itself does); "silent" posts nothing,
    "slow" answers late.
    It also tries a wrong secret once per message, as a stranger would."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.posted: list[tuple[str, int]] = []  # (what, status) of each post to the run
        self.callback = ""
        self.app = Starlette(
            routes=[
                Route("/webhooks/callback/webhook", self.webhook, methods=["POST"]),
                Route("/webhooks/rest/webhook", self.rest, methods=["POST"]),
            ]
        )

    async def webhook(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(body)
        sender, text = body["sender"], body["message"]
        if "silent" in text:
            return PlainTextResponse("success")
        if "slow" in text:
            await asyncio.sleep(1.5)
            return PlainTextResponse("success")
        if "early" in text:
            await self.post(sender)
            return PlainTextResponse("success")
        return PlainTextResponse("success", background=BackgroundTask(self.later, sender))

    async def rest(self, request: Request) -> Response:
        """The REST channel, which answers with the bot's messages instead."""
        sender = (await request.json())["sender"]
        return JSONResponse([{"recipient_id": sender, "text": BOT}])

    async def later(self, sender: str) -> None:
        await asyncio.sleep(0.3)
        await self.post(sender)

    async def post(self, sender: str) -> None:
        wrong = self.callback.rsplit("/", 1)[0] + "/not-the-secret-0123456789"
        async with httpx.AsyncClient() as client:
            for what, url, text in (("bot", self.callback, BOT), ("wrong", wrong, "stray"),
                                    ("agent", self.callback, AGENT)):  # fmt: skip
                answer = await client.post(url, json={"recipient_id": sender, "text": text})
                self.posted.append((what, answer.status_code))


@pytest.fixture(scope="module")
def rasa():
    server = FakeRasa()
    with serving(server.app) as url:
        server.url = url
        yield server


def suite_text(url: str, port: int, texts: list[str], *, callback: str | None = None) -> str:
    callback = callback or f"{{listen: 127.0.0.1:{port}, token: {{env: SB_RASA_CB}}}}"
    queries = "".join(
        f"""  - id: q{n}
    category: support
    channels: [whatsapp]
    text: "{text}"
"""
        for n, text in enumerate(texts)
    )
    return f"""suite: callback
window: 2s
pacing: {{gap: 0, concurrency: 4}}
brands:
  - id: acme
    handles: {{whatsapp: "15550001111"}}
    endpoints:
      whatsapp:
        protocol: rasa-callback
        url: {url}/webhooks/callback/webhook
        callback: {callback}
        human: ["^Agent "]
        timeout: 5s
personas:
  - id: casual
    handles: {{whatsapp: "447700900001"}}
queries:
{queries}"""


def run(tmp_path: Path, suite: str, env: dict[str, str] | None = None):
    return run_bots(tmp_path, suite, {"SB_RASA_CB": SECRET} if env is None else env)


def test_replies_posted_back_are_stored_then_measured(rasa, tmp_path):
    port = free_port()
    rasa.callback = f"http://127.0.0.1:{port}/bot/{SECRET}"
    rasa.posted.clear()
    texts = ["Where is my order 123?", "early bird: where is my order?"]
    result, out = run(tmp_path, suite_text(rasa.url, port, texts))
    assert result.exit_code == 0, result.output
    probes = read_probes(out / "probes.csv").set_index("scenario")
    with RunStore.read_only(out) as store:
        rows = store.inbox()
    assert sorted(rasa.posted) == [("agent", 200)] * 2 + [("bot", 200)] * 2 + [("wrong", 404)] * 2
    assert {row.source for row in rows} == {f"127.0.0.1:{port}/bot"}  # the secret left out
    assert "stray" not in json.dumps([row.body for row in rows])
    for scenario in ("q0", "q1"):
        probe = probes.loc[scenario]
        mine = [row for row in rows if row.key == probe["probe_id"]]  # the session: probe id
        assert [row.body["text"] for row in mine] == [BOT, AGENT]
        assert probe["responded"] and not probe["bot_only"] and probe["automated_messages"] == 1
        assert probe["first_response_at"] == at(mine[1].received_at)  # when it came in
        assert probe["automated_at"] == at(mine[0].received_at) >= probe["sent_at"]
    # no (ref:) marker; sent concurrently, so in either order
    assert sorted(body["message"] for body in rasa.received[-2:]) == sorted(texts)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in result.output


def test_a_dialogue_waits_for_the_replies_posted_back(rasa, tmp_path):
    port = free_port()
    rasa.callback = f"http://127.0.0.1:{port}/bot/{SECRET}"
    before = len(rasa.received)
    dialogue = '    dialogue:\n      - bot: "acme bot"\n      - me: "Thanks!"\n'
    result, out = run(tmp_path, suite_text(rasa.url, port, ["Where is my order 123?"]) + dialogue)
    assert result.exit_code == 0, result.output
    assert [body["message"] for body in rasa.received[before:]] == [
        "Where is my order 123?",
        "Thanks!",  # said once the bot's first message had come in
    ]
    with RunStore.read_only(out) as store:
        texts = [message.text for message, _ in store.messages()]
        assert len(store.inbox()) == 4
    assert texts.count("Thanks!") == 1 and texts.count(BOT) == 2 and texts.count(AGENT) == 2


@pytest.mark.parametrize(
    ("callback", "problem"),
    [
        pytest.param(
            None, "brands.0.endpoints.whatsapp.callback: protocol rasa-callback needs a callback",
            id="missing",
        ),
        pytest.param(
            "{listen: localhost}", "brands.0.endpoints.whatsapp.callback.listen: 'localhost' "
            "is not HOST:PORT", id="no-port",
        ),
        pytest.param(
            "{listen: '127.0.0.1:5055', path: bot}",
            "brands.0.endpoints.whatsapp.callback.path: 'bot' is not a URL path", id="path",
        ),
        pytest.param(
            "{listen: '127.0.0.1:5055', token: {env: not a name}}",
            "brands.0.endpoints.whatsapp.callback.token.env: is not an environment variable "
            "name", id="token",
        ),
    ],
)  # fmt: skip
def test_a_bad_callback_is_named_at_its_line(tmp_path, callback, problem):
    suite = suite_text("http://127.0.0.1:9", 5055, ["Hello"], callback="CALLBACK")
    line = "        callback: CALLBACK\n"
    suite = suite.replace(line, "" if callback is None else line.replace("CALLBACK", callback))
    result, out = run(tmp_path, suite)
    assert result.exit_code == 2, result.output
    line = 8 if callback is None else 11  # the endpoint's, or the callback's
    [message] = result.output.strip().splitlines()
    assert message.startswith(f"error: {tmp_path / 'suite.yaml'}:{line}: {problem}")
    assert not out.exists()


def test_a_callback_for_another_protocol_is_refused(tmp_path):
    suite = suite_text("http://127.0.0.1:9", 5055, ["Hello"]).replace("rasa-callback", "rasa")
    result, _ = run(tmp_path, suite)
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {tmp_path / 'suite.yaml'}:11: brands.0.endpoints.whatsapp.callback: "
        "only protocol rasa-callback takes a callback, not rasa"
    )


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        pytest.param({}, "environment variable SB_RASA_CB is not set", id="not-set"),
        pytest.param(
            {"SB_RASA_CB": "short"},
            "environment variable SB_RASA_CB must hold at "
            "least 16 characters among A-Z a-z 0-9 . _ ~ -",
            id="short",
        ),
        pytest.param(
            {"SB_RASA_CB": "a/b?c" * 5}, "environment variable SB_RASA_CB must hold", id="url"
        ),
    ],
)
def test_an_unusable_secret_stops_the_run_before_anything_is_sent(rasa, tmp_path, env, problem):
    before = len(rasa.received)
    result, _ = run(tmp_path, suite_text(rasa.url, free_port(), ["Hello"]), env=env)
    assert result.exit_code == 2, result.output
    [message] = result.output.strip().splitlines()
    assert message.startswith("error: ") and f"callback.token.env: {problem}" in message
    assert all(value not in message for value in env.values())
    assert len(rasa.received) == before


def test_a_callback_address_in_use_stops_the_run(rasa, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result, _ = run(tmp_path, suite_text(rasa.url, port, ["Hello"]))
    assert result.exit_code == 3, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


@pytest.mark.parametrize(
    ("webhook", "reason"),
    [
        pytest.param(
            "/webhooks/rest/webhook",
            "answered something else than the callback "
            "channel's success (application/json); is url Rasa's",
            id="rest",
        ),
        pytest.param("/nowhere/webhook", "answered HTTP 404", id="http-error"),
        pytest.param("slow", "no answer within 0.5 s", id="timeout"),
        pytest.param(
            "unreachable", "could not reach http://127.0.0.1:9: ConnectError", id="unreachable"
        ),
    ],
)
def test_a_bot_that_does_not_answer_success_fails_its_probe(rasa, tmp_path, webhook, reason):
    url = "http://127.0.0.1:9" if webhook == "unreachable" else rasa.url
    suite = suite_text(url, free_port(), ["Hello"])
    if webhook == "slow":
        suite = suite.replace("Hello", "slow down").replace("timeout: 5s", "timeout: 0.5s")
    elif webhook == "unreachable":
        suite = suite.replace("/webhooks/callback/webhook", "")
    else:
        suite = suite.replace("/webhooks/callback/webhook", webhook)
    result, out = run(tmp_path, suite)
    assert result.exit_code == 0, result.output
    [failed] = json.loads((out / "summary.json").read_text())["run"]["failed"]
    assert failed["error"].startswith(f"acme whatsapp bot: {reason}"), failed["error"]


# the receiver on its own -------------------------------------------------------------------


@pytest.fixture
def receiver(tmp_path):
    """A receiver at /bot/SECRET on a free port, storing into a fresh run's inbox."""
    store = RunStore.open(tmp_path, create=True)
    port = free_port()
    routes = {f"/bot/{SECRET}": f"127.0.0.1:{port}/bot"}
    running = Receiver(
        f"127.0.0.1:{port}", routes, directory=tmp_path,
        parse=bot_rasa_callback._messages, clock=WallClock(),
    )  # fmt: skip
    asyncio.run(running.start())
    running.url = f"http://127.0.0.1:{port}"
    yield running, store
    running.stop()
    store.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        pytest.param("POST", "/bot/not-the-secret-0123456789", {"recipient_id": "s"}, 404,
                     id="wrong-secret"),
        pytest.param("POST", "/bot", {"recipient_id": "s"}, 404, id="no-secret"),
        pytest.param("POST", f"/bot/{SECRET}/", {"recipient_id": "s"}, 404, id="trailing"),
        pytest.param("GET", f"/bot/{SECRET}", None, 405, id="get"),
        pytest.param("POST", f"/bot/{SECRET}", b"{not json", 400, id="not-json"),
        pytest.param("POST", f"/bot/{SECRET}", b"\xff\xfe\x00", 400, id="not-utf8"),
        pytest.param("POST", f"/bot/{SECRET}", b'{"recipient_id": "s", "n": NaN}', 400,
                     id="nan"),
        pytest.param("POST", f"/bot/{SECRET}", {"text": "hi"}, 400, id="no-recipient"),
        pytest.param("POST", f"/bot/{SECRET}", [], 400, id="empty-list"),
        pytest.param("POST", f"/bot/{SECRET}", [{"recipient_id": "s"}, "x"], 400,
                     id="not-an-object"),
        pytest.param("POST", f"/bot/{SECRET}",
                     {"recipient_id": "s", "text": "x" * MAX_BODY}, 400, id="too-large"),
    ],
)  # fmt: skip
def test_the_receiver_refuses_and_stores_nothing(receiver, capfd, method, path, body, status):
    running, store = receiver
    content = body if isinstance(body, bytes) else None
    payload = None if isinstance(body, bytes) else body
    answer = httpx.request(method, running.url + path, json=payload, content=content)
    assert answer.status_code == status, answer.text
    assert SECRET not in answer.text
    assert store.inbox() == []
    assert SECRET not in "".join(capfd.readouterr())


def test_the_receiver_stores_before_it_answers(receiver):
    running, store = receiver
    url = f"{running.url}/bot/{SECRET}"
    one = httpx.post(url, json={"recipient_id": "s1", "text": "one", "token": "dropped"})
    assert one.status_code == 200 and one.json() == {"stored": 1}
    rows = store.inbox()  # committed by the time the 200 came back
    assert [(row.key, row.body) for row in rows] == [("s1", {"recipient_id": "s1", "text": "one"})]
    many = [{"recipient_id": "s2", "text": "two"}, {"recipient_id": "s1", "image": "i.png"}]
    assert httpx.post(url, json=many).json() == {"stored": 2}  # the form Rasa's docs show
    assert [row.seq for row in store.inbox(rows[0].seq, key="s1")] == [rows[0].seq + 2]


# a resumed run -----------------------------------------------------------------------------


def test_a_resumed_run_reads_the_replies_that_came_before_it_stopped(tmp_path):
    port = free_port()
    path = tmp_path / "suite.yaml"
    path.write_text(suite_text("http://127.0.0.1:9", port, ["Hello"]), encoding="utf-8")
    suite = scenarios.load_suite(path)
    [probe] = scenarios.expand(suite)
    source = f"127.0.0.1:{port}/bot"
    with RunStore.open(tmp_path / "run", create=True) as store:
        inbox = Inbox.open(tmp_path / "run")  # what the receiver stored before the crash
        inbox.add(source, [(probe.probe_id, {"recipient_id": probe.probe_id, "text": BOT})], 1e9)
        inbox.add(source, [("someone-else", {"recipient_id": "someone-else", "text": "no"})], 2e9)
        inbox.close()

        async def resume() -> tuple[list, list]:
            connector = BotsConnector(suite, {"SB_RASA_CB": SECRET}, out_dir=tmp_path / "run")
            connector.watching(probe, f"{probe.probe_id}:{probe.probe_id}", probe.probe_id)
            await connector.start()
            try:
                watch = Watch(conversations=((probe.probe_id, 0.0),), personas=())
                return await connector.poll(watch), await connector.poll(watch)
            finally:
                await connector.close()

        first, second = asyncio.run(resume())
        assert store.schema_version >= 3
    assert [(m.id, m.text, m.created_at, m.automated) for m in first] == [
        ("rasa-cb:1", BOT, iso(1e9), True)
    ]
    assert second == []  # read once


def test_a_receiver_cannot_take_an_address_in_use(tmp_path):
    with RunStore.open(tmp_path, create=True), socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        running = Receiver(listen, {"/bot": "x"}, directory=tmp_path, parse=list,
                           clock=WallClock())  # fmt: skip
        with pytest.raises(RunFailed, match=f"cannot listen on {listen}"):
            asyncio.run(running.start())

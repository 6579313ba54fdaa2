"""run --target bots: probes sent as the customer to brands' chatbots over real HTTP on
loopback (a generic JSON endpoint and Rasa's REST channel), automated replies told from
human ones, misbehaving endpoints failing their probe only, credentials never written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import run_bots, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from socialbench.cli import main
from socialbench.probing.connectors import bot_http
from socialbench.probing.connectors.bots import BotError, BotsConnector
from socialbench.report.model import read_probes

TOKEN = "sk-test-5ecret-t0ken-value"


class BotServer:
    """Two chatbots: a JSON endpoint (``/chat``) whose answer depends on the customer's
    words, and a Rasa REST webhook; every request is recorded."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.app = Starlette(
            routes=[
                Route("/chat", self.chat, methods=["POST"]),
                Route("/webhooks/rest/webhook", self.rasa, methods=["POST"]),
                Route("/convo", self.convo, methods=["POST"]),
            ]
        )

    async def convo(self, request: Request) -> Response:
        """A bot that asks for an e-mail address before it answers."""
        body = await request.json()
        self.requests.append({"path": "/convo", "body": body, "headers": dict(request.headers)})
        if "@" in body["text"]:
            reply = "Thanks! Order 123 ships tomorrow: https://acme.example/track"
        else:
            reply = "Sorry to hear that. What is your e-mail address?"
        return JSONResponse({"replies": [{"text": reply}]})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"path": "/chat", "body": body, "headers": dict(request.headers)})
        text = body["text"]
        if "slow" in text:
            await asyncio.sleep(2)
        if "html" in text:
            return PlainTextResponse("<html>maintenance</html>", media_type="text/html")
        if "boom" in text:
            return PlainTextResponse("internal error", status_code=500)
        if "broken" in text:
            return Response("{not json", media_type="application/json")
        replies = [{"text": "Thanks! I'm the Acme assistant."}]
        if "agent" in text:
            replies.append({"text": "Agent Sam here: please try a restart."})
        return JSONResponse({"session": body["session"], "replies": replies})

    async def rasa(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"path": "/rasa", "body": body, "headers": dict(request.headers)})
        sender = body["sender"]
        return JSONResponse(
            [
                {"recipient_id": sender, "text": "Hi, I can help with that."},
                {"recipient_id": sender, "image": "https://beta.example/help.png"},
            ]
        )


@pytest.fixture(scope="module")
def bots():
    server = BotServer()
    with serving(server.app) as url:
        server.url = url
        yield server


def suite_text(url: str, texts: list[str], *, auth: bool = True) -> str:
    acme_auth = "\n        auth: {env: ACME_BOT_TOKEN}" if auth else ""
    queries = "\n".join(
        f"""  - id: q{n}
    category: support
    channels: [webchat]
    brands: [acme]
    text: "{text}"
"""
        for n, text in enumerate(texts)
    )
    return f"""suite: bots
window: 1h
pacing: {{gap: 0, concurrency: 4}}
brands:
  - id: acme
    handles: {{webchat: acme_bot}}
    endpoints:
      webchat:
        url: {url}/chat
        replies: "$.replies[*].text"
        human: ["^Agent "]
        timeout: 0.5s{acme_auth}
  - id: beta
    handles: {{whatsapp: "15550001111"}}
    endpoints:
      whatsapp:
        protocol: rasa
        url: {url}/webhooks/rest/webhook
personas:
  - id: casual
    handles: {{webchat: jo, whatsapp: "447700900001"}}
queries:
{queries}  - id: rasa
    category: support
    channels: [whatsapp]
    brands: [beta]
    text: "Where is my order 123?"
"""


def run(tmp_path: Path, suite: str, env: dict[str, str] | None = None):
    return run_bots(tmp_path, suite, {"ACME_BOT_TOKEN": TOKEN} if env is None else env)


def test_a_suite_probes_two_bots_and_tells_automation_from_a_human(bots, tmp_path):
    result, out = run(tmp_path, suite_text(bots.url, ["My router is down", "I need an agent"]))
    assert result.exit_code == 0, result.output
    probes = read_probes(out / "probes.csv").set_index("scenario")
    assert set(probes.index) == {"q0", "q1", "rasa"}
    bot_only = probes.loc["q0"]
    assert bot_only["bot_only"] and not bot_only["responded"]
    assert bot_only["automated_messages"] == 1 and bot_only["ttfa_s"] >= 0
    handed = probes.loc["q1"]
    assert handed["responded"] and not handed["bot_only"]
    assert handed["handoff_s"] == pytest.approx(0.0) and handed["brand_messages"] == 1
    rasa = probes.loc["rasa"]
    assert rasa["channel"] == "whatsapp" and rasa["automated_messages"] == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["automated"] == 3 and summary["run"]["live"] is True
    sent = {r["body"].get("text") or r["body"].get("message"): r for r in bots.requests}
    chat = sent["I need an agent"]
    assert chat["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert chat["body"]["session"] == handed["probe_id"]  # its own conversation
    assert "(ref:" not in json.dumps([r["body"] for r in bots.requests])


def test_the_credential_is_written_nowhere(bots, tmp_path):
    result, out = run(tmp_path, suite_text(bots.url, ["Hello"]))
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("please be slow", "no answer within 0.5 s"),
        ("html please", "not JSON (text/html)"),
        ("boom", "answered HTTP 500"),
        ("broken", "not JSON (application/json)"),
    ],
)
def test_a_misbehaving_bot_fails_its_probe_and_the_run_goes_on(bots, tmp_path, text, reason):
    result, out = run(tmp_path, suite_text(bots.url, [text, "Hello"]))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    [failed] = summary["run"]["failed"]
    assert failed["scenario"] == "q0" and reason in failed["error"]
    assert failed["error"].startswith("acme webchat bot: ")
    assert summary["overall"]["probes"] == 2  # the other two were measured


def test_an_unreachable_bot_fails_its_probes(tmp_path):
    result, out = run(tmp_path, suite_text("http://127.0.0.1:9", ["Hello"]))
    assert result.exit_code == 0, result.output
    errors = [f["error"] for f in json.loads((out / "summary.json").read_text())["run"]["failed"]]
    assert len(errors) == 2 and all("could not reach" in e for e in errors)


def test_a_missing_credential_is_named_before_anything_is_sent(bots, tmp_path):
    before = len(bots.requests)
    result, out = run(tmp_path, suite_text(bots.url, ["Hello"]), env={"ACME_BOT_TOKEN": ""})
    assert result.exit_code == 2
    assert "brands.0.endpoints.webchat.auth.env: environment variable ACME_BOT_TOKEN is empty" in (
        result.output
    )
    assert len(bots.requests) == before and not out.exists()


def test_a_brand_without_an_endpoint_for_a_channel_is_refused(bots, tmp_path):
    suite = suite_text(bots.url, ["Hello"]).replace("channels: [whatsapp]", "channels: [webchat]")
    suite = suite.replace("handles: {whatsapp: ", "handles: {webchat: x, whatsapp: ")
    result, _ = run(tmp_path, suite)
    assert result.exit_code == 2
    assert "brand 'beta' has no endpoint for webchat" in result.output


def test_a_reply_path_that_is_neither_jsonpath_nor_jinja_is_refused(tmp_path):
    suite = suite_text("http://127.0.0.1:9", ["Hello"]).replace("$.replies[*].text", "replies")
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "brands.0.endpoints.webchat.replies" in result.output and "JSONPath" in result.output


def test_a_reply_expression_with_a_typo_is_refused_by_validate(tmp_path):
    expression = "{{ response.data | map(attribute='says' | list }}"
    suite = suite_text("http://127.0.0.1:9", ["Hello"]).replace(
        '"$.replies[*].text"', f'"{expression}"'
    )
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "brands.0.endpoints.webchat.replies" in result.output
    assert "is not a Jinja expression" in result.output


class _Endpoint:
    replies = "{{ response.data | map(attribute='says') | list }}"


def test_replies_by_a_jinja_expression_or_a_jsonpath():
    answer = {"data": [{"says": "one"}, {"says": "two"}], "messages": [{"text": "three"}]}
    assert [r.text for r in bot_http.replies(_Endpoint(), answer)] == ["one", "two"]
    _Endpoint.replies = "$.messages[*].text"
    assert [r.text for r in bot_http.replies(_Endpoint(), answer)] == ["three"]
    _Endpoint.replies = "$.messages[*]"
    with pytest.raises(BotError, match="gives dicts, not texts"):
        bot_http.replies(_Endpoint(), answer)


def test_a_probe_cut_short_by_a_crash_is_not_sent_again():
    from socialbench.probing.connectors.base import SendFailed
    from socialbench.scenarios.models import Suite

    suite = Suite.model_validate(
        {"suite": "s", "brands": [{"id": "a", "handles": {"webchat": "a"}}],
         "personas": [{"id": "p", "handles": {"webchat": "p"}}],
         "queries": [{"id": "q", "category": "c", "channels": ["webchat"], "text": "hi"}]}
    )  # fmt: skip
    connector = BotsConnector(suite, {})
    with pytest.raises(SendFailed, match="not sent again"):
        asyncio.run(connector.find_sent(None))


DIALOGUE_SUITE = """suite: convo
window: 1h
brands:
  - id: acme
    handles: {{webchat: acme_bot}}
    endpoints:
      webchat: {{url: "{url}/convo", replies: "$.replies[*].text"}}
personas:
  - id: casual
    handles: {{webchat: jo}}
queries:
  - id: order
    category: delivery
    channels: [webchat]
    text: "My order 123 has not arrived"
    dialogue:
      - bot: "{pattern}"
      - me: "It is {{{{ persona.handle }}}}@example.com"
      - bot: "ships"
"""


def test_a_scripted_dialogue_answers_the_bot_and_keeps_every_turn(bots, tmp_path):
    from socialbench.probing.store import RunStore

    before = len(bots.requests)
    result, out = run(tmp_path, DIALOGUE_SUITE.format(url=bots.url, pattern="(?i)e-?mail"))
    assert result.exit_code == 0, result.output
    said = [r["body"]["text"] for r in bots.requests[before:]]
    assert said == ["My order 123 has not arrived", "It is jo@example.com"]
    [probe] = read_probes(out / "probes.csv").to_dict("records")
    assert probe["automated_messages"] == 2 and probe["bot_only"]
    with RunStore.read_only(out) as store:
        texts = [message.text for message, _ in store.messages()]
    assert texts == [
        "Sorry to hear that. What is your e-mail address?",
        "It is jo@example.com",
        "Thanks! Order 123 ships tomorrow: https://acme.example/track",
    ]


def test_a_bot_step_not_met_ends_the_dialogue(bots, tmp_path):
    before = len(bots.requests)
    result, out = run(tmp_path, DIALOGUE_SUITE.format(url=bots.url, pattern="order number"))
    assert result.exit_code == 0, result.output
    assert [r["body"]["text"] for r in bots.requests[before:]] == ["My order 123 has not arrived"]
    [probe] = read_probes(out / "probes.csv").to_dict("records")
    assert probe["automated_messages"] == 1


def test_a_step_is_either_said_or_awaited(tmp_path):
    suite = DIALOGUE_SUITE.format(url="http://127.0.0.1:9", pattern="x").replace(
        '- me: "It is', '- bot: ".*"\n        me: "It is'
    )
    result, _ = run(tmp_path, suite)
    assert result.exit_code == 2
    assert "dialogue.1" in result.output and "either `me: TEXT` or `bot: PATTERN`" in result.output
    assert "Traceback" not in result.output


def test_a_target_refuses_a_dialogue_where_it_has_no_bot(tmp_path):
    suite = DIALOGUE_SUITE.format(url="http://127.0.0.1:9", pattern="x")
    suite = suite.replace("webchat: acme_bot", "x: AcmeAir, webchat: acme_bot")
    suite = suite.replace("webchat: jo", "x: jo, webchat: jo").replace("[webchat]", "[x]")
    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["run", str(path), "--target", "sandbox", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "holds scripted dialogues on messenger, whatsapp, webchat only" in result.output

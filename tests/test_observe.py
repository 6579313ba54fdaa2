"""socialbench observe: Meta webhooks received over real loopback HTTP by the command itself
(a child process), signed as Meta signs them, stored before they are acknowledged, measured
by ``report`` and ``check`` at any time."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.probing.observe import events

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "verify-me-0123456789"
SECRET = "app-secret-abcdef0123456789"
ENV = {"SB_META_VERIFY_TOKEN": TOKEN, "SB_META_APP_SECRET": SECRET}
BUSINESS = "15550001111"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def whatsapp(messages=(), statuses=(), *, customer="447700900123") -> dict:
    """A WhatsApp Cloud API webhook body (the shape of Meta's examples)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": "1122334455667"},
        "contacts": [{"profile": {"name": "Jo"}, "wa_id": customer}],
    }
    if messages:
        value["messages"] = [
            {"from": customer, "id": mid, "timestamp": str(at), "type": "text",
             "text": {"body": text}}
            for mid, at, text in messages
        ]  # fmt: skip
    if statuses:
        value["statuses"] = [
            {"id": mid, "status": status, "timestamp": str(at), "recipient_id": customer}
            for mid, at, status in statuses
        ]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


class Observer:
    """``socialbench observe`` in a child process, on a free loopback port."""

    def __init__(self, out: Path, *extra: str) -> None:
        env = {**os.environ, **ENV}
        cmd = [sys.executable, "-m", "socialbench", "observe", "--out", str(out),
               "--listen", "127.0.0.1:0", *extra]  # fmt: skip
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        assert "observing: Meta webhooks at " in line, line + self.process.stderr.read()
        self.url = line.split(" at ", 1)[1].split()[0]
        self.client = httpx.Client(timeout=10)

    def post(self, payload, *, secret: str = SECRET, raw: bytes | None = None, headers=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        sent = signed(body, secret) if headers is None else headers
        return self.client.post(self.url, content=body, headers=sent)

    def stop(self, sig=signal.SIGINT) -> str:
        self.client.close()
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=20)
        return err


@pytest.fixture
def observer(tmp_path):
    running = Observer(tmp_path / "care")
    yield running
    if running.process.poll() is None:
        running.stop()
    running.client.close()
    running.process.stdout.close()
    running.process.stderr.close()


def test_the_verification_handshake_answers_the_challenge_only_with_the_token(observer):
    ok = observer.client.get(observer.url, params={"hub.mode": "subscribe",
                             "hub.verify_token": TOKEN, "hub.challenge": "1158201444"})  # fmt: skip
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = observer.client.get(observer.url, params={"hub.mode": "subscribe",
                                "hub.verify_token": "nope", "hub.challenge": "1"})  # fmt: skip
    assert wrong.status_code == 403


def test_unsigned_or_badly_signed_bodies_are_refused_and_nothing_is_stored(observer, tmp_path):
    body = whatsapp(messages=[("wamid.A", 1_700_000_000, "hello")])
    assert observer.post(body, headers={"Content-Type": "application/json"}).status_code == 401
    assert observer.post(body, secret="another-secret").status_code == 403
    assert observer.post(None, raw=b"{not json").status_code == 400
    assert observer.post({"object": "payments", "entry": []}).status_code == 400
    assert observer.post(None, raw=b"[" * 2_000_000).status_code == 400  # over the limit
    err = observer.stop()
    assert err.count("observe: refused a webhook") == 5
    assert SECRET not in err and TOKEN not in err
    result = CliRunner().invoke(main, ["report", str(tmp_path / "care"), "--format", "json"])
    assert result.exit_code == 2 and "no webhook event has arrived yet" in result.output


def test_an_acknowledged_event_is_stored_and_a_retry_adds_nothing(observer, tmp_path):
    first = whatsapp(messages=[("wamid.A", 1_700_000_000, "My order 123 never came")])
    assert observer.post(first).status_code == 200
    os.kill(observer.process.pid, signal.SIGKILL)  # acknowledged: on disk before the 200
    observer.process.wait(10)
    observer.client.close()
    again = Observer(tmp_path / "care")  # the same directory, observed further
    try:
        assert again.post(first).status_code == 200  # Meta's retry
        reply = whatsapp(statuses=[("wamid.B", 1_700_000_600, "sent"),
                                   ("wamid.B", 1_700_000_660, "delivered")])  # fmt: skip
        assert again.post(reply).status_code == 200
    finally:
        again.stop()
    from socialbench.probing.store import RunStore

    with RunStore.read_only(tmp_path / "care") as store:
        stored = store.webhook_events()
    assert len(stored) == 3  # the message once, two statuses
    assert all(SECRET not in body and TOKEN not in body for _, body in stored)


def test_report_and_check_measure_what_has_arrived_at_any_time(observer, tmp_path):
    now = int(time.time())
    observer.post(whatsapp(messages=[("wamid.1", now - 7200, "Where is my refund?")],
                           customer="447700900001"))  # fmt: skip
    observer.post(whatsapp(statuses=[("wamid.r1", now - 6600, "sent")], customer="447700900001"))
    observer.post(whatsapp(messages=[("wamid.2", now - 60, "Still waiting")],
                           customer="447700900002"))  # fmt: skip
    care = tmp_path / "care"
    result = CliRunner().invoke(main, ["report", str(care), "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["overall"]["probes"] == 2 and summary["overall"]["responded"] == 1
    assert summary["observed"]["events"] == 3
    probes = (care / "probes.csv").read_text()
    assert "600" in probes  # ten minutes to the first reply
    waiting = [line for line in probes.splitlines() if "wamid.2" in line]
    assert waiting and ",false," in waiting[0]
    targets = tmp_path / "targets.yaml"  # two probes: fewer than --min-group, so say so
    targets.write_text('response_rate: [{threshold: "rate >= 0.4", min_samples: 2}]\n')
    checked = CliRunner().invoke(main, ["check", str(care), "--thresholds", str(targets), "-q"])
    assert checked.exit_code == 0, checked.output
    markdown = CliRunner().invoke(main, ["report", str(care), "--format", "md", "-o", "-"])
    assert "**Observed inbox** (webhooks) since " in markdown.output
    html = CliRunner().invoke(main, ["report", str(care), "--format", "html"])
    assert html.exit_code == 0, html.output
    assert "An inbox observed through its webhooks since" in (care / "report.html").read_text()
    observer.post(whatsapp(statuses=[("wamid.r2", now, "sent")], customer="447700900002"))
    again = CliRunner().invoke(main, ["report", str(care), "--format", "json", "-o", "-"])
    assert json.loads(again.output)["overall"]["responded"] == 2  # figures move as events come


def messenger(sender: str, recipient: str, mid: str, at_ms: int, text: str, echo=False) -> dict:
    """A Messenger webhook body (the Messenger Platform's ``messages`` event)."""
    message = {"mid": mid, "text": text} | ({"is_echo": True, "app_id": 1517} if echo else {})
    return {"object": "page", "entry": [{"id": "PAGE1", "time": at_ms, "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": at_ms,
         "message": message}]}]}  # fmt: skip


def test_messenger_echoes_are_the_pages_replies_and_an_unanswered_chat_counts(observer, tmp_path):
    now_ms = int(time.time() * 1000)
    observer.post(messenger("U1", "PAGE1", "m_1", now_ms - 3_600_000, "My parcel is lost"))
    observer.post(messenger("PAGE1", "U1", "m_2", now_ms - 3_000_000,
                            "Sorry! DM us your order number: https://acme.example/track",
                            echo=True))  # fmt: skip
    observer.post(messenger("U2", "PAGE1", "m_3", now_ms - 60_000, "Hello?"))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "care"), "--format", "json",
                                       "-o", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    [brand] = summary["groups"]["brand"]
    assert (brand["brand"], brand["probes"], brand["responded"]) == ("PAGE1", 2, 1)
    assert summary["observed"]["notes"] == []
    from socialbench.report.model import read_probes

    probes = read_probes(tmp_path / "care" / "probes.csv").set_index("probe_id")
    assert probes.loc["m_1", "ttfr_s"] == 600 and probes.loc["m_1", "dm"]
    assert probes.loc["m_3", "watched_s"] < 120  # still open: watched until now


def test_missing_secrets_and_a_bad_address_are_usage_errors(tmp_path):
    result = CliRunner().invoke(main, ["observe", "--out", str(tmp_path / "o")], env={
        "SB_META_VERIFY_TOKEN": TOKEN, "SB_META_APP_SECRET": ""})  # fmt: skip
    assert result.exit_code == 2
    assert "environment variable SB_META_APP_SECRET is empty" in result.output
    result = CliRunner().invoke(main, ["observe", "--out", str(tmp_path / "o"),
                                       "--listen", "localhost"], env=ENV)  # fmt: skip
    assert result.exit_code == 2 and "is not HOST:PORT" in result.output


def test_a_body_is_cut_into_events_keyed_for_retries():
    body = whatsapp(messages=[("wamid.A", 1, "a"), ("wamid.B", 2, "b")],
                    statuses=[("wamid.C", 3, "sent"), ("wamid.C", 4, "read")])  # fmt: skip
    found = events.split(body)
    assert [e.key for e in found] == [
        "whatsapp:message:wamid.A", "whatsapp:message:wamid.B",
        "whatsapp:status:wamid.C:sent", "whatsapp:status:wamid.C:read",
    ]  # fmt: skip
    value = found[0].body["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["id"] == "wamid.A" and "statuses" not in value
    assert value["metadata"]["display_phone_number"] == BUSINESS
    messenger = {"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": [
        {"sender": {"id": "U"}, "recipient": {"id": "PAGE"}, "timestamp": 1,
         "message": {"mid": "m_1", "text": "hi"}},
        {"sender": {"id": "PAGE"}, "recipient": {"id": "U"}, "timestamp": 2,
         "message": {"mid": "m_2", "text": "hello", "is_echo": True}}]}]}  # fmt: skip
    assert [e.key for e in events.split(messenger)] == ["page:message:m_1", "page:message:m_2"]
    with pytest.raises(events.BadBody, match="unknown object"):
        events.split({"object": "user", "entry": []})


def test_a_channel_without_brand_replies_is_noted(observer, tmp_path):
    observer.post(whatsapp(messages=[("wamid.X", int(time.time()) - 30, "Anyone there?")]))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "care"), "--format", "json",
                                       "-o", "-"])  # fmt: skip
    [note] = json.loads(result.output)["observed"]["notes"]
    assert note.startswith("whatsapp (private): no brand reply arrived; the Cloud API sends")


def test_instagram_messages_and_comments_are_observed(observer, tmp_path):
    account, now = "17841405309211844", int(time.time())
    dm = {"object": "instagram", "entry": [{"id": account, "time": now * 1000, "messaging": [
        {"sender": {"id": "IGSID1"}, "recipient": {"id": account}, "timestamp": (now - 900) * 1000,
         "message": {"mid": "aWdfZAG1", "text": "Is my order shipped?"}}]}]}  # fmt: skip
    echo = {"object": "instagram", "entry": [{"id": account, "time": now * 1000, "messaging": [
        {"sender": {"id": account}, "recipient": {"id": "IGSID1"}, "timestamp": (now - 600) * 1000,
         "message": {"mid": "aWdfZAG2", "text": "Yes, it left!", "is_echo": True}}]}]}  # fmt: skip
    comment = {"object": "instagram", "entry": [{"id": account, "time": now - 120, "changes": [
        {"field": "comments", "value": {"id": "179_1", "text": "Do you ship to Canada?",
         "from": {"id": "6001", "username": "jo.k"},
         "media": {"id": "180_1", "media_product_type": "FEED"}}}]}]}  # fmt: skip
    for body in (dm, echo, comment, comment):  # the comment delivered twice: one event
        assert observer.post(body).status_code == 200
    result = CliRunner().invoke(main, ["report", str(tmp_path / "care"), "--format", "json",
                                       "-o", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["observed"]["events"] == 3
    channels = {(r["channel"], r["probes"], r["responded"]) for r in summary["groups"]["channel"]}
    assert channels == {("instagram", 2, 1)}
    from socialbench.report.model import read_probes

    probes = read_probes(tmp_path / "care" / "probes.csv").set_index("probe_id")
    assert (
        probes.loc["aWdfZAG1", "ttfr_s"] == 300 and probes.loc["aWdfZAG1", "surface"] == "private"
    )
    assert not probes.loc["179_1", "responded"] and probes.loc["179_1", "surface"] == "public"
    [note] = summary["observed"]["notes"]
    assert note.startswith("instagram (public): no brand reply arrived; Instagram does not")

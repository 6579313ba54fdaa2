"""The sandbox as a server facing hostile clients, over real loopback HTTP: request bodies
capped before they are read, texts within X's limits, deeply nested JSON refused without a
traceback, the /_sandbox routes behind an admin token (and no serving beyond loopback
without one), and a fault's endless hang ended quietly when the server stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.probing.sandbox import PlatformClock, World, serve_in_thread
from socialbench.probing.sandbox.admin import ADMIN_TOKEN_ENV, is_loopback
from socialbench.probing.sandbox.intake import MAX_BODY, MAX_TEXT, MAX_TWEET_WEIGHT
from socialbench.probing.sandbox.profile import Faults, Profile
from socialbench.scenarios.templates import MAX_TEXT as MAX_RENDERED

START = "2026-01-05T09:00:00Z"
DIRECTLINE = "/v3/directline/conversations"
ACCOUNTS = {
    "brands": [{"id": "acme", "name": "Acme", "handle": "AcmeHelp"}],
    "personas": [{"handle": "jo"}],
    "bots": [{"id": "acme", "name": "Acme", "handles": {"webchat": "acme_bot"}}],
}
HANG_PROFILE = "faults:\n  timeout: 1.0\n  timeout_s: 31536000\n"
SUITE = """\
suite: tiny
window: 1h
brands:
  - id: acme
    name: Acme
    handles: {x: AcmeHelp, webchat: acme_bot}
personas:
  - id: jo
    handles: {x: jo, webchat: jo}
queries:
  - id: late
    category: delivery
    channels: [x, webchat]
    text: "where is my order?"
"""


class Records(logging.Handler):
    """The uvicorn log records of ERROR or worse (a traceback is logged at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def sandbox(*, admin_token=None, faults=None, speed=0.0):
    """A sandbox served from a thread: its URL, its world and its uvicorn errors (watched
    from the moment it started, as uvicorn configures its loggers before)."""
    profile = Profile(faults=faults or Faults())
    world = World(profile=profile, clock=PlatformClock(start=START, speed=speed))
    handle = serve_in_thread(world, admin_token=admin_token)
    errors = Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(errors)
    try:
        yield handle, errors
    finally:
        handle.stop()
        logger.removeHandler(errors)


@pytest.fixture
def served():
    """A sandbox with the accounts registered: URL, uvicorn errors, tokens and bot secrets."""
    with sandbox() as (handle, errors):
        accounts = httpx.post(handle.url + "/_sandbox/accounts", json=ACCOUNTS, timeout=5)
        assert accounts.status_code == 200, accounts.text
        yield handle.url, errors, accounts.json()


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def raw_exchange(url: str, head: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send a request's head and ``body`` (possibly not all of what the head announces) on
    a socket of its own, then read the answer to the end of the connection: status,
    headers (lower-case), body. The server must answer without waiting for the rest."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection
            answer += chunk
    top, _, content = answer.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, content


def chunked_over_the_limit() -> bytes:
    """Chunks of a body one byte over MAX_BODY, the last one's data cut off right after
    that byte (no final chunk): the body never ends."""
    piece = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MAX_BODY // len(piece))
    return b"".join(chunks) + b"10\r\nx"  # a chunk of 16 bytes of which 1 is sent


# -- request bodies -----------------------------------------------------------------------

ROUTES = [
    pytest.param("/2/tweets", "application/problem+json", id="x"),
    pytest.param("/_sandbox/accounts", "application/problem+json", id="sandbox"),
    pytest.param(DIRECTLINE + "/c1/activities", "application/json", id="directline"),
]


def _is_too_large(status: int, headers: dict, content: bytes, media: str, path: str) -> None:
    assert status == 413, content
    assert headers["content-type"] == media
    assert headers["connection"] == "close"
    body = json.loads(content)
    if path.startswith(DIRECTLINE):
        assert body["error"]["code"] == "MessageSizeTooBig"
        assert f"{MAX_BODY:,} bytes" in body["error"]["message"]
    else:
        assert body["status"] == 413 and f"{MAX_BODY:,} bytes" in body["detail"]


@pytest.mark.parametrize(("path", "media"), ROUTES)
def test_a_body_declared_over_the_limit_is_refused_before_any_of_it_is_sent(served, path, media):
    url, errors, _ = served
    head = (
        f"POST {path} HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n"
        f"Content-Length: {300 * 1024 * 1024}"
    )
    status, headers, content = raw_exchange(url, head)  # not one byte of the body sent
    _is_too_large(status, headers, content, media, path)
    assert not errors.records


@pytest.mark.parametrize(("path", "media"), ROUTES)
def test_a_chunked_body_is_refused_once_it_passes_the_limit(served, path, media):
    url, errors, _ = served
    head = f"POST {path} HTTP/1.1\r\nHost: sandbox\r\nTransfer-Encoding: chunked"
    status, headers, content = raw_exchange(url, head, chunked_over_the_limit())
    _is_too_large(status, headers, content, media, path)
    assert not errors.records


def test_a_body_just_within_the_limit_is_read():
    padded = b"{}" + b" " * (MAX_BODY - 2)  # exactly MAX_BODY bytes of JSON
    with sandbox() as (handle, errors):
        answer = httpx.post(handle.url + "/_sandbox/accounts", content=padded, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tokens"] == {}


# -- texts --------------------------------------------------------------------------------

TOO_LONG = [
    pytest.param("@AcmeHelp " + "a" * 271, f"{MAX_TWEET_WEIGHT}", id="281-latin"),
    pytest.param("@AcmeHelp " + "字" * 136, f"{MAX_TWEET_WEIGHT}", id="cjk-weighs-2"),
    pytest.param("https://a.example/" + "b" * MAX_TEXT, f"{MAX_TEXT:,}", id="link-25001"),
]


@pytest.mark.parametrize(("text", "limit"), TOO_LONG)
def test_a_post_over_x_s_limit_is_refused_naming_it(served, text, limit):
    url, _, accounts = served
    answer = httpx.post(
        url + "/2/tweets", json={"text": text}, headers=bearer(accounts["tokens"]["jo"])
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    message = answer.json()["errors"][0]["message"]
    assert message.startswith("$.text: the text is ") and limit in message


def test_a_post_at_the_limit_and_a_long_link_are_accepted(served):
    url, _, accounts = served
    auth = bearer(accounts["tokens"]["jo"])
    at_limit = "@AcmeHelp " + "a" * (MAX_TWEET_WEIGHT - 10)
    link = "@AcmeHelp see https://help.example/" + "x" * 400  # a link weighs 23
    for text in (at_limit, link):
        answer = httpx.post(url + "/2/tweets", json={"text": text}, headers=auth)
        assert answer.status_code == 201, answer.text


def test_a_dm_over_x_s_limit_is_refused_naming_it(served):
    url, _, accounts = served
    brand = httpx.get(
        url + "/2/users/by/username/AcmeHelp", headers=bearer(accounts["tokens"]["jo"])
    ).json()["data"]["id"]
    answer = httpx.post(
        f"{url}/2/dm_conversations/with/{brand}/messages",
        json={"text": "a" * 10_001},
        headers=bearer(accounts["tokens"]["jo"]),
    )
    assert answer.status_code == 400, answer.text
    assert "10,000" in answer.json()["errors"][0]["message"]


def test_a_directline_text_over_the_limit_is_refused_naming_it(served):
    url, _, accounts = served
    auth = bearer(accounts["bots"]["acme"]["webchat"])
    with httpx.Client(base_url=url, timeout=10, headers=auth) as client:
        cid = client.post(DIRECTLINE).json()["conversationId"]
        message = {"type": "message", "from": {"id": "jo"}, "text": "a" * (MAX_TEXT + 1)}
        answer = client.post(f"{DIRECTLINE}/{cid}/activities", json=message)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "MessageSizeTooBig"
        assert f"{MAX_TEXT:,}" in answer.json()["error"]["message"]
        message["text"] = "a" * MAX_RENDERED  # the longest text a suite renders fits
        assert client.post(f"{DIRECTLINE}/{cid}/activities", json=message).status_code == 200


# -- nested JSON --------------------------------------------------------------------------

NESTED = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/2/tweets", id="tweet"),
        pytest.param("/2/dm_conversations/with/1234567/messages", id="dm"),
        pytest.param("/_sandbox/accounts", id="accounts"),
        pytest.param(DIRECTLINE + "/{cid}/activities", id="directline"),
    ],
)
def test_deeply_nested_json_is_a_400_without_a_traceback(served, path):
    url, errors, accounts = served
    if path.startswith(DIRECTLINE):
        auth = bearer(accounts["bots"]["acme"]["webchat"])
        cid = httpx.post(url + DIRECTLINE, headers=auth).json()["conversationId"]
        path = path.format(cid=cid)
    else:
        auth = bearer(accounts["tokens"]["jo"])
    answer = httpx.post(url + path, content=NESTED, headers=auth, timeout=10)
    assert answer.status_code == 400, answer.text
    assert "nested deeper than 200 levels" in answer.text
    assert not errors.records, [r.getMessage() for r in errors.records]


# -- the admin token ----------------------------------------------------------------------

ADMIN_ROUTES = [
    pytest.param("GET", "/_sandbox/clock", id="clock"),
    pytest.param("POST", "/_sandbox/accounts", id="accounts"),
    pytest.param("GET", "/_sandbox/truth", id="truth"),
    pytest.param("GET", "/_sandbox/anything", id="unknown"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_with_an_admin_token_every_sandbox_route_needs_it(method, path):
    secret = "adm-" + "7" * 32
    with sandbox(admin_token=secret) as (handle, _):
        with httpx.Client(base_url=handle.url, timeout=5) as client:
            body = {"json": ACCOUNTS} if method == "POST" else {}
            none = client.request(method, path, **body)
            basic = client.request(method, path, headers={"authorization": secret}, **body)
            wrong = client.request(method, path, headers=bearer(secret + "x"), **body)
            right = client.request(method, path, headers=bearer(secret), **body)
    assert (none.status_code, basic.status_code, wrong.status_code) == (401, 401, 403)
    assert right.status_code == (404 if path.endswith("anything") else 200), right.text
    for refused in (none, basic, wrong):
        assert refused.headers["content-type"] == "application/problem+json"
        assert secret not in refused.text
    if path.endswith("accounts"):
        assert set(right.json()["tokens"]) == {"AcmeHelp", "jo"}


def test_without_an_admin_token_the_sandbox_routes_stay_open_on_loopback():
    with sandbox() as (handle, _):
        assert httpx.get(handle.url + "/_sandbox/clock", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *(pytest.param(h, True, id=h) for h in ("127.0.0.1", "127.9.8.7", "::1", "[::1]")),
        pytest.param("localhost", True, id="localhost"),
        *(pytest.param(h, False, id=h) for h in ("0.0.0.0", "::", "192.168.1.20")),
        pytest.param("sandbox.example", False, id="name"),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_serving_beyond_loopback_without_an_admin_token_is_refused(host):
    result = CliRunner().invoke(main, ["sandbox", "serve", "--host", host, "--port", "0"])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --host ")
    assert ADMIN_TOKEN_ENV in lines[0] and "Traceback" not in result.output


def test_sandbox_serve_takes_its_admin_token_from_the_environment(tmp_path):
    secret = "adm-" + "5" * 32
    env = {**os.environ, ADMIN_TOKEN_ENV: secret}
    process = subprocess.Popen(
        [sys.executable, "-m", "socialbench", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        url = process.stdout.readline().strip().removeprefix("sandbox listening on ")
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        assert httpx.get(url + "/_sandbox/clock", timeout=5).status_code == 401
        assert httpx.get(url + "/_sandbox/clock", headers=bearer(secret)).status_code == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert secret not in err


@pytest.mark.parametrize("endpoint", [False, True], ids=["in-process", "endpoint"])
def test_a_run_sends_the_admin_token_from_its_environment(tmp_path, monkeypatch, endpoint):
    secret = "adm-" + "3" * 32
    monkeypatch.setenv(ADMIN_TOKEN_ENV, secret)
    (tmp_path / "suite.yaml").write_text(SUITE, encoding="utf-8")
    args = ["run", str(tmp_path / "suite.yaml"), "--speed", "20000", "--quiet"]
    args += ["--out", str(tmp_path / "out")]
    with sandbox(admin_token=secret, speed=20_000) as (handle, _):
        if endpoint:
            args += ["--endpoint", handle.url]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        if endpoint:  # the run registered its accounts with this sandbox
            assert handle.world.accounts.user_named("jo") is not None
    assert secret not in result.output


# -- endless hangs ------------------------------------------------------------------------


def test_a_hang_in_flight_when_the_server_stops_ends_without_a_traceback():
    with sandbox(faults=Faults(timeout=1.0, timeout_s=31_536_000)) as (handle, errors):
        jo = httpx.post(handle.url + "/_sandbox/accounts", json=ACCOUNTS).json()["tokens"]["jo"]
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(handle.url + "/2/users/me", headers=bearer(jo), timeout=0.5)
    assert not handle._thread.is_alive()
    assert not errors.records, [r.getMessage() for r in errors.records]


def test_sandbox_serve_interrupted_during_an_endless_hang_prints_no_traceback(tmp_path):
    (tmp_path / "p.yaml").write_text(HANG_PROFILE, encoding="utf-8")
    command = ["sandbox", "serve", "--port", "0", "--profile", str(tmp_path / "p.yaml")]
    process = subprocess.Popen(
        [sys.executable, "-m", "socialbench", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = process.stdout.readline().strip().removeprefix("sandbox listening on ")
        jo = httpx.post(url + "/_sandbox/accounts", json=ACCOUNTS).json()["tokens"]["jo"]
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url + "/2/users/me", headers=bearer(jo), timeout=0.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert err.strip() == "interrupted", err


def test_a_run_against_an_endless_hang_fails_in_one_line(tmp_path):
    """The X connector gives up (exit 3) and the in-process sandbox stops quietly; about
    30 s: the connector's timeout of 5 s, retried 5 times."""
    (tmp_path / "p.yaml").write_text(HANG_PROFILE, encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(SUITE, encoding="utf-8")
    process = subprocess.run(
        [sys.executable, "-m", "socialbench", "run", str(tmp_path / "suite.yaml"),
         "--speed", "50000", "--out", str(tmp_path / "out"), "--profile",
         str(tmp_path / "p.yaml")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert process.returncode == 3, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr


# ------------------------------------------------------- the sandbox's clock and profile


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        pytest.param(["--start", "2009-05-01T00:00:00Z"], "outside the times", id="before-X"),
        pytest.param(["--start", "2262-05-01T00:00:00Z"], "outside the times", id="past-2200"),
        pytest.param(["--start", "1000-01-01T00:00:00Z"], "outside the times", id="year-1000"),
        pytest.param(["--speed", "inf"], "speed: inf must be from 0", id="speed-inf"),
        pytest.param(["--speed", "nan"], "speed: nan must be from 0", id="speed-nan"),
        pytest.param(["--speed", "1e300"], "must be from 0 to 1e+08", id="speed-huge"),
    ],
)
def test_a_clock_the_sandbox_cannot_keep_is_one_line(tmp_path, options, problem):
    """Found beyond the issue: such starts hung the run (before X's snowflake epoch) or
    ended in an OutOfBoundsDatetime traceback (past 2262); such speeds in a traceback."""
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(tmp_path / "o"), "-q",
                                       *options])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and problem in result.output, result.output


@pytest.mark.parametrize("value", [".inf", ".nan", "31536001"])
def test_a_fault_wait_is_finite_and_at_most_a_year(tmp_path, value):
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"faults:\n  timeout: 0.5\n  timeout_s: {value}\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    result = CliRunner().invoke(main, ["run", str(suite), "--out", str(tmp_path / "o"), "-q",
                                       "--profile", str(profile)])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"{profile}:3: faults.timeout_s" in result.output

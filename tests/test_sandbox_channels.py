"""The sandbox on every channel: brands' chatbots on messenger, whatsapp and webchat served
as Direct Line 3.0 next to the simulated X, probed by ``socialbench run --target sandbox``
over real loopback HTTP (X probes through the X connector, chat probes through the bots
target's Direct Line protocol), and every probe's row checked against the ground truth:
the first human response, the first automated reply, bot-only and the hand-off, exactly.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

from socialbench.cli import main
from socialbench.measure import classify
from socialbench.measure.calendar import SupportHours
from socialbench.probing.sandbox import PlatformClock, World, audit, serve_in_thread
from socialbench.probing.sandbox.business import BusinessClock
from socialbench.probing.sandbox.chatbot import ACK, AGENT, END, HANDOFF, QUESTION, plan
from socialbench.probing.sandbox.clock import parse_iso_ms
from socialbench.probing.sandbox.decide import Situation
from socialbench.probing.sandbox.phrases import ACK as ACK_PHRASE
from socialbench.probing.sandbox.phrases import COMPONENTS, PHRASES, PLAIN, render
from socialbench.probing.sandbox.profile import (
    EXAMPLE_PROFILE,
    Behaviour,
    Bot,
    Latency,
    Profile,
    load_profile,
)

FAST = 20_000  # sandbox speed: a 1-hour window passes in 0.18 s of real time
WINDOW_S = 3600.0
CHATS = ("messenger", "whatsapp", "webchat")
START = "2026-01-05T09:00:00Z"  # a Monday
PATH = "/v3/directline/conversations"

SUITE = """\
suite: omni
window: 1h
repetitions: 2
pacing: {gap: 0, concurrency: 8}
brands:
  - id: acme
    name: Acme Air
    handles: {x: AcmeAir, messenger: acme.air, whatsapp: "15550001111", webchat: acme_bot}
personas:
  - id: casual
    handles: {x: jo_casual, messenger: jo.casual, whatsapp: "447700900001", webchat: jo}
    followers: 250
queries:
  - id: late
    category: delivery
    channels: [x, messenger, whatsapp, webchat]
    surfaces: [public, private]
    text: "my order {{ order }} hasn't arrived, can you help?"
    variables: {order: ["#1042", "#2187", "#3001"]}
    expect:
      resolution: {keywords: [on its way], example: "It's on its way, tracking is by e-mail."}
"""
# A person answers most chats, some after the window (bot-only then); no support hours, so
# every delay is the same whenever the test runs.
PROFILE = """\
brands:
  default:
    reply_rate: 0.9
    latency: {uniform: [1m, 20m]}
    honour_hours: false
    follow_up_rate: 0.4
    habits: {link: 0.3, dm: 0.3, phone: 0.2, email: 0.2, ack_only: 0.15, answer: 0.6}
    bot:
      ack: {uniform: [2s, 10s]}
      question_rate: 0.5
      handoff_rate: 0.7
      handoff: {uniform: [1m, 80m]}
"""
NEVER = PROFILE.replace("handoff_rate: 0.7", "handoff_rate: 0.0")


# -- helpers ------------------------------------------------------------------------------


def run(tmp_path: Path, *, seed: int, profile: str = PROFILE, suite: str = SUITE, name="run"):
    """``socialbench run`` against the in-process sandbox; the run directory."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "suite.yaml").write_text(suite, encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(profile, encoding="utf-8")
    out = tmp_path / name
    args = ["run", tmp_path / "suite.yaml", "--speed", FAST, "--seed", seed,
            "--profile", tmp_path / "profile.yaml", "--out", out, "--quiet"]  # fmt: skip
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return out


def read_probes(out: Path) -> pd.DataFrame:
    ids = {"probe_id": str, "platform_id": str, "conversation_id": str}
    return pd.read_csv(out / "probes.csv", dtype=ids).set_index("probe_id")


def truth_of(out: Path) -> list[dict]:
    return audit.read_truth(out / "sandbox_truth.jsonl")


def firsts(truth: list[dict]) -> pd.DataFrame:
    """Per probe, straight from the truth file: when it was received, its first human reply
    and its first automated reply within the window (epoch ms)."""
    probes = pd.DataFrame([e for e in truth if e["event"] == "probe"])
    sent = probes.set_index("probe_id")["at"].map(parse_iso_ms)
    replies = pd.DataFrame([e for e in truth if e["event"] == "reply"])
    replies["ms"] = replies["at"].map(parse_iso_ms)
    replies["automated"] = replies["automated"].fillna(False).astype(bool)
    replies = replies[replies["ms"] - replies["probe_id"].map(sent) <= WINDOW_S * 1000]
    first = replies.groupby(["probe_id", "automated"])["ms"].min().unstack()
    first = first.reindex(index=sent.index, columns=[False, True])
    channel = probes.set_index("probe_id")["channel"].fillna("x")
    return pd.DataFrame({"sent": sent, "channel": channel, "human": first[False],
                         "bot": first[True]})  # fmt: skip


def ms(column: pd.Series) -> pd.Series:
    """ISO times of a probes.csv column as epoch milliseconds (<NA> when empty)."""
    return column.map(lambda v: parse_iso_ms(v) if isinstance(v, str) else pd.NA)


def shape(truth: list[dict]) -> list[tuple]:
    """The truth without its platform instants and ids: what the seed decides."""
    sent = {e["probe_id"]: parse_iso_ms(e["at"]) for e in truth if e["event"] == "probe"}
    return sorted(
        (e["probe_id"], e["event"], e.get("channel", "x"), e.get("automated"),
         tuple(e.get("types", ())), parse_iso_ms(e["at"]) - sent[e["probe_id"]])
        for e in truth if e["event"] in ("reply", "handoff")
    )  # fmt: skip


# -- runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in (1, 2)])
def test_a_run_on_every_channel_agrees_exactly_with_the_truth(tmp_path, seed):
    out = run(tmp_path, seed=seed)
    table, truth = read_probes(out), truth_of(out)
    check = audit.compare(table.reset_index(), truth, WINDOW_S)
    assert check.exact, check
    assert check.probes_compared == len(table) == 30
    want = firsts(truth).reindex(table.index)
    assert (want["channel"] == table["channel"]).all()
    # the first human response and the first automated reply, to the millisecond
    assert table["responded"].astype(bool).eq(want["human"].notna()).all()
    assert ms(table["first_response_at"]).astype("Int64").equals(want["human"].astype("Int64"))
    assert ms(table["automated_at"]).astype("Int64").equals(want["bot"].astype("Int64"))
    assert ms(table["sent_at"]).astype("Int64").equals(want["sent"].astype("Int64"))
    bot_only = want["bot"].notna() & want["human"].isna()
    assert table["bot_only"].astype(bool).eq(bot_only).all()
    handoff = (want["human"] - want["bot"]).where(want["human"] >= want["bot"])
    got = (table["handoff_s"] * 1000).round().astype("Int64")
    assert got.equals(handoff.astype("Int64"))
    # every kind of outcome is there: bots on every chat channel, none on x
    chats = table[table["channel"].isin(CHATS)]
    on_x = table[table["channel"] == "x"]
    assert set(chats["channel"]) == set(CHATS) and set(on_x["surface"]) == {"public", "private"}
    assert chats["automated_at"].notna().all() and on_x["automated_at"].isna().all()
    assert chats["bot_only"].astype(bool).any() and chats["handoff_s"].notna().any()
    assert on_x["responded"].astype(bool).any()
    # the answer key is met exactly where a person quoted the answer
    key = audit.expected(truth, WINDOW_S).set_index("probe_id")["answer"]
    assert table["resolved"].astype(bool).eq(key.reindex(table.index)).all()


def test_the_same_seed_gives_the_same_chats_and_another_seed_others(tmp_path):
    # the same directory name: the same probe ids
    first = truth_of(run(tmp_path / "a", seed=5))
    again = truth_of(run(tmp_path / "b", seed=5))
    other = truth_of(run(tmp_path / "c", seed=6))
    assert shape(first) == shape(again)
    assert shape(first) != shape(other)
    assert {e.get("channel", "x") for e in first if e["event"] == "reply"} >= set(CHATS)


def test_a_bot_that_never_hands_off_leaves_its_probes_bot_only(tmp_path):
    out = run(tmp_path, seed=3, profile=NEVER)
    table, truth = read_probes(out), truth_of(out)
    assert audit.compare(table.reset_index(), truth, WINDOW_S).exact
    chats = table[table["channel"].isin(CHATS)]
    assert len(chats) == 18
    assert chats["bot_only"].astype(bool).all() and not chats["responded"].astype(bool).any()
    assert chats["ttfa_s"].between(2, 10).all() and chats["handoff_s"].isna().all()
    assert not [e for e in truth if e["event"] == "handoff"]
    assert not table[table["channel"] == "x"]["bot_only"].astype(bool).any()


def test_a_scripted_dialogue_is_held_with_a_sandbox_bot(tmp_path):
    suite = SUITE.replace("channels: [x, messenger, whatsapp, webchat]", "channels: [webchat]")
    suite += """\
    dialogue:
      - bot: "order number|e-mail|reference"
        within: 1m
      - me: "It's {{ order }}."
"""
    profile = PROFILE.replace("question_rate: 0.5", "question_rate: 1.0")
    out = run(tmp_path, seed=4, profile=profile, suite=suite)
    table, truth = read_probes(out), truth_of(out)
    assert audit.compare(table.reset_index(), truth, WINDOW_S).exact
    assert len(table) == 6 and table["automated_messages"].ge(2).all()
    with sqlite3.connect(out / "run.sqlite") as db:  # the customer answered each question
        said = sorted(
            text for (text,) in db.execute("SELECT text FROM messages WHERE author = 'jo'")
        )
    assert said == sorted(f"It's {order}." for order in ("#1042", "#2187", "#3001") * 2)


def test_the_example_profile_documents_the_bot_section(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(EXAMPLE_PROFILE, encoding="utf-8")
    profile = load_profile(path)
    acme, other = profile.behaviour("acme", seed=1).bot, profile.behaviour("zeta", seed=1).bot
    assert acme.handoff_rate == 1.0 and other.handoff_rate == 0.7  # field by field
    assert acme.ack == other.ack == Latency(uniform=(2.0, 10.0))
    assert acme.handoff.lognormal.median == 900  # from default
    assert Profile().behaviour("zeta", seed=1).bot != Profile().behaviour("zeta", seed=2).bot


# -- Direct Line --------------------------------------------------------------------------


@pytest.fixture
def sandbox():
    """A sandbox on loopback whose clock stands still until advanced; two brands' bots."""
    behaviour = Behaviour(
        latency=Latency(fixed=600),
        honour_hours=False,
        follow_up_rate=0.0,
        bot=Bot(ack=Latency(fixed=5), question_rate=1.0, question=Latency(fixed=10),
                handoff_rate=1.0, handoff=Latency(fixed=300)),
    )  # fmt: skip
    world = World(
        profile=Profile(brands={"default": behaviour}),
        seed=9,
        clock=PlatformClock(start=START, speed=0),
    )
    handle = serve_in_thread(world)
    with httpx.Client(base_url=handle.url, timeout=5) as client:
        bots = [
            {"id": "acme", "name": "Acme Air", "handles": {"webchat": "acme_bot"}},
            {"id": "beta", "name": "Beta", "handles": {"whatsapp": "15550001111"}},
        ]
        answer = client.post("/_sandbox/accounts", json={"bots": bots})
        assert answer.status_code == 200, answer.text
        yield world, client, answer.json()["bots"]
    handle.stop()


def bearer(secret: str) -> dict:
    return {"authorization": f"Bearer {secret}"}


def test_directline_conversation_activities_and_watermarks(sandbox):
    world, client, secrets = sandbox
    auth = bearer(secrets["acme"]["webchat"])
    started = client.post(PATH, headers=auth)
    assert started.status_code == 201
    cid = started.json()["conversationId"]
    assert set(started.json()) == {"conversationId", "token", "expires_in"}
    message = {"type": "message", "from": {"id": "p0123456789a", "role": "user"}, "text": "hi"}
    posted = client.post(f"{PATH}/{cid}/activities", json=message, headers=auth)
    assert posted.status_code == 200 and posted.json() == {"id": f"{cid}|0000000"}
    url = f"{PATH}/{cid}/activities"
    now = client.get(url, headers=auth).json()
    assert now["watermark"] == "1" and [a["text"] for a in now["activities"]] == ["hi"]
    echo = now["activities"][0]
    assert (echo["timestamp"], echo["channelId"], echo["conversation"]) == (
        "2026-01-05T09:00:00.000Z", "webchat", {"id": cid})  # fmt: skip
    world.clock.advance(4.999)
    assert client.get(url, params={"watermark": "1"}, headers=auth).json()["activities"] == []
    world.clock.advance(0.001)
    ack = client.get(url, params={"watermark": "1"}, headers=auth).json()
    assert ack["watermark"] == "2"
    (bot,) = ack["activities"]
    assert bot["from"] == {"id": "acme_bot", "name": "Acme Air", "role": "bot"}
    assert (bot["id"], bot["timestamp"], bot["replyToId"]) == (
        f"{cid}|0000001", "2026-01-05T09:00:05.000Z", f"{cid}|0000000")  # fmt: skip
    # the customer speaks again before the bot's planned activities: none of them is missed
    later = {"type": "message", "from": {"id": "p0123456789a"}, "text": "hello?"}
    assert client.post(url, json=later, headers=auth).json() == {"id": f"{cid}|0000006"}
    world.clock.advance(3600)
    rest = client.get(url, params={"watermark": "2"}, headers=auth).json()
    kinds = [(a["type"], a.get("name")) for a in rest["activities"]]
    assert kinds == [
        ("message", None),  # the customer's second message, shown from its instant
        ("message", None),  # the bot's question
        ("event", "handoff.initiate"),
        ("message", None),  # the agent's, relayed by the bot
        ("endOfConversation", None),
    ]
    senders = [a["from"] for a in rest["activities"]]
    assert senders[0]["id"] == "p0123456789a" and senders[1]["name"] == "Acme Air"
    assert senders[3]["name"].endswith(" (Acme Air)") and senders[3]["role"] == "bot"
    assert rest["watermark"] == "7"
    times = [a["timestamp"] for a in rest["activities"]]
    assert times == sorted(times)
    replies = [e for e in world.truth.events() if e["event"] == "reply"]
    assert [e["automated"] for e in replies] == [True, True, False]
    assert [e["id"] for e in replies] == [f"{cid}|000000{n}" for n in (1, 2, 4)]


def test_directline_errors_are_error_responses(sandbox):
    _, client, secrets = sandbox
    acme, beta = bearer(secrets["acme"]["webchat"]), bearer(secrets["beta"]["whatsapp"])
    cid = client.post(PATH, headers=acme).json()["conversationId"]
    other = client.post(PATH, headers=acme).json()
    url = f"{PATH}/{cid}/activities"
    message = {"type": "message", "from": {"id": "u1"}, "text": "hi"}
    cases = [
        (client.post(PATH), 401),
        (client.post(PATH, headers={"authorization": "Basic abc"}), 401),
        (client.post(PATH, headers=bearer("sbx-dl-wrong")), 403),
        (client.get(url, headers=beta), 403),  # another bot's secret
        (client.get(url, headers=bearer(other["token"])), 403),  # another conversation's token
        (client.get(f"{PATH}/nope/activities", headers=acme), 404),
        (client.get(url, params={"watermark": "x1"}, headers=acme), 400),
        (client.post(url, content=b"{", headers=acme), 400),
        (client.post(url, json=["not", "an", "activity"], headers=acme), 400),
        (client.post(url, json={"type": "message", "text": "who?"}, headers=acme), 400),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["code"] and error["message"]
    # a conversation's token opens that conversation
    token = bearer(other["token"])
    ok = client.post(f"{PATH}/{other['conversationId']}/activities", json=message, headers=token)
    assert ok.status_code == 200


def test_secrets_are_one_per_bot_and_the_same_for_the_same_seed(sandbox):
    world, client, secrets = sandbox
    assert secrets["acme"]["webchat"] != secrets["beta"]["whatsapp"]
    twin = World(seed=9, clock=PlatformClock(start=START, speed=0))
    again = twin.register({"bots": [{"id": "acme", "name": "A", "handles": {"webchat": "a"}}]})
    assert again["bots"] == {"acme": {"webchat": secrets["acme"]["webchat"]}}
    other = World(seed=10).register(
        {"bots": [{"id": "acme", "name": "A", "handles": {"webchat": "a"}}]}
    )
    assert other["bots"]["acme"]["webchat"] != secrets["acme"]["webchat"]
    assert "bots" not in world.register({"personas": [{"handle": "jo"}]})


def test_a_probe_is_named_by_its_marker_or_its_sender_and_answered_once(sandbox):
    world, client, secrets = sandbox
    auth = bearer(secrets["beta"]["whatsapp"])

    def chat(sender: str, text: str) -> None:
        cid = client.post(PATH, headers=auth).json()["conversationId"]
        body = {"type": "message", "from": {"id": sender}, "text": text}
        assert client.post(f"{PATH}/{cid}/activities", json=body, headers=auth).is_success

    chat("someone", "hello")  # names no probe: not answered
    chat("someone", "late order (ref:p00000000001)")
    chat("p00000000002", "late order")
    chat("p00000000002", "late order")  # received again: logged, answered once
    probes = [e["probe_id"] for e in world.truth.events() if e["event"] == "probe"]
    assert probes == ["p00000000001", "p00000000002", "p00000000002"]
    acks = [e for e in world.truth.events() if e["event"] == "reply" and "ack_only" in e["types"]]
    assert [e["probe_id"] for e in acks] == ["p00000000001", "p00000000002"]
    assert all(e["channel"] == "whatsapp" and e["private"] for e in acks)


# -- decisions ------------------------------------------------------------------------------


def situation(behaviour: Behaviour, *, business=None, probe_ms=None) -> Situation:
    return Situation(
        behaviour=behaviour,
        followers=1000,
        probe_ms=parse_iso_ms(START) if probe_ms is None else probe_ms,
        private=True,
        aliases=0,
        business=business,
        answer_types=(),
    )


def test_a_chat_plan_depends_on_the_seed_and_probe_only_and_runs_in_order():
    behaviour = Behaviour(follow_up_rate=0.5, honour_hours=False)
    plans = {(seed, pid): plan(pid, seed=seed, situation=situation(behaviour))
             for seed, pid in itertools.product(range(3), ("p1", "p2", "p3", "p4"))}  # fmt: skip
    again = plan("p1", seed=0, situation=situation(behaviour))
    assert again == plans[(0, "p1")]
    assert len({repr(p) for p in plans.values()}) == len(plans)
    for turns in plans.values():
        kinds = [t.kind for t in turns]
        assert kinds[0] == ACK and kinds[-1] == END
        asked = kinds[1:2] == [QUESTION]
        assert kinds[1 + asked :] in ([END], [HANDOFF, AGENT, END], [HANDOFF, AGENT, AGENT, END])
        assert [t.at_ms for t in turns] == sorted(t.at_ms for t in turns)
        assert all(t.automated == (t.kind != AGENT) for t in turns)


def test_support_hours_hold_the_hand_off_until_opening():
    hours = SupportHours(timezone="UTC", weekly={"mon": ["10:00-17:00"]})
    behaviour = Behaviour(
        honour_hours=True,
        follow_up_rate=0.0,
        bot=Bot(ack=Latency(fixed=5), question_rate=0.0, handoff_rate=1.0,
                handoff=Latency(fixed=600)),
    )  # fmt: skip
    turns = plan("p1", seed=1, situation=situation(behaviour, business=BusinessClock(hours)))
    at = {t.kind: t.at_ms for t in turns}
    start = parse_iso_ms(START)  # Monday 09:00, an hour before opening
    assert at[ACK] == start + 5000  # the bot works round the clock
    assert at[HANDOFF] == at[ACK] + 1000
    assert at[AGENT] == parse_iso_ms("2026-01-05T10:10:00Z")  # 10 open minutes later


def test_agent_replies_in_a_chat_are_classified_as_recorded():
    cases = [({ACK_PHRASE: i}, {"ack_only"}) for i in range(len(PHRASES[ACK_PHRASE]))]
    cases += [({PLAIN: i}, set()) for i in range(len(PHRASES[PLAIN]))]
    for size in range(1, len(COMPONENTS) + 1):
        for combo in itertools.combinations(COMPONENTS, size):
            for variant in range(3):
                parts = {name: variant % len(PHRASES[name]) for name in combo}
                cases.append((parts, set(combo) - {"answer"}))
    texts = pd.Series(
        [render(p, persona=None, brand_slug="acme", answer="It's on its way.") for p, _ in cases]
    )
    assert texts.str.startswith("Hi there, ").all()
    found = pd.DataFrame(
        {name: getattr(classify, name)(texts) for name in ("link", "dm", "phone", "email")}
    )
    found["ack_only"] = classify.ack_only(texts)
    expected = pd.DataFrame([{name: name in want for name in found} for _, want in cases])
    wrong = (found != expected).any(axis=1)
    assert not wrong.any(), texts[wrong].tolist()

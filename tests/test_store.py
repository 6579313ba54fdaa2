"""The run store: migrations, ownership, probe states, messages, durability, redaction."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socialbench.errors import SocialbenchError
from socialbench.probing import store
from socialbench.probing.connectors.base import Observed, Sent
from socialbench.probing.probes import Expectation, Probe, Resolution
from socialbench.probing.store import RunLocked, RunStore, redact

ROOT = Path(__file__).resolve().parents[1]


def make_probe(n: int = 0, **changes) -> Probe:
    fields = dict(
        probe_id=f"p{n:011x}",
        suite="retail",
        scenario="refund",
        category="billing",
        brand="acme",
        brand_handle="AcmeHelp",
        channel="x",
        surface="public",
        persona="ana",
        persona_handle="ana_b",
        followers=120,
        credential="SOCIALBENCH_X_ANA",
        text=f"Where is my refund? (ref:p{n:011x})",
        variant=1,
        repetition=n,
        variables={"order": "A-1", "items": [1, 2]},
        expect=Expectation(
            deadline_s=3600.0,
            link="forbidden",
            resolution=Resolution(
                keywords=("refund", "5 days"), patterns=(r"\d+ days",), link_domain="acme.com"
            ),
        ),
    )
    fields.update(changes)
    return Probe(**fields)


def observed(id: str, *, author: str = "AcmeHelp", **changes) -> Observed:
    fields = dict(
        id=id,
        channel="x",
        surface="public",
        conversation_id="100",
        parent_id="100",
        author=author,
        author_id="42",
        created_at="2024-03-04T09:05:00.000Z",
        text=f"reply {id}",
        followers=9000,
        raw={"id": id, "public_metrics": {"like_count": 1}},
    )
    fields.update(changes)
    return Observed(**fields)


@pytest.fixture
def run(tmp_path):
    with RunStore.open(tmp_path / "run", create=True) as opened:
        yield opened


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


# opening, migrations, ownership


def test_create_makes_a_wal_store_at_the_latest_schema(tmp_path):
    with RunStore.open(tmp_path / "reports" / "x", create=True) as run:
        assert run.path == tmp_path / "reports" / "x" / "run.sqlite"
        assert run.schema_version == len(store.MIGRATIONS)
    db = sqlite3.connect(tmp_path / "reports" / "x" / "run.sqlite")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert {"meta", "probes", "messages", "cursors", "events"} <= tables


def test_open_applies_only_the_migrations_a_store_has_not_had(tmp_path, monkeypatch):
    RunStore.open(tmp_path, create=True).close()
    extra = "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('added');"
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, extra))
    with RunStore.open(tmp_path, create=False) as run:
        assert run.schema_version == len(store.MIGRATIONS)
        assert run._db.execute("SELECT text FROM notes").fetchall() == [("added",)]
    RunStore.open(tmp_path, create=False).close()  # nothing left to apply: no second row
    db = sqlite3.connect(tmp_path / "run.sqlite")
    try:
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 1
    finally:
        db.close()


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    RunStore.open(tmp_path, create=True).close()
    broken = "CREATE TABLE notes (text TEXT); INSERT INTO nowhere VALUES (1);"
    monkeypatch.setattr(store, "MIGRATIONS", (*store.MIGRATIONS, broken))
    with pytest.raises(SocialbenchError, match="not a usable run store: no such table"):
        RunStore.open(tmp_path, create=False)
    monkeypatch.undo()
    with RunStore.open(tmp_path, create=False) as run:
        assert run.schema_version == len(store.MIGRATIONS)
        assert (
            run._db.execute("SELECT name FROM sqlite_master WHERE name = 'notes'").fetchall() == []
        )


def test_a_store_newer_than_the_code_is_refused(tmp_path):
    RunStore.open(tmp_path, create=True).close()
    db = sqlite3.connect(tmp_path / "run.sqlite")
    db.execute(f"PRAGMA user_version = {len(store.MIGRATIONS) + 1}")
    db.close()
    known = len(store.MIGRATIONS)
    with pytest.raises(SocialbenchError, match=f"version {known + 1}, but .* up to {known}; upg"):
        RunStore.open(tmp_path, create=False)
    # the refusal released the lock
    with pytest.raises(SocialbenchError, match="schema version"):
        RunStore.open(tmp_path, create=False)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "run.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SocialbenchError, match="run.sqlite: not a usable run store"):
        RunStore.open(tmp_path, create=False)


def test_resume_needs_a_run_and_create_refuses_one(tmp_path):
    with pytest.raises(SocialbenchError, match="no run here to resume"):
        RunStore.open(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()
    RunStore.open(tmp_path / "run", create=True).close()
    with pytest.raises(SocialbenchError, match="already stored here; add --resume") as caught:
        RunStore.open(tmp_path / "run", create=True)
    assert str(caught.value).startswith(f"{tmp_path / 'run'}: ")
    RunStore.open(tmp_path / "run", create=False).close()


def test_create_names_a_directory_it_cannot_make(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SocialbenchError, match="cannot create run directory"):
        RunStore.open(tmp_path / "file" / "run", create=True)


def test_another_process_is_refused_while_the_store_is_open(tmp_path):
    child = """
        import sys
        from pathlib import Path
        from socialbench.probing.store import RunLocked, RunStore
        try:
            RunStore.open(Path(sys.argv[1]), create=False).close()
        except RunLocked as error:
            print(error)
            sys.exit(7)
    """
    directory = tmp_path / "run"
    with RunStore.open(directory, create=True):
        assert (directory / "run.lock").read_text() == f"{os.getpid()}\n"
        locked = run_python(child, str(directory))
    assert locked.returncode == 7, locked.stderr
    assert locked.stdout.strip() == (
        f"{directory}: another socialbench process (pid {os.getpid()}) is using this run directory"
    )
    free = run_python(child, str(directory))
    assert free.returncode == 0, free.stdout + free.stderr


def test_the_lock_is_released_by_close_and_by_errors(tmp_path):
    run = RunStore.open(tmp_path, create=True)
    with pytest.raises(RunLocked, match=r"\(pid \d+\)"):
        RunStore.open(tmp_path, create=False)  # flock is per open file: same process too
    run.close()
    run.close()  # idempotent
    with pytest.raises(SocialbenchError, match="add --resume"):
        RunStore.open(tmp_path, create=True)
    with RunStore.open(tmp_path, create=False) as again:
        assert again.counts()["planned"] == 0


def test_the_pid_is_unknown_until_the_holder_writes_it(tmp_path):
    import fcntl

    RunStore.open(tmp_path, create=True).close()
    with open(tmp_path / "run.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunLocked, match=r"\(pid unknown\)"):
            RunStore.open(tmp_path, create=False)


def test_a_closed_store_refuses_work(tmp_path):
    run = RunStore.open(tmp_path, create=True)
    run.close()
    with pytest.raises(sqlite3.ProgrammingError):
        run.counts()


# meta, cursors, events


def test_meta_holds_json_values(run):
    run.set_meta("suite", "retail")
    run.set_meta("settings", {"speed": 60.0, "channels": ["x"]})
    run.set_meta("suite", "retail-2")
    assert run.meta("suite") == "retail-2"
    assert run.meta("settings") == {"speed": 60.0, "channels": ["x"]}
    assert run.meta("origin") is None
    assert run.meta("origin", 0.0) == 0.0
    assert run.all_meta() == {"settings": {"speed": 60.0, "channels": ["x"]}, "suite": "retail-2"}


def test_cursors_are_replaced(run):
    assert run.cursor("x:mentions") is None
    run.set_cursor("x:mentions", "100")
    run.set_cursor("x:mentions", "250")
    run.set_cursor("x:dm:ana", "abc")
    assert run.cursor("x:mentions") == "250"
    assert run.cursor("x:dm:ana") == "abc"


def test_events_are_appended_in_order(run):
    run.log_event("run-started", at=10.0)
    run.log_event("send-retry", at=11.5, probe_id="p0", detail="HTTP 503")
    run.log_event("send-retry", "p1", "timeout", at=12.0)
    assert [event.kind for event in run.events()] == ["run-started", "send-retry", "send-retry"]
    retries = run.events("send-retry")
    assert retries[0] == store.Event(at=11.5, kind="send-retry", probe_id="p0", detail="HTTP 503")
    assert [event.probe_id for event in retries] == ["p0", "p1"]


def test_an_event_without_a_time_gets_this_machines_clock(run, monkeypatch):
    monkeypatch.setattr(store.time, "time", lambda: 1234.5)
    run.log_event("poll_failed", None, "HTTP 429")
    assert run.events() == [store.Event(1234.5, "poll_failed", None, "HTTP 429")]


# probes


def test_a_probe_round_trips_identically(run):
    probe = make_probe(3)
    run.plan([(probe, 1700000000.5)])
    [stored] = run.probes()
    assert stored.probe == probe
    assert stored.probe.variables == probe.variables  # not compared by ==
    assert stored.probe.expect.resolution.keywords == ("refund", "5 days")
    assert isinstance(stored.probe.expect.resolution.patterns, tuple)
    assert stored.due == 1700000000.5
    assert (stored.state, stored.attempts, stored.sent) == ("planned", 0, None)


def test_defaults_and_nones_round_trip(run):
    probe = make_probe(0, followers=None, credential=None, variables={}, expect=Expectation())
    run.plan([(probe, 0)])
    assert run.probe(probe.probe_id).probe == probe
    assert run.probe("p-missing") is None


def test_plan_keeps_order_and_is_idempotent(run):
    first = [(make_probe(n), 100.0 + n) for n in (5, 1, 3)]
    assert run.plan(first) == 3
    assert run.plan([(make_probe(1), 999.0), (make_probe(3), 999.0)]) == 0
    assert run.plan([(make_probe(0), 50.0), (make_probe(5), 999.0)]) == 1
    stored = run.probes()
    assert [s.probe.probe_id for s in stored] == [make_probe(n).probe_id for n in (5, 1, 3, 0)]
    assert [s.due for s in stored] == [105.0, 101.0, 103.0, 50.0]
    assert run.counts() == {"planned": 4, "intent": 0, "sent": 0, "failed": 0}


def test_plan_is_one_transaction(run):
    def planned():
        yield make_probe(1), 1.0
        raise RuntimeError("suite expansion failed")

    with pytest.raises(RuntimeError):
        run.plan(planned())
    assert run.probes() == []


def test_a_probe_goes_through_its_states(run):
    pid = make_probe(1).probe_id
    run.plan([(make_probe(1), 10.0)])
    run.record_intent(pid, 11.0)
    assert (run.probe(pid).state, run.probe(pid).intent_at, run.probe(pid).attempts) == (
        "intent",
        11.0,
        1,
    )
    run.reset_intent(pid)  # reconciliation: never arrived
    assert (run.probe(pid).state, run.probe(pid).intent_at) == ("planned", None)
    run.record_intent(pid, 20.0)
    run.record_failed(pid, "HTTP 503 after 3 tries")
    assert (run.probe(pid).state, run.probe(pid).error) == ("failed", "HTTP 503 after 3 tries")
    run.record_intent(pid, 30.0)  # a resumed run retries a failed probe
    assert (run.probe(pid).error, run.probe(pid).attempts) == (None, 3)
    run.record_sent(pid, Sent("900", "900", "2024-03-04T09:00:00.000Z"))
    stored = run.probe(pid)
    assert stored.state == "sent"
    assert stored.sent == Sent("900", "900", "2024-03-04T09:00:00.000Z")
    assert run.counts() == {"planned": 0, "intent": 0, "sent": 1, "failed": 0}


def test_a_failed_probe_found_on_the_platform_becomes_sent(run):
    pid = make_probe(1).probe_id
    run.plan([(make_probe(1), 10.0)])
    run.record_intent(pid, 11.0)
    run.record_failed(pid, "timeout")
    run.record_sent(pid, Sent("900", "900"))
    assert (run.probe(pid).state, run.probe(pid).error, run.probe(pid).sent_at) == (
        "sent",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        pytest.param([], "record_sent", "is planned, not intent or failed", id="sent-unsent"),
        pytest.param([], "reset_intent", "is planned, not intent", id="reset-planned"),
        pytest.param(["intent"], "record_intent", "is intent, not planned", id="intent-twice"),
        pytest.param(["intent", "sent"], "record_intent", "is sent", id="resend"),
        pytest.param(["intent", "sent"], "record_failed", "is sent", id="fail-sent"),
    ],
)
def test_impossible_transitions_are_refused(run, setup, action, message):
    pid = make_probe(1).probe_id
    run.plan([(make_probe(1), 10.0)])
    steps = {
        "intent": lambda: run.record_intent(pid, 1.0),
        "sent": lambda: run.record_sent(pid, Sent("1", "1")),
    }
    for step in setup:
        steps[step]()
    calls = {
        "record_intent": lambda: run.record_intent(pid, 2.0),
        "record_sent": lambda: run.record_sent(pid, Sent("2", "2")),
        "record_failed": lambda: run.record_failed(pid, "x"),
        "reset_intent": lambda: run.reset_intent(pid),
    }
    before = run.probe(pid)
    with pytest.raises(ValueError, match=message):
        calls[action]()
    assert run.probe(pid) == before


def test_an_unknown_probe_is_refused(run):
    with pytest.raises(ValueError, match="probe p-nope is not planned"):
        run.record_intent("p-nope", 1.0)


def test_probes_filter_by_state(run):
    run.plan([(make_probe(n), float(n)) for n in range(4)])
    run.record_intent(make_probe(1).probe_id, 1.0)
    run.record_intent(make_probe(2).probe_id, 1.0)
    run.record_sent(make_probe(2).probe_id, Sent("7", "7"))
    run.record_failed(make_probe(3).probe_id, "no credential")
    assert [s.probe.repetition for s in run.probes("planned")] == [0]
    assert [s.probe.repetition for s in run.probes(["intent", "failed"])] == [1, 3]
    assert run.probes([]) == []
    with pytest.raises(ValueError, match="unknown probe states: done"):
        run.probes(["sent", "done"])


# messages


def test_add_messages_keeps_the_first_copy_and_counts_new_ones(run):
    pid = make_probe(1).probe_id
    run.plan([(make_probe(1), 10.0)])
    assert run.add_messages([(observed("1"), pid), (observed("2"), None)], 100.0) == 2
    again = [(observed("2", text="edited"), pid), (observed("3"), pid), (observed("3"), pid)]
    assert run.add_messages(again, 200.0) == 1
    assert run.add_messages([], 300.0) == 0
    assert run.add_messages([(observed("1", channel="facebook"), None)], 300.0) == 1
    assert run.message_count() == 4
    rows = run.message_rows()
    assert tuple(rows) == store.MESSAGE_COLUMNS
    assert rows["id"] == ["1", "2", "3", "1"]
    assert rows["channel"] == ["x", "x", "x", "facebook"]
    assert rows["probe_id"] == [pid, None, pid, None]
    assert rows["text"][1] == "reply 2"
    assert rows["observed_at"] == [100.0, 100.0, 200.0, 300.0]
    assert rows["followers"] == [9000] * 4


def test_messages_round_trip_with_raw_payloads(run):
    message = observed("5", parent_id=None, followers=None, raw={"id": "5", "n": [1, {"a": 2}]})
    run.add_messages([(message, None)], 1.0)
    [(back, probe_id)] = run.messages()
    assert back == message
    assert back.raw == {"id": "5", "n": [1, {"a": 2}]}
    assert probe_id is None


def test_message_rows_of_an_empty_store_has_every_column(run):
    assert run.message_rows() == {name: [] for name in store.MESSAGE_COLUMNS}


def test_a_message_can_be_attributed_later(run):
    pid = make_probe(1).probe_id
    run.plan([(make_probe(1), 10.0)])
    run.add_messages([(observed("1"), None)], 1.0)
    run.set_message_probe("x", "1", pid)
    assert run.message_rows()["probe_id"] == [pid]


def test_messages_must_name_a_planned_probe(run):
    with pytest.raises(sqlite3.IntegrityError):
        run.add_messages([(observed("1"), None), (observed("2"), "p-unknown")], 1.0)
    assert run.message_count() == 0  # one transaction


def test_stored_raw_payloads_are_redacted(run):
    message = observed("1", raw={"id": "1", "headers": {"Authorization": "Bearer abc"}})
    run.add_messages([(message, None)], 1.0)
    [(back, _)] = run.messages()
    assert back.raw == {"id": "1", "headers": {}}


# durability and concurrent readers


def test_an_intent_survives_the_process_being_killed(tmp_path):
    child = """
        import os, sys
        from pathlib import Path
        from socialbench.probing.probes import Probe
        from socialbench.probing.store import RunStore
        probe = Probe(
            probe_id="p00000000001", suite="s", scenario="q", category="c", brand="b",
            brand_handle="B", channel="x", surface="public", persona="a", persona_handle="A",
            followers=None, credential=None, text="hi (ref:p00000000001)",
        )
        store = RunStore.open(Path(sys.argv[1]), create=True)
        store.plan([(probe, 5.0)])
        store.record_intent("p00000000001", 6.0)
        os.kill(os.getpid(), 9)
    """
    killed = run_python(child, str(tmp_path / "run"))
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "run" / "run.sqlite-wal").exists()  # never checkpointed
    with RunStore.open(tmp_path / "run", create=False) as run:
        [stored] = run.probes()
    assert (stored.probe.probe_id, stored.state, stored.intent_at) == (
        "p00000000001",
        "intent",
        6.0,
    )


def test_a_second_connection_reads_while_the_store_writes(run):
    run.plan([(make_probe(1), 10.0)])
    reader = sqlite3.connect(f"file:{run.path}?mode=ro", uri=True)
    try:
        assert reader.execute("SELECT state FROM probes").fetchall() == [("planned",)]
        run.record_intent(make_probe(1).probe_id, 11.0)
        assert reader.execute("SELECT state FROM probes").fetchall() == [("intent",)]
    finally:
        reader.close()


# redact


def test_redact_drops_credential_keys_at_any_depth():
    payload = {
        "data": [{"id": "1", "access_token": "EAAB", "nested": {"Client-Secret": "s"}}],
        "Authorization": "Bearer abc",
        "bearer_token": "abc",
        "password": "hunter2",
        "oauth_token": "t",
        "X-Api-Key": "k",
        "set-cookie": "sid=1",
        "meta": {"next_token": "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i", "result_count": 1},
        "tuple": ({"token": "t"}, 2),
        "text": "tokens are fine in values",
    }
    assert redact(payload) == {
        "data": [{"id": "1", "nested": {}}],
        "meta": {"next_token": "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i", "result_count": 1},
        "tuple": ({}, 2),
        "text": "tokens are fine in values",
    }
    assert payload["Authorization"] == "Bearer abc"  # a copy, not changed in place


def test_redact_masks_credentials_in_urls():
    paging = {
        "next": "https://graph.facebook.com/v19.0/1/comments?access_token=EAAB123&after=QVFI",
        "other": "https://example.com/?q=refund&Client_Secret=s3cr3t#top",
    }
    assert redact(paging) == {
        "next": "https://graph.facebook.com/v19.0/1/comments?access_token=REDACTED&after=QVFI",
        "other": "https://example.com/?q=refund&Client_Secret=REDACTED#top",
    }
    assert redact(7) == 7
    assert redact(None) is None


def test_a_store_of_the_first_schema_gains_the_automated_flag(tmp_path):
    """A run stored before messages had an automated flag opens, its messages human."""
    db = sqlite3.connect(tmp_path / "run.sqlite")
    db.executescript(store.MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO messages (channel, id, surface, author, created_at, text, raw, observed_at)"
        " VALUES ('x', '1', 'public', 'acme', '2026-01-05T09:00:00Z', 'hi', '{}', 0)"
    )
    db.commit()
    db.close()
    with RunStore.open(tmp_path, create=False) as run:
        assert run.schema_version == len(store.MIGRATIONS)
        [(message, _)] = run.messages()
        assert message.automated is False
        bot = dataclasses.replace(message, id="2", automated=True)
        assert run.add_messages([(bot, None)], observed_at=1.0) == 1
        assert [m.automated for m, _ in run.messages()] == [False, True]
        assert run.message_rows()["automated"] == [0, 1]

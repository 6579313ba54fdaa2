"""The SQLite run store: what a probe run planned, sent and observed, in ``DIR/run.sqlite``.

This is the only module that writes SQL. A run directory belongs to one process at a time:
``RunStore.open`` takes an exclusive ``flock`` on ``DIR/run.lock`` and keeps it until
``close``; the kernel releases it when the process dies, so a killed run never leaves a
stale lock behind.

Durability: the database is in WAL mode with ``synchronous=NORMAL``. Every write method
commits before it returns, and a committed transaction survives the process being killed
(even ``kill -9``): the WAL is written to the operating system before ``COMMIT`` returns.
Only an operating-system crash or power loss can lose the last few commits (the WAL is
synced at checkpoints), and that never corrupts the database. This is the crash-safety
contract with the runner: ``record_intent`` commits before the probe is sent, so anything
that might have been posted has an ``intent`` row, and a resumed run reconciles it (by the
probe's marker) instead of posting it twice.

What bots post back to the run (Rasa's callback channel) goes into the ``inbox`` table through
an ``Inbox``: a connection of its own, for the receiver's threads, each post committed before
it is acknowledged.

The schema grows by ordered migrations (``MIGRATIONS``), tracked in ``PRAGMA user_version``.
The store keeps raw messages; classification and metrics are recomputed from them. It has
no place for credentials, and ``redact`` drops credential-like keys from raw payloads.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import os
import re
import sqlite3
import threading
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import UnionType

from socialbench.errors import NO_ROOM, DiskFailed, DiskFull, SocialbenchError, writing
from socialbench.probing.connectors.base import Observed, Sent
from socialbench.probing.probes import Probe

DATABASE = "run.sqlite"
LOCK = "run.lock"

PLANNED = "planned"
INTENT = "intent"
SENT = "sent"
FAILED = "failed"
STATES = (PLANNED, INTENT, SENT, FAILED)

# Applied in order; a store at user_version N has had the first N applied. Append only:
# never edit a released migration, add a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL                         -- JSON
    );
    CREATE TABLE probes (
        probe_id TEXT PRIMARY KEY,
        ordinal INTEGER NOT NULL,                   -- planning order
        probe TEXT NOT NULL,                        -- the Probe as JSON
        due REAL NOT NULL,                          -- planned send time, platform epoch s
        state TEXT NOT NULL DEFAULT 'planned'
            CHECK (state IN ('planned', 'intent', 'sent', 'failed')),
        intent_at REAL,                             -- platform epoch s of the last intent
        platform_id TEXT,
        conversation_id TEXT,
        sent_at TEXT,                               -- platform ISO 8601, when known
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE messages (
        channel TEXT NOT NULL,
        id TEXT NOT NULL,
        probe_id TEXT REFERENCES probes (probe_id),
        surface TEXT NOT NULL,
        conversation_id TEXT,
        parent_id TEXT,
        author TEXT NOT NULL,
        author_id TEXT,
        created_at TEXT NOT NULL,                   -- platform ISO 8601, as given
        text TEXT NOT NULL,
        followers INTEGER,
        raw TEXT NOT NULL,                          -- JSON, redacted
        observed_at REAL NOT NULL,                  -- platform epoch s
        PRIMARY KEY (channel, id)
    );
    CREATE TABLE cursors (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,                           -- platform epoch s
        kind TEXT NOT NULL,
        probe_id TEXT,
        detail TEXT
    );
    """,
    # a brand message sent by automation (a bot, an away message), as the target says
    """
    ALTER TABLE messages ADD COLUMN automated INTEGER NOT NULL DEFAULT 0;
    """,
    # what bots posted back to the run's receiver (Rasa's callback channel), stored before
    # the post is acknowledged
    """
    CREATE TABLE inbox (
        seq INTEGER PRIMARY KEY,
        source TEXT NOT NULL,                       -- where it came in (listen address, path)
        key TEXT NOT NULL,                          -- whom it is for (Rasa: the recipient_id)
        received_at REAL NOT NULL,                  -- platform epoch s
        body TEXT NOT NULL                          -- JSON, redacted
    );
    CREATE INDEX inbox_by_key ON inbox (source, key, seq);
    """,
    # what `socialbench observe` received: Meta webhook events, one body each, keyed so
    # that a retry adds nothing (observe.events), stored before they are acknowledged
    """
    CREATE TABLE webhooks (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,                   -- the event's id (observe.events)
        object TEXT NOT NULL,                       -- page, instagram, whatsapp_business_account
        received_at REAL NOT NULL,                  -- epoch s
        body TEXT NOT NULL                          -- a webhook body holding this event alone
    );
    """,
)
_INBOX_SCHEMA = 3  # the migration that made the inbox
_WEBHOOKS_SCHEMA = 4  # the one that made the webhooks table

MESSAGE_COLUMNS = (
    "channel",
    "id",
    "probe_id",
    "surface",
    "conversation_id",
    "parent_id",
    "author",
    "author_id",
    "created_at",
    "text",
    "followers",
    "observed_at",
    "automated",
)
_PROBE_COLUMNS = (
    "probe, due, state, intent_at, platform_id, conversation_id, sent_at, error, attempts"
)


class RunLocked(SocialbenchError):
    """Raised when another process holds a run directory's lock."""


@dataclass(frozen=True)
class StoredProbe:
    """A planned probe and how far it got."""

    probe: Probe
    due: float  # planned send time, platform epoch seconds
    state: str  # planned | intent | sent | failed
    intent_at: float | None
    platform_id: str | None
    conversation_id: str | None
    sent_at: str | None
    error: str | None
    attempts: int

    @property
    def sent(self) -> Sent | None:
        """Where the probe landed, once it was sent."""
        if self.platform_id is None:
            return None
        return Sent(self.platform_id, self.conversation_id or "", self.sent_at)


@dataclass(frozen=True)
class Event:
    """One entry of the run's event log."""

    at: float  # platform epoch seconds
    kind: str
    probe_id: str | None
    detail: str | None


@dataclass(frozen=True)
class InboxRow:
    """One message a bot posted back to the run's receiver."""

    seq: int
    source: str  # where it came in
    key: str  # whom it is for
    received_at: float  # platform epoch seconds
    body: object  # the posted JSON, redacted


class RunStore:
    """One run directory's store, owned by this process until ``close``."""

    def __init__(self, directory: Path, db: sqlite3.Connection, lock_fd: int) -> None:
        self.directory = directory
        self.path = directory / DATABASE
        self._db = db
        self._lock_fd = lock_fd
        self._closed = False

    @classmethod
    def open(cls, directory: Path, *, create: bool) -> RunStore:
        """Start a run in ``directory`` (``create=True``) or resume the one stored there."""
        directory = Path(directory)
        if not create and not (directory / DATABASE).is_file():
            raise _no_run(directory)
        if create:
            _make_directory(directory)
        lock_fd = _lock(directory)
        try:
            exists = (directory / DATABASE).is_file()
            if create and exists:
                raise SocialbenchError(
                    f"{directory}: a run is already stored here; "
                    "add --resume to continue it, or choose another directory"
                )
            if not create and not exists:
                raise _no_run(directory)
            db = _connect(directory / DATABASE)
        except BaseException:
            _unlock(lock_fd)
            raise
        return cls(directory, db, lock_fd)

    @classmethod
    def read_only(cls, directory: Path) -> RunStore:
        """The store of ``directory`` for reading (reports), without taking the lock: a run
        may be writing meanwhile (WAL gives a consistent view). Writing through it fails."""
        directory = Path(directory)
        path = directory / DATABASE
        if not path.is_file():
            raise _no_run(directory)
        # query_only rather than a read-only open: the last connection to close may then
        # checkpoint and remove the -wal and -shm files instead of leaving them behind
        db = _open_database(path)
        try:
            db.execute("PRAGMA query_only = ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            db.close()
            raise SocialbenchError(f"{path}: not a usable run store: {error}") from None
        if version > len(MIGRATIONS):
            db.close()
            raise SocialbenchError(f"{path}: made by a newer socialbench (schema {version})")
        return cls(directory, db, -1)

    def close(self) -> None:
        """Close the database and release the directory's lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._db.close()
        finally:
            if self._lock_fd >= 0:
                _unlock(self._lock_fd)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # meta

    def set_meta(self, key: str, value: object) -> None:
        """Store a JSON-serialisable value under ``key``, replacing any previous one."""
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, _dumps(value)),
        )

    def meta(self, key: str, default: object = None) -> object:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def all_meta(self) -> dict[str, object]:
        rows = self._db.execute("SELECT key, value FROM meta ORDER BY key")
        return {key: json.loads(value) for key, value in rows}

    # probes

    def plan(self, probes_with_due: Iterable[tuple[Probe, float]]) -> int:
        """Add probes with their planned send times, in order; return how many were new.

        Probes already planned (by ``probe_id``) are left as they are, so planning the same
        suite again on a resume changes nothing.
        """
        with self._transaction():
            start = self._db.execute("SELECT COALESCE(MAX(ordinal), -1) + 1 FROM probes")
            first = start.fetchone()[0]
            rows = (
                (probe.probe_id, first + n, _dumps(probe), float(due))
                for n, (probe, due) in enumerate(probes_with_due)
            )
            before = self._db.total_changes
            self._db.executemany(
                "INSERT INTO probes (probe_id, ordinal, probe, due) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (probe_id) DO NOTHING",
                rows,
            )
            return self._db.total_changes - before

    def record_intent(self, probe_id: str, at: float) -> None:
        """Mark a planned (or failed) probe as about to be sent; committed on return.

        Call it before sending: after a crash, an ``intent`` probe may or may not have been
        posted, and must be reconciled before it is sent again.
        """
        self._transition(
            probe_id,
            "SET state = 'intent', intent_at = ?, attempts = attempts + 1, error = NULL",
            (at,),
            allowed=(PLANNED, FAILED),
        )

    def record_sent(
        self, probe_id: str, sent: Sent, replies: Iterable[Observed] = (), observed_at: float = 0
    ) -> None:
        """Mark a probe as posted (from intent, or from failed when reconciliation finds it),
        with the replies that came back with it (a chatbot's), in one transaction: a killed
        run keeps both or neither."""
        with self._transaction():
            self._transition(
                probe_id,
                "SET state = 'sent', platform_id = ?, conversation_id = ?, sent_at = ?, "
                "error = NULL",
                (sent.platform_id, sent.conversation_id, sent.sent_at),
                allowed=(INTENT, FAILED),
            )
            self._insert_messages([(reply, probe_id) for reply in replies], observed_at)

    def record_failed(self, probe_id: str, error: str) -> None:
        """Mark a probe as not sent, with the reason."""
        self._transition(
            probe_id, "SET state = 'failed', error = ?", (error,), allowed=(PLANNED, INTENT)
        )

    def reset_intent(self, probe_id: str) -> None:
        """Put an ``intent`` probe back to planned: reconciliation found it was never sent."""
        self._transition(probe_id, "SET state = 'planned', intent_at = NULL", (), allowed=(INTENT,))

    def probe(self, probe_id: str) -> StoredProbe | None:
        row = self._db.execute(
            f"SELECT {_PROBE_COLUMNS} FROM probes WHERE probe_id = ?", (probe_id,)
        ).fetchone()
        return None if row is None else _stored_probe(row)

    def probes(self, states: Iterable[str] | str | None = None) -> list[StoredProbe]:
        """Planned probes in planning order, optionally only those in ``states``."""
        sql = f"SELECT {_PROBE_COLUMNS} FROM probes"
        params: tuple[str, ...] = ()
        if states is not None:
            params = (states,) if isinstance(states, str) else tuple(states)
            unknown = sorted(set(params) - set(STATES))
            if unknown:
                raise ValueError(f"unknown probe states: {', '.join(unknown)}")
            sql += f" WHERE state IN ({', '.join('?' * len(params))})"
        rows = self._db.execute(sql + " ORDER BY ordinal", params)
        return [_stored_probe(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many probes are in each state (every state present)."""
        counts = dict.fromkeys(STATES, 0)
        rows = self._db.execute("SELECT state, COUNT(*) FROM probes GROUP BY state")
        counts.update(rows)
        return counts

    # messages

    def add_messages(self, items: Iterable[tuple[Observed, str | None]], observed_at: float) -> int:
        """Store observed messages with the probe each belongs to (or None); keep the first
        copy of a message already stored. Returns how many were new.

        A probe id must name a planned probe. Raw payloads are stored ``redact``-ed.
        """
        with self._transaction():
            return self._insert_messages(items, observed_at)

    def _insert_messages(self, items: Iterable[tuple[Observed, str | None]], observed_at: float):
        rows = [
            (
                message.channel,
                message.id,
                probe_id,
                message.surface,
                message.conversation_id,
                message.parent_id,
                message.author,
                message.author_id,
                message.created_at,
                message.text,
                message.followers,
                observed_at,
                int(message.automated),
                _dumps(redact(message.raw)),
            )
            for message, probe_id in items
        ]
        if not rows:
            return 0
        names = (*MESSAGE_COLUMNS, "raw")
        before = self._db.total_changes
        self._db.executemany(
            f"INSERT INTO messages ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT (channel, id) DO NOTHING",
            rows,
        )
        return self._db.total_changes - before

    def set_message_probe(self, channel: str, message_id: str, probe_id: str | None) -> None:
        """Attribute a stored message to a probe (or to none)."""
        self._db.execute(
            "UPDATE messages SET probe_id = ? WHERE channel = ? AND id = ?",
            (probe_id, channel, message_id),
        )

    def message_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    def message_rows(self) -> dict[str, list]:
        """Every message as columns (``MESSAGE_COLUMNS``, raw left out), in order observed:
        ready for ``pandas.DataFrame(...)``."""
        rows = self._db.execute(f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM messages ORDER BY rowid")
        columns = list(zip(*rows, strict=True)) or [()] * len(MESSAGE_COLUMNS)
        return {name: list(values) for name, values in zip(MESSAGE_COLUMNS, columns, strict=True)}

    def messages(self) -> list[tuple[Observed, str | None]]:
        """Every message, raw payload included, with its probe id, in order observed."""
        names = [name for name in MESSAGE_COLUMNS if name not in ("probe_id", "observed_at")]
        rows = self._db.execute(
            f"SELECT probe_id, raw, {', '.join(names)} FROM messages ORDER BY rowid"
        )
        return [
            (_observed(dict(zip(names, values, strict=True)), json.loads(raw)), probe_id)
            for probe_id, raw, *values in rows
        ]

    # cursors

    def cursor(self, key: str) -> str | None:
        """A stored polling position, or None."""
        row = self._db.execute("SELECT value FROM cursors WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO cursors (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # events

    def log_event(
        self,
        kind: str,
        probe_id: str | None = None,
        detail: str | None = None,
        *,
        at: float | None = None,
    ) -> None:
        """Append to the run's event log (per-probe problems, run starts and stops, ...).

        ``at`` is platform epoch seconds; pass the connector clock's ``now()`` (a simulated
        platform's clock is not this machine's). Without it, this machine's clock is used.
        """
        self._db.execute(
            "INSERT INTO events (at, kind, probe_id, detail) VALUES (?, ?, ?, ?)",
            (time.time() if at is None else at, kind, probe_id, detail),
        )

    def events(self, kind: str | None = None) -> list[Event]:
        sql = "SELECT at, kind, probe_id, detail FROM events"
        params: tuple[str, ...] = ()
        if kind is not None:
            sql, params = sql + " WHERE kind = ?", (kind,)
        return [Event(*row) for row in self._db.execute(sql + " ORDER BY seq", params)]

    # inbox

    def inbox(
        self, after: int = 0, *, source: str | None = None, key: str | None = None
    ) -> list[InboxRow]:
        """What bots posted back (``Inbox``), in order received: the rows after seq ``after``,
        only those of ``source`` and ``key`` when given."""
        if self.schema_version < _INBOX_SCHEMA:  # a store read before it had one
            return []
        return _inbox_rows(self._db, after, source, key)

    def webhook_events(self) -> list[tuple[str, str]]:
        """What ``observe`` received: (object, body JSON) per event, in order received."""
        if self.schema_version < _WEBHOOKS_SCHEMA:
            return []
        return self._db.execute("SELECT object, body FROM webhooks ORDER BY seq").fetchall()

    # internals

    def _transaction(self) -> AbstractContextManager[None]:
        return _immediate(self._db)

    def _transition(
        self, probe_id: str, assignments: str, params: tuple, *, allowed: tuple[str, ...]
    ) -> None:
        marks = ", ".join("?" * len(allowed))
        updated = self._db.execute(
            f"UPDATE probes {assignments} WHERE probe_id = ? AND state IN ({marks})",
            (*params, probe_id, *allowed),
        )
        if updated.rowcount == 1:
            return
        row = self._db.execute("SELECT state FROM probes WHERE probe_id = ?", (probe_id,))
        state = row.fetchone()
        if state is None:
            raise ValueError(f"probe {probe_id} is not planned in this run")
        raise ValueError(f"probe {probe_id} is {state[0]}, not {' or '.join(allowed)}")


class Inbox:
    """The run store's inbox on a connection of its own, for a receiver's threads: what
    bots post back to the run is added here, each post in one transaction committed before
    the post is acknowledged, while this process's ``RunStore`` (which holds the directory's
    lock, and migrated the store) goes on. Safe to share between threads."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path) -> Inbox:
        """The inbox of the run in ``directory``, whose store this process has open."""
        path = Path(directory) / DATABASE
        if not path.is_file():
            raise SocialbenchError(f"{directory}: no run store here ({DATABASE})")
        db = _open_database(path, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous = NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            db.close()
            raise SocialbenchError(f"{path}: not a usable run store: {error}") from None
        if not _INBOX_SCHEMA <= version <= len(MIGRATIONS):
            db.close()
            raise SocialbenchError(f"{path}: a run store of schema {version} has no inbox to use")
        return cls(path, db)

    def add(
        self, source: str, items: Iterable[tuple[str, object]], received_at: float
    ) -> list[int]:
        """Store one post's messages, each ``(key, body)``, in one transaction committed
        before it returns; their seqs. Bodies are stored ``redact``-ed."""
        rows = [(source, key, received_at, _dumps(redact(body))) for key, body in items]
        with self._lock, _immediate(self._db):
            return [
                self._db.execute(
                    "INSERT INTO inbox (source, key, received_at, body) VALUES (?, ?, ?, ?)", row
                ).lastrowid
                for row in rows
            ]

    def rows(
        self, after: int = 0, *, source: str | None = None, key: str | None = None
    ) -> list[InboxRow]:
        """As ``RunStore.inbox``."""
        with self._lock:
            return _inbox_rows(self._db, after, source, key)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class WebhookLog:
    """The observe store's webhook events on a connection of its own (the receiver's):
    ``add`` commits a body's events before the receiver acknowledges it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @classmethod
    def open(cls, directory: Path) -> WebhookLog:
        return cls(_connect(Path(directory) / DATABASE))

    def add(self, events, received_at: float) -> int:
        """Store ``events`` (``observe.events.Event``) in one transaction; those whose key
        is stored already (a retry) are left out. Returns how many were new."""
        rows = [(e.key, e.object, received_at, e.json()) for e in events]
        with _immediate(self._db):
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO webhooks (key, object, received_at, body) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            return self._db.total_changes - before

    def close(self) -> None:
        self._db.close()


def _inbox_rows(db: sqlite3.Connection, after: int, source: str | None, key: str | None):
    sql = "SELECT seq, source, key, received_at, body FROM inbox WHERE seq > ?"
    params: list[object] = [after]
    for column, value in (("source", source), ("key", key)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    rows = db.execute(sql + " ORDER BY seq", params)
    return [InboxRow(*row[:4], json.loads(row[4])) for row in rows]


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, committed on leaving, rolled back on an error (SQLite may have
    rolled it back itself: a full disk)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        _rollback(db)
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with suppress(sqlite3.Error, SocialbenchError):
            db.execute("ROLLBACK")


class _Connection(sqlite3.Connection):
    """A connection whose statements, failing for want of room (SQLITE_FULL) or on a failing
    disk (SQLITE_IOERR), raise DiskFull or DiskFailed naming the database file."""

    path = Path(DATABASE)

    def execute(self, *args, **kwargs):
        with _disk_errors(self.path):
            return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        with _disk_errors(self.path):
            return super().executemany(*args, **kwargs)

    def executescript(self, *args, **kwargs):
        with _disk_errors(self.path):
            return super().executescript(*args, **kwargs)


def _open_database(path: Path, *, check_same_thread: bool = True) -> _Connection:
    """A connection to ``path`` in autocommit mode (transactions are explicit)."""
    with _disk_errors(path):
        db = sqlite3.connect(
            path,
            isolation_level=None,
            timeout=10,
            check_same_thread=check_same_thread,
            factory=_Connection,
        )
    db.path = Path(path)
    return db


@contextmanager
def _disk_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise _disk_error(path, error) or error from None


def _disk_error(path: Path, error: sqlite3.Error) -> SocialbenchError | None:
    """DiskFull or DiskFailed when ``error`` is SQLite's full disk or I/O error, else None."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    text = str(error)
    if primary == sqlite3.SQLITE_FULL or "database or disk is full" in text:
        return DiskFull(path, "database or disk is full")
    if primary == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
        return DiskFailed(path, "disk I/O error")
    return None


def _no_run(directory: Path) -> SocialbenchError:
    return SocialbenchError(
        f"{directory}: no run here to resume (no {DATABASE}); start one without --resume"
    )


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno in NO_ROOM:
            raise DiskFull(directory, os.strerror(error.errno)) from None
        raise SocialbenchError(f"{directory}: cannot create run directory: {error}") from None


def _lock(directory: Path) -> int:
    """Lock ``directory`` for this process and write our pid into the lock file."""
    path = directory / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise SocialbenchError(f"{path}: cannot open lock file: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        pid = f"pid {holder}" if holder.isdigit() else "pid unknown"
        raise RunLocked(
            f"{directory}: another socialbench process ({pid}) is using this run directory"
        ) from None
    except OSError as error:
        os.close(fd)
        raise SocialbenchError(f"{path}: cannot lock: {error.strerror}") from None
    try:
        with writing(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        _unlock(fd)
        raise
    return fd


def _unlock(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


def _connect(path: Path) -> sqlite3.Connection:
    """Open the database in autocommit mode (transactions are explicit) and migrate it."""
    db = _open_database(path)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db, path)
    except sqlite3.DatabaseError as error:
        db.close()
        raise SocialbenchError(f"{path}: not a usable run store: {error}") from None
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this store has not had yet, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SocialbenchError(
            f"{path}: this run store has schema version {version}, but this socialbench "
            f"knows versions up to {len(MIGRATIONS)}; upgrade socialbench to open it"
        )
    for number in range(version, len(MIGRATIONS)):
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\n;"
                f"PRAGMA user_version = {number + 1};\nCOMMIT;"
            )
        except BaseException:
            if db.in_transaction:
                db.rollback()
            raise


def _stored_probe(row: tuple) -> StoredProbe:
    probe, *rest = row
    return StoredProbe(_from_json(Probe, json.loads(probe)), *rest)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value: object) -> object:
    """JSON for what ``json`` cannot encode: dataclasses as dicts of their fields (not
    ``dataclasses.asdict``, which deep-copies), anything else as text (a suite
    variable YAML parsed as a date must not stop a run)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def _from_json(cls: type, data: dict) -> typing.Any:
    """Rebuild a dataclass from its JSON: nested dataclasses and tuples come back as
    themselves, not as dicts and lists. Unknown keys are ignored."""
    converters = _converters(cls)
    values = {}
    for name, value in data.items():
        if name in converters:
            convert = converters[name]
            values[name] = value if convert is None or value is None else convert(value)
    return cls(**values)


@functools.cache
def _converters(cls: type) -> dict[str, typing.Callable[[typing.Any], typing.Any] | None]:
    hints = typing.get_type_hints(cls)
    return {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}


def _converter(hint: typing.Any) -> typing.Callable[[typing.Any], typing.Any] | None:
    """How to turn a JSON value back into ``hint``, or None when it needs nothing."""
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    for option in options:
        if dataclasses.is_dataclass(option):
            return functools.partial(_from_json, option)
        if typing.get_origin(option) is tuple:
            args = typing.get_args(option)
            inner = _converter(args[0]) if args else None
            return tuple if inner is None else functools.partial(_tuple_of, inner)
    return None


def _tuple_of(convert: typing.Callable[[typing.Any], typing.Any], items: list) -> tuple:
    return tuple(map(convert, items))


# Credential-like keys; pagination tokens are positions, not secrets, and replays need them.
_SECRET_KEY = re.compile(
    r"authorization|bearer|password|passwd|secret|token|api_?key|cookie|credential", re.I
)
_NOT_SECRET = frozenset(
    {"next_token", "previous_token", "pagination_token", "page_token", "next_page_token"}
)
# Credentials some APIs put in URLs (the Graph API's paging links carry access_token).
_SECRET_PARAM = re.compile(
    r"([?&](?:access_token|refresh_token|client_secret|api_key|apikey|password)=)[^&#\s\"']+",
    re.I,
)


def redact(value: typing.Any) -> typing.Any:
    """A copy of a JSON-like value without credentials: keys named like authorization,
    token, bearer, password or secret are dropped at any depth, and credential query
    parameters in URLs have their values replaced by ``REDACTED``."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if not _is_secret_key(k)}
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    if isinstance(value, str) and "=" in value:
        return _SECRET_PARAM.sub(r"\1REDACTED", value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and _is_secret_name(key)


@functools.lru_cache(maxsize=4096)
def _is_secret_name(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name not in _NOT_SECRET and _SECRET_KEY.search(name) is not None


def _observed(fields: dict, raw: dict) -> Observed:
    """A stored message as the connector observed it (``automated`` stored as 0 or 1)."""
    return Observed(**fields | {"automated": bool(fields["automated"])}, raw=raw)

"""Observing a brand's own inbox: Meta webhooks in, stored events and figures at any time out.

``socialbench observe --out DIR --listen HOST:PORT`` receives Meta's webhooks for Messenger,
Instagram and the WhatsApp Cloud API (``server.Receiver``) and stores every event, raw, in
the directory's run store before acknowledging it. ``refresh(DIR)`` (run by ``report DIR``
and ``check DIR``) measures what has arrived so far: the stored bodies are read by the same
readers as an archive of webhook bodies, and the probe table is made by the archive plan as
of now, so a probe whose window is still open counts as watched until now (Kaplan–Meier).
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from socialbench.errors import InputError, UsageError, writing

KIND = "observe"  # the run store's meta "kind" of an observation directory
BRANDS_FILE = "brands.yaml"  # the brand book given to observe, copied into DIR
DEFAULT_LISTEN = "127.0.0.1:8787"
# what each platform sends of a brand's own replies, per channel and surface, for the notes
REPLIES_SENT = {
    ("messenger", "private"): "Messenger sends a Page's replies as echoes only to apps "
    "subscribed to the message_echoes field",
    ("instagram", "private"): "Instagram sends the account's replies as echoes with the "
    "messages field",
    ("instagram", "public"): "Instagram does not send the account's own comments, so its "
    "replies to comments cannot be seen",
    ("facebook", "public"): "a Page's own comments arrive as feed changes only with the feed field",
    ("whatsapp", "private"): "the Cloud API sends no business messages, only their statuses "
    "(sent, delivered, read): reply times are known, their text is not",
}
_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s]+)):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``HOST:PORT`` (``[::1]:8787`` for IPv6); UsageError otherwise."""
    found = _LISTEN.match(text.strip())
    port = int(found.group("port")) if found else -1
    if not found or not 0 <= port <= 65535:
        raise UsageError(f"--listen: {text!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    return Listen(found.group("v6") or found.group("host"), port)


def secret(env: dict, name: str, option: str) -> str:
    """The value of the environment variable ``name`` (never printed); UsageError naming
    the variable when it is not set or empty."""
    from socialbench.scenarios.models import secret_problem

    if (problem := secret_problem(env, name)) is not None:
        raise UsageError(f"{option}: {problem}")
    return env[name]


def is_observation(directory: Path) -> bool:
    """Whether ``directory`` holds an observation (not a probe run or an archive run)."""
    from socialbench.probing.store import DATABASE, RunStore

    if not (Path(directory) / DATABASE).is_file():
        return False
    with RunStore.read_only(directory) as store:
        return store.meta("kind") == KIND


def serve(
    out_dir: Path,
    listen: Listen,
    *,
    verify_token: str,
    app_secret: str,
    window_s: float,
    brands_file: Path | None,
    announce,
    log,
) -> None:
    """Receive webhooks into ``out_dir`` until interrupted (a directory observed before is
    observed further; a probe run's is refused)."""
    from socialbench.probing import serving
    from socialbench.probing.observe.server import PATH, Receiver
    from socialbench.probing.store import WebhookLog

    store = _open(out_dir, window_s, brands_file)
    try:
        events = WebhookLog.open(out_dir)
        receiver = Receiver(verify_token=verify_token, app_secret=app_secret, save=events.add,
                            clock=time.time, log=log)  # fmt: skip
        config = serving.config(receiver, listen.host, listen.port, lifespan="on",
                                timeout_graceful_shutdown=2)  # fmt: skip
        server = serving.AnnouncingServer(
            config, lambda bound: announce(f"{Listen(listen.host, bound.port()).url}{PATH}")
        )
        try:
            server.run()
        finally:
            events.close()
        if not server.started:
            raise UsageError(f"--listen: cannot listen on {listen.host}:{listen.port}")
    finally:
        store.close()


def _open(out_dir: Path, window_s: float, brands_file: Path | None):
    from socialbench.probing.store import DATABASE, RunStore

    existing = (Path(out_dir) / DATABASE).is_file()
    store = RunStore.open(out_dir, create=not existing)
    try:
        kind = store.meta("kind")
        if existing and kind != KIND:
            raise UsageError(
                f"{out_dir}: holds a probe run, not an observation; choose another --out"
            )
        store.set_meta("kind", KIND)
        store.set_meta("window_s", window_s)
        if store.meta("started") is None:
            store.set_meta("started", time.time())
        if brands_file is not None:
            (Path(out_dir) / BRANDS_FILE).write_bytes(Path(brands_file).read_bytes())
    except BaseException:
        store.close()
        raise
    return store


# ------------------------------------------------------------------------ figures at any time


def refresh(directory: Path, *, min_group: int, tiers: tuple[float, ...], engine=None) -> dict:
    """Write ``probes.csv`` and ``summary.json`` of what ``directory`` has received so far,
    as of now; returns the summary. InputError when nothing usable has arrived yet."""
    from socialbench import conversations
    from socialbench.conversations import analyse
    from socialbench.measure import metrics
    from socialbench.probing.store import RunStore
    from socialbench.report import output

    directory = Path(directory)
    as_of = time.time()
    with RunStore.read_only(directory) as store:
        window_s = float(store.meta("window_s") or conversations.DEFAULT_WINDOW_S)
        started = store.meta("started")
        bodies = store.webhook_events()
    if not bodies:
        raise InputError(directory, "no webhook event has arrived yet")
    book, options = _brand_book(directory)
    settings = conversations.Settings(window_s=window_s, brand_book=book, as_of_s=as_of)
    metric_settings = metrics.MetricSettings(window_s=window_s, min_group=min_group, tiers=tiers)
    with tempfile.TemporaryDirectory(prefix="socialbench-observe-") as tmp:
        paths = _exports(Path(tmp), bodies)
        result = analyse.analyse(paths, fmt=None, options=options, settings=settings,
                                 metric_settings=metric_settings, engine=engine)  # fmt: skip
        with result:
            summary = result.summary
            summary["sources"] = [
                {**info, "path": f"webhooks ({Path(info['path']).stem})"}
                for info in summary["sources"]
            ]
            summary["observed"] = _observed(_silent(result.table), bodies, started, as_of)
            writers = result.writers()
            writers["summary.json"] = lambda p: output.write_json(summary, p)
            output.write_run(directory, writers)
    return summary


def _brand_book(directory: Path):
    from socialbench import sources
    from socialbench.conversations import brands

    path = directory / BRANDS_FILE
    book = brands.load(path if path.is_file() else None)
    return book, sources.ReadOptions(brand_handles=frozenset(book.handles()))


def _exports(folder: Path, bodies: list[tuple[str, str]]) -> list[Path]:
    """The stored bodies as JSON Lines, one file per platform object (each read by its
    format's reader)."""
    by_object: dict[str, list[str]] = {}
    for kind, body in bodies:
        by_object.setdefault(kind, []).append(body)
    paths = []
    for kind, lines in sorted(by_object.items()):
        path = folder / f"{kind}.jsonl"
        with writing(path):
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _silent(table) -> list[tuple[str, str]]:
    """The (channel, surface) pairs of the engine's probe table without any answer (asked of
    the engine: the probe table is not read into Python for this)."""
    return table.db.rows(
        f"SELECT channel, surface FROM {table.name} GROUP BY channel, surface "
        "HAVING max(CASE WHEN responded THEN 1 ELSE 0 END) = 0 ORDER BY channel, surface"
    )


def _observed(silent: list[tuple[str, str]], bodies: list, started, as_of: float) -> dict:
    """What was observed, and a note for each channel and surface in ``silent``, where
    customers wrote and no brand message arrived (the platform may not send the brand's
    replies)."""
    import datetime as dt

    def iso(moment):
        if moment is None:
            return None
        return dt.datetime.fromtimestamp(float(moment), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    notes = [
        f"{channel} ({surface}): no brand reply arrived; {REPLIES_SENT[channel, surface]}"
        for channel, surface in silent
        if (channel, surface) in REPLIES_SENT
    ]
    return {"since": iso(started), "as_of": iso(as_of), "events": len(bodies), "notes": notes}

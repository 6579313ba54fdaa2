"""Shared helpers: hermetic environment, fixture writing, the real-sample folder."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
DATA = Path(__file__).resolve().parent / "data"
SOURCE_DATA = DATA / "sources"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch):
    for name in list(os.environ):
        if any(word in name.upper() for word in ("TOKEN", "SECRET", "PASSWORD", "API_KEY")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "120")


def external(*parts: str) -> Path:
    """A real public sample under ../shared/data/external, or skip the test."""
    path = EXTERNAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{EXTERNAL} not present: real public samples unavailable")
    return path


def write_file(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` and return it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_fixture(path: Path, rows: list[dict]) -> Path:
    """Write socialbench fixture JSON Lines (with the format header)."""
    lines = [json.dumps({"format": "socialbench-fixture", "version": 1})]
    lines += [json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def msg(id, author, at, text="", *, parent=None, brand=False, **extra) -> dict:
    """One fixture message; ``at`` is minutes after 2024-03-04T09:00:00Z (a Monday)."""
    from datetime import UTC, datetime, timedelta

    t = datetime(2024, 3, 4, 9, 0, tzinfo=UTC) + timedelta(minutes=at)
    row = {
        "id": str(id),
        "author": author,
        "created_at": t.isoformat(),
        "text": text,
        "is_brand": brand,
        "channel": "x",
    }
    if parent is not None:
        row["parent_id"] = str(parent)
    row.update(extra)
    return row


@contextlib.contextmanager
def serving(app):
    """``app`` (ASGI) served by uvicorn on a free loopback port from a thread of its own,
    for a test's fake platform or bot; yields its base URL and stops it on leaving."""
    import threading

    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", access_log=False, ws="none")  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        threading.Event().wait(0.05)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(10)


def run_bots(tmp_path: Path, suite: str, env: dict[str, str]):
    """``socialbench run SUITE --target bots --quiet`` (the suite written to
    ``tmp_path/suite.yaml``, the run into ``tmp_path/out``) with exactly ``env``; the
    result and the run directory."""
    from click.testing import CliRunner

    from socialbench.cli import main

    path = tmp_path / "suite.yaml"
    path.write_text(suite, encoding="utf-8")
    out = tmp_path / "out"
    args = ["run", str(path), "--target", "bots", "--out", str(out), "--quiet"]
    return CliRunner().invoke(main, args, env=env), out

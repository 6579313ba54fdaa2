"""The progress of a probe run: a live rich line on a terminal, plain lines otherwise.

Plain lines are throttled (one every ``every_s`` seconds, and the last one), so a CI log of a
long run stays readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from socialbench.durations import format_seconds


def describe(status) -> str:
    """One line of progress: sent, failed, replies seen, time left in the window."""
    left = "done" if status.done else f"{format_seconds(status.left_s)} of window left"
    failed = f", {status.failed:,} failed" if status.failed else ""
    return (
        f"sent {status.sent:,}/{status.planned:,}{failed} · replies seen {status.replies:,} · "
        f"messages {status.messages:,} · {left}"
    )


class Display:
    """A progress callback for the runner; use as a context manager."""

    def __init__(self, *, quiet: bool, live: bool, every_s: float = 10.0, echo=None) -> None:
        self.quiet = quiet
        self.live = live and not quiet
        self.every_s = every_s
        self.echo: Callable[[str], None] = echo or print
        self._last = float("-inf")
        self._progress = None
        self._task = None

    def __enter__(self) -> Display:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, status) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            from rich.markup import escape

            description = escape(describe(status).split(" · ", 1)[1])
            self._progress.update(
                self._task, completed=status.sent, total=status.planned, description=description
            )
            return
        now = time.monotonic()
        if status.done or now - self._last >= self.every_s:
            self._last = now
            self.echo(describe(status))

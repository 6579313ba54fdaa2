"""Messages in, the probe table out: reply trees, the probe's exchange and every per-probe
field of METRICS.md, defined once as a relational plan (``plan``) that an engine runs.

- ``plan``: the definition, SQL steps (the README's methodology states it for users);
- ``rules``: the text rules the plan calls, one Arrow function on every engine;
- ``duck``: the plan on DuckDB (the default, embedded);
- ``spark``: the plan on Apache Spark.

- ``scan``, ``scan_generic``, ``spark_scan``: archives read by the engine itself;
- ``frames``: the boundary with pandas and Arrow (messages in, the probe table out);
- ``analyse``: recorded conversations from files to a finished probe table;
- ``brands``: the brand book (which accounts are a brand's, its support hours).

``frames.probe_table`` takes the messages table (``socialbench.sources.messages``) and returns the
probe table as a pandas frame: PROBE_COLUMNS then EXTRA_COLUMNS, in the probes' time order.
This module stays light (no pandas, Arrow or engine is imported until one is used), so the
command line can name the engines without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from socialbench.conversations.plan import ENGINES, UNKNOWN_BRAND, EngineOptions, Params

if TYPE_CHECKING:
    from socialbench.conversations.brands import BrandBook

__all__ = [
    "ENGINES",
    "EngineOptions",
    "PROBE_COLUMNS",
    "Settings",
    "UNKNOWN_BRAND",
]

DEFAULT_WINDOW_S = 7 * 86400
PROBE_COLUMNS = (
    "probe_id", "brand", "channel", "surface", "persona", "followers", "category", "scenario",
    "sent_at", "responded", "first_response_at", "ttfr_s", "ttfr_business_s", "link", "dm",
    "phone", "email", "ack_only", "resolved", "brand_messages",
)  # fmt: skip
EXTRA_COLUMNS = (
    "conversation_id", "watched_s", "automated_messages", "automated_at", "ttfa_s", "bot_only",
    "handoff_s", "weekday", "hour",
)  # fmt: skip
REPLY_TYPES = ("link", "dm", "phone", "email")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NS = 1_000_000_000


def open_engine(options: EngineOptions | None = None):
    """A new engine (``duck.DuckEngine`` or ``spark.SparkEngine``); the caller closes it."""
    options = options or EngineOptions()
    if options.kind == "spark":
        from socialbench.conversations import spark

        return spark.SparkEngine(options)
    from socialbench.conversations import duck

    return duck.DuckEngine(options)


@dataclass(frozen=True)
class Settings:
    """How conversations are cut into probes."""

    window_s: float = DEFAULT_WINDOW_S
    reopen_after_s: float | None = None
    brand_book: BrandBook = field(default_factory=lambda: _no_brand_book())
    # when the messages were read, for an inbox still observed (epoch seconds; None: an
    # archive, whose every window has ended)
    as_of_s: float | None = None

    def params(self, source: str = "messages") -> Params:
        reopen = self.reopen_after_s
        return Params(
            window_ns=round(self.window_s * _NS),
            reopen_ns=None if reopen is None else round(reopen * _NS),
            handles=self.brand_book.alias_map(),
            listed=self.brand_book.handles(),
            source=source,
            as_of_ns=None if self.as_of_s is None else round(self.as_of_s * _NS),
        )


def _no_brand_book() -> BrandBook:
    from socialbench.conversations.brands import BrandBook

    return BrandBook()

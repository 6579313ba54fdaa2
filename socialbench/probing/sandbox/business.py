"""Adding business time to an instant: when does a latency counted in support hours end?

`BusinessClock.add(start_ms, seconds)` is the instant at which the open time elapsed since
``start_ms`` equals ``seconds``; a start while closed waits for the next opening. Open
intervals come from `socialbench.measure.calendar.open_intervals`, computed once per brand and
UTC week and cached, so a probe costs a few list steps rather than a calendar build.
"""

from __future__ import annotations

import datetime as dt

from socialbench.measure.calendar import SupportHours, open_intervals

WEEK_MS = 7 * 86_400_000
HORIZON_WEEKS = 106  # about two years: a calendar without open time there never answers
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Span = tuple[int, int]  # epoch milliseconds, end exclusive


def _ms(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


class BusinessClock:
    """A brand's support hours as open spans in epoch milliseconds, week by week."""

    def __init__(self, hours: SupportHours) -> None:
        self.hours = hours
        self._weeks: dict[int, list[Span]] = {}

    def _week(self, index: int) -> list[Span]:
        spans = self._weeks.get(index)
        if spans is None:
            lo = _EPOCH + dt.timedelta(milliseconds=index * WEEK_MS)
            found = open_intervals(self.hours, lo, lo + dt.timedelta(milliseconds=WEEK_MS))
            spans = self._weeks[index] = [(_ms(s), _ms(e)) for s, e in found]
        return spans

    def add(self, start_ms: int, seconds: float) -> int | None:
        """The instant when ``seconds`` of open time have passed since ``start_ms``, or None
        when the calendar has not that much open time within the horizon."""
        left = seconds * 1000.0
        first = start_ms // WEEK_MS
        for index in range(first, first + HORIZON_WEEKS):
            for lo, hi in self._week(index):
                lo = max(lo, start_ms)
                if hi <= lo:
                    continue
                if left <= hi - lo:
                    return lo + round(left)
                left -= hi - lo
        return None

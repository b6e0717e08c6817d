"""One injectable clock, so deadline timers can be moved in tests."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from eventsourcing.domain import CanCreateTimestamp


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    @classmethod
    def from_env(cls, env=os.environ) -> "Clock":
        # For end-to-end tests that run services as processes: shift the clock
        # without touching the machine's time.
        return cls(timedelta(seconds=float(env.get("TOUSU_CLOCK_OFFSET_SECONDS", "0"))))


def stamp_events_with(clock: Clock) -> None:
    """A moved clock stamps the events of this process too: an integration
    event's `occurred_at` is its event's timestamp, and the next service counts
    from it (routing's receipt time, and with it the rulebook of `by-date` and
    every deadline). The store library reads the time itself; it is told once,
    for the whole process, as the clock is one for the whole process."""
    if clock.offset:
        CanCreateTimestamp.create_timestamp = staticmethod(clock.now)

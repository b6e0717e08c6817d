"""One injectable clock, so deadline timers can be moved in tests."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone


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

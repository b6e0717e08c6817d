"""Logs that say a state changed, not every retry of it.

While a broker is away the Kafka clients report each failed connection, fetch
and heartbeat, many times a second per service. An operator needs the first of
each kind and how many followed; this filter lets one message of each kind
through per window and counts the rest into the next one let through."""
from __future__ import annotations

import logging
import time

CHATTY = ("aiokafka", "faust", "mode")


class Calm(logging.Filter):
    def __init__(self, window_s: float = 60.0, clock=time.monotonic):
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._last: dict[tuple, float] = {}
        self._held: dict[tuple, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(CHATTY) or record.levelno >= logging.CRITICAL:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        if now - self._last.get(key, -self.window_s) < self.window_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {self.window_s:.0f}s)"
        return True


def install(window_s: float = 60.0) -> None:
    """On every handler of the root logger (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        # One each: a shared filter would let a line through to the first handler only.
        handler.addFilter(Calm(window_s))

"""Aggregates a timer must look at again, found by following the application's
own notification log incrementally, filtered by event type."""
from __future__ import annotations

import threading
from uuid import UUID

from eventsourcing.utils import get_topic

from .store import ServiceApplication


class Watchlist:
    """Ids of aggregates that had one of `event_classes` stored, not yet dropped."""

    def __init__(self, app: ServiceApplication, *event_classes):
        self.app = app
        self.topics = [get_topic(cls) for cls in event_classes]
        self.position = 0
        self.ids: set[UUID] = set()
        self._lock = threading.Lock()

    def refresh(self) -> set[UUID]:
        with self._lock:
            while True:
                page = self.app.recorder.select_notifications(
                    self.position, 1000, topics=self.topics, inclusive_of_start=False)
                if not page:
                    break
                self.ids.update(n.originator_id for n in page)
                self.position = page[-1].id
            return set(self.ids)

    def drop(self, aggregate_id: UUID) -> None:
        with self._lock:
            self.ids.discard(aggregate_id)

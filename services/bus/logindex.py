"""Aggregates a timer must look at again, found by following the application's
own notification log incrementally, filtered by event type."""
from __future__ import annotations

import threading
from uuid import UUID

from eventsourcing.utils import get_topic

from .store import ServiceApplication


class Watchlist:
    """Ids of aggregates a timer must look at again: those whose latest stored
    event among `follow` and `until` is one of `follow`. A timer may also drop
    an id it has finished with; a later `follow` event brings it back.

    Dropping on `until` as the log is read keeps a restart from loading every
    aggregate the service ever had: only the live ones come back."""

    def __init__(self, app: ServiceApplication, *follow, until=()):
        self.app = app
        self.follow = {get_topic(cls) for cls in follow}
        self.topics = [*self.follow, *(get_topic(cls) for cls in until)]
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
                for notification in page:
                    if notification.topic in self.follow:
                        self.ids.add(notification.originator_id)
                    else:
                        self.ids.discard(notification.originator_id)
                self.position = page[-1].id
            return set(self.ids)

    def drop(self, aggregate_id: UUID) -> None:
        with self._lock:
            self.ids.discard(aggregate_id)

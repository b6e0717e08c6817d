"""Aggregates a timer must look at again, found by following the application's
own notification log incrementally, filtered by event type."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from .store import ServiceApplication


class Watchlist:
    """Ids of aggregates a timer must look at again: those whose latest stored
    event among `follow` and `until` is one of `follow`. A timer may also drop
    an id it has finished with; a later `follow` event brings it back.

    Dropping on `until` as the log is read keeps a restart from loading every
    aggregate the service ever had: only the live ones come back.

    A list made with a `basis` is scheduled: a timer that knows when an
    aggregate next has something due says so (`not_before`); `due(now)` then
    leaves it out until that moment, or until any event of it is stored, or
    until the basis changes, whichever comes first. So a round loads the
    aggregates whose time has come, not every live one: with thousands of cases
    open for months, a round every 30 s would otherwise read them all each time.
    The schedule is kept in memory only: after a restart every live aggregate is
    looked at once (a holiday notice loaded at start may have moved its limits)."""

    def __init__(self, app: ServiceApplication, *follow, until=(), basis: Callable[[], object] | None = None):
        """`basis`: what else a schedule is worked out from besides the
        aggregate (the holiday notices in force), asked each round."""
        self.app = app
        self.follow = {get_topic(cls) for cls in follow}
        self.until = {get_topic(cls) for cls in until}
        self.basis = basis
        # Only a scheduled list reads every event (any of a scheduled aggregate's
        # may move what it has due); the others read those of `follow` and `until`.
        self._topics = () if basis is not None else (*self.follow, *self.until)
        self.position = 0
        self.ids: set[UUID] = set()
        self._not_before: dict[UUID, datetime | None] = {}
        # The latest version of each live aggregate the log has shown here.
        self._versions: dict[UUID, int] = {}
        self._basis: object = None
        self._lock = threading.Lock()

    def refresh(self) -> set[UUID]:
        """Every live id, the log read up to its end."""
        with self._lock:
            self._read()
            return set(self.ids)

    def due(self, now: datetime) -> set[UUID]:
        """The live ids to look at `now`: new or changed since they were last
        looked at, never scheduled, or scheduled at or before `now`; every live
        id when the basis differs from the last round's."""
        if self.basis is None:
            raise TypeError("due() is for a Watchlist made with a basis")
        basis = self.basis()
        with self._lock:
            if basis != self._basis:
                self._basis = basis
                self._not_before.clear()
            self._read()
            return {i for i in self.ids if i not in self._not_before
                    or (when := self._not_before[i]) is not None and when <= now}

    def not_before(self, aggregate_id: UUID, version: int, when: datetime | None) -> None:
        """Looked at as of `version`: nothing due before `when` (None: nothing
        until it changes). Ignored if the log has shown a later version
        meanwhile (another timer read it): what was worked out is stale."""
        with self._lock:
            if aggregate_id in self.ids and self._versions.get(aggregate_id, 0) <= version:
                self._not_before[aggregate_id] = when

    def drop(self, aggregate_id: UUID) -> None:
        with self._lock:
            self.ids.discard(aggregate_id)
            self._not_before.pop(aggregate_id, None)
            self._versions.pop(aggregate_id, None)

    def _read(self) -> None:
        while True:
            page = self.app.recorder.select_notifications(self.position, 1000, topics=self._topics,
                                                          inclusive_of_start=False)
            if not page:
                return
            for notification in page:
                originator = notification.originator_id
                if notification.topic in self.follow:
                    self.ids.add(originator)
                elif notification.topic in self.until:
                    self.ids.discard(originator)
                    self._versions.pop(originator, None)
                if originator in self.ids:
                    self._versions[originator] = notification.originator_version
                self._not_before.pop(originator, None)
            self.position = page[-1].id

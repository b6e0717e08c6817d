"""Every request's facts in memory, following the store's notification log.

The first look reads the log once from the start (a sequential range scan, far
cheaper than loading thousands of aggregates one by one); every later look
reads only what was committed since. The log holds exactly the committed
facts, in commit order, so the figures are exact at the position read."""
from __future__ import annotations

import threading
from uuid import UUID

from eventsourcing.utils import get_topic

from .domainmodel import RequestFacts
from .summary import RequestSummary, summarise

PAGE = 2000


class FactIndex:
    def __init__(self, app):
        self.app = app
        self.topics = [get_topic(RequestFacts.Opened), get_topic(RequestFacts.Noted)]
        self.position = 0
        self.requests: dict[UUID, str] = {}
        self.facts: dict[str, dict[str, dict]] = {}
        self.summaries: dict[str, RequestSummary] = {}
        self._changed: set[str] = set()
        self._lock = threading.Lock()

    def refresh(self) -> list[RequestSummary]:
        """The summaries of every request whose receipt is known, as of now."""
        with self._lock:
            while page := self.app.recorder.select_notifications(
                    self.position, PAGE, topics=self.topics, inclusive_of_start=False):
                for notification in page:
                    self._apply(self.app.mapper.to_domain_event(notification))
                self.position = page[-1].id
            for complaint_id in self._changed:
                summary = summarise(complaint_id, self.facts[complaint_id].values())
                if summary is not None:
                    self.summaries[complaint_id] = summary
            self._changed.clear()
            return list(self.summaries.values())

    def _apply(self, event) -> None:
        if isinstance(event, RequestFacts.Opened):
            self.requests[event.originator_id] = event.complaint_id
            self.facts.setdefault(event.complaint_id, {})
            return
        complaint_id = self.requests[event.originator_id]
        self.facts[complaint_id][event.fact["event_id"]] = event.fact
        self._changed.add(complaint_id)

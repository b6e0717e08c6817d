"""What the statistics store keeps: one small aggregate per request."""
from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from services.ids import derive_id


class RequestFacts(Aggregate):
    """Every fact known about one request, keyed by the event that carried it:
    a fact delivered again is already known and changes nothing, and facts
    arriving in any order make the same set."""

    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("statistics", complaint_id)

    @event("Opened")
    def __init__(self, complaint_id: str):
        self.complaint_id = complaint_id
        self.facts: dict[str, dict] = {}

    def note(self, fact: dict) -> bool:
        if fact["event_id"] in self.facts:
            return False
        self._noted(fact)
        return True

    @event("Noted")
    def _noted(self, fact: dict) -> None:
        self.facts[fact["event_id"]] = fact

"""What the desk's event store keeps: one small aggregate per file."""
from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from services.ids import derive_id


class DeskFile(Aggregate):
    """The records known about one complaint or penalty case, keyed by the
    event that carried them: a record delivered again changes nothing."""

    @staticmethod
    def create_id(file: str):
        return derive_id("desk", file)

    @event("Opened")
    def __init__(self, file: str):
        self.file = file
        self.seen: set[str] = set()

    def note(self, fact: dict) -> bool:
        if fact["event_id"] in self.seen:
            return False
        self._noted(self.file, fact)
        return True

    @event("Noted")
    def _noted(self, file: str, fact: dict) -> None:
        self.seen.add(fact["event_id"])

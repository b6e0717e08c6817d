"""The statistics service: facts in from four topics, figures out on request."""
from __future__ import annotations

from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork

from .domainmodel import RequestFacts
from .facts import facts_of
from .index import FactIndex
from .report import Query, Report, compute


class Statistics(ServiceApplication):
    name = "statistics"

    def __init__(self, env=None, clock=None):
        super().__init__(env=env, clock=clock)
        self.index = FactIndex(self)

    def handle(self, uow: UnitOfWork, item: Decoded) -> None:
        """Changes aggregates only through `uow`, so the facts are stored with
        the tracking position in one transaction: exactly one effect per event."""
        for complaint_id, fact in facts_of(item.record_type, item.record):
            request = uow.get(RequestFacts.create_id(complaint_id))
            if request is None:
                request = RequestFacts(complaint_id)
                uow.add(request)
            request.note(fact)

    def report(self, query: Query) -> Report:
        return compute(self.index.refresh(), query)

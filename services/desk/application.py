"""The desk service: records in from the topics, rows out on request."""
from __future__ import annotations

from services.agencies.directory import Directory
from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork, conflict_retried

from .domainmodel import DeskFile
from .facts import facts_of, jsonable
from .journal import Journal
from .tables import Database, DeskTables


def agency_line(agency_id: str | None) -> str | None:
    """`/TOP/.../AGENCY/`: the agency and every agency above it, so "this
    agency and those below it" is one LIKE on the column."""
    if not agency_id:
        return None
    directory = Directory.load()
    chain = [agency_id, *directory.superiors(agency_id)] if directory.exists(agency_id) else [agency_id]
    return "/" + "/".join(reversed(chain)) + "/"


class Desk(ServiceApplication):
    name = "desk"

    def construct_tables(self) -> None:
        super().construct_tables()
        self.tables = DeskTables(self, Database(dict(self.env)), agency_line)
        self.journal = Journal(self.tables.db)

    def handle(self, uow: UnitOfWork, item: Decoded) -> None:
        """Changes aggregates only through `uow`, so the records are stored
        with the tracking position in one transaction."""
        for file, fact in facts_of(item.record_type, item.record):
            desk_file = uow.get(DeskFile.create_id(file))
            if desk_file is None:
                desk_file = DeskFile(file)
                uow.add(desk_file)
            desk_file.note(fact)

    @conflict_retried  # the consumer may file another fact on the same complaint meanwhile
    def note_answer(self, complaint_id: str, agency_id: str, answer: str, reason: str | None,
                    person: str | None) -> None:
        """An answer to a referral given on the desk's own page, once routing
        took it: filed with the person who gave it, so the agency's inbox shows
        it answered before routing's ReferralAnswered comes round."""
        record_type = "ReferralAcknowledged" if answer == "ACKNOWLEDGED" else "ReferralDeclined"
        file = f"complaint/{complaint_id}"
        fact = {"type": record_type, "event_id": f"console/{complaint_id}/{agency_id}/{record_type}",
                "occurred_at": jsonable(self.clock.now()), "complaint_id": complaint_id, "agency_id": agency_id,
                "reason": reason, "person": person, "via": "console"}
        desk_file = self.find(DeskFile.create_id(file)) or DeskFile(file)
        if desk_file.note(fact):
            self.save(desk_file)

    def refresh(self) -> int:
        return self.tables.refresh()

    def close(self) -> None:
        self.tables.db.close()
        super().close()

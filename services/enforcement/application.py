"""Enforcement: leads become penalty cases, each with its own id and life."""
from __future__ import annotations

from typing import Callable

from eventsourcing.persistence import IntegrityError

from services.bus.logindex import Watchlist
from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork

from .domainmodel import IllegalTransition, PenaltyCase
from .rules import Rulebook


class CaseNotFound(LookupError):
    pass


class Enforcement(ServiceApplication):
    name = "enforcement"

    def __init__(self, env=None, clock=None, rulebook: Rulebook | None = None, directory=None):
        super().__init__(env=env, clock=clock)
        self.rulebook = rulebook or Rulebook()
        self._directory = directory
        self.live_cases = Watchlist(self, PenaltyCase.Opened)

    @property
    def directory(self):
        if self._directory is None:
            from services.routing.directory import Directory

            self._directory = Directory.load()
        return self._directory

    def competent_bureau(self, *adcodes: str | None, fallback: str) -> str:
        """The county bureau of the act's location, else of the operator's, else who found it."""
        for adcode in adcodes:
            if adcode:
                agency = self.directory.county_amr(adcode)
                if agency:
                    return agency
        return fallback

    def handle(self, uow: UnitOfWork, item: Decoded) -> None:
        r = item.record
        if item.record_type == "ViolationFound":
            key = r["event_id"]
            if uow.get(PenaltyCase.create_id("COMPLAINT", key)) is None:
                agency = self.competent_bureau(r.get("place_adcode"), fallback=r.get("agency_id") or "")
                uow.add(PenaltyCase("COMPLAINT", key, [r["complaint_id"]], r["respondent"], r["violation_type"],
                                    agency, r["evidence"], r["occurred_at"], **self.rulebook.case_limits()))
        elif item.record_type == "ReportReceived":
            key = r["complaint_id"]
            if uow.get(PenaltyCase.create_id("REPORT", key)) is None:
                respondent = r.get("respondent") or {}
                agency = self.competent_bureau((r.get("transaction") or {}).get("place_adcode"),
                                               respondent.get("adcode"), fallback=r["receiving_agency_id"])
                uow.add(PenaltyCase("REPORT", key, [key], {"name": respondent.get("name") or "",
                                                           "uscc": respondent.get("uscc")},
                                    r["alleged_violation"], agency, r.get("facts"), r["occurred_at"],
                                    **self.rulebook.case_limits()))

    def case(self, case_id: str) -> PenaltyCase:
        case = None
        try:
            from uuid import UUID

            case = self.find(UUID(case_id))
        except ValueError:
            pass
        if not isinstance(case, PenaltyCase):
            raise CaseNotFound(f"no penalty case {case_id}")
        return case

    def act(self, case_id: str, command: Callable[[PenaltyCase], None]) -> PenaltyCase:
        for attempt in range(5):
            case = self.case(case_id)
            command(case)
            try:
                self.save(case)
                return case
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")


__all__ = ["Enforcement", "CaseNotFound", "IllegalTransition"]

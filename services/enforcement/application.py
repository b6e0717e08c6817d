"""Enforcement: leads become penalty cases, each with its own id and life."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from eventsourcing.persistence import IntegrityError

from services.agencies.directory import Directory
from services.bus.logindex import Watchlist
from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork
from services.routing import calendar
from services.routing import rulebook as rulebooks

from . import rules
from .domainmodel import IllegalTransition, PenaltyCase, ReportThread
from .patterns import JOIN_CASE, OPEN_CASE, PatternWatch
from .rules import Limits, operator_key


class CaseNotFound(LookupError):
    pass


class Enforcement(ServiceApplication):
    name = "enforcement"

    def __init__(self, env=None, clock=None, limits: Limits | None = None, directory=None):
        super().__init__(env=env, clock=clock)
        self.limits = limits or Limits()
        self.directory = directory or Directory.load()
        # Read once, as routing reads it: which regulation a report is handled under.
        self.rulebook_choice = rulebooks.setting()
        self.live_cases = Watchlist(self, PenaltyCase.Opened, until=(PenaltyCase.Closed, PenaltyCase.FilingDeclined),
                                    basis=calendar.loaded_notices)

    def competent_bureau(self, *adcodes: str | None, fallback: str) -> str:
        """The county bureau of the act's location, else of the operator's, else who found it."""
        for adcode in adcodes:
            if adcode:
                agency = self.directory.county_amr(adcode)
                if agency:
                    return agency
        return fallback

    # Each lead is its own case (the law wants every report and every violation
    # found handled), and also counts towards a pattern lead.

    def violation_found(self, uow: UnitOfWork, item: Decoded) -> None:
        r = item.record
        key = r["event_id"]
        if uow.get(PenaltyCase.create_id("COMPLAINT", key)) is None:
            agency = self.competent_bureau(r.get("place_adcode"), fallback=r.get("agency_id") or "")
            uow.add(PenaltyCase("COMPLAINT", key, [r["complaint_id"]], r["respondent"], r["violation_type"],
                                agency, r["evidence"], r["occurred_at"], **self.limits.case_limits(),
                                check_due=r.get("check_due")))
            self.watch(uow, r["complaint_id"], r["respondent"], r["violation_type"], agency, r["evidence"],
                       r["occurred_at"])

    def report_received(self, uow: UnitOfWork, item: Decoded) -> None:
        r = item.record
        key = r["complaint_id"]
        if uow.get(PenaltyCase.create_id("REPORT", key)) is not None:
            return
        thread_key = rules.report_key(r) if self.merges_repeats(r["occurred_at"]) else None
        thread_key = self.sealed(thread_key) if thread_key else None
        thread = uow.get(ReportThread.create_id(thread_key)) if thread_key else None
        facts = rules.facts_of(r)
        if thread is not None:
            handling = uow.get(thread.case_id)
            if handling is not None and key in handling.complaint_ids:
                return  # merged already, and delivered again
            # Not handled apart (Order 121 art. 35): the case handling the reporter's
            # earlier report takes it (anew with new facts), or, ended, ends it too;
            # one telling more than an ended case knew is handled anew, below.
            if handling is not None and handling.report_again(key, thread.tells_more(facts), r["occurred_at"]):
                thread.follow(facts)
                return
        respondent = r.get("respondent") or {}
        operator = {"name": respondent.get("name") or "", "uscc": respondent.get("uscc")}
        agency = self.competent_bureau((r.get("transaction") or {}).get("place_adcode"),
                                       respondent.get("adcode"), fallback=r["receiving_agency_id"])
        case = PenaltyCase("REPORT", key, [key], operator, r["alleged_violation"], agency, r.get("facts"),
                           r["occurred_at"], **self.limits.case_limits())
        uow.add(case)
        if thread is not None:
            thread.follow(facts, case.id)  # the case before ended: this one handles the thread now
        elif thread_key:
            uow.add(ReportThread(thread_key, case.id, facts))
        self.watch(uow, key, operator, r["alleged_violation"], agency, None, r["occurred_at"])

    def merges_repeats(self, received_at: datetime) -> bool:
        return rulebooks.chosen(received_at, self.rulebook_choice).merges_repeated_reports

    def watch(self, uow: UnitOfWork, complaint_id: str, respondent: dict, violation_type: str, agency: str,
              evidence: str | None, at) -> None:
        """Many complaints against one operator about one kind of violation are a
        lead of their own: the watch and the case it opens are stored with the
        batch's tracking, so the count survives restarts exactly."""
        if not (respondent.get("name") or respondent.get("uscc")):
            return
        key = operator_key(respondent)
        watch = uow.get(PatternWatch.create_id(key, violation_type))
        if watch is None:
            watch = PatternWatch(key, violation_type, respondent)
            uow.add(watch)
        decision = watch.observe(complaint_id, at, agency, **self.limits.pattern_limits())
        if decision.action == OPEN_CASE:
            case = PenaltyCase("PATTERN", decision.source_key, list(decision.complaint_ids), respondent,
                               violation_type, decision.agency_id or agency, evidence, at,
                               **self.limits.case_limits())
            uow.add(case)
            watch.case_opened(case.id)
        elif decision.action == JOIN_CASE:
            case = uow.get(decision.case_id)
            if case is not None and not case.is_final:
                case.link_complaint(complaint_id, at)

    def flag_overdue(self) -> int:
        """Flag every live case past its filing or conclusion limit."""
        now, flagged = self.clock.now(), 0
        for case_id in self.live_cases.due(now):
            case = self.find(case_id)
            if case is None or case.is_final:
                self.live_cases.drop(case_id)
                continue
            if case.flag_overdue(now):
                try:
                    self.save(case)
                    flagged += 1
                except IntegrityError:
                    pass  # a case worker acted at the same moment; the next round looks again
            else:
                self.live_cases.not_before(case_id, case.version, case.next_limit)
        return flagged

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
        return self.change(lambda: self.case(case_id), command)

    # One command per act of the handling bureau; HTTP and tests call these alike.

    def start_investigation(self, case_id: str, at: datetime, *,
                            by_agency: str | None = None, by_role: str | None = None) -> PenaltyCase:
        return self.act(case_id, lambda c: c.start_investigation(at, by_agency=by_agency, by_role=by_role))

    def decline_filing(self, case_id: str, reason: str, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> PenaltyCase:
        return self.act(case_id, lambda c: c.decline_filing(reason, at, by_agency=by_agency, by_role=by_role))

    def decide(self, case_id: str, fine_fen: int, basis: str, at: datetime, *, no_penalty: bool = False,
               by_agency: str | None = None, by_role: str | None = None) -> PenaltyCase:
        return self.act(case_id, lambda c: c.decide(fine_fen, basis, at, no_penalty=no_penalty, by_agency=by_agency,
                                                    by_role=by_role))

    def extend_check(self, case_id: str, approved_by: str, reason: str, at: datetime, *,
                     by_agency: str | None = None, by_role: str | None = None) -> PenaltyCase:
        return self.act(case_id, lambda c: c.extend_check(approved_by, reason, at, by_agency=by_agency,
                                                          by_role=by_role))

    # Not `close`: that name is the Application's own, which closes the store.
    def close_case(self, case_id: str, outcome: str, at: datetime, *,
                   by_agency: str | None = None, by_role: str | None = None) -> PenaltyCase:
        return self.act(case_id, lambda c: c.close(outcome, at, by_agency=by_agency, by_role=by_role))


__all__ = ["Enforcement", "CaseNotFound", "IllegalTransition"]

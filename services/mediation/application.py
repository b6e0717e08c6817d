"""Mediation: a case for each accepted complaint, the case worker's commands,
and the 60-day limit."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from services.agencies.authority import Forbidden, Recorded, may_act
from services.agencies.directory import Directory
from services.bus.logindex import Watchlist
from services.bus.messages import Decoded
from services.bus.store import ServiceApplication, UnitOfWork
from services.ids import derive_id

from services.routing import calendar, rulebook as rulebooks

from . import rules
from .domainmodel import IllegalTransition, MediationCase


class CaseNotFound(LookupError):
    pass


class Withdrawal(Aggregate):
    """A consumer withdrew before mediation opened: the case closes as it opens,
    if the bureau it opens at (or one above) recorded the withdrawal."""

    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("mediation", "withdrawal", complaint_id)

    @event("Recorded")
    def __init__(self, complaint_id: str, at: datetime, by_agency: str | None, by_role: str | None,
                 represented_consent: list[str] | None = None):
        """`represented_consent`: the consumers a joint complaint's representatives
        act for who consented; whether that is all of them is known when the case opens."""
        self.complaint_id = complaint_id
        self.recorders = [{"at": at, "by_agency": by_agency, "by_role": by_role,
                           "represented_consent": list(represented_consent or [])}]

    @event("RecordedAgain")
    def record_again(self, at: datetime, by_agency: str | None, by_role: str | None,
                     represented_consent: list[str] | None = None) -> None:
        """Another agency recorded it too: which one owns the case is known
        only when the case opens, so the first to record it must not shut out the rest."""
        self.recorders = [*self.recorders, {"at": at, "by_agency": by_agency, "by_role": by_role,
                                            "represented_consent": list(represented_consent or [])}]

    def recorded_by(self, by_agency: str | None, by_role: str | None, represented_consent=()) -> bool:
        """Recorded by this agency in this role, with at least this consent: a
        withdrawal recorded again once the represented consumers consent counts."""
        return any(r["by_agency"] == by_agency and r["by_role"] == by_role
                   and set(represented_consent) <= set(r.get("represented_consent") or ()) for r in self.recorders)


class NotAccepted(Aggregate):
    """Routing did not accept the complaint: it never comes to mediation, and a
    withdrawal has nothing to withdraw. (A referral is not kept: the other
    agency may decline it, and routing decide again.)"""

    @staticmethod
    def create_id(complaint_id: str):
        return derive_id("mediation", "not-accepted", complaint_id)

    @event("Recorded")
    def __init__(self, complaint_id: str, reason: str, agency_id: str | None):
        self.complaint_id, self.reason, self.agency_id = complaint_id, reason, agency_id


class ViolationReport(Aggregate):
    """A suspected violation flagged while the case was in mediation. Routing
    now flags violations on every complaint (one route, one writer); this
    aggregate stays so that leads already stored still read and relay."""

    @staticmethod
    def create_id(complaint_id: str, violation_type: str, evidence: str):
        return derive_id("mediation", "violation", complaint_id, violation_type, evidence)

    @event("Flagged")
    def __init__(self, complaint_id: str, violation_type: str, evidence: str, respondent: dict,
                 agency_id: str, at: datetime, by_agency: str | None, by_role: str | None,
                 check_due: datetime | None = None):
        """`check_due`: when the lead must have been checked, under the rulebooks
        that set it (SAMR-20 art. 23, SAMR-121 art. 27: 15 working days)."""
        self.complaint_id, self.violation_type, self.evidence = complaint_id, violation_type, evidence
        self.respondent, self.agency_id, self.at = respondent, agency_id, at
        self.check_due = check_due


def withdrawn(case: MediationCase, recorder: dict) -> None:
    """End a case for a withdrawal made before it opened: as the recorder made
    it, at the earliest when the case opened."""
    case.terminate("WITHDRAWN", max(recorder["at"], case.accepted_at),
                   by_agency=recorder["by_agency"], by_role=recorder["by_role"],
                   represented_consent=recorder.get("represented_consent") or [], before_opening=True)


class Mediation(ServiceApplication):
    name = "mediation"

    def __init__(self, env=None, clock=None, directory=None):
        super().__init__(env=env, clock=clock)
        self.directory = directory or Directory.load()
        self.live_cases = Watchlist(self, MediationCase.Opened, until=(MediationCase.Agreed, MediationCase.Terminated),
                                    basis=calendar.loaded_notices)
        # Terminated cases whose parties must still be told (SAMR-20, SAMR-121).
        self.notices_owed = Watchlist(self, MediationCase.Terminated,
                                      until=(MediationCase.TerminationNotified, MediationCase.TerminationNoticeOverdue),
                                      basis=calendar.loaded_notices)
        calendar.load_notices()
        # Which live cases had their limit compared with the calendar, and under
        # which notices: each is compared once per set of notices, not every round.
        self._dues_checked: tuple[tuple, set] = ((), set())
        self.early_withdrawals = Watchlist(self, Withdrawal.Recorded, Withdrawal.RecordedAgain)

    def complaint_accepted(self, uow: UnitOfWork, item: Decoded) -> None:
        self.open(uow, item.record)

    def complaint_rejected(self, uow: UnitOfWork, item: Decoded) -> None:
        r = item.record
        if uow.get(NotAccepted.create_id(r["complaint_id"])) is None:
            uow.add(NotAccepted(r["complaint_id"], r["reason"], r.get("agency_id")))

    def complaint_transferred(self, uow: UnitOfWork, item: Decoded) -> None:
        case = uow.get(MediationCase.create_id(item.record["complaint_id"]))
        if case is not None:
            case.reassign(item.record["to_agency_id"], item.record["occurred_at"])

    def open(self, uow: UnitOfWork, accepted: dict) -> None:
        complaint_id = accepted["complaint_id"]
        if uow.get(MediationCase.create_id(complaint_id)) is not None:
            return
        # The complaint's rulebook, as routing recorded it: never today's setting.
        book = rulebooks.named(accepted.get("rulebook"))
        due, provisional = rules.clock_end(accepted["decided_at"], book.mediation_days, [], book.mediation_unit)
        case = MediationCase(complaint_id, accepted["agency_id"], accepted["decided_at"],
                             mediation_days=book.mediation_days, mediation_unit=book.mediation_unit,
                             announced_due=due, announced_provisional=provisional,
                             rulebook=book.name, represented=list(accepted.get("represented") or []),
                             public={"respondent": accepted.get("respondent"),
                                     "subject_area": accepted.get("subject_area"),
                                     "city_adcode": accepted.get("city_adcode"),
                                     "received_at": accepted.get("received_at")})
        uow.add(case)
        withdrawal = uow.get(Withdrawal.create_id(complaint_id))
        recorder = None if withdrawal is None else self.entitled(withdrawal, case.agency_id, case.joint_represented)
        if recorder is not None:
            withdrawn(case, recorder)

    def entitled(self, withdrawal: Withdrawal, agency_id: str, represented: list[str] = ()) -> dict | None:
        """The first recording of a withdrawal made before the case had a bureau
        by that bureau or one above it; any other agency's stays without effect,
        as does one without the consent of every consumer a joint complaint's
        representatives act for (Order 20 art. 11, Order 121 art. 12)."""
        for recorder in withdrawal.recorders:
            if not set(represented) <= set(recorder.get("represented_consent") or ()):
                continue
            if recorder["by_agency"] is None:
                return recorder  # recorded before withdrawals named who recorded them
            try:
                may_act(Recorded(recorder["by_agency"], recorder["by_role"]), agency_id, self.directory.is_superior)
            except Forbidden:
                continue
            return recorder
        return None

    # Case work -------------------------------------------------------------

    def case(self, complaint_id: str) -> MediationCase:
        case = self.find(MediationCase.create_id(complaint_id))
        if case is None:
            raise CaseNotFound(f"no mediation case for complaint {complaint_id}")
        return case

    def act(self, complaint_id: str, command: Callable[[MediationCase], None]) -> MediationCase:
        return self.change(lambda: self.case(complaint_id), command)

    # One command per act of the handling bureau; HTTP and tests call these alike.

    def record_consent(self, complaint_id: str, party: str, agreed: bool, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.record_consent(party, agreed, at, by_agency=by_agency,
                                                                 by_role=by_role))

    def schedule(self, complaint_id: str, session_at: datetime, place: str, mediators: list[str], at: datetime, *,
                 by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.schedule(session_at, place, mediators, at, by_agency=by_agency,
                                                           by_role=by_role))

    def recuse(self, complaint_id: str, mediator: str, reason: str, at: datetime, *, requested_by: str | None = None,
               by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.recuse(mediator, reason, at, requested_by=requested_by,
                                                         by_agency=by_agency, by_role=by_role))

    def request_recusal(self, complaint_id: str, mediator: str, party: str, reason: str, at: datetime, *,
                        by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.request_recusal(mediator, party, reason, at, by_agency=by_agency,
                                                                  by_role=by_role))

    def decide_recusal(self, complaint_id: str, granted: bool, at: datetime, *,
                       by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.decide_recusal(granted, at, by_agency=by_agency, by_role=by_role))

    def notify_termination(self, complaint_id: str, at: datetime, *,
                           by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.notify_termination(at, by_agency=by_agency, by_role=by_role))

    def start_appraisal(self, complaint_id: str, body: str, payer: str, at: datetime, *,
                        body_chosen_by: str | None = None,
                        by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.start_appraisal(body, payer, at, body_chosen_by=body_chosen_by,
                                                                  by_agency=by_agency, by_role=by_role))

    def complete_appraisal(self, complaint_id: str, at: datetime, *, result: str | None = None,
                           by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.complete_appraisal(at, result=result, by_agency=by_agency,
                                                                     by_role=by_role))

    def agree(self, complaint_id: str, form: str, terms: str, amount_recovered_fen: int, at: datetime, *,
              oral_consent=None, represented_consent=(), performed_at_once: bool = False,
              by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.agree(
            form, terms, amount_recovered_fen, at, oral_consent=oral_consent, represented_consent=represented_consent,
            performed_at_once=performed_at_once, by_agency=by_agency, by_role=by_role))

    def terminate(self, complaint_id: str, reason: str, at: datetime, text: str | None = None, *,
                  represented_consent=(), by_agency: str | None = None, by_role: str | None = None) -> MediationCase:
        return self.act(complaint_id, lambda c: c.terminate(reason, at, text, represented_consent=represented_consent,
                                                            by_agency=by_agency, by_role=by_role))

    def withdraw(self, complaint_id: str, at: datetime, by_agency: str | None, by_role: str | None,
                 represented_consent: list[str] = ()) -> str:
        consent = list(represented_consent)
        if self.find(MediationCase.create_id(complaint_id)) is not None:
            self.act(complaint_id, lambda c: c.terminate("WITHDRAWN", at, by_agency=by_agency, by_role=by_role,
                                                         represented_consent=consent))
            return "TERMINATED"
        if (rejected := self.find(NotAccepted.create_id(complaint_id))) is not None:
            raise IllegalTransition("REJECTED", f"cannot withdraw: the complaint was not accepted ({rejected.reason}), "
                                    "so it has ended; there is nothing to withdraw")
        withdrawal_id = Withdrawal.create_id(complaint_id)
        existing = self.find(withdrawal_id)
        if existing is None:
            try:
                self.save(Withdrawal(complaint_id, at, by_agency, by_role, represented_consent=consent))
                return "WITHDRAWN_BEFORE_MEDIATION"
            except IntegrityError:
                existing = self.find(withdrawal_id)  # withdrawn twice at once
        if not existing.recorded_by(by_agency, by_role, consent):
            self.change(lambda: self.find(withdrawal_id),
                        lambda w: None if w.recorded_by(by_agency, by_role, consent)
                        else w.record_again(at, by_agency, by_role, represented_consent=consent))
        return "WITHDRAWN_BEFORE_MEDIATION"

    # Timer -----------------------------------------------------------------

    def expire_due(self) -> int:
        """TIME_LIMIT_EXCEEDED for every case whose 60 days (appraisal time
        excluded) have passed without agreement."""
        now, expired = self.clock.now(), 0
        for case_id in self.live_cases.due(now):
            case = self.find(case_id)
            if case is None or case.is_final:
                self.live_cases.drop(case_id)
                continue
            if case.expire_if_due(now, by_agency=case.agency_id, by_role="SYSTEM"):
                try:
                    self.save(case)
                    expired += 1
                    self.live_cases.drop(case_id)
                except IntegrityError:
                    pass  # a case worker acted at the same moment; next round decides
            else:
                # None while an appraisal pauses the clock: its result is an event.
                self.live_cases.not_before(case_id, case.version, case.mediation_due)
        return expired

    def flag_late_notices(self) -> int:
        """Flag every terminated case whose parties were not told by the notice's due time."""
        now, flagged = self.clock.now(), 0
        for case_id in self.notices_owed.due(now):
            case = self.find(case_id)
            due = (case.termination or {}).get("notice_due") if case is not None else None
            if due is None or case.notice is not None:
                self.notices_owed.drop(case_id)
                continue
            if case.flag_late_notice(now):
                try:
                    self.save(case)
                    flagged += 1
                    self.notices_owed.drop(case_id)
                except IntegrityError:
                    pass  # the notice was recorded at the same moment; next round looks again
            else:
                self.notices_owed.not_before(case_id, case.version, case.notice_limit)
        return flagged

    def recompute_dues(self) -> int:
        """Announce again the limit of every live case that a holiday notice
        loaded since (TOUSU_HOLIDAY_NOTICES, read at start) has moved or made
        certain: the status shows the limit as the official calendar counts it."""
        recomputed = 0
        notices, checked = self._dues_checked
        if notices != calendar.loaded_notices():
            notices, checked = calendar.loaded_notices(), set()
            self._dues_checked = (notices, checked)
        for case_id in self.live_cases.refresh():
            if case_id in checked:
                continue
            case = self.find(case_id)
            if case is not None and not case.is_final and case.recompute_due(self.clock.now()):
                try:
                    self.save(case)
                    recomputed += 1
                except IntegrityError:
                    continue  # a case worker acted at the same moment; the next round looks again
            if case is None or not case.is_paused:
                checked.add(case_id)  # a paused case is announced again when its appraisal ends
        return recomputed

    def honour_withdrawals(self) -> int:
        """Withdrawals recorded while their case was being opened (by another
        worker, or in the same instant) reach the case here, a timer round late
        at most: opening reads the withdrawal before it commits the case, so the
        two can pass each other."""
        honoured = 0
        for withdrawal_id in self.early_withdrawals.refresh():
            withdrawal = self.find(withdrawal_id)
            complaint_id = withdrawal.complaint_id
            case = self.find(MediationCase.create_id(complaint_id))
            if case is None:
                continue  # not open yet: opening will see it
            self.early_withdrawals.drop(withdrawal_id)
            recorder = None if case.is_final else self.entitled(withdrawal, case.agency_id, case.joint_represented)
            if recorder is None:
                continue
            self.act(complaint_id, lambda c: None if c.is_final else withdrawn(c, recorder))
            honoured += 1
        return honoured


__all__ = ["Mediation", "CaseNotFound", "IllegalTransition", "Withdrawal", "ViolationReport"]

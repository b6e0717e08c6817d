"""The status view follows `complaints.decisions`, `mediation.events` and
`enforcement.cases`; each record type moves it in one way, named in MOVES."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from services.bus.messages import Decoded
from services.bus.store import UnitOfWork
from services.contract.status import ended

from .domainmodel import ComplaintStatus

INPUTS = ("complaints.decisions", "mediation.events", "enforcement.cases")

Move = Callable[[UnitOfWork, dict, datetime], None]
PROVISIONAL = ("decision_due_provisional", "mediation_due_provisional")


def _view(uow: UnitOfWork, complaint_id: str, at) -> ComplaintStatus:
    view = uow.get(ComplaintStatus.create_id(complaint_id))
    if view is None:
        # A complaint that reached the bus without passing this intake (an
        # agency's transfer, a replayed topic): follow it all the same.
        view = ComplaintStatus(complaint_id, "COMPLAINT", at)
        uow.add(view)
    return view


def on_status(move: Callable[[ComplaintStatus, dict, datetime], None]) -> Move:
    """A move of the record's own complaint: its view (opened if need be), with
    the provisional flags the record carries noted before the move itself."""
    @wraps(move)
    def moved(uow: UnitOfWork, r: dict, at: datetime) -> None:
        view = _view(uow, r["complaint_id"], at)
        for provisional in PROVISIONAL:
            if r.get(provisional) is not None and r.get(provisional) != getattr(view, provisional, False):
                view.note({provisional: r[provisional]}, at)
        move(view, r, at)
    return moved


# Penalty cases ------------------------------------------------------------

def case_opened(uow: UnitOfWork, r: dict, at: datetime) -> None:
    for complaint_id in r["complaint_ids"]:
        view = _view(uow, complaint_id, at)
        view.link_case(r["case_id"], at)
        if view.kind == "REPORT" and view.agency_id is None and r.get("agency_id"):
            # A report's bureau is its case's: routing never places a report.
            view.change(view.status, at, agency_id=r["agency_id"])


def case_linked(uow: UnitOfWork, r: dict, at: datetime) -> None:
    view = _view(uow, r["complaint_id"], at)
    view.link_case(r["case_id"], at)
    if r.get("not_handled_again") and view.kind == "REPORT":
        # Order 121 art. 35: the same report again, its case ended: not handled again.
        view.change("CLOSED", at, reason="REPEAT_REPORT")


def report_ended(ending: str) -> Move:
    """A report's life ends with its case (a complaint's does not), said as a
    code, never in the case's own words: the status is open to whoever holds
    the id, and a closing note may name the reporter."""
    def ended(uow: UnitOfWork, r: dict, at: datetime) -> None:
        # Records written before they named the reports they close name the case's first complaint.
        closed = r.get("reports_closed")
        for complaint_id in (closed if closed is not None else [r["complaint_id"]]):
            view = uow.get(ComplaintStatus.create_id(complaint_id))
            if view is not None and view.kind == "REPORT":
                view.change("CLOSED", at, reason=ending)
    return ended


def case_worked(uow: UnitOfWork, r: dict, at: datetime) -> None:
    """The status does not show a case's investigation or decision."""


# Decisions ----------------------------------------------------------------

@on_status
def accepted(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change("ACCEPTED", at, agency_id=r["agency_id"], reason=r["jurisdiction_basis"], rulebook=r.get("rulebook"))
    view.decided(r["decided_at"], r["decision_due"])
    if r.get("needs_placement"):
        view.note({"needs_placement": True}, at)


@on_status
def rejected(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change("REJECTED", at, agency_id=r["agency_id"], reason=r["reason"], explanation=r["explanation"],
                rulebook=r.get("rulebook"), grounds=list(r.get("grounds") or []))
    view.decided(r["decided_at"], r["decision_due"])


@on_status
def referred(view: ComplaintStatus, r: dict, at: datetime) -> None:
    explanation = r.get("explanation")
    # The reason code of DOMAIN.md: not market regulation's duty, referred (the subject area is its own field).
    view.change("REFERRED", at, agency_id=r["to_agency_id"], reason="OUT_OF_REMIT", rulebook=r.get("rulebook"),
                explanation=explanation,
                grounds=[{"reason": "OUT_OF_REMIT", "explanation": explanation}] if explanation else None)
    view.decided(r["decided_at"], None)


@on_status
def transferred(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change("TRANSFERRED", at, agency_id=r["to_agency_id"], reason=r["reason"], rulebook=r.get("rulebook"),
                explanation=r.get("explanation"))
    if getattr(view, "needs_placement", False):
        view.note({"needs_placement": False}, at)  # a person placed it
    if r.get("explanation"):
        # A transfer after acceptance does not move the status back: it is told apart.
        view.note({"transfer_explanation": r["explanation"]}, at)


@on_status
def referral_answered(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.referral_answered(r["answer"], r["agency_id"], r["answered_at"])


@on_status
def decision_overdue(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.flag_overdue(r["decision_due"], at)


# Mediation ----------------------------------------------------------------

@on_status
def mediation_opened(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change("IN_MEDIATION", at, agency_id=r["agency_id"])
    view.set_mediation_due(r["mediation_due"], paused=False, at=at)


@on_status
def consent_recorded(view: ComplaintStatus, r: dict, at: datetime) -> None:
    """The status shows no consent; only the provisional flags it carries."""


@on_status
def appraisal_started(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.set_mediation_due(view.mediation_due, paused=True, at=at)


@on_status
def mediation_due_moved(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.set_mediation_due(r["mediation_due"], paused=False, at=at)


@on_status
def agreed(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change("AGREED", at, reason=r["form"])
    view.conclude(r["form"], r["amount_recovered_fen"], at)


@on_status
def terminated(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.change(ended(r["reason"], r.get("before_opening")), at, reason=r["reason"])
    view.conclude(r["reason"], None, at)
    if r.get("notice_due") is not None:
        view.note({"termination_notice_due": r["notice_due"], "mediation_suspended": False}, at)


@on_status
def scheduled(view: ComplaintStatus, r: dict, at: datetime) -> None:
    # Time, place and mediators, as the parties are told them (art. 20 / seed Q&A 8).
    view.note({"next_session": {"session_at": r["session_at"], "place": r["place"],
                                "mediators": list(r["mediators"])}}, at)


@on_status
def recusal_requested(view: ComplaintStatus, r: dict, at: datetime) -> None:
    if r["suspends"]:
        view.note({"mediation_suspended": True}, at)


def _resumed(view: ComplaintStatus, at: datetime) -> None:
    if getattr(view, "mediation_suspended", False):
        view.note({"mediation_suspended": False}, at)


@on_status
def recusal_settled(view: ComplaintStatus, r: dict, at: datetime) -> None:
    _resumed(view, at)


@on_status
def mediator_recused(view: ComplaintStatus, r: dict, at: datetime) -> None:
    _resumed(view, at)
    # The parties are told who mediates: a recused mediator is no longer among them.
    session = getattr(view, "next_session", None)
    if session and r["mediator"] in session.get("mediators", ()):
        kept = [m for m in session["mediators"] if m != r["mediator"]]
        view.note({"next_session": {**session, "mediators": kept}}, at)


@on_status
def termination_notified(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.note({"termination_notified_at": r["notified_at"], "termination_notice_late": r["late"]}, at)


@on_status
def termination_notice_overdue(view: ComplaintStatus, r: dict, at: datetime) -> None:
    view.note({"termination_notice_late": True}, at)


# Every record type of INPUTS, to how it moves the status view.
MOVES: dict[str, Move] = {
    "PenaltyCaseOpened": case_opened,
    "PenaltyCaseComplaintLinked": case_linked,
    "CaseFilingDeclined": report_ended("FILING_DECLINED"),
    "PenaltyCaseClosed": report_ended("CASE_CLOSED"),
    "InvestigationStarted": case_worked,
    "PenaltyDecided": case_worked,
    "PenaltyCaseCheckExtended": case_worked,
    "ComplaintAccepted": accepted,
    "ComplaintRejected": rejected,
    "ComplaintReferred": referred,
    "ComplaintTransferred": transferred,
    "ReferralAnswered": referral_answered,
    "DecisionOverdue": decision_overdue,
    "MediationOpened": mediation_opened,
    "ConsentRecorded": consent_recorded,
    "AppraisalStarted": appraisal_started,
    "AppraisalCompleted": mediation_due_moved,
    "MediationDueRecomputed": mediation_due_moved,
    "MediationAgreed": agreed,
    "MediationTerminated": terminated,
    "MediationScheduled": scheduled,
    "RecusalRequested": recusal_requested,
    "RecusalRefused": recusal_settled,
    "MediatorRecused": mediator_recused,
    "TerminationNotified": termination_notified,
    "TerminationNoticeOverdue": termination_notice_overdue,
}


def project(app, uow: UnitOfWork, item: Decoded) -> None:
    r = item.record
    MOVES[item.record_type](uow, r, r["occurred_at"])

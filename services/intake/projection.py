"""The status view follows `complaints.decisions`, `mediation.events` and
`enforcement.cases`; each record type moves it in one way."""
from __future__ import annotations

from services.bus.messages import Decoded
from services.bus.store import UnitOfWork
from services.contract.status import ended

from .domainmodel import ComplaintStatus

INPUTS = ("complaints.decisions", "mediation.events", "enforcement.cases")


def _view(uow: UnitOfWork, complaint_id: str, at) -> ComplaintStatus:
    view = uow.get(ComplaintStatus.create_id(complaint_id))
    if view is None:
        # A complaint that reached the bus without passing this intake (an
        # agency's transfer, a replayed topic): follow it all the same.
        view = ComplaintStatus(complaint_id, "COMPLAINT", at)
        uow.add(view)
    return view


def project(app, uow: UnitOfWork, item: Decoded) -> None:
    r, kind = item.record, item.record_type
    at = r["occurred_at"]
    if kind == "PenaltyCaseOpened":
        for complaint_id in r["complaint_ids"]:
            _view(uow, complaint_id, at).link_case(r["case_id"])
        return
    if kind == "PenaltyCaseComplaintLinked":
        _view(uow, r["complaint_id"], at).link_case(r["case_id"])
        return
    if kind in ("CaseFilingDeclined", "PenaltyCaseClosed"):
        # A report's life ends with its case; a complaint's does not.
        view = uow.get(ComplaintStatus.create_id(r["complaint_id"]))
        if view is not None and view.kind == "REPORT":
            view.change("CLOSED", at, reason=r.get("outcome") or r.get("reason"))
        return
    if kind in ("InvestigationStarted", "PenaltyDecided"):
        return
    view = _view(uow, r["complaint_id"], at)
    rulebook = r.get("rulebook")
    for provisional in ("decision_due_provisional", "mediation_due_provisional"):
        if r.get(provisional) is not None and r.get(provisional) != getattr(view, provisional, False):
            view.note({provisional: r[provisional]})
    if kind == "ComplaintAccepted":
        view.change("ACCEPTED", at, agency_id=r["agency_id"], reason=r["jurisdiction_basis"], rulebook=rulebook)
        view.decided(r["decided_at"], r["decision_due"])
        if r.get("needs_placement"):
            view.note({"needs_placement": True})
    elif kind == "ComplaintRejected":
        view.change("REJECTED", at, agency_id=r["agency_id"], reason=r["reason"], explanation=r["explanation"],
                    rulebook=rulebook, grounds=list(r.get("grounds") or []))
        view.decided(r["decided_at"], r["decision_due"])
    elif kind == "ComplaintReferred":
        explanation = r.get("explanation")
        view.change("REFERRED", at, agency_id=r["to_agency_id"], reason=r["subject_area"], rulebook=rulebook,
                    explanation=explanation,
                    grounds=[{"reason": "OUT_OF_REMIT", "explanation": explanation}] if explanation else None)
        view.decided(r["decided_at"], None)
    elif kind == "ComplaintTransferred":
        view.change("TRANSFERRED", at, agency_id=r["to_agency_id"], reason=r["reason"], rulebook=rulebook,
                    explanation=r.get("explanation"))
        if getattr(view, "needs_placement", False):
            view.note({"needs_placement": False})  # a person placed it
        if r.get("explanation"):
            # A transfer after acceptance does not move the status back: it is told apart.
            view.note({"transfer_explanation": r["explanation"]})
    elif kind == "ReferralAnswered":
        view.referral_answered(r["answer"], r["agency_id"], r["answered_at"])
    elif kind == "DecisionOverdue":
        view.flag_overdue(r["decision_due"])
    elif kind == "MediationOpened":
        view.change("IN_MEDIATION", at, agency_id=r["agency_id"])
        view.set_mediation_due(r["mediation_due"], paused=False)
    elif kind == "AppraisalStarted":
        view.set_mediation_due(view.mediation_due, paused=True)
    elif kind in ("AppraisalCompleted", "MediationDueRecomputed"):
        view.set_mediation_due(r["mediation_due"], paused=False)
    elif kind == "MediationAgreed":
        view.change("AGREED", at, reason=r["form"])
        view.conclude(r["form"], r["amount_recovered_fen"])
    elif kind == "MediationTerminated":
        view.change(ended(r["reason"]), at, reason=r["reason"])
        view.conclude(r["reason"], None)
        if r.get("notice_due") is not None:
            view.note({"termination_notice_due": r["notice_due"], "mediation_suspended": False})
    elif kind == "MediationScheduled":
        # Time, place and mediators, as the parties are told them (art. 20 / seed Q&A 8).
        view.note({"next_session": {"session_at": r["session_at"], "place": r["place"],
                                    "mediators": list(r["mediators"])}})
    elif kind == "RecusalRequested":
        if r["suspends"]:
            view.note({"mediation_suspended": True})
    elif kind in ("RecusalRefused", "MediatorRecused"):
        if getattr(view, "mediation_suspended", False):
            view.note({"mediation_suspended": False})
    elif kind == "TerminationNotified":
        view.note({"termination_notified_at": r["notified_at"], "termination_notice_late": r["late"]})
    elif kind == "TerminationNoticeOverdue":
        view.note({"termination_notice_late": True})

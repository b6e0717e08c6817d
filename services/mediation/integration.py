"""Mediation's stored events as the integration events subscribers see."""
from __future__ import annotations

from services.contract import status as public_status
from services.agencies.ids import adcode_of
from services.bus.messages import Outgoing
from services.routing.calendar import china_date

from .application import ViolationReport
from .domainmodel import MediationCase


def public_update(case: MediationCase, status: str, outcome: str | None) -> Outgoing:
    public = case.public or {}
    received = public.get("received_at")  # cases opened before it was kept have none
    return public_status.public_update(
        case.complaint_id, public.get("respondent"), public.get("subject_area"), public.get("city_adcode"),
        status, outcome, china_date(received) if received else None, china_date(case.accepted_at))


def _mediation(case: MediationCase, record_type: str, **fields) -> Outgoing:
    return Outgoing("mediation.events", case.complaint_id, record_type,
                    {"complaint_id": case.complaint_id, **fields})


def integration_events(event, aggregate) -> list[Outgoing]:
    if isinstance(event, ViolationReport.Flagged):
        return [Outgoing("violations.found", event.complaint_id, "ViolationFound", {
            "complaint_id": event.complaint_id,
            "respondent": {"name": event.respondent.get("name") or "", "uscc": event.respondent.get("uscc")},
            "violation_type": event.violation_type, "evidence": event.evidence, "found_by": "mediation",
            "agency_id": event.agency_id, "place_adcode": adcode_of(event.agency_id),
            "check_due": getattr(event, "check_due", None)})]
    if not isinstance(aggregate, MediationCase):
        return []
    case = aggregate
    if isinstance(event, MediationCase.Opened):
        return [_mediation(case, "MediationOpened", agency_id=case.agency_id, accepted_at=case.accepted_at,
                           mediation_due=case.mediation_due, mediation_due_provisional=case.provisional_due),
                public_update(case, "IN_MEDIATION", None)]
    if isinstance(event, MediationCase.ConsentRecorded):
        return [_mediation(case, "ConsentRecorded", party=event.party, agreed=event.agreed)]
    if isinstance(event, MediationCase.Scheduled):
        return [_mediation(case, "MediationScheduled", session_at=event.session_at, place=event.place,
                           mediators=list(event.mediators))]
    if isinstance(event, MediationCase.MediatorRecused):
        return [_mediation(case, "MediatorRecused", mediator=event.mediator, reason=event.reason)]
    if isinstance(event, MediationCase.RecusalRequested):
        return [_mediation(case, "RecusalRequested", mediator=event.mediator, requested_by=event.party,
                           reason=event.reason, suspends=event.suspends)]
    if isinstance(event, MediationCase.RecusalRefused):
        return [_mediation(case, "RecusalRefused", mediator=event.mediator)]
    if isinstance(event, MediationCase.TerminationNotified):
        return [_mediation(case, "TerminationNotified", notified_at=event.at, late=event.late)]
    if isinstance(event, MediationCase.TerminationNoticeOverdue):
        return [_mediation(case, "TerminationNoticeOverdue", notice_due=case.termination["notice_due"])]
    if isinstance(event, MediationCase.AppraisalStarted):
        return [_mediation(case, "AppraisalStarted", body=event.body, payer=event.payer,
                           body_chosen_by=getattr(event, "body_chosen_by", None))]
    if isinstance(event, MediationCase.AppraisalCompleted):
        return [_mediation(case, "AppraisalCompleted", mediation_due=case.mediation_due,
                           mediation_due_provisional=case.provisional_due)]
    if isinstance(event, MediationCase.DueRecomputed):
        return [_mediation(case, "MediationDueRecomputed", mediation_due=event.mediation_due,
                           mediation_due_provisional=event.provisional)]
    if isinstance(event, MediationCase.Agreed):
        return [_mediation(case, "MediationAgreed", form=event.form, terms=event.terms,
                           amount_recovered_fen=event.amount_recovered_fen,
                           oral_consent=list(getattr(event, "oral_consent", None) or []),
                           represented_consent=list(getattr(event, "represented_consent", None) or []),
                           performed_at_once=bool(getattr(event, "performed_at_once", False))),
                public_update(case, "AGREED", event.form)]
    if isinstance(event, MediationCase.Terminated):
        before_opening = getattr(event, "before_opening", None)
        return [_mediation(case, "MediationTerminated", reason=event.reason, text=event.text,
                           notice_due=getattr(event, "notice_due", None),
                           represented_consent=list(getattr(event, "represented_consent", None) or []),
                           before_opening=before_opening),
                public_update(case, public_status.ended(event.reason, before_opening), event.reason)]
    return []

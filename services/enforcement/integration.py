"""Enforcement's stored events as the integration events subscribers see."""
from __future__ import annotations

from services.bus.messages import Outgoing

from .domainmodel import PenaltyCase


def _case(case: PenaltyCase, record_type: str, **fields) -> Outgoing:
    return Outgoing("enforcement.cases", str(case.id), record_type,
                    {"complaint_id": case.complaint_ids[0], "case_id": str(case.id), **fields})


def _reports(case: PenaltyCase) -> list[str]:
    """The reports a case's ending closes: a report's case handles the report
    and a reporter's repeats of it; a complaint's or a pattern's handles none
    (the reports a pattern counts have their own cases)."""
    return list(case.complaint_ids) if case.origin == "REPORT" else []


def integration_events(event, case) -> list[Outgoing]:
    if not isinstance(case, PenaltyCase):
        return []
    if isinstance(event, PenaltyCase.Opened):
        return [_case(case, "PenaltyCaseOpened", origin=case.origin, complaint_ids=list(case.complaint_ids),
                      respondent={"name": case.respondent.get("name") or "", "uscc": case.respondent.get("uscc")},
                      violation_type=case.violation_type, agency_id=case.agency_id, filing_due=case.filing_due)]
    if isinstance(event, PenaltyCase.ComplaintLinked):
        return [Outgoing("enforcement.cases", str(case.id), "PenaltyCaseComplaintLinked", {
            "complaint_id": event.complaint_id, "case_id": str(case.id),
            "complaint_ids": list(case.complaint_ids)})]
    if isinstance(event, PenaltyCase.ReportedAgain):
        return [Outgoing("enforcement.cases", str(case.id), "PenaltyCaseComplaintLinked", {
            "complaint_id": event.complaint_id, "case_id": str(case.id), "complaint_ids": list(case.complaint_ids),
            "filing_due": case.filing_due if event.restarts else None, "reported_again": True,
            "not_handled_again": bool(getattr(event, "not_handled_again", False))})]
    if isinstance(event, PenaltyCase.FilingDeclined):
        return [_case(case, "CaseFilingDeclined", reason=event.reason, reports_closed=_reports(case))]
    if isinstance(event, PenaltyCase.InvestigationStarted):
        return [_case(case, "InvestigationStarted", conclusion_due=case.conclusion_due)]
    if isinstance(event, PenaltyCase.Decided):
        return [_case(case, "PenaltyDecided", fine_fen=event.fine_fen, basis=event.basis)]
    if isinstance(event, PenaltyCase.CheckExtended):
        return [_case(case, "PenaltyCaseCheckExtended", check_due=event.check_due,
                      check_due_provisional=event.provisional, approved_by=event.approved_by, reason=event.reason)]
    if isinstance(event, PenaltyCase.Closed):
        return [_case(case, "PenaltyCaseClosed", outcome=event.outcome, reports_closed=_reports(case))]
    return []

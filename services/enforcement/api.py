"""Case work on penalty cases."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends
from pydantic import Field, StrictBool

from services import checks
from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.agencies.authority import may_oversee
from services.casework import (CaseCommand, act_on_case, authorise, in_china_time, is_superior, permitted, principal,
                               refusals)
from services.http import Problem

from .application import CaseNotFound, Enforcement
from .domainmodel import IllegalTransition, PenaltyCase


class Decision(CaseCommand):
    fine_fen: int = Field(ge=0, le=checks.MAX_FEN, strict=True)
    basis: str = Field(min_length=1)
    no_penalty: StrictBool = False


class Closure(CaseCommand):
    outcome: str = Field(min_length=1)


class Declining(CaseCommand):
    reason: str = Field(min_length=1)


class CheckExtension(CaseCommand):
    """The head's approval of 15 more working days to check a lead found in
    mediation (SAMR-20 art. 23, SAMR-121 art. 27)."""
    approved_by: str = Field(min_length=1, description="The head of the bureau who approved it")
    reason: str = Field(min_length=1)


def document(case: PenaltyCase) -> dict:
    return in_china_time({"case_id": str(case.id), "case_number": case.case_number, "origin": case.origin,
            "status": case.status, "complaint_ids": list(case.complaint_ids), "respondent": case.respondent,
            "violation_type": case.violation_type, "agency_id": case.agency_id, "received_at": case.received_at,
            "filing_due": case.filing_due, "conclusion_due": case.conclusion_due, "decision": case.decision,
            "closure": case.closure, "declined": case.declined, "overdue": list(case.flagged_overdue),
            "check_due": getattr(case, "check_due", None), "check_extension": getattr(case, "check_extension", None)})


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(prefix="/cases/{case_id}", tags=["enforcement"])
    app: Enforcement = runner.app

    async def act(case_id: str, body: CaseCommand, who: Principal, command, *args, **kwargs) -> dict:
        return document(await act_on_case(runner, case_id, body, who, command, *args, **kwargs,
                                          not_found=CaseNotFound, illegal=IllegalTransition))

    @api.get("")
    async def get_case(case_id: str, who: Principal = Depends(principal)):
        with refusals(CaseNotFound, IllegalTransition):
            case = await runner.run_in_store(app.case, case_id)
            if who.role == "REGULATOR":
                permitted(may_oversee, who, case.agency_id, is_superior)
            else:
                authorise(who, case.agency_id)
        return document(case)

    @api.post("/investigation")
    async def investigation(case_id: str, who: Principal = Depends(principal),
                            body: CaseCommand = Body(default_factory=CaseCommand)):
        return await act(case_id, body, who, app.start_investigation)

    @api.post("/filing-declined")
    async def decline(case_id: str, body: Declining, who: Principal = Depends(principal)):
        return await act(case_id, body, who, app.decline_filing, body.reason)

    @api.post("/check-extension")
    async def check_extension(case_id: str, body: CheckExtension, who: Principal = Depends(principal)):
        # The head approves (art. 27): a case worker's token cannot.
        if who.role != "SUPERVISOR":
            raise Problem(403, "Forbidden", "extending a lead's check period needs the approval of the bureau's "
                          "head: a SUPERVISOR token")
        return await act(case_id, body, who, app.extend_check, body.approved_by, body.reason)

    @api.post("/decision")
    async def decision(case_id: str, body: Decision, who: Principal = Depends(principal)):
        return await act(case_id, body, who, app.decide, body.fine_fen, body.basis, no_penalty=body.no_penalty)

    @api.post("/closure")
    async def closure(case_id: str, body: Closure, who: Principal = Depends(principal)):
        return await act(case_id, body, who, app.close_case, body.outcome)

    return api

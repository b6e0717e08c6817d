"""Case work on mediation: each route a command of the handling bureau."""
from __future__ import annotations

from enum import Enum
from typing import Literal

from fastapi import APIRouter, Body, Depends
from pydantic import Field, StrictBool

from services import checks
from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.casework import (CaseCommand, Instant, act_on_case, authorise, authorise_role, check_by, in_china_time,
                               principal, refusals)
from services.contract.vocabulary import VIOLATION_TYPES
from services.http import Problem
from services.ids import COMPLAINT_ID
from services.routing.rulebook import TERMINATION_CODES

from . import rules
from .application import CaseNotFound, Mediation, NotAccepted
from .domainmodel import IllegalTransition, MediationCase


class Consent(CaseCommand):
    party: Literal[rules.PARTIES]
    agreed: StrictBool


class Schedule(CaseCommand):
    session_at: Instant
    place: str = Field(min_length=1)
    mediators: list[str] = Field(min_length=1)


class Recusal(CaseCommand):
    mediator: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    requested_by: Literal[rules.PARTIES] | None = None


class Appraisal(CaseCommand):
    action: Literal["START", "COMPLETE"]
    body: str | None = None
    payer: Literal[rules.PAYERS] | None = None
    body_chosen_by: Literal[rules.BODY_CHOICES] = Field(
        default="PARTIES_AGREED", description="BUREAU_DESIGNATED only under SAMR-121 (art. 22)")
    result: str | None = None


JOINT_CONSENT = ("A joint complaint's represented consumers, by name, who consent to what their representatives "
                 "did: all of them, or it is refused (Order 20 art. 11, Order 121 art. 12)")


class Withdrawal(CaseCommand):
    represented_consent: list[str] = Field(default_factory=list, description=JOINT_CONSENT)


class Agreement(CaseCommand):
    form: Literal[rules.FORMS]
    terms: str = Field(min_length=1)
    amount_recovered_fen: int = Field(ge=0, le=checks.MAX_FEN, strict=True)
    oral_consent: list[Literal["CONSUMER", "RESPONDENT"]] | None = Field(
        default=None, description="ORAL only, and then both parties: they agreed to do without a mediation "
        "document (Order 20 art. 22, Order 121 art. 24). Left out, an ORAL agreement records both: the "
        "mediator's record of it says the parties agreed")
    performed_at_once: StrictBool = Field(default=False, description="ORAL, under SAMR-20 and SAMR-121: the agreement was "
                                    "carried out on the spot, so no document and no waiver of one is needed")
    represented_consent: list[str] = Field(default_factory=list, description=JOINT_CONSENT)


class RecusalRequest(CaseCommand):
    """A party's request that a mediator step aside: suspends mediation until
    the bureau decides, under SAMR-20 and SAMR-121."""
    mediator: str = Field(min_length=1)
    party: Literal[rules.PARTIES]
    reason: str = Field(min_length=1)


class RecusalDecision(CaseCommand):
    granted: StrictBool


TerminationReason = Enum("TerminationReason", {code: code for code in TERMINATION_CODES}, type=str)


class Termination(CaseCommand):
    reason: TerminationReason = Field(description="A ground of the case's rulebook; another rulebook's ground is refused")
    text: str | None = None
    represented_consent: list[str] = Field(default_factory=list,
                                           description="With WITHDRAWN or SELF_SETTLED: " + JOINT_CONSENT)


class Violation(CaseCommand):
    violation_type: Literal[VIOLATION_TYPES]
    evidence: str = Field(min_length=1)


def summary(case: MediationCase) -> dict:
    termination = case.termination or {}
    return in_china_time({"complaint_id": case.complaint_id, "agency_id": case.agency_id, "status": case.status,
            "rulebook": case.rulebook, "mediation_due": case.mediation_due,
            "mediation_due_provisional": case.provisional_due, "paused": case.is_paused,
            "suspended": case.is_suspended, "notice_due": termination.get("notice_due"),
            "notified_at": (case.notice or {}).get("at"), "panel": case.panel,
            "sessions": len(case.sessions), "outcome": (case.agreement or case.termination or {}).get("form")
            or (case.termination or {}).get("reason")})


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(prefix="/complaints/{complaint_id}", tags=["mediation"])
    app: Mediation = runner.app

    async def act(complaint_id: str, body: CaseCommand, who: Principal, command, *args, **kwargs) -> dict:
        return summary(await act_on_case(runner, complaint_id, body, who, command, *args, **kwargs,
                                         not_found=CaseNotFound, illegal=IllegalTransition))

    @api.post("/mediation/consent")
    async def consent(complaint_id: str, body: Consent, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.record_consent, body.party, body.agreed)

    @api.post("/mediation/schedule")
    async def schedule(complaint_id: str, body: Schedule, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.schedule, body.session_at, body.place, body.mediators)

    @api.post("/mediation/recusal")
    async def recusal(complaint_id: str, body: Recusal, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.recuse, body.mediator, body.reason,
                         requested_by=body.requested_by)

    @api.post("/mediation/recusal/request")
    async def recusal_request(complaint_id: str, body: RecusalRequest, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.request_recusal, body.mediator, body.party, body.reason)

    @api.post("/mediation/recusal/decision")
    async def recusal_decision(complaint_id: str, body: RecusalDecision, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.decide_recusal, body.granted)

    @api.post("/mediation/termination/notice")
    async def termination_notice(complaint_id: str, who: Principal = Depends(principal),
                                 body: CaseCommand = Body(default_factory=CaseCommand)):
        """The parties were told that mediation ended."""
        return await act(complaint_id, body, who, app.notify_termination)

    @api.post("/mediation/appraisal")
    async def appraisal(complaint_id: str, body: Appraisal, who: Principal = Depends(principal)):
        if body.action == "START":
            return await act(complaint_id, body, who, app.start_appraisal, body.body, body.payer,
                             body_chosen_by=body.body_chosen_by)
        return await act(complaint_id, body, who, app.complete_appraisal, result=body.result)

    @api.post("/mediation/agreement")
    async def agreement(complaint_id: str, body: Agreement, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.agree, body.form, body.terms, body.amount_recovered_fen,
                         oral_consent=body.oral_consent, represented_consent=body.represented_consent,
                         performed_at_once=body.performed_at_once)

    @api.post("/mediation/termination")
    async def termination(complaint_id: str, body: Termination, who: Principal = Depends(principal)):
        return await act(complaint_id, body, who, app.terminate, body.reason.value, text=body.text,
                         represented_consent=body.represented_consent)

    @api.post("/withdrawal")
    async def withdrawal(complaint_id: str, who: Principal = Depends(principal),
                         body: Withdrawal = Body(default_factory=Withdrawal)):
        check_by(body, who)
        with refusals(CaseNotFound, IllegalTransition):
            case = await runner.run_in_store(app.find, MediationCase.create_id(complaint_id))
            if case is None and not COMPLAINT_ID.fullmatch(complaint_id):
                # Mediation cannot know every complaint before its decision, but no
                # complaint has an id of another shape: nothing is recorded for it.
                raise Problem(404, "Not found", f"no complaint {complaint_id}: a complaint id reads like "
                              "TS-20261201-0123456789AB", field="complaint_id")
            rejected = None if case else await runner.run_in_store(app.find, NotAccepted.create_id(complaint_id))
            if case is not None or rejected is not None:
                # The bureau that handles it, or that did not accept it (or one above).
                authorise(who, (case or rejected).agency_id)
            else:
                # No bureau owns the complaint yet: the case that opens later
                # honours the withdrawal only if its bureau (or one above) made it.
                authorise_role(who)
            outcome = await runner.run_in_store(app.withdraw, complaint_id, body.when(runner.clock),
                                                who.agency_id, who.role, body.represented_consent)
        return {"complaint_id": complaint_id, "withdrawal": outcome}

    return api

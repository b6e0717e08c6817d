"""Case work on jurisdiction: escalation to the superior bureau, disputes
between bureaus decided by their common superior; and the answer of an agency
to a referral, for agency systems that speak HTTP rather than Kafka."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends
from pydantic import Field, ValidationInfo, field_validator

from services.agencies.authority import may_answer_referral
from services.agencies.directory import Directory
from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.casework import CaseCommand, act_on_case, authorise, check_by, permitted, principal, refusals
from services.contract.vocabulary import VIOLATION_TYPES

from .application import ComplaintNotFound, JurisdictionRefused, Routing
from .domainmodel import MAX_REASON, Complaint


def _known_agency(agency_id: str | None) -> str | None:
    if agency_id is not None and not Directory.load().exists(agency_id):
        raise ValueError(f"no agency {agency_id} in the directory: an id is KIND-ADCODE, e.g. AMR-310115")
    return agency_id


class Dispute(CaseCommand):
    with_agency_id: str = Field(min_length=3, description="The other bureau that claims, or refuses, competence")

    _known = field_validator("with_agency_id")(classmethod(lambda cls, agency_id: _known_agency(agency_id)))


class EscalationDecision(CaseCommand):
    decision: Literal["TAKE_OVER", "DESIGNATE", "REFUSE"]
    agency_id: str | None = Field(default=None, min_length=3, validate_default=True,
                                  description="With DESIGNATE: the bureau below")

    @field_validator("agency_id")
    @classmethod
    def _designation_names_a_bureau(cls, agency_id: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == "DESIGNATE" and agency_id is None:
            raise ValueError("DESIGNATE needs the bureau below that handles the complaint from now on")
        return _known_agency(agency_id)


class Designation(CaseCommand):
    agency_id: str = Field(min_length=3, description="The bureau that handles the complaint from now on")

    _known = field_validator("agency_id")(classmethod(lambda cls, agency_id: _known_agency(agency_id)))


class Violation(CaseCommand):
    violation_type: Literal[VIOLATION_TYPES]
    evidence: str = Field(min_length=1)


class ReferralReply(CaseCommand):
    """The same answer as ReferralAcknowledged / ReferralDeclined on referrals.replies."""

    answer: Literal["ACKNOWLEDGED", "DECLINED"]
    reason: str | None = Field(default=None, min_length=1, max_length=MAX_REASON, validate_default=True,
                               description="Why the agency declines (required with DECLINED)")
    suggested_agency_id: str | None = Field(default=None, min_length=3,
                                            description="With DECLINED: the agency that is competent, if known")

    @field_validator("suggested_agency_id")
    @classmethod
    def _suggests_another_agency(cls, agency_id: str | None) -> str | None:
        _known_agency(agency_id)
        if agency_id is not None and Directory.load().agency(agency_id).kind == "AMR":
            raise ValueError(f"{agency_id} is a market-regulation bureau: a referral goes to another agency")
        return agency_id

    @field_validator("reason")
    @classmethod
    def _declined_says_why(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("answer") == "DECLINED" and not reason:
            raise ValueError("a reason is required when the answer is DECLINED")
        return reason


def document(complaint: Complaint) -> dict:
    return {"complaint_id": complaint.complaint_id, "agency_id": complaint.agency_id, "state": complaint.state,
            "dispute": complaint.dispute, "escalation": getattr(complaint, "escalation", None),
            "needs_placement": getattr(complaint, "needs_placement", False)}


def superior_asked(complaint: Complaint) -> str:
    """Who decides an escalation: the superior it waits for. With none waiting,
    the handling bureau, so that a stranger learns nothing of the complaint's
    state before the command refuses."""
    request = getattr(complaint, "escalation", None)
    return request["superior_id"] if request is not None else complaint.agency_id


def common_superior(complaint: Complaint) -> str:
    """Who decides a dispute: the bureaus' common superior (or one above it).
    With no dispute, the handling bureau, as for an escalation."""
    return complaint.dispute["superior_id"] if complaint.dispute is not None else complaint.agency_id


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(prefix="/complaints/{complaint_id}", tags=["routing"])
    app: Routing = runner.app

    async def stored(complaint_id: str) -> Complaint:
        return await runner.run_in_store(app.complaint, complaint_id)

    async def act(complaint_id: str, body: CaseCommand, who: Principal, command, *args, **kwargs) -> dict:
        return document(await act_on_case(runner, complaint_id, body, who, command, *args, **kwargs,
                                          not_found=ComplaintNotFound, illegal=JurisdictionRefused))

    @api.post("/jurisdiction/escalation")
    async def escalation(complaint_id: str, who: Principal = Depends(principal),
                         body: CaseCommand = Body(default_factory=CaseCommand)):
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            authorise(who, (await stored(complaint_id)).agency_id)
            complaint = await runner.run_in_store(app.escalate, complaint_id, body.when(runner.clock),
                                                  who.agency_id, who.role)
        return document(complaint)

    @api.post("/jurisdiction/escalation/decision")
    async def escalation_decision(complaint_id: str, body: EscalationDecision, who: Principal = Depends(principal)):
        """The superior asked decides: take over, designate a bureau below it, or refuse."""
        return await act(complaint_id, body, who, app.decide_escalation, body.decision, body.agency_id,
                         acting_for=superior_asked)

    @api.post("/jurisdiction/takeover")
    async def takeover(complaint_id: str, who: Principal = Depends(principal),
                       body: CaseCommand = Body(default_factory=CaseCommand)):
        """The caller's bureau, above the handling one at any level, handles the complaint itself."""
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            authorise(who, (await stored(complaint_id)).agency_id)
            complaint = await runner.run_in_store(app.take_over, complaint_id, body.when(runner.clock),
                                                  who.agency_id, who.role)
        return document(complaint)

    @api.post("/jurisdiction/dispute")
    async def dispute(complaint_id: str, body: Dispute, who: Principal = Depends(principal)):
        """Raised by the handling bureau or by the other bureau."""
        def party(complaint: Complaint) -> str:
            return body.with_agency_id if who.agency_id == body.with_agency_id else complaint.agency_id

        return await act(complaint_id, body, who, app.dispute, body.with_agency_id, acting_for=party)

    @api.post("/jurisdiction/designation")
    async def designation(complaint_id: str, body: Designation, who: Principal = Depends(principal)):
        """Only the common superior (or a bureau above it) decides a dispute."""
        return await act(complaint_id, body, who, app.designate, body.agency_id, acting_for=common_superior)

    @api.post("/violations", status_code=202)
    async def violations(complaint_id: str, body: Violation, who: Principal = Depends(principal)):
        """A suspected violation on any complaint the caller's bureau handles (or
        one below it): accepted, rejected, referred, transferred or in mediation.
        It becomes a penalty case of its own."""
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            complaint = await stored(complaint_id)
            authorise(who, complaint.agency_id or complaint.record.get("receiving_agency_id") or "")
            await runner.run_in_store(app.flag_violation, complaint_id, body.violation_type, body.evidence,
                                      body.when(runner.clock), who.agency_id, who.role)
        return {"complaint_id": complaint_id, "violation_type": body.violation_type, "status": "FLAGGED"}

    @api.post("/referral/reply")
    async def referral_reply(complaint_id: str, body: ReferralReply, who: Principal = Depends(principal)):
        """The addressed agency acknowledges or declines the referral waiting for it."""
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            referrals = (await stored(complaint_id)).referrals.values()
            addressees = {r["to_agency_id"] for r in referrals}
            permitted(may_answer_referral, who, addressees)
            complaint = await runner.run_in_store(
                app.answer_referral, complaint_id, who.agency_id, body.answer == "ACKNOWLEDGED", body.reason,
                body.suggested_agency_id, body.when(runner.clock), who.role)
        # Only the caller's own referrals: a referral id is its addressee's proof.
        return {"complaint_id": complaint.complaint_id, "state": complaint.state,
                "referrals": [{"referral_id": rid, "status": r["status"]} for rid, r in complaint.referrals.items()
                              if r["to_agency_id"] == who.agency_id]}

    return api

"""Case work on jurisdiction: escalation to the superior bureau, and disputes
between bureaus decided by their common superior."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import Field

from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.casework import CaseCommand, authorise, check_by, principal, refusals

from .application import ComplaintNotFound, JurisdictionRefused, Routing
from .domainmodel import Complaint


class Dispute(CaseCommand):
    with_agency_id: str = Field(min_length=3, description="The other bureau that claims, or refuses, competence")


class Designation(CaseCommand):
    agency_id: str = Field(min_length=3, description="The bureau that handles the complaint from now on")


def document(complaint: Complaint) -> dict:
    return {"complaint_id": complaint.complaint_id, "agency_id": complaint.agency_id, "state": complaint.state,
            "dispute": complaint.dispute}


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(prefix="/complaints/{complaint_id}/jurisdiction", tags=["routing"])
    app: Routing = runner.app

    @api.post("/escalation")
    async def escalation(complaint_id: str, body: CaseCommand, who: Principal = Depends(principal)):
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            authorise(who, app.complaint(complaint_id).agency_id)
            complaint = await runner.run_in_store(app.escalate, complaint_id, body.when(runner.clock),
                                                  who.agency_id, who.role)
        return document(complaint)

    @api.post("/dispute")
    async def dispute(complaint_id: str, body: Dispute, who: Principal = Depends(principal)):
        """Raised by the handling bureau or by the other bureau."""
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            current = app.complaint(complaint_id).agency_id
            authorise(who, current if who.agency_id != body.with_agency_id else body.with_agency_id)
            complaint = await runner.run_in_store(app.dispute, complaint_id, body.with_agency_id, body.when(runner.clock),
                                                  who.agency_id, who.role)
        return document(complaint)

    @api.post("/designation")
    async def designation(complaint_id: str, body: Designation, who: Principal = Depends(principal)):
        """Only the common superior (or a bureau above it) decides a dispute."""
        check_by(body, who)
        with refusals(ComplaintNotFound, JurisdictionRefused):
            complaint = app.complaint(complaint_id)
            if complaint.dispute is None:
                authorise(who, complaint.agency_id)  # say nothing of its state to strangers
                raise JurisdictionRefused(f"complaint {complaint_id} has no jurisdiction dispute to decide",
                                          current_state=complaint.state)
            authorise(who, complaint.dispute["superior_id"])
            complaint = await runner.run_in_store(app.designate, complaint_id, body.agency_id, body.when(runner.clock),
                                                  who.agency_id, who.role)
        return document(complaint)

    return api

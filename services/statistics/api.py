"""`GET /statistics`: the figures over HTTP, for any holder of a valid token
(a regulator's in particular), with the filters of `tousu stats`."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query as Param

from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.casework import principal
from services.http import Problem

from .report import DIMENSIONS, InvalidQuery, Query


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(tags=["statistics"])
    app = runner.app

    @api.get("/statistics", summary="Counts and money recovered, filtered and grouped",
             responses={401: {"description": "No valid token"},
                        403: {"description": "An agency system's token: it answers referrals, nothing else"},
                        422: {"description": "A filter or grouping is malformed: the field is named"}})
    def statistics(
        start: str | None = Param(None, alias="from", description="received on or after (YYYY-MM-DD, CST)"),
        end: str | None = Param(None, alias="to", description="received on or before (YYYY-MM-DD, CST)"),
        agency: str | None = Param(None, description="handling agency, or any agency above it"),
        area: str | None = Param(None, description="division code prefix of the handling agency"),
        by: str | None = Param(None, description=f"comma-separated: {', '.join(DIMENSIONS)}"),
        who: Principal = Depends(principal),
    ) -> dict:
        if who.role == "AGENCY_SYSTEM":
            raise Problem(403, "Forbidden", f"{who.agency_id}'s system answers the referrals addressed to it; "
                          "the figures are read with a case worker's, supervisor's or regulator's token")
        try:
            query = Query.parse(start, end, agency, area, by)
        except InvalidQuery as exc:
            raise Problem(422, "Invalid request", str(exc), field=exc.field) from None
        # A sync route runs in the thread pool: reading the store never blocks the event loop.
        return app.report(query).to_dict()

    return api

"""The desk over HTTP: listings under tokens, cursor-paginated, sortable by
deadline, as JSON or CSV; and the public listing and operator disclosure,
open to anyone and free of personal data."""
from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, Depends, Query as Param, Request
from fastapi.responses import JSONResponse, Response

from services.auth import Principal
from services.bus.runtime import ServiceRunner
from services.casework import principal
from services.http import Problem
from services.plaintext import cell

from . import listing as L
from . import queries
from .schemas import CasePage, ComplaintPage, OperatorDisclosure, PublicComplaintPage, ReferralPage

CSV = "text/csv"
PAGE_HELP = {
    "cursor": "`next_cursor` of the previous page",
    "limit": f"rows per page, 1 to {L.MAX_LIMIT} (a CSV export without it has every row)",
    "format": "`csv` for a CSV download (or send `Accept: text/csv`)",
}


def wants_csv(request: Request, format: str | None) -> bool:
    if format:
        if format not in ("csv", "json"):
            raise Problem(422, "Invalid request", "format must be csv or json", field="format")
        return format == "csv"
    return CSV in request.headers.get("accept", "")


def to_csv(page: L.Page | list[dict], name: str) -> Response:
    """A page of a listing, or rows of figures, as CSV."""
    items = page.items if isinstance(page, L.Page) else page
    columns = list(items[0]) if items else list(getattr(page, "columns", ()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in items:
        writer.writerow([cell(v) for v in item.values()])
    # A BOM, so spreadsheet programs read the Chinese names as UTF-8.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def answer(request: Request, format: str | None, name: str, run, limit: int | None):
    csv_wanted = wants_csv(request, format)
    try:
        page = run(limit if (limit is not None or not csv_wanted) else None)
    except L.InvalidQuery as exc:
        raise Problem(422, "Invalid request", str(exc), field=exc.field) from None
    except L.NotAllowed as exc:
        raise Problem(403, "Forbidden", str(exc)) from None
    if csv_wanted:
        return to_csv(page, name)
    headers = {}
    if page.next_cursor:
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return JSONResponse(page.to_dict(), headers=headers)


def _listing_responses(model) -> dict:
    return {200: {"model": model, "content": {CSV: {"schema": {"type": "string"}}},
                  "description": "One page, JSON or CSV"},
            401: {"description": "No valid token"},
            403: {"description": "The token's role may not list these"},
            422: {"description": "A filter, sort, limit or cursor is malformed: the field is named"}}


def router(runner: ServiceRunner) -> APIRouter:
    api = APIRouter(tags=["desk"])
    app = runner.app

    @api.get("/complaints", summary="Complaints, reports and consultations the caller may read",
             responses=_listing_responses(ComplaintPage), response_model=None)
    def list_complaints(
        request: Request,
        status: str | None = Param(None, description="comma-separated statuses"),
        kind: str | None = Param(None, description="COMPLAINT, REPORT, CONSULTATION (comma-separated)"),
        subject_area: str | None = Param(None, description="comma-separated subject areas"),
        channel: str | None = Param(None, description="comma-separated channels"),
        agency: str | None = Param(None, description="handling agency, and the agencies below it"),
        below: bool | None = Param(None, description="false: the named agency alone"),
        open: bool | None = Param(None, description="true: still being handled; false: decided for good"),
        respondent: str | None = Param(None, description="part of the respondent's name, or its credit code"),
        uscc: str | None = Param(None, description="the respondent's unified social credit code"),
        received_from: str | None = Param(None, description="received on or after (YYYY-MM-DD, China time)"),
        received_to: str | None = Param(None, description="received on or before (YYYY-MM-DD, China time)"),
        decided_from: str | None = Param(None, description="decided on or after (YYYY-MM-DD)"),
        decided_to: str | None = Param(None, description="decided on or before (YYYY-MM-DD)"),
        deadline_before: str | None = Param(None, description="next deadline on or before (YYYY-MM-DD)"),
        overdue: bool | None = Param(None, description="true: past its deadline"),
        worker: str | None = Param(None, description="part of an assigned mediator's name"),
        sort: str | None = Param(None, description="deadline (soonest first), received, -received, -updated"),
        cursor: str | None = Param(None, description=PAGE_HELP["cursor"]),
        limit: int | None = Param(None, description=PAGE_HELP["limit"]),
        format: str | None = Param(None, description=PAGE_HELP["format"]),
        who: Principal = Depends(principal),
    ):
        q = {k: v for k, v in request.query_params.items()}
        if wants_csv(request, format):
            return answer(request, format, "complaints",
                          lambda n: queries.complaints(app, who, q, sort, cursor, n), limit)
        try:
            items, next_cursor, sort = queries.complaints_json(app, who, q, sort, cursor, 50 if limit is None else limit)
        except L.InvalidQuery as exc:
            raise Problem(422, "Invalid request", str(exc), field=exc.field) from None
        except L.NotAllowed as exc:
            raise Problem(403, "Forbidden", str(exc)) from None
        tail = json.dumps({"next_cursor": next_cursor, "sort": sort, "limit": 50 if limit is None else limit})
        headers = {"Link": f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'} if next_cursor else {}
        return Response('{"items":' + items + "," + tail[1:], media_type="application/json", headers=headers)

    @api.get("/cases", summary="Penalty cases the caller may read", responses=_listing_responses(CasePage),
             response_model=None)
    def list_cases(
        request: Request,
        status: str | None = Param(None, description="LEAD (or OPENED), INVESTIGATING, DECIDED, CLOSED, DECLINED"),
        agency: str | None = Param(None, description="handling agency, and the agencies below it"),
        open: bool | None = Param(None, description="true: not yet closed or declined"),
        respondent: str | None = Param(None, description="part of the respondent's name, or its credit code"),
        complaint_id: str | None = Param(None, description="cases linked to this complaint"),
        opened_from: str | None = Param(None), opened_to: str | None = Param(None),
        sort: str | None = Param(None, description="deadline, opened, -opened"),
        cursor: str | None = Param(None, description=PAGE_HELP["cursor"]),
        limit: int | None = Param(None, description=PAGE_HELP["limit"]),
        format: str | None = Param(None, description=PAGE_HELP["format"]),
        who: Principal = Depends(principal),
    ):
        q = dict(request.query_params)
        return answer(request, format, "cases", lambda n: queries.cases(app, who, q, sort, cursor, n), limit)

    @api.get("/referrals", summary="Referrals addressed to an agency (to=) or sent by bureaus (from=)",
             responses=_listing_responses(ReferralPage), response_model=None)
    def list_referrals(
        request: Request,
        to: str | None = Param(None, description="the addressed agency: the caller's own (the default)"),
        sent_by: str | None = Param(None, alias="from", description="the referring bureau, and those below it"),
        status: str | None = Param(None, description="ISSUED, ACKNOWLEDGED, DECLINED"),
        subject_area: str | None = Param(None),
        sort: str | None = Param(None, description="referred, -referred"),
        cursor: str | None = Param(None, description=PAGE_HELP["cursor"]),
        limit: int | None = Param(None, description=PAGE_HELP["limit"]),
        format: str | None = Param(None, description=PAGE_HELP["format"]),
        who: Principal = Depends(principal),
    ):
        q = dict(request.query_params)
        return answer(request, format, "referrals", lambda n: queries.referrals(app, who, q, sort, cursor, n), limit)

    @api.get("/public/complaints", summary="Complaints as the public sees them: no personal data",
             responses={k: v for k, v in _listing_responses(PublicComplaintPage).items() if k not in (401, 403)},
             response_model=None)
    def public_complaints(
        request: Request,
        status: str | None = Param(None), subject_area: str | None = Param(None),
        respondent: str | None = Param(None, description="part of the respondent's name, or its credit code"),
        uscc: str | None = Param(None), city: str | None = Param(None, description="city division code"),
        received_from: str | None = Param(None), received_to: str | None = Param(None),
        sort: str | None = Param(None, description="received, -received"),
        cursor: str | None = Param(None, description=PAGE_HELP["cursor"]),
        limit: int | None = Param(None, description=PAGE_HELP["limit"]),
        format: str | None = Param(None, description=PAGE_HELP["format"]),
    ):
        q = dict(request.query_params)
        return answer(request, format, "public-complaints",
                      lambda n: queries.public_complaints(app, q, sort, cursor, n), limit)

    @api.get("/public/operators/{uscc}", summary="An operator's complaint record, by credit code",
             response_model=OperatorDisclosure)
    def operator(uscc: str) -> dict:
        try:
            return queries.operator(app, uscc)
        except L.InvalidQuery as exc:
            raise Problem(422, "Invalid request", str(exc), field=exc.field) from None

    return api

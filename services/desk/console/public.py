"""The public's pages: the complaint form (the API's own validation, its
messages shown next to the field), a status page by complaint id, and an
operator's disclosure page. No token, no personal data."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from services.ids import COMPLAINT_ID

from .. import queries
from ..vocabulary import SUBJECT_AREAS
from .calls import call, problem
from .guard import same_origin
from .forms import VIOLATIONS
from .render import templates

DEMANDS = (("REFUND", "退款"), ("EXCHANGE", "换货"), ("REPAIR", "修理"), ("COMPENSATION", "赔偿"),
           ("APOLOGY", "赔礼道歉"), ("OTHER", "其他"))
PURPOSES = (("DAILY_CONSUMPTION", "生活消费"), ("BUSINESS", "经营用途"), ("UNKNOWN", "不确定"))
PRIOR_BODIES = (("", "—"), ("AMR_MEDIATION", "市场监管部门调解"), ("CONSUMER_ASSOCIATION", "消费者协会"),
                ("PEOPLES_MEDIATION", "人民调解委员会"), ("COURT", "法院"), ("ARBITRATION", "仲裁机构"),
                ("OTHER_AGENCY", "其他行政机关"))
PRIOR_STATUSES = (("", "—"), ("IN_PROGRESS", "正在处理"), ("CONCLUDED", "已处理完毕"))
BOOLEANS = ("transaction.online", "has_evidence")
CONSULTATION = ("kind", "channel", "receiving_agency_id", "consumer", "question")


# The form's repeated rows (earlier handling, co-consumers) are numbered from
# 0; a number past this is no row of the form's, and would have the body grow
# to it (x.30000000.y=1 took half a GB and froze every page for seconds). Nor
# is any of its names deeper than `prior_handling.0.body`.
MAX_ROW = 20
MAX_DEPTH = 4


def _set(body: dict, path: str, value) -> None:
    """`a.0.b` = value into the body; a name no field of the form has (a row
    past MAX_ROW, a field under a value) is passed over: the API judges the rest."""
    parts = path.split(".", MAX_DEPTH)
    if len(parts) > MAX_DEPTH or any(p.isdigit() and int(p) > MAX_ROW for p in parts) or not all(parts):
        return
    node = body
    for i, part in enumerate(parts[:-1]):
        nxt = [] if parts[i + 1].isdigit() else {}
        if isinstance(node, list) and part.isdigit():
            while len(node) <= int(part):
                node.append([] if isinstance(nxt, list) else {})
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, nxt)
        else:
            return
        if not isinstance(node, type(nxt)):
            return
    last = parts[-1]
    if isinstance(node, list):
        node.append(value)
    elif isinstance(node, dict):
        node[last] = value


def submission(form) -> dict:
    """The JSON body of POST /complaints from the form, field by field; what
    the form leaves blank is not sent, so the API judges what was given."""
    body: dict = {"channel": "WEB"}
    for name, value in form.multi_items():
        value = value.strip()
        if not value or name in BOOLEANS or name == "demands":
            continue
        if name == "transaction.amount_fen":
            try:
                value = int((Decimal(value) * 100).to_integral_value())
            except InvalidOperation:
                pass  # sent as typed: the API names the field
        _set(body, name, value)
    if body.get("kind") == "CONSULTATION":
        # A question needs no respondent or transaction: only who asks, and what.
        return {k: v for k, v in body.items() if k in CONSULTATION}
    body.pop("question", None)
    for name in BOOLEANS:
        _set(body, name, form.get(name) == "on")
    if body.get("kind") != "REPORT":
        body["demands"] = form.getlist("demands")
    return body


def router(desk) -> APIRouter:
    api = APIRouter(prefix="/public", include_in_schema=False, dependencies=[Depends(same_origin)])

    def form_page(request, values=None, failure=None, status_code=200):
        return templates.TemplateResponse(request, "public_form.html", {
            "values": values or {}, "failure": failure, "subject_areas": SUBJECT_AREAS, "demands": DEMANDS,
            "purposes": PURPOSES, "violations": VIOLATIONS, "prior_bodies": PRIOR_BODIES,
            "prior_statuses": PRIOR_STATUSES}, status_code=status_code)

    @api.get("/form")
    def complaint_form(request: Request):
        return form_page(request)

    @api.post("/form")
    async def submit(request: Request):
        form = await request.form()
        response = await call(request, "POST", "/complaints", json=submission(form))
        failure = problem(response)
        if failure:
            values = {k: v for k, v in form.multi_items() if k != "demands"}
            values["demands"] = form.getlist("demands")
            return form_page(request, values, failure, failure["status"])
        return RedirectResponse(f"/public/status/{response.json()['complaint_id']}?new=1", status_code=303)

    @api.get("/status")
    def status_lookup(request: Request, id: str | None = None):
        if id:
            # As written on a receipt or read out on the phone: any case, any spaces around.
            return RedirectResponse(f"/public/status/{id.strip().upper()}", status_code=303)
        return templates.TemplateResponse(request, "public_status.html", {"status": None, "row": None})

    @api.get("/status/{complaint_id}")
    async def status(request: Request, complaint_id: str):
        # Only what can be an id goes into the API's path: `?`, `/` or a NUL there
        # asked the API something else, or was a 500.
        if not COMPLAINT_ID.fullmatch(complaint_id):
            return templates.TemplateResponse(request, "public_status.html", {
                "complaint_id": complaint_id, "status": None, "row": None, "new": None}, status_code=404)
        response = await call(request, "GET", f"/complaints/{complaint_id}")
        found = response.status_code == 200
        public = _public_row(desk, complaint_id)
        return templates.TemplateResponse(request, "public_status.html", {
            "complaint_id": complaint_id, "status": response.json() if found else None,
            "row": public[0] if public else None, "new": request.query_params.get("new")},
            status_code=200 if found else 404)

    @api.get("/operator")
    def operator(request: Request, uscc: str | None = None):
        from .. import listing as L

        disclosure, error = None, None
        try:
            disclosure = queries.operator(desk, uscc.strip()) if uscc and uscc.strip() else None
        except L.InvalidQuery:
            error = "这不是有效的统一社会信用代码（18 位，最后一位为校验码），请核对后重新输入。"
        peak = max([m["complaints"] for m in disclosure["by_month"]] or [1]) if disclosure else 1
        return templates.TemplateResponse(request, "public_operator.html",
                                          {"uscc": uscc or "", "d": disclosure, "peak": peak, "error": error},
                                          status_code=422 if error else 200)

    return api


def _public_row(desk, complaint_id: str) -> list[dict]:
    from .. import listing as L

    desk.refresh()
    rows = desk.tables.db.query("SELECT * FROM desk_complaints WHERE complaint_id = ?", (complaint_id,))
    return [L.public_item(r) for r in rows]

"""The staff pages: sign in, the inbox, a complaint, penalty cases,
referrals, statistics."""
from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services import auth
from services.casework import _key

from .. import listing as L
from .. import queries
from . import session
from .calls import call, problem
from .guard import same_origin
from .forms import BY_STATUS, CASE_ACTIONS, CASE_BY_STATUS, COMPLAINT_ACTIONS, body_of
from .render import cst, templates, zh

FILTERS = ("status", "respondent", "subject_area", "overdue", "received_from", "received_to", "worker", "agency",
           "open")


def _page(request: Request, name: str, who=None, status_code: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **context}, status_code=status_code)


def _signed_out(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={request.url.path}", status_code=303)


def router(desk) -> APIRouter:
    api = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(same_origin)])

    @api.get("/login")
    def login_page(request: Request, next: str = "/console"):
        return _page(request, "login.html", next=next)

    @api.post("/login")
    async def login(request: Request):
        form = await request.form()
        token, target = (form.get("token") or "").strip(), form.get("next") or "/console"
        try:
            auth.verify(token, _key())
        except auth.Unauthenticated as exc:
            return _page(request, "login.html", next=target, error=str(exc), status_code=401)
        response = RedirectResponse(target if target.startswith("/console") else "/console", status_code=303)
        # Secure behind TLS (nginx says so in X-Forwarded-Proto): never sent in the clear there.
        https = "https" in (request.url.scheme, request.headers.get("x-forwarded-proto", ""))
        response.set_cookie(session.COOKIE, token, httponly=True, samesite="strict", path="/", secure=https)
        return response

    @api.post("/logout")
    def logout():
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(session.COOKIE, path="/")
        return response

    @api.get("")
    def inbox(request: Request, cursor: str | None = None):
        return _listing(request, {"open": "true"}, "deadline", cursor, "inbox.html")

    @api.get("/complaints")
    def search(request: Request, cursor: str | None = None, sort: str | None = None):
        q = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
        return _listing(request, q, sort or "deadline", cursor, "complaints.html")

    def _listing(request, q, sort, cursor, template):
        try:
            who, _ = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        if who.role == "AGENCY_SYSTEM":
            return RedirectResponse("/console/referrals", status_code=303)
        try:
            page = queries.complaints(desk, who, q, sort, cursor, 50)
            error = None
        except L.InvalidQuery as exc:
            page, error = L.Page([], None, sort, 50), {"field": exc.field, "detail": str(exc)}
        return _page(request, template, who, page=page, q=q, sort=sort, error=error,
                     personal=session.may_see_personal(who))

    @api.get("/complaints/{complaint_id}")
    def complaint_page(request: Request, complaint_id: str):
        return _complaint(request, complaint_id)

    def _complaint(request, complaint_id, action=None, failure=None, values=None, status_code=200):
        try:
            who, _ = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        row, history = queries.complaint(desk, complaint_id)
        if row is None or not session.may_read(who, row["agency_id"], row["agency_line"]):
            return _page(request, "missing.html", who, what=f"投诉 {complaint_id}", status_code=404)
        personal = session.may_see_personal(who)
        received = next((f for f in history if f["type"] in ("ComplaintReceived", "ReportReceived",
                                                                 "ConsultationReceived")), {})
        # A consultation is answered at intake and a report goes to enforcement: no case work here.
        allowed = BY_STATUS.get(row["status"], ()) if row["kind"] == "COMPLAINT" else ()
        actions = [COMPLAINT_ACTIONS[a] for a in allowed] if session.may_act(who) else []
        item = L.complaint_item(row, personal, queries.today(desk))
        journal = desk.journal.of(complaint_id) if personal else []
        return _page(request, "complaint.html", who, row=item, history=history, received=received, journal=journal,
                     personal=personal, actions=actions, failed=action, failure=failure, values=values or {},
                     status_code=status_code)

    @api.post("/complaints/{complaint_id}/act/{name}")
    async def act(request: Request, complaint_id: str, name: str):
        return await _act(request, complaint_id, name, COMPLAINT_ACTIONS, _complaint,
                          f"/console/complaints/{complaint_id}")

    async def _act(request, key, name, actions, page, back):
        try:
            who, token = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        action = actions.get(name)
        if action is None:
            return page(request, key, status_code=404)
        form = dict(await request.form())
        body, errors = body_of(action, form)
        if errors:
            return page(request, key, name, {"status": 422, "detail": next(iter(errors.values())), "fields": errors},
                        form, status_code=422)
        response = await call(request, "POST", action.path.format(id=key), token, json=body)
        failure = problem(response)
        if failure:
            return page(request, key, name, failure, form, status_code=failure["status"])
        return RedirectResponse(f"{back}?done={name}", status_code=303)

    @api.get("/cases")
    def cases_page(request: Request, cursor: str | None = None, status: str | None = None):
        try:
            who, _ = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        q = {"status": status} if status else {}
        try:
            page = queries.cases(desk, who, q, "deadline", cursor, 50)
        except L.NotAllowed:
            return _page(request, "missing.html", who, what="处罚案件", status_code=403)
        return _page(request, "cases.html", who, page=page, q=q)

    @api.get("/cases/{case_id}")
    def case_page(request: Request, case_id: str):
        return _case(request, case_id)

    def _case(request, case_id, action=None, failure=None, values=None, status_code=200):
        try:
            who, _ = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        row, history = queries.case(desk, case_id)
        if row is None or not session.may_read(who, row["agency_id"], row["agency_line"]):
            return _page(request, "missing.html", who, what=f"案件 {case_id}", status_code=404)
        actions = [CASE_ACTIONS[a] for a in CASE_BY_STATUS.get(row["status"], ())
                   if a != "check-extension" or who.role == "SUPERVISOR"] if session.may_act(who) else []
        return _page(request, "case.html", who, row=row, history=history, actions=actions, failed=action,
                     failure=failure, values=values or {}, status_code=status_code,
                     personal=session.may_see_personal(who))

    @api.post("/cases/{case_id}/act/{name}")
    async def act_on_case(request: Request, case_id: str, name: str):
        return await _act(request, case_id, name, CASE_ACTIONS, _case, f"/console/cases/{case_id}")

    @api.get("/referrals")
    def referrals_page(request: Request):
        try:
            who, _ = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        inbox = queries.referrals(desk, who, {"to": who.agency_id}, limit=200) if who.role != "REGULATOR" else None
        sent = (queries.referrals(desk, who, {"from": who.agency_id}, limit=200)
                if who.role != "AGENCY_SYSTEM" else None)
        return _page(request, "referrals.html", who, inbox=inbox, sent=sent,
                     answered=request.query_params.get("done"))

    @api.post("/referrals/{complaint_id}/answer")
    async def answer_referral(request: Request, complaint_id: str):
        try:
            who, token = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        form = dict(await request.form())
        body = {"answer": form.get("answer")}
        if form.get("reason"):
            body["reason"] = form["reason"]
        response = await call(request, "POST", f"/complaints/{complaint_id}/referral/reply", token, json=body)
        failure = problem(response)
        if failure:
            inbox = queries.referrals(desk, who, {"to": who.agency_id}, limit=200)
            return _page(request, "referrals.html", who, inbox=inbox, sent=None, failure=failure,
                         failed=complaint_id, status_code=failure["status"])
        desk.note_answer(complaint_id, who.agency_id, form.get("answer"), form.get("reason"), who.person)
        return RedirectResponse(f"/console/referrals?done={complaint_id}", status_code=303)

    @api.get("/statistics")
    async def statistics(request: Request):
        try:
            who, token = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        params = {k: v for k, v in request.query_params.items() if k in ("from", "to", "area", "agency") and v}
        params["by"] = request.query_params.get("by") or "month"
        params.setdefault("agency", who.agency_id)  # its own area unless it names another
        if who.role not in ("SUPERVISOR", "REGULATOR"):
            return _page(request, "missing.html", who, what="统计(主管和监督机关可见)", status_code=403)
        response = await call(request, "GET", "/statistics", token, params=params)
        failure = problem(response)
        report = None if failure else response.json()
        if request.query_params.get("format") == "csv" and report:
            return _csv(report)
        peak = max([g["requests"] for g in report["groups"]] or [1]) if report else 1
        return _page(request, "statistics.html", who, report=report, failure=failure, params=params, peak=peak)

    @api.get("/export.csv")
    def export(request: Request):
        try:
            who, token = session.who(request)
        except session.SignedOut:
            return _signed_out(request)
        from ..api import to_csv

        q = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
        try:
            return to_csv(readable(queries.complaints(desk, who, q, "deadline", None, None)), "complaints")
        except L.InvalidQuery as exc:
            return Response(f"{exc.field}: {exc}", status_code=422, media_type="text/plain; charset=utf-8")

    return api


# The export a case worker opens in a spreadsheet: the columns in words, codes
# in Chinese, times in China time and money in yuan. (The API's `format=csv`
# keeps codes, UTC and fen, for programs.) Personal columns only where the
# listing has them: a regulator's has not.
EXPORT = (
    ("complaint_id", "编号", str), ("kind", "类别", zh), ("status", "状态", zh), ("channel", "渠道", zh),
    ("agency_id", "承办机关", str), ("subject_area", "事项", zh), ("respondent_name", "被投诉方", str),
    ("respondent_uscc", "统一社会信用代码", str), ("received_at", "登记时间", cst),
    ("decided_at", "决定时间", cst), ("decision_due", "受理期限", lambda v: cst(v, False)),
    ("decision_overdue", "受理决定逾期", lambda v: "是" if v else "否"),
    ("mediation_due", "调解期限", lambda v: cst(v, False)), ("deadline", "当前期限", str),
    ("overdue", "已逾期", lambda v: "是" if v else "否"), ("reason", "理由或依据", zh), ("outcome", "结果", zh),
    ("amount_recovered_fen", "挽回金额(元)", lambda v: "" if v is None else f"{int(v) / 100:.2f}"),
    ("workers", "调解员", lambda v: "、".join(v or ())), ("case_ids", "处罚案件", lambda v: "、".join(v or ())),
    ("consumer_name", "投诉人", str), ("consumer_phone", "投诉人电话", str),
)


def readable(page: L.Page) -> L.Page:
    present = set(page.items[0]) if page.items else set(page.columns)
    columns = [(key, title, say) for key, title, say in EXPORT if key in present]

    def cell(value, say) -> str:
        return "" if value is None and say is not zh else (say(value) or "")
    items = [{title: cell(item.get(key), say) for key, title, say in columns} for item in page.items]
    return dataclasses.replace(page, items=items, columns=tuple(title for _, title, _ in columns))


def _csv(report: dict) -> Response:
    from ..api import to_csv

    return to_csv(report["groups"] + [{**{k: "合计" for k in report["query"]["by"]}, **report["total"]}],
                  "statistics")

"""The actions a console page offers, as data: the route each one posts to,
its fields, and how a form's text becomes the JSON body the route takes.
The route itself validates: a refusal comes back naming the field, which the
page shows next to it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from services.routing.rulebook import TERMINATION_CODES

from ..vocabulary import zh


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, textarea, select, datetime, yuan, list, bool, confirm (a box to tick, not sent)
    options: tuple[tuple[str, str], ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    path: str
    fields: tuple[Field, ...] = field(default_factory=tuple)


PARTIES = (("CONSUMER", "消费者"), ("RESPONDENT", "被投诉方"))
PARTY_CODES = {name: code for code, name in PARTIES}  # typed as the label says
YES_NO = (("true", "同意"), ("false", "不同意"))
# Every rulebook's grounds: the route refuses one the complaint's rulebook lacks, naming it.
ENDINGS = tuple((code, zh(code)) for code in TERMINATION_CODES)
YES = (("", "否"), ("true", "是"))
VIOLATIONS = (("FALSE_ADVERTISING", "虚假宣传"), ("SUBSTANDARD_GOODS", "不合格商品"), ("EXPIRED_GOODS", "过期商品"),
              ("COUNTERFEIT", "假冒伪劣"), ("PRICE_FRAUD", "价格欺诈"), ("UNFAIR_TERMS", "不公平格式条款"),
              ("REFUSED_STATUTORY_RETURN", "拒不履行法定退货"), ("FOOD_SAFETY", "食品安全"),
              ("UNLICENSED_OPERATION", "无照经营"), ("OTHER", "其他"))

# A joint complaint's representatives withdraw or agree only with the consent of
# those they represent (Order 121 art. 12).
JOINT_CONSENT = Field("represented_consent", "共同投诉:同意的被代表投诉人(姓名,多人用逗号分隔)", "list", required=False)

COMPLAINT_ACTIONS = {a.name: a for a in (
    Action("consent", "记录调解意愿", "/complaints/{id}/mediation/consent",
           (Field("party", "当事人", "select", PARTIES), Field("agreed", "是否同意调解", "select", YES_NO))),
    Action("schedule", "安排调解", "/complaints/{id}/mediation/schedule",
           (Field("session_at", "调解时间", "datetime"), Field("place", "调解地点"),
            Field("mediators", "调解员(多人用逗号分隔)", "list"))),
    Action("recusal", "调解员回避", "/complaints/{id}/mediation/recusal",
           (Field("mediator", "回避的调解员"), Field("reason", "回避理由"))),
    Action("appraisal", "鉴定", "/complaints/{id}/mediation/appraisal",
           (Field("action", "操作", "select", (("START", "开始鉴定"), ("COMPLETE", "鉴定完成"))),
            Field("body", "鉴定机构", required=False),
            Field("payer", "鉴定费用承担", "select", (("", "—"), ("CLAIMANT", "申请方"), ("SHARED", "双方分担")),
                  required=False),
            Field("result", "鉴定结论", "textarea", required=False))),
    Action("agreement", "达成调解协议", "/complaints/{id}/mediation/agreement",
           (Field("form", "协议形式", "select", (("WRITTEN", "书面"), ("ORAL", "口头"))),
            Field("terms", "协议内容", "textarea"), Field("amount_recovered_fen", "为消费者挽回金额(元)", "yuan"),
            # An oral agreement stands only if both parties waived the document (Order 121 art. 24).
            Field("oral_consent", "口头协议:同意不制作调解书的当事人(消费者、被投诉方)", "list", required=False),
            Field("performed_at_once", "口头协议当场履行完毕(即时履行,第20号令、第121号令)", "select", YES,
                  required=False),
            JOINT_CONSENT)),
    Action("recusal-request", "当事人申请回避(第20号令、第121号令)", "/complaints/{id}/mediation/recusal/request",
           (Field("mediator", "申请回避的调解员"), Field("party", "申请人", "select", PARTIES),
            Field("reason", "申请理由"))),
    Action("recusal-decision", "决定回避申请", "/complaints/{id}/mediation/recusal/decision",
           (Field("granted", "决定", "select", (("true", "同意回避"), ("false", "驳回申请"))),)),
    Action("termination-notice", "已告知双方终止调解(第20号令、第121号令)", "/complaints/{id}/mediation/termination/notice"),
    Action("termination", "终止调解", "/complaints/{id}/mediation/termination",
           (Field("reason", "终止原因", "select", ENDINGS), Field("text", "说明", "textarea", required=False),
            JOINT_CONSENT)),
    Action("violation", "移交违法线索", "/complaints/{id}/violations",
           (Field("violation_type", "违法行为类型", "select", VIOLATIONS), Field("evidence", "证据与线索", "textarea"))),
    Action("escalation", "报请上级管辖", "/complaints/{id}/jurisdiction/escalation",
           (Field("confirmed", "确认报请上级市场监管部门决定管辖(决定前本局不再办理)", "confirm"),)),
    Action("dispute", "移交/管辖争议", "/complaints/{id}/jurisdiction/dispute",
           (Field("with_agency_id", "另一方市场监管部门(如 AMR-310104)"),)),
    Action("withdrawal", "投诉人撤回投诉", "/complaints/{id}/withdrawal",
           (JOINT_CONSENT, Field("confirmed", "投诉人已明确撤回投诉(撤回后投诉终结,不能恢复)", "confirm"))),
)}

CASE_ACTIONS = {a.name: a for a in (
    Action("investigation", "立案调查", "/cases/{id}/investigation"),
    Action("filing-declined", "不予立案", "/cases/{id}/filing-declined", (Field("reason", "理由", "textarea"),)),
    Action("decision", "作出处理决定", "/cases/{id}/decision",
           (Field("fine_fen", "罚款金额(元,不予处罚填 0)", "yuan"), Field("basis", "处罚依据或不予处罚的理由", "textarea"),
            Field("no_penalty", "不予行政处罚", "select", YES, required=False))),
    # The head approves (SAMR-20 art. 23, SAMR-121 art. 27): the route takes a SUPERVISOR's token only.
    Action("check-extension", "延长核查期限(经负责人批准)", "/cases/{id}/check-extension",
           (Field("approved_by", "批准的负责人"), Field("reason", "延长理由", "textarea"))),
    Action("closure", "结案", "/cases/{id}/closure", (Field("outcome", "结案情况", "textarea"),)),
)}

# Which actions each state of a complaint allows; the route still decides.
BY_STATUS = {
    "IN_MEDIATION": ("consent", "schedule", "recusal", "recusal-request", "recusal-decision", "appraisal", "agreement",
                     "termination", "violation", "escalation", "dispute", "withdrawal"),
    "ACCEPTED": ("violation", "escalation", "dispute", "withdrawal"),
    "RECEIVED": ("withdrawal",),
    "TRANSFERRED": ("violation", "escalation", "dispute", "withdrawal"),
    "AGREED": ("violation",),
    "TERMINATED": ("termination-notice", "violation"),
    # A violation may show on any complaint routing decided (README "Case work").
    "REJECTED": ("violation",),
    "REFERRED": ("violation",),
    "CLOSED": ("violation",),
}
CASE_BY_STATUS = {"LEAD": ("investigation", "filing-declined", "check-extension"),
                  "INVESTIGATING": ("decision", "closure"),
                  "DECIDED": ("closure",)}


def body_of(action: Action, form: dict) -> tuple[dict, dict]:
    """The JSON body from the form's text; errors the form itself can name
    (a sum of money that is not a number)."""
    body, errors = {}, {}
    for f in action.fields:
        value = (form.get(f.name) or "").strip()
        if not value and not f.required:
            continue
        if f.kind == "confirm":
            # Said here, never sent: an act that cannot be undone is ticked for first.
            if value != "on":
                errors[f.name] = "请先勾选确认"
        elif f.kind == "yuan":
            try:
                body[f.name] = int((Decimal(value) * 100).to_integral_value())
            except InvalidOperation:
                errors[f.name] = "请填写金额(元),如 2599 或 2599.50"
        elif f.kind == "list":
            # As typed on a Chinese keyboard too: 王五，赵六 or 王五、赵六 are two names.
            items = [v.strip() for v in re.split(r"[,，、;；]", value) if v.strip()]
            body[f.name] = [PARTY_CODES.get(v, v) for v in items] if f.name == "oral_consent" else items
        elif f.kind == "datetime":
            body[f.name] = (value + (":00" if len(value) == 16 else "") + "+08:00") if value else value
        elif f.name in ("agreed", "granted", "performed_at_once", "no_penalty"):
            body[f.name] = value == "true"
        else:
            body[f.name] = value
    return body, errors


# What a recorded request did, for the journal of who did what: the actions
# above by their routes, and the routes the console reaches otherwise.
_DONE = {
    **{a.path: a.label for a in (*COMPLAINT_ACTIONS.values(), *CASE_ACTIONS.values())},
    "/complaints/{id}/referral/reply": "答复移送", "/complaints/{id}/jurisdiction/escalation/decision": "决定报请的管辖",
    "/complaints/{id}/jurisdiction/takeover": "上级机关提级处理", "/complaints/{id}/jurisdiction/designation": "指定管辖",
}
_ROUTES = [(re.compile("^" + re.escape(path).replace(re.escape("{id}"), "[^/]+") + "$"), label)
           for path, label in _DONE.items()]


def done(method: str, path: str) -> str:
    """In words, what a request of the journal did; the request itself when no route here says."""
    if method == "POST":
        for route, label in _ROUTES:
            if route.match(path):
                return label
    return f"{method} {path}"

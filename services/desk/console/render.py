"""Jinja2 templates and the filters they share."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from ..listing import CST
from ..vocabulary import zh
from .forms import done

HERE = Path(__file__).parent
STATIC = HERE / "static"

EVENTS = {
    "ComplaintReceived": "收到投诉", "ReportReceived": "收到举报", "ConsultationReceived": "收到咨询",
    "ComplaintAccepted": "受理", "ComplaintRejected": "不予受理", "ComplaintReferred": "移送其他部门",
    "ComplaintTransferred": "转办", "DecisionOverdue": "受理决定逾期", "MediationOpened": "开始调解",
    "ConsentRecorded": "记录调解意愿", "MediationScheduled": "安排调解", "MediatorRecused": "调解员回避",
    "AppraisalStarted": "开始鉴定", "AppraisalCompleted": "鉴定完成", "MediationAgreed": "达成调解协议",
    "MediationTerminated": "终止调解", "ViolationFound": "发现违法线索", "PenaltyCaseOpened": "违法线索登记(待立案)",
    "CaseFilingDeclined": "不予立案", "InvestigationStarted": "立案调查", "PenaltyDecided": "作出行政处罚决定",
    "PenaltyCaseClosed": "结案", "PenaltyCaseComplaintLinked": "关联投诉", "ReferralAcknowledged": "移送已接收",
    "ReferralDeclined": "移送被退回", "ReferralAnswered": "受移送机关答复", "MediationDueRecomputed": "调解期限按节假日安排重新计算",
    "PenaltyCaseCheckExtended": "经负责人批准延长核查期限",
}


def cst(value, with_time: bool = True) -> str:
    if not value:
        return ""
    text = str(value)
    if len(text) == 10:
        return text
    moment = datetime.fromisoformat(text).astimezone(CST)
    return moment.strftime("%Y-%m-%d %H:%M") if with_time else moment.strftime("%Y-%m-%d")


def yuan(fen) -> str:
    if fen is None or fen == "":
        return ""
    return f"{int(fen) / 100:,.2f} 元"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(zh=zh, cst=cst, yuan=yuan, event=lambda t: EVENTS.get(t, t),
                             done=lambda entry: done(entry.get("method") or "", entry.get("path") or ""))

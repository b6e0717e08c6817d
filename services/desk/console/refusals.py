"""A refusal in the words a case worker reads.

The API says why a step is refused in English, for integrators; the console
says it in Chinese. Each rule that can refuse a step (a 409) or a field (a
422) has a line here: the shape of its English message and what the console
says instead, with the names, ids and dates the message carries. A message
with no line here is shown as the API gave it.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ..vocabulary import zh
from .render import cst

ACTIONS = {
    # mediation
    "record consent": "记录同意调解", "schedule a session": "安排调解", "recuse a mediator": "办理调解员回避",
    "request a recusal": "申请回避", "decide a recusal request": "决定回避申请", "start an appraisal": "开始鉴定",
    "complete an appraisal": "完成鉴定", "record an agreement": "记录调解协议", "terminate": "终止调解",
    # penalty cases
    "file the case": "立案", "decline filing": "决定不予立案", "start an investigation": "开始调查",
    "decide": "作出处罚决定", "close the case": "结案", "extend the check": "延长核查期限",
}

WHY = {
    "mediation has ended": "调解已结束",
    "mediation is suspended until the bureau decides the recusal request": "回避申请待本机关决定,调解中止",
    "only a lead not yet filed or declined can be filed": "只有尚未立案、也未决定不予立案的线索才能立案",
    "only a lead not yet filed can be declined": "只有尚未立案的线索才能决定不予立案",
    "the investigation has already begun": "调查已经开始",
    "a decision follows the investigation": "处罚决定在调查之后作出",
    "a case closes after its decision": "案件在作出处罚决定后才能结案",
    "only a lead not yet filed or declined is being checked": "只有尚未立案、也未决定不予立案的线索处于核查期",
    "the case is closed": "案件已结案",
    "filing was declined: the case has ended": "已决定不予立案,案件已结束",
}


def _action(text: str) -> str:
    return ACTIONS.get(text, text)


def _when(text: str) -> str:
    return cst(text) if re.fullmatch(r"\d{4}-\d\d-\d\d[T ][\d:.]+([+-]\d\d:\d\d|Z)?", text) else text


def _names(text: str) -> str:
    return "、".join(text.split(", "))


Say = Callable[..., str]

# (the English message's shape, what the console says): each group is passed on by name.
SAYINGS: tuple[tuple[re.Pattern, Say], ...] = tuple((re.compile(shape), say) for shape, say in (
    # Mediation and penalty cases
    (r"cannot withdraw: the complaint was not accepted \((?P<reason>\w+)\), so it has ended; "
     r"there is nothing to withdraw",
     lambda reason: f"投诉未予受理({zh(reason)}),已经结束,无可撤回"),
    (r"cannot link complaint (?P<complaint>\S+): the case has ended",
     lambda complaint: f"案件已结束,不能关联投诉 {complaint}"),
    (r"cannot (?P<action>.+?): the time limit passed at (?P<due>\S+)",
     lambda action, due: f"调解期限已于{_when(due)}届满,不能{_action(action)}"),
    (r"cannot (?P<action>.+?) before both parties agree to mediate",
     lambda action: f"双方都同意调解之前,不能{_action(action)}"),
    (r"cannot (?P<action>.+?): (?P<why>.+)",
     lambda action, why: f"{WHY.get(why, why)},不能{_action(action)}"),
    (r"(?P<party>CONSUMER|RESPONDENT) has already agreed to mediate",
     lambda party: f"{zh(party)}已经同意调解"),
    (r"a session cannot be held after the time limit \((?P<due>\S+)\)",
     lambda due: f"调解期限({_when(due)})届满之后不能安排调解"),
    (r"(?P<names>.+) stepped aside from this case",
     lambda names: f"{_names(names)}已在本案回避,不能再担任调解员"),
    (r"(?P<mediator>.+) is not on the panel \((?P<panel>.*)\)",
     lambda mediator, panel: f"{mediator}不在本案调解员之列(现为:{'无' if panel == 'empty' else _names(panel)})"),
    (r"a recusal request is already waiting for the bureau's decision", lambda: "已有一项回避申请等待本机关决定"),
    (r"no recusal request is waiting for a decision", lambda: "没有等待决定的回避申请"),
    (r"an appraisal is already in progress", lambda: "已有鉴定正在进行"),
    (r"no appraisal is in progress", lambda: "没有正在进行的鉴定"),
    (r"the time limit is paused while an appraisal is in progress",
     lambda: "鉴定期间调解期限暂停计算,不能以超过期限为由终止调解"),
    (r"the time limit runs until (?P<due>\S+)",
     lambda due: f"调解期限至{_when(due)}届满,届满前不能以超过期限为由终止调解"),
    (r"mediation has not been terminated", lambda: "调解尚未终止"),
    (r"the parties were already told", lambda: "已经告知双方当事人"),
    # Penalty cases
    (r"this lead has no check period to extend.*",
     lambda: "此线索没有可延长的核查期限:其立案期限按自然日计算(按工作日计算之前开立的线索)"),
    (r"the check period was already extended.*", lambda: "核查期限已经延长过,规定只允许延长一次"),
    (r"the check period ended at (?P<due>\S+?):.*",
     lambda due: f"核查期限已于{_when(due)}届满:延长须在届满前批准"),
    # Jurisdiction
    (r"no referral of complaint (?P<complaint>\S+) is waiting for (?P<agency>\S+)'s answer",
     lambda complaint, agency: f"投诉 {complaint} 没有等待 {agency} 答复的移送"),
    (r"complaint (?P<complaint>\S+) already waits for (?P<agency>\S+)'s decision",
     lambda complaint, agency: f"投诉 {complaint} 已在等待 {agency} 的决定"),
    (r"complaint (?P<complaint>\S+) has no request waiting for a superior's decision",
     lambda complaint: f"投诉 {complaint} 没有等待上级机关决定的请求"),
    (r"complaint (?P<complaint>\S+) has no jurisdiction dispute to decide",
     lambda complaint: f"投诉 {complaint} 没有待决定的管辖争议"),
    (r"complaint (?P<complaint>\S+) is already (?P<state>\S+)",
     lambda complaint, state: f"投诉 {complaint} 已经{zh(state)}"),
    (r"a dispute between (?P<one>\S+) and (?P<other>\S+) is already before (?P<superior>\S+)",
     lambda one, other, superior: f"{one} 与 {other} 之间的管辖争议已提请 {superior} 指定"),
    (r"(?P<agency>\S+) has no superior bureau in the directory", lambda agency: f"机构目录中没有 {agency} 的上级机关"),
    (r"(?P<agency>\S+) is not a bureau below (?P<superior>\S+)",
     lambda agency, superior: f"{agency} 不是 {superior} 的下级机关"),
    (r"(?P<upper>\S+) is not above (?P<lower>\S+)", lambda upper, lower: f"{upper} 不是 {lower} 的上级机关"),
    (r"(?P<agency>\S+) is not another bureau in the directory",
     lambda agency: f"{agency} 不是机构目录中的另一个市场监管部门"),
    (r"(?P<one>\S+) and (?P<other>\S+) have no common superior bureau",
     lambda one, other: f"{one} 与 {other} 没有共同的上级机关"),
    (r"(?P<agency>\S+) is not a party to the dispute nor the superior deciding it",
     lambda agency: f"{agency} 既不是争议一方,也不是指定管辖的上级机关"),
))

BINDING = {"an agreement": "调解协议", "a withdrawal": "撤回投诉", "a settlement": "自行和解"}


def _parties(text: str) -> str:
    return "、".join(zh(p) for p in text.split(", "))


# What the rules and the checks say of one field (a 422), as the form says it.
FIELD_SAYINGS: tuple[tuple[re.Pattern, Say], ...] = tuple((re.compile(shape), say) for shape, say in (
    # Joint complaints and oral agreements
    (r"(?P<action>an agreement|a withdrawal|a settlement) by the representatives of a joint complaint binds the "
     r"consumers they represent only with their consent; missing (?P<names>.+)",
     lambda action, names: f"共同投诉的代表人{BINDING[action]}须经被代表的投诉人同意,尚缺:{_names(names)}"),
    (r"(?P<unknown>.+?) is not a represented consumer of this complaint \((?P<needed>.*)\)",
     lambda unknown, needed: f"{_names(unknown)}不是本投诉被代表的投诉人(被代表的投诉人:"
                             f"{'无' if needed == 'it has none' else _names(needed)})"),
    (r"represented_consent must be a list.*", lambda: "请填写被代表的投诉人姓名"),
    (r"an ORAL agreement needs both parties' consent to do without a mediation document; missing (?P<parties>.+)",
     lambda parties: f"口头协议不制作调解书,须双方当事人同意,尚缺:{_parties(parties)}"),
    (r"oral_consent is for an ORAL agreement.*", lambda: "只有口头协议填写此项;书面协议由双方在调解书上签字"),
    (r"(?P<unknown>.+?) is not a party \(CONSUMER, RESPONDENT\)", lambda unknown: f"{unknown}不是当事人"),
    (r"oral_consent must be a list.*", lambda: "请选择同意不制作调解书的当事人"),
    (r"performed_at_once is for an ORAL agreement.*", lambda: "只有口头协议可以即时履行"),
    (r"under (?P<book>\S+) an agreement without a document needs both parties' consent.*",
     lambda book: f"{book} 下不制作调解书须双方当事人同意;只有第20号令、第121号令允许即时履行的协议不制作调解书"),
    (r"performed_at_once must be true or false", lambda: "请选择是否即时履行"),
    # Steps and their times
    (r"a session is scheduled ahead: session_at is before the scheduling \(at\)", lambda: "调解时间不能早于安排的时间"),
    (r"a mediator cannot step aside before joining the panel", lambda: "调解员加入本案之前不能回避"),
    (r"a recusal request cannot be decided before it was made", lambda: "回避申请提出之前不能作出决定"),
    (r"under (?P<book>\S+) the parties agree on the appraisal body.*",
     lambda book: f"{book} 下鉴定机构由双方协商确定;只有第121号令(第二十二条)允许由本机关指定"),
    (r"an appraisal cannot start before the previous one finished", lambda: "上一次鉴定结束之前不能开始新的鉴定"),
    (r"an appraisal cannot finish before it started", lambda: "鉴定完成时间不能早于开始时间"),
    (r"termination for OTHER reasons needs a text saying which", lambda: "以其他理由终止调解,须写明理由"),
    (r"the parties cannot be told before the termination", lambda: "告知时间不能早于终止调解的时间"),
    (r"at is before the complaint was accepted", lambda: "办理时间不能早于受理时间"),
    (r"at is before the complaint was received.*", lambda: "时间不能早于收到投诉的时间"),
    (r"at is before the lead was received", lambda: "办理时间不能早于收到线索的时间"),
    (r"at is before the case's previous step \((?P<when>\S+)\)",
     lambda when: f"办理时间不能早于案件上一步骤的时间({_when(when)})"),
    (r"a decision of no penalty cannot carry a fine", lambda: "不予处罚的决定不能有罚款"),
    (r"a reason is required when the answer is DECLINED", lambda: "退回移送须说明理由"),
    (r"DESIGNATE needs the bureau below.*", lambda: "指定管辖须选择承办的下级机关"),
    # What any field may be told
    (r"\S+ must be a non-empty list of names", lambda: "请至少填写一个姓名"),
    (r"\S+ names someone twice", lambda: "有姓名重复"),
    (r"\S+ must be a non-empty string", lambda: "必填"),
    (r"\S+ must be a whole number of fen, zero or more", lambda: "请填写 0 或更大的整数(单位:分)"),
    (r"\S+ must be one of .*", lambda: "请从选项中选择"),
    (r"\S+ must carry a time zone|\S+ must be a datetime.*|not an instant.*", lambda: "请填写日期和时间"),
    (r"\S+ must be true or false", lambda: "请选择是或否"),
    # The checks of a request as intake takes it (the public form)
    (r"not a mainland China phone number.*", lambda: "不是有效的中国大陆电话号码(手机号为11位数字,固定电话请加区号)"),
    (r"not a valid unified social credit code.*", lambda: "统一社会信用代码无效(18位,校验位不符)"),
    (r"not a valid resident identity number.*", lambda: "居民身份证号码无效(18位,校验位不符)"),
    (r"not a mainland division code.*", lambda: "不是有效的行政区划代码(6位数字,如310115)"),
    (r"not an agency id.*", lambda: "不是有效的机关代码(如 AMR-310115)"),
    (r"not a date.*", lambda: "请填写日期"),
))

_FIELD_PREFIX = re.compile(r"^[a-z_][a-z_.0-9]*: ")


# A case's refusal names its state at the end; the console shows the state first.
_STATE_SUFFIX = re.compile(r" \(the (penalty|mediation) case is [A-Z_]+\)$")


def _said(message: str | None, sayings, noise: re.Pattern) -> str | None:
    if not message:
        return message
    bare = noise.sub("", message)
    for shape, say in sayings:
        if said := shape.fullmatch(bare):
            return say(**said.groupdict())
    return message


def field_chinese(message: str | None) -> str | None:
    """What a rule or a check says of one field, in Chinese; as given when no line here says it."""
    return _said(message, FIELD_SAYINGS, _FIELD_PREFIX)


def chinese(message: str | None) -> str | None:
    """The refusal in Chinese, or the message as given when no rule here says it."""
    return _said(message, SAYINGS, _STATE_SUFFIX)

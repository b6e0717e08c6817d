"""The enums a desk filter takes, from the public contract; and their Chinese
names for the console."""
from __future__ import annotations

KINDS = ("COMPLAINT", "REPORT", "CONSULTATION")
CHANNELS = ("HOTLINE_12315", "WEB", "APP", "LETTER", "VISIT", "SMS", "TRANSFER")
SUBJECT_AREAS = ("GOODS_QUALITY", "SERVICE_CONTRACT", "FOOD", "PRICE", "ADVERTISING", "OTHER_MARKET",
                 "ENVIRONMENT", "MEDICAL", "EDUCATION", "TRANSPORT", "HOUSING", "TOURISM", "TELECOM", "FINANCE",
                 "POSTAL")
# A penalty case's status as enforcement names it (GET /cases/{id}); OPENED is
# what the desk called a lead before, still taken in a filter (links of then).
CASE_STATUSES = ("LEAD", "INVESTIGATING", "DECIDED", "CLOSED", "DECLINED")
CASE_STATUS_ALIASES = {"OPENED": "LEAD"}
REFERRAL_STATUSES = ("ISSUED", "ACKNOWLEDGED", "DECLINED")

CHINESE = {
    "COMPLAINT": "投诉", "REPORT": "举报", "CONSULTATION": "咨询",
    "RECEIVED": "已登记", "ACCEPTED": "已受理", "REJECTED": "不予受理", "REFERRED": "已移送", "TRANSFERRED": "已转办",
    "IN_MEDIATION": "调解中", "AGREED": "调解成功", "TERMINATED": "终止调解", "CLOSED": "已办结",
    "LEAD": "待立案", "INVESTIGATING": "调查中", "DECIDED": "已作出处罚决定", "DECLINED": "不予立案/已退回",
    "ISSUED": "待答复", "ACKNOWLEDGED": "已接收",
    # A mediation case's and a penalty case's own states (a refusal's current_state).
    "AWAITING_CONSENT": "待双方同意调解", "OPEN": "调解中", "SCHEDULED": "已安排调解", "IN_APPRAISAL": "鉴定中",
    "SUSPENDED": "调解中止(回避申请待决定)", "FILED": "已立案",
    "GOODS_QUALITY": "商品质量", "SERVICE_CONTRACT": "服务合同", "FOOD": "食品", "PRICE": "价格",
    "ADVERTISING": "广告", "OTHER_MARKET": "其他市场监管事项", "ENVIRONMENT": "生态环境", "MEDICAL": "医疗卫生",
    "EDUCATION": "教育", "TRANSPORT": "交通运输", "HOUSING": "住房", "TOURISM": "文化旅游", "TELECOM": "电信",
    "FINANCE": "金融", "POSTAL": "邮政",
    "HOTLINE_12315": "12315热线", "WEB": "网站", "APP": "手机应用", "LETTER": "信函", "VISIT": "来访", "SMS": "短信",
    "TRANSFER": "转办",
    "CONSUMER": "消费者", "RESPONDENT": "被投诉方", "WRITTEN": "书面", "ORAL": "口头",
    "OPERATOR_LOCATION": "经营者住所地管辖", "ACTIVITY_LOCATION": "经营行为发生地管辖",
    "PLATFORM_LOCATION": "平台住所地管辖", "CONSUMER_CHOICE": "消费者选择", "FIRST_RECEIVED": "最先收到投诉",
    "REFUND": "退款", "EXCHANGE": "换货", "REPAIR": "修理", "COMPENSATION": "赔偿", "APOLOGY": "赔礼道歉",
    "WITHDRAWN": "投诉人撤回", "PARTY_REFUSED": "一方拒绝调解", "PARTY_ABSENT": "一方无正当理由不参加",
    "LITIGATION_OR_ARBITRATION": "已诉讼或仲裁", "SELF_SETTLED": "双方自行和解", "TIME_LIMIT_EXCEEDED": "超过调解期限",
    "FALSE_ADVERTISING": "虚假宣传", "SUBSTANDARD_GOODS": "不合格商品", "EXPIRED_GOODS": "过期商品",
    "COUNTERFEIT": "假冒伪劣", "PRICE_FRAUD": "价格欺诈", "UNFAIR_TERMS": "不公平格式条款",
    "REFUSED_STATUTORY_RETURN": "拒不履行法定退货", "FOOD_SAFETY": "食品安全", "UNLICENSED_OPERATION": "无照经营",
    "PATTERN": "多起投诉",
    # Why a complaint was not accepted (DOMAIN.md's reason codes).
    "OUT_OF_REMIT": "不属于市场监管部门职责", "SHELF_LIFE_EXPIRED": "商品已过保质期",
    "ALREADY_MEDIATED": "已由市场监管部门调解", "OTHER_MEDIATOR": "消费者协会或人民调解组织已调解或正在处理",
    "COURT_ARBITRATION_OR_AGENCY": "法院、仲裁机构或其他行政机关已受理或处理", "OVER_ONE_YEAR": "知道权益受损超过一年",
    "OVER_THREE_YEARS": "知道权益受损超过三年", "UNPROVABLE": "无法证实权益受到损害", "NOT_CONSUMPTION": "非生活消费",
    "NO_CLEAR_RESPONDENT": "无明确被投诉人", "NO_SPECIFIC_REQUEST": "无具体投诉请求", "NO_FACTS": "无事实理由",
    "OTHER_UNLAWFUL": "其他不符合法律法规规章的情形", "NOT_COMPETENT": "本机关不具有处理权限",
    "PRIOR_HANDLING": "同一争议已被受理或处理过", "FALSE_MATERIALS": "提供虚假材料",
    "IMPERSONATION": "冒用他人名义", "IDENTITY_NOT_VERIFIED": "拒不配合核验真实身份",
    "GROUND_FOUND_AFTER_ACCEPTANCE": "受理后发现不应受理的情形", "NO_AGREEMENT_POSSIBLE": "明确表示无法达成调解协议",
    "APPRAISAL_DISAGREEMENT": "对鉴定机构或费用无法协商一致", "PARTY_DECEASED_OR_DISSOLVED": "当事人死亡或主体资格灭失",
    "OTHER": "其他",
    # How a report's life ended: with its penalty case.
    "CASE_CLOSED": "案件已办结", "FILING_DECLINED": "不予立案", "REPEAT_REPORT": "重复举报,不再另行处理",
    # Why a complaint moved between bureaus, besides a basis of competence.
    "TAKEN_OVER": "上级机关决定自行处理", "ESCALATED": "报请上级机关处理",
    "CASE_WORKER": "承办人", "SUPERVISOR": "主管", "REGULATOR": "监督机关", "AGENCY_SYSTEM": "机构系统",
}


def zh(code) -> str:
    if isinstance(code, (list, tuple)):
        return "、".join(zh(c) for c in code)
    return CHINESE.get(code, code) if code else ""

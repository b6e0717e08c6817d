"""Routing's rules: who handles a complaint, whether it is accepted, where it goes.

Pure functions of a ComplaintReceived record (a dict shaped like the Avro
record), the directory and the rulebook. A well-formed complaint that lacks
something yields a decision, never an exception.

Jurisdiction (Order No. 62, arts. 6-9)
--------------------------------------
Competent: the county-level AMR of the operator's location (respondent.adcode)
and of the place of the business act (transaction.place_adcode); for an online
purchase, of the operator's location and of the third-party platform's location
(transaction.platform.adcode); an online order's delivery place is the
consumer's, not the act's. Among the competent bureaus, in order:

1. the consumer's choice (preferred_agency_id), if competent: CONSUMER_CHOICE;
   a choice that is not competent is not honoured; under Orders 20 (art. 13)
   and 121 (art. 14) a competent receiving bureau keeps it (step 2) instead;
2. else the receiving bureau, if competent: FIRST_RECEIVED (首办责任);
3. else a transfer (transfer_from = the receiving bureau) to the operator's
   location, failing that the act's or the platform's, with that basis.

A city or provincial AMR that receives a complaint is not competent by itself
(competence is the county's, art. 6), so it passes the complaint down to the
competent county bureau, recorded as a transfer. Taking a complaint over (art. 8)
is a superior's deliberate act, not routing's default: see `escalate`.

When no division code resolves to a county, agency_id is None with basis
FIRST_RECEIVED: the receiving bureau holds the complaint, marked as needing
placement (`needs_placement` on ComplaintAccepted and in the status) until a
person finds out where the operator is and moves it (takeover, dispute,
designation). An address that did not parse is not a missing respondent.

Acceptance (Order No. 62 arts. 2, 11, 16; the other rulebooks' own articles,
see rulebook.py), checked in the rulebook's order; a complaint failing two
conditions has the first as its reason and is told every one (`refusals`):

1. NOT_CONSUMPTION (art. 2): whether the procedure applies at all. Only a
   purpose stated as BUSINESS fails; UNKNOWN gets the benefit of the doubt.
2. OUT_OF_REMIT (art. 16(1), art. 10): whether the matter is market
   regulation's. Such a complaint is referred whole: its completeness is for the
   competent agency to judge, and referring at once spares the consumer a round
   trip to fix details that agency may not need (便于消费者投诉). Its
   explanation, naming where to turn, is for when no agency can be found to
   refer it to (art. 10).
3. NO_CLEAR_RESPONDENT, NO_SPECIFIC_REQUEST, NO_FACTS (art. 11): what every
   complaint must have; the grounds below cannot be judged without them, and the
   complainant can cure them and complain again at once.
4. SHELF_LIFE_EXPIRED, ALREADY_MEDIATED, OTHER_MEDIATOR,
   COURT_ARBITRATION_OR_AGENCY, OVER_ONE_YEAR, UNPROVABLE, OTHER_UNLAWFUL:
   art. 16(2)-(7) in the order the article lists them, the residual ground last.

How the grounds read the record:
- a clear respondent: a name, and something to find it by: address, credit code,
  division code, or the platform it sold through (a platform must disclose its
  sellers, Consumer Rights Protection Law art. 44);
- facts: at least one letter, digit or character, not punctuation alone;
- SHELF_LIFE_EXPIRED: the expiry date passed before the consumer became aware of
  the problem (or, with no aware date, before receipt), but not before the
  purchase: goods sold already expired leave the seller liable;
- prior handling: any entry of the body counts, in progress or concluded;
- OVER_ONE_YEAR: receipt (China date) later than the aware date plus one year;
  exactly one year is not over; 29 February plus a year is 28 February (Civil
  Code art. 202); no aware date, no finding;
- UNPROVABLE: has_evidence explicitly false, unless the purchase was made
  through a platform, whose order record proves it (E-Commerce Law art. 31);
- OTHER_UNLAWFUL: an agent without a power of attorney, without an identity
  document, or with a power of attorney whose term ended before the day of
  receipt (art. 13), or no consumer name or no way to reach the consumer (art. 12).

Grounds of Orders 20 and 121 only:
- NOT_COMPETENT (20: 15(1), 121: 16(1)): a county bureau that is not competent
  does not transfer; checked right after OUT_OF_REMIT, as both are item (1);
- PRIOR_HANDLING: one ground for every earlier handler the order lists
  (Order 121 drops other mediation bodies, so people's mediation no longer bars);
- OVER_THREE_YEARS: the awareness limit of three years, counted as above;
- FALSE_MATERIALS, IMPERSONATION, IDENTITY_NOT_VERIFIED (121: 16(5), 16(6)):
  staff findings recorded at intake (`false_materials`, `identity_verification`
  IMPERSONATION or REFUSED); absent, no finding.
The awareness limit's last day, like every period, moves past rest days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.agencies.directory import KIND_OF_AREA, REMITS, Directory
from services.agencies.ids import adcode_of
from services.contract.operators import normalise_name, person_key

from . import calendar
from .calendar import china_date
from .rulebook import DAYS, Period, Rulebook

OPERATOR_LOCATION, ACTIVITY_LOCATION, PLATFORM_LOCATION = "OPERATOR_LOCATION", "ACTIVITY_LOCATION", "PLATFORM_LOCATION"
CONSUMER_CHOICE, FIRST_RECEIVED = "CONSUMER_CHOICE", "FIRST_RECEIVED"


@dataclass(frozen=True)
class Jurisdiction:
    agency_id: str | None
    basis: str
    transfer_from: str | None = None


@dataclass(frozen=True)
class Rejection:
    reason: str
    explanation: str


# Jurisdiction -----------------------------------------------------------------

def competent_bureaus(complaint: dict, directory: Directory, rulebook: Rulebook | None = None) -> dict[str, str]:
    """Competent county bureaus and the basis of each, the operator's location first.
    Under Order No. 121 (art. 13) a merchant on a platform that did not list its
    address there (seller_address_listed false) is placed at the platform only."""
    respondent = complaint.get("respondent") or {}
    transaction = complaint.get("transaction") or {}
    operator = (respondent.get("adcode"), OPERATOR_LOCATION)
    if transaction.get("online"):
        platform = transaction.get("platform") or {}
        other = (platform.get("adcode"), PLATFORM_LOCATION)
        if (rulebook is not None and rulebook.unlisted_merchant_goes_to_platform
                and platform.get("seller_address_listed") is False and platform.get("adcode")):
            operator = (None, OPERATOR_LOCATION)
    else:
        other = (transaction.get("place_adcode"), ACTIVITY_LOCATION)
    competent: dict[str, str] = {}
    for adcode, basis in (operator, other):
        bureau = directory.county_amr(adcode)
        if bureau and bureau not in competent:
            competent[bureau] = basis
    return competent


def transfer_target(complaint: dict, directory: Directory, rulebook: Rulebook | None = None) -> str | None:
    """Where a bureau that is not competent sends the complaint."""
    competent = competent_bureaus(complaint, directory, rulebook)
    chosen = complaint.get("preferred_agency_id")
    return chosen if chosen in competent else next(iter(competent), None)


def jurisdiction(complaint: dict, directory: Directory, rulebook: Rulebook | None = None) -> Jurisdiction:
    competent = competent_bureaus(complaint, directory, rulebook)
    receiving = complaint.get("receiving_agency_id") or None
    if not competent:
        return Jurisdiction(None, FIRST_RECEIVED)
    chosen = complaint.get("preferred_agency_id")
    if (receiving in competent and chosen != receiving and rulebook is not None
            and rulebook.first_received_over_choice):
        return Jurisdiction(receiving, FIRST_RECEIVED)
    if chosen in competent:
        return Jurisdiction(chosen, CONSUMER_CHOICE, receiving if receiving != chosen else None)
    if receiving in competent:
        return Jurisdiction(receiving, FIRST_RECEIVED)
    target = transfer_target(complaint, directory, rulebook)
    return Jurisdiction(target, competent[target], receiving)


def lacks_competence(complaint: dict, directory: Directory, rulebook: Rulebook) -> str | None:
    """Under Orders 20 and 121 (art. 15(1) / 16(1)) a county bureau that received a
    complaint it is not competent for does not pass it on: it does not accept
    it and names the competent bureau. A city or provincial bureau receiving
    for its area (统一接收投诉举报的工作机构, art. 37 / 41) distributes it
    instead, which routing records as a transfer. The competent bureau's id, or
    None when the rule does not apply."""
    if rulebook.transfers_without_competence:
        return None
    receiving = complaint.get("receiving_agency_id") or None
    competent = competent_bureaus(complaint, directory, rulebook)
    if not receiving or not competent or receiving in competent:
        return None
    if not directory.exists(receiving) or not directory.is_county(adcode_of(receiving)):
        return None
    return transfer_target(complaint, directory, rulebook)


def escalate(agency_id: str, directory: Directory) -> str | None:
    """The superior a bureau refers a complaint up to, or that may take it over (art. 8)."""
    return directory.parent(agency_id)


def resolve_dispute(agency_a: str, agency_b: str, directory: Directory) -> str | None:
    """Who designates the handler when two bureaus dispute jurisdiction (art. 9;
    Order 20 art. 30; Order 121 art. 33): their common superior at whatever
    level, the national administration for bureaus of two provinces."""
    return directory.common_superior(agency_a, agency_b)


def referral_target(subject_area: str, adcode: str | None, directory: Directory) -> str | None:
    """The agency a matter outside market regulation goes to; None if the place
    does not resolve to one (a county kind needs a county-level code)."""
    if subject_area in REMITS["AMR"]:
        raise ValueError(f"{subject_area} stays with market regulation; there is nothing to refer")
    return directory.competent_agency(subject_area, adcode)


# Acceptance -------------------------------------------------------------------

def acceptance(complaint: dict, received_at: datetime, rulebook: Rulebook,
               competent_elsewhere: str | None = None) -> Rejection | None:
    """None when the complaint is accepted; else the first ground that applies.
    `competent_elsewhere`: the competent bureau, when the receiving one lacks
    competence and the rulebook has it refuse (see `lacks_competence`)."""
    return next(iter(refusals(complaint, received_at, rulebook, competent_elsewhere)), None)


def refusals(complaint: dict, received_at: datetime, rulebook: Rulebook,
             competent_elsewhere: str | None = None, accepted_before: dict | None = None) -> list[Rejection]:
    """Every ground that applies, in the rulebook's order: the first is the
    reason, the rest are told too (a consumer who cures one learns of the others).
    `accepted_before`: the complaint of the same dispute a bureau accepted
    earlier ({complaint_id, agency_id, accepted_at}; see `dispute_key`)."""
    received_on = china_date(received_at)
    found = []
    for reason in rulebook.acceptance_checks:
        if reason == "NOT_COMPETENT":
            finding = _not_competent(complaint, competent_elsewhere)
        else:
            finding = _CHECKS[reason](complaint, received_on, rulebook)
        if finding is None and reason == "PRIOR_HANDLING" and accepted_before and rulebook.bars_dispute_accepted_before:
            finding = (f"{accepted_before['agency_id']}已于{_day(china_date(accepted_before['accepted_at']))}受理您就同一"
                       f"争议提出的投诉（{accepted_before['complaint_id']}），不再重复受理。")
        if finding is not None:
            found.append(Rejection(reason, _explanation(reason, finding, rulebook)))
    return found


def dispute_key(c: dict) -> str | None:
    """What makes two complaints one consumer's dispute (同一消费者权益争议):
    the same consumer (identity number, else phone), the same operator
    (credit code, else its name as normalised for counting), the same
    purchase (its date and amount) and subject. None when the consumer or the
    operator cannot be told apart: no match is made on a guess."""
    consumer, respondent = c.get("consumer") or {}, c.get("respondent") or {}
    transaction = c.get("transaction") or {}
    who = person_key(consumer)
    try:
        operator = _text(respondent.get("uscc")).upper() or normalise_name(respondent.get("name"))
    except ValueError:
        operator = ""
    if not who or not operator or transaction.get("amount_fen") is None:
        return None  # without the amount two purchases of one day could not be told apart
    return "|".join((who, operator, str(transaction.get("date") or ""), str(transaction.get("amount_fen") or ""),
                     c.get("subject_area") or ""))


def _not_competent(c: dict, competent_elsewhere: str | None) -> str | None:
    if competent_elsewhere is None:
        return None
    return (f"收到投诉的{c.get('receiving_agency_id')}对您的投诉不具有处理权限，"
            f"有处理权限的是{competent_elsewhere}，请直接向其投诉。")


def _not_consumption(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    if c.get("purpose") == "BUSINESS":
        return "您购买商品或者接受服务是为了生产经营，不是为了生活消费。"
    return None


_REFERRED = {"ENVIRONMENT": ("环境污染", "生态环境部门"), "MEDICAL": ("医疗服务", "卫生健康部门"),
             "EDUCATION": ("教育", "教育行政部门"), "TRANSPORT": ("交通运输", "交通运输部门"),
             "HOUSING": ("房屋", "住房和城乡建设部门"), "TOURISM": ("旅游", "文化和旅游部门"),
             "TELECOM": ("电信服务", "通信管理部门"), "FINANCE": ("金融服务", "金融监督管理部门"),
             "POSTAL": ("邮政快递", "邮政管理部门")}


def _out_of_remit(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    area = c.get("subject_area")
    if area in KIND_OF_AREA and area not in REMITS["AMR"]:
        matter, body = _REFERRED[area]
        return f"您反映的是{matter}方面的问题，由{body}负责处理。"
    return None


def _no_clear_respondent(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    respondent = c.get("respondent") or {}
    platform = (c.get("transaction") or {}).get("platform") or {}
    if not _text(respondent.get("name")):
        return "您的投诉没有写明被投诉经营者的名称。"
    if not any(_text(v) for v in (respondent.get("address"), respondent.get("uscc"), respondent.get("adcode"),
                                   platform.get("name"))):
        return "您的投诉没有写明被投诉人的地址、统一社会信用代码或者交易平台，无法确定被投诉人。"
    return None


def _no_specific_request(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    return None if c.get("demands") else "您的投诉没有提出具体请求（如退货、更换、修理、赔偿、赔礼道歉）。"


def _no_facts(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    if any(ch.isalnum() for ch in _text(c.get("facts"))):
        return None
    return "您的投诉没有说明事实和理由。"


def _shelf_life_expired(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    expiry = _as_date(c.get("goods_expiry_date"))
    if expiry is None:
        return None
    noticed = _as_date(c.get("aware_date")) or received_on
    bought = _as_date((c.get("transaction") or {}).get("date"))
    if expiry >= noticed or (bought is not None and expiry < bought):
        return None
    return f"商品的保质期到{_day(expiry)}为止，您发现问题时（{_day(noticed)}）商品已超过保质期。"


_PRIOR_BODIES = {"AMR_MEDIATION": "市场监督管理部门", "CONSUMER_ASSOCIATION": "消费者协会",
                 "PEOPLES_MEDIATION": "人民调解组织", "COURT": "人民法院", "ARBITRATION": "仲裁机构",
                 "OTHER_AGENCY": "其他行政机关"}


def _handled_by(*bodies: str):
    def check(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
        for entry in c.get("prior_handling") or ():
            entry = entry or {}
            if entry.get("body") in bodies:
                doing = "正在处理" if entry.get("status") == "IN_PROGRESS" else "已经处理"
                return f"{_PRIOR_BODIES[entry['body']]}{doing}您反映的这一争议。"
        return None
    return check


def _over_limit(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    aware = _as_date(c.get("aware_date"))
    years = rulebook.awareness_limit_years
    if aware is None or received_on <= awareness_limit_end(aware, years):
        return None
    return (f"您知道或者应该知道权益受到侵害是在{_day(aware)}，"
            f"到本机关收到投诉的{_day(received_on)}已超过{'零一二三四五六七八九十'[years]}年。")


def _prior_handling(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    return _handled_by(*rulebook.prior_handling_bodies)(c, received_on, rulebook)


def _false_materials(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    return "经核查，您提供的投诉材料不真实。" if c.get("false_materials") is True else None


def _impersonation(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    if c.get("identity_verification") == "IMPERSONATION":
        return "经核验，投诉系冒用他人名义提出。"
    return None


def _identity_not_verified(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    if c.get("identity_verification") == "REFUSED":
        return "您拒不配合核验真实身份信息。"
    return None


def _unprovable(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    transaction = c.get("transaction") or {}
    through_platform = transaction.get("online") and _text((transaction.get("platform") or {}).get("name"))
    if c.get("has_evidence") is False and not through_platform:
        return "您表示没有能够证明交易或者权益受到侵害的材料（如发票、收据、合同、聊天记录、照片）。"
    return None


def _other_unlawful(c: dict, received_on: date, rulebook: Rulebook) -> str | None:
    agent = c.get("agent")
    if agent and not _text(agent.get("power_of_attorney_ref")):
        return "您委托他人代为投诉，但没有提交由您本人签名的授权委托书。"
    if agent and not _text(agent.get("id_number")):
        return "您委托他人代为投诉，但没有提交受托人的身份证明。"
    expires = _as_date((agent or {}).get("power_of_attorney_expires"))
    if expires is not None and expires < received_on:
        # An expired power of attorney is no power of attorney.
        return f"您提交的授权委托书期限已于{_day(expires)}届满，视为未提交授权委托书。"
    consumer = c.get("consumer") or {}
    if not _text(consumer.get("name")) or not (_text(consumer.get("phone")) or _text(consumer.get("address"))):
        return "投诉没有写明消费者的姓名和联系方式，无法告知处理结果。"
    return None


_CHECKS = {
    "NOT_CONSUMPTION": _not_consumption, "OUT_OF_REMIT": _out_of_remit,
    "NO_CLEAR_RESPONDENT": _no_clear_respondent, "NO_SPECIFIC_REQUEST": _no_specific_request,
    "NO_FACTS": _no_facts, "SHELF_LIFE_EXPIRED": _shelf_life_expired,
    "ALREADY_MEDIATED": _handled_by("AMR_MEDIATION"),
    "OTHER_MEDIATOR": _handled_by("CONSUMER_ASSOCIATION", "PEOPLES_MEDIATION"),
    "COURT_ARBITRATION_OR_AGENCY": _handled_by("COURT", "ARBITRATION", "OTHER_AGENCY"),
    "OVER_ONE_YEAR": _over_limit, "UNPROVABLE": _unprovable, "OTHER_UNLAWFUL": _other_unlawful,
    "OVER_THREE_YEARS": _over_limit, "PRIOR_HANDLING": _prior_handling, "FALSE_MATERIALS": _false_materials,
    "IMPERSONATION": _impersonation, "IDENTITY_NOT_VERIFIED": _identity_not_verified,
}

_CURE = "请补充后重新投诉。"
_OTHER_ROUTES = "您可以与经营者协商，或者依法申请仲裁、向人民法院起诉。"
_NEXT_STEP = {
    "NOT_CONSUMPTION": _OTHER_ROUTES, "OUT_OF_REMIT": "请向上述部门反映。",
    "NO_CLEAR_RESPONDENT": _CURE, "NO_SPECIFIC_REQUEST": _CURE, "NO_FACTS": _CURE,
    "SHELF_LIFE_EXPIRED": _OTHER_ROUTES, "ALREADY_MEDIATED": _OTHER_ROUTES,
    "OTHER_MEDIATOR": "该组织调解不成的，您可以依法申请仲裁或者向人民法院起诉。",
    "COURT_ARBITRATION_OR_AGENCY": "请依照该机关的程序继续办理。",
    "OVER_ONE_YEAR": _OTHER_ROUTES, "UNPROVABLE": "取得相关证明材料后，您可以重新投诉。",
    "OTHER_UNLAWFUL": _CURE, "NOT_COMPETENT": "", "PRIOR_HANDLING": "请依照该机关或者组织的程序继续办理。",
    "OVER_THREE_YEARS": _OTHER_ROUTES, "FALSE_MATERIALS": "", "IMPERSONATION": "",
    "IDENTITY_NOT_VERIFIED": "配合核验身份后，您可以重新投诉。",
}
# Consumer Rights Protection Law art. 39, which Order No. 121 art. 15 has a refusal name.
_ART_39 = ("您还可以通过下列途径解决消费者权益争议：与经营者协商和解；请求消费者协会或者依法成立的其他调解组织调解；"
           "向有关行政部门投诉；根据与经营者达成的仲裁协议提请仲裁机构仲裁；向人民法院提起诉讼。")


def other_routes(rulebook: Rulebook) -> str:
    """What a refusal adds under a rulebook that has it name the other routes
    (Order No. 121 art. 15), else nothing."""
    return _ART_39 if rulebook.names_other_routes else ""


def _explanation(reason: str, finding: str, rulebook: Rulebook) -> str:
    ground = rulebook.grounds[reason]
    if ground.rule.endswith("不予受理"):
        conclusion = ""
    elif ground.rule.endswith("的"):
        conclusion = "，不予受理"
    else:
        conclusion = "，本投诉不予受理"
    routes = other_routes(rulebook)
    return f"{finding}根据{rulebook.title}{ground.article}，{ground.rule}{conclusion}。{_NEXT_STEP[reason]}{routes}"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def awareness_limit_end(aware: date, years: int) -> date:
    """The last day a complaint is in time: the same date `years` later (29
    February: the 28th, Civil Code art. 202), moved to the next working day
    when it is a rest day (art. 203). Beyond the published calendar the day is
    judged provisionally (calendar.py), never failing the complaint."""
    last = _years_after(aware, years)
    if last == date.max:
        return last
    try:
        return calendar.period_end(last - timedelta(days=1), Period(1, DAYS, ""))[0]
    except OverflowError:
        return last


def _years_after(day: date, years: int) -> date:
    if day.year + years > date.max.year:
        return date.max  # an absurd future date: never "over one year", never a crash
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the period ends on the month's last day
        return date(day.year + years, 2, 28)


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"

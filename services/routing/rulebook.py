"""The rulebooks a complaint can be decided under, and how one is chosen.

A rulebook is the set of numbers, grounds and their order that one regulation
lays down (texts and a table of their numbers: ../shared/law/README.md):

- SAIC-62: SAIC Order No. 62, 《工商行政管理部门处理消费者投诉办法》, in force
  2014-03-15 to 2019-12-31. The rules this system was specified with, hence the
  default. Its articles are cited as the seed's Q&A and DOMAIN.md give them; the
  Q&A names no article for mediation, so those grounds cite the Q&A.
- SAMR-20: SAMR Order No. 20, 《市场监督管理投诉举报处理暂行办法》 as amended
  2022-03-24, in force 2020-01-01 to 2026-04-14.
- SAMR-121: SAMR Order No. 121, 《市场监督管理投诉举报处理办法》, from 2026-04-15.

`TOUSU_RULEBOOK` names one of them for every complaint, or `by-date` to apply
the one in force on the China date of receipt; unset, SAIC-62. Routing records
the name on the complaint when it first receives it and on every decision
event, and mediation keeps the name of the acceptance it opened from, so a
complaint finishes under the rulebook it started with whatever the setting
says later. One complaint is never decided under a mix of two.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Mapping

# Deadlines are counted in Beijing time whatever the server's zone. China has kept
# UTC+8 all year since 1991, so a fixed offset is exact for every date handled here.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

DAYS, WORKING_DAYS = "DAYS", "WORKING_DAYS"
BY_DATE = "by-date"
DEFAULT = "SAIC-62"
SETTING = "TOUSU_RULEBOOK"


class UnknownRulebook(LookupError):
    pass


@dataclass(frozen=True)
class Ground:
    """One ground as the regulation states it: where, and what it says."""
    article: str
    rule: str


@dataclass(frozen=True)
class Period:
    """A period a regulation sets: its length, its unit (calendar DAYS, counted
    as the Civil Code and Order No. 121 art. 45 say, or WORKING_DAYS) and where."""
    length: int
    unit: str
    article: str

    def __post_init__(self):
        if self.unit not in (DAYS, WORKING_DAYS) or self.length < 0:
            raise ValueError(f"not a period: {self.length} {self.unit}")


@dataclass(frozen=True)
class Rulebook:
    name: str
    title: str
    in_force_from: date
    in_force_until: date | None  # the first day it no longer applies
    decision_working_days: int
    mediation_days: int
    awareness_limit_years: int
    # Not set by the regulation: the time this system gives another agency to
    # acknowledge or decline a referral before it is flagged.
    referral_reply_working_days: int
    # Reason codes in the order they are checked: the first that applies is the
    # one the complainant is told first (see rules.py for why this order).
    acceptance_checks: tuple[str, ...]
    grounds: Mapping[str, Ground] = field(repr=False, compare=False)
    decision_article: str = ""
    mediation_unit: str = DAYS
    mediation_article: str = ""
    # Why a mediation may end without agreement, code -> ground, in the
    # regulation's order. TIME_LIMIT_EXCEEDED is the one a timer may record.
    termination_grounds: Mapping[str, Ground] = field(default_factory=dict, repr=False, compare=False)
    # A party's request that a mediator step aside suspends mediation until the
    # bureau decides it (Orders 20 art. 19, 121 art. 21).
    recusal_request_suspends: bool = False
    termination_notice: Period | None = None
    violation_check: Period | None = None
    violation_check_extension: Period | None = None
    dispute_settlement: Period | None = None
    # Orders 20 art. 22 and 121 art. 24: no mediation document is needed for an
    # agreement performed on the spot (即时履行), besides one both parties waive it for.
    no_document_when_performed: bool = False
    # Order No. 62: a bureau without competence passes the complaint on. Orders 20
    # and 121: it does not accept (art. 15(1) / 16(1)) and tells the consumer the
    # competent bureau; a unified receiving unit distributes instead (art. 37 / 41).
    transfers_without_competence: bool = True
    # Orders 20 (art. 15(2)) and 121 (art. 16(2)): a dispute a market-regulation
    # bureau already accepted is not accepted again (PRIOR_HANDLING), whether or
    # not the consumer says so. Order No. 62 bars only one already mediated.
    bars_dispute_accepted_before: bool = False
    # Order No. 121 art. 35: a reporter's report of the same facts against the
    # same operator again is not handled apart, one with new facts is merged
    # into the case already handling it, its period counted from the last.
    merges_repeated_reports: bool = False
    # Orders 20 (art. 13) and 121 (art. 14): of two competent bureaus, the one
    # that received the complaint first handles it, whichever the consumer
    # would prefer. Order No. 62 lets the consumer choose among them.
    first_received_over_choice: bool = False
    # How an in-platform merchant is placed, in words, with the article.
    platform_merchant: Ground | None = None
    # Which earlier handlers make a complaint inadmissible under the single
    # prior-handling ground (PRIOR_HANDLING) of Orders 20 and 121.
    prior_handling_bodies: tuple[str, ...] = ()
    # Order No. 121 art. 15: a refusal also names the other routes of the
    # Consumer Rights Protection Law art. 39.
    names_other_routes: bool = False
    # Order No. 121 art. 13: an in-platform merchant that did not list its
    # address on the platform is placed at the platform operator's domicile only.
    unlisted_merchant_goes_to_platform: bool = False

    @property
    def mediation(self) -> Period:
        return Period(self.mediation_days, self.mediation_unit, self.mediation_article)

    @property
    def decision(self) -> Period:
        return Period(self.decision_working_days, WORKING_DAYS, self.decision_article)

    def in_force_on(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_until is None or day < self.in_force_until)


_62 = "《工商行政管理部门处理消费者投诉办法》（国家工商行政管理总局令第62号）"
_62_QA = "（见国家工商总局答记者问第8问）"

SAIC_ORDER_62 = Rulebook(
    name="SAIC-62",
    title=_62,
    in_force_from=date(2014, 3, 15),
    in_force_until=date(2020, 1, 1),
    decision_working_days=7,
    decision_article="受理期限（见国家工商总局答记者问第7问）",
    mediation_days=60,
    mediation_article="调解期限" + _62_QA,
    awareness_limit_years=1,
    referral_reply_working_days=7,
    acceptance_checks=(
        "NOT_CONSUMPTION", "OUT_OF_REMIT",
        "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
        "SHELF_LIFE_EXPIRED", "ALREADY_MEDIATED", "OTHER_MEDIATOR", "COURT_ARBITRATION_OR_AGENCY",
        "OVER_ONE_YEAR", "UNPROVABLE", "OTHER_UNLAWFUL",
    ),
    grounds=MappingProxyType({
        "NOT_CONSUMPTION": Ground(
            "第二条", "本办法适用于消费者为生活消费需要购买、使用商品或者接受服务，与经营者发生消费者权益争议的投诉"),
        "OUT_OF_REMIT": Ground("第十六条第（一）项", "不属于工商行政管理部门职责范围的投诉，不予受理"),
        "NO_CLEAR_RESPONDENT": Ground("第十一条第（一）项", "消费者投诉应当有明确的被投诉人"),
        "NO_SPECIFIC_REQUEST": Ground("第十一条第（二）项", "消费者投诉应当有具体的投诉请求、事实和理由"),
        "NO_FACTS": Ground("第十一条第（二）项", "消费者投诉应当有具体的投诉请求、事实和理由"),
        "SHELF_LIFE_EXPIRED": Ground(
            "第十六条第（二）项", "购买后商品超过保质期，被投诉人已不再负有违约责任的投诉，不予受理"),
        "ALREADY_MEDIATED": Ground("第十六条第（三）项", "已经工商行政管理部门组织调解的投诉，不予受理"),
        "OTHER_MEDIATOR": Ground(
            "第十六条第（四）项", "消费者协会或者人民调解组织等其他组织已经调解或者正在处理的投诉，不予受理"),
        "COURT_ARBITRATION_OR_AGENCY": Ground(
            "第十六条第（五）项", "人民法院、仲裁机构或者其他行政机关已经受理或者处理的投诉，不予受理"),
        "OVER_ONE_YEAR": Ground(
            "第十六条第（六）项", "消费者知道或者应该知道自己的权益受到侵害超过一年的投诉，不予受理"),
        "UNPROVABLE": Ground("第十六条第（六）项", "消费者无法证实自己的权益受到侵害的投诉，不予受理"),
        "OTHER_UNLAWFUL": Ground("第十六条第（七）项", "不符合国家法律、法规及规章规定的投诉，不予受理"),
    }),
    termination_grounds=MappingProxyType({
        "WITHDRAWN": Ground("终止调解" + _62_QA, "消费者撤回投诉的"),
        "PARTY_REFUSED": Ground("终止调解" + _62_QA, "当事人拒绝调解的"),
        "PARTY_ABSENT": Ground("终止调解" + _62_QA, "当事人无正当理由不参加调解的"),
        "LITIGATION_OR_ARBITRATION": Ground("终止调解" + _62_QA, "消费者在调解过程中就同一纠纷申请仲裁、提起诉讼的"),
        "SELF_SETTLED": Ground("终止调解" + _62_QA, "双方当事人自行和解的"),
        "TIME_LIMIT_EXCEEDED": Ground("调解期限" + _62_QA, "受理消费者投诉之日起六十日内调解不成的，应当终止调解"),
        "OTHER": Ground("终止调解" + _62_QA, "其他应当终止的"),
    }),
    platform_merchant=Ground("第六条、第七条", "网络交易由经营者所在地或者第三方交易平台所在地工商行政管理部门管辖"),
)

_20 = "《市场监督管理投诉举报处理暂行办法》（国家市场监督管理总局令第20号）"
_PRIOR_20 = "法院、仲裁机构、市场监督管理部门或者其他行政机关、消费者协会或者依法成立的其他调解组织已经受理或者处理过同一消费者权益争议的"
_MATERIALS_20 = "未提供本办法第九条第一款和第十条规定的材料的"
_PURPOSE_20 = "不是为生活消费需要购买、使用商品或者接受服务，或者不能证明与被投诉人之间存在消费者权益争议的"

SAMR_ORDER_20 = Rulebook(
    name="SAMR-20",
    title=_20,
    in_force_from=date(2020, 1, 1),
    in_force_until=date(2026, 4, 15),
    decision_working_days=7,
    decision_article="第十四条",
    mediation_days=45,
    mediation_unit=WORKING_DAYS,
    mediation_article="第二十一条第一款第（五）项",
    awareness_limit_years=3,
    referral_reply_working_days=7,
    acceptance_checks=(
        "NOT_CONSUMPTION", "OUT_OF_REMIT", "NOT_COMPETENT",
        "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
        "PRIOR_HANDLING", "OVER_THREE_YEARS", "UNPROVABLE", "OTHER_UNLAWFUL",
    ),
    grounds=MappingProxyType({
        "NOT_CONSUMPTION": Ground("第十五条第（三）项", _PURPOSE_20),
        "OUT_OF_REMIT": Ground("第十五条第（一）项", "投诉事项不属于市场监督管理部门职责的"),
        "NOT_COMPETENT": Ground("第十五条第（一）项", "本行政机关不具有处理权限的"),
        "NO_CLEAR_RESPONDENT": Ground("第十五条第（五）项", _MATERIALS_20 + "（被投诉人的名称、地址）"),
        "NO_SPECIFIC_REQUEST": Ground("第十五条第（五）项", _MATERIALS_20 + "（具体的投诉请求）"),
        "NO_FACTS": Ground("第十五条第（五）项", _MATERIALS_20 + "（消费者权益争议事实）"),
        "PRIOR_HANDLING": Ground("第十五条第（二）项", _PRIOR_20),
        "OVER_THREE_YEARS": Ground(
            "第十五条第（四）项", "除法律另有规定外，投诉人知道或者应当知道自己的权益受到被投诉人侵害之日起超过三年的"),
        "UNPROVABLE": Ground("第十五条第（三）项", _PURPOSE_20),
        "OTHER_UNLAWFUL": Ground("第十五条第（五）项、第（六）项", "未提供规定的材料，或者法律、法规、规章规定不予受理的其他情形"),
    }),
    termination_grounds=MappingProxyType({
        "WITHDRAWN": Ground("第二十一条第一款第（一）项", "投诉人撤回投诉的"),
        "SELF_SETTLED": Ground("第二十一条第一款第（一）项", "双方自行和解的"),
        "APPRAISAL_DISAGREEMENT": Ground(
            "第二十一条第一款第（二）项", "投诉人与被投诉人对委托承担检定、检验、检测、鉴定工作的技术机构或者费用承担无法协商一致的"),
        "PARTY_ABSENT": Ground("第二十一条第一款第（三）项", "投诉人或者被投诉人无正当理由不参加调解的"),
        # Order No. 20 names only the respondent's refusal; a consumer who refuses
        # has in effect said no agreement can be reached (item 4).
        "PARTY_REFUSED": Ground("第二十一条第一款第（三）项、第（四）项",
                                "被投诉人明确拒绝调解，或者投诉人明确表示无法达成调解协议的"),
        "NO_AGREEMENT_POSSIBLE": Ground("第二十一条第一款第（四）项", "经组织调解，投诉人或者被投诉人明确表示无法达成调解协议的"),
        "TIME_LIMIT_EXCEEDED": Ground("第二十一条第一款第（五）项", "自投诉受理之日起四十五个工作日内投诉人和被投诉人未能达成调解协议的"),
        # Suing or applying for arbitration: a court or arbitration body now
        # handles the dispute, an art. 15(2) ground found after acceptance.
        "LITIGATION_OR_ARBITRATION": Ground("第二十一条第一款第（六）项", "市场监督管理部门受理投诉后，发现存在本办法第十五条规定情形的"),
        "GROUND_FOUND_AFTER_ACCEPTANCE": Ground(
            "第二十一条第一款第（六）项", "市场监督管理部门受理投诉后，发现存在本办法第十五条规定情形的"),
        "OTHER": Ground("第二十一条第一款第（七）项", "法律、法规、规章规定的应当终止调解的其他情形"),
    }),
    recusal_request_suspends=True,
    termination_notice=Period(7, WORKING_DAYS, "第二十一条第二款"),
    violation_check=Period(15, WORKING_DAYS, "第二十三条第一款"),
    violation_check_extension=Period(15, WORKING_DAYS, "第二十三条第一款"),
    no_document_when_performed=True,
    dispute_settlement=Period(7, WORKING_DAYS, "第三十条"),
    transfers_without_competence=False,
    first_received_over_choice=True,
    bars_dispute_accepted_before=True,
    prior_handling_bodies=("AMR_MEDIATION", "CONSUMER_ASSOCIATION", "PEOPLES_MEDIATION", "COURT", "ARBITRATION",
                           "OTHER_AGENCY"),
    platform_merchant=Ground("第十二条第二款", "对平台内经营者的投诉，由其实际经营地或者平台经营者住所地县级市场监督管理部门处理"),
)

_121 = "《市场监督管理投诉举报处理办法》（国家市场监督管理总局令第121号）"
_PRIOR_121 = "法院、仲裁机构、市场监督管理部门或者其他行政机关、消费者协会已经受理或者处理过同一消费者权益争议的"
_MATERIALS_121 = "未提供本办法第十条第一款、第十一条规定的材料的"
_PURPOSE_121 = "不是为生活消费需要购买、使用商品或者接受服务，或者不能证明与被投诉人之间存在消费者权益争议的"

SAMR_ORDER_121 = Rulebook(
    name="SAMR-121",
    title=_121,
    in_force_from=date(2026, 4, 15),
    in_force_until=None,
    decision_working_days=7,
    decision_article="第十五条",
    mediation_days=60,
    mediation_unit=DAYS,
    mediation_article="第二十三条第一款第（五）项、第四十五条",
    awareness_limit_years=3,
    referral_reply_working_days=7,
    acceptance_checks=(
        "NOT_CONSUMPTION", "OUT_OF_REMIT", "NOT_COMPETENT",
        "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
        "PRIOR_HANDLING", "OVER_THREE_YEARS", "UNPROVABLE",
        "FALSE_MATERIALS", "IMPERSONATION", "IDENTITY_NOT_VERIFIED", "OTHER_UNLAWFUL",
    ),
    grounds=MappingProxyType({
        "NOT_CONSUMPTION": Ground("第十六条第（三）项", _PURPOSE_121),
        "OUT_OF_REMIT": Ground("第十六条第（一）项", "投诉事项不属于市场监督管理部门职责的"),
        "NOT_COMPETENT": Ground("第十六条第（一）项", "本行政机关不具有处理权限的"),
        "NO_CLEAR_RESPONDENT": Ground("第十六条第（五）项", _MATERIALS_121 + "（被投诉人的名称、地址）"),
        "NO_SPECIFIC_REQUEST": Ground("第十六条第（五）项", _MATERIALS_121 + "（具体的投诉请求）"),
        "NO_FACTS": Ground("第十六条第（五）项", _MATERIALS_121 + "（消费者权益争议事实依据）"),
        "PRIOR_HANDLING": Ground("第十六条第（二）项", _PRIOR_121),
        "OVER_THREE_YEARS": Ground(
            "第十六条第（四）项", "除法律另有规定外，投诉人知道或者应当知道自己的权益受到被投诉人侵害之日起超过三年的"),
        "UNPROVABLE": Ground("第十六条第（三）项", _PURPOSE_121),
        "FALSE_MATERIALS": Ground("第十六条第（五）项", "提供虚假材料的"),
        "IMPERSONATION": Ground("第十六条第（六）项", "冒用他人名义的"),
        "IDENTITY_NOT_VERIFIED": Ground("第十六条第（六）项", "拒不配合市场监督管理部门核验真实身份信息的"),
        "OTHER_UNLAWFUL": Ground("第十六条第（五）项、第（七）项", "未提供规定的材料，或者法律、法规、规章规定不予受理的其他情形"),
    }),
    termination_grounds=MappingProxyType({
        "WITHDRAWN": Ground("第二十三条第一款第（一）项", "投诉人撤回投诉的"),
        "SELF_SETTLED": Ground("第二十三条第一款第（一）项", "双方自行和解的"),
        "PARTY_ABSENT": Ground("第二十三条第一款第（二）项", "投诉人、被投诉人无正当理由不参加调解的"),
        "PARTY_REFUSED": Ground("第二十三条第一款第（二）项", "投诉人、被投诉人明确拒绝调解的"),
        "NO_AGREEMENT_POSSIBLE": Ground("第二十三条第一款第（三）项", "经组织调解，投诉人或者被投诉人明确表示无法达成调解协议的"),
        "APPRAISAL_DISAGREEMENT": Ground("第二十三条第一款第（四）项", "投诉人与被投诉人对鉴定、检测费用承担无法协商一致的"),
        "TIME_LIMIT_EXCEEDED": Ground("第二十三条第一款第（五）项", "自投诉受理之日起六十日内投诉人和被投诉人未能达成调解协议的"),
        "LITIGATION_OR_ARBITRATION": Ground(
            "第二十三条第一款第（六）项", "市场监督管理部门受理投诉后，发现存在本办法第十六条规定情形的"),
        "GROUND_FOUND_AFTER_ACCEPTANCE": Ground(
            "第二十三条第一款第（六）项", "市场监督管理部门受理投诉后，发现存在本办法第十六条、第四十二条规定情形的"),
        "PARTY_DECEASED_OR_DISSOLVED": Ground("第二十三条第一款第（七）项", "投诉人、被投诉人死亡或者主体资格灭失的"),
        "OTHER": Ground("第二十三条第一款第（八）项", "法律、法规、规章规定的应当终止调解的其他情形"),
    }),
    recusal_request_suspends=True,
    termination_notice=Period(7, WORKING_DAYS, "第二十三条第二款"),
    violation_check=Period(15, WORKING_DAYS, "第二十七条"),
    violation_check_extension=Period(15, WORKING_DAYS, "第二十七条（经市场监督管理部门负责人批准）"),
    no_document_when_performed=True,
    dispute_settlement=Period(7, WORKING_DAYS, "第三十三条"),
    transfers_without_competence=False,
    first_received_over_choice=True,
    bars_dispute_accepted_before=True,
    # Other lawful mediation bodies (people's mediation) are no longer listed.
    prior_handling_bodies=("AMR_MEDIATION", "CONSUMER_ASSOCIATION", "COURT", "ARBITRATION", "OTHER_AGENCY"),
    names_other_routes=True,
    merges_repeated_reports=True,
    unlisted_merchant_goes_to_platform=True,
    platform_merchant=Ground(
        "第十三条", "对平台内经营者的投诉，由其在平台公示的地址所在地或者平台经营者住所地县级市场监督管理部门处理；"
                   "未在平台依法公示地址，或者通过平台公示的地址无法取得联系的，由平台经营者住所地县级市场监督管理部门处理"),
)

RULEBOOKS: Mapping[str, Rulebook] = MappingProxyType(
    {r.name: r for r in (SAIC_ORDER_62, SAMR_ORDER_20, SAMR_ORDER_121)})
# Every reason code some rulebook may give, and every termination ground.
REASON_CODES = tuple(dict.fromkeys(code for r in RULEBOOKS.values() for code in r.acceptance_checks))
TERMINATION_CODES = tuple(dict.fromkeys(code for r in RULEBOOKS.values() for code in r.termination_grounds))


def setting(env: Mapping[str, str] | None = None) -> str:
    """The configured choice: a rulebook's name or `by-date`; checked, so a
    misspelt setting stops a service at start rather than at the first complaint."""
    value = ((env if env is not None else os.environ).get(SETTING) or DEFAULT).strip()
    if value != BY_DATE and value not in RULEBOOKS:
        raise UnknownRulebook(f"{SETTING}={value!r}: use {BY_DATE} or one of {', '.join(RULEBOOKS)}")
    return value


def named(name: str | None) -> Rulebook:
    """The rulebook recorded on a complaint; one recorded before rulebooks were
    recorded (None) is the default it was decided under."""
    try:
        return RULEBOOKS[name or DEFAULT]
    except KeyError:
        raise UnknownRulebook(f"no rulebook {name!r}; known: {', '.join(RULEBOOKS)}") from None


def rulebook_for(received_at: datetime | date, name: str | None = None) -> Rulebook:
    """The rulebook for a complaint received at this instant (or on this China
    date): the one named, or with no name (or `by-date`) the one in force."""
    if name is not None and name != BY_DATE:
        return named(name)
    day = received_at
    if isinstance(received_at, datetime):
        if received_at.tzinfo is None:
            raise ValueError(f"receipt instant {received_at} has no time zone; instants are UTC")
        day = received_at.astimezone(CHINA_STANDARD_TIME).date()
    for rulebook in RULEBOOKS.values():
        if rulebook.in_force_on(day):
            return rulebook
    raise UnknownRulebook(f"no rulebook in force on {day.isoformat()}; "
                          f"the earliest starts {min(r.in_force_from for r in RULEBOOKS.values()).isoformat()}")


def chosen(received_at: datetime, choice: str) -> Rulebook:
    """What a new complaint is decided under. `by-date` before Order No. 62 (a
    receipt dated before 2014-03-15, which this system models no rules for)
    falls back to the earliest rulebook rather than leaving the complaint undecided."""
    try:
        return rulebook_for(received_at, choice)
    except UnknownRulebook:
        if choice != BY_DATE:
            raise
        return min(RULEBOOKS.values(), key=lambda r: r.in_force_from)

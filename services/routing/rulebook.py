"""The rulebooks a complaint can be decided under, and how one is chosen.

A rulebook is the set of numbers, grounds and their order that one regulation
lays down. The default is SAIC Order No. 62 (《工商行政管理部门处理消费者投诉办法》,
in force 2014-03-15). Its successor, SAMR Order No. 20 (in force 2020-01-01), has
other grounds (no shelf-life ground, a three-year awareness limit, prior
handling merged into one ground), so it will be a second `Rulebook` with its own
values, registered in RULEBOOKS; one complaint is always decided under one
rulebook, never a mix.

`rulebook_for` chooses: the rulebook named by configuration if a name is given,
else the one in force on the day of receipt (China Standard Time). Order No. 62
is registered with no end date because it is this system's default; whoever
registers Order No. 20 either closes Order No. 62's window (choice by date) or
leaves it open and selects Order No. 20 by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Mapping

# Deadlines are counted in Beijing time whatever the server's zone. China has kept
# UTC+8 all year since 1991, so a fixed offset is exact for every date handled here.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


class UnknownRulebook(LookupError):
    pass


@dataclass(frozen=True)
class Ground:
    """One acceptance ground as the regulation states it: where, and what it says."""
    article: str
    rule: str


@dataclass(frozen=True)
class Rulebook:
    name: str
    title: str
    in_force_from: date
    in_force_until: date | None
    decision_working_days: int
    mediation_days: int
    awareness_limit_years: int
    # Not set by the regulation: the time this system gives another agency to
    # acknowledge or decline a referral before it is flagged.
    referral_reply_working_days: int
    # Reason codes in the order they are checked: the first that applies is the
    # one the complainant is told (see rules.py for why this order).
    acceptance_checks: tuple[str, ...]
    grounds: Mapping[str, Ground] = field(repr=False, compare=False)

    def in_force_on(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_until is None or day < self.in_force_until)


_ORDER_62_GROUNDS = {
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
}

SAIC_ORDER_62 = Rulebook(
    name="SAIC-62",
    title="《工商行政管理部门处理消费者投诉办法》（国家工商行政管理总局令第62号）",
    in_force_from=date(2014, 3, 15),
    in_force_until=None,
    decision_working_days=7,
    mediation_days=60,
    awareness_limit_years=1,
    referral_reply_working_days=7,
    acceptance_checks=(
        "NOT_CONSUMPTION", "OUT_OF_REMIT",
        "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
        "SHELF_LIFE_EXPIRED", "ALREADY_MEDIATED", "OTHER_MEDIATOR", "COURT_ARBITRATION_OR_AGENCY",
        "OVER_ONE_YEAR", "UNPROVABLE", "OTHER_UNLAWFUL",
    ),
    grounds=MappingProxyType(_ORDER_62_GROUNDS),
)

RULEBOOKS: Mapping[str, Rulebook] = MappingProxyType({SAIC_ORDER_62.name: SAIC_ORDER_62})


def rulebook_for(received_at: datetime | date, name: str | None = None) -> Rulebook:
    """The rulebook for a complaint received at this instant (or on this China date)."""
    if name is not None:
        try:
            return RULEBOOKS[name]
        except KeyError:
            raise UnknownRulebook(f"no rulebook {name!r}; known: {', '.join(RULEBOOKS)}") from None
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

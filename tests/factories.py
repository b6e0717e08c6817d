"""Request bodies as a hotline operator or a web form would send them."""
from __future__ import annotations

import copy
import random
from datetime import date, timedelta

from stdnum.cn import ric, uscc

COUNTIES = ["310115", "110108", "440106", "330106", "510107", "420106", "320102", "370102"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍"
PLACES = ["上海市浦东新区", "北京市海淀区", "广东省广州市天河区", "浙江省杭州市西湖区", "四川省成都市武侯区",
          "湖北省武汉市江汉区", "江苏省南京市玄武区", "山东省济南市历下区"]


def consumer_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % len(GIVEN)] + (GIVEN[(i // 540) % len(GIVEN)] if i >= 540 else "")
OPERATORS = ["某某电器有限公司", "某某餐饮管理有限公司", "某某健身服务有限公司", "某某汽车销售服务有限公司"]


def make_uscc(seed: int) -> str:
    body = f"91{COUNTIES[seed % len(COUNTIES)]}{seed:09d}"
    return body + uscc.calc_check_digit(body)


def make_ric(seed: int) -> str:
    birth = date(1996, 1, 1) + timedelta(days=seed % 3650)  # after every county code here was assigned
    body = f"{COUNTIES[seed % len(COUNTIES)]}{birth:%Y%m%d}{seed % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the library wants a placeholder check digit


def complaint(i: int = 0, **overrides) -> dict:
    county = COUNTIES[i % len(COUNTIES)]
    body = {
        "kind": "COMPLAINT",
        "channel": "HOTLINE_12315",
        "receiving_agency_id": f"AMR-{county}",
        "consumer": {"name": consumer_name(i), "phone": f"138{i:08d}"[:11],
                     "id_number": make_ric(i), "address": f"{PLACES[i % len(PLACES)]}幸福路{i % 900 + 1}号"},
        "respondent": {"name": f"{OPERATORS[i % len(OPERATORS)]}{i % 37}", "uscc": make_uscc(i),
                       "address": "某区商业街1号", "adcode": county},
        "transaction": {"date": (date.today() - timedelta(days=20)).isoformat(), "place_adcode": county,
                        "amount_fen": 10000 + i, "online": False},
        "subject_area": "GOODS_QUALITY",
        "purpose": "DAILY_CONSUMPTION",
        "demands": ["REFUND"],
        "facts": f"购买的商品第{i}天出现质量问题,商家拒绝退货。",
        "aware_date": (date.today() - timedelta(days=10)).isoformat(),
        "has_evidence": True,
        "prior_handling": [],
    }
    for key, value in overrides.items():
        body[key] = value
    return body


def varied(i: int, rng: random.Random) -> dict:
    """Mostly accepted complaints, with rejected and referred ones among them."""
    roll = rng.random()
    if roll < 0.1:
        return complaint(i, demands=[])  # NO_SPECIFIC_REQUEST
    if roll < 0.2:
        return complaint(i, subject_area="TELECOM")  # referred
    if roll < 0.25:
        return complaint(i, purpose="BUSINESS")  # NOT_CONSUMPTION
    return complaint(i)


def merged(body: dict, changes: dict) -> dict:
    """Changes keyed by dotted path: {"transaction.amount_fen": "12"}."""
    body = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return body


def changed(body: dict, path: str, value) -> dict:
    """A copy of `body` with the field at a dotted path (`demands.0`) set."""
    return merged(body, {path: value})


def without(body: dict, *paths: str) -> dict:
    """A copy of `body` with the fields at these dotted paths left out."""
    body = copy.deepcopy(body)
    for path in paths:
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node[part]
        node.pop(last, None)
    return body


def report(i: int = 0, violation: str = "COUNTERFEIT", **overrides) -> dict:
    """A report: a complaint's body with an alleged violation instead of demands."""
    body = without(complaint(i, **overrides), "demands")
    return body | {"kind": "REPORT", "alleged_violation": violation}


def runner(name: str, app):
    """What the HTTP layer needs of a service runner, for tests that serve a
    service's routes over its store alone (no broker)."""
    from types import SimpleNamespace

    async def run_in_store(fn, *args):
        return fn(*args)

    return SimpleNamespace(app=app, clock=getattr(app, "clock", None), name=name, run_in_store=run_in_store,
                           processor=SimpleNamespace(process=lambda messages: None), faust_app=None)

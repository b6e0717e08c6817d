"""Routing's rules, one table per family: jurisdiction, acceptance grounds and their
order, referrals, transfers, escalation and jurisdiction disputes."""
import copy
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.routing import rules
from services.agencies.directory import Directory, UnknownAgency
from services.routing.rulebook import RULEBOOKS, SAIC_ORDER_62, UnknownRulebook, rulebook_for
from services.routing.rules import (
    ACTIVITY_LOCATION, CONSUMER_CHOICE, FIRST_RECEIVED, OPERATOR_LOCATION, PLATFORM_LOCATION, Jurisdiction,
)

UTC = timezone.utc
RECEIVED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 on 2 March in China


@pytest.fixture(scope="module")
def d() -> Directory:
    return Directory.load()


def complaint(**changes) -> dict:
    """A complaint that meets every condition; `changes` take it apart."""
    record = {
        "complaint_id": "TS-1", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-440106",
        "consumer": {"name": "张伟", "phone": "13812345678", "id_number": None, "address": None},
        "respondent": {"name": "广州某某电器有限公司", "uscc": None, "address": "天河路1号", "adcode": "440106"},
        "transaction": {"date": date(2026, 2, 1), "place_adcode": "440106", "amount_fen": 259900,
                        "online": False, "platform": None},
        "subject_area": "GOODS_QUALITY", "purpose": "DAILY_CONSUMPTION", "demands": ["REFUND"],
        "facts": "购买的冰箱不制冷，商家拒绝退货。", "aware_date": date(2026, 2, 20), "has_evidence": True,
        "goods_expiry_date": None, "prior_handling": [], "preferred_agency_id": None,
    }
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = record
        for parent in parents:
            target = target[parent]
        target[key] = value
    return record


def placed(respondent, place=None, receiving=None, preferred=None, online=False, platform=None) -> dict:
    return complaint(respondent__adcode=respondent, transaction__place_adcode=place, transaction__online=online,
                     transaction__platform={"name": "某电商平台", "uscc": None, "adcode": platform} if platform else None,
                     receiving_agency_id=receiving, preferred_agency_id=preferred)


# Jurisdiction -------------------------------------------------------------------

@pytest.mark.parametrize("record, expected", [
    # offline: operator's location or the act's location
    (placed("310115", "310115", receiving="AMR-310115"), ("AMR-310115", FIRST_RECEIVED, None)),
    (placed("440106", "330106", receiving="AMR-330106"), ("AMR-330106", FIRST_RECEIVED, None)),
    (placed("440106", "330106", receiving="AMR-110108"), ("AMR-440106", OPERATOR_LOCATION, "AMR-110108")),
    (placed(None, "510107", receiving="AMR-110108"), ("AMR-510107", ACTIVITY_LOCATION, "AMR-110108")),
    (placed("441900", None, receiving="AMR-440106"), ("AMR-441900", OPERATOR_LOCATION, "AMR-440106")),
    (placed("429004", None, receiving="AMR-429004"), ("AMR-429004", FIRST_RECEIVED, None)),
    (placed("310115", "310115", receiving=None), ("AMR-310115", OPERATOR_LOCATION, None)),
    # the consumer's choice, honoured only among the competent
    (placed("440106", "330106", receiving="AMR-440106", preferred="AMR-330106"),
     ("AMR-330106", CONSUMER_CHOICE, "AMR-440106")),
    (placed("440106", "330106", receiving="AMR-440106", preferred="AMR-440106"),
     ("AMR-440106", CONSUMER_CHOICE, None)),
    (placed("440106", "330106", receiving="AMR-330106", preferred="AMR-110108"),
     ("AMR-330106", FIRST_RECEIVED, None)),
    (placed("420106", "510107", receiving="AMR-110108", preferred="AMR-110108"),
     ("AMR-420106", OPERATOR_LOCATION, "AMR-110108")),
    (placed("420106", "510107", receiving="AMR-110108", preferred="AMR-420100"),  # a superior is not competent
     ("AMR-420106", OPERATOR_LOCATION, "AMR-110108")),
    # online: operator's location or the platform's; the delivery place founds nothing
    (placed("310115", "110108", receiving="AMR-330106", online=True, platform="330106"),
     ("AMR-330106", FIRST_RECEIVED, None)),
    (placed("310115", "110108", receiving="AMR-110108", online=True, platform="330106"),
     ("AMR-310115", OPERATOR_LOCATION, "AMR-110108")),
    (placed("310115", "110108", receiving="AMR-110108", preferred="AMR-330106", online=True, platform="330106"),
     ("AMR-330106", CONSUMER_CHOICE, "AMR-110108")),
    (placed("310115", "110108", receiving="AMR-110108", preferred="AMR-110108", online=True, platform="330106"),
     ("AMR-310115", OPERATOR_LOCATION, "AMR-110108")),
    (placed(None, "110108", receiving="AMR-110108", online=True, platform="330106"),
     ("AMR-330106", PLATFORM_LOCATION, "AMR-110108")),
    (placed("510107", None, receiving="AMR-510107", online=True), ("AMR-510107", FIRST_RECEIVED, None)),
    # a superior that receives a complaint passes it down
    (placed("440106", "440106", receiving="AMR-440100"), ("AMR-440106", OPERATOR_LOCATION, "AMR-440100")),
    (placed("310115", None, receiving="AMR-310000"), ("AMR-310115", OPERATOR_LOCATION, "AMR-310000")),
    # nothing resolves to a county: the receiving bureau keeps it
    (placed(None, None, receiving="AMR-440106"), (None, FIRST_RECEIVED, None)),
    (placed("440100", "999999", receiving="AMR-440106", preferred="AMR-440106"), (None, FIRST_RECEIVED, None)),
    (placed(None, "110108", receiving="AMR-110108", online=True), (None, FIRST_RECEIVED, None)),
])
def test_jurisdiction(d, record, expected):
    assert rules.jurisdiction(record, d) == Jurisdiction(*expected)


@pytest.mark.parametrize("name", ["SAMR-20", "SAMR-121"])
def test_under_orders_20_and_121_a_competent_receiving_bureau_keeps_what_the_consumer_prefers_elsewhere(d, name):
    # Order 20 art. 13, Order 121 art. 14: of two competent bureaus, the first to receive handles it.
    book = RULEBOOKS[name]
    record = placed("440106", "440106", receiving="AMR-440106", preferred="AMR-330106", online=True,
                    platform="330106")
    assert rules.jurisdiction(record, d, book) == Jurisdiction("AMR-440106", FIRST_RECEIVED, None)
    assert rules.jurisdiction(record, d, SAIC_ORDER_62) == Jurisdiction("AMR-330106", CONSUMER_CHOICE, "AMR-440106")
    # The consumer who chose the bureau that received it is said to have chosen it.
    chose = placed("440106", "440106", receiving="AMR-330106", preferred="AMR-330106", online=True, platform="330106")
    assert rules.jurisdiction(chose, d, book) == Jurisdiction("AMR-330106", CONSUMER_CHOICE, None)
    # A unified receiving unit above the counties passes it to the one the consumer chose.
    upper = placed("440106", "440106", receiving="AMR-440100", preferred="AMR-330106", online=True, platform="330106")
    assert rules.jurisdiction(upper, d, book) == Jurisdiction("AMR-330106", CONSUMER_CHOICE, "AMR-440100")


def test_jurisdiction_of_a_record_without_transaction_or_respondent(d):
    assert rules.jurisdiction({"receiving_agency_id": "AMR-440106", "respondent": {"adcode": "510107"}}, d) == \
        Jurisdiction("AMR-510107", OPERATOR_LOCATION, "AMR-440106")
    assert rules.jurisdiction({"receiving_agency_id": "AMR-440106"}, d) == Jurisdiction(None, FIRST_RECEIVED)


@pytest.mark.parametrize("record, target", [
    (placed("440106", "330106", preferred="AMR-330106"), "AMR-330106"),
    (placed("440106", "330106", preferred="AMR-110108"), "AMR-440106"),
    (placed("440106", "330106"), "AMR-440106"),
    (placed(None, "330106"), "AMR-330106"),
    (placed(None, "330106", online=True, platform="510107"), "AMR-510107"),
    (placed(None, None), None),
])
def test_transfer_target(d, record, target):
    assert rules.transfer_target(record, d) == target


@pytest.mark.parametrize("agency_id, superior", [
    ("AMR-440106", "AMR-440100"),
    ("AMR-440100", "AMR-440000"),
    ("AMR-110108", "AMR-110000"),
    ("AMR-469002", "AMR-460000"),
    ("AMR-440000", "AMR-100000"),
    ("AMR-100000", None),
    ("HC-440106", None),
])
def test_escalate_goes_to_the_superior(d, agency_id, superior):
    assert rules.escalate(agency_id, d) == superior


def test_escalate_an_unknown_agency(d):
    with pytest.raises(UnknownAgency):
        rules.escalate("AMR-000000", d)


@pytest.mark.parametrize("a, b, designator", [
    ("AMR-330106", "AMR-330102", "AMR-330100"),   # two Hangzhou districts: Hangzhou
    ("AMR-330106", "AMR-330212", "AMR-330000"),   # Hangzhou and Ningbo: Zhejiang
    ("AMR-110108", "AMR-110105", "AMR-110000"),   # two Beijing districts: Beijing
    ("AMR-510107", "AMR-510100", "AMR-510000"),
    ("AMR-510107", "AMR-440106", "AMR-100000"),   # across provinces: the national administration
])
def test_dispute_goes_to_the_common_superior(d, a, b, designator):
    assert rules.resolve_dispute(a, b, d) == designator


# Referral -----------------------------------------------------------------------

@pytest.mark.parametrize("subject_area, adcode, target", [
    ("ENVIRONMENT", "440106", "EEB-440106"),
    ("MEDICAL", "110108", "HC-110108"),
    ("EDUCATION", "330106", "EDU-330106"),
    ("TRANSPORT", "510107", "TRANS-510107"),
    ("HOUSING", "420106", "HOUSING-420106"),
    ("TOURISM", "310115", "TOUR-310115"),
    ("TELECOM", "440106", "CA-440000"),
    ("FINANCE", "310115", "NFRA-310000"),
    ("POSTAL", "510107", "POST-510000"),
    ("TELECOM", "429004", "CA-420000"),
    ("ENVIRONMENT", "441900", "EEB-441900"),
    ("ENVIRONMENT", "440100", None),   # a city code does not say which district's bureau
    ("FINANCE", None, None),
])
def test_referral_target(d, subject_area, adcode, target):
    assert rules.referral_target(subject_area, adcode, d) == target


@pytest.mark.parametrize("subject_area", ["GOODS_QUALITY", "SERVICE_CONTRACT", "FOOD", "PRICE", "ADVERTISING",
                                          "OTHER_MARKET"])
def test_market_matters_are_not_referred(d, subject_area):
    with pytest.raises(ValueError, match="stays with market regulation"):
        rules.referral_target(subject_area, "440106", d)


# Acceptance: each ground --------------------------------------------------------

def decide(record, received_at=RECEIVED):
    return rules.acceptance(record, received_at, SAIC_ORDER_62)


@pytest.mark.parametrize("record", [
    complaint(),
    complaint(purpose="UNKNOWN"),
    complaint(respondent__address=None, respondent__uscc="91440106MA59A1B2C3"),
    complaint(respondent__address=None, respondent__adcode=None, transaction__online=True,
              transaction__platform={"name": "某电商平台", "uscc": None, "adcode": None}),
    complaint(facts="冰箱坏了"),
    complaint(goods_expiry_date=date(2026, 2, 20)),                # expires on the day noticed: still in date
    complaint(goods_expiry_date=date(2026, 1, 15)),                # sold already expired: the seller is liable
    complaint(aware_date=date(2025, 3, 2)),                        # exactly one year
    complaint(aware_date=None),
    complaint(prior_handling=None),
    complaint(has_evidence=False, transaction__online=True,
              transaction__platform={"name": "某电商平台", "uscc": None, "adcode": "330106"}),
    complaint(agent={"name": "王律师", "phone": "13900001111", "id_number": "110105198001010024",
                     "power_of_attorney_ref": "委托书-1"}),
    complaint(agent={"name": "王律师", "phone": "13900001111", "id_number": "110105198001010024",
                     "power_of_attorney_ref": "委托书-1", "power_of_attorney_expires": date(2026, 3, 2)}),  # its last day
    complaint(consumer__phone="", consumer__address="广州市天河区某路1号"),
])
def test_accepted(record):
    assert decide(record) is None


@pytest.mark.parametrize("record, reason, says", [
    (complaint(purpose="BUSINESS"), "NOT_CONSUMPTION", ["生产经营", "第二条"]),
    (complaint(subject_area="TELECOM"), "OUT_OF_REMIT", ["由通信管理部门负责处理", "第十六条第（一）项", "请向上述部门反映"]),
    (complaint(respondent__name=None), "NO_CLEAR_RESPONDENT", ["名称", "第十一条第（一）项"]),
    (complaint(respondent__name="  "), "NO_CLEAR_RESPONDENT", ["名称"]),
    (complaint(respondent=None), "NO_CLEAR_RESPONDENT", ["名称"]),
    (complaint(respondent__address=None, respondent__adcode=None), "NO_CLEAR_RESPONDENT", ["地址"]),
    (complaint(demands=[]), "NO_SPECIFIC_REQUEST", ["具体请求", "第十一条第（二）项"]),
    (complaint(demands=None), "NO_SPECIFIC_REQUEST", ["具体请求"]),
    (complaint(facts=None), "NO_FACTS", ["事实和理由", "第十一条第（二）项"]),
    (complaint(facts=" 。。！\n"), "NO_FACTS", ["事实和理由"]),
    (complaint(goods_expiry_date=date(2026, 2, 10)), "SHELF_LIFE_EXPIRED",
     ["2026年2月10日", "2026年2月20日", "第十六条第（二）项"]),
    (complaint(goods_expiry_date=date(2026, 2, 25), aware_date=None), "SHELF_LIFE_EXPIRED", ["2026年3月2日"]),
    (complaint(prior_handling=[{"body": "AMR_MEDIATION", "status": "CONCLUDED"}]), "ALREADY_MEDIATED",
     ["市场监督管理部门已经处理", "第十六条第（三）项"]),
    (complaint(prior_handling=[{"body": "AMR_MEDIATION", "status": "IN_PROGRESS"}]), "ALREADY_MEDIATED",
     ["正在处理"]),
    (complaint(prior_handling=[{"body": "CONSUMER_ASSOCIATION", "status": "IN_PROGRESS"}]), "OTHER_MEDIATOR",
     ["消费者协会正在处理", "第十六条第（四）项"]),
    (complaint(prior_handling=[{"body": "PEOPLES_MEDIATION", "status": "CONCLUDED"}]), "OTHER_MEDIATOR",
     ["人民调解组织已经处理"]),
    (complaint(prior_handling=[{"body": "COURT", "status": "IN_PROGRESS"}]), "COURT_ARBITRATION_OR_AGENCY",
     ["人民法院正在处理", "第十六条第（五）项"]),
    (complaint(prior_handling=[{"body": "ARBITRATION", "status": "CONCLUDED"}]), "COURT_ARBITRATION_OR_AGENCY",
     ["仲裁机构"]),
    (complaint(prior_handling=[{"body": "OTHER_AGENCY", "status": "CONCLUDED"}]), "COURT_ARBITRATION_OR_AGENCY",
     ["其他行政机关"]),
    (complaint(aware_date=date(2025, 2, 27)), "OVER_ONE_YEAR",
     ["2025年2月27日", "2026年3月2日", "超过一年", "第十六条第（六）项"]),
    (complaint(has_evidence=False), "UNPROVABLE", ["证明", "第十六条第（六）项"]),
    (complaint(agent={"name": "王律师", "phone": "13900001111", "power_of_attorney_ref": None}),
     "OTHER_UNLAWFUL", ["授权委托书", "第十六条第（七）项"]),
    (complaint(agent={"name": "王律师", "phone": "13900001111", "id_number": None, "power_of_attorney_ref": "委托书-1"}),
     "OTHER_UNLAWFUL", ["受托人的身份证明"]),
    (complaint(agent={"name": "王律师", "phone": "13900001111", "id_number": "110105198001010024",
                      "power_of_attorney_ref": "委托书-1", "power_of_attorney_expires": date(2026, 3, 1)}),
     "OTHER_UNLAWFUL", ["2026年3月1日届满", "视为未提交授权委托书"]),
    (complaint(consumer__name=""), "OTHER_UNLAWFUL", ["姓名和联系方式"]),
    (complaint(consumer__phone=" ", consumer__address=None), "OTHER_UNLAWFUL", ["联系方式"]),
])
def test_rejected_with_the_ground_cited(record, reason, says):
    rejection = decide(record)
    assert rejection is not None and rejection.reason == reason
    assert "国家工商行政管理总局令第62号" in rejection.explanation
    for phrase in says:
        assert phrase in rejection.explanation


@pytest.mark.parametrize("subject_area, body", [
    ("ENVIRONMENT", "生态环境部门"), ("MEDICAL", "卫生健康部门"), ("EDUCATION", "教育行政部门"),
    ("TRANSPORT", "交通运输部门"), ("HOUSING", "住房和城乡建设部门"), ("TOURISM", "文化和旅游部门"),
    ("TELECOM", "通信管理部门"), ("FINANCE", "金融监督管理部门"), ("POSTAL", "邮政管理部门"),
])
def test_every_referred_area_is_out_of_remit(subject_area, body):
    rejection = decide(complaint(subject_area=subject_area))
    assert rejection.reason == "OUT_OF_REMIT" and body in rejection.explanation


@pytest.mark.parametrize("aware, received_at, reason", [
    # one year is counted on China dates: 01:00 on 28 February in China is still the 27th in UTC
    (date(2025, 2, 27), datetime(2026, 2, 27, 15, 30, tzinfo=UTC), None),
    (date(2025, 2, 27), datetime(2026, 2, 27, 17, 0, tzinfo=UTC), "OVER_ONE_YEAR"),
    # a last day on a rest day moves to the next working day (Civil Code art. 203):
    # Sunday 1 March 2026 -> Monday 2 March
    (date(2025, 3, 1), datetime(2026, 3, 2, 15, 30, tzinfo=UTC), None),
    (date(2025, 3, 1), datetime(2026, 3, 2, 17, 0, tzinfo=UTC), "OVER_ONE_YEAR"),
    # in the National Day holiday (1-7 October 2026): runs to Thursday 8 October
    (date(2025, 10, 3), datetime(2026, 10, 8, 15, 0, tzinfo=UTC), None),
    (date(2025, 10, 3), datetime(2026, 10, 8, 16, 0, tzinfo=UTC), "OVER_ONE_YEAR"),
    # 29 February plus one year ends on 28 February (Civil Code art. 202)
    (date(2024, 2, 29), datetime(2025, 2, 28, 3, 0, tzinfo=UTC), None),
    (date(2024, 2, 29), datetime(2025, 3, 1, 3, 0, tzinfo=UTC), "OVER_ONE_YEAR"),
    ("2025-02-27", RECEIVED, "OVER_ONE_YEAR"),   # an ISO string read as the date it names
])
def test_one_year_counted_in_china_standard_time(aware, received_at, reason):
    rejection = decide(complaint(aware_date=aware, transaction__date=None), received_at)
    assert (rejection.reason if rejection else None) == reason


# Acceptance: which ground is told when several apply ----------------------------

def test_the_rulebook_checks_every_ground_once_in_the_documented_order():
    assert SAIC_ORDER_62.acceptance_checks == (
        "NOT_CONSUMPTION", "OUT_OF_REMIT", "NO_CLEAR_RESPONDENT", "NO_SPECIFIC_REQUEST", "NO_FACTS",
        "SHELF_LIFE_EXPIRED", "ALREADY_MEDIATED", "OTHER_MEDIATOR", "COURT_ARBITRATION_OR_AGENCY",
        "OVER_ONE_YEAR", "UNPROVABLE", "OTHER_UNLAWFUL")
    assert set(SAIC_ORDER_62.grounds) == set(SAIC_ORDER_62.acceptance_checks)


@pytest.mark.parametrize("record, reason", [
    (complaint(purpose="BUSINESS", subject_area="TELECOM"), "NOT_CONSUMPTION"),
    (complaint(subject_area="MEDICAL", demands=[], facts=""), "OUT_OF_REMIT"),
    (complaint(respondent__name=None, demands=[]), "NO_CLEAR_RESPONDENT"),
    (complaint(demands=[], facts=""), "NO_SPECIFIC_REQUEST"),
    (complaint(facts="", aware_date=date(2024, 1, 1)), "NO_FACTS"),
    (complaint(goods_expiry_date=date(2026, 2, 10),
               prior_handling=[{"body": "AMR_MEDIATION", "status": "CONCLUDED"}]), "SHELF_LIFE_EXPIRED"),
    (complaint(prior_handling=[{"body": "COURT", "status": "IN_PROGRESS"},
                               {"body": "AMR_MEDIATION", "status": "CONCLUDED"}]), "ALREADY_MEDIATED"),
    (complaint(prior_handling=[{"body": "ARBITRATION", "status": "CONCLUDED"},
                               {"body": "CONSUMER_ASSOCIATION", "status": "CONCLUDED"}]), "OTHER_MEDIATOR"),
    (complaint(prior_handling=[{"body": "COURT", "status": "CONCLUDED"}], aware_date=date(2024, 1, 1)),
     "COURT_ARBITRATION_OR_AGENCY"),
    (complaint(aware_date=date(2024, 1, 1), has_evidence=False), "OVER_ONE_YEAR"),
    (complaint(has_evidence=False, agent={"name": "王律师", "phone": "1", "power_of_attorney_ref": None}),
     "UNPROVABLE"),
])
def test_the_first_failing_ground_in_order_is_the_one_told(record, reason):
    assert decide(record).reason == reason


# Acceptance: robustness -----------------------------------------------------------

def test_an_empty_record_is_a_decision_not_an_error():
    assert decide({}).reason == "NO_CLEAR_RESPONDENT"


_OPTIONAL = ["respondent", "transaction", "subject_area", "purpose", "demands", "facts", "aware_date",
             "has_evidence", "goods_expiry_date", "prior_handling", "preferred_agency_id", "consumer",
             "receiving_agency_id", "agent"]


@settings(max_examples=60, deadline=None)
@given(dropped=st.sets(st.sampled_from(_OPTIONAL)), nulled=st.sets(st.sampled_from(_OPTIONAL)))
def test_missing_or_null_fields_never_raise(dropped, nulled):
    record = copy.deepcopy(complaint())
    for key in nulled:
        record[key] = None
    for key in dropped:
        record.pop(key, None)
    directory = Directory.load()
    rejection = rules.acceptance(record, RECEIVED, SAIC_ORDER_62)
    assert rejection is None or rejection.reason in SAIC_ORDER_62.acceptance_checks
    assert rules.jurisdiction(record, directory).basis in (
        OPERATOR_LOCATION, ACTIVITY_LOCATION, PLATFORM_LOCATION, CONSUMER_CHOICE, FIRST_RECEIVED)


# The rulebook ---------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("decision_working_days", 7), ("mediation_days", 60), ("awareness_limit_years", 1),
    ("referral_reply_working_days", 7), ("in_force_from", date(2014, 3, 15)),
])
def test_order_62_numbers(field, value):
    assert getattr(SAIC_ORDER_62, field) == value


def test_rulebook_chosen_by_receipt_date_or_by_name():
    assert rulebook_for(datetime(2014, 3, 14, 16, 0, tzinfo=UTC)) is SAIC_ORDER_62  # 00:00 on 15 March in China
    assert rulebook_for(RECEIVED, name="SAIC-62") is SAIC_ORDER_62
    with pytest.raises(UnknownRulebook, match="2014-03-14"):
        rulebook_for(datetime(2014, 3, 14, 15, 0, tzinfo=UTC))
    with pytest.raises(UnknownRulebook, match="SAMR-999"):
        rulebook_for(RECEIVED, name="SAMR-999")


def test_the_awareness_limit_comes_from_the_rulebook():
    two_years = replace(SAIC_ORDER_62, awareness_limit_years=2)
    record = complaint(aware_date=date(2024, 6, 1))
    assert rules.acceptance(record, RECEIVED, SAIC_ORDER_62).reason == "OVER_ONE_YEAR"
    assert rules.acceptance(record, RECEIVED, two_years) is None

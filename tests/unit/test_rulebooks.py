"""The three rulebooks (SAIC Order No. 62, SAMR Orders No. 20 and No. 121): each
regulation's answer for the same complaint, every ground and period on both
sides of its limit, how a rulebook is chosen, and that a complaint keeps it."""
import copy
from datetime import date, datetime, timedelta, timezone

import pytest

from services.bus.clock import Clock
from services.routing import rules
from services.routing.application import Routing
from services.routing.calendar import end_of_day, period_end
from services.agencies.directory import Directory
from services.routing.rulebook import (
    RULEBOOKS, SAIC_ORDER_62, SAMR_ORDER_20, SAMR_ORDER_121, UnknownRulebook, chosen, rulebook_for, setting,
)
from tests.examples import EXAMPLES
from tests.inbound import deliver

UTC = timezone.utc
RECEIVED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 1 June 2026, 10:00 in Beijing
BOOKS = {"SAIC-62": SAIC_ORDER_62, "SAMR-20": SAMR_ORDER_20, "SAMR-121": SAMR_ORDER_121}


def complaint(**changes) -> dict:
    record = {
        "complaint_id": "TS-1", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-440106",
        "consumer": {"name": "张伟", "phone": "13812345678", "id_number": None, "address": None},
        "respondent": {"name": "广州某某电器有限公司", "uscc": None, "address": "天河路1号", "adcode": "440106"},
        "transaction": {"date": date(2026, 5, 1), "place_adcode": "440106", "amount_fen": 259900,
                        "online": False, "platform": None},
        "subject_area": "GOODS_QUALITY", "purpose": "DAILY_CONSUMPTION", "demands": ["REFUND"],
        "facts": "购买的冰箱不制冷，商家拒绝退货。", "aware_date": date(2026, 5, 20), "has_evidence": True,
        "goods_expiry_date": None, "prior_handling": [], "preferred_agency_id": None,
    }
    record.update(changes)
    return record


def prior(body: str) -> list[dict]:
    return [{"body": body, "status": "CONCLUDED"}]


# Choosing a rulebook ------------------------------------------------------------------

@pytest.mark.parametrize("instant, name", [
    (datetime(2019, 12, 31, 15, 59, tzinfo=UTC), "SAIC-62"),    # 23:59 on 31 Dec 2019 in Beijing
    (datetime(2019, 12, 31, 16, 0, tzinfo=UTC), "SAMR-20"),     # 00:00 on 1 Jan 2020 in Beijing
    (datetime(2020, 1, 1, 12, 0, tzinfo=UTC), "SAMR-20"),
    (datetime(2026, 4, 14, 12, 0, tzinfo=UTC), "SAMR-20"),      # 20:00 on 14 April 2026
    (datetime(2026, 4, 14, 16, 0, tzinfo=UTC), "SAMR-121"),     # 00:00 on 15 April 2026
    (datetime(2026, 4, 15, 2, 0, tzinfo=UTC), "SAMR-121"),
    (datetime(2014, 3, 14, 16, 0, tzinfo=UTC), "SAIC-62"),
])
def test_by_date_applies_the_rulebook_in_force_on_the_china_day_of_receipt(instant, name):
    assert rulebook_for(instant, "by-date").name == name
    assert chosen(instant, "by-date").name == name


@pytest.mark.parametrize("day, name", [(date(2019, 12, 31), "SAIC-62"), (date(2020, 1, 1), "SAMR-20"),
                                       (date(2026, 4, 14), "SAMR-20"), (date(2026, 4, 15), "SAMR-121")])
def test_the_windows_meet_without_a_gap(day, name):
    assert [r.name for r in RULEBOOKS.values() if r.in_force_on(day)] == [name]


def test_a_named_rulebook_applies_whatever_the_date():
    for name in RULEBOOKS:
        assert chosen(datetime(2015, 1, 5, tzinfo=UTC), name).name == name


def test_before_any_rulebook_by_date_falls_back_to_the_earliest():
    assert chosen(datetime(2010, 1, 1, tzinfo=UTC), "by-date") is SAIC_ORDER_62


@pytest.mark.parametrize("env, value", [({}, "SAIC-62"), ({"TOUSU_RULEBOOK": ""}, "SAIC-62"),
                                        ({"TOUSU_RULEBOOK": "by-date"}, "by-date"),
                                        ({"TOUSU_RULEBOOK": "SAMR-121"}, "SAMR-121")])
def test_the_setting_defaults_to_order_62(env, value):
    assert setting(env) == value


def test_a_misspelt_setting_is_refused_naming_the_choices():
    with pytest.raises(UnknownRulebook, match="by-date or one of SAIC-62, SAMR-20, SAMR-121"):
        setting({"TOUSU_RULEBOOK": "SAMR-12"})


# Numbers and periods -------------------------------------------------------------------

@pytest.mark.parametrize("name, decision, mediation, years, suspends, notice, check, dispute, transfers", [
    ("SAIC-62", (7, "WORKING_DAYS"), (60, "DAYS"), 1, False, None, None, None, True),
    ("SAMR-20", (7, "WORKING_DAYS"), (45, "WORKING_DAYS"), 3, True, (7, "WORKING_DAYS"), (15, "WORKING_DAYS"),
     (7, "WORKING_DAYS"), False),
    ("SAMR-121", (7, "WORKING_DAYS"), (60, "DAYS"), 3, True, (7, "WORKING_DAYS"), (15, "WORKING_DAYS"),
     (7, "WORKING_DAYS"), False),
])
def test_each_regulations_numbers(name, decision, mediation, years, suspends, notice, check, dispute, transfers):
    book = BOOKS[name]
    pair = lambda p: None if p is None else (p.length, p.unit)  # noqa: E731
    assert pair(book.decision) == decision and pair(book.mediation) == mediation
    assert book.awareness_limit_years == years and book.recusal_request_suspends is suspends
    assert pair(book.termination_notice) == notice and pair(book.violation_check) == check
    assert pair(book.violation_check_extension) == check and pair(book.dispute_settlement) == dispute
    assert book.transfers_without_competence is transfers


@pytest.mark.parametrize("name, accepted, last_day", [
    # 60 days from Monday 1 June 2026: Friday 31 July
    ("SAIC-62", date(2026, 6, 1), date(2026, 7, 31)),
    ("SAMR-121", date(2026, 6, 1), date(2026, 7, 31)),
    # 45 working days: the Dragon Boat Festival (19 June, a Friday) is not one
    ("SAMR-20", date(2026, 6, 1), date(2026, 8, 4)),
    # 60 days from 2 Aug 2026 end on 1 October: National Day, so Thursday 8 October
    ("SAMR-121", date(2026, 8, 2), date(2026, 10, 8)),
    # from 28 Aug: Mid-Autumn (25 Sep) and National Day skipped, make-up days 20 Sep and 10 Oct counted
    ("SAMR-20", date(2026, 8, 28), date(2026, 11, 5)),
])
def test_mediation_limits_by_rulebook(name, accepted, last_day):
    assert period_end(accepted, BOOKS[name].mediation) == (last_day, False)


# Grounds: the same complaint under each regulation ----------------------------------------

# (record changes, {rulebook: reason or None}); the receipt is 1 June 2026 in Beijing.
GROUNDS = [
    ({}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": None}),
    # the awareness limit, both sides: one year (62) and three years (20, 121)
    ({"aware_date": date(2025, 6, 1)}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": None}),
    ({"aware_date": date(2025, 5, 29)}, {"SAIC-62": "OVER_ONE_YEAR", "SAMR-20": None, "SAMR-121": None}),
    ({"aware_date": date(2024, 6, 1)}, {"SAIC-62": "OVER_ONE_YEAR", "SAMR-20": None, "SAMR-121": None}),
    # 1 June 2023 + 3 years = 1 June 2026: in time; 29 May 2023 + 3 = Friday 29 May 2026: over
    ({"aware_date": date(2023, 6, 1)}, {"SAIC-62": "OVER_ONE_YEAR", "SAMR-20": None, "SAMR-121": None}),
    ({"aware_date": date(2023, 5, 29)},
     {"SAIC-62": "OVER_ONE_YEAR", "SAMR-20": "OVER_THREE_YEARS", "SAMR-121": "OVER_THREE_YEARS"}),
    # three years ending on Saturday 30 May 2026 run to Monday 1 June
    ({"aware_date": date(2023, 5, 30)}, {"SAIC-62": "OVER_ONE_YEAR", "SAMR-20": None, "SAMR-121": None}),
    # the shelf-life ground is Order 62's alone
    ({"goods_expiry_date": date(2026, 5, 10)},
     {"SAIC-62": "SHELF_LIFE_EXPIRED", "SAMR-20": None, "SAMR-121": None}),
    # prior handling: three grounds (62), one ground (20), other mediation bodies dropped (121)
    ({"prior_handling": prior("AMR_MEDIATION")},
     {"SAIC-62": "ALREADY_MEDIATED", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": "PRIOR_HANDLING"}),
    ({"prior_handling": prior("CONSUMER_ASSOCIATION")},
     {"SAIC-62": "OTHER_MEDIATOR", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": "PRIOR_HANDLING"}),
    ({"prior_handling": prior("PEOPLES_MEDIATION")},
     {"SAIC-62": "OTHER_MEDIATOR", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": None}),
    ({"prior_handling": [{"body": "COURT", "status": "IN_PROGRESS"}]},
     {"SAIC-62": "COURT_ARBITRATION_OR_AGENCY", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": "PRIOR_HANDLING"}),
    ({"prior_handling": prior("ARBITRATION")},
     {"SAIC-62": "COURT_ARBITRATION_OR_AGENCY", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": "PRIOR_HANDLING"}),
    ({"prior_handling": prior("OTHER_AGENCY")},
     {"SAIC-62": "COURT_ARBITRATION_OR_AGENCY", "SAMR-20": "PRIOR_HANDLING", "SAMR-121": "PRIOR_HANDLING"}),
    # Order 121's new grounds, and the intake fields they read (optional before it)
    ({"false_materials": True}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": "FALSE_MATERIALS"}),
    ({"false_materials": False}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": None}),
    ({"identity_verification": "IMPERSONATION"}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": "IMPERSONATION"}),
    ({"identity_verification": "REFUSED"},
     {"SAIC-62": None, "SAMR-20": None, "SAMR-121": "IDENTITY_NOT_VERIFIED"}),
    ({"identity_verification": "PENDING"}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": None}),
    ({"identity_verification": "VERIFIED"}, {"SAIC-62": None, "SAMR-20": None, "SAMR-121": None}),
    # grounds every rulebook has, under its own article
    ({"purpose": "BUSINESS"}, {"SAIC-62": "NOT_CONSUMPTION", "SAMR-20": "NOT_CONSUMPTION", "SAMR-121": "NOT_CONSUMPTION"}),
    ({"subject_area": "TELECOM"}, {"SAIC-62": "OUT_OF_REMIT", "SAMR-20": "OUT_OF_REMIT", "SAMR-121": "OUT_OF_REMIT"}),
    ({"respondent": None}, {n: "NO_CLEAR_RESPONDENT" for n in BOOKS}),
    ({"demands": []}, {n: "NO_SPECIFIC_REQUEST" for n in BOOKS}),
    ({"facts": ""}, {n: "NO_FACTS" for n in BOOKS}),
    ({"has_evidence": False}, {n: "UNPROVABLE" for n in BOOKS}),
    ({"agent": {"name": "王律师", "phone": "13900001111", "power_of_attorney_ref": None}},
     {n: "OTHER_UNLAWFUL" for n in BOOKS}),
]


@pytest.mark.parametrize("changes, answers", GROUNDS)
@pytest.mark.parametrize("name", list(BOOKS))
def test_each_regulations_answer(name, changes, answers):
    book = BOOKS[name]
    rejection = rules.acceptance(complaint(**copy.deepcopy(changes)), RECEIVED, book)
    assert (rejection.reason if rejection else None) == answers[name]
    if rejection is not None:
        ground = book.grounds[rejection.reason]
        assert book.title in rejection.explanation and ground.article in rejection.explanation
        # Order 121 art. 15: the other routes of Consumer Rights Protection Law art. 39
        assert ("向有关行政部门投诉" in rejection.explanation) is (name == "SAMR-121")


def test_every_ground_is_checked_and_cited_with_its_article():
    for book in RULEBOOKS.values():
        assert set(book.grounds) == set(book.acceptance_checks)
        assert all(g.article.startswith("第") and g.rule for g in book.grounds.values())
    assert "SHELF_LIFE_EXPIRED" not in SAMR_ORDER_20.grounds and "OVER_ONE_YEAR" not in SAMR_ORDER_121.grounds
    assert SAMR_ORDER_121.grounds["OVER_THREE_YEARS"].article == "第十六条第（四）项"
    assert SAMR_ORDER_20.grounds["OVER_THREE_YEARS"].article == "第十五条第（四）项"


def test_order_121_names_the_other_routes_of_article_39():
    rejection = rules.acceptance(complaint(demands=[]), RECEIVED, SAMR_ORDER_121)
    assert "消费者协会" in rejection.explanation and "仲裁" in rejection.explanation
    assert "其他调解组织调解" not in rules.acceptance(complaint(demands=[]), RECEIVED, SAMR_ORDER_20).explanation


def test_every_ground_that_applies_is_listed_the_first_being_the_reason():
    found = rules.refusals(complaint(demands=[], has_evidence=False, false_materials=True), RECEIVED, SAMR_ORDER_121)
    assert [r.reason for r in found] == ["NO_SPECIFIC_REQUEST", "UNPROVABLE", "FALSE_MATERIALS"]
    assert all("第十六条" in r.explanation for r in found)


# Jurisdiction by rulebook -----------------------------------------------------------------

@pytest.fixture(scope="module")
def d() -> Directory:
    return Directory.load()


@pytest.mark.parametrize("name, competent_elsewhere", [("SAIC-62", None), ("SAMR-20", "AMR-440106"),
                                                        ("SAMR-121", "AMR-440106")])
def test_a_county_bureau_without_competence_transfers_only_under_order_62(d, name, competent_elsewhere):
    record = complaint(receiving_agency_id="AMR-110108")
    book = BOOKS[name]
    assert rules.lacks_competence(record, d, book) == competent_elsewhere
    rejection = rules.acceptance(record, RECEIVED, book, competent_elsewhere)
    if competent_elsewhere is None:
        assert rejection is None
    else:
        assert rejection.reason == "NOT_COMPETENT" and "AMR-440106" in rejection.explanation


@pytest.mark.parametrize("receiving", ["AMR-440106", "AMR-440100", "AMR-440000"])
def test_a_competent_or_a_receiving_unit_above_is_not_refused_for_competence(d, receiving):
    """A city or provincial bureau receiving for its area distributes (arts. 37 / 41)."""
    assert rules.lacks_competence(complaint(receiving_agency_id=receiving), d, SAMR_ORDER_121) is None


@pytest.mark.parametrize("name, listed, competent", [
    ("SAIC-62", False, ["AMR-310115", "AMR-330106"]),
    ("SAMR-20", False, ["AMR-310115", "AMR-330106"]),
    ("SAMR-121", True, ["AMR-310115", "AMR-330106"]),
    ("SAMR-121", None, ["AMR-310115", "AMR-330106"]),
    # no address listed on the platform: the platform operator's domicile only (art. 13)
    ("SAMR-121", False, ["AMR-330106"]),
])
def test_an_in_platform_merchant_by_rulebook(d, name, listed, competent):
    record = complaint(respondent={"name": "某店铺", "uscc": None, "address": None, "adcode": "310115"},
                       transaction={"date": date(2026, 5, 1), "place_adcode": None, "amount_fen": 100, "online": True,
                                    "platform": {"name": "某电商平台", "uscc": None, "adcode": "330106",
                                                 "seller_address_listed": listed}})
    assert list(rules.competent_bureaus(record, d, BOOKS[name])) == competent


# Routing keeps the rulebook a complaint started with ------------------------------------------

def received(cid, at=RECEIVED, **changes):
    return {**EXAMPLES["ComplaintReceived"], "complaint_id": cid, "occurred_at": at, "aware_date": date(2024, 1, 10),
            "prior_handling": [], "preferred_agency_id": None, **changes}


def routing(monkeypatch, choice, env):
    monkeypatch.setenv("TOUSU_RULEBOOK", choice)
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(UTC)
    return Routing(env=env, clock=clock)


def receive(app, record):
    deliver(app, "routing", ("ComplaintReceived", record))


@pytest.mark.parametrize("choice, rulebook, state, reason", [
    ("SAIC-62", "SAIC-62", "REJECTED", "OVER_ONE_YEAR"),   # aware 10 Jan 2024, received 1 June 2026
    ("SAMR-20", "SAMR-20", "ACCEPTED", None),
    ("SAMR-121", "SAMR-121", "ACCEPTED", None),
    ("by-date", "SAMR-121", "ACCEPTED", None),
])
def test_the_setting_decides_under_which_rulebook_a_new_complaint_is_decided(monkeypatch, choice, rulebook,
                                                                               state, reason):
    app = routing(monkeypatch, choice, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    receive(app, received("TS-1"))
    complaint_ = app.complaint("TS-1")
    assert (complaint_.rulebook, complaint_.state, getattr(complaint_, "reason", None)) == (rulebook, state, reason)


def test_a_complaint_keeps_its_rulebook_across_a_change_of_setting_and_a_restart(monkeypatch, tmp_path):
    from services.routing.domainmodel import Complaint
    from services.routing.integration import integration_events

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "routing.sqlite")}
    first = routing(monkeypatch, "SAMR-121", env)
    receive(first, received("TS-1", subject_area="TELECOM"))  # referred: still open when the setting changes
    [referral_id] = first.complaint("TS-1").referrals
    first.close()
    again = routing(monkeypatch, "SAIC-62", env)
    receive(again, received("TS-2"))
    deliver(again, "routing", ("ReferralDeclined", {**EXAMPLES["ReferralDeclined"], "complaint_id": "TS-1",
                                                    "referral_id": referral_id, "agency_id": "CA-310000",
                                                    "reason": "不属于本机关职责", "suggested_agency_id": None}))
    assert again.complaint("TS-1").rulebook == "SAMR-121" and again.complaint("TS-2").rulebook == "SAIC-62"
    complaint_ = again.complaint("TS-1")
    last = list(again.events.get(Complaint.create_id("TS-1")))[-1]
    [decision, _] = integration_events(last, complaint_)
    assert decision.record_type == "ComplaintRejected" and decision.record["rulebook"] == "SAMR-121"
    again.close()


def test_a_complaint_received_before_rulebooks_were_recorded_is_order_62s():
    from services.routing.domainmodel import Complaint
    old = Complaint("TS-OLD", {}, RECEIVED, end_of_day(date(2026, 6, 10)))
    assert old.rulebook is None
    from services.routing.rulebook import named
    assert named(old.rulebook) is SAIC_ORDER_62


@pytest.mark.parametrize("choice, settle_by", [
    ("SAIC-62", None),
    # Monday 1 June 2026 + 7 working days: 2-5 and 8-10 June
    ("SAMR-20", end_of_day(date(2026, 6, 10))),
    ("SAMR-121", end_of_day(date(2026, 6, 10))),
])
def test_a_jurisdiction_dispute_is_to_be_settled_within_seven_working_days(monkeypatch, choice, settle_by):
    app = routing(monkeypatch, choice, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    receive(app, received("TS-1", aware_date=date(2026, 5, 1)))
    complaint_ = app.dispute("TS-1", "AMR-310104", RECEIVED, "AMR-310115", "CASE_WORKER")
    assert complaint_.dispute["settle_by"] == settle_by and complaint_.dispute["superior_id"] == "AMR-310000"

"""Leads to cases through the enforcement application: one case per lead, and
one pattern case per burst of leads against one operator."""
from datetime import datetime, timedelta, timezone

import pytest
from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor
from services.bus.messages import Inbound
from services.enforcement.spec import SPEC
from services.enforcement.application import Enforcement
from services.enforcement.domainmodel import PenaltyCase
from services.enforcement.integration import integration_events
from tests.examples import EXAMPLES

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
OPERATOR = {"name": "上海某某电器有限公司", "uscc": "91310115MA1H7GQX2T"}


def violation(n: int, days: float = 0.0, operator=OPERATOR) -> Inbound:
    record = dict(EXAMPLES["ViolationFound"], event_id=f"v{n}", complaint_id=f"TS-{n}",
                  occurred_at=START + timedelta(days=days), respondent=operator)
    return Inbound("violations.found", 0, n, None, default_codec().encode("ViolationFound", record),
                   {"source": b"mediation", "position": str(n).encode()})


def feed(app: Enforcement, *messages: Inbound) -> None:
    result = BatchProcessor(app, SPEC.handler(app), default_codec()).process(list(messages))
    assert result.dead == 0


def cases(app: Enforcement, origin: str) -> list[PenaltyCase]:
    found = {}
    for n in app.recorder.select_notifications(0, 10_000, inclusive_of_start=False):
        aggregate = app.find(n.originator_id)
        if isinstance(aggregate, PenaltyCase) and aggregate.origin == origin:
            found[aggregate.id] = aggregate
    return list(found.values())


@pytest.fixture
def app():
    return Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_each_violation_opens_its_own_case_at_the_competent_bureau(app):
    feed(app, violation(1))
    [case] = cases(app, "COMPLAINT")
    assert case.complaint_ids == ["TS-1"] and case.agency_id == "AMR-310115"
    assert str(case.id) != "TS-1"


def test_four_leads_make_no_pattern_case_the_fifth_one_listing_five_the_sixth_joins(app):
    feed(app, *(violation(n, days=n) for n in range(1, 5)))
    assert cases(app, "PATTERN") == []
    feed(app, violation(5, days=5))
    [pattern] = cases(app, "PATTERN")
    assert sorted(pattern.complaint_ids) == [f"TS-{n}" for n in range(1, 6)]
    feed(app, violation(6, days=6))
    [pattern] = cases(app, "PATTERN")
    assert sorted(pattern.complaint_ids) == [f"TS-{n}" for n in range(1, 7)]
    assert len(cases(app, "COMPLAINT")) == 6


def test_five_leads_spread_over_more_than_thirty_days_make_no_pattern_case(app):
    feed(app, *(violation(n, days=n * 8) for n in range(1, 6)))
    assert cases(app, "PATTERN") == []


def test_other_operators_do_not_count_together(app):
    others = [dict(OPERATOR, uscc=None, name=f"某某商店{n}") for n in range(5)]
    feed(app, *(violation(n + 1, days=n, operator=others[n]) for n in range(5)))
    assert cases(app, "PATTERN") == []


def test_a_restart_in_the_middle_of_a_window_gives_the_same_result(tmp_path):
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "enforcement.sqlite")}
    first = Enforcement(env=env)
    feed(first, *(violation(n, days=n) for n in range(1, 4)))
    first.close()
    second = Enforcement(env=env)
    feed(second, violation(3, days=3))  # redelivered across the restart: counts once
    feed(second, violation(4, days=4), violation(5, days=5))
    [pattern] = cases(second, "PATTERN")
    assert sorted(pattern.complaint_ids) == [f"TS-{n}" for n in range(1, 6)]


def test_a_case_past_its_filing_limit_is_flagged_once(app):
    feed(app, violation(1))
    app.clock.advance(START + timedelta(days=16) - app.clock.now())
    assert app.flag_overdue() == 1
    assert app.flag_overdue() == 0
    [case] = cases(app, "COMPLAINT")
    assert case.flagged_overdue == ["FILING"]


# -- repeated reports (Order 121 art. 35) ----------------------------------------------

def report(n: int, days: float = 0.0, facts: str = "商品页面宣称“国家级”,实为普通产品。", **changes) -> Inbound:
    record = dict(EXAMPLES["ReportReceived"], event_id=f"r{n}", complaint_id=f"TS-R{n}",
                  occurred_at=START + timedelta(days=days), facts=facts, **changes)
    return Inbound("complaints.received", 0, 1000 + n, None, default_codec().encode("ReportReceived", record),
                   {"source": b"intake", "position": str(1000 + n).encode()})


def under(rulebook: str, monkeypatch) -> Enforcement:
    monkeypatch.setenv("TOUSU_RULEBOOK", rulebook)
    return Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_a_report_of_the_same_facts_again_is_not_handled_apart(monkeypatch):
    # 对于同一举报人就同一涉嫌违法事实重复举报同一被举报人的，不再另行处理.
    app = under("SAMR-121", monkeypatch)
    feed(app, report(1))
    [case] = cases(app, "REPORT")
    due = case.filing_due
    feed(app, report(2, days=3, facts=" 商品页面宣称“国家级”, 实为普通产品。"))  # the same words, spaced otherwise
    [case] = cases(app, "REPORT")
    assert case.complaint_ids == ["TS-R1", "TS-R2"] and case.filing_due == due


def test_a_report_with_new_facts_joins_the_case_and_its_period_runs_from_it(monkeypatch):
    # 以补充新的事实为由再次举报同一被举报人的，可以合并处理，并自收到最后一次举报之日起重新计算处理期限.
    from services.enforcement.integration import integration_events

    app = under("SAMR-121", monkeypatch)
    feed(app, report(1))
    feed(app, report(2, days=3, facts="另发现该店铺在直播中宣称“全网最低价”。"))
    [case] = cases(app, "REPORT")
    assert case.complaint_ids == ["TS-R1", "TS-R2"]
    from services.enforcement import rules

    restarted = rules.due(START + timedelta(days=3), rules.FILING_DAYS, rules.FILING_UNIT)
    assert case.filing_due == restarted > rules.due(START, rules.FILING_DAYS, rules.FILING_UNIT)
    [linked] = [o for e in app.events.get(case.id) for o in integration_events(e, case)
                if o.record_type == "PenaltyCaseComplaintLinked"]
    assert linked.record["complaint_id"] == "TS-R2" and linked.record["filing_due"] == case.filing_due


@pytest.mark.parametrize("rulebook, second", [
    ("SAIC-62", {}),  # no such rule before Order 121
    ("SAMR-121", {"consumer": {**EXAMPLES["ReportReceived"]["consumer"], "id_number": "110105194912310061"}}),
    ("SAMR-121", {"alleged_violation": "PRICE_FRAUD"}),
])
def test_another_reporter_or_violation_or_rulebook_is_a_case_of_its_own(rulebook, second, monkeypatch):
    app = under(rulebook, monkeypatch)
    feed(app, report(1), report(2, days=1, **second))
    assert len(cases(app, "REPORT")) == 2


def test_the_same_report_again_after_its_case_ended_is_not_handled_again(monkeypatch):
    # Art. 35 sets no time: the same reporter, facts and operator are not handled again, the case ended or not.
    app = under("SAMR-121", monkeypatch)
    feed(app, report(1))
    [first] = cases(app, "REPORT")
    app.decline_filing(str(first.id), "违法事实不成立", START + timedelta(days=2))
    feed(app, report(2, days=5))
    assert cases(app, "REPORT") == [app.repository.get(first.id)]
    ended = app.repository.get(first.id)
    assert ended.complaint_ids == ["TS-R1", "TS-R2"] and ended.status == "DECLINED"
    [record] = integration_events(list(app.events.get(first.id))[-1], ended)
    assert record.record_type == "PenaltyCaseComplaintLinked"
    assert record.record["complaint_id"] == "TS-R2" and record.record["not_handled_again"] is True


def test_a_report_telling_more_after_its_case_ended_opens_another(monkeypatch):
    # ...but one with new facts cannot join an ended case: it is handled anew, and its repeats join it.
    app = under("SAMR-121", monkeypatch)
    feed(app, report(1))
    [first] = cases(app, "REPORT")
    app.decline_filing(str(first.id), "违法事实不成立", START + timedelta(days=2))
    feed(app, report(2, days=5, facts="又发现该商品宣称“专利产品”,实无专利。"), report(3, days=6))
    second = [c for c in cases(app, "REPORT") if c.id != first.id]
    assert len(second) == 1 and second[0].complaint_ids == ["TS-R2", "TS-R3"]
    assert app.repository.get(first.id).complaint_ids == ["TS-R1"]


def test_a_pattern_cases_ending_closes_no_report_its_reports_cases_handle(monkeypatch):
    # Six reports of one operator by six reporters: six cases of their own, and a pattern's counting them.
    from services.enforcement.integration import integration_events

    app = under("SAMR-121", monkeypatch)
    consumer = EXAMPLES["ReportReceived"]["consumer"]
    feed(app, *[report(n, days=n, consumer={**consumer, "id_number": None, "phone": f"1390000000{n}"})
                for n in range(6)])
    [pattern] = cases(app, "PATTERN")
    assert len(cases(app, "REPORT")) == 6 and len(pattern.complaint_ids) >= 5
    app.decline_filing(str(pattern.id), "不构成违法", START + timedelta(days=7))
    ended = app.repository.get(pattern.id)
    [declined] = [o.record for e in app.events.get(pattern.id) for o in integration_events(e, ended)
                  if o.record_type == "CaseFilingDeclined"]
    assert declined["reports_closed"] == []
    own = cases(app, "REPORT")[0]
    app.decline_filing(str(own.id), "违法事实不成立", START + timedelta(days=8))
    [declined] = [o.record for e in app.events.get(own.id)
                  for o in integration_events(e, app.repository.get(own.id)) if o.record_type == "CaseFilingDeclined"]
    assert declined["reports_closed"] == own.complaint_ids


def test_a_merged_report_delivered_again_after_its_case_ended_opens_nothing(monkeypatch):
    app = under("SAMR-121", monkeypatch)
    feed(app, report(1), report(2, days=1))
    [case] = cases(app, "REPORT")
    app.decline_filing(str(case.id), "违法事实不成立", START + timedelta(days=2))
    # The same report under another event id (published twice under two positions).
    record = dict(EXAMPLES["ReportReceived"], event_id="r2-again", complaint_id="TS-R2",
                  occurred_at=START + timedelta(days=1), facts="商品页面宣称“国家级”,实为普通产品。")
    feed(app, Inbound("complaints.received", 0, 1100, None, default_codec().encode("ReportReceived", record),
                      {"source": b"intake", "position": b"1100"}))
    assert [c.id for c in cases(app, "REPORT")] == [case.id]


def test_a_repeat_of_the_same_facts_says_so_and_moves_no_limit(monkeypatch):
    from services.enforcement.integration import integration_events

    app = under("SAMR-121", monkeypatch)
    feed(app, report(1), report(2, days=1))
    [case] = cases(app, "REPORT")
    [linked] = [o.record for e in app.events.get(case.id) for o in integration_events(e, case)
                if o.record_type == "PenaltyCaseComplaintLinked"]
    assert linked["reported_again"] is True and linked["filing_due"] is None

"""The desk's listings over its tables, fed through its own batch processor:
who sees which complaints, what each filter keeps, pages that stay whole
while complaints keep arriving, and a rebuild that gives the same rows."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.auth import Principal
from services.desk import queries
from services.desk.application import Desk
from services.desk.listing import InvalidQuery, NotAllowed
from tests.desk_feed import START, Feed, feed

PUDONG, XUHUI, SHANGHAI, HAIDIAN = "AMR-310115", "AMR-310104", "AMR-310000", "AMR-110108"


@pytest.fixture
def desk():
    app = Desk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.clock.now = lambda: START + timedelta(days=5)
    f = Feed()
    messages = []
    messages += f.complaint("p-open", PUDONG, START, seed=1, name="上海甲电器有限公司")
    messages += f.complaint("p-agreed", PUDONG, START + timedelta(days=1), seed=2)
    messages.append(f.message("MediationAgreed", complaint_id="p-agreed", amount_recovered_fen=1000))
    messages += f.complaint("p-new", PUDONG, START + timedelta(days=2), seed=3, accepted=False)
    messages += f.complaint("x-open", XUHUI, START + timedelta(days=3), seed=4, subject_area="FOOD")
    messages += f.complaint("h-open", HAIDIAN, START + timedelta(days=4), seed=5)
    messages.append(f.message("MediationScheduled", complaint_id="p-open", mediators=["李明", "王芳"]))
    messages.append(f.message("MediatorRecused", complaint_id="p-open", mediator="李明"))
    messages.append(f.message("PenaltyCaseOpened", complaint_id="x-open", case_id="PC-1", complaint_ids=["x-open"],
                              agency_id=XUHUI))
    messages.append(f.message("ComplaintReceived", complaint_id="p-ref", receiving_agency_id=PUDONG,
                              subject_area="TELECOM", occurred_at=START + timedelta(days=5)))
    messages.append(f.message("ComplaintReferred", complaint_id="p-ref", from_agency_id=PUDONG,
                              to_agency_id="CA-310000", subject_area="TELECOM"))
    assert feed(app, messages).dead == 0
    app.feed = f
    yield app
    app.close()


def ids(page) -> set[str]:
    return {item.get("complaint_id") or item.get("case_id") for item in page.items}


@pytest.mark.parametrize("who, expected, personal", [
    (Principal(PUDONG, "CASE_WORKER"), {"p-open", "p-agreed", "p-new", "p-ref"}, True),
    (Principal(XUHUI, "CASE_WORKER"), {"x-open"}, True),
    (Principal(SHANGHAI, "CASE_WORKER"), set(), True),
    (Principal(SHANGHAI, "SUPERVISOR"), {"p-open", "p-agreed", "p-new", "p-ref", "x-open"}, True),
    (Principal(PUDONG, "SUPERVISOR"), {"p-open", "p-agreed", "p-new", "p-ref"}, True),
    (Principal(SHANGHAI, "REGULATOR"), {"p-open", "p-agreed", "p-new", "p-ref", "x-open"}, False),
    (Principal(HAIDIAN, "CASE_WORKER"), {"h-open"}, True),
])
def test_each_role_sees_its_bureau_or_its_area_and_personal_data_only_where_allowed(desk, who, expected, personal):
    page = queries.complaints(desk, who, {})
    assert ids(page) == expected
    for item in page.items:
        assert ("consumer_name" in item) is personal
        assert ("consumer_phone" in item) is personal


def test_an_agency_system_lists_no_complaints(desk):
    with pytest.raises(NotAllowed):
        queries.complaints(desk, Principal("CA-310000", "AGENCY_SYSTEM"), {})


@pytest.mark.parametrize("filters, expected", [
    ({"status": "IN_MEDIATION"}, {"p-open", "x-open"}),
    ({"status": "AGREED,RECEIVED"}, {"p-agreed", "p-new"}),
    ({"open": "true"}, {"p-open", "p-new", "x-open"}),
    ({"open": "false"}, {"p-agreed", "p-ref"}),
    ({"subject_area": "FOOD"}, {"x-open"}),
    ({"agency": XUHUI}, {"x-open"}),
    ({"agency": SHANGHAI, "below": "false"}, set()),
    ({"respondent": "甲电器"}, {"p-open"}),
    ({"received_from": "2026-03-03", "received_to": "2026-03-04"}, {"p-agreed", "p-new"}),
    ({"decided_from": "2026-03-05"}, {"x-open"}),
    ({"worker": "王芳"}, {"p-open"}),
    ({"worker": "李明"}, set()),
    ({"deadline_before": "2026-05-01"}, {"p-open"}),
    ({"kind": "REPORT"}, set()),
])
def test_filters(desk, filters, expected):
    assert ids(queries.complaints(desk, Principal(SHANGHAI, "SUPERVISOR"), filters)) == expected


def test_credit_code_filter_and_overdue_flag(desk):
    supervisor = Principal(SHANGHAI, "SUPERVISOR")
    page = queries.complaints(desk, supervisor, {"status": "IN_MEDIATION"})
    uscc = next(i["respondent_uscc"] for i in page.items if i["complaint_id"] == "x-open")
    assert ids(queries.complaints(desk, supervisor, {"uscc": uscc})) == {"x-open"}
    desk.clock.now = lambda: START + timedelta(days=61)  # past p-open's mediation deadline, not x-open's
    assert ids(queries.complaints(desk, supervisor, {"overdue": "true"})) == {"p-open"}
    assert {i["complaint_id"]: i["overdue"] for i in page.items} == {"p-open": False, "x-open": False}
    later = queries.complaints(desk, supervisor, {"status": "IN_MEDIATION"})
    assert {i["complaint_id"]: i["overdue"] for i in later.items} == {"p-open": True, "x-open": False}


@pytest.mark.parametrize("filters, field", [
    ({"status": "OPEN"}, "status"), ({"received_from": "3 March"}, "received_from"),
    ({"overdue": "maybe"}, "overdue"), ({"subject_area": "GOODS"}, "subject_area"),
])
def test_a_malformed_filter_names_its_field(desk, filters, field):
    with pytest.raises(InvalidQuery) as refused:
        queries.complaints(desk, Principal(SHANGHAI, "SUPERVISOR"), filters)
    assert refused.value.field == field


def test_soonest_deadline_first_and_a_cursor_from_another_sort_is_refused(desk):
    supervisor = Principal(SHANGHAI, "SUPERVISOR")
    page = queries.complaints(desk, supervisor, {}, sort="deadline", limit=2)
    assert [i["complaint_id"] for i in page.items] == ["p-open", "x-open"]
    rest = queries.complaints(desk, supervisor, {}, sort="deadline", cursor=page.next_cursor, limit=10)
    assert [i["deadline"] for i in rest.items] == [None, None, None]  # nothing due comes last
    with pytest.raises(InvalidQuery):
        queries.complaints(desk, supervisor, {}, sort="-received", cursor=page.next_cursor)


@pytest.mark.parametrize("sort", ["deadline", "received", "-received", "-updated"])
def test_pages_stay_whole_while_complaints_arrive(sort):
    """Every complaint present when the listing began is listed exactly once,
    whatever arrives between pages; none is listed twice."""
    app = Desk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    f = Feed()
    feed(app, [m for i in range(40) for m in f.complaint(f"c{i:02d}", PUDONG, START + timedelta(hours=i * 7 % 40))])
    who = Principal(PUDONG, "CASE_WORKER")
    before = {i["complaint_id"] for i in queries.complaints(app, who, {}, limit=None).items}
    seen, cursor, new = [], None, 0
    while True:
        page = queries.complaints(app, who, {}, sort=sort, cursor=cursor, limit=7)
        seen += [i["complaint_id"] for i in page.items]
        # Between pages: new complaints, some sorting before the cursor, some after.
        feed(app, f.complaint(f"n{new}", PUDONG, START + timedelta(hours=(new * 13) % 50)))
        new += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert before <= set(seen)
    app.close()


def test_cases_and_referrals(desk):
    assert ids(queries.cases(desk, Principal(XUHUI, "CASE_WORKER"), {})) == {"PC-1"}
    assert ids(queries.cases(desk, Principal(PUDONG, "CASE_WORKER"), {})) == set()
    assert ids(queries.cases(desk, Principal(SHANGHAI, "REGULATOR"), {"open": "true"})) == {"PC-1"}
    # A lead is named as enforcement names it (GET /cases/{id}); the desk's old name still filters.
    [lead] = queries.cases(desk, Principal(XUHUI, "CASE_WORKER"), {}).items
    assert lead["status"] == "LEAD"
    for name in ("LEAD", "OPENED", "LEAD,CLOSED"):
        assert ids(queries.cases(desk, Principal(XUHUI, "CASE_WORKER"), {"status": name})) == {"PC-1"}
    assert ids(queries.cases(desk, Principal(XUHUI, "CASE_WORKER"), {"status": "INVESTIGATING"})) == set()
    inbox = queries.referrals(desk, Principal("CA-310000", "AGENCY_SYSTEM"), {"to": "CA-310000"})
    assert [(r["complaint_id"], r["status"]) for r in inbox.items] == [("p-ref", "ISSUED")]
    assert inbox.items[0]["consumer_phone"] == "13812345678"  # the addressee must reach the consumer
    regulator = queries.referrals(desk, Principal(SHANGHAI, "REGULATOR"), {"from": PUDONG})
    assert [r["complaint_id"] for r in regulator.items] == ["p-ref"] and "consumer_name" not in regulator.items[0]
    with pytest.raises(NotAllowed):
        queries.referrals(desk, Principal("CA-440000", "AGENCY_SYSTEM"), {"to": "CA-310000"})
    sent = queries.referrals(desk, Principal(SHANGHAI, "SUPERVISOR"), {"from": PUDONG})
    assert [r["to_agency_id"] for r in sent.items] == ["CA-310000"]
    feed(desk, [desk.feed.message("ReferralAnswered", complaint_id="p-ref", agency_id="CA-310000",
                                  answer="ACKNOWLEDGED", reason=None)])
    inbox = queries.referrals(desk, Principal("CA-310000", "AGENCY_SYSTEM"), {})
    assert [r["status"] for r in inbox.items] == ["ACKNOWLEDGED"]



def test_an_answer_routing_published_shows_in_the_inbox_as_a_reply_over_kafka_does(desk):
    """An answer given over HTTP (the console's) reaches the desk as routing's
    ReferralAnswered: the inbox follows it, so a rebuild from the broker keeps it."""
    feed(desk, [desk.feed.message("ReferralAnswered", complaint_id="p-ref", agency_id="CA-310000",
                                  answer="DECLINED", reason="不属于本部门职责")])
    inbox = queries.referrals(desk, Principal("CA-310000", "AGENCY_SYSTEM"), {})
    assert [(r["status"], r["answer_reason"]) for r in inbox.items] == [("DECLINED", "不属于本部门职责")]
    # The same answer again (the agency's own reply over Kafka, say) changes nothing.
    feed(desk, [desk.feed.message("ReferralAcknowledged", complaint_id="p-ref", agency_id="CA-310000")])
    inbox = queries.referrals(desk, Principal("CA-310000", "AGENCY_SYSTEM"), {})
    assert [r["status"] for r in inbox.items] == ["DECLINED"]

def test_public_listing_and_operator_disclosure_carry_no_personal_data(desk):
    page = queries.public_complaints(desk, {})
    assert ids(page) == {"p-open", "p-agreed", "p-new", "x-open", "h-open", "p-ref"}
    text = repr(page.items)
    assert "张伟" not in text and "13812345678" not in text
    uscc = next(i["respondent_uscc"] for i in page.items if i["complaint_id"] == "p-agreed")
    disclosure = queries.operator(desk, uscc)
    assert (disclosure["complaints"], disclosure["agreed"], disclosure["amount_recovered_fen"]) == (1, 1, 1000)
    assert disclosure["agreed_share"] == 1.0
    assert disclosure["by_month"] == [{"month": "2026-03", "complaints": 1, "agreed": 1}]


def test_a_redelivered_batch_and_a_rebuild_leave_the_same_rows(desk):
    who = Principal(SHANGHAI, "SUPERVISOR")
    before = queries.complaints(desk, who, {}, limit=None).items
    again = desk.feed.message("MediationAgreed", complaint_id="p-open", amount_recovered_fen=5)
    feed(desk, [again])
    feed(desk, [again])
    after = {i["complaint_id"]: i for i in queries.complaints(desk, who, {}, limit=None).items}
    assert after["p-open"]["status"] == "AGREED" and after["p-open"]["amount_recovered_fen"] == 5
    desk.tables.rebuild()
    rebuilt = {i["complaint_id"]: i for i in queries.complaints(desk, who, {}, limit=None).items}
    assert rebuilt == after
    assert {i["complaint_id"] for i in before} == set(after)


def test_a_report_closed_with_its_case_leaves_the_inbox(desk):
    f, worker = desk.feed, Principal(XUHUI, "CASE_WORKER")
    messages = [f.message("ReportReceived", complaint_id="x-report", receiving_agency_id=XUHUI, occurred_at=START),
                f.message("PenaltyCaseOpened", complaint_id="x-report", case_id="PC-R", complaint_ids=["x-report"],
                          origin="REPORT", agency_id=XUHUI)]
    assert feed(desk, messages).dead == 0
    assert "x-report" in ids(queries.complaints(desk, worker, {"open": "true"}))
    assert feed(desk, [f.message("PenaltyCaseClosed", complaint_id="x-report", case_id="PC-R",
                                 outcome="罚款已缴纳", reports_closed=["x-report"])]).dead == 0
    [row] = [r for r in queries.complaints(desk, worker, {}).items if r["complaint_id"] == "x-report"]
    assert row["status"] == "CLOSED"
    assert "x-report" not in ids(queries.complaints(desk, worker, {"open": "true"}))


def test_a_lead_whose_check_was_extended_is_due_when_the_extension_says(desk):
    f, worker = desk.feed, Principal(XUHUI, "CASE_WORKER")
    extended = START + timedelta(days=40)
    assert feed(desk, [f.message("PenaltyCaseCheckExtended", complaint_id="x-open", case_id="PC-1",
                                 check_due=extended)]).dead == 0
    [lead] = queries.cases(desk, worker, {}).items
    assert lead["filing_due"] == extended.isoformat() and lead["deadline"] == "2026-04-11"


def test_a_case_under_investigation_is_due_when_its_decision_is(desk):
    f, worker = desk.feed, Principal(XUHUI, "CASE_WORKER")
    due = START + timedelta(days=95)
    assert feed(desk, [f.message("InvestigationStarted", complaint_id="x-open", case_id="PC-1",
                                 conclusion_due=due)]).dead == 0
    [case] = queries.cases(desk, worker, {}).items
    assert case["status"] == "INVESTIGATING" and case["deadline"] == "2026-06-05"

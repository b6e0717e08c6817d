"""A violation flagged on any complaint routing holds, whatever its state, goes
out as ViolationFound (routing writes violations.found too)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.bus.clock import Clock
from services.routing.application import Routing
from services.routing.calendar import end_of_day
from services.routing.domainmodel import Complaint
from services.routing.integration import integration_events
from tests.examples import EXAMPLES
from tests.inbound import deliver

UTC = timezone.utc
RECEIVED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("TOUSU_RULEBOOK", "SAMR-121")
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(UTC)
    return Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


def receive(app, cid, **changes):
    record = {**EXAMPLES["ComplaintReceived"], "complaint_id": cid, "occurred_at": RECEIVED,
              "aware_date": date(2026, 5, 1), "prior_handling": [], "preferred_agency_id": None, **changes}
    deliver(app, "routing", ("ComplaintReceived", record))


@pytest.mark.parametrize("changes, state, check_due, found_by", [
    # found Tuesday 2 June: 15 working days, 19 June off; an accepted complaint is in mediation's hands
    ({}, "ACCEPTED", end_of_day(date(2026, 6, 24)), "mediation"),
    ({"demands": []}, "REJECTED", None, "routing"),
    ({"subject_area": "TELECOM"}, "REFERRED", None, "routing"),
])
def test_a_violation_on_a_complaint_in_any_state_goes_out_as_violation_found(app, changes, state, check_due,
                                                                              found_by):
    receive(app, "TS-1", **changes)
    at = RECEIVED + timedelta(days=1)
    complaint = app.flag_violation("TS-1", "COUNTERFEIT", "标签与正品不符", at, "AMR-310115", "CASE_WORKER")
    assert complaint.state == state
    last = list(app.events.get(Complaint.create_id("TS-1")))[-1]
    [found] = integration_events(last, complaint)
    assert (found.topic, found.record_type) == ("violations.found", "ViolationFound")
    assert found.record["found_by"] == found_by and found.record["agency_id"] == complaint.agency_id
    assert found.record["respondent"]["name"] == EXAMPLES["ComplaintReceived"]["respondent"]["name"]
    assert found.record["check_due"] == check_due


def test_the_same_violation_flagged_twice_is_one_lead(app):
    receive(app, "TS-1", demands=[])
    for _ in range(2):
        app.flag_violation("TS-1", "COUNTERFEIT", "标签与正品不符", RECEIVED, "AMR-310115", "CASE_WORKER")
    names = [type(e).__name__ for e in app.events.get(Complaint.create_id("TS-1"))]
    assert names.count("ViolationFlagged") == 1


def test_a_violation_is_not_seen_before_the_complaint_was_received(app):
    from services.contract.errors import InvalidField

    receive(app, "TS-1")
    with pytest.raises(InvalidField) as refused:
        app.flag_violation("TS-1", "COUNTERFEIT", "标签与正品不符", datetime(1999, 1, 1, tzinfo=UTC),
                           "AMR-310115", "CASE_WORKER")
    assert refused.value.field == "at"
    assert "ViolationFlagged" not in [type(e).__name__ for e in app.events.get(Complaint.create_id("TS-1"))]


def test_a_referral_and_a_transfer_are_explained_naming_the_agency(app):
    from services.agencies.directory import Directory

    directory = Directory.load()
    receive(app, "TS-2", subject_area="TELECOM")
    complaint = app.complaint("TS-2")
    referred = [e for e in app.events.get(complaint.id) if type(e).__name__ == "Referred"][-1]
    [decision, inbox, _] = integration_events(referred, complaint, directory=directory)
    says = decision.record["explanation"]
    assert "上海市通信管理局（CA-310000）" in says and "电信服务" in says
    assert "国家市场监督管理总局令第121号" in says and "第十六条第（一）项" in says
    receive(app, "TS-3", receiving_agency_id="AMR-440106")  # under SAMR-121 a county without competence refuses
    assert app.complaint("TS-3").reason == "NOT_COMPETENT"
    app.escalate("TS-3", RECEIVED, "AMR-440106", "CASE_WORKER")
    complaint = app.decide_escalation("TS-3", "TAKE_OVER", None, RECEIVED, "AMR-440100", "SUPERVISOR")
    moved = [e for e in app.events.get(complaint.id) if type(e).__name__ == "Transferred"][-1]
    [transfer, _] = integration_events(moved, complaint, directory=directory)
    assert transfer.record["explanation"] == "您的投诉已报请上级机关广州市市场监督管理局（AMR-440100）处理。"

"""Routing's decisions as stored events, with an in-memory store and a movable clock."""
from datetime import datetime, timedelta, timezone

import pytest

from services.bus.clock import Clock
from services.routing.application import JurisdictionRefused, Routing
from services.routing.domainmodel import Complaint
from tests.examples import EXAMPLES
from tests.inbound import deliver

RECEIVED = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)  # Monday 2 March 2026, 09:30 in Beijing


def received(cid="TS-1", **changes):
    record = dict(EXAMPLES["ComplaintReceived"], complaint_id=cid, occurred_at=RECEIVED,
                  aware_date=RECEIVED.date(), prior_handling=[], preferred_agency_id=None)
    record.update(changes)
    return record


@pytest.fixture
def app():
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(timezone.utc)
    return Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


def events(app, cid="TS-1"):
    return [type(e).__name__ for e in app.events.get(Complaint.create_id(cid))]


def receive(app, record):
    deliver(app, "routing", ("ComplaintReceived", record))


def test_a_complaint_in_remit_is_accepted_by_the_competent_bureau_with_its_due_date(app):
    receive(app, received())
    complaint = app.complaint("TS-1")
    assert events(app) == ["Received", "Accepted"]
    assert complaint.agency_id == "AMR-310115" and complaint.basis == "FIRST_RECEIVED"
    # 7 working days after Monday 2 March 2026: Wednesday 11 March, end of day in Beijing.
    assert complaint.decision_due == datetime(2026, 3, 11, 15, 59, 59, 999000, tzinfo=timezone.utc)


def test_a_complaint_received_by_a_bureau_that_is_not_competent_is_transferred_then_accepted(app):
    receive(app, received(receiving_agency_id="AMR-440106"))
    assert events(app) == ["Received", "Transferred", "Accepted"]
    assert app.complaint("TS-1").agency_id == "AMR-310115"


def test_a_complaint_missing_its_request_is_not_accepted_with_the_reason(app):
    receive(app, received(demands=[]))
    complaint = app.complaint("TS-1")
    assert events(app) == ["Received", "Rejected"]
    assert complaint.reason == "NO_SPECIFIC_REQUEST" and "请求" in complaint.explanation


def test_a_matter_outside_market_regulation_is_referred_with_a_reply_time(app):
    receive(app, received(subject_area="TELECOM"))
    complaint = app.complaint("TS-1")
    assert events(app) == ["Received", "Referred"]
    [(referral_id, referral)] = complaint.referrals.items()
    assert referral["to_agency_id"] == "CA-310000" and referral["status"] == "ISSUED"
    assert referral["reply_due"] > RECEIVED


def test_a_decision_made_after_its_due_date_is_flagged_overdue_first(app):
    app.clock.advance(timedelta(days=20))
    receive(app, received())
    assert events(app) == ["Received", "DecisionOverdue", "Accepted"]


def test_the_same_complaint_received_twice_is_decided_once(app):
    receive(app, received())
    receive(app, received())
    assert events(app) == ["Received", "Accepted"]


def test_an_unanswered_referral_is_flagged_after_its_reply_time_and_only_once(app):
    receive(app, received(subject_area="FINANCE"))
    assert app.flag_overdue() == 0
    app.clock.advance(timedelta(days=15))
    assert app.flag_overdue() == 1
    assert app.flag_overdue() == 0
    assert events(app)[-1] == "ReferralOverdue"


def reply(app, record_type, **record):
    deliver(app, "routing", (record_type, {**EXAMPLES[record_type], "complaint_id": "TS-1", **record}))


def refused_reply(app, record_type, **record) -> str:
    """The dead letter a reply that answers nothing becomes: its error."""
    from services.bus.codec import default_codec
    from services.bus.consumer import BatchProcessor
    from services.bus.deadletters import DeadLetter
    from services.system import spec
    from tests.inbound import messages

    given = messages(app, (record_type, {**EXAMPLES[record_type], "complaint_id": "TS-1", **record}))
    assert BatchProcessor(app, spec("routing").handler(app), default_codec()).process(given).dead == 1
    stored = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(0, 10_000)]
    return [e for e in stored if isinstance(e, DeadLetter.Recorded)][-1].error


def test_only_the_addressee_holding_the_referral_id_can_answer_on_the_bus(app):
    receive(app, received(subject_area="TELECOM"))
    [referral_id] = app.complaint("TS-1").referrals
    # Ids that could be guessed from the complaint id, or the right id in another
    # agency's name, change nothing, and nothing is dropped unsaid: each is a dead letter.
    assert "no referral TS-1/R1 of complaint TS-1" in refused_reply(
        app, "ReferralDeclined", referral_id="TS-1/R1", agency_id="CA-310000", reason="x")
    assert "addressed to CA-310000, not EEB-310115" in refused_reply(
        app, "ReferralDeclined", referral_id=referral_id, agency_id="EEB-310115", reason="x")
    # A reason no HTTP reply may give (kept, it went out twice in one message larger than the broker takes).
    assert "reason is 1200000 characters; at most 2000" in refused_reply(
        app, "ReferralDeclined", referral_id=referral_id, agency_id="CA-310000", reason="长" * 1_200_000)
    assert events(app) == ["Received", "Referred"]
    reply(app, "ReferralAcknowledged", referral_id=referral_id, agency_id="CA-310000")
    assert events(app) == ["Received", "Referred", "ReferralAcknowledged"]
    # The answering agency's system acted: the audit record names it.
    answered = list(app.events.get(Complaint.create_id("TS-1")))[-1]
    assert (answered.by_agency, answered.by_role) == ("CA-310000", "AGENCY_SYSTEM")
    assert "answered already (ACKNOWLEDGED)" in refused_reply(
        app, "ReferralDeclined", referral_id=referral_id, agency_id="CA-310000", reason="又不接收了")


def test_referral_ids_cannot_be_derived_from_the_complaint(app):
    other = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=app.clock)
    receive(app, received(subject_area="TELECOM"))
    receive(other, received(subject_area="TELECOM"))
    [mine], [theirs] = app.complaint("TS-1").referrals, other.complaint("TS-1").referrals
    assert mine != theirs and mine.startswith("TS-1/R1-") and len(mine) >= len("TS-1/R1-") + 32


def test_a_late_answer_still_counts(app):
    receive(app, received(subject_area="FINANCE"))
    app.clock.advance(timedelta(days=15))
    assert app.flag_overdue() == 1
    [referral_id] = app.complaint("TS-1").referrals
    reply(app, "ReferralAcknowledged", referral_id=referral_id, agency_id="NFRA-310000")
    assert events(app)[-1] == "ReferralAcknowledged"
    assert app.complaint("TS-1").referrals[referral_id]["status"] == "ACKNOWLEDGED"


def test_the_addressee_answers_over_http_once_and_a_decline_with_a_suggestion_refers_again(app):
    receive(app, received(subject_area="TELECOM"))
    at = RECEIVED + timedelta(days=1)
    with pytest.raises(JurisdictionRefused, match="waiting for EEB-310115"):
        app.answer_referral("TS-1", "EEB-310115", True, None, None, at, "AGENCY_SYSTEM")
    complaint = app.answer_referral("TS-1", "CA-310000", False, "不属于本机关职责", "EEB-310115", at, "AGENCY_SYSTEM")
    assert events(app)[-2:] == ["ReferralDeclined", "Referred"]
    assert [r["to_agency_id"] for r in complaint.referrals.values()] == ["CA-310000", "EEB-310115"]
    declined = list(app.events.get(Complaint.create_id("TS-1")))[-2]
    assert (declined.agency_id, declined.by_agency, declined.by_role) == ("CA-310000", "CA-310000", "AGENCY_SYSTEM")
    with pytest.raises(JurisdictionRefused, match="waiting for CA-310000"):
        app.answer_referral("TS-1", "CA-310000", True, None, None, at, "AGENCY_SYSTEM")
    app.answer_referral("TS-1", "EEB-310115", True, None, None, at, "CASE_WORKER")
    assert events(app)[-1] == "ReferralAcknowledged"


def test_a_decline_without_a_competent_agency_leaves_the_complaint_out_of_remit(app):
    receive(app, received(subject_area="TELECOM"))
    complaint = app.answer_referral("TS-1", "CA-310000", False, "不属于本机关职责", None,
                                    RECEIVED + timedelta(days=1), "CASE_WORKER")
    assert events(app)[-2:] == ["ReferralDeclined", "Rejected"]
    assert complaint.reason == "OUT_OF_REMIT"


def test_a_decline_naming_a_market_regulation_bureau_refers_to_nobody(app):
    receive(app, received(subject_area="TELECOM"))
    [referral_id] = app.complaint("TS-1").referrals
    reply(app, "ReferralDeclined", complaint_id="TS-1", referral_id=referral_id, agency_id="CA-310000",
          reason="属于市场监管部门职责", suggested_agency_id="AMR-310115")
    complaint = app.complaint("TS-1")
    assert list(complaint.referrals) == [referral_id], "no referral of market regulation to itself"
    assert events(app)[-2:] == ["ReferralDeclined", "Rejected"]


def test_the_timers_watch_only_the_undecided_and_the_referrals_awaiting_an_answer(app):
    receive(app, received("TS-1"))
    receive(app, received("TS-2", subject_area="TELECOM"))
    receive(app, received("TS-3", demands=[]))
    watched = lambda: app.open_complaints.refresh()  # noqa: E731
    assert watched() == {Complaint.create_id("TS-2")}
    [referral_id] = app.complaint("TS-2").referrals
    reply(app, "ReferralDeclined", complaint_id="TS-2", referral_id=referral_id, agency_id="CA-310000",
          reason="x", suggested_agency_id="EEB-310115")
    assert watched() == {Complaint.create_id("TS-2")}  # referred again, waiting again
    # Read afresh from the log, as after a restart: the same one complaint, not all three.
    app.open_complaints.position, app.open_complaints.ids = 0, set()
    assert watched() == {Complaint.create_id("TS-2")}
    [_, second] = app.complaint("TS-2").referrals
    reply(app, "ReferralAcknowledged", complaint_id="TS-2", referral_id=second, agency_id="EEB-310115")
    assert watched() == set()


# Bought in a shop whose place no address shows.
NOWHERE = {**EXAMPLES["ComplaintReceived"]["transaction"], "online": False, "platform": None, "place_adcode": None}


@pytest.mark.parametrize("changes, agency_id, needs_placement", [
    ({}, "AMR-310115", False),                                              # the operator's place is known
    ({"respondent": {"name": "某某百货商店", "address": "中山路100号", "adcode": None},
      "transaction": NOWHERE},
     "AMR-310115", True),                                                   # a street in a hundred cities
    ({"respondent": {"name": "某某百货商店", "adcode": "440100"},          # a city, not a county
      "transaction": NOWHERE},
     "AMR-310115", True),
])
def test_a_complaint_no_address_places_is_held_by_the_receiving_bureau_marked_for_placement(
        app, changes, agency_id, needs_placement):
    receive(app, received(**changes))
    complaint = app.complaint("TS-1")
    assert complaint.state == "ACCEPTED" and complaint.agency_id == agency_id
    assert complaint.needs_placement is needs_placement


def test_placing_the_complaint_clears_the_mark():
    from services.routing.integration import integration_events

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    receive(app, received(respondent={"name": "某某百货商店", "address": "中山路100号"},
                          transaction=NOWHERE))
    accepted = list(app.events.get(Complaint.create_id("TS-1")))[-1]
    [decision, _] = integration_events(accepted, app.complaint("TS-1"))
    assert decision.record_type == "ComplaintAccepted" and decision.record["needs_placement"] is True
    # Found out: the operator is in Pudong, whose superior takes it and can pass it down.
    placed = app.take_over("TS-1", RECEIVED + timedelta(days=1), "AMR-310000", "SUPERVISOR")
    assert placed.needs_placement is False


CO = [{"name": "李娜", "phone": "13900002222"}, {"name": "王芳", "phone": "13900003333"}]


@pytest.mark.parametrize("co_consumers, representatives, count, represented", [
    ([], [], 1, []),                                      # one consumer acts for herself
    (CO, [], 3, ["李娜", "王芳"]),                        # no one elected: the filer acts, the others consent
    (CO, ["李娜"], 3, ["张三", "王芳"]),
    (CO, ["张三", "王芳"], 3, ["李娜"]),                  # two representatives (Order 121 art. 12)
])
def test_a_joint_complaint_is_one_complaint_of_several_consumers(co_consumers, representatives, count, represented):
    from services.routing.integration import integration_events

    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    consumer = {**EXAMPLES["ComplaintReceived"]["consumer"], "name": "张三"}
    receive(app, received(consumer=consumer, co_consumers=co_consumers, representatives=representatives))
    complaint = app.complaint("TS-1")
    assert complaint.state == "ACCEPTED" and complaint.agency_id == "AMR-310115"
    accepted = list(app.events.get(Complaint.create_id("TS-1")))[-1]
    [decision, public] = integration_events(accepted, complaint)
    assert decision.record["consumer_count"] == count and decision.record["represented"] == represented
    assert "李娜" not in repr(public.record) and "张三" not in repr(public.record)


@pytest.mark.parametrize("rulebook, names_routes", [("SAIC-62", False), ("SAMR-121", True)])
def test_a_referral_and_its_decline_name_the_other_routes_under_order_121(rulebook, names_routes, monkeypatch):
    # Order 121 art. 15: a complaint not accepted is told the routes of CPL art. 39, a referral too (16(1)).
    from services.routing.integration import referred_explanation

    monkeypatch.setenv("TOUSU_RULEBOOK", rulebook)
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(timezone.utc)
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    receive(app, received(subject_area="TELECOM"))
    complaint = app.complaint("TS-1")
    assert complaint.rulebook == rulebook
    routes = "根据与经营者达成的仲裁协议提请仲裁机构仲裁"
    assert (routes in referred_explanation(complaint, "CA-310000", "TELECOM")) is names_routes
    [referral_id] = complaint.referrals
    reply(app, "ReferralDeclined", complaint_id="TS-1", referral_id=referral_id, agency_id="CA-310000",
          reason="不属于本机关职责", suggested_agency_id=None)
    assert (routes in app.complaint("TS-1").explanation) is names_routes


def book_app(rulebook: str, monkeypatch) -> Routing:
    monkeypatch.setenv("TOUSU_RULEBOOK", rulebook)
    clock = Clock()
    clock.offset = RECEIVED + timedelta(hours=1) - datetime.now(timezone.utc)
    return Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


@pytest.mark.parametrize("rulebook", ["SAMR-20", "SAMR-121"])
def test_a_dispute_a_bureau_accepted_is_not_accepted_again(rulebook, monkeypatch):
    # Order 20 art. 15(2), Order 121 art. 16(2): 市场监督管理部门已经受理或者处理过同一消费者权益争议的.
    from services.routing.domainmodel import Dispute
    from services.routing.integration import integration_events

    app = book_app(rulebook, monkeypatch)
    receive(app, received("TS-1"))
    assert app.complaint("TS-1").state == "ACCEPTED"
    # The same consumer about the same purchase, in other words, to the other competent bureau (the platform's).
    receive(app, received("TS-2", facts="同一件商品，再次投诉。", receiving_agency_id="AMR-330106"))
    again = app.complaint("TS-2")
    assert events(app, "TS-2") == ["Received", "Rejected"]
    assert again.reason == "PRIOR_HANDLING" and "TS-1" in again.explanation and "AMR-310115" in again.explanation
    # Routing's index of disputes stays in its store: nothing of it goes on the bus.
    [stored] = [e for e in app.events.get(Dispute.create_id(app_key(app, "TS-1")))]
    assert integration_events(stored, app.repository.get(stored.originator_id)) == []
    # Its id, on audit.log, cannot be checked against a phone number without the service's secret.
    from services.routing import rules
    raw = rules.dispute_key(app.complaint("TS-1").record)
    assert stored.originator_id != Dispute.create_id(raw) and "13812345678" not in str(vars(stored))


def app_key(app, complaint_id: str) -> str:
    from services.routing import rules
    return app.sealed(rules.dispute_key(app.complaint(complaint_id).record))


@pytest.mark.parametrize("second", [
    {"transaction": {**EXAMPLES["ComplaintReceived"]["transaction"], "date": RECEIVED.date().replace(day=1)}},
    {"consumer": {**EXAMPLES["ComplaintReceived"]["consumer"], "id_number": None, "phone": "13900000009"}},
    {"respondent": {**EXAMPLES["ComplaintReceived"]["respondent"], "name": "上海另一家电器有限公司", "uscc": None}},
])
def test_another_purchase_consumer_or_operator_is_another_dispute(second, monkeypatch):
    app = book_app("SAMR-121", monkeypatch)
    receive(app, received("TS-1"))
    receive(app, received("TS-2", **second))
    assert app.complaint("TS-2").state == "ACCEPTED"


def test_a_dispute_first_refused_or_under_order_62_is_accepted_when_complained_of_again(monkeypatch):
    app = book_app("SAMR-121", monkeypatch)
    receive(app, received("TS-1", demands=[]))  # not accepted: nothing to handle yet
    receive(app, received("TS-2"))
    assert app.complaint("TS-2").state == "ACCEPTED"
    # Order 62 bars only a dispute already mediated (ALREADY_MEDIATED, as the consumer says).
    old = book_app("SAIC-62", monkeypatch)
    receive(old, received("TS-1"))
    receive(old, received("TS-2"))
    assert old.complaint("TS-2").state == "ACCEPTED"


def test_without_the_amounts_two_purchases_of_one_day_are_not_matched_on_a_guess(monkeypatch):
    app = book_app("SAMR-121", monkeypatch)
    unpriced = {"transaction": {**EXAMPLES["ComplaintReceived"]["transaction"], "amount_fen": None}}
    receive(app, received("TS-1", **unpriced))
    receive(app, received("TS-2", **unpriced))
    assert app.complaint("TS-2").state == "ACCEPTED"

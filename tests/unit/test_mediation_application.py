"""Mediation's application on an in-memory store: a withdrawal that passes the
opening of its case still ends it."""
from datetime import timedelta

import pytest

from services.bus.clock import Clock
from services.bus.store import UnitOfWork
from services.mediation.application import Mediation
from services.mediation.domainmodel import MediationCase
from tests.examples import EXAMPLES
from tests.inbound import deliver

ACCEPTED = dict(EXAMPLES["ComplaintAccepted"], complaint_id="TS-1")


@pytest.fixture
def app():
    return Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=Clock())


def test_a_withdrawal_recorded_before_the_case_opens_ends_it_as_it_opens(app):
    app.withdraw("TS-1", ACCEPTED["decided_at"] - timedelta(hours=1), "AMR-310115", "CASE_WORKER")
    deliver(app, "mediation", ("ComplaintAccepted", ACCEPTED))
    case = app.case("TS-1")
    assert case.status == "TERMINATED" and case.termination["reason"] == "WITHDRAWN"
    assert app.honour_withdrawals() == 0


def test_a_withdrawal_that_passes_the_opening_of_its_case_reaches_it_on_the_next_round(app):
    # Inside the opening's own unit of work, so that the withdrawal lands between
    # its look for one and its commit: a race no delivered message can stage.
    uow = UnitOfWork(app)
    app.open(uow, ACCEPTED)  # has looked for a withdrawal and found none
    assert app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-310115", "CASE_WORKER") == "WITHDRAWN_BEFORE_MEDIATION"
    uow.commit()
    assert app.case("TS-1").status == "AWAITING_CONSENT"

    assert app.honour_withdrawals() == 1
    case = app.case("TS-1")
    assert case.status == "TERMINATED" and case.termination["reason"] == "WITHDRAWN"
    assert app.honour_withdrawals() == 0  # once


def test_a_withdrawal_by_an_agency_with_no_say_over_the_case_stays_without_effect(app):
    # Between the opening's look for a withdrawal and its commit, as above.
    uow = UnitOfWork(app)
    app.open(uow, ACCEPTED)
    app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-440106", "CASE_WORKER")
    uow.commit()
    assert app.honour_withdrawals() == 0
    assert app.case("TS-1").status == "AWAITING_CONSENT"


def test_a_withdrawal_waits_while_its_case_has_not_opened(app):
    app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-310115", "CASE_WORKER")
    assert app.honour_withdrawals() == 0
    deliver(app, "mediation", ("ComplaintAccepted", ACCEPTED))
    assert app.case("TS-1").status == "TERMINATED"


def test_the_time_limit_timer_watches_only_live_cases(app):
    for cid in ("TS-1", "TS-2"):
        deliver(app, "mediation", ("ComplaintAccepted", dict(ACCEPTED, complaint_id=cid)))
    assert app.live_cases.refresh() == {MediationCase.create_id("TS-1"), MediationCase.create_id("TS-2")}
    app.withdraw("TS-1", ACCEPTED["decided_at"] + timedelta(days=1), "AMR-310115", "CASE_WORKER")
    assert app.live_cases.refresh() == {MediationCase.create_id("TS-2")}


JOINT = dict(ACCEPTED, consumer_count=3, represented=["李娜", "王芳"])


def test_a_joint_complaints_early_withdrawal_without_every_consent_stays_without_effect(app):
    # Order 121 art. 12: giving up the complaint binds the represented only with their consent.
    app.withdraw("TS-1", ACCEPTED["decided_at"] - timedelta(hours=1), "AMR-310115", "CASE_WORKER",
                 represented_consent=["李娜"])
    uow = UnitOfWork(app)
    app.open(uow, JOINT)
    uow.commit()
    assert app.honour_withdrawals() == 0
    assert app.case("TS-1").status == "AWAITING_CONSENT"
    # Made again once everyone consented, it ends the case.
    assert app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-310115", "CASE_WORKER",
                        represented_consent=["李娜", "王芳"]) == "TERMINATED"
    case = app.case("TS-1")
    assert case.termination["reason"] == "WITHDRAWN" and case.termination["represented_consent"] == ["李娜", "王芳"]


def test_a_joint_complaints_early_withdrawal_with_every_consent_ends_the_case_as_it_opens(app):
    app.withdraw("TS-1", ACCEPTED["decided_at"] - timedelta(hours=1), "AMR-310115", "CASE_WORKER",
                 represented_consent=["李娜"])
    app.withdraw("TS-1", ACCEPTED["decided_at"] - timedelta(minutes=30), "AMR-310115", "CASE_WORKER",
                 represented_consent=["王芳", "李娜"])
    uow = UnitOfWork(app)
    app.open(uow, JOINT)
    uow.commit()
    assert app.case("TS-1").termination["reason"] == "WITHDRAWN"


def test_a_joint_complaints_withdrawal_in_mediation_needs_every_consent(app):
    uow = UnitOfWork(app)
    app.open(uow, JOINT)
    uow.commit()
    with pytest.raises(ValueError, match="missing 王芳"):
        app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-310115", "CASE_WORKER", represented_consent=["李娜"])
    assert app.case("TS-1").status == "AWAITING_CONSENT"
    assert app.withdraw("TS-1", ACCEPTED["decided_at"], "AMR-310115", "CASE_WORKER",
                        represented_consent=["李娜", "王芳"]) == "TERMINATED"


def test_the_public_feed_keeps_the_day_the_complaint_was_received(app):
    from datetime import date

    from services.mediation.integration import integration_events

    deliver(app, "mediation", ("ComplaintAccepted", EXAMPLES["ComplaintAccepted"]))  # received 2026-03-02
    case_id = MediationCase.create_id(EXAMPLES["ComplaintAccepted"]["complaint_id"])
    opened = list(app.events.get(case_id))[0]  # read back from the store, as the relay reads it
    [update] = [o for o in integration_events(opened, app.find(case_id)) if o.record_type == "PublicComplaintUpdate"]
    assert update.record["status"] == "IN_MEDIATION"
    assert update.record["received_on"] == date(2026, 3, 2) and update.record["decided_on"] == date(2026, 3, 2)

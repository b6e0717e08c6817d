"""Escalation and jurisdiction disputes as case-worker commands."""
from datetime import datetime, timezone

import pytest

from services.mediation.domainmodel import MediationCase
from services.routing.application import JurisdictionRefused, Routing
from tests.inbound import deliver
from tests.unit.test_routing_application import RECEIVED, received

AT = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def app():
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    deliver(app, "routing", ("ComplaintReceived", received()))
    return app


def test_a_bureau_asks_its_superior_and_the_complaint_stays_until_it_decides(app):
    asked = app.escalate("TS-1", AT, "AMR-310115", "CASE_WORKER")
    assert asked.agency_id == "AMR-310115" and asked.escalation["superior_id"] == "AMR-310000"
    with pytest.raises(JurisdictionRefused, match="already waits"):
        app.escalate("TS-1", AT, "AMR-310115", "CASE_WORKER")
    assert app.decide_escalation("TS-1", "TAKE_OVER", None, AT, "AMR-310000", "SUPERVISOR").agency_id == "AMR-310000"
    assert app.complaint("TS-1").escalation is None


def test_the_superior_may_designate_a_bureau_below_it_or_refuse(app):
    app.escalate("TS-1", AT, "AMR-310115", "CASE_WORKER")
    with pytest.raises(JurisdictionRefused, match="not a bureau below"):
        app.decide_escalation("TS-1", "DESIGNATE", "AMR-440106", AT, "AMR-310000", "SUPERVISOR")
    assert app.decide_escalation("TS-1", "DESIGNATE", "AMR-310104", AT, "AMR-310000", "SUPERVISOR").agency_id \
        == "AMR-310104"
    app.escalate("TS-1", AT, "AMR-310104", "CASE_WORKER")
    refused = app.decide_escalation("TS-1", "REFUSE", None, AT, "AMR-310000", "SUPERVISOR")
    assert refused.agency_id == "AMR-310104" and refused.escalation is None
    with pytest.raises(JurisdictionRefused, match="no request waiting"):
        app.decide_escalation("TS-1", "TAKE_OVER", None, AT, "AMR-310000", "SUPERVISOR")


def test_a_dispute_goes_to_the_common_superior_who_designates_the_handler(app):
    complaint = app.dispute("TS-1", "AMR-310104", AT, "AMR-310115", "CASE_WORKER")
    assert complaint.dispute["superior_id"] == "AMR-310000"
    assert app.designate("TS-1", "AMR-310104", AT, "AMR-310000", "SUPERVISOR").agency_id == "AMR-310104"
    assert app.complaint("TS-1").dispute is None


def test_a_dispute_across_provinces_goes_to_the_national_administration(app):
    # Order 121 art. 33: the common superior at whatever level; for Beijing and Shanghai, SAMR itself.
    complaint = app.dispute("TS-1", "AMR-110108", AT, "AMR-310115", "CASE_WORKER")
    assert complaint.dispute["superior_id"] == "AMR-100000"
    assert app.designate("TS-1", "AMR-110108", AT, "AMR-100000", "SUPERVISOR").agency_id == "AMR-110108"


def test_a_provincial_bureau_asks_the_national_administration(app):
    app.take_over("TS-1", AT, "AMR-310000", "SUPERVISOR")
    assert app.escalate("TS-1", AT, "AMR-310000", "SUPERVISOR").escalation["superior_id"] == "AMR-100000"
    assert app.decide_escalation("TS-1", "TAKE_OVER", None, AT, "AMR-100000", "SUPERVISOR").agency_id == "AMR-100000"
    with pytest.raises(JurisdictionRefused, match="no superior"):
        app.escalate("TS-1", AT, "AMR-100000", "SUPERVISOR")


def test_a_dispute_with_an_agency_outside_the_chain_of_command_is_refused(app):
    with pytest.raises(JurisdictionRefused, match="no common superior"):
        app.dispute("TS-1", "EEB-310115", AT, "AMR-310115", "CASE_WORKER")


def test_only_a_party_or_the_superior_can_be_designated(app):
    app.dispute("TS-1", "AMR-310104", AT, "AMR-310115", "CASE_WORKER")
    with pytest.raises(JurisdictionRefused):
        app.designate("TS-1", "AMR-310101", AT, "AMR-310000", "SUPERVISOR")


def test_designation_without_a_dispute_is_refused(app):
    with pytest.raises(JurisdictionRefused, match="no jurisdiction dispute"):
        app.designate("TS-1", "AMR-310104", AT, "AMR-310000", "SUPERVISOR")


def test_an_open_mediation_case_follows_the_complaint_to_its_new_bureau():
    case = MediationCase("TS-1", "AMR-310115", RECEIVED)
    assert case.reassign("AMR-310000", AT)
    assert case.agency_id == "AMR-310000"
    assert not case.reassign("AMR-310000", AT)


def test_the_provincial_bureau_takes_a_complaint_over_to_handle_it_itself(app):
    complaint = app.take_over("TS-1", AT, "AMR-310000", "SUPERVISOR")
    assert complaint.agency_id == "AMR-310000"
    assert [type(e).__name__ for e in app.events.get(complaint.id)][-1] == "Transferred"


@pytest.mark.parametrize("other", ["AMR-310104", "AMR-440000", "AMR-310115"])
def test_only_a_bureau_above_may_take_a_complaint_over(app, other):
    with pytest.raises(JurisdictionRefused, match="is not above"):
        app.take_over("TS-1", AT, other, "SUPERVISOR")

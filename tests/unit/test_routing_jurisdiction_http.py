"""The jurisdiction decisions over HTTP (routing's routes over its own store):
only the superior asked, the common superior, or a party to the dispute may
act, and a stranger hears 403 before anything of the complaint's state."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from services import auth, casework
from services.http import build_app
from services.routing.application import Routing
from tests import factories
from tests.inbound import deliver
from tests.unit.test_routing_application import received

KEY = "unit-test-signing-key-thirty-two-bytes"
PUDONG, SHANGHAI, HUANGPU, GUANGZHOU = "AMR-310115", "AMR-310000", "AMR-310101", "AMR-440106"
AT = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc).isoformat()


@pytest.fixture
def routing(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Routing(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    deliver(app, "routing", ("ComplaintReceived", received()))
    yield app
    app.close()
    casework._key.cache_clear()


def post(app: Routing, path: str, agency: str, role: str = "CASE_WORKER", **body):
    client = TestClient(build_app({"routing": factories.runner("routing", app)}))
    token = auth.issue(agency, role, KEY.encode())
    return client.post(f"/complaints/TS-1/jurisdiction/{path}", json={"at": AT, **body},
                       headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("path, body", [("escalation/decision", {"decision": "TAKE_OVER"}),
                                        ("designation", {"agency_id": PUDONG})])
def test_with_nothing_to_decide_a_stranger_is_refused_before_the_state_is_said(routing, path, body):
    assert post(routing, path, GUANGZHOU, **body).status_code == 403
    refused = post(routing, path, PUDONG, **body)
    assert refused.status_code == 409 and refused.json()["current_state"] == "ACCEPTED"


def test_only_the_superior_asked_decides_an_escalation(routing):
    assert post(routing, "escalation", PUDONG).status_code == 200
    assert post(routing, "escalation/decision", PUDONG, decision="TAKE_OVER").status_code == 403
    decided = post(routing, "escalation/decision", SHANGHAI, "SUPERVISOR", decision="TAKE_OVER")
    assert decided.status_code == 200 and decided.json()["agency_id"] == SHANGHAI


def test_the_other_bureau_may_raise_a_dispute_and_only_the_common_superior_designates(routing):
    assert post(routing, "dispute", GUANGZHOU, with_agency_id=HUANGPU).status_code == 403
    disputed = post(routing, "dispute", HUANGPU, with_agency_id=HUANGPU)
    assert disputed.status_code == 200 and disputed.json()["dispute"]["superior_id"] == SHANGHAI
    again = post(routing, "dispute", PUDONG, with_agency_id=HUANGPU)  # the other party raises it too
    assert again.status_code == 200 and again.json()["dispute"] == disputed.json()["dispute"], "its date stands"
    other = post(routing, "dispute", PUDONG, with_agency_id="AMR-310104")
    assert other.status_code == 409 and "already before AMR-310000" in other.json()["detail"]
    assert post(routing, "designation", PUDONG, agency_id=HUANGPU).status_code == 403
    designated = post(routing, "designation", SHANGHAI, "SUPERVISOR", agency_id=HUANGPU)
    assert designated.status_code == 200 and designated.json()["agency_id"] == HUANGPU


@pytest.mark.parametrize("path, body, field", [
    ("escalation/decision", {"decision": "DESIGNATE"}, "agency_id"),
    ("escalation/decision", {"decision": "DESIGNATE", "agency_id": "garbage"}, "agency_id"),
    ("designation", {"agency_id": "AMR-999999"}, "agency_id"),
    ("dispute", {"with_agency_id": "nobody"}, "with_agency_id"),
])
def test_an_agency_that_is_not_in_the_directory_is_refused_naming_the_field(routing, path, body, field):
    refused = post(routing, path, SHANGHAI, "SUPERVISOR", **body)
    assert refused.status_code == 422 and refused.json()["field"] == field


@pytest.mark.parametrize("suggested", ["garbage", PUDONG])
def test_a_decline_suggests_another_agency_or_none(routing, suggested):
    client = TestClient(build_app({"routing": factories.runner("routing", routing)}))
    token = auth.issue("HC-310115", "AGENCY_SYSTEM", KEY.encode())
    refused = client.post("/complaints/TS-1/referral/reply",
                          json={"answer": "DECLINED", "reason": "不属本局", "suggested_agency_id": suggested},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and refused.json()["field"] == "suggested_agency_id"


def test_an_unknown_complaint_is_a_404_that_says_so(routing):
    client = TestClient(build_app({"routing": factories.runner("routing", routing)}))
    token = auth.issue(PUDONG, "CASE_WORKER", KEY.encode())
    missing = client.post("/complaints/TS-NOPE/violations", json={"violation_type": "COUNTERFEIT", "evidence": "x"},
                          headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and missing.json()["detail"].startswith("no complaint TS-NOPE is known")


def test_a_superiors_take_over_settles_the_dispute_as_a_designation_does(routing):
    assert post(routing, "dispute", HUANGPU, with_agency_id=HUANGPU).status_code == 200
    assert post(routing, "escalation", PUDONG).status_code == 200
    taken = post(routing, "escalation/decision", SHANGHAI, "SUPERVISOR", decision="TAKE_OVER")
    assert taken.status_code == 200 and taken.json()["agency_id"] == SHANGHAI and taken.json()["dispute"] is None

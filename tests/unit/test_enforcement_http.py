"""A lead's check period extended over HTTP, as the bureau's head approves it
(SAMR-20 art. 23, SAMR-121 art. 27): the route takes the approval, refuses a
case worker's token and a second extension."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services import auth, casework
from services.enforcement.application import Enforcement
from services.http import build_app
from tests import factories
from tests.unit.test_enforcement_application import cases, feed, violation

KEY = "unit-test-signing-key-thirty-two-bytes"
WITHIN = "2026-03-05T02:00:00+00:00"  # before the example lead's check_due (2026-03-11, 24:00 in Beijing)


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Enforcement(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    feed(app, violation(1))
    [lead] = cases(app, "COMPLAINT")
    http = TestClient(build_app({"enforcement": factories.runner("enforcement", app)}))
    http.store = app
    yield http, str(lead.id)
    app.close()
    casework._key.cache_clear()


def as_(role: str, agency: str = "AMR-310115") -> dict:
    return {"Authorization": f"Bearer {auth.issue(agency, role, KEY.encode())}"}


def test_the_head_extends_a_lead_check_once_by_fifteen_working_days(client):
    http, case_id = client
    before = http.get(f"/cases/{case_id}", headers=as_("CASE_WORKER")).json()
    body = {"approved_by": "张局长", "reason": "需调取平台交易记录", "at": WITHIN}

    refused = http.post(f"/cases/{case_id}/check-extension", json=body, headers=as_("CASE_WORKER"))
    assert refused.status_code == 403, refused.text

    extended = http.post(f"/cases/{case_id}/check-extension", json=body, headers=as_("SUPERVISOR"))
    assert extended.status_code == 200, extended.text
    case = extended.json()
    assert case["check_extension"]["approved_by"] == "张局长"
    # 11 March 2026 + 15 working days: 1 April, 24:00 in Beijing, shown in China time.
    assert before["check_due"].startswith("2026-03-11T23:59:59") and before["check_due"].endswith("+08:00")
    assert case["check_due"].startswith("2026-04-01T23:59:59") and case["filing_due"] == case["check_due"]

    again = http.post(f"/cases/{case_id}/check-extension", json=body, headers=as_("SUPERVISOR"))
    assert again.status_code == 409 and again.json()["current_state"] == "LEAD"


def test_an_extension_goes_out_on_enforcement_cases_with_the_new_limit(client):
    # The desk and every reader of the topic learn the new limit from it.
    from uuid import UUID

    from services.bus.codec import default_codec
    from services.enforcement.integration import integration_events

    http, case_id = client
    body = {"approved_by": "张局长", "reason": "需调取平台交易记录", "at": WITHIN}
    assert http.post(f"/cases/{case_id}/check-extension", json=body, headers=as_("SUPERVISOR")).status_code == 200
    app = http.store
    case = app.repository.get(UUID(case_id))
    [extended] = [o for e in app.events.get(case.id) for o in integration_events(e, case)
                  if o.record_type == "PenaltyCaseCheckExtended"]
    assert extended.topic == "enforcement.cases" and extended.key == case_id
    assert (extended.record["check_due"], extended.record["approved_by"]) == (case.check_due, "张局长")
    record = {"event_id": "e-1", "occurred_at": case.check_due, **extended.record}
    assert default_codec().decode(default_codec().encode("PenaltyCaseCheckExtended", record))[1] == record


@pytest.mark.parametrize("regulator, allowed", [("AMR-310115", True), ("AMR-310000", True), ("AMR-100000", True),
                                                ("AMR-330000", False), ("AMR-310104", False)])
def test_a_regulator_reads_the_cases_of_its_own_area(client, regulator, allowed):
    http, case_id = client
    read = http.get(f"/cases/{case_id}", headers=as_("REGULATOR", regulator))
    assert read.status_code == (200 if allowed else 403), read.text


def test_an_investigation_goes_out_with_the_day_its_decision_is_due(client):
    from uuid import UUID

    from services.enforcement.integration import integration_events

    http, case_id = client
    started = http.post(f"/cases/{case_id}/investigation", json={"at": WITHIN}, headers=as_("CASE_WORKER"))
    assert started.status_code == 200, started.text
    case = http.store.repository.get(UUID(case_id))
    [record] = [o.record for e in http.store.events.get(case.id) for o in integration_events(e, case)
                if o.record_type == "InvestigationStarted"]
    assert record["conclusion_due"] == case.conclusion_due is not None

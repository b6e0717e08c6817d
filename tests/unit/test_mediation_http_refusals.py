"""Mediation's refusals over HTTP, as an integrator reads them: a withdrawal
before mediation knows the complaint recorded for a complaint id and refused
for what cannot be one; a command the rules refuse answered 422 naming the
field; a body that is not JSON answered 400."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from services import auth, casework
from services.http import build_app
from services.mediation.application import Mediation
from tests import factories
from tests.examples import EXAMPLES
from tests.inbound import deliver

KEY = "unit-test-signing-key-thirty-two-bytes"


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield TestClient(build_app({"mediation": factories.runner("mediation", app)})), app
    app.close()
    casework._key.cache_clear()


def bearer() -> dict:
    return {"Authorization": f"Bearer {auth.issue('AMR-310115', 'CASE_WORKER', KEY.encode())}"}


def withdraw(client: TestClient, complaint_id: str):
    return client.post(f"/complaints/{complaint_id}/withdrawal", json={}, headers=bearer())


@pytest.mark.parametrize("complaint_id", ["TS-DOES-NOT-EXIST", "TS-20261201-0123456789ab", "42"])
def test_what_cannot_be_a_complaint_id_is_not_found_and_nothing_is_recorded(client, complaint_id):
    http, app = client
    refused = withdraw(http, complaint_id)
    assert refused.status_code == 404 and refused.json()["field"] == "complaint_id"
    assert app.recorder.max_notification_id() in (None, 0)


def test_a_complaint_not_yet_decided_has_its_withdrawal_recorded(client):
    http, app = client
    answer = withdraw(http, "TS-20261201-0123456789AB")
    assert answer.status_code == 200 and answer.json()["withdrawal"] == "WITHDRAWN_BEFORE_MEDIATION"
    assert app.recorder.max_notification_id() == 1


CID = EXAMPLES["ComplaintAccepted"]["complaint_id"]  # accepted by AMR-310115 under SAMR-121 on 2026-03-02
SOON = "2026-03-03T02:00:00+00:00"  # within its time limit


@pytest.mark.parametrize("route, body, field", [
    ("mediation/agreement", {"form": "ORAL", "terms": "退款", "amount_recovered_fen": 100,
                             "oral_consent": ["CONSUMER"]}, "oral_consent"),
    ("mediation/agreement", {"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": 100,
                             "performed_at_once": True}, "performed_at_once"),
    # Beyond what any sum comes to, and beyond Avro's long: stored, it could never be published.
    ("mediation/agreement", {"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": 2**70},
     "amount_recovered_fen"),
    ("mediation/agreement", {"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": 10**15 + 1},
     "amount_recovered_fen"),
    ("mediation/termination", {"reason": "OTHER"}, "text"),
    ("mediation/consent", {"party": "CONSUMER", "agreed": True, "at": "2020-01-01T00:00:00+00:00"}, "at"),
])
def test_a_command_the_rules_refuse_names_the_field(client, route, body, field):
    http, app = client
    deliver(app, "mediation", ("ComplaintAccepted", EXAMPLES["ComplaintAccepted"]))
    if route != "mediation/consent":
        for party in ("CONSUMER", "RESPONDENT"):
            assert http.post(f"/complaints/{CID}/mediation/consent", json={"party": party, "agreed": True, "at": SOON},
                             headers=bearer()).status_code == 200
    refused = http.post(f"/complaints/{CID}/{route}", json={"at": SOON, **body}, headers=bearer())
    assert refused.status_code == 422 and refused.json()["field"] == field, refused.json()


def test_a_body_that_is_not_json_is_a_400(client):
    http, app = client
    deliver(app, "mediation", ("ComplaintAccepted", EXAMPLES["ComplaintAccepted"]))
    refused = http.post(f"/complaints/{CID}/mediation/consent", content=b"{party: CONSUMER",
                        headers={**bearer(), "Content-Type": "application/json"})
    assert refused.status_code == 400 and refused.json()["type"].endswith("/not-json")


@pytest.mark.parametrize("body, field", [
    ({"party": "CONSUMER", "agreed": "yes"}, "agreed"),
    ({"party": "CONSUMER", "agreed": "true"}, "agreed"),
    ({"party": "CONSUMER", "agreed": True, "at": 1772415000}, "at"),
    ({"party": "CONSUMER", "agreed": True, "at": "1772415000"}, "at"),
    # Written well, but before the first instant there is (a 500 once, and the proxy's next request a 503).
    ({"party": "CONSUMER", "agreed": True, "at": "0001-01-01T00:00:00+14:00"}, "at"),
])
def test_wrong_types_are_refused_as_intake_refuses_them(client, body, field):
    http, app = client
    deliver(app, "mediation", ("ComplaintAccepted", EXAMPLES["ComplaintAccepted"]))
    refused = http.post(f"/complaints/{CID}/mediation/consent", json=body, headers=bearer())
    assert refused.status_code == 422 and refused.json()["field"] == field, refused.json()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_a_mebibyte_is_a_413_and_stores_nothing(client, chunked):
    # A text of megabytes would make an event larger than the broker takes:
    # the service could publish nothing after it.
    http, app = client
    deliver(app, "mediation", ("ComplaintAccepted", EXAMPLES["ComplaintAccepted"]))
    stored = app.recorder.max_notification_id()
    body = json.dumps({"reason": "OTHER", "text": "说明" * 400_000, "at": SOON}).encode()
    content = iter([body[:1000], body[1000:]]) if chunked else body
    refused = http.post(f"/complaints/{CID}/mediation/termination", content=content,
                        headers={**bearer(), "Content-Type": "application/json"})
    assert refused.status_code == 413 and refused.json()["type"].endswith("/too-large"), refused.text
    assert app.recorder.max_notification_id() == stored
    # Just below the limit it is taken.
    fits = {"reason": "OTHER", "text": "说明" * 170_000, "at": SOON}
    taken = http.post(f"/complaints/{CID}/mediation/termination", json=fits, headers=bearer())
    assert taken.status_code == 200, taken.text


def test_a_withdrawal_needs_no_body_at_all(client):
    # Its fields (`at`, the consent of those represented) all have defaults.
    http, app = client
    answer = http.post("/complaints/TS-20261201-0123456789AB/withdrawal", headers=bearer())
    assert answer.status_code == 200, answer.text
    assert answer.json()["withdrawal"] == "WITHDRAWN_BEFORE_MEDIATION"


def test_withdrawing_a_complaint_routing_did_not_accept_is_a_conflict(client):
    http, app = client
    rejected = EXAMPLES["ComplaintRejected"]
    deliver(app, "mediation", ("ComplaintRejected", rejected))
    stored = app.recorder.max_notification_id()
    refused = withdraw(http, rejected["complaint_id"])
    assert refused.status_code == 409 and refused.json()["current_state"] == "REJECTED", refused.text
    assert rejected["reason"] in refused.json()["detail"]
    assert app.recorder.max_notification_id() == stored  # no withdrawal recorded
    # A console reads it in Chinese.
    from services.desk.console.refusals import chinese
    assert "无可撤回" in chinese(refused.json()["detail"])
    # Another bureau's token is told no more than that it is not its complaint.
    other = {"Authorization": f"Bearer {auth.issue('AMR-440106', 'CASE_WORKER', KEY.encode())}"}
    assert http.post(f"/complaints/{rejected['complaint_id']}/withdrawal", headers=other).status_code == 403

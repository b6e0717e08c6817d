"""A withdrawal over HTTP before mediation knows the complaint: recorded for a
complaint id, refused for what cannot be one."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services import auth, casework
from services.http import build_app
from services.mediation.application import Mediation
from tests import factories

KEY = "unit-test-signing-key-thirty-two-bytes"


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Mediation(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield TestClient(build_app({"mediation": factories.runner("mediation", app)})), app
    app.close()
    casework._key.cache_clear()


def withdraw(client: TestClient, complaint_id: str):
    token = auth.issue("AMR-310115", "CASE_WORKER", KEY.encode())
    return client.post(f"/complaints/{complaint_id}/withdrawal", json={},
                       headers={"Authorization": f"Bearer {token}"})


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

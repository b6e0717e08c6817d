"""The desk's listings over HTTP against the whole system (`tousu up`, the
real broker): complaints submitted at the front door appear in the listings
of those allowed to read them, with personal data only where the role
allows; pages followed by cursor stay whole while complaints keep arriving;
CSV exports every row; the public listing names no consumer."""
from __future__ import annotations

import asyncio
import csv
import io
import threading

import httpx
import pytest

from tests import factories
from tests.desk_up import Up
from tests.harness import HTTP, post_all, wait_until

HAIDIAN, CHAOYANG, BEIJING = "AMR-110108", "AMR-110105", "AMR-110000"


def in_chaoyang(i: int) -> dict:
    body = factories.complaint(i, receiving_agency_id=CHAOYANG)
    body["respondent"]["adcode"] = body["transaction"]["place_adcode"] = "110105"
    return body


@pytest.fixture(scope="module")
def up(module_bus, tmp_path_factory):
    system = Up(module_bus.bootstrap_servers, tmp_path_factory.mktemp("desk") / "data").start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def submitted(up) -> dict[str, dict]:
    """Twenty complaints each for Haidian and Chaoyang, in mediation and listed."""
    bodies = [factories.complaint(1 + 8 * i) for i in range(20)] + [in_chaoyang(1 + 8 * i) for i in range(20, 40)]
    ids = asyncio.run(post_all(up.url, bodies))
    headers = bearer(up, BEIJING, "SUPERVISOR")

    def listed():
        body = HTTP.get(f"{up.url}/complaints", params={"status": "IN_MEDIATION", "limit": 100},
                         headers=headers, timeout=30).json()
        return {i["complaint_id"] for i in body["items"]} >= set(ids)
    wait_until(listed, 120, interval=0.5, message="every complaint in mediation in the supervisor's listing")
    return dict(zip(ids, bodies))


def bearer(up: Up, agency: str, role: str) -> dict:
    return {"Authorization": f"Bearer {up.token(agency, role)}"}


def listing(up: Up, headers: dict, **params) -> list[dict]:
    response = HTTP.get(f"{up.url}/complaints", params={"limit": 1000, **params}, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("agency, role, bureaus, personal", [
    (HAIDIAN, "CASE_WORKER", {HAIDIAN}, True),
    (CHAOYANG, "CASE_WORKER", {CHAOYANG}, True),
    (BEIJING, "SUPERVISOR", {HAIDIAN, CHAOYANG}, True),
    (BEIJING, "REGULATOR", {HAIDIAN, CHAOYANG}, False),
    ("AMR-440106", "CASE_WORKER", set(), True),
    ("AMR-440000", "SUPERVISOR", set(), True),
])
def test_who_sees_what(up, submitted, agency, role, bureaus, personal):
    items = [i for i in listing(up, bearer(up, agency, role)) if i["complaint_id"] in submitted]
    assert {i["complaint_id"] for i in items} == {cid for cid, body in submitted.items()
                                                  if body["receiving_agency_id"] in bureaus}
    for item in items:
        assert item["agency_id"] in bureaus
        name = submitted[item["complaint_id"]]["consumer"]["name"]
        assert (item.get("consumer_name") == name) is personal


@pytest.mark.parametrize("caller, status", [("no token", 401), ("agency system", 403), ("bad token", 401)])
def test_refused_callers(up, caller, status):
    headers = {"no token": {}, "agency system": bearer(up, "CA-110000", "AGENCY_SYSTEM"),
               "bad token": {"Authorization": "Bearer nope"}}[caller]
    response = HTTP.get(f"{up.url}/complaints", headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_pages_stay_whole_while_complaints_arrive(up, submitted):
    headers = bearer(up, BEIJING, "SUPERVISOR")
    before = {i["complaint_id"] for i in listing(up, headers)}
    stop = threading.Event()

    def keep_submitting():
        i = 1000
        while not stop.is_set():
            body = factories.complaint(1 + 8 * i) if i % 2 else in_chaoyang(1 + 8 * i)
            asyncio.run(post_all(up.url, [body], concurrency=1))
            i += 1
    writer = threading.Thread(target=keep_submitting)
    writer.start()
    try:
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 3, "sort": "deadline", **({"cursor": cursor} if cursor else {})}
            body = HTTP.get(f"{up.url}/complaints", params=params, headers=headers, timeout=30).json()
            seen += [i["complaint_id"] for i in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
    finally:
        stop.set()
        writer.join()
    assert pages > 10
    assert len(seen) == len(set(seen)), "a complaint listed twice"
    assert before <= set(seen), "a complaint present from the start was skipped"


def test_csv_and_public_listing(up, submitted):
    response = HTTP.get(f"{up.url}/complaints", params={"format": "csv", "agency": HAIDIAN},
                         headers=bearer(up, BEIJING, "REGULATOR"), timeout=30)
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {r["complaint_id"] for r in rows} >= {c for c, b in submitted.items() if b["receiving_agency_id"] == HAIDIAN}
    assert "consumer_name" not in rows[0]

    public = HTTP.get(f"{up.url}/public/complaints", params={"limit": 1000}, timeout=30)
    assert public.status_code == 200
    text = public.text
    assert all(body["consumer"]["name"] not in text and body["consumer"]["phone"] not in text
               for body in submitted.values())
    assert {i["complaint_id"] for i in public.json()["items"]} >= set(submitted)


def test_answers_match_the_openapi_documents_schemas(up, submitted):
    """The response schemas the document gives are what the routes answer."""
    from openapi_schema_validator import OAS31Validator

    document = HTTP.get(f"{up.url}/openapi.json", timeout=10).json()

    def conforms(name: str, instance) -> None:
        OAS31Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]}).validate(
            instance)

    complaint_id = next(iter(submitted))
    worker, supervisor = bearer(up, HAIDIAN, "CASE_WORKER"), bearer(up, BEIJING, "SUPERVISOR")
    accepted = HTTP.post(f"{up.url}/complaints", json=factories.complaint(9001), timeout=30)
    conforms("SubmissionAccepted", accepted.json())
    conforms("ComplaintStatus", HTTP.get(f"{up.url}/complaints/{complaint_id}", timeout=10).json())
    consent = HTTP.post(f"{up.url}/complaints/{complaint_id}/mediation/consent", headers=worker,
                         json={"party": "CONSUMER", "agreed": True}, timeout=30)
    assert consent.status_code == 200, consent.text
    conforms("MediationCaseSummary", consent.json())
    conforms("StatisticsReport", HTTP.get(f"{up.url}/statistics?by=agency", headers=supervisor, timeout=30).json())
    conforms("ComplaintPage", HTTP.get(f"{up.url}/complaints?limit=5", headers=supervisor, timeout=30).json())
    conforms("CasePage", HTTP.get(f"{up.url}/cases", headers=supervisor, timeout=30).json())
    conforms("PublicComplaintPage", HTTP.get(f"{up.url}/public/complaints?limit=5", timeout=30).json())
    uscc = submitted[complaint_id]["respondent"]["uscc"]
    conforms("OperatorDisclosure", HTTP.get(f"{up.url}/public/operators/{uscc}", timeout=30).json())
    refused = HTTP.get(f"{up.url}/complaints?status=NOPE", headers=supervisor, timeout=30)
    conforms("Problem", refused.json())


def test_the_desk_as_a_worker_of_its_own(bus, tmp_path):
    """In production each service is its own process: the desk worker reads
    the topics the other workers write and serves its listings on its port.
    A broker of its own: the module's system has a desk in the same group."""
    import subprocess
    import sys
    from pathlib import Path

    from services.bus.broker import free_port
    from tests.harness import Processes

    system = Processes(bus.bootstrap_servers, tmp_path / "data").start()
    port = free_port()
    log = open(tmp_path / "desk.log", "wb")
    desk = subprocess.Popen([sys.executable, "-m", "services.desk.worker", "--port", str(port)], env=system.env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    try:
        complaint_id = asyncio.run(post_all(system.url, [factories.complaint(1)]))[0]
        headers = {"Authorization": f"Bearer {system.token(HAIDIAN)}"}

        def listed():
            if desk.poll() is not None:
                raise AssertionError((tmp_path / "desk.log").read_text(errors="replace")[-3000:])
            try:
                items = HTTP.get(f"http://127.0.0.1:{port}/complaints", headers=headers, timeout=5).json()["items"]
            except httpx.HTTPError:
                return False
            return [i["status"] for i in items if i["complaint_id"] == complaint_id] == ["IN_MEDIATION"]
        wait_until(listed, 120, interval=0.5, message="the complaint in mediation on the desk worker")
    finally:
        desk.terminate()
        desk.wait(30)
        system.stop()

"""Intake over HTTP on the real broker, every service its own process: what it
keeps when it crashes, the Idempotency-Key, the 503 when nothing can be stored,
and the status a consumer sees as the complaint moves on. What the front door
refuses and how it says so is tested in-process (tests/unit/test_intake_requests.py).

Most tests share one system (broker and four processes) for the module; a
test that needs a broken store gets its own."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from services.mediation.rules import clock_end
from tests import factories, launcher
from tests.factories import changed, without
from tests.harness import HTTP, Processes, assert_problem, distinct_events, post_all, wait_until

pytestmark = pytest.mark.slow

DECISIONS = ("ComplaintAccepted", "ComplaintRejected", "ComplaintReferred")
ROOT = Path(__file__).resolve().parents[2]


# -- the shared system (tests/e2e/conftest.py), at intake's address -----------

@pytest.fixture(scope="module")
def url(system) -> str:
    return system.url_of("intake")


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


# -- helpers -------------------------------------------------------------------

def received(bootstrap: str) -> dict[str, list[tuple[str, dict]]]:
    """complaint id -> each distinct (record type, record) intake published for
    it; a republished event (same event id) counts once."""
    codec = default_codec()
    found: dict[str, dict] = {}
    for message in read_all_sync(bootstrap, "complaints.received"):
        record_type, record = codec.decode(message.value)
        found.setdefault(record["complaint_id"], {})[record["event_id"]] = (record_type, record)
    return {cid: list(events.values()) for cid, events in found.items()}


def decided(bootstrap: str, ids) -> dict[str, int]:
    decisions = distinct_events(bootstrap, "complaints.decisions")
    return {cid: sum(decisions[cid][t] for t in DECISIONS) for cid in ids}


def marked(i: int, **overrides) -> tuple[dict, str]:
    """A valid complaint whose facts carry a marker found nowhere else on the bus."""
    marker = f"标记{uuid.uuid4().hex}"
    return factories.complaint(i, facts=f"购买的商品出现质量问题,商家拒绝退货。{marker}", **overrides), marker


def bodies_with(bootstrap: str, marker: str) -> set[str]:
    return {cid for cid, records in received(bootstrap).items()
            if any(marker in (record.get("facts") or "") for _, record in records)}


def restart_intake(system: Processes) -> None:
    system.restart("intake")
    system.wait_serving("intake")


def cli(system: Processes, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return launcher.run(list(args), system.env, timeout=60, input=stdin)


COMPLAINT_ID = re.compile(r"TS-\d{8}-[0-9A-F]{12}")


# -- well formed, not acceptable: received, then not accepted with a reason -----

@pytest.mark.parametrize("change, reason", [
    (lambda b: without(b, "respondent.name"), "NO_CLEAR_RESPONDENT"),
    (lambda b: changed(b, "demands", []), "NO_SPECIFIC_REQUEST"),
    (lambda b: without(b, "facts"), "NO_FACTS"),
    # Lacking all three: the first condition in the rulebook's order is the one told.
    (lambda b: changed(without(b, "respondent.name", "facts"), "demands", []), "NO_CLEAR_RESPONDENT"),
], ids=["no-respondent-name", "no-demands", "no-facts", "none-of-them"])
def test_a_complaint_lacking_an_acceptance_condition_is_received_then_rejected_with_the_reason(system, http, change,
                                                                                               reason):
    response = http.post("/complaints", json=change(factories.complaint(2)))
    assert response.status_code == 202, response.text
    complaint_id = response.json()["complaint_id"]
    status = system.wait_status(complaint_id, "REJECTED")
    assert status["reason"] == reason
    assert re.search(r"[\u4e00-\u9fff]{10}", status["explanation"]) and "不予受理" in status["explanation"]
    assert status["agency_id"] == "AMR-440106" and status["decided_at"] and status["decision_due"]


# -- status through decision, mediation, enforcement ------------------------------

def test_status_follows_one_complaint_through_decision_and_mediation(http, system):
    routing = system.workers["routing"].process
    # Routing held still (well inside its session timeout) so RECEIVED is seen
    # for certain, not raced by the decision.
    os.kill(routing.pid, signal.SIGSTOP)
    try:
        response = http.post("/complaints", json=factories.complaint(1))
        assert response.status_code == 202
        answer = response.json()
        complaint_id = answer["complaint_id"]
        assert answer == {"complaint_id": complaint_id, "kind": "COMPLAINT",
                          "status_url": f"/complaints/{complaint_id}"}
        first = system.status(complaint_id)
    finally:
        os.kill(routing.pid, signal.SIGCONT)
    assert first["status"] == "RECEIVED" and first["kind"] == "COMPLAINT"
    assert first["received_at"] and first["decision_due"] is None and first["agency_id"] is None

    mediating = system.wait_status(complaint_id, lambda d: d["status"] == "IN_MEDIATION" and d["decision_due"])
    assert mediating["agency_id"] == "AMR-110108"
    received_at = datetime.fromisoformat(mediating["received_at"])
    decision_due = datetime.fromisoformat(mediating["decision_due"])
    mediation_due = datetime.fromisoformat(mediating["mediation_due"])
    assert received_at + timedelta(days=7) <= decision_due <= received_at + timedelta(days=21)
    assert mediation_due > decision_due
    assert mediation_due - datetime.fromisoformat(mediating["decided_at"]) >= timedelta(days=59)

    token = system.token("AMR-110108")
    with httpx.Client(base_url=system.url_of("mediation"), timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as mediation:
        base = f"/complaints/{complaint_id}/mediation"
        now = datetime.now(timezone.utc)
        for party in ("CONSUMER", "RESPONDENT"):
            assert mediation.post(f"{base}/consent", json={"party": party, "agreed": True}).status_code == 200
        # Case work is dated when it happened, never later than now: the appraisal runs now.
        started = mediation.post(f"{base}/appraisal", json={"action": "START", "body": "某某质检所", "payer": "CLAIMANT",
                                                            "at": now.isoformat()})
        assert started.status_code == 200, started.text
        system.wait_status(complaint_id, lambda d: d["mediation_paused"])
        completed_at = datetime.now(timezone.utc)
        done = mediation.post(f"{base}/appraisal", json={"action": "COMPLETE", "result": "存在质量问题",
                                                         "at": completed_at.isoformat()})
        assert done.status_code == 200, done.text
        resumed = system.wait_status(complaint_id, lambda d: not d["mediation_paused"])
        # The days the appraisal touched are not counted (the day of acceptance
        # never is); test_mediation_http moves the clock to see them add up.
        expected, _ = clock_end(datetime.fromisoformat(mediating["decided_at"]), 60,
                                [{"started_at": now, "completed_at": completed_at}])
        assert datetime.fromisoformat(resumed["mediation_due"]) == expected >= mediation_due

        agreed = mediation.post(f"{base}/agreement", json={"form": "WRITTEN", "terms": "退货退款",
                                                           "amount_recovered_fen": 129900})
        assert agreed.status_code == 200, agreed.text
    final = system.wait_status(complaint_id, "AGREED")
    assert final["outcome"] == "WRITTEN" and final["amount_recovered_fen"] == 129900
    assert final["agency_id"] == "AMR-110108"


def test_a_consultation_is_closed_at_once(system, http, module_bus):
    response = http.post("/complaints", json={
        "kind": "CONSULTATION", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-440106",
        "consumer": {"name": "黄强", "phone": "020-87654321"}, "question": "商品房定金能退吗？",
        "answer": "定金罚则依合同约定。"})
    assert response.status_code == 202
    complaint_id = response.json()["complaint_id"]
    assert response.json()["kind"] == "CONSULTATION"
    status = system.status(complaint_id)  # no waiting: closed when stored
    assert status["kind"] == "CONSULTATION" and status["status"] == "CLOSED"
    published = wait_until(lambda: received(module_bus.bootstrap_servers).get(complaint_id), 30,
                           message="the consultation published")
    record_type, record = published[0]
    assert record_type == "ConsultationReceived" and "consumer" not in record  # who asked stays with intake


def test_a_report_goes_to_enforcement_and_never_to_routing(system, http, module_bus):
    response = http.post("/complaints", json=factories.report(4))
    assert response.status_code == 202
    complaint_id = response.json()["complaint_id"]
    assert system.status(complaint_id)["kind"] == "REPORT"
    status = system.wait_status(complaint_id, lambda d: d["penalty_case_ids"])
    assert status["kind"] == "REPORT" and status["status"] == "RECEIVED"
    assert len(status["penalty_case_ids"]) == 1 and status["penalty_case_ids"][0] != complaint_id
    assert decided(module_bus.bootstrap_servers, [complaint_id])[complaint_id] == 0
    assert not distinct_events(module_bus.bootstrap_servers, "mediation.events")[complaint_id]


def test_a_complaint_that_is_also_a_report_is_two_linked_requests(system, http, module_bus):
    response = http.post("/complaints", json=factories.complaint(1, alleged_violation="FALSE_ADVERTISING"))
    assert response.status_code == 202
    answer = response.json()
    complaint_id, report_id = answer["complaint_id"], answer["linked_request_id"]
    assert complaint_id != report_id and COMPLAINT_ID.fullmatch(report_id)

    complaint = system.wait_status(complaint_id, "IN_MEDIATION")
    report = system.wait_status(report_id, lambda d: d["penalty_case_ids"])
    assert complaint["kind"] == "COMPLAINT" and complaint["linked_request_id"] == report_id
    assert report["kind"] == "REPORT" and report["linked_request_id"] == complaint_id
    published = received(module_bus.bootstrap_servers)
    [(complaint_type, complaint_record)] = published[complaint_id]
    [(report_type, report_record)] = published[report_id]
    assert (complaint_type, report_type) == ("ComplaintReceived", "ReportReceived")
    assert complaint_record["demands"] == ["REFUND"] and "alleged_violation" not in complaint_record
    assert report_record["alleged_violation"] == "FALSE_ADVERTISING"
    assert complaint_record["linked_request_id"] == report_id and report_record["linked_request_id"] == complaint_id


def test_the_status_shows_no_personal_data(system, http):
    personal = {"name": "欧阳娜娜", "phone": "139 1234 5678", "id_number": factories.make_ric(77),
                "address": "浙江省杭州市西湖区文三路99号"}
    facts = "七月三日在门店购买的冰箱不制冷，店员说可以退但一直拖延"
    complaint = factories.complaint(5, consumer=personal, facts=facts)
    sent = [http.post("/complaints", json=complaint).json(),
            http.post("/complaints", json=factories.report(5) | {"consumer": personal, "facts": facts}).json(),
            http.post("/complaints", json=changed(complaint, "demands", [])).json(),
            http.post("/complaints", json={"kind": "CONSULTATION", "channel": "APP",
                                           "receiving_agency_id": "AMR-330106",
                                           "consumer": {k: personal[k] for k in ("name", "phone")},
                                           "question": facts}).json()]
    secrets = [*personal.values(), "13912345678", facts, facts[:8]]
    assert all("complaint_id" in answer for answer in sent), sent
    ids = [answer["complaint_id"] for answer in sent]
    documents = [system.status(cid) for cid in ids]
    documents += [system.wait_status(ids[0], "IN_MEDIATION"),
                  system.wait_status(ids[1], lambda d: d["penalty_case_ids"]),
                  system.wait_status(ids[2], "REJECTED")]
    for document in documents:
        text = json.dumps(document, ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, (secret, document)
        assert not {"consumer", "facts", "question", "phone", "id_number", "address", "name"} & set(document)


# -- who sees the record -----------------------------------------------------------

def test_the_handling_agency_sees_the_record_and_others_the_public_view(system):
    body = factories.complaint(1)  # handled by AMR-110108
    [cid] = asyncio.run(post_all(system.url, [body]))
    path = f"/complaints/{cid}"
    system.wait_status(cid, lambda d: d["agency_id"] == "AMR-110108", 60, "decided")

    public = system.caller().get(path)
    assert public.status_code == 200 and "record" not in public.json()
    assert body["consumer"]["phone"] not in public.text and body["consumer"]["name"] not in public.text

    own = system.caller("intake", "AMR-110108").get(path)
    assert own.status_code == 200
    assert own.json()["record"]["consumer"]["phone"] == body["consumer"]["phone"]
    above = system.caller("intake", "AMR-110000", "SUPERVISOR").get(path)
    assert above.status_code == 200 and "record" in above.json()

    # The route is open to whoever holds the id: another agency's token, or a
    # regulator's, sees what anyone does, and no personal data.
    for caller in (system.caller("intake", "AMR-310115"), system.caller("intake", "AMR-110108", "REGULATOR")):
        other = caller.get(path)
        assert other.status_code == 200 and "record" not in other.json()
        assert other.json()["status"] == public.json()["status"] and body["consumer"]["phone"] not in other.text
    forged = system.caller(token="not.a.token").get(path)
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")


# -- crash, retry, idempotency ---------------------------------------------------

def test_intake_killed_right_after_the_202_the_complaints_still_flow(system, module_bus):
    bootstrap = module_bus.bootstrap_servers
    broker = module_bus.broker.process if module_bus.broker else None
    bodies = [factories.complaint(100 + i) for i in range(30)]
    # The relay publishes after the store, so a kill right after the 202 finds
    # some complaints stored and not yet published (about a third, unpaused).
    # Holding the broker still while they are posted means the relay has no
    # acknowledgement for any of them when it dies: what it had already written
    # to its socket lands when the broker resumes, the rest only once the
    # restarted relay sends it again from its last recorded position.
    if broker:
        os.kill(broker.pid, signal.SIGSTOP)
    try:
        ids = asyncio.run(post_all(system.url_of("intake"), bodies, concurrency=6))
        system.workers["intake"].kill()
    finally:
        if broker:
            os.kill(broker.pid, signal.SIGCONT)
    restart_intake(system)
    wait_until(lambda: all(count == 1 for count in decided(bootstrap, ids).values()), 90,
               message="all 30 decided once")
    for complaint_id in ids:
        status = system.wait_status(complaint_id, lambda d: d["status"] != "RECEIVED")
        assert status["agency_id"]
    # Republished after the restart perhaps, but one event each.
    assert all(len(received(bootstrap)[cid]) == 1 for cid in ids)


def test_the_same_idempotency_key_gives_the_same_answer_and_one_complaint(system, url, http, module_bus):
    body, marker = marked(6)
    key = f"form-{uuid.uuid4()}"
    first = http.post("/complaints", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 202
    again = http.post("/complaints", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.json() == first.json()

    async def together():  # retries racing each other, not only one after another
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/complaints", json=body, headers={"Idempotency-Key": key})
                                          for _ in range(8)))
    assert {r.json()["complaint_id"] for r in asyncio.run(together())} == {first.json()["complaint_id"]}

    # A retry that writes the phone another way is the same request.
    phone = body["consumer"]["phone"]
    reformatted = changed(body, "consumer.phone", f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")
    assert reformatted != body
    again = http.post("/complaints", json=reformatted, headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.json() == first.json()
    # A different request under the same key is refused, not answered with the
    # first one's id: that would acknowledge a complaint never stored.
    different = http.post("/complaints", json=changed(body, "demands", ["REPAIR"]), headers={"Idempotency-Key": key})
    assert assert_problem(different, 422)["field"] == "Idempotency-Key"

    other = http.post("/complaints", json=body, headers={"Idempotency-Key": f"form-{uuid.uuid4()}"})
    assert other.json()["complaint_id"] != first.json()["complaint_id"]

    complaint_id = first.json()["complaint_id"]
    system.wait_status(complaint_id, lambda d: d["status"] != "RECEIVED")
    system.wait_status(other.json()["complaint_id"], lambda d: d["status"] != "RECEIVED")
    assert bodies_with(module_bus.bootstrap_servers, marker) == {complaint_id, other.json()["complaint_id"]}


def test_a_concurrent_race_for_a_new_key_stores_one_complaint(system, url, module_bus):
    body, marker = marked(8)
    key = f"race-{uuid.uuid4()}"

    async def together():
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/complaints", json=body, headers={"Idempotency-Key": key})
                                          for _ in range(12)))
    answers = asyncio.run(together())
    assert {r.status_code for r in answers} == {202}
    [complaint_id] = {r.json()["complaint_id"] for r in answers}
    system.wait_status(complaint_id, lambda d: d["status"] != "RECEIVED")
    assert bodies_with(module_bus.bootstrap_servers, marker) == {complaint_id}


def test_the_idempotency_key_outlives_an_intake_restart(system, module_bus):
    url = system.url_of("intake")
    body, marker = marked(9)
    key = f"hotline-{uuid.uuid4()}"
    first = HTTP.post(f"{url}/complaints", json=body, headers={"Idempotency-Key": key}, timeout=30)
    assert first.status_code == 202
    system.workers["intake"].kill()
    restart_intake(system)
    retry = HTTP.post(f"{url}/complaints", json=body, headers={"Idempotency-Key": key}, timeout=30)
    assert retry.status_code == 202 and retry.json() == first.json()
    system.wait_status(first.json()["complaint_id"], lambda d: d["status"] != "RECEIVED", timeout=90)
    assert bodies_with(module_bus.bootstrap_servers, marker) == {first.json()["complaint_id"]}


# -- the store cannot be written -------------------------------------------------

def test_503_when_the_store_cannot_be_written_and_nothing_is_kept(bus, tmp_path):
    """Another process holds SQLite's write lock (a backup, a stuck maintenance
    job): intake's write gives up after its busy timeout, as it would on a full
    or read-only volume. chmod cannot stand in here: the tests may run as root,
    which writes through file modes, and an open file keeps its write access."""
    data = tmp_path / "data"
    processes = Processes(bus.bootstrap_servers, data, services=("intake",),
                          # eventsourcing reads INTAKE_SQLITE_LOCK_TIMEOUT before SQLITE_LOCK_TIMEOUT.
                          extra_env={"INTAKE_SQLITE_LOCK_TIMEOUT": "1"}).start()
    url = processes.url_of("intake")
    body, marker = marked(10)
    key = f"retry-{uuid.uuid4()}"
    try:
        lock = sqlite3.connect(data / "intake.sqlite", isolation_level=None, timeout=10)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            for headers in ({}, {"Idempotency-Key": key}):
                response = HTTP.post(f"{url}/complaints", json=body, headers=headers, timeout=30)
                problem = assert_problem(response, 503)
                assert "nothing was kept" in problem["detail"] and response.headers["retry-after"]
                assert "sqlite" not in response.text.lower() and "locked" not in response.text
        finally:
            lock.execute("ROLLBACK")
            lock.close()

        stored = sqlite3.connect(data / "intake.sqlite")
        assert stored.execute("SELECT count(*) FROM stored_events").fetchone() == (0,)
        stored.close()
        assert read_all_sync(bus.bootstrap_servers, "complaints.received") == []

        # The same key, retried once the store is back: one complaint, stored and published.
        retry = HTTP.post(f"{url}/complaints", json=body, headers={"Idempotency-Key": key}, timeout=30)
        assert retry.status_code == 202
        complaint_id = retry.json()["complaint_id"]
        wait_until(lambda: bodies_with(bus.bootstrap_servers, marker), 30, message="the retry published")
        assert bodies_with(bus.bootstrap_servers, marker) == {complaint_id}
        assert processes.status(complaint_id)["status"] == "RECEIVED"
    finally:
        processes.stop()


# -- the CLI -------------------------------------------------------------------

def test_tousu_submit_and_status(system, url, tmp_path):
    path = tmp_path / "complaint.json"
    path.write_text(json.dumps(factories.complaint(11), ensure_ascii=False), encoding="utf-8")
    from_file = cli(system, "submit", str(path), "--url", url)
    assert from_file.returncode == 0, from_file.stderr
    file_id = from_file.stdout.strip()
    assert COMPLAINT_ID.fullmatch(file_id)

    from_stdin = cli(system, "submit", "-", "--url", url, stdin=json.dumps(factories.report(12), ensure_ascii=False))
    assert from_stdin.returncode == 0, from_stdin.stderr
    stdin_id = from_stdin.stdout.strip()
    assert COMPLAINT_ID.fullmatch(stdin_id) and stdin_id != file_id

    system.wait_status(file_id, "IN_MEDIATION")
    readable = cli(system, "status", file_id, "--url", url)
    assert readable.returncode == 0, readable.stderr
    lines = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in readable.stdout.splitlines())
    assert lines["complaint id"] == file_id and lines["status"] == "IN_MEDIATION"
    assert lines["agency id"] == "AMR-330106" and lines["kind"] == "COMPLAINT" and "decision due" in lines

    machine = cli(system, "status", stdin_id, "--json", "--url", url)
    assert machine.returncode == 0, machine.stderr
    document = json.loads(machine.stdout)
    assert document["complaint_id"] == stdin_id and document["kind"] == "REPORT"

    refused = cli(system, "submit", "-", "--url", url,
                  stdin=json.dumps(changed(factories.complaint(11), "consumer.phone", "12345")))
    assert refused.returncode == 1 and "consumer.phone" in refused.stderr and not refused.stdout
    unknown = cli(system, "status", "TS-20240101-000000000000", "--url", url)
    assert unknown.returncode == 1 and "404" in unknown.stderr


def test_an_awareness_date_far_in_the_future_is_still_decided(system, http, module_bus):
    # Well formed, so intake takes it; deciding on it is routing's part.
    response = http.post("/complaints", json=factories.complaint(13, aware_date="9999-12-31"))
    assert response.status_code == 202
    complaint_id = response.json()["complaint_id"]
    codec = default_codec()

    def settled():
        letters = [codec.decode(m.value)[1] for m in read_all_sync(module_bus.bootstrap_servers, "deadletter")]
        if any(letter["complaint_id"] == complaint_id for letter in letters):
            return "dead-lettered"
        return system.status(complaint_id)["status"] != "RECEIVED" and "decided"
    assert wait_until(settled, 60, message="decided or dead-lettered") == "decided"


# -- free-text addresses ---------------------------------------------------------

def test_a_hotline_address_is_resolved_to_the_county_that_decides_jurisdiction(system, http, module_bus):
    # Received in Shanghai, about an operator in Haidian: only the address says where it is.
    body = factories.complaint(0, channel="HOTLINE_12315", receiving_agency_id="AMR-310115")
    body["respondent"] = {"name": "北京某某科技有限公司", "address": "北京市海淀区中关村大街1号"}
    body["transaction"] = without(body["transaction"], "place_adcode")
    response = http.post("/complaints", json=body)
    assert response.status_code == 202
    complaint_id = response.json()["complaint_id"]

    status = system.wait_status(complaint_id, "IN_MEDIATION")
    assert status["agency_id"] == "AMR-110108"
    [(record_type, record)] = received(module_bus.bootstrap_servers)[complaint_id]
    assert record_type == "ComplaintReceived"
    assert record["respondent"]["adcode"] == "110108" and record["respondent"]["adcode_source"] == "ADDRESS"
    assert record["transaction"]["place_adcode"] is None
    assert record["transaction"]["place_adcode_source"] == "UNRESOLVED"
    transfers = distinct_events(module_bus.bootstrap_servers, "complaints.decisions")[complaint_id]
    assert transfers["ComplaintTransferred"] == 1 and transfers["ComplaintAccepted"] == 1


def test_an_address_naming_no_county_stays_unresolved_and_is_marked_for_a_person_to_place(system, http, module_bus):
    body = factories.complaint(2, channel="LETTER", receiving_agency_id="AMR-440106")
    body["respondent"] = {"name": "某某百货商店", "address": "中山路100号"}  # a street in a hundred cities
    body["transaction"] = without(body["transaction"], "place_adcode")
    response = http.post("/complaints", json=body)
    assert response.status_code == 202
    complaint_id = response.json()["complaint_id"]
    status = system.wait_status(complaint_id, lambda d: d["status"] != "RECEIVED")
    # The receiving bureau holds it, but not silently: competence is the
    # operator's place, which nobody knows yet (Order 121 art. 13).
    assert status["agency_id"] == "AMR-440106" and status["needs_placement"] is True
    [(_, record)] = received(module_bus.bootstrap_servers)[complaint_id]
    assert record["respondent"]["adcode"] is None and record["respondent"]["adcode_source"] == "UNRESOLVED"
    codec = default_codec()
    [accepted] = {r["event_id"]: r for r in (codec.decode(m.value)[1] for m in read_all_sync(
        module_bus.bootstrap_servers, "complaints.decisions")) if r["complaint_id"] == complaint_id
        and "jurisdiction_basis" in r}.values()
    assert accepted["agency_id"] == "AMR-440106" and accepted["needs_placement"] is True


# -- bulk intake ---------------------------------------------------------------

def test_a_bulk_of_good_and_bad_lines_ends_with_each_good_one_decided_once(system, module_bus, tmp_path):
    url = system.url_of("intake")
    bootstrap = module_bus.bootstrap_servers
    good = [marked(200 + i) for i in range(4)]
    bad = [marked(210, channel="FAX"), marked(211, consumer={**factories.complaint(211)["consumer"], "phone": "1"})]
    lines = [good[0], bad[0], good[1], bad[1], good[2]]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line, _ in lines) + "\n{not json\n"
    headers = {"Authorization": f"Bearer {system.token('AMR-310115', 'AGENCY_SYSTEM')}",
               "Content-Type": "application/x-ndjson", "Idempotency-Key": f"platform-{uuid.uuid4()}"}
    first = HTTP.post(f"{url}/complaints/bulk", content=body.encode("utf-8"), headers=headers, timeout=60)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [(r["line"], r["status"]) for r in results] == [(1, 202), (2, 422), (3, 202), (4, 422), (5, 202),
                                                           (6, 400)]
    assert results[1]["field"] == "channel" and results[3]["field"] == "consumer.phone"
    # Intake dies right after answering; the platform did not see the answer and
    # sends the whole batch again once intake is back.
    system.workers["intake"].kill()
    restart_intake(system)
    again = HTTP.post(f"{url}/complaints/bulk", content=body.encode("utf-8"), headers=headers, timeout=60)
    assert again.json() == first.json()

    # The same through the CLI: an NDJSON file, one line left.
    path = tmp_path / "batch.ndjson"
    path.write_text(json.dumps(good[3][0], ensure_ascii=False) + "\n", encoding="utf-8")
    token = system.token("AMR-310115", "AGENCY_SYSTEM")
    from_cli = cli(system, "submit", str(path), "--url", url, "--token", token)
    assert from_cli.returncode == 0, from_cli.stderr
    line, cli_id = from_cli.stdout.strip().split("\t")
    assert line == "1" and COMPLAINT_ID.fullmatch(cli_id)

    ids = [results[i]["complaint_id"] for i in (0, 2, 4)] + [cli_id]
    wait_until(lambda: all(count == 1 for count in decided(bootstrap, ids).values()), 90,
               message="every good line decided once")
    for (_, marker), complaint_id in zip([lines[0], lines[2], lines[4], good[3]], ids):
        assert bodies_with(bootstrap, marker) == {complaint_id}
    for _, marker in bad:
        assert bodies_with(bootstrap, marker) == set()

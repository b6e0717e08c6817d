"""Routing on the real broker: referrals out and back, and a public stream
that carries no personal data. One system serves the module
(tests/e2e/conftest.py); each test follows complaints of its own."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from aiokafka import AIOKafkaProducer

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories
from tests.harness import decoded, distinct_events, post_all, wait_until


def inbox(bootstrap: str, agency_id: str) -> list[dict]:
    codec = default_codec()
    try:
        return [codec.decode(m.value)[1] for m in read_all_sync(bootstrap, f"referrals.{agency_id}")]
    except Exception:
        return []


def reply(bootstrap: str, record_type: str, **fields) -> None:
    """What an agency's system sends back: no project code needed but the codec."""
    record = {"event_id": f"reply-{fields['referral_id']}-{record_type}", "occurred_at": datetime.now(timezone.utc),
              **fields}

    async def send():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait("referrals.replies", default_codec().encode(record_type, record),
                                         key=fields["complaint_id"].encode())
        finally:
            await producer.stop()
    asyncio.run(send())


def test_a_declined_referral_is_decided_again(system, broker):
    bus = broker
    body = factories.complaint(0, subject_area="TELECOM")  # Shanghai Pudong
    [cid] = asyncio.run(post_all(system.url, [body]))
    first = wait_until(lambda: [r for r in inbox(bus.bootstrap_servers, "CA-310000") if r["complaint_id"] == cid], 60,
                       message="referral to CA-310000")
    assert first[0]["complaint_id"] == cid and first[0]["consumer"]["name"] == body["consumer"]["name"]
    decisions = distinct_events(bus.bootstrap_servers, "complaints.decisions")[cid]
    assert decisions["ComplaintReferred"] == 1

    reply(bus.bootstrap_servers, "ReferralDeclined", complaint_id=cid, referral_id=first[0]["referral_id"],
          agency_id="CA-310000", reason="属于金融消费纠纷", suggested_agency_id="NFRA-310000")
    second = wait_until(lambda: [r for r in inbox(bus.bootstrap_servers, "NFRA-310000") if r["complaint_id"] == cid],
                        60, message="referral to NFRA-310000")
    assert second[0]["complaint_id"] == cid and second[0]["referral_id"] != first[0]["referral_id"]

    # The second agency answers over HTTP with its agency-system token; nobody
    # else may answer for it, and it must say why it declines.
    answer_url = f"/complaints/{cid}/referral/reply"
    declined = {"answer": "DECLINED", "reason": "不属于本机关职责"}
    refused = {caller: system.caller("routing", *caller).post(answer_url, declined)
               for caller in [("EEB-310115", "AGENCY_SYSTEM"), ("NFRA-310000", "REGULATOR"),
                              ("AMR-310115", "CASE_WORKER"), ("CA-310000", "AGENCY_SYSTEM")]}
    assert {c: r.status_code for c, r in refused.items()} == {
        ("EEB-310115", "AGENCY_SYSTEM"): 403, ("NFRA-310000", "REGULATOR"): 403,
        ("AMR-310115", "CASE_WORKER"): 403, ("CA-310000", "AGENCY_SYSTEM"): 409}
    assert "NFRA-310000" not in refused[("EEB-310115", "AGENCY_SYSTEM")].text
    nfra = system.caller("routing", "NFRA-310000", "AGENCY_SYSTEM")
    unexplained = nfra.post(answer_url, answer="DECLINED")
    assert unexplained.status_code == 422 and "reason" in unexplained.text
    answered = nfra.post(answer_url, declined)
    assert answered.status_code == 200, answered.text
    assert answered.json()["referrals"] == [{"referral_id": second[0]["referral_id"], "status": "DECLINED"}]
    wait_until(lambda: distinct_events(bus.bootstrap_servers, "complaints.decisions")[cid]["ComplaintRejected"] == 1,
               60, message="not accepted after every agency declined")
    actors = lambda: [(r["actor_agency_id"], r["actor_role"]) for _, r in decoded(bus.bootstrap_servers, "audit.log")  # noqa: E731
                      if r["event_type"] == "Complaint.ReferralDeclined" and r["complaint_id"] == cid]
    assert wait_until(lambda: len(actors()) == 2 and actors(), 30, message="both declines audited") == \
        [("CA-310000", "AGENCY_SYSTEM"), ("NFRA-310000", "AGENCY_SYSTEM")]  # over Kafka, over HTTP
    status = system.wait_status(cid, "REJECTED", 60)
    assert status["reason"] == "OUT_OF_REMIT" and "NFRA-310000" in status["explanation"]

    # A late or repeated answer changes nothing.
    reply(bus.bootstrap_servers, "ReferralAcknowledged", complaint_id=cid, referral_id=second[0]["referral_id"],
          agency_id="NFRA-310000", note=None)
    import time
    time.sleep(2)
    assert distinct_events(bus.bootstrap_servers, "complaints.decisions")[cid]["ComplaintRejected"] == 1


def test_no_personal_data_reaches_the_public_stream(system, broker):
    bus = broker
    rng = random.Random(7)
    count = 400  # each with its own consumer and facts; every kind of decision many times over
    bodies = [factories.varied(i, rng) for i in range(count)]
    bodies += [dict(factories.complaint(count + i), kind="REPORT", alleged_violation="COUNTERFEIT") for i in range(20)]
    for body in bodies[count:]:
        body.pop("demands")
    ids = asyncio.run(post_all(system.url, bodies))
    reports = set(ids[count:])
    wait_until(lambda: len({r["complaint_id"] for r in _public(bus)} & set(ids[:count])) == count, 180, interval=2,
               message="every complaint on the public stream")
    raw = b"".join(m.value for m in read_all_sync(bus.bootstrap_servers, "public.complaints"))
    for body in bodies:
        consumer = body["consumer"]
        for value in (consumer["name"], consumer["phone"], consumer["id_number"],
                      consumer["address"], body["facts"]):
            assert value.encode("utf-8") not in raw, value
    assert not reports & {r["complaint_id"] for r in _public(bus)}
    assert all(r["city_adcode"] is None or r["city_adcode"].endswith("00") for r in _public(bus))


def _public(bus):
    codec = default_codec()
    return [codec.decode(m.value)[1] for m in read_all_sync(bus.bootstrap_servers, "public.complaints")]


def test_the_example_agency_acknowledges_its_referrals(system, broker):
    bus = broker
    [cid] = asyncio.run(post_all(system.url, [factories.complaint(1, subject_area="EDUCATION")]))  # Beijing Haidian
    wait_until(lambda: inbox(bus.bootstrap_servers, "EDU-110108"), 60, message="referral to EDU-110108")
    result = system.cli("agency", "EDU-110108", "--once")
    assert '"answer": "ReferralAcknowledged"' in result.stdout and cid in result.stdout
    messages = read_all_sync(bus.bootstrap_servers, "referrals.replies")
    replies = [default_codec().decode(m.value) for m in messages]
    # Other agencies answer on the same topic in this module; this one answered once, for this complaint.
    assert [(t, r["complaint_id"]) for t, r in replies if r["agency_id"] == "EDU-110108"] == \
        [("ReferralAcknowledged", cid)]
    mine = next(m for m, (_, r) in zip(messages, replies) if r["agency_id"] == "EDU-110108")
    assert {"event_id", "event_type", "source", "position"} <= set(mine.headers)  # as on every message
    assert system.cli("agency", "XX-000000", "--once", check=False).returncode == 2


def test_escalation_moves_the_complaint_and_its_mediation_to_the_superior(system, broker):
    bus = broker
    [cid] = asyncio.run(post_all(system.url, [factories.complaint(1)]))  # AMR-110108
    system.wait_status(cid, "IN_MEDIATION", 60, "in mediation at AMR-110108")
    response = system.caller("routing", "AMR-110108").post(f"/complaints/{cid}/jurisdiction/escalation")
    # A request: the complaint stays until the superior decides.
    assert response.status_code == 200 and response.json()["agency_id"] == "AMR-110108"
    assert response.json()["escalation"]["superior_id"] == "AMR-110000"
    response = system.caller("routing", "AMR-110000").post(f"/complaints/{cid}/jurisdiction/escalation/decision",
                                                           decision="TAKE_OVER")
    assert response.status_code == 200 and response.json()["agency_id"] == "AMR-110000"
    wait_until(lambda: distinct_events(bus.bootstrap_servers, "complaints.decisions")[cid]["ComplaintTransferred"],
               30, message="ComplaintTransferred published")
    consent = f"/complaints/{cid}/mediation/consent"
    superior = system.caller("mediation", "AMR-110000")
    wait_until(lambda: superior.post(consent, party="CONSUMER", agreed=True).status_code == 200, 30,
               message="the superior bureau acts on the mediation case")
    refused = system.caller("mediation", "AMR-110108").post(consent, party="RESPONDENT", agreed=True)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")

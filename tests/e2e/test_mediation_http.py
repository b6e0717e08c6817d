"""Mediation case work over HTTP, each service its own process on the real
broker: what the handling bureau does with a case, who else may act on it, and
what subscribers and the complainant see afterwards.

One system serves the whole module (starting four processes is most of the
cost); every test works on complaints of its own."""
from __future__ import annotations

import base64
import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from services import auth
from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from services.bus.settings import StoreSettings
from services.mediation.application import Mediation
from services.mediation.domainmodel import MediationCase
from services.mediation.rules import clock_end, paused_days
from services.routing import calendar
from tests import factories
from tests.conftest import Bus
from tests.harness import HTTP, Processes, wait_until

pytestmark = pytest.mark.slow

BUREAU = "AMR-110108"  # factories.complaint(i) for i % 8 == 1: Beijing Haidian
ABOVE = "AMR-110000"  # Beijing's bureau, above Haidian in the directory
ELSEWHERE = "AMR-440106"  # Guangzhou Tianhe: a bureau with no say over Haidian's cases
PROBLEM = "application/problem+json"
PUBLIC_FIELDS = {"event_id", "occurred_at", "complaint_id", "respondent_name", "respondent_uscc", "subject_area",
                 "city_adcode", "status", "outcome", "received_on", "decided_on"}

_numbers = itertools.count(1, 8)  # each test its own consumer, all handled by BUREAU


def in_mediation(system: Processes) -> tuple[str, dict]:
    """A complaint accepted by BUREAU with its mediation case open; the body
    submitted, to look for its personal data later."""
    body = factories.complaint(next(_numbers))
    complaint_id = system.submit(body)[0]
    system.wait_status(complaint_id, "IN_MEDIATION", 60, f"{complaint_id} in mediation")
    return complaint_id, body


def on_topic(bus: Bus, topic: str, complaint_id: str) -> list[tuple[str, dict]]:
    codec = default_codec()
    decoded = (codec.decode(m.value) for m in read_all_sync(bus.bootstrap_servers, topic))
    return [(kind, record) for kind, record in decoded if record.get("complaint_id") == complaint_id]


def penalty_cases(bus: Bus) -> list[tuple[str, dict]]:
    """Keyed by case id, so read whole rather than by complaint."""
    codec = default_codec()
    return [codec.decode(m.value) for m in read_all_sync(bus.bootstrap_servers, "enforcement.cases")]


def kinds(bus: Bus, complaint_id: str) -> list[str]:
    return [kind for kind, _ in on_topic(bus, "mediation.events", complaint_id)]


def settle(bus: Bus, complaint_id: str, last: str, count: int) -> list[tuple[str, dict]]:
    """The case's events once `count` of them have arrived, the last being `last`."""
    def arrived():
        events = on_topic(bus, "mediation.events", complaint_id)
        return len(events) >= count and events[count - 1][0] == last and events
    return wait_until(arrived, 30, message=f"{count} mediation events ending with {last}")


def stored_version(system: Processes, complaint_id: str) -> int:
    """The case's version in mediation's own store, read beside the running process."""
    app = Mediation(env=StoreSettings(Path(system.env["TOUSU_DATA_DIR"])).for_service("mediation"))
    try:
        return app.repository.get(MediationCase.create_id(complaint_id)).version
    finally:
        app.close()


def consented(system: Processes) -> str:
    complaint_id, _ = in_mediation(system)
    worker = system.caller("mediation", BUREAU)
    for party in ("CONSUMER", "RESPONDENT"):
        assert worker.post(f"/complaints/{complaint_id}/mediation/consent", party=party, agreed=True).status_code == 200
    return complaint_id


def session(days: int = 7) -> dict:
    return {"session_at": datetime.now(timezone.utc) + timedelta(days=days), "place": "海淀区市场监管局调解室",
            "mediators": ["张调解", "李调解"]}


def personal_data(body: dict) -> list[str]:
    consumer = body["consumer"]
    return [consumer["name"], consumer["phone"], consumer["id_number"], consumer["address"], body["facts"]]


# -- the main path ------------------------------------------------------------------


def test_consent_schedule_and_a_written_agreement_reach_the_topic_the_status_and_the_public_feed(system, broker):
    complaint_id, body = in_mediation(system)
    worker = system.caller("mediation", BUREAU)
    case = f"/complaints/{complaint_id}/mediation"

    first = worker.post(f"{case}/consent", party="CONSUMER", agreed=True)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "AWAITING_CONSENT" and first.json()["agency_id"] == BUREAU
    both = worker.post(f"{case}/consent", party="RESPONDENT", agreed=True)
    assert both.status_code == 200 and both.json()["status"] == "OPEN"
    scheduled = worker.post(f"{case}/schedule", **session())
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "SCHEDULED" and scheduled.json()["panel"] == ["张调解", "李调解"]
    agreed = worker.post(f"{case}/agreement", form="WRITTEN", terms="退货退款,商家另付交通费",
                         amount_recovered_fen=12_800)
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["status"] == "AGREED" and agreed.json()["outcome"] == "WRITTEN"

    events = settle(broker, complaint_id, "MediationAgreed", 5)
    assert [kind for kind, _ in events] == ["MediationOpened", "ConsentRecorded", "ConsentRecorded",
                                            "MediationScheduled", "MediationAgreed"]
    assert [(r["party"], r["agreed"]) for _, r in events[1:3]] == [("CONSUMER", True), ("RESPONDENT", True)]
    assert events[0][1]["agency_id"] == BUREAU
    assert events[3][1]["mediators"] == ["张调解", "李调解"]
    assert {k: events[4][1][k] for k in ("form", "amount_recovered_fen")} == {"form": "WRITTEN",
                                                                             "amount_recovered_fen": 12_800}

    final = system.wait_status(complaint_id, "AGREED", 30, "status AGREED")
    assert final["amount_recovered_fen"] == 12_800 and final["outcome"] == "WRITTEN"

    public = wait_until(lambda: [r for _, r in on_topic(broker, "public.complaints", complaint_id)
                                 if r["status"] == "AGREED"], 30, message="the public AGREED update")
    assert len(public) == 1 and public[0]["outcome"] == "WRITTEN"
    assert set(public[0]) <= PUBLIC_FIELDS
    assert public[0]["respondent_name"] == body["respondent"]["name"]
    assert public[0]["city_adcode"] != "110108"  # city level, never the county
    raw = b"".join(m.value for m in read_all_sync(broker.bootstrap_servers, "public.complaints"))
    for value in personal_data(body):
        assert value.encode("utf-8") not in raw, value


def test_a_joint_complaint_is_mediated_to_agreement_with_the_consent_of_those_its_representatives_act_for(
        system, broker):
    # Order 121 art. 12: three consumers, one respondent, one dispute; two representatives elected.
    number = next(_numbers)
    body = factories.complaint(number)
    first = body["consumer"]["name"]
    body["co_consumers"] = [{"name": "李娜娜", "phone": "13900002222"}, {"name": "王芳芳", "phone": "13900003333"}]
    body["representatives"] = [first, "李娜娜"]
    three = factories.complaint(number, co_consumers=body["co_consumers"],
                                representatives=[first, "李娜娜", "王芳芳"])
    refused = HTTP.post(f"{system.url}/complaints", json=three, timeout=30)
    assert refused.status_code == 422 and refused.json()["field"] == "representatives"

    [complaint_id] = system.submit(body)
    system.wait_status(complaint_id, "IN_MEDIATION", 60, f"{complaint_id} in mediation")
    accepted = [r for kind, r in on_topic(broker, "complaints.decisions", complaint_id)
                if kind == "ComplaintAccepted"][0]
    assert accepted["consumer_count"] == 3 and accepted["represented"] == ["王芳芳"]

    worker = system.caller("mediation", BUREAU)
    case = f"/complaints/{complaint_id}/mediation"
    for party in ("CONSUMER", "RESPONDENT"):
        assert worker.post(f"{case}/consent", party=party, agreed=True).status_code == 200
    terms = {"form": "WRITTEN", "terms": "商家向三位消费者各退款100元", "amount_recovered_fen": 30_000}
    alone = worker.post(f"{case}/agreement", **terms)
    assert alone.status_code == 422 and "王芳芳" in alone.json()["detail"]
    assert "represented_consent" in alone.json()["detail"]
    agreed = worker.post(f"{case}/agreement", **terms, represented_consent=["王芳芳"])
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["status"] == "AGREED"

    events = settle(broker, complaint_id, "MediationAgreed", 4)
    assert events[-1][1]["represented_consent"] == ["王芳芳"]
    assert events[-1][1]["amount_recovered_fen"] == 30_000
    final = system.wait_status(complaint_id, "AGREED", 30, "status AGREED")
    assert "王芳芳" not in json.dumps(final, ensure_ascii=False)
    raw = b"".join(m.value for m in read_all_sync(broker.bootstrap_servers, "public.complaints"))
    for value in ("李娜娜", "王芳芳", "13900002222"):
        assert value.encode("utf-8") not in raw, value


# -- how a case ends without agreement ---------------------------------------------------


def test_a_respondent_refusing_mediation_terminates_the_case(system, broker):
    complaint_id, _ = in_mediation(system)
    worker = system.caller("mediation", BUREAU)
    case = f"/complaints/{complaint_id}/mediation"
    assert worker.post(f"{case}/consent", party="CONSUMER", agreed=True).status_code == 200
    refused = worker.post(f"{case}/consent", party="RESPONDENT", agreed=False)
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "TERMINATED" and refused.json()["outcome"] == "PARTY_REFUSED"

    events = settle(broker, complaint_id, "MediationTerminated", 4)
    assert [kind for kind, _ in events] == ["MediationOpened", "ConsentRecorded", "ConsentRecorded",
                                            "MediationTerminated"]
    assert (events[2][1]["party"], events[2][1]["agreed"]) == ("RESPONDENT", False)
    assert events[3][1]["reason"] == "PARTY_REFUSED"
    final = system.wait_status(complaint_id, "TERMINATED", 30, "status TERMINATED")
    assert final["reason"] == "PARTY_REFUSED" and final["amount_recovered_fen"] is None


def test_a_party_absent_from_the_session_terminates_the_case(system, broker):
    complaint_id = consented(system)
    worker = system.caller("mediation", BUREAU)
    assert worker.post(f"/complaints/{complaint_id}/mediation/schedule", **session()).status_code == 200
    ended = worker.post(f"/complaints/{complaint_id}/mediation/termination", reason="PARTY_ABSENT")
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "TERMINATED" and ended.json()["outcome"] == "PARTY_ABSENT"

    events = settle(broker, complaint_id, "MediationTerminated", 5)
    assert events[-1][1]["reason"] == "PARTY_ABSENT"
    system.wait_status(complaint_id, lambda s: s["reason"] == "PARTY_ABSENT", 30, "reason PARTY_ABSENT")
    assert system.status(complaint_id)["status"] == "TERMINATED"


def test_a_withdrawal_during_mediation_terminates_it(system, broker):
    # A termination ground like any other (DOMAIN.md); only one before mediation opens closes the complaint.
    complaint_id, _ = in_mediation(system)
    withdrawn = system.caller("mediation", BUREAU).post(f"/complaints/{complaint_id}/withdrawal")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() == {"complaint_id": complaint_id, "withdrawal": "TERMINATED"}

    events = settle(broker, complaint_id, "MediationTerminated", 2)
    assert events[-1][1]["reason"] == "WITHDRAWN" and events[-1][1]["before_opening"] is False
    final = system.wait_status(complaint_id, "TERMINATED", 30, "status TERMINATED")
    assert final["reason"] == "WITHDRAWN"
    public = wait_until(lambda: [r for _, r in on_topic(broker, "public.complaints", complaint_id)
                                 if r["status"] == "TERMINATED"], 30, message="the public TERMINATED update")
    assert public[0]["outcome"] == "WITHDRAWN"


# -- the clock -------------------------------------------------------------------------


def test_an_appraisal_moves_the_due_date_by_its_china_days(clocked):
    broker, system = clocked
    complaint_id = consented(system)
    worker = system.caller("mediation", BUREAU)
    case = f"/complaints/{complaint_id}/mediation"
    opened = settle(broker, complaint_id, "MediationOpened", 1)[0][1]
    due_before = opened["mediation_due"]
    assert due_before == datetime.fromisoformat(system.status(complaint_id)["mediation_due"])

    started_at = datetime.now(timezone.utc)
    took = timedelta(days=3, hours=4, minutes=5, seconds=6)
    started = worker.post(f"{case}/appraisal", action="START", body="北京市产品质量监督检验研究院",
                          payer="CLAIMANT", at=started_at)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "IN_APPRAISAL" and started.json()["paused"] is True
    assert started.json()["mediation_due"] is None  # unknown until the result is in
    system.wait_status(complaint_id, lambda s: s["mediation_paused"], 30, "the status shows the pause")

    # Case work is dated when it happened, never later: the result comes in
    # once mediation's clock has moved past it.
    completed_at = started_at + took
    early = worker.post(f"{case}/appraisal", action="COMPLETE", result="不合格", at=completed_at)
    assert early.status_code == 422 and early.json()["field"] == "at"
    mediation = system.workers["mediation"]
    mediation.stop()
    mediation.env = {**mediation.env, "TOUSU_CLOCK_OFFSET_SECONDS": str(took.total_seconds() + 600)}
    system.restart("mediation")
    system.wait_serving("mediation")
    completed = worker.post(f"{case}/appraisal", action="COMPLETE", result="不合格", at=completed_at)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "OPEN" and completed.json()["paused"] is False

    events = settle(broker, complaint_id, "AppraisalCompleted", 5)
    assert [kind for kind, _ in events[3:]] == ["AppraisalStarted", "AppraisalCompleted"]
    # The limit as a legal period: the appraisal's days (after the one it began
    # on, up to the one of its result) are not counted.
    appraisal = {"started_at": started_at, "completed_at": completed_at}
    days = (calendar.china_date(completed_at) - calendar.china_date(started_at)).days
    assert days in (3, 4) and len(paused_days([appraisal])) == days  # 3 days 4 hours: 3 China days, or 4
    expected, _ = clock_end(opened["accepted_at"], 60, [appraisal])
    # Later, unless the limit's last day fell in the same holidays with the
    # pause and without (a period whose last day is a holiday ends on the next
    # working day): accepted on 2026-12-07 China time, both end on 2027-02-09,
    # after the Spring Festival.
    unpaused_last = calendar.china_date(opened["accepted_at"]) + timedelta(days=60)
    assert expected > due_before or (expected == due_before and not calendar.working_day(unpaused_last)[0])
    assert events[4][1]["mediation_due"] == expected
    shown = system.wait_status(complaint_id, lambda s: s["mediation_paused"] is False, 30,
                               "the status shows the clock running again")
    assert datetime.fromisoformat(shown["mediation_due"]) == expected


# -- refusals -------------------------------------------------------------------------


def assert_conflict(response: httpx.Response, state: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["current_state"] == state and state in response.json()["detail"]


def test_illegal_transitions_are_refused_naming_the_state_and_store_nothing(system, broker):
    worker = system.caller("mediation", BUREAU)

    early, _ = in_mediation(system)
    before = stored_version(system, early)
    assert_conflict(worker.post(f"/complaints/{early}/mediation/agreement", form="ORAL", terms="退款",
                                amount_recovered_fen=100, oral_consent=["CONSUMER", "RESPONDENT"]), "AWAITING_CONSENT")
    assert stored_version(system, early) == before

    ended = consented(system)
    assert worker.post(f"/complaints/{ended}/mediation/termination", reason="SELF_SETTLED").status_code == 200
    before_ended = stored_version(system, ended)
    assert_conflict(worker.post(f"/complaints/{ended}/mediation/schedule", **session()), "TERMINATED")
    assert stored_version(system, ended) == before_ended

    twice = consented(system)
    terms = {"form": "WRITTEN", "terms": "换货", "amount_recovered_fen": 5_000}
    assert worker.post(f"/complaints/{twice}/mediation/agreement", **terms).status_code == 200
    before_twice = stored_version(system, twice)
    assert_conflict(worker.post(f"/complaints/{twice}/mediation/agreement", **dict(terms, amount_recovered_fen=9_000)),
                    "AGREED")
    assert stored_version(system, twice) == before_twice

    # What each case stored before the refusals, and nothing after: a later,
    # lawful command on the first case is the next thing on the topic.
    assert worker.post(f"/complaints/{early}/mediation/consent", party="CONSUMER", agreed=True).status_code == 200
    assert [k for k, _ in settle(broker, early, "ConsentRecorded", 2)] == ["MediationOpened", "ConsentRecorded"]
    assert kinds(broker, ended)[-1] == "MediationTerminated" and len(kinds(broker, ended)) == 4
    assert kinds(broker, twice).count("MediationAgreed") == 1 and len(kinds(broker, twice)) == 4


def test_an_unknown_complaint_is_404(system):
    response = system.caller("mediation", BUREAU).post("/complaints/TS-NO-SUCH/mediation/consent", party="CONSUMER",
                                                       agreed=True)
    assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM)


# -- who may act ------------------------------------------------------------------------


def _forged(token: str, **claims) -> str:
    """The token with its claims changed and its signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode()).rstrip(b"=").decode()
    return ".".join((header, changed, signature))


def test_only_the_handling_bureau_and_those_above_it_act(system, broker):
    complaint_id, _ = in_mediation(system)
    consent = f"/complaints/{complaint_id}/mediation/consent"
    version = stored_version(system, complaint_id)

    other = system.caller("mediation", ELSEWHERE).post(consent, party="CONSUMER", agreed=True)
    assert other.status_code == 403 and other.headers["content-type"].startswith(PROBLEM)
    assert BUREAU in other.json()["detail"] and ELSEWHERE in other.json()["detail"]
    # A case worker of the bureau above is not the handling bureau; its supervisor is.
    assert system.caller("mediation", ABOVE).post(consent, party="CONSUMER", agreed=True).status_code == 403
    for role in ("REGULATOR", "AGENCY_SYSTEM"):
        refused = system.caller("mediation", BUREAU, role).post(consent, party="CONSUMER", agreed=True)
        assert refused.status_code == 403 and role in refused.json()["detail"], role

    key = system.env["TOUSU_SIGNING_KEY"].encode()
    valid = system.token(BUREAU)
    for token in ("", "not-a-token", auth.issue(BUREAU, "CASE_WORKER", key, ttl=timedelta(seconds=-1)),
                  _forged(valid, sub=ABOVE, role="SUPERVISOR"), auth.issue(BUREAU, "CASE_WORKER", b"x" * 32)):
        anonymous = system.caller("mediation", token=token).post(consent, party="CONSUMER", agreed=True)
        assert anonymous.status_code == 401, (token, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"

    lying = system.caller("mediation", BUREAU).post(consent, party="CONSUMER", agreed=True, by=ABOVE)
    assert lying.status_code == 403 and lying.json()["field"] == "by"
    assert stored_version(system, complaint_id) == version

    supervisor = system.caller("mediation", ABOVE, "SUPERVISOR")
    assert supervisor.post(consent, party="CONSUMER", agreed=True, by=ABOVE).status_code == 200
    own = system.caller("mediation", BUREAU).post(consent, party="RESPONDENT", agreed=True, by=BUREAU)
    assert own.status_code == 200
    events = settle(broker, complaint_id, "ConsentRecorded", 3)
    assert [k for k, _ in events] == ["MediationOpened", "ConsentRecorded", "ConsentRecorded"]


def test_a_withdrawal_before_mediation_opens_stands_only_if_the_handling_bureau_made_it(system, broker):
    # With routing away, complaints wait for acceptance and mediation has no
    # case yet, so no bureau can be checked when the withdrawal arrives.
    routing = system.workers["routing"]
    routing.stop()
    try:
        foreign_target = system.submit(factories.complaint(next(_numbers)))[0]
        own_target = system.submit(factories.complaint(next(_numbers)))[0]
        early = system.caller("mediation", ELSEWHERE).post(f"/complaints/{foreign_target}/withdrawal")
        assert early.status_code == 200 and early.json()["withdrawal"] == "WITHDRAWN_BEFORE_MEDIATION"
        regulator = system.caller("mediation", BUREAU, "REGULATOR").post(f"/complaints/{foreign_target}/withdrawal")
        assert regulator.status_code == 403 and "REGULATOR" in regulator.json()["detail"]
        # Whoever records a withdrawal first must not shut out the bureau that gets the case.
        assert system.caller("mediation", ELSEWHERE).post(f"/complaints/{own_target}/withdrawal").status_code == 200
        own = system.caller("mediation", BUREAU).post(f"/complaints/{own_target}/withdrawal")
        assert own.status_code == 200 and own.json()["withdrawal"] == "WITHDRAWN_BEFORE_MEDIATION"
    finally:
        system.restart("routing")

    closed = system.wait_status(own_target, "CLOSED", 60,
                                "the bureau's own withdrawal closes the complaint as mediation opens")
    assert closed["reason"] == "WITHDRAWN"
    system.wait_status(foreign_target, "IN_MEDIATION", 60, "the other bureau's withdrawal did not close the complaint")
    # Still live: a consent is accepted, and it follows the opening directly.
    consent = system.caller("mediation", BUREAU).post(f"/complaints/{foreign_target}/mediation/consent",
                                                      party="CONSUMER", agreed=True)
    assert consent.status_code == 200
    events = settle(broker, foreign_target, "ConsentRecorded", 2)
    assert [k for k, _ in events] == ["MediationOpened", "ConsentRecorded"]


# -- violations go to enforcement, mediation goes on --------------------------------------


def test_a_violation_flagged_in_mediation_opens_a_penalty_case_and_mediation_goes_on(system, broker):
    complaint_id, body = in_mediation(system)
    # Routing serves the route for every complaint, in mediation or not (deploy/nginx.conf).
    flagged = system.caller("routing", BUREAU).post(f"/complaints/{complaint_id}/violations",
                                                    violation_type="FALSE_ADVERTISING",
                                                    evidence="宣传页称“国家免检”,与实际不符")
    assert flagged.status_code == 202, flagged.text
    assert flagged.json()["status"] == "FLAGGED"

    found = wait_until(lambda: on_topic(broker, "violations.found", complaint_id), 30, message="ViolationFound")
    assert found[0][1]["found_by"] == "mediation" and found[0][1]["violation_type"] == "FALSE_ADVERTISING"

    def opened():
        return [r for kind, r in penalty_cases(broker) if kind == "PenaltyCaseOpened"
                and complaint_id in r["complaint_ids"]]
    [case] = wait_until(opened, 30, message="PenaltyCaseOpened for the complaint")
    assert case["origin"] == "COMPLAINT" and case["complaint_ids"] == [complaint_id]
    assert case["case_id"] != complaint_id and case["agency_id"] == BUREAU
    assert case["respondent"]["name"] == body["respondent"]["name"]

    shown = system.wait_status(complaint_id, lambda s: s["penalty_case_ids"], 30, "the case listed on the complaint")
    assert shown["penalty_case_ids"] == [case["case_id"]] and shown["status"] == "IN_MEDIATION"
    # The case never blocks mediation: the complaint's case work carries on.
    consent = system.caller("mediation", BUREAU).post(f"/complaints/{complaint_id}/mediation/consent",
                                                      party="CONSUMER", agreed=True)
    assert consent.status_code == 200
    assert [k for k, _ in settle(broker, complaint_id, "ConsentRecorded", 2)] == ["MediationOpened", "ConsentRecorded"]


# -- the 60-day limit ---------------------------------------------------------------------


@pytest.fixture
def clocked(tmp_path):
    """A system of its own, since moving mediation's clock ends every open case
    on the bus it serves."""
    bus = Bus().start()
    processes = Processes(bus.bootstrap_servers, tmp_path / "data", extra_env={"TOUSU_TIMER_SECONDS": "0.5"},
                          services=("intake", "routing", "mediation")).start()
    yield bus, processes
    processes.stop()
    bus.stop()


def test_the_timer_ends_a_case_at_its_time_limit_but_not_while_an_appraisal_runs(clocked):
    bus, system = clocked
    running, _ = in_mediation(system)
    appraised = consented(system)
    worker = system.caller("mediation", BUREAU)
    started_at = datetime.now(timezone.utc)
    assert worker.post(f"/complaints/{appraised}/mediation/appraisal", action="START", body="某检测中心",
                       payer="SHARED", at=started_at).status_code == 200

    mediation = system.workers["mediation"]
    mediation.stop()
    # Past the end of the 60th day, moved past whatever rest days (a Spring Festival included) follow it.
    mediation.env = {**mediation.env, "TOUSU_CLOCK_OFFSET_SECONDS": str(75 * 24 * 3600)}
    system.restart("mediation")
    system.wait_serving("mediation")

    events = settle(bus, running, "MediationTerminated", 2)
    assert events[-1][1]["reason"] == "TIME_LIMIT_EXCEEDED"
    final = system.wait_status(running, "TERMINATED", 30, "status TERMINATED")
    assert final["reason"] == "TIME_LIMIT_EXCEEDED"

    # The paused case outlived the round that ended the other; once the
    # appraisal's result is in, the clock runs again and is long past its end.
    completed = worker.post(f"/complaints/{appraised}/mediation/appraisal", action="COMPLETE",
                            at=started_at + timedelta(hours=2))
    assert completed.status_code == 200, completed.text
    events = settle(bus, appraised, "MediationTerminated", 6)
    assert [k for k, _ in events[3:]] == ["AppraisalStarted", "AppraisalCompleted", "MediationTerminated"]
    assert events[-1][1]["reason"] == "TIME_LIMIT_EXCEEDED"

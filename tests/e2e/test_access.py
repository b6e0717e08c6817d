"""Who may do what, over every route the services serve.

The routes come from each service's own OpenAPI document, so a route added
without protection fails here without anyone remembering to list it. Only the
public front door, the public status and the documents are open."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import httpx
import jwt
import pytest

from services import auth
from services.bus.settings import StoreSettings
from services.enforcement.application import Enforcement
from services.mediation.application import Mediation
from services.mediation.domainmodel import MediationCase
from tests import factories
from tests.harness import HTTP, Processes, decoded as harness_decoded, wait_until

BUREAU = "AMR-110108"  # factories.complaint(i) for i % 8 == 1: Beijing Haidian
ABOVE = "AMR-110000"
ELSEWHERE = "AMR-440106"
NEIGHBOUR = "AMR-110105"  # Chaoyang: another Beijing bureau, party to a jurisdiction dispute
SERVICES = ("intake", "routing", "mediation", "enforcement")
OPEN = {("POST", "/complaints"), ("GET", "/complaints/{complaint_id}"), ("GET", "/openapi.json"),
        ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/asyncapi.json")}
PROBLEM = "application/problem+json"

# A lawful body for each route on a complaint or case, so that only the caller
# stands between the request and a stored change.
SAMPLES = {
    ("POST", "/complaints/{complaint_id}/withdrawal"): {},
    ("POST", "/complaints/{complaint_id}/mediation/consent"): {"party": "CONSUMER", "agreed": True},
    ("POST", "/complaints/{complaint_id}/mediation/schedule"): {
        "session_at": "2031-05-06T09:30:00+08:00", "place": "调解室", "mediators": ["张调解"]},
    ("POST", "/complaints/{complaint_id}/mediation/recusal"): {"mediator": "张调解", "reason": "与被投诉人有亲属关系"},
    ("POST", "/complaints/{complaint_id}/mediation/appraisal"): {"action": "START", "body": "某检测中心",
                                                                   "payer": "CLAIMANT"},
    ("POST", "/complaints/{complaint_id}/mediation/agreement"): {"form": "ORAL", "terms": "退款",
                                                                    "amount_recovered_fen": 100,
                                                                    "oral_consent": ["CONSUMER", "RESPONDENT"]},
    ("POST", "/complaints/{complaint_id}/mediation/termination"): {"reason": "SELF_SETTLED"},
    ("POST", "/complaints/{complaint_id}/mediation/recusal/request"): {"mediator": "张调解", "party": "CONSUMER",
                                                                         "reason": "与被投诉人有亲属关系"},
    ("POST", "/complaints/{complaint_id}/mediation/recusal/decision"): {"granted": False},
    ("POST", "/complaints/{complaint_id}/mediation/termination/notice"): {},
    ("POST", "/complaints/{complaint_id}/violations"): {"violation_type": "OTHER", "evidence": "现场照片"},
    ("POST", "/complaints/{complaint_id}/jurisdiction/escalation"): {},
    ("POST", "/complaints/{complaint_id}/jurisdiction/takeover"): {},
    ("POST", "/complaints/{complaint_id}/jurisdiction/escalation/decision"): {"decision": "REFUSE"},
    ("POST", "/complaints/{complaint_id}/jurisdiction/dispute"): {"with_agency_id": NEIGHBOUR},
    ("POST", "/complaints/{complaint_id}/jurisdiction/designation"): {"agency_id": NEIGHBOUR},
    ("POST", "/complaints/{complaint_id}/referral/reply"): {"answer": "ACKNOWLEDGED"},
    ("GET", "/cases/{case_id}"): None,
    ("POST", "/cases/{case_id}/investigation"): {},
    ("POST", "/cases/{case_id}/filing-declined"): {"reason": "证据不足"},
    ("POST", "/cases/{case_id}/decision"): {"fine_fen": 100, "basis": "某条"},
    ("POST", "/cases/{case_id}/closure"): {"outcome": "结案"},
    ("POST", "/cases/{case_id}/check-extension"): {"approved_by": "张局长", "reason": "需调取平台交易记录"},
}


def decoded(bus, topic: str) -> list[tuple[str, dict]]:
    return harness_decoded(bus.bootstrap_servers, topic)


@pytest.fixture(scope="module")
def samples(system, broker) -> dict[str, str]:
    """A complaint in mediation at BUREAU, under a jurisdiction dispute so that
    deciding it is a matter of who asks, and a penalty case at BUREAU."""
    report = dict(factories.complaint(9001), kind="REPORT", alleged_violation="COUNTERFEIT")
    report.pop("demands")
    complaint_id, report_id = system.submit(factories.complaint(9), report)
    system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    disputed = system.caller("routing", BUREAU).post(f"/complaints/{complaint_id}/jurisdiction/dispute",
                                                     with_agency_id=NEIGHBOUR)
    assert disputed.status_code == 200, disputed.text
    [case_id] = wait_until(lambda: [r["case_id"] for kind, r in decoded(broker, "enforcement.cases")
                                    if kind == "PenaltyCaseOpened" and r["complaint_ids"] == [report_id]], 60,
                           message="the report's penalty case")
    return {"complaint_id": complaint_id, "case_id": case_id}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def routes(system: Processes) -> dict[tuple[str, str], str]:
    """(method, path) -> the service serving it, from each service's OpenAPI document."""
    served = {}
    for service in SERVICES:
        document = HTTP.get(f"{system.url_of(service)}/openapi.json", timeout=10).json()
        for path, operations in document["paths"].items():
            for method in operations:
                served.setdefault((method.upper(), path), service)
    return served


def forged(token: str, **claims) -> str:
    """The token with its claims changed and its signature kept."""
    header, payload, signature = token.split(".")
    decoded_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps({**decoded_claims, **claims}).encode()).rstrip(b"=").decode()
    return ".".join((header, changed, signature))


def unauthenticated(system: Processes) -> dict[str, dict]:
    """Every way of not proving who one is: name -> request headers."""
    key = system.env["TOUSU_SIGNING_KEY"].encode()
    now = datetime.now(timezone.utc)
    claims = {"iss": auth.ISSUER, "sub": BUREAU, "role": "CASE_WORKER", "iat": now, "exp": now + timedelta(hours=1)}
    valid = system.token(BUREAU)
    return {
        "no token": {},
        "bearer without a token": {"Authorization": "Bearer"},
        "other scheme": {"Authorization": "Basic " + base64.b64encode(b"AMR-110108:secret").decode()},
        "malformed": bearer("not-a-token"),
        "expired": bearer(auth.issue(BUREAU, "CASE_WORKER", key, ttl=timedelta(seconds=-1))),
        "forged claims": bearer(forged(valid, sub=ABOVE, role="SUPERVISOR")),
        "another key": bearer(auth.issue(BUREAU, "CASE_WORKER", b"another-key-of-thirty-two-bytes!!")),
        "unsigned": bearer(jwt.encode(claims, None, algorithm="none")),
        "no expiry": bearer(jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key, algorithm="HS256")),
        "unknown role": bearer(jwt.encode({**claims, "role": "ADMIN"}, key, algorithm="HS256")),
        "other issuer": bearer(jwt.encode({**claims, "iss": "someone-else"}, key, algorithm="HS256")),
    }


def unentitled(system: Processes, method: str) -> dict[str, dict]:
    """Valid tokens that give no right over BUREAU's cases: name -> headers."""
    callers = {"case worker elsewhere": bearer(system.token(ELSEWHERE)),
               "supervisor elsewhere": bearer(system.token(ELSEWHERE, "SUPERVISOR")),
               "the bureau's own agency system": bearer(system.token(BUREAU, "AGENCY_SYSTEM"))}
    if method != "GET":
        callers["the bureau's own regulator"] = bearer(system.token(BUREAU, "REGULATOR"))
    return callers


def call(http: httpx.Client, system: Processes, service: str, method: str, path: str, ids: dict, headers: dict,
         body) -> httpx.Response:
    url = system.url_of(service) + path.format(**ids)
    return http.request(method, url, headers=headers, json=body)


def wrong_answers(http: httpx.Client, system: Processes, service: str, method: str, path: str,
                  ids: dict) -> list[str]:
    """What one route answered that it should not have: 401 for every caller
    who cannot prove who they are; 403, on an existing complaint or case, for
    every valid caller with no say over it."""
    on_a_case = "{complaint_id}" in path or "{case_id}" in path
    if on_a_case and (method, path) not in SAMPLES:
        return [f"{method} {path}: no sample body; add one to SAMPLES"]
    body = SAMPLES.get((method, path), None if method == "GET" else {})
    callers = [(401, name, headers) for name, headers in unauthenticated(system).items()]
    if on_a_case:
        callers += [(403, name, headers) for name, headers in unentitled(system, method).items()]
    wrong = []
    for expected, name, headers in callers:
        try:
            response = call(http, system, service, method, path, ids, headers, body)
        except KeyError as exc:
            return [f"{method} {path}: no sample id for {exc}"]
        problem = response.headers.get("content-type", "").startswith(PROBLEM)
        challenged = expected != 401 or response.headers.get("www-authenticate") == "Bearer"
        if response.status_code != expected or not problem or not challenged:
            wrong.append(f"{method} {path}, {name}: {response.status_code} {response.text[:200]}")
    return wrong


def test_every_protected_route_refuses_whoever_cannot_prove_who_they_are_or_has_no_say(system, samples):
    served = routes(system)
    protected = {route: service for route, service in served.items() if route not in OPEN}
    # The table must reach the case-work routes, or it proves nothing.
    assert set(SAMPLES) <= set(protected), set(SAMPLES) - set(protected)

    with httpx.Client(timeout=30) as http:
        wrong = [answer for (method, path), service in sorted(protected.items())
                 for answer in wrong_answers(http, system, service, method, path, samples)]
    assert not wrong, "\n".join(wrong)

    # The refusals changed nothing: the sample complaint is still in mediation
    # with no step taken, and its bureau still has it.
    assert system.status(samples["complaint_id"])["status"] == "IN_MEDIATION"
    case = system.caller("enforcement", BUREAU).get(f"/cases/{samples['case_id']}").json()
    assert case["status"] == "LEAD" and case["agency_id"] == BUREAU


def test_the_open_routes_answer_without_a_token(system, samples):
    served = routes(system)
    assert {("POST", "/complaints"), ("GET", "/complaints/{complaint_id}"), ("GET", "/asyncapi.json")} <= set(served)
    shown = HTTP.get(f"{system.url}/complaints/{samples['complaint_id']}", timeout=10)
    assert shown.status_code == 200 and "consumer" not in shown.json()
    assert HTTP.get(f"{system.url}/asyncapi.json", timeout=10).status_code == 200


def test_stored_events_and_their_audit_records_name_the_acting_agency_role_and_person(system, broker):
    [complaint_id] = system.submit(factories.complaint(17))
    system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    mediation = f"/complaints/{complaint_id}/mediation"
    acts = [(BUREAU, "CASE_WORKER", "consent", {"party": "CONSUMER", "agreed": True}),
            (ABOVE, "SUPERVISOR", "consent", {"party": "RESPONDENT", "agreed": True}),
            (BUREAU, "CASE_WORKER", "termination", {"reason": "SELF_SETTLED"})]
    from services import auth

    for agency, role, step, body in acts:
        # The first case worker's token names her (an identity provider's tokens do).
        token = (auth.issue(agency, role, system.env["TOUSU_SIGNING_KEY"].encode(), person="王芳")
                 if step == "consent" and role == "CASE_WORKER" else system.token(agency, role))
        response = system.caller("mediation", token=token).post(f"{mediation}/{step}", body)
        assert response.status_code == 200, response.text

    store = Mediation(env=StoreSettings(Path(system.env["TOUSU_DATA_DIR"])).for_service("mediation"))
    try:
        case_id = MediationCase.create_id(complaint_id)
        events = list(store.repository.event_store.get(case_id))
    finally:
        store.close()
    stored = [(type(e).__name__, e.by_agency, e.by_role, vars(e).get("by_person")) for e in events]
    assert stored == [("Opened", None, None, None),  # opened by routing's decision, not by a person
                      ("ConsentRecorded", BUREAU, "CASE_WORKER", "王芳"),
                      ("ConsentRecorded", ABOVE, "SUPERVISOR", None),
                      ("Terminated", BUREAU, "CASE_WORKER", None)]

    def audited():
        records = [r for _, r in decoded(broker, "audit.log")
                   if r["service"] == "mediation" and r["aggregate_id"] == str(case_id)]
        return len(records) == 4 and records
    records = wait_until(audited, 30, message="the case's four audit records")
    assert [(r["aggregate_version"], r["actor_agency_id"], r["actor_role"], r["actor_person"]) for r in records] == [
        (1, None, None, None), (2, BUREAU, "CASE_WORKER", "王芳"), (3, ABOVE, "SUPERVISOR", None),
        (4, BUREAU, "CASE_WORKER", None)]


def test_penalty_case_steps_name_the_acting_agency_and_role(system, broker, samples):
    report = dict(factories.complaint(9017), kind="REPORT", alleged_violation="PRICE_FRAUD")
    report.pop("demands")
    [report_id] = system.submit(report)
    [case_id] = wait_until(lambda: [r["case_id"] for kind, r in decoded(broker, "enforcement.cases")
                                    if kind == "PenaltyCaseOpened" and r["complaint_ids"] == [report_id]], 60,
                           message="the report's penalty case")
    started = system.caller("enforcement", ABOVE, "SUPERVISOR").post(f"/cases/{case_id}/investigation")
    assert started.status_code == 200, started.text

    store = Enforcement(env=StoreSettings(Path(system.env["TOUSU_DATA_DIR"])).for_service("enforcement"))
    try:
        events = list(store.repository.event_store.get(UUID(case_id)))
    finally:
        store.close()
    assert [(type(e).__name__, getattr(e, "by_agency", None), getattr(e, "by_role", None)) for e in events] == [
        ("Opened", None, None), ("Filed", ABOVE, "SUPERVISOR"), ("InvestigationStarted", ABOVE, "SUPERVISOR")]

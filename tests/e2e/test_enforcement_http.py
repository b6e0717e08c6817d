"""Penalty cases over HTTP, each service its own process on the real broker:
a report becomes a case of its own and never a mediation, and the case goes
through its steps only in order and only at the hands of its bureau."""
from __future__ import annotations

import itertools

import httpx

from services.bus.reader import read_all_sync
from tests import factories
from tests.conftest import Bus
from tests.harness import decoded as harness_decoded, wait_until

BUREAU = "AMR-110108"  # factories.complaint(i) for i % 8 == 1: Beijing Haidian
ABOVE = "AMR-110000"
ELSEWHERE = "AMR-440106"
PROBLEM = "application/problem+json"

# Distinct operators per report, so no five of them ever make a pattern lead.
_numbers = itertools.count(5001, 8)


def decoded(bus, topic: str) -> list[tuple[str, dict]]:
    return harness_decoded(bus.bootstrap_servers, topic)


def report_body(violation: str = "COUNTERFEIT") -> dict:
    body = dict(factories.complaint(next(_numbers)), kind="REPORT", alleged_violation=violation,
                facts="店内销售假冒注册商标的运动鞋,举报人愿意配合调查。")
    body.pop("demands")
    return body


def case_for(bus: Bus, complaint_id: str) -> dict:
    def opened():
        return [r for kind, r in decoded(bus, "enforcement.cases")
                if kind == "PenaltyCaseOpened" and complaint_id in r["complaint_ids"]]
    [case] = wait_until(opened, 60, message=f"a penalty case for {complaint_id}")
    return case


def test_a_report_becomes_a_penalty_case_and_never_a_mediation(system, broker):
    body = report_body()
    [report_id] = system.submit(body)
    case = case_for(broker, report_id)
    assert case["origin"] == "REPORT" and case["complaint_ids"] == [report_id]
    assert case["case_id"] != report_id and case["violation_type"] == "COUNTERFEIT"
    assert case["agency_id"] == BUREAU and case["respondent"]["name"] == body["respondent"]["name"]

    # A complaint filed after the report is decided, mediated and published;
    # by then the report would have been too, were it ever going to be.
    [later] = system.submit(factories.complaint(next(_numbers)))
    wait_until(lambda: any(r["complaint_id"] == later for _, r in decoded(broker, "public.complaints"))
               and any(r["complaint_id"] == later for _, r in decoded(broker, "mediation.events")),
               60, message="the later complaint in mediation and on the public stream")
    for topic in ("complaints.decisions", "mediation.events", "public.complaints"):
        assert not [kind for kind, r in decoded(broker, topic) if r.get("complaint_id") == report_id], topic
    public = b"".join(m.value for m in read_all_sync(broker.bootstrap_servers, "public.complaints"))
    for value in (body["consumer"]["name"], body["consumer"]["phone"], body["consumer"]["id_number"]):
        assert value.encode("utf-8") not in public

    shown = system.wait_status(report_id, lambda s: s["penalty_case_ids"], 30, "the case listed on the report's status")
    assert shown["kind"] == "REPORT" and shown["penalty_case_ids"] == [case["case_id"]]
    assert shown["status"] not in ("IN_MEDIATION", "AGREED", "TERMINATED")


def test_a_case_goes_through_investigation_decision_and_closure(system, broker):
    [report_id] = system.submit(report_body("PRICE_FRAUD"))
    case_id = case_for(broker, report_id)["case_id"]
    worker = system.caller("enforcement", BUREAU)

    lead = worker.get(f"/cases/{case_id}")
    assert lead.status_code == 200, lead.text
    assert lead.json()["status"] == "LEAD" and lead.json()["origin"] == "REPORT"
    assert lead.json()["complaint_ids"] == [report_id] and lead.json()["filing_due"]

    investigating = worker.post(f"/cases/{case_id}/investigation")
    assert investigating.status_code == 200, investigating.text
    assert investigating.json()["status"] == "INVESTIGATING" and investigating.json()["conclusion_due"]
    decided = worker.post(f"/cases/{case_id}/decision", fine_fen=5_000_000,
                          basis="《价格违法行为行政处罚规定》第七条")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "DECIDED" and decided.json()["decision"]["fine_fen"] == 5_000_000
    closed = worker.post(f"/cases/{case_id}/closure", outcome="罚款已缴纳,结案")
    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"

    final = worker.get(f"/cases/{case_id}").json()
    assert final["status"] == "CLOSED" and final["closure"]["outcome"] == "罚款已缴纳,结案"
    assert final["decision"]["basis"] == "《价格违法行为行政处罚规定》第七条"

    def steps():
        found = [(kind, r) for kind, r in decoded(broker, "enforcement.cases") if r["case_id"] == case_id]
        return len(found) == 4 and found
    events = wait_until(steps, 30, message="the case's four events")
    assert [kind for kind, _ in events] == ["PenaltyCaseOpened", "InvestigationStarted", "PenaltyDecided",
                                            "PenaltyCaseClosed"]
    assert events[2][1]["fine_fen"] == 5_000_000 and events[3][1]["outcome"] == "罚款已缴纳,结案"


def assert_conflict(response: httpx.Response, state: str) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["current_state"] == state


def test_steps_out_of_order_are_refused_naming_the_state(system, broker):
    [report_id] = system.submit(report_body("EXPIRED_GOODS"))
    case_id = case_for(broker, report_id)["case_id"]
    worker = system.caller("enforcement", BUREAU)

    assert_conflict(worker.post(f"/cases/{case_id}/decision", fine_fen=100, basis="某条"), "LEAD")
    assert_conflict(worker.post(f"/cases/{case_id}/closure", outcome="结案"), "LEAD")
    assert worker.post(f"/cases/{case_id}/investigation").status_code == 200
    assert_conflict(worker.post(f"/cases/{case_id}/investigation"), "INVESTIGATING")
    assert_conflict(worker.post(f"/cases/{case_id}/closure", outcome="结案"), "INVESTIGATING")
    assert worker.post(f"/cases/{case_id}/decision", fine_fen=0, basis="警告", no_penalty=False).status_code == 200
    assert_conflict(worker.post(f"/cases/{case_id}/decision", fine_fen=100, basis="某条"), "DECIDED")
    assert worker.post(f"/cases/{case_id}/closure", outcome="结案").status_code == 200
    assert_conflict(worker.post(f"/cases/{case_id}/investigation"), "CLOSED")

    # Only the lawful steps were stored: a marker case's events follow them on
    # the one relay that publishes both, in the order they were stored.
    [marker] = system.submit(report_body("OTHER"))
    marker_case = case_for(broker, marker)["case_id"]
    assert system.caller("enforcement", BUREAU).post(f"/cases/{marker_case}/investigation").status_code == 200
    wait_until(lambda: any(kind == "InvestigationStarted" and r["case_id"] == marker_case
                           for kind, r in decoded(broker, "enforcement.cases")), 30, message="the marker's step")
    kinds = [kind for kind, r in decoded(broker, "enforcement.cases") if r["case_id"] == case_id]
    assert kinds == ["PenaltyCaseOpened", "InvestigationStarted", "PenaltyDecided", "PenaltyCaseClosed"]


def test_only_the_cases_bureau_and_those_above_it_see_and_act(system, broker):
    [report_id] = system.submit(report_body("SUBSTANDARD_GOODS"))
    case_id = case_for(broker, report_id)["case_id"]

    other = system.caller("enforcement", ELSEWHERE)
    for response in (other.get(f"/cases/{case_id}"), other.post(f"/cases/{case_id}/investigation")):
        assert response.status_code == 403 and response.headers["content-type"].startswith(PROBLEM)
        assert ELSEWHERE in response.json()["detail"]
    for role in ("AGENCY_SYSTEM", "REGULATOR"):
        assert system.caller("enforcement", BUREAU, role).post(f"/cases/{case_id}/investigation").status_code == 403
    lying = system.caller("enforcement", BUREAU).post(f"/cases/{case_id}/investigation", by=ABOVE)
    assert lying.status_code == 403 and lying.json()["field"] == "by"
    assert system.caller("enforcement").get(f"/cases/{case_id}").status_code == 401
    assert system.caller("enforcement", BUREAU).get(f"/cases/{case_id}").json()["status"] == "LEAD"

    supervisor = system.caller("enforcement", ABOVE, "SUPERVISOR")
    assert supervisor.get(f"/cases/{case_id}").status_code == 200
    assert supervisor.post(f"/cases/{case_id}/investigation").json()["status"] == "INVESTIGATING"


def test_a_complaint_id_or_an_unknown_id_is_no_case(system, broker):
    [report_id] = system.submit(report_body("UNFAIR_TERMS"))
    case_for(broker, report_id)
    worker = system.caller("enforcement", BUREAU)
    for not_a_case in (report_id, "00000000-0000-0000-0000-000000000000", "PC-NOPE"):
        response = worker.get(f"/cases/{not_a_case}")
        assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM), not_a_case

"""The whole system under TOUSU_RULEBOOK=SAMR-121 (SAMR Order No. 121): a consumer
aware of the harm two years ago is accepted (three-year limit), mediation is due
60 days after acceptance counted by art. 45, the rulebook is on every decision
and in the status, and Order 121's own grounds and formalities apply."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from services.routing import calendar
from services.routing.rulebook import CHINA_STANDARD_TIME
from tests import factories
from tests.harness import Processes, wait_until

pytestmark = pytest.mark.slow

BUREAU = "AMR-110108"


@pytest.fixture(scope="module")
def system(module_bus, tmp_path_factory):
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp("rulebook121") / "data",
                          extra_env={"TOUSU_RULEBOOK": "SAMR-121"}).start()
    yield processes
    processes.stop()


def decisions(bus, complaint_id: str) -> list[tuple[str, dict]]:
    codec = default_codec()
    decoded = (codec.decode(m.value) for m in read_all_sync(bus.bootstrap_servers, "complaints.decisions"))
    return [(kind, r) for kind, r in decoded if r.get("complaint_id") == complaint_id]


def test_aware_two_years_ago_is_accepted_and_mediation_is_due_sixty_days_by_article_45(system, module_bus):
    two_years_ago = (date.today() - timedelta(days=730)).isoformat()
    complaint_id = system.submit(factories.complaint(1, aware_date=two_years_ago))[0]
    shown = system.wait_status(complaint_id, lambda s: s["status"] == "IN_MEDIATION" and s["mediation_due"], 60,
                               "in mediation")
    assert shown["rulebook"] == "SAMR-121" and shown["agency_id"] == BUREAU

    [(kind, accepted)] = wait_until(lambda: decisions(module_bus, complaint_id), 30, message="the decision")
    assert kind == "ComplaintAccepted" and accepted["rulebook"] == "SAMR-121"

    # Art. 45: the acceptance day is not counted; the 60th day after it, moved
    # off a rest day, ends at 24:00 China time.
    due = datetime.fromisoformat(shown["mediation_due"])
    assert due.utcoffset() == timedelta(hours=8)  # shown in China time
    accepted_on = accepted["decided_at"].astimezone(CHINA_STANDARD_TIME).date()
    last_day = due.date()
    assert due.timetz().replace(tzinfo=None) == time(23, 59, 59, 999000)
    assert accepted_on + timedelta(days=60) <= last_day <= accepted_on + timedelta(days=70)
    assert calendar.working_day(last_day)[0]
    between = [accepted_on + timedelta(days=n) for n in range(60, (last_day - accepted_on).days)]
    assert not any(calendar.working_day(d)[0] for d in between)  # moved only past rest days
    # Shown as provisional exactly when the count reaches a year with no holiday notice loaded.
    assert shown["mediation_due_provisional"] is (not calendar.known_year(last_day.year))

    # `tousu status` names the rulebook too.
    out = system.cli("status", complaint_id, "--url", system.url)
    assert out.returncode == 0, out.stderr
    assert any(line.split()[:1] == ["rulebook"] and "SAMR-121" in line for line in out.stdout.splitlines())


def test_order_121_grounds_are_told_all_together_with_their_articles(system, module_bus):
    body = factories.complaint(9, demands=[], has_evidence=False, false_materials=True)
    complaint_id = system.submit(body)[0]
    shown = system.wait_status(complaint_id, "REJECTED", 60, "rejected")
    assert shown["rulebook"] == "SAMR-121" and shown["reason"] == "NO_SPECIFIC_REQUEST"
    assert [g["reason"] for g in shown["grounds"]] == ["NO_SPECIFIC_REQUEST", "UNPROVABLE", "FALSE_MATERIALS"]
    assert all("国家市场监督管理总局令第121号" in g["explanation"] and "第十六条" in g["explanation"]
               for g in shown["grounds"])
    [(kind, rejected)] = wait_until(lambda: decisions(module_bus, complaint_id), 30, message="the decision")
    assert kind == "ComplaintRejected" and rejected["rulebook"] == "SAMR-121"
    assert [g["reason"] for g in rejected["grounds"]] == ["NO_SPECIFIC_REQUEST", "UNPROVABLE", "FALSE_MATERIALS"]


def test_a_party_dissolved_ends_mediation_and_the_notice_is_due_seven_working_days_later(system):
    complaint_id = system.submit(factories.complaint(17))[0]
    system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    worker = system.caller("mediation", BUREAU)
    base = f"/complaints/{complaint_id}/mediation"
    for party in ("CONSUMER", "RESPONDENT"):
        assert worker.post(f"{base}/consent", party=party, agreed=True).status_code == 200
    session_at = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    set_ = worker.post(f"{base}/schedule", session_at=session_at, place="海淀区市场监管局调解室",
                       mediators=["张调解", "李调解"])
    assert set_.status_code == 200, set_.text
    shown = system.wait_status(complaint_id, lambda s: s["next_session"], 30, "the next session in the status")
    assert shown["next_session"]["place"] == "海淀区市场监管局调解室"
    assert shown["next_session"]["mediators"] == ["张调解", "李调解"]
    assert datetime.fromisoformat(shown["next_session"]["session_at"]) == session_at
    ended = worker.post(f"{base}/termination", reason="PARTY_DECEASED_OR_DISSOLVED", text="被投诉人已注销")
    assert ended.status_code == 200, ended.text
    notice_due = datetime.fromisoformat(ended.json()["notice_due"])
    shown = system.wait_status(complaint_id, lambda s: s["termination_notice_due"], 30,
                               "the notice's due date in the status")
    assert shown["status"] == "TERMINATED" and shown["reason"] == "PARTY_DECEASED_OR_DISSOLVED"
    assert datetime.fromisoformat(shown["termination_notice_due"]) == notice_due
    told = worker.post(f"{base}/termination/notice")
    assert told.status_code == 200, told.text
    shown = system.wait_status(complaint_id, lambda s: s["termination_notified_at"], 30, "the notice in the status")
    assert shown["termination_notice_late"] is False


def penalty_cases_of(bus, complaint_id: str) -> list[dict]:
    codec = default_codec()
    decoded = (codec.decode(m.value) for m in read_all_sync(bus.bootstrap_servers, "enforcement.cases"))
    return [r for kind, r in decoded if kind == "PenaltyCaseOpened" and complaint_id in r["complaint_ids"]]


@pytest.mark.parametrize("changes, state", [({"demands": []}, "REJECTED"), ({"subject_area": "TELECOM"}, "REFERRED")])
def test_a_violation_on_a_rejected_or_referred_complaint_opens_its_own_penalty_case(system, module_bus, changes,
                                                                                     state):
    complaint_id = system.submit(factories.complaint(25, **changes))[0]
    system.wait_status(complaint_id, state, 60, state)
    flagged = system.caller("routing", BUREAU).post(f"/complaints/{complaint_id}/violations",
                                                    violation_type="COUNTERFEIT", evidence="商品标签与正品不符")
    assert flagged.status_code == 202, flagged.text
    [case] = wait_until(lambda: penalty_cases_of(module_bus, complaint_id), 60, message="its penalty case")
    assert case["origin"] == "COMPLAINT" and case["case_id"] != complaint_id
    shown = system.wait_status(complaint_id, lambda s: s["penalty_case_ids"], 30, "the case linked in the status")
    assert shown["penalty_case_ids"] == [case["case_id"]] and shown["status"] == state


def test_the_provincial_bureau_takes_over_a_complaint_in_mediation_and_the_consumer_is_told(system):
    complaint_id = system.submit(factories.complaint(33))[0]
    system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    province = "AMR-110000"
    taken = system.caller("routing", province, "SUPERVISOR").post(f"/complaints/{complaint_id}/jurisdiction/takeover")
    assert taken.status_code == 200, taken.text
    assert taken.json()["agency_id"] == province
    shown = system.wait_status(complaint_id, lambda s: s["agency_id"] == province, 30, "the province handling it")
    assert "北京市市场监督管理局（AMR-110000）" in shown["transfer_explanation"]
    # The mediation case went with it: the province's own case worker now acts on it.
    def province_consents() -> bool:
        return system.caller("mediation", province).post(f"/complaints/{complaint_id}/mediation/consent",
                                                         party="CONSUMER", agreed=True).status_code == 200
    wait_until(province_consents, 30, message="the province acting on the mediation case")


def test_a_time_limit_termination_dated_in_the_future_is_refused_today(system):
    complaint_id = system.submit(factories.complaint(41))[0]
    system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    next_year = (datetime.now(timezone.utc) + timedelta(days=366)).isoformat()
    refused = system.caller("mediation", BUREAU).post(f"/complaints/{complaint_id}/mediation/termination",
                                                      reason="TIME_LIMIT_EXCEEDED", at=next_year)
    assert refused.status_code == 422 and "future" in refused.json()["detail"]
    assert system.status(complaint_id)["status"] == "IN_MEDIATION"

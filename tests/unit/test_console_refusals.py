"""The console says in Chinese why a case's step was refused: every refusal
the mediation, penalty-case and jurisdiction rules give, produced by the rules
themselves, reads without the API's English."""
import re

import httpx
import pytest

from services.desk.console.calls import problem
from services.desk.console.refusals import chinese
from services.enforcement.domainmodel import IllegalTransition as CaseRefusal
from services.mediation.domainmodel import IllegalTransition as MediationRefusal
from services.routing.application import JurisdictionRefused
from tests.unit import test_enforcement_domainmodel as penalty
from tests.unit import test_mediation_domainmodel as mediation
from tests.unit import test_mediation_rulebooks as under_samr_121
from tests.unit.test_routing_jurisdiction_commands import AT, app  # noqa: F401 (a fixture)

DAY, M = mediation.DAY, mediation.ACCEPTED
IDS = re.compile(r"\b[A-Z]{1,8}-[\w-]+")  # agency and complaint ids stay as they are


def english_left(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", IDS.sub("", text))


def refusal(command, *kinds) -> str:
    with pytest.raises(kinds) as refused:
        command()
    return str(refused.value)


def mediation_refusals() -> set[str]:
    def suspended():
        case = under_samr_121.opened("SAMR-121")
        case.request_recusal("李明", "CONSUMER", "亲属关系", under_samr_121.ACCEPTED + 3 * DAY)
        return case

    def in_appraisal():
        case = mediation.consented()
        case.start_appraisal("质检所", "CONSUMER", M + 2 * DAY)
        return case
    late = M + 90 * DAY
    tries = [
        lambda: mediation.consented().record_consent("CONSUMER", True, M + 2 * DAY),
        lambda: mediation.opened().schedule(M + 5 * DAY, "调解室", ["李明"], M + 2 * DAY),
        lambda: mediation.consented().schedule(M + 5 * DAY, "调解室", ["李明"], late),
        lambda: mediation.consented().schedule(late, "调解室", ["李明"], M + 2 * DAY),
        lambda: mediation.scheduled().recuse("张三", "利害关系", M + 3 * DAY),
        lambda: suspended().request_recusal("王芳", "RESPONDENT", "利害关系", under_samr_121.ACCEPTED + 3 * DAY),
        lambda: suspended().schedule(under_samr_121.ACCEPTED + 9 * DAY, "调解室", ["王芳"],
                                     under_samr_121.ACCEPTED + 4 * DAY),
        lambda: mediation.scheduled().decide_recusal(True, M + 3 * DAY),
        lambda: in_appraisal().start_appraisal("质检所", "CONSUMER", M + 3 * DAY),
        lambda: mediation.consented().complete_appraisal(M + 3 * DAY),
        lambda: in_appraisal().terminate("TIME_LIMIT_EXCEEDED", late),
        lambda: mediation.scheduled().terminate("TIME_LIMIT_EXCEEDED", M + 3 * DAY),
        lambda: mediation.scheduled().notify_termination(M + 3 * DAY),
        lambda: mediation.agreed().terminate("WITHDRAWN", M + 6 * DAY),
        lambda: mediation.terminated().agree("WRITTEN", "退款", 100, M + 6 * DAY),
        lambda: mediation.scheduled().agree("WRITTEN", "退款", 100, late),
    ]
    return {refusal(attempt, MediationRefusal) for attempt in tries}


def penalty_refusals() -> set[str]:
    said = {refusal(lambda: penalty.COMMANDS[command](penalty.STATES[state]()), CaseRefusal)
            for state, command in penalty.REFUSED}
    said.add(refusal(lambda: penalty.closed().link_complaint("C-2024-0009", penalty.LATER), CaseRefusal))
    said.add(refusal(lambda: penalty.lead().extend_check("科长", "案情复杂", penalty.RECEIVED + 2 * DAY),
                     CaseRefusal))
    return said


def jurisdiction_refusals(app) -> set[str]:  # noqa: F811
    said = set()
    app.escalate("TS-1", AT, "AMR-310115", "CASE_WORKER")
    for attempt in (lambda: app.escalate("TS-1", AT, "AMR-310115", "CASE_WORKER"),
                    lambda: app.decide_escalation("TS-1", "DESIGNATE", "AMR-440106", AT, "AMR-310000", "SUPERVISOR"),
                    lambda: app.take_over("TS-1", AT, "AMR-440000", "SUPERVISOR"),
                    lambda: app.designate("TS-1", "AMR-310104", AT, "AMR-310000", "SUPERVISOR")):
        said.add(refusal(attempt, JurisdictionRefused))
    app.decide_escalation("TS-1", "REFUSE", None, AT, "AMR-310000", "SUPERVISOR")
    said.add(refusal(lambda: app.decide_escalation("TS-1", "TAKE_OVER", None, AT, "AMR-310000", "SUPERVISOR"),
                     JurisdictionRefused))
    app.dispute("TS-1", "AMR-310104", AT, "AMR-310115", "CASE_WORKER")
    said.add(refusal(lambda: app.dispute("TS-1", "AMR-310106", AT, "AMR-310115", "CASE_WORKER"),
                     JurisdictionRefused))
    said.add(refusal(lambda: app.designate("TS-1", "AMR-310106", AT, "AMR-310000", "SUPERVISOR"),
                     JurisdictionRefused))
    return said


def test_every_refusal_of_a_case_step_reads_in_chinese(app):  # noqa: F811
    said = mediation_refusals() | penalty_refusals() | jurisdiction_refusals(app)
    assert len(said) >= 25
    untranslated = {message: chinese(message) for message in said if english_left(chinese(message))}
    assert not untranslated


def test_the_console_shows_the_state_then_the_rule_with_china_time():
    refused = problem(httpx.Response(409, json={
        "detail": "cannot record an agreement: the time limit passed at 2024-08-02T15:59:59.999000+00:00",
        "current_state": "SCHEDULED"}))
    assert refused["detail"] == ("当前状态为「已安排调解」,不能办理此项:"
                                 "调解期限已于2024-08-02 23:59届满,不能记录调解协议")


def test_a_refusal_without_a_saying_is_shown_as_the_api_gave_it():
    assert chinese("a rule added later") == "a rule added later"
    assert problem(httpx.Response(409, json={"detail": "a rule added later"}))["detail"] == "a rule added later"


def field_refusals() -> set[str]:
    from services.contract.errors import InvalidField
    from tests.unit.test_mediation_domainmodel import REPRESENTED

    def joint():
        case = mediation.opened(represented=REPRESENTED)
        case.record_consent("CONSUMER", True, M + DAY)
        case.record_consent("RESPONDENT", True, M + DAY)
        return case
    tries = [
        lambda: joint().agree("WRITTEN", "退款", 100, M + 4 * DAY, represented_consent=["李娜"]),
        lambda: joint().terminate("SELF_SETTLED", M + 4 * DAY),
        lambda: joint().agree("WRITTEN", "退款", 100, M + 4 * DAY, represented_consent=["赵强", *REPRESENTED]),
        lambda: mediation.consented().agree("ORAL", "退款", 100, M + 4 * DAY, oral_consent=["CONSUMER"]),
        lambda: mediation.consented().agree("WRITTEN", "退款", 100, M + 4 * DAY, oral_consent=["CONSUMER"]),
        lambda: mediation.consented().agree("ORAL", "退款", 100, M + 4 * DAY, performed_at_once=True),
        lambda: mediation.consented().schedule(M + DAY, "调解室", ["李明"], M + 2 * DAY),
        lambda: mediation.consented().schedule(M + 5 * DAY, "调解室", ["李明", "李明"], M + 2 * DAY),
        lambda: mediation.scheduled().terminate("OTHER", M + 3 * DAY),
        lambda: mediation.terminated().notify_termination(M + 2 * DAY),
        lambda: mediation.scheduled().recuse("李明", "利害关系", M - DAY),
        lambda: mediation.consented().start_appraisal("质检所", "CONSUMER", M + 2 * DAY, body_chosen_by="BUREAU_DESIGNATED"),
        lambda: penalty.investigating().decide(100, "依据", penalty.LATER, no_penalty=True),
        lambda: penalty.filed().start_investigation(penalty.RECEIVED),
        lambda: penalty.lead().file(penalty.RECEIVED - DAY),
    ]
    return {refusal(attempt, InvalidField) for attempt in tries}


def test_every_refusal_of_a_field_reads_in_chinese():
    from services.desk.console.refusals import field_chinese

    said = field_refusals()
    assert len(said) >= 12
    untranslated = {message: field_chinese(message) for message in said if english_left(field_chinese(message))}
    assert not untranslated

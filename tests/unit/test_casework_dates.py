"""Case work is recorded once it has happened: no command of any service may be
dated after now, beyond the clock skew a caller's machine may have."""
from datetime import datetime, timedelta, timezone

import pytest

from services.bus.clock import Clock
from services.casework import CLOCK_SKEW, CaseCommand
from services.enforcement.api import CheckExtension, Closure, Decision
from services.http import Problem
from services.mediation.api import Agreement, Consent, Schedule, Termination
from services.routing.api import Dispute, Violation

NOW = datetime(2026, 2, 16, 4, 0, tzinfo=timezone.utc)  # noon on the eve of the 2026 Spring Festival, Beijing
COMMANDS = [
    (Consent, {"party": "CONSUMER", "agreed": True}),
    (Schedule, {"session_at": "2026-02-24T09:30:00+08:00", "place": "调解室", "mediators": ["张调解"]}),
    (Agreement, {"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": 100}),
    (Termination, {"reason": "SELF_SETTLED"}),
    (Dispute, {"with_agency_id": "AMR-310104"}),
    (Violation, {"violation_type": "PRICE_FRAUD", "evidence": "标价与结算价不符"}),
    (Decision, {"fine_fen": 500000, "basis": "价格法第四十二条"}),
    (Closure, {"outcome": "罚款已缴纳"}),
    (CheckExtension, {"approved_by": "张局长", "reason": "需调取平台交易记录"}),
    (CaseCommand, {}),
]


class Fixed(Clock):
    def now(self) -> datetime:
        return NOW


@pytest.mark.parametrize("model, body", COMMANDS)
@pytest.mark.parametrize("at", [
    NOW - timedelta(days=400),        # a year back, before the rulebook changed
    NOW - timedelta(days=3),          # last Friday, a working day
    NOW,
    NOW + CLOCK_SKEW,                 # a caller's clock a little fast
])
def test_case_work_may_be_dated_now_or_earlier(model, body, at):
    command = model(**body, at=at.isoformat())
    assert command.when(Fixed()) == at


@pytest.mark.parametrize("model, body", COMMANDS)
@pytest.mark.parametrize("at", [
    NOW + CLOCK_SKEW + timedelta(seconds=1),
    NOW + timedelta(days=1),                      # the Spring Festival itself
    NOW + timedelta(days=366),                    # a time limit that has not yet run out
    datetime(2027, 10, 1, tzinfo=timezone.utc),   # National Day of a year no notice covers yet
])
def test_case_work_dated_in_the_future_is_refused_naming_at(model, body, at):
    command = model(**body, at=at.isoformat())
    with pytest.raises(Problem) as refused:
        command.when(Fixed())
    assert refused.value.status == 422 and refused.value.field == "at"
    assert "future" in refused.value.detail and at.isoformat() in refused.value.detail


def test_no_at_means_now_by_the_services_clock():
    assert CaseCommand().when(Fixed()) == NOW

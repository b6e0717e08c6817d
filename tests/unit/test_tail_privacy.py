"""`tousu tail` without --show-personal-data hides every person's data: the
consumer's and an agent's alike."""
from services.commands import _jsonable
from tests.examples import EXAMPLES


def test_an_agents_personal_data_is_hidden_like_the_consumers():
    shown = _jsonable(EXAMPLES["ComplaintReceived"], personal=False)
    assert shown["agent"] == "***" and shown["consumer"] == "***" and shown["facts"] == "***"
    assert "王律师" not in repr(shown) and "13900001111" not in repr(shown)
    assert shown["respondent"]["name"] == EXAMPLES["ComplaintReceived"]["respondent"]["name"]


def test_with_personal_data_asked_for_the_agent_is_shown():
    assert _jsonable(EXAMPLES["ComplaintReceived"], personal=True)["agent"]["name"] == "王律师"


def test_a_joint_complaints_other_consumers_are_hidden_too():
    joint = {**EXAMPLES["ComplaintReceived"], "co_consumers": [{"name": "李娜", "phone": "13900002222"}],
             "representatives": ["李娜"]}
    shown = _jsonable(joint, personal=False)
    assert shown["co_consumers"] == "***" and shown["representatives"] == "***"
    assert "李娜" not in repr(shown) and "13900002222" not in repr(shown)
    accepted = _jsonable({**EXAMPLES["ComplaintAccepted"], "represented": ["王芳"]}, personal=False)
    assert accepted["represented"] == "***" and accepted["consumer_count"] == 1
    agreed = _jsonable({**EXAMPLES["MediationAgreed"], "represented_consent": ["王芳"]}, personal=False)
    assert "王芳" not in repr(agreed)


def test_what_is_no_persons_data_stays_readable():
    received = _jsonable({**EXAMPLES["ComplaintReceived"],
                          "respondent": {**EXAMPLES["ComplaintReceived"]["respondent"], "address": "某区商业街1号"}},
                         personal=False)
    assert received["respondent"]["address"] == "某区商业街1号"  # the operator's, not a person's
    assert received["consumer"] == "***"
    answered = _jsonable({**EXAMPLES["ReferralAnswered"], "answer": "DECLINED"}, personal=False)
    assert answered["answer"] == "DECLINED"
    consultation = _jsonable({**EXAMPLES["ConsultationReceived"], "answer": "可以要求退货,请保留票据。"}, personal=False)
    assert consultation["answer"] == "***"

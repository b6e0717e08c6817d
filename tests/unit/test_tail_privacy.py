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

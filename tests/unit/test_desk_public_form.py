"""The public form's fields as the body of POST /complaints: dotted names
become the nested JSON the API takes, blanks are not sent, money in yuan
becomes fen, and each kind sends only what it may carry (the API refuses
unknown fields)."""
from __future__ import annotations

from starlette.datastructures import FormData

from services.desk.console.public import submission
from services.intake.models import parse_submission
from tests.factories import make_uscc


def form(**fields) -> FormData:
    items = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name.replace("__", "."), one))
    return FormData(items)


COMPLAINT = dict(kind="COMPLAINT", receiving_agency_id="AMR-110108", consumer__name="孙丽",
                 consumer__phone="139 1234 5678", consumer__id_number="", respondent__name="北京某某电器有限公司",
                 respondent__uscc=make_uscc(41), respondent__adcode="110108", subject_area="GOODS_QUALITY",
                 purpose="DAILY_CONSUMPTION", transaction__date="2026-11-16", transaction__amount_fen="1299.5",
                 has_evidence="on", facts="漏电。", demands=["REFUND", "COMPENSATION"], question="不该发送",
                 prior_handling__0__body="CONSUMER_ASSOCIATION", prior_handling__0__status="CONCLUDED")


def test_a_complaint_form_becomes_the_body_the_api_takes():
    body = submission(form(**COMPLAINT))
    assert body["consumer"] == {"name": "孙丽", "phone": "139 1234 5678"}
    assert body["transaction"] == {"date": "2026-11-16", "amount_fen": 129950, "online": False}
    assert body["prior_handling"] == [{"body": "CONSUMER_ASSOCIATION", "status": "CONCLUDED"}]
    assert body["demands"] == ["REFUND", "COMPENSATION"] and body["has_evidence"] is True
    assert "question" not in body
    parse_submission(body)  # what intake validates, it accepts


def test_a_sum_that_is_not_money_is_sent_as_typed_for_the_api_to_name():
    body = submission(form(**{**COMPLAINT, "transaction__amount_fen": "一千"}))
    assert body["transaction"]["amount_fen"] == "一千"


def test_a_question_sends_only_what_a_consultation_carries():
    body = submission(form(**{**COMPLAINT, "kind": "CONSULTATION", "question": "七日无理由退货从哪天算起?"}))
    assert body == {"kind": "CONSULTATION", "channel": "WEB", "receiving_agency_id": "AMR-110108",
                    "consumer": {"name": "孙丽", "phone": "139 1234 5678"}, "question": "七日无理由退货从哪天算起?"}
    parse_submission(body)


def test_names_no_field_of_the_form_has_are_passed_over():
    # x.30000000.y=1 made the body grow to thirty million rows: half a GB, every page frozen for seconds.
    body = submission(form(**COMPLAINT, x__30000000__y="1", prior_handling__21__body="COURT",
                           **{"a." + "20." * 300_000 + "x": "1"},
                           consumer__name__first="孙", channel__x="1", **{"a..b": "1"}))
    assert "x" not in body and len(body["prior_handling"]) == 1 and body["channel"] == "WEB"
    assert body["consumer"]["name"] == "孙丽"  # a field under a value is no field
    parse_submission(body)

"""The intake body: malformed input is refused with the failing field named;
well-formed but incomplete input is received, for routing to decide on."""
from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError
from stdnum.cn import ric, uscc

from services.intake import problems
from services.intake.models import ComplaintBody, ConsultationBody, ReportBody, parse_submission, to_record
from tests.factories import merged


# Numbers built from a plausible body (a real county code, a real birth date) and
# the check character the stdnum library computes, so they pass the same check
# intake applies. ric.calc_check_digit wants the full 18 characters, so a
# placeholder check digit is appended before asking.
def make_uscc(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


def make_ric(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


USCC = make_uscc("91310115MA1K3YJ12")  # 91310115MA1K3YJ12G: a company registered in Pudong
PLATFORM_USCC = make_uscc("91330106MA27XL0E0")
RIC = make_ric("11010819900307123")  # 110108199003071238: born in Haidian, 1990-03-07
WRONG_USCC = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
WRONG_RIC = RIC[:-1] + ("0" if RIC[-1] != "0" else "1")


def complaint(**changes) -> dict:
    body = {
        "kind": "COMPLAINT",
        "channel": "WEB",
        "receiving_agency_id": "AMR-310115",
        "consumer": {"name": "张伟", "phone": "13812345678", "id_number": RIC, "address": "上海市浦东新区张杨路500号"},
        "respondent": {"name": "上海某某电器有限公司", "uscc": USCC, "address": "上海市浦东新区世纪大道100号",
                       "adcode": "310115"},
        "transaction": {"date": "2024-05-01", "place_adcode": "310115", "amount_fen": 129900, "online": True,
                        "platform": {"name": "某某商城", "uscc": PLATFORM_USCC, "adcode": "330106"}},
        "subject_area": "GOODS_QUALITY",
        "purpose": "DAILY_CONSUMPTION",
        "demands": ["REFUND", "COMPENSATION"],
        "facts": "购买的电视机三天后无法开机，商家拒绝退货。",
        "aware_date": "2024-05-04",
        "has_evidence": True,
        "goods_expiry_date": None,
        "prior_handling": [{"body": "CONSUMER_ASSOCIATION", "status": "CONCLUDED"}],
        "preferred_agency_id": "AMR-310115",
    }
    return merged(body, changes)


def failing_fields(body) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_submission(body)
    problem = problems.invalid(caught.value).body()
    assert problem["status"] == 422
    return [error["field"] for error in problem["errors"]]


def test_a_complete_complaint_is_read_as_sent():
    parsed = parse_submission(complaint())
    assert isinstance(parsed, ComplaintBody)
    kind, record = to_record(parsed)
    assert kind == "COMPLAINT"
    assert record["transaction"]["date"] == date(2024, 5, 1)
    assert record["respondent"]["uscc"] == USCC
    assert record["demands"] == ["REFUND", "COMPENSATION"]
    assert record["prior_handling"] == [{"body": "CONSUMER_ASSOCIATION", "status": "CONCLUDED"}]


def test_a_complaint_that_lacks_acceptance_conditions_is_well_formed():
    body = {"kind": "COMPLAINT", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-110108",
            "consumer": {"name": "王芳", "phone": "13912345678"},
            "transaction": {"online": False}, "subject_area": "SERVICE_CONTRACT", "has_evidence": False}
    _, record = to_record(parse_submission(body))
    assert record["respondent"] == {"name": None, "uscc": None, "address": None, "adcode": None}
    assert record["demands"] == [] and record["facts"] is None and record["aware_date"] is None
    assert record["purpose"] == "UNKNOWN" and record["prior_handling"] == []


@pytest.mark.parametrize("changes", [
    {"respondent.name": ""}, {"respondent.name": None}, {"demands": []}, {"demands": None}, {"facts": ""},
    {"facts": None}, {"aware_date": None}, {"respondent": None}, {"transaction.date": None},
    {"respondent.uscc": ""}, {"consumer.id_number": " "}, {"aware_date": ""}, {"preferred_agency_id": ""},
])
def test_empty_or_missing_optional_fields_pass(changes):
    parse_submission(complaint(**changes))


def test_a_report_and_a_consultation():
    report = complaint(kind="REPORT", alleged_violation="FALSE_ADVERTISING")
    del report["demands"]
    assert isinstance(parse_submission(report), ReportBody)
    consultation = {"kind": "CONSULTATION", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-440106",
                    "question": "网购商品七天无理由退货包括运费吗？"}
    assert isinstance(parse_submission(consultation), ConsultationBody)


def test_a_complaint_may_also_report_a_violation():
    _, record = to_record(parse_submission(complaint(alleged_violation="COUNTERFEIT")))
    assert record["alleged_violation"] == "COUNTERFEIT" and record["demands"] == ["REFUND", "COMPENSATION"]


def test_an_agent_may_complain_for_the_consumer():
    agent = {"name": "李律师", "phone": "010-62345678", "power_of_attorney_ref": "委托书2024-017"}
    _, record = to_record(parse_submission(complaint(agent=agent)))
    assert record["agent"]["phone"] == "010-62345678"


CO_CONSUMERS = [{"name": "李娜", "phone": "13900002222"}, {"name": "王芳", "phone": "021-62345679"}]


@pytest.mark.parametrize("representatives", [[], ["张伟"], ["李娜"], ["张伟", "王芳"]])
def test_a_joint_complaint_elects_none_one_or_two_representatives_among_its_consumers(representatives):
    _, record = to_record(parse_submission(complaint(co_consumers=CO_CONSUMERS, representatives=representatives)))
    assert [c["name"] for c in record["co_consumers"]] == ["李娜", "王芳"]
    assert record["co_consumers"][1]["phone"] == "021-62345679"
    assert record["representatives"] == representatives


def test_a_complaint_of_one_consumer_has_no_co_consumers():
    _, record = to_record(parse_submission(complaint()))
    assert record["co_consumers"] == [] and record["representatives"] == []


@pytest.mark.parametrize("co_consumers, representatives, says", [
    # Order 20 art. 11, Order 121 art. 12: two representatives, no more.
    (CO_CONSUMERS, ["张伟", "李娜", "王芳"], "at most 2 representatives"),
    (CO_CONSUMERS, ["赵强"], "not the name of exactly one"),
    (CO_CONSUMERS, ["李娜", "李娜"], "named twice"),
    ([{"name": "张伟", "phone": "13900002222"}], ["张伟"], "not the name of exactly one"),  # two of that name
    ([], ["张伟"], "name the other consumers in co_consumers"),
])
def test_representatives_that_cannot_act_for_the_joint_complaint_are_refused_naming_the_field(
        co_consumers, representatives, says):
    with pytest.raises(ValidationError) as caught:
        parse_submission(complaint(co_consumers=co_consumers, representatives=representatives))
    problem = problems.invalid(caught.value)
    assert problem.status == 422 and problem.field == "representatives" and says in problem.detail


def test_a_co_consumers_phone_is_checked_like_the_consumers():
    assert failing_fields(complaint(co_consumers=[{"name": "李娜", "phone": "12345"}])) == ["co_consumers.0.phone"]


@pytest.mark.parametrize("changes, field", [
    ({"transaction.amount_fen": "129900"}, "transaction.amount_fen"),
    ({"transaction.amount_fen": 1299.5}, "transaction.amount_fen"),
    ({"transaction.amount_fen": True}, "transaction.amount_fen"),
    ({"transaction.amount_fen": -1}, "transaction.amount_fen"),
    ({"transaction.amount_fen": 2**63}, "transaction.amount_fen"),
    ({"transaction.online": "true"}, "transaction.online"),
    ({"transaction.online": 1}, "transaction.online"),
    ({"has_evidence": "yes"}, "has_evidence"),
    ({"consumer.name": 42}, "consumer.name"),
    ({"consumer.name": "  "}, "consumer.name"),
    ({"facts": ["a", "b"]}, "facts"),
    ({"demands": "REFUND"}, "demands"),
    ({"transaction": "online"}, "transaction"),
    ({"prior_handling.0": "COURT"}, "prior_handling.0"),
    ({"respondent.uscc": 913101150}, "respondent.uscc"),
])
def test_wrong_types_name_the_field(changes, field):
    assert failing_fields(complaint(**changes)) == [field]


@pytest.mark.parametrize("changes, field", [
    ({"channel": "PHONE"}, "channel"),
    ({"subject_area": "goods_quality"}, "subject_area"),
    ({"purpose": "PERSONAL"}, "purpose"),
    ({"demands": ["REFUND", "MONEY_BACK"]}, "demands.1"),
    ({"prior_handling.0.body": "POLICE"}, "prior_handling.0.body"),
    ({"prior_handling.0.status": "DONE"}, "prior_handling.0.status"),
    ({"alleged_violation": "FRAUD"}, "alleged_violation"),
])
def test_unknown_enum_values_name_the_field(changes, field):
    assert failing_fields(complaint(**changes)) == [field]


@pytest.mark.parametrize("body, field", [
    (complaint(kind="PETITION"), "kind"),
    ({key: value for key, value in complaint().items() if key != "kind"}, "kind"),
    (complaint(kind=7), "kind"),
    ([complaint()], ""),
    ("complaint", ""),
])
def test_an_unknown_kind_or_a_body_that_is_not_an_object(body, field):
    assert failing_fields(body) == [field]


@pytest.mark.parametrize("changes, field", [
    ({"respondent.uscc": WRONG_USCC}, "respondent.uscc"),
    ({"respondent.uscc": USCC[:-1]}, "respondent.uscc"),
    ({"respondent.uscc": "91310115MA1K3YJ1IG"}, "respondent.uscc"),  # I is not in the alphabet
    ({"transaction.platform.uscc": WRONG_USCC}, "transaction.platform.uscc"),
])
def test_a_bad_credit_code_names_the_field(changes, field):
    assert failing_fields(complaint(**changes)) == [field]


def test_a_credit_code_is_read_in_its_compact_form():
    _, record = to_record(parse_submission(complaint(**{"respondent.uscc": USCC.lower()[:9] + " " + USCC[9:]})))
    assert record["respondent"]["uscc"] == USCC


@pytest.mark.parametrize("id_number", [
    WRONG_RIC,
    RIC[:-1],
    make_ric("11010819901307123"),  # month 13: right checksum, no such birth date
    make_ric("99010819900307123"),  # right checksum, no such place of birth
    "11010890030712",  # the 15-digit first-generation form is no longer issued
])
def test_a_bad_identity_number_names_the_field(id_number):
    assert failing_fields(complaint(**{"consumer.id_number": id_number})) == ["consumer.id_number"]


def test_an_identity_number_with_check_x_is_accepted_in_either_case():
    seventeen = next(f"4401062001061548{n}" for n in range(10)
                     if ric.calc_check_digit(f"4401062001061548{n}0") == "X")
    _, record = to_record(parse_submission(complaint(**{"consumer.id_number": seventeen + "x"})))
    assert record["consumer"]["id_number"] == seventeen + "X"


@pytest.mark.parametrize("phone, written", [
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("021-62345678", "021-62345678"),
    ("(021) 6234 5678", "021-62345678"),
    ("+86 21 6234 5678", "021-62345678"),
    ("+86 (0)21 62345678", "021-62345678"),
    ("010-62345678", "010-62345678"),
    ("0571-8765432", "0571-8765432"),
    ("0991 2345678", "0991-2345678"),
])
def test_mainland_phone_numbers_are_accepted_and_written_one_way(phone, written):
    _, record = to_record(parse_submission(complaint(**{"consumer.phone": phone})))
    assert record["consumer"]["phone"] == written


@pytest.mark.parametrize("phone", [
    "12812345678",  # no mobile prefix 12
    "1381234567",  # ten digits
    "138123456789",
    "62345678",  # a landline without its area code
    "021-0234567",  # local numbers never start with 0 or 1
    "021-12345678",
    "400-810-8888",  # a company's service line, not a person's
    "+1 415 555 0100",
    "+852 2123 4567",
    "１３８１２３４５６７８",  # full-width digits
    "tel: 13812345678",
    "",
])
def test_other_phone_numbers_are_refused(phone):
    assert failing_fields(complaint(**{"consumer.phone": phone})) == ["consumer.phone"]


def test_an_agents_phone_is_checked_too():
    agent = {"name": "李律师", "phone": "12345"}
    assert failing_fields(complaint(agent=agent)) == ["agent.phone"]


@pytest.mark.parametrize("changes, field", [
    ({"respondent.adcode": "31011"}, "respondent.adcode"),
    ({"respondent.adcode": "3101150"}, "respondent.adcode"),
    ({"respondent.adcode": "31011a"}, "respondent.adcode"),
    ({"respondent.adcode": "３１０１１５"}, "respondent.adcode"),
    ({"respondent.adcode": "990115"}, "respondent.adcode"),  # no province 99
    ({"respondent.adcode": "810000"}, "respondent.adcode"),  # Hong Kong: no bureau of this system
    ({"respondent.adcode": 310115}, "respondent.adcode"),
    ({"transaction.place_adcode": "000000"}, "transaction.place_adcode"),
    ({"transaction.platform.adcode": "33010"}, "transaction.platform.adcode"),
    ({"receiving_agency_id": "AMR310115"}, "receiving_agency_id"),
    ({"receiving_agency_id": "SAMR-310115"}, "receiving_agency_id"),
    ({"receiving_agency_id": "amr-310115"}, "receiving_agency_id"),
    ({"receiving_agency_id": "AMR-31011"}, "receiving_agency_id"),
    ({"receiving_agency_id": "CA-310115"}, "receiving_agency_id"),  # a province-level agency
    ({"preferred_agency_id": "AMR-990000"}, "preferred_agency_id"),
])
def test_malformed_codes_name_the_field(changes, field):
    assert failing_fields(complaint(**changes)) == [field]


@pytest.mark.parametrize("agency_id", ["AMR-310115", "AMR-310000", "EEB-440106", "CA-310000", "NFRA-510000",
                                       "POST-650000", "TOUR-540102", "HOUSING-441900"])
def test_well_formed_agency_ids(agency_id):
    parse_submission(complaint(receiving_agency_id=agency_id))


@pytest.mark.parametrize("changes, field", [
    ({"aware_date": "2024-02-30"}, "aware_date"),
    ({"aware_date": "2024/05/04"}, "aware_date"),
    ({"aware_date": "20240504"}, "aware_date"),
    ({"aware_date": 20240504}, "aware_date"),
    ({"aware_date": "2024-05-04T10:00:00"}, "aware_date"),
    ({"transaction.date": "yesterday"}, "transaction.date"),
    ({"goods_expiry_date": True}, "goods_expiry_date"),
])
def test_dates_that_are_not_dates_name_the_field(changes, field):
    assert failing_fields(complaint(**changes)) == [field]


def test_an_unknown_field_is_named_not_dropped():
    body = complaint(demand=["REFUND"])
    assert failing_fields(body) == ["demand"]


def test_a_field_the_system_assigns_is_named_as_such():
    # A body built from a ComplaintReceived record carries them.
    with pytest.raises(ValidationError) as refused:
        parse_submission(complaint(complaint_id="TS-20260302-1A2B3C4D5E6F"))
    [error] = problems.field_errors(refused.value)
    assert error == {"field": "complaint_id",
                     "message": "complaint_id is assigned by the system when the request is stored: leave it out"}


def test_a_report_must_say_which_violation():
    report = complaint(kind="REPORT")
    del report["demands"]
    assert failing_fields(report) == ["alleged_violation"]


def test_required_fields_are_named_when_missing():
    body = complaint()
    del body["consumer"]["phone"], body["has_evidence"], body["transaction"]["online"]
    assert failing_fields(body) == ["consumer.phone", "transaction.online", "has_evidence"]


def test_the_problem_document():
    body = complaint(**{"respondent.uscc": WRONG_USCC, "consumer.id_number": WRONG_RIC,
                        "prior_handling.0.body": "POLICE"})
    with pytest.raises(ValidationError) as caught:
        parse_submission(body)
    problem = problems.invalid(caught.value).body()
    assert problem["status"] == 422
    assert problem["type"].startswith("https://") and problem["title"]
    assert problem["field"] == problem["errors"][0]["field"] == "consumer.id_number"
    assert {e["field"] for e in problem["errors"]} == {"consumer.id_number", "respondent.uscc",
                                                       "prior_handling.0.body"}
    assert problem["detail"].startswith("consumer.id_number: ") and "2 more" in problem["detail"]
    text = json.dumps(problem, ensure_ascii=False)
    assert WRONG_RIC not in text and WRONG_USCC not in text  # personal data is never echoed


@pytest.mark.parametrize("built, status", [
    (problems.not_json("Expecting value: line 1 column 1"), 400),
    (problems.too_large(1024 * 1024, 2_000_000), 413),
])
def test_other_problems(built, status):
    body = built.body()
    assert built.status == body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    json.dumps(body)


# Validation must never crash, whatever arrives: any failure is a ValidationError
# that turns into a 422 naming a field.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(["COMPLAINT", "REPORT", "CONSULTATION", "2024-05-01", "310115",
                                             "AMR-310115", USCC, RIC, "13812345678", "REFUND", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(list(complaint()) + ["question", "name", "phone", "online", "body", "x"]) | st.text(max_size=8),
        inner, max_size=6),
    max_leaves=25)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _validate_without_crashing(body):
    try:
        parsed = parse_submission(body)
    except ValidationError as exc:
        problem = problems.invalid(exc).body()
        assert problem["status"] == 422 and problem["errors"] and isinstance(problem["field"], str)
        json.dumps(problem)
    else:
        to_record(parsed)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_bodies_never_crash_validation(body):
    _validate_without_crashing(body)


def report() -> dict:
    body = complaint(kind="REPORT", alleged_violation="PRICE_FRAUD",
                     agent={"name": "李律师", "phone": "010-62345678", "id_number": RIC})
    del body["demands"]
    return body


def consultation() -> dict:
    return {"kind": "CONSULTATION", "channel": "SMS", "receiving_agency_id": "AMR-110108",
            "consumer": {"name": "王芳", "phone": "13912345678"}, "question": "预付卡退卡怎么办？", "answer": None}


VALID = {"COMPLAINT": lambda: complaint(alleged_violation="COUNTERFEIT"), "REPORT": report,
         "CONSULTATION": consultation}


@pytest.mark.parametrize("kind", VALID)
def test_the_bodies_mutated_below_are_valid(kind):
    parse_submission(VALID[kind]())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(VALID)), st.booleans(), st.data())
def test_a_valid_body_with_one_value_replaced_or_removed_never_crashes_validation(kind, remove, data):
    body = VALID[kind]()
    path = data.draw(st.sampled_from([path for path in _paths(body) if path]))
    target = body
    for part in path[:-1]:
        target = target[part]
    if remove:
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(json_values)
    _validate_without_crashing(body)

"""Intake's front door in-process, over its own SQLite store and no broker:
what it refuses and how it says so (problem+json naming the failing field), the
1 MiB limit, and random bodies never making a 5xx nor a stored request its
relay could not publish. What happens to a request after it is stored is in
tests/e2e/test_intake_http.py."""
from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from stdnum.cn import ric

from services.intake.api import MAX_BODY
from tests import factories
from tests.factories import changed, without
from tests.harness import InProcess, assert_problem

COMPLAINT_ID = re.compile(r"TS-\d{8}-[0-9A-F]{12}")


@pytest.fixture(scope="module")
def intake(tmp_path_factory):
    with InProcess("intake", tmp_path_factory.mktemp("intake")) as service:
        yield service


@pytest.fixture(scope="module")
def http(intake):
    return intake.http


def post_raw(http, content: bytes, **headers):
    return http.post("/complaints", content=content, headers={"Content-Type": "application/json", **headers})


# -- malformed input: one test per class -----------------------------------------

@pytest.mark.parametrize("content", [
    b'{"kind": "COMPLAINT",',
    b"{'kind': 'COMPLAINT'}",
    b"kind=COMPLAINT&channel=WEB",
    b"\xff\xfe\xfa not utf-8",
    b"",
    # Nested past any parser's stack; once a RecursionError and a 500.
    b"[" * 100_000 + b"]" * 100_000,
    b'{"kind": "COMPLAINT", "facts": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
], ids=["truncated", "single-quotes", "form-encoded", "not-utf8", "empty", "deep-array", "deep-field"])
def test_not_json_is_400(http, content):
    problem = assert_problem(post_raw(http, content), 400)
    assert problem["type"].endswith("/not-json")


@pytest.mark.parametrize("path, value", [
    ("has_evidence", "yes"),
    ("transaction.amount_fen", "100"),
    ("transaction.amount_fen", 100.5),
    ("transaction.online", "false"),
    ("consumer", "张伟 13812345678"),
    ("demands", "REFUND"),
    ("aware_date", 20240101),
    ("transaction.date", "2024-02-30"),
    ("prior_handling", {"body": "COURT", "status": "CONCLUDED"}),
])
def test_wrong_type_is_422_naming_the_field(http, path, value):
    response = http.post("/complaints", json=changed(factories.complaint(1), path, value))
    assert_problem(response, 422, path)


@pytest.mark.parametrize("body, field", [
    (changed(factories.complaint(1), "channel", "EMAIL"), "channel"),
    (changed(factories.complaint(1), "demands", ["MONEY"]), "demands.0"),
    (changed(factories.complaint(1), "demands", ["REFUND", "MONEY"]), "demands.1"),
    (changed(factories.complaint(1), "prior_handling", [{"body": "POLICE", "status": "CONCLUDED"}]),
     "prior_handling.0.body"),
    (changed(factories.complaint(1), "prior_handling", [{"body": "COURT", "status": "PENDING"}]),
     "prior_handling.0.status"),
    (changed(factories.complaint(1), "subject_area", "CARS"), "subject_area"),
    (changed(factories.complaint(1), "purpose", "RESALE"), "purpose"),
    (changed(factories.complaint(1), "alleged_violation", "THEFT"), "alleged_violation"),
], ids=["channel", "demand", "second-demand", "prior-body", "prior-status", "subject", "purpose", "violation"])
def test_unknown_enum_value_is_422_naming_the_field(http, body, field):
    assert_problem(http.post("/complaints", json=body), 422, field)


def _other_check_character(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@pytest.mark.parametrize("path, value", [
    ("respondent.uscc", _other_check_character(factories.make_uscc(5))),
    ("respondent.uscc", factories.make_uscc(5)[:-2]),
    ("transaction.platform", {"name": "某某商城", "uscc": _other_check_character(factories.make_uscc(6))}),
], ids=["check-character", "length", "platform"])
def test_invalid_uscc_is_422_naming_the_field(http, path, value):
    body = changed(factories.complaint(1), path, value)
    field = path if path.endswith("uscc") else f"{path}.uscc"
    bad = value if isinstance(value, str) else value["uscc"]
    response = http.post("/complaints", json=body)
    assert_problem(response, 422, field)
    assert bad not in response.text  # the refusal does not repeat what was sent


def _ric_born(birth: str) -> str:
    first17 = f"110108{birth}123"
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize("path, value", [
    ("consumer.id_number", _other_check_character(factories.make_ric(3))),
    ("consumer.id_number", _ric_born("19990231")),  # the check character fits; 31 February does not
    ("consumer.id_number", "11010819900307"),
    ("agent", {"name": "王律师", "phone": "13900001111", "id_number": _other_check_character(factories.make_ric(4)),
               "power_of_attorney_ref": "委托书2024-001"}),
], ids=["check-character", "birth-date", "length", "agent"])
def test_invalid_identity_number_is_422_naming_the_field(http, path, value):
    field = path if path.endswith("id_number") else f"{path}.id_number"
    bad = value if isinstance(value, str) else value["id_number"]
    response = http.post("/complaints", json=changed(factories.complaint(1), path, value))
    assert_problem(response, 422, field)
    assert bad not in response.text


@pytest.mark.parametrize("body, field", [
    (changed(factories.complaint(1), "consumer.phone", "12345678901"), "consumer.phone"),
    (changed(factories.complaint(1), "consumer.phone", "+1 415 555 0100"), "consumer.phone"),
    (changed(factories.complaint(1), "consumer.phone", "+852 2123 4567"), "consumer.phone"),
    (changed(factories.complaint(1), "consumer.phone", "10086"), "consumer.phone"),
    (changed(factories.complaint(1), "consumer.phone", 13812345678), "consumer.phone"),
    ({"kind": "CONSULTATION", "channel": "SMS", "receiving_agency_id": "AMR-310115",
      "consumer": {"phone": "021-1234"}, "question": "预付卡可以退吗？"}, "consumer.phone"),
], ids=["starts-12", "usa", "hong-kong", "short-number", "a-number", "consultation"])
def test_phone_not_a_mainland_number_is_422(http, body, field):
    response = http.post("/complaints", json=body)
    assert_problem(response, 422, field)


def test_a_body_over_1_mib_is_413_whether_declared_or_streamed(http):
    body = json.dumps(factories.complaint(1)).encode()
    exact = body[:-1] + b" " * (MAX_BODY - len(body)) + b"}"
    assert len(exact) == MAX_BODY
    assert post_raw(http, exact).status_code == 202  # 1 MiB itself is allowed
    over = exact[:-1] + b" }"
    problem = assert_problem(post_raw(http, over), 413)
    assert str(MAX_BODY) in problem["detail"]

    def chunks():  # no Content-Length: the limit holds while reading
        for start in range(0, len(over), 64 * 1024):
            yield over[start:start + 64 * 1024]
    streamed = http.post("/complaints", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413)


@pytest.mark.parametrize("body", [
    changed(factories.complaint(1), "kind", "FEEDBACK"),
    changed(factories.complaint(1), "kind", "complaint"),
    changed(factories.complaint(1), "kind", None),
    without(factories.complaint(1), "kind"),
], ids=["unknown", "lower-case", "null", "missing"])
def test_unknown_kind_is_422_naming_kind(http, body):
    problem = assert_problem(http.post("/complaints", json=body), 422, "kind")
    assert "COMPLAINT" in problem["detail"]


@pytest.mark.parametrize("body, field", [
    (changed(factories.complaint(1), "facts", "\ud800"), "facts"),
    (changed(factories.complaint(1), "respondent.address", "北京市\udfff海淀区"), "respondent.address"),
    (factories.complaint(1) | {"\ud83d": 1}, "\\ud83d"),
], ids=["facts", "nested", "key"])
def test_half_a_surrogate_pair_is_422_naming_the_field(http, body, field):
    # Once a 500: the str reached the store, which cannot write it as UTF-8.
    # json.dumps writes the half pair as the escape a client would send.
    assert_problem(post_raw(http, json.dumps(body).encode()), 422, field)


def test_every_failing_field_is_listed(http):
    body = changed(changed(changed(factories.complaint(1), "channel", "FAX"), "has_evidence", "yes"),
                   "consumer.phone", "123")
    problem = assert_problem(http.post("/complaints", json=body), 422)
    assert {e["field"] for e in problem["errors"]} == {"channel", "has_evidence", "consumer.phone"}
    assert "and 2 more" in problem["detail"]


# -- random bodies never make a 5xx ----------------------------------------------

# Half surrogate pairs included: JSON can carry them, UTF-8 cannot.
_text = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=20)
_leaf = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
         | st.floats(allow_nan=True, allow_infinity=True) | _text
         | st.sampled_from(["", " ", "COMPLAINT", "REPORT", "CONSULTATION", "REFUND", "AMR-310115", "310115",
                            "2024-02-29", "13812345678", factories.make_uscc(1), factories.make_ric(1)]))
json_values = st.recursive(
    _leaf, lambda children: st.lists(children, max_size=5) | st.dictionaries(_text, children, max_size=5),
    max_leaves=20)
FIELD_NAMES = sorted(set(factories.complaint(0)) | {
    "name", "phone", "id_number", "address", "uscc", "adcode", "date", "place_adcode", "amount_fen", "online",
    "platform", "body", "status", "question", "answer", "alleged_violation", "agent", "goods_expiry_date",
    "preferred_agency_id", "power_of_attorney_ref", "power_of_attorney_scope", "power_of_attorney_expires",
    "identity_verification", "false_materials", "seller_address_listed"})


def _valid_bodies() -> list[dict]:
    complaint = factories.complaint(7)
    report = {k: v for k, v in complaint.items() if k != "demands"} | {"kind": "REPORT",
                                                                      "alleged_violation": "COUNTERFEIT"}
    hotline = without(complaint, "respondent.adcode") | {"channel": "VISIT"}
    hotline["respondent"]["address"] = "广东省广州市越秀区中山五路1号"
    return [complaint, report, complaint | {"alleged_violation": "FALSE_ADVERTISING"}, hotline,
            {"kind": "CONSULTATION", "channel": "HOTLINE_12315", "receiving_agency_id": "AMR-110108",
             "consumer": {"name": "李娜", "phone": "010-62345678"}, "question": "网购七天无理由退货怎么算？",
             "answer": "自收到商品之日起七日内。"}]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated_bodies(draw):
    body = copy.deepcopy(draw(st.sampled_from(_valid_bodies())))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(body))))
        if not path:
            continue
        *parents, last = path
        node = body
        for part in parents:
            node = node[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            node[last] = draw(json_values)
        elif action == "delete":
            del node[last]
        elif isinstance(node, dict):
            node[draw(st.sampled_from(FIELD_NAMES) | _text)] = draw(json_values)
        else:
            node.append(draw(json_values))
    return body


@st.composite
def deep_nesting(draw):
    depth = draw(st.integers(1, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * depth + "0" + closer * depth


bodies = (json_values.map(lambda v: json.dumps(v).encode())
          | st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8)
            .map(lambda d: json.dumps({"kind": "COMPLAINT", **d}).encode())
          # Raw UTF-8, lone surrogates written as their three bytes (which Python's
          # JSON reader also accepts).
          | mutated_bodies().map(lambda b: json.dumps(b, ensure_ascii=False).encode("utf-8", "surrogatepass"))
          | deep_nesting().map(str.encode)
          | st.binary(max_size=64))


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=bodies)
def test_random_bodies_never_make_a_5xx(http, content):
    response = post_raw(http, content)
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, (content[:500], response.text[:500])
    assert response.status_code in (202, 400, 413, 422), response.text
    if response.status_code == 202:
        assert COMPLAINT_ID.fullmatch(response.json()["complaint_id"])
    else:
        problem = assert_problem(response, response.status_code)
        if response.status_code == 422:
            assert problem["errors"] and all(isinstance(e["field"], str) for e in problem["errors"])


def test_every_request_stored_from_the_random_bodies_is_one_the_relay_can_publish(intake, http):
    # Runs after the random bodies on the same store. A body intake stored but
    # its relay could not encode would block every later complaint.
    assert http.post("/complaints", json=factories.complaint(3)).status_code == 202
    published = intake.published()
    assert any(record_type == "ComplaintReceived" for record_type, _ in published)
    assert all(record["complaint_id"] for record_type, record in published if record_type != "AuditRecord")


def test_an_unknown_id_is_404(http):
    problem = assert_problem(http.get("/complaints/TS-20240101-000000000000"), 404)
    assert problem["field"] == "complaint_id"
    assert_problem(http.get("/complaints/not-an-id"), 404)

"""The console's pages rendered by the app (no browser): the inbox by
deadline with the overdue in red, what each role sees of a complaint, and a
form refused before it reaches a route. The browser tests drive the same
pages against the whole system."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services import auth, casework
from services.desk.application import Desk
from services.http import build_app
from tests.desk_feed import START, Feed, feed
from tests import factories

KEY = "unit-test-signing-key-thirty-two-bytes"
PUDONG, XUHUI, SHANGHAI = "AMR-310115", "AMR-310104", "AMR-310000"


@pytest.fixture
def desk(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Desk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    f = Feed()
    feed(app, f.complaint("late", PUDONG, START, seed=1)
         + f.complaint("fresh", PUDONG, START + timedelta(days=30), seed=2)
         + f.complaint("elsewhere", XUHUI, START, seed=3))
    app.clock.now = lambda: START + timedelta(days=70)  # past "late"'s mediation deadline, not "fresh"'s
    app.feed = f
    yield app
    app.close()
    casework._key.cache_clear()


def signed_in(desk, agency: str, role: str) -> TestClient:
    client = TestClient(build_app({"desk": factories.runner("desk", desk)}))
    response = client.post("/console/login", data={"token": auth.issue(agency, role, KEY.encode(), person="李明")})
    assert response.status_code == 200 and "待办投诉" in response.text
    return client


def inbox_rows(html: str) -> list[tuple[str, str]]:
    """(complaint id, row class) in page order."""
    return re.findall(r'<tr class="([^"]*)" data-id="([^"]+)">', html)


def test_the_inbox_puts_the_soonest_deadline_first_and_the_overdue_in_red(desk):
    html = signed_in(desk, PUDONG, "CASE_WORKER").get("/console").text
    assert inbox_rows(html) == [("overdue", "late"), ("", "fresh")]
    assert html.count("已逾期") == 1


def test_signed_out_pages_send_to_sign_in_and_a_bad_token_is_named(desk):
    client = TestClient(build_app({"desk": factories.runner("desk", desk)}))
    response = client.get("/console/complaints/late", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
    refused = client.post("/console/login", data={"token": "not-a-token"})
    assert refused.status_code == 401 and 'data-field="token"' in refused.text


@pytest.mark.parametrize("agency, role, status, consumer_shown, forms", [
    (PUDONG, "CASE_WORKER", 200, True, True),
    (SHANGHAI, "SUPERVISOR", 200, True, True),
    (SHANGHAI, "REGULATOR", 200, False, False),
    (XUHUI, "CASE_WORKER", 404, False, False),
])
def test_what_each_role_sees_of_a_complaint(desk, agency, role, status, consumer_shown, forms):
    response = signed_in(desk, agency, role).get("/console/complaints/late")
    assert response.status_code == status
    assert ("张伟" in response.text) is consumer_shown
    assert ('class="action"' in response.text) is forms


def test_a_form_the_route_would_refuse_is_named_before_it_is_sent(desk):
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    response = client.post("/console/complaints/late/act/agreement",
                           data={"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": "两千"})
    assert response.status_code == 422
    assert re.search(r'data-field="amount_recovered_fen">[^<]*金额', response.text)
    assert "<details class=\"action\" id=\"action-agreement\" open>" in response.text


def test_the_public_operator_page_says_when_a_code_cannot_be_one(desk):
    client = TestClient(build_app({"desk": factories.runner("desk", desk)}))
    refused = client.get("/public/operator", params={"uscc": "91330106000000003X"})
    assert refused.status_code == 422 and "不是有效的统一社会信用代码" in refused.text
    shown = client.get("/public/operator", params={"uscc": factories.make_uscc(1)})
    assert shown.status_code == 200 and 'id="complaints">1<' in shown.text


def test_a_list_typed_on_a_chinese_keyboard_is_several_names():
    from services.desk.console.forms import COMPLAINT_ACTIONS, body_of

    body, errors = body_of(COMPLAINT_ACTIONS["schedule"], {"session_at": "2026-03-10T09:30", "place": "调解室",
                                                           "mediators": "王五，赵六、钱七"})
    assert not errors and body["mediators"] == ["王五", "赵六", "钱七"]
    body, _ = body_of(COMPLAINT_ACTIONS["agreement"], {"form": "ORAL", "terms": "退款", "amount_recovered_fen": "10",
                                                       "oral_consent": "消费者，被投诉方"})
    assert body["oral_consent"] == ["CONSUMER", "RESPONDENT"]  # as the label names them


def test_the_inbox_export_holds_only_open_complaints(desk):
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    feed(desk, [desk.feed.message("MediationAgreed", complaint_id="fresh")])
    header, *rows = client.get("/console/export.csv?open=true").text.lstrip("\ufeff").splitlines()
    assert [r.split(",")[0] for r in rows] == ["late"]
    # For a person with a spreadsheet: columns in words, codes in Chinese, China time.
    columns = header.split(",")
    assert columns[:3] == ["编号", "类别", "状态"] and "投诉人电话" in columns
    late = dict(zip(columns, rows[0].split(",")))
    assert (late["类别"], late["状态"]) == ("投诉", "调解中")
    assert late["登记时间"] == "2026-03-02 09:30"  # START, 01:30 UTC


def test_a_regulators_export_has_no_personal_columns(desk):
    header = signed_in(desk, SHANGHAI, "REGULATOR").get("/console/export.csv").text.lstrip("\ufeff").splitlines()[0]
    assert "编号" in header and "投诉人" not in header


def test_a_complaint_page_is_titled_in_words_and_its_history_in_the_order_things_happened(desk):
    # The decision reaches the desk before the receipt it decides on (each topic is read on its own).
    later = START + timedelta(hours=2)
    received = desk.feed.message("ComplaintReceived", complaint_id="ordered", occurred_at=START,
                                 receiving_agency_id=PUDONG)
    accepted = desk.feed.message("ComplaintAccepted", complaint_id="ordered", agency_id=PUDONG, occurred_at=later,
                                 decided_at=later, decision_due=later + timedelta(days=9), received_at=START)
    feed(desk, [accepted, received])
    html = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/complaints/ordered").text
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "<" not in title and "ordered" in title
    history = re.search(r'<h2>办理记录</h2>(.*?)</section>', html, re.S).group(1)
    assert re.findall(r"<strong>([^<]+)</strong>", history) == ["收到投诉", "受理"]


def test_every_ground_a_rulebook_names_has_its_chinese_name():
    from services.desk.vocabulary import CHINESE
    from services.routing import rulebook

    grounds = {code for name in ("SAIC-62", "SAMR-20", "SAMR-121") for code in rulebook.named(name).grounds}
    assert grounds and not grounds - set(CHINESE)


@pytest.mark.parametrize("action", ["withdrawal", "escalation"])
def test_an_act_that_cannot_be_undone_is_ticked_for_before_it_is_sent(desk, action):
    from services.desk.console.forms import COMPLAINT_ACTIONS, body_of

    client = signed_in(desk, PUDONG, "CASE_WORKER")
    page = client.get("/console/complaints/late").text
    assert re.search(rf'id="action-{action}".*?<input type="checkbox" name="confirmed" required>', page, re.S)
    response = client.post(f"/console/complaints/late/act/{action}", data={})
    assert response.status_code == 422
    assert re.search(r'data-field="confirmed">请先勾选确认', response.text)
    body, errors = body_of(COMPLAINT_ACTIONS[action], {"confirmed": "on"})
    assert not errors and "confirmed" not in body  # what the route takes, nothing more


def test_a_mediators_page_says_who_consented_and_when_and_where_the_session_is(desk):
    feed(desk, [desk.feed.message("ConsentRecorded", complaint_id="late", party="CONSUMER", agreed=True),
                desk.feed.message("MediationScheduled", complaint_id="late", place="浦东新区市场监管局调解室",
                                  mediators=["李明"])])
    html = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/complaints/late").text
    assert "浦东新区市场监管局调解室" in re.search(r'id="next-session">([^<]*)<', html).group(1)
    assert re.search(r'id="consents">([^<]*)<', html).group(1) == "消费者同意"


def test_what_the_api_says_of_a_field_is_said_in_the_words_of_the_form():
    import httpx

    from services.desk.console.calls import problem

    refused = problem(httpx.Response(422, json={
        "detail": "Value error, a reason is required when the answer is DECLINED", "field": "reason",
        "errors": [{"field": "session_at", "message": "Input should be a valid datetime or date, input is too short"},
                   {"field": "mediators", "message": "List should have at least 1 item after validation, not 0"},
                   {"field": "reason", "message": "Value error, a reason is required when the answer is DECLINED"}]}))
    assert problem(httpx.Response(422, json={"detail": "x", "errors": [
        {"field": "fine_fen", "message": "Input should be greater than or equal to 0"},
        {"field": "party", "message": "Input should be 'CONSUMER' or 'RESPONDENT'"}]}))["fields"] == {
        "fine_fen": "请填写 0 或更大的数", "party": "请从选项中选择"}
    assert refused["fields"] == {"session_at": "请填写日期和时间", "mediators": "至少填写一项",
                                 "reason": "退回移送须说明理由"}
    assert refused["detail"] == "请修改标出的各项"  # each field says its own
    # The rules' own words, and the checks the public form meets, in Chinese too.
    said = problem(httpx.Response(422, json={
        "detail": "represented_consent: an agreement by the representatives of a joint complaint binds the consumers "
                  "they represent only with their consent; missing 吴刚, 李娜", "field": "represented_consent"}))
    assert said["detail"] == "共同投诉的代表人调解协议须经被代表的投诉人同意,尚缺:吴刚、李娜"
    assert said["fields"] == {"represented_consent": said["detail"]}
    phone = problem(httpx.Response(422, json={"detail": "consumer.phone: not a mainland China phone number: ...",
                                              "errors": [{"field": "consumer.phone", "message":
                                                          "Value error, not a mainland China phone number: x"}]}))
    assert phone["fields"]["consumer.phone"].startswith("不是有效的中国大陆电话号码")


def test_a_penalty_case_links_the_complaints_it_came_from(desk):
    feed(desk, [desk.feed.message("PenaltyCaseOpened", complaint_id="late", case_id="PC-9", complaint_ids=["late"],
                                  agency_id=PUDONG)])
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    html = client.get("/console/cases/PC-9").text
    assert '<a href="/console/complaints/late">late</a>' in html and "立案期限" in html
    feed(desk, [desk.feed.message("InvestigationStarted", case_id="PC-9", complaint_id="late")])
    assert "立案期限" not in client.get("/console/cases/PC-9").text  # filed: that limit is past concern


def test_an_export_with_a_filter_that_cannot_be_read_is_refused_not_a_crash(desk):
    refused = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/export.csv?received_from=x")
    assert refused.status_code == 422 and "received_from" in refused.text


def test_a_refusal_for_the_state_a_case_is_in_names_that_state_in_chinese():
    import httpx

    from services.desk.console.calls import problem
    from services.desk.vocabulary import CHINESE
    from services.enforcement import rules as enforcement
    from services.mediation import rules as mediation

    refused = problem(httpx.Response(409, json={
        "detail": "cannot schedule a session before both parties agree to mediate", "current_state": "AWAITING_CONSENT"}))
    assert refused["detail"].startswith("当前状态为「待双方同意调解」,不能办理此项")
    states = {mediation.SUSPENDED, mediation.AWAITING_CONSENT, mediation.OPEN, mediation.SCHEDULED,
              mediation.IN_APPRAISAL, mediation.AGREED, mediation.TERMINATED, enforcement.LEAD, enforcement.FILED,
              enforcement.INVESTIGATING, enforcement.DECIDED, enforcement.CLOSED, enforcement.DECLINED}
    assert not states - set(CHINESE)


def test_a_complaint_page_names_every_consumer_the_representatives_the_agent_and_every_ground(desk):
    f = desk.feed
    agent = {"name": "钱代理", "phone": "13900000001", "id_number": None, "power_of_attorney_ref": "WT-2026-001",
             "power_of_attorney_scope": "代为投诉、调解", "power_of_attorney_expires": "2027-01-31"}
    co = [{"name": "吴刚", "phone": "13900000002", "id_number": None, "address": None}]
    grounds = [{"reason": "NO_SPECIFIC_REQUEST", "explanation": "投诉没有具体的投诉请求。"},
               {"reason": "UNPROVABLE", "explanation": "您不能证明权益受到损害。"}]
    feed(desk, [f.message("ComplaintReceived", complaint_id="joint", receiving_agency_id=PUDONG, occurred_at=START,
                          co_consumers=co, representatives=["吴刚"], agent=agent),
                f.message("ComplaintRejected", complaint_id="joint", agency_id=PUDONG, reason="NO_SPECIFIC_REQUEST",
                          explanation=grounds[0]["explanation"], grounds=grounds)])
    html = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/complaints/joint").text
    assert "吴刚" in re.search(r'id="co-consumers">([^<]*)<', html).group(1)
    assert re.search(r'id="representatives">([^<]*)<', html).group(1) == "吴刚"
    shown = re.search(r'id="agent">([^<]*)<', html).group(1)
    assert "钱代理" in shown and "WT-2026-001" in shown and "2027-01-31" in shown
    # The record of what happened names the ground in words too.
    assert "NO_SPECIFIC_REQUEST" not in re.search(r'<ol class="history">(.*?)</ol>', html, re.S).group(1)
    said = re.findall(r'<dd class="ground">([^<]*)<', html)
    assert said == ["无具体投诉请求:投诉没有具体的投诉请求。", "无法证实权益受到损害:您不能证明权益受到损害。"]


def test_the_duties_of_orders_20_and_121_are_offered_and_the_extension_to_the_head_alone(desk):
    html = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/complaints/late").text
    for action in ("recusal-request", "recusal-decision"):
        assert f'id="action-{action}"' in html
    assert 'name="performed_at_once"' in html and "当事人死亡或主体资格灭失" in html
    feed(desk, [desk.feed.message("PenaltyCaseOpened", complaint_id="late", case_id="PC-7", complaint_ids=["late"],
                                  agency_id=PUDONG)])
    worker = signed_in(desk, PUDONG, "CASE_WORKER").get("/console/cases/PC-7").text
    head = signed_in(desk, PUDONG, "SUPERVISOR").get("/console/cases/PC-7").text
    assert 'id="action-check-extension"' not in worker and 'id="action-check-extension"' in head


def test_a_form_that_says_yes_sends_true():
    from services.desk.console.forms import CASE_ACTIONS, body_of

    body, errors = body_of(CASE_ACTIONS["decision"], {"fine_fen": "0", "basis": "违法行为轻微并及时改正", "no_penalty": "true"})
    assert body == {"fine_fen": 0, "basis": "违法行为轻微并及时改正", "no_penalty": True} and not errors


def test_a_closing_note_is_shown_to_the_bureau_not_to_a_regulator(desk):
    note = "已电话告知举报人（13800000099）处理结果"
    feed(desk, [desk.feed.message("PenaltyCaseOpened", complaint_id="late", case_id="PC-8", complaint_ids=["late"],
                                  agency_id=PUDONG),
                desk.feed.message("PenaltyCaseClosed", complaint_id="late", case_id="PC-8", outcome=note,
                                  reports_closed=[])])
    assert note in signed_in(desk, PUDONG, "CASE_WORKER").get("/console/cases/PC-8").text
    for page in ("/console/cases/PC-8", "/console/complaints/late"):
        assert note not in signed_in(desk, SHANGHAI, "REGULATOR").get(page).text, page


@pytest.mark.parametrize("name", ["=HYPERLINK('http://x')", "\t=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+1"])
def test_a_name_written_like_a_formula_is_exported_as_text(desk, name):
    import csv
    import io

    feed(desk, desk.feed.complaint("formula", PUDONG, START, seed=9, name=name))
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    text = client.get("/console/export.csv").text.lstrip("\ufeff")
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["编号"] == "formula"]
    assert row["被投诉方"] == "'" + name
    # The API's CSV too: the README saves it for a spreadsheet.
    text = client.get("/complaints", params={"format": "csv"},
                      headers={"Authorization": f"Bearer {auth.issue(PUDONG, 'CASE_WORKER', KEY.encode())}"}).text
    [row] = [r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))) if r["complaint_id"] == "formula"]
    assert row["respondent_name"] == "'" + name


def test_the_statistics_page_downloads_as_csv(desk):
    from services.statistics.application import Statistics

    figures = Statistics(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    client = TestClient(build_app({"desk": factories.runner("desk", desk),
                                   "statistics": factories.runner("statistics", figures)}))
    client.post("/console/login", data={"token": auth.issue(SHANGHAI, "SUPERVISOR", KEY.encode())})
    response = client.get("/console/statistics", params={"by": "agency", "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "合计" in response.text


@pytest.mark.parametrize("headers, refused", [
    ({"Origin": "http://testserver:18951"}, True),     # another port of the same host: same site, not same origin
    ({"Origin": "http://evil.example"}, True),
    ({"Origin": "null"}, True),
    ({"Sec-Fetch-Site": "same-site"}, True),
    ({"Origin": "http://testserver"}, False),
    ({"Sec-Fetch-Site": "same-origin"}, False),
    ({}, False),                                         # no browser: no one's cookie rides along
])
def test_a_form_sent_from_another_origin_is_refused_and_does_nothing(desk, headers, refused):
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    before = desk.recorder.max_notification_id()
    response = client.post("/console/complaints/late/act/agreement", headers=headers,
                           data={"form": "WRITTEN", "terms": "退款", "amount_recovered_fen": "两千"})
    # Refused at the door (403), or let in to be judged on its fields (422: the sum is no number).
    assert response.status_code == (403 if refused else 422), response.text[:300]
    assert desk.recorder.max_notification_id() == before
    # Nor may another origin sign someone in under its own token.
    login = client.post("/console/login", headers=headers,
                        data={"token": auth.issue(XUHUI, "CASE_WORKER", KEY.encode())})
    assert login.status_code == (403 if refused else 200)


def test_behind_tls_the_session_cookie_is_never_sent_in_the_clear(desk):
    client = TestClient(build_app({"desk": factories.runner("desk", desk)}))
    token = auth.issue(PUDONG, "CASE_WORKER", KEY.encode())
    plain = client.post("/console/login", data={"token": token}, follow_redirects=False)
    tls = client.post("/console/login", data={"token": token}, headers={"X-Forwarded-Proto": "https"},
                      follow_redirects=False)
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "secure" in tls.headers["set-cookie"].lower() and "httponly" in tls.headers["set-cookie"].lower()


@pytest.mark.parametrize("asked", ["%00", "x%3Fkind=1", "..%2F..%2Fstatistics", "TS-20260302-ZZZ"])
def test_a_status_page_asked_for_what_cannot_be_an_id_is_not_found(desk, asked):
    client = TestClient(build_app({"desk": factories.runner("desk", desk)}))
    response = client.get(f"/public/status/{asked}")
    assert response.status_code == 404


def test_pages_with_personal_data_are_never_cached_nor_framed(desk):
    client = signed_in(desk, PUDONG, "CASE_WORKER")
    page = client.get("/console/complaints/late")
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert client.get("/public/form").headers["cache-control"] == "no-store"

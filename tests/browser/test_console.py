"""The console and the public pages in a real Chromium, against the whole
system as `tousu up` runs it: what a case worker, a second bureau's worker,
a supervisor, a regulator, an agency and a consumer each do and see."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests import factories
from tests.harness import HTTP, wait_until

pytestmark = pytest.mark.slow

HAIDIAN, CHAOYANG, BEIJING, TIANHE = "AMR-110108", "AMR-110105", "AMR-110000", "AMR-440106"


def submit(up, body: dict) -> str:
    response = HTTP.post(f"{up.url}/complaints", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["complaint_id"]


def status(up, complaint_id: str) -> str | None:
    return HTTP.get(f"{up.url}/complaints/{complaint_id}", timeout=10).json().get("status")


def listed(up, complaint_id: str, status: str = "IN_MEDIATION") -> bool:
    """Whether the desk lists the complaint (to Beijing's supervisor) in that status."""
    headers = {"Authorization": f"Bearer {up.token(BEIJING, 'SUPERVISOR')}"}
    items = HTTP.get(f"{up.url}/complaints", params={"status": status, "limit": 1000}, headers=headers,
                      timeout=30).json()["items"]
    return any(item["complaint_id"] == complaint_id for item in items)


def in_chaoyang(i: int) -> dict:
    body = factories.complaint(i, receiving_agency_id=CHAOYANG)
    body["respondent"]["adcode"] = body["transaction"]["place_adcode"] = "110105"
    return body


@pytest.fixture(scope="module")
def haidian(up) -> tuple[str, dict]:
    """A complaint Haidian accepted and opened a mediation on."""
    body = factories.complaint(1)
    complaint_id = submit(up, body)
    wait_until(lambda: listed(up, complaint_id), 90, message="Haidian's complaint in mediation on the desk")
    return complaint_id, body


@pytest.fixture(scope="module")
def chaoyang(up) -> str:
    complaint_id = submit(up, in_chaoyang(9))
    wait_until(lambda: listed(up, complaint_id), 90, message="Chaoyang's complaint in mediation on the desk")
    return complaint_id


def sign_in(browser, up, agency: str, role: str = "CASE_WORKER", person: str | None = None):
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    page.goto(f"{up.url}/console")
    assert "/console/login" in page.url  # no token, no desk
    page.fill("textarea[name=token]", up.token(agency, role, person))
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def rows(page, table: str = "#complaints") -> list[str]:
    return page.eval_on_selector_all(f"{table} tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)")


def reload_until(page, predicate, message: str, timeout: float = 60):
    def look():
        page.reload()
        return predicate()
    return wait_until(look, timeout, interval=0.5, message=message)


def act(page, action: str, fields: dict[str, str]):
    if not page.locator(f"#action-{action}").evaluate("details => details.open"):
        page.click(f"#action-{action} summary")
    form = page.locator(f"#action-{action} form")
    for name, value in fields.items():
        control = form.locator(f"[name='{name}']")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    # The page a form posts to answers with the next page: wait for it before looking.
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_a_case_worker_mediates_a_new_complaint_to_agreement(up, browser, shoot, haidian):
    complaint_id, body = haidian
    page = sign_in(browser, up, HAIDIAN, person="李明")
    reload_until(page, lambda: complaint_id in rows(page), "the complaint in Haidian's inbox")
    assert rows(page)[0] == complaint_id  # soonest deadline first: the only open one
    assert "李明" in page.inner_text("#me")
    shoot(page, "inbox")

    with page.expect_navigation():
        page.click(f"a[href='/console/complaints/{complaint_id}']")
    assert page.inner_text("#status") == "调解中"
    assert body["consumer"]["name"] in page.inner_text("#consumer")  # the handling bureau sees the parties
    shoot(page, "complaint")

    act(page, "consent", {"party": "CONSUMER", "agreed": "true"})
    assert page.locator(".notice").is_visible()
    act(page, "consent", {"party": "RESPONDENT", "agreed": "true"})
    session_at = (datetime.now(timezone.utc) + timedelta(days=3)).astimezone(timezone(timedelta(hours=8)))
    act(page, "schedule", {"session_at": session_at.strftime("%Y-%m-%dT09:30"), "place": "海淀区市场监管局调解室",
                           "mediators": "李明,王芳"})
    assert page.locator(".notice").is_visible()

    act(page, "agreement", {"form": "WRITTEN", "terms": "商家退还货款。", "amount_recovered_fen": "两千"})
    error = page.locator("#action-agreement .field-error[data-field=amount_recovered_fen]")
    assert error.is_visible() and "金额" in error.inner_text()
    shoot(page, "complaint-form-error")
    act(page, "agreement", {"form": "WRITTEN", "terms": "商家退还货款。", "amount_recovered_fen": "2599"})

    reload_until(page, lambda: page.inner_text("#status") == "调解成功", "the agreement on the complaint page")
    history = page.inner_text("ol.history")
    assert "达成调解协议" in history and "2,599.00 元" in history and "李明、王芳" in history
    journal = page.inner_text("#journal")  # each action names the person who took it
    assert journal.count("李明") == 4 and "达成调解协议" in journal
    shoot(page, "complaint-agreed")

    public = page.context.new_page()
    public.goto(f"{up.url}/public/status/{complaint_id}")
    reload_until(public, lambda: public.inner_text("#status") == "调解成功", "the public status page")
    assert body["consumer"]["name"] not in public.content()
    assert public.inner_text("#reason") == "达成书面调解协议"
    public.goto(f"{up.url}/public/status?id=%20{complaint_id.lower()}%20")  # as read out on the phone
    assert public.inner_text("#status") == "调解成功"
    shoot(public, "public-status-agreed")
    public.goto(f"{up.url}/public/operator?uscc={body['respondent']['uscc']}")
    reload_until(public, lambda: "2,599.00 元" in public.inner_text("#recovered"), "the operator's disclosure")
    assert public.inner_text("#agreed-share").startswith("100")
    shoot(public, "public-operator")


def test_a_second_bureau_does_not_see_it(up, browser, shoot, haidian):
    complaint_id, _ = haidian
    page = sign_in(browser, up, TIANHE)
    assert complaint_id not in rows(page)
    shoot(page, "inbox-other-bureau")
    response = page.goto(f"{up.url}/console/complaints/{complaint_id}")
    assert response.status == 404 and "无法查看" in page.inner_text("main")


def test_a_supervisor_sees_both_bureaus_and_a_regulator_reads_without_personal_data(
        up, browser, shoot, haidian, chaoyang):
    complaint_id, body = haidian
    supervisor = sign_in(browser, up, BEIJING, "SUPERVISOR")
    supervisor.goto(f"{up.url}/console/complaints")
    reload_until(supervisor, lambda: {complaint_id, chaoyang} <= set(rows(supervisor)), "both bureaus' complaints")
    shoot(supervisor, "complaints-supervisor")
    supervisor.goto(f"{up.url}/console/statistics?by=agency")
    figures = supervisor.inner_text("#figures")
    assert HAIDIAN in figures and CHAOYANG in figures
    shoot(supervisor, "statistics")
    supervisor.goto(f"{up.url}/console/cases")
    shoot(supervisor, "cases")

    regulator = sign_in(browser, up, BEIJING, "REGULATOR")
    regulator.goto(f"{up.url}/console/complaints")
    assert {complaint_id, chaoyang} <= set(rows(regulator))
    assert body["consumer"]["name"] not in regulator.content()
    regulator.goto(f"{up.url}/console/complaints/{complaint_id}")
    assert "个人信息不向本角色显示" in regulator.inner_text("#consumer")
    assert regulator.locator("details.action").count() == 0  # read-only
    shoot(regulator, "complaint-regulator")


def test_an_agency_answers_a_referral_from_its_inbox(up, browser, shoot):
    complaint_id = submit(up, factories.complaint(17, subject_area="TELECOM"))
    wait_until(lambda: status(up, complaint_id) == "REFERRED", 90, message="the complaint referred")
    page = sign_in(browser, up, "CA-110000", "AGENCY_SYSTEM", person="赵敏")
    assert page.url.endswith("/console/referrals")
    reload_until(page, lambda: complaint_id in rows(page, "#referral-inbox"), "the referral in the agency's inbox")
    row = page.locator(f"#referral-inbox tr[data-id='{complaint_id}']")
    assert row.locator(".r-status").inner_text() == "待答复"
    shoot(page, "referrals-agency")
    with page.expect_navigation():
        row.locator("button", has_text="接收").click()
    row = page.locator(f"#referral-inbox tr[data-id='{complaint_id}']")
    assert row.locator(".r-status").inner_text() == "已接收"
    shoot(page, "referrals-answered")

    other = sign_in(browser, up, "CA-440000", "AGENCY_SYSTEM")
    assert complaint_id not in rows(other, "#referral-inbox")


def test_a_consumer_fixes_a_wrong_credit_code_and_follows_the_status(up, browser, shoot):
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    page.goto(f"{up.url}/public/form")
    good = factories.make_uscc(41)
    fields = {
        "receiving_agency_id": HAIDIAN, "consumer.name": "孙丽", "consumer.phone": "13912345678",
        "respondent.name": "北京某某电器有限公司", "respondent.uscc": good[:-1] + ("0" if good[-1] != "0" else "1"),
        "respondent.address": "北京市海淀区中关村大街1号", "respondent.adcode": "110108",
        "transaction.date": (datetime.now() - timedelta(days=15)).strftime("%Y-%m-%d"),
        "transaction.amount_fen": "1299", "aware_date": (datetime.now() - timedelta(days=5)).strftime("%Y-%m-%d"),
        "facts": "购买的电水壶使用三天后漏电,商家拒绝退货。",
    }
    for name, value in fields.items():
        page.fill(f"[name='{name}']", value)
    page.check("[name=has_evidence]")
    page.check("[name=demands][value=REFUND]")
    with page.expect_navigation():
        page.click("button.primary")

    error = page.locator(".field-error[data-field='respondent.uscc']")
    assert error.is_visible()
    message = error.inner_text()
    api = HTTP.post(f"{up.url}/complaints", json={**factories.complaint(41), "respondent": {
        **factories.complaint(41)["respondent"], "uscc": fields["respondent.uscc"]}}, timeout=30).json()
    # What the API says of the field, in the form's words.
    from services.desk.console.calls import plain
    said = next(e["message"] for e in api["errors"] if e["field"] == "respondent.uscc")
    assert message == plain(said) and message.startswith("统一社会信用代码无效")
    assert page.input_value("[name='consumer.name']") == "孙丽"  # nothing typed is lost
    shoot(page, "public-form-error")

    page.fill("[name='respondent.uscc']", good)
    with page.expect_navigation():
        page.click("button.primary")
    assert "/public/status/" in page.url
    complaint_id = page.inner_text("#new-id")
    reload_until(page, lambda: page.locator("#status").count() and page.inner_text("#status") == "调解中",
                 "the new complaint in mediation", timeout=90)
    shoot(page, "public-status")
    page.goto(f"{up.url}/public/status?id={complaint_id}")
    assert page.inner_text("#status") == "调解中"


def test_a_violation_becomes_a_penalty_case_worked_to_closure(up, browser, shoot, chaoyang):
    page = sign_in(browser, up, CHAOYANG, person="周杰")
    page.goto(f"{up.url}/console/complaints/{chaoyang}")
    act(page, "violation", {"violation_type": "FALSE_ADVERTISING", "evidence": "商品页面宣称“国家级产品”。"})
    assert page.locator(".notice").is_visible()
    page.goto(f"{up.url}/console/cases")
    reload_until(page, lambda: len(rows(page, "#cases")) == 1, "the penalty case in the case list")
    shoot(page, "cases-with-one")
    with page.expect_navigation():
        page.locator("#cases tbody a").first.click()
    assert page.inner_text("#status") == "待立案"
    act(page, "investigation", {})
    reload_until(page, lambda: page.inner_text("#status") == "调查中", "the case under investigation")
    act(page, "decision", {"fine_fen": "五万", "basis": "《广告法》第五十五条"})
    assert "金额" in page.locator("#action-decision .field-error[data-field=fine_fen]").inner_text()
    act(page, "decision", {"fine_fen": "50000", "basis": "《广告法》第五十五条"})
    reload_until(page, lambda: page.inner_text("#status") == "已作出处罚决定", "the penalty decided")
    act(page, "closure", {"outcome": "罚款已缴纳,结案。"})
    reload_until(page, lambda: page.inner_text("#status") == "已办结", "the case closed")
    assert "50,000.00 元" in page.inner_text("main")
    shoot(page, "case-closed")
    page.goto(f"{up.url}/console/complaints/{chaoyang}")
    assert page.locator("a[href^='/console/cases/']").count() >= 1  # the complaint links its case

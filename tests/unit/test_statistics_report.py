"""The statistics computation on hand-built facts: no broker, no store."""
from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from services.agencies import divisions
from services.statistics.domainmodel import RequestFacts
from services.statistics.facts import facts_of
from services.statistics.report import InvalidQuery, Query, from_facts
from services.statistics.summary import summarise

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
OPERATOR = {"name": "上海某某电器有限公司", "uscc": "91310115MA1H7GQX2T"}
_ids = itertools.count(1)


def record(record_type: str, cid: str, at: datetime = T0, **fields) -> tuple[str, dict]:
    return record_type, {"event_id": f"e-{next(_ids)}", "occurred_at": at, "complaint_id": cid, **fields}


def received(cid, kind="COMPLAINT", at=T0, channel="HOTLINE_12315", agency="AMR-310115",
             area="GOODS_QUALITY", respondent=OPERATOR):
    if kind == "CONSULTATION":
        return record("ConsultationReceived", cid, at, channel=channel, receiving_agency_id=agency)
    return record({"COMPLAINT": "ComplaintReceived", "REPORT": "ReportReceived"}[kind], cid, at, channel=channel,
                  receiving_agency_id=agency, subject_area=area, respondent={**respondent, "address": "某路1号"},
                  consumer={"name": "张伟", "phone": "13812345678"})


def accepted(cid, agency="AMR-310115", at=None, decided_at=None, due=None):
    at = at or T0 + timedelta(days=1)
    return record("ComplaintAccepted", cid, at, agency_id=agency, jurisdiction_basis="OPERATOR_LOCATION",
                  decided_at=decided_at or at, decision_due=due or T0 + timedelta(days=9))


def rejected(cid, reason="OVER_ONE_YEAR", agency="AMR-310115", at=None, due=None):
    at = at or T0 + timedelta(days=1)
    return record("ComplaintRejected", cid, at, agency_id=agency, reason=reason, explanation="不予受理",
                  decided_at=at, decision_due=due or T0 + timedelta(days=9))


def referred(cid, to="CA-310000", at=None, from_agency="AMR-310115"):
    at = at or T0 + timedelta(days=1)
    return record("ComplaintReferred", cid, at, to_agency_id=to, subject_area="TELECOM", decided_at=at,
                  from_agency_id=from_agency)


def facts(*records) -> dict[str, list[dict]]:
    by_request = defaultdict(list)
    for record_type, body in records:
        for cid, fact in facts_of(record_type, body):
            by_request[cid].append(fact)
    return by_request


def figures(by="", **filters):
    return lambda fs: from_facts(fs, Query.parse(by=by, **filters))


def test_counts_by_kind_channel_and_status_with_totals():
    fs = facts(received("A"), accepted("A"), received("B", channel="WEB"), rejected("B", "NO_FACTS"),
               received("C", "REPORT"), received("D", "CONSULTATION", channel="APP"))
    report = figures("kind")(fs)
    assert [(g["kind"], g["requests"]) for g in report.groups] == [("COMPLAINT", 2), ("CONSULTATION", 1), ("REPORT", 1)]
    assert report.total["requests"] == 4 and report.total["accepted"] == 1 and report.total["rejected"] == 1
    by_channel = {g["channel"]: g["requests"] for g in figures("channel")(fs).groups}
    assert by_channel == {"HOTLINE_12315": 2, "WEB": 1, "APP": 1}
    by_status = {g["status"]: g["requests"] for g in figures("status")(fs).groups}
    assert by_status == {"ACCEPTED": 1, "REJECTED": 1, "RECEIVED": 1, "CLOSED": 1}
    by_operator = {g["respondent"]: g["requests"] for g in figures("respondent")(fs).groups}
    assert by_operator == {OPERATOR["uscc"]: 3, None: 1}


def test_a_request_counts_on_its_china_standard_time_day_month_and_year():
    fs = facts(received("A", at=datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)),
               received("B", at=datetime(2026, 3, 1, 15, 59, 59, 999000, tzinfo=timezone.utc)),
               received("C", at=datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc)),
               received("D", at=datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)))
    days = {g["day"]: g["requests"] for g in figures("day")(fs).groups}
    assert days == {"2026-03-01": 1, "2026-03-02": 1, "2026-04-01": 1, "2027-01-01": 1}
    months = {g["month"]: g["requests"] for g in figures("month")(fs).groups}
    assert months == {"2026-03": 2, "2026-04": 1, "2027-01": 1}
    assert {g["year"]: g["requests"] for g in figures("year")(fs).groups} == {"2026": 3, "2027": 1}


def test_from_and_to_are_inclusive_china_standard_time_dates():
    fs = facts(received("A", at=datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)),   # 03-02 CST
               received("B", at=datetime(2026, 3, 1, 15, 59, tzinfo=timezone.utc)),   # 03-01 CST
               received("C", at=datetime(2026, 3, 3, 15, 59, tzinfo=timezone.utc)))   # 03-03 CST
    assert figures(start="2026-03-02")(fs).total["requests"] == 2
    assert figures(end="2026-03-01")(fs).total["requests"] == 1
    assert figures(start="2026-03-02", end="2026-03-02")(fs).total["requests"] == 1
    assert figures(start="2026-03-04")(fs).total["requests"] == 0


def test_agencies_roll_up_to_city_and_province_municipalities_included():
    fs = facts(received("GZ1", agency="AMR-440106"), received("GZ2", agency="AMR-440104"),
               received("SZ", agency="AMR-440303"), received("SH", agency="AMR-310115"),
               received("XT", agency="AMR-429004"), received("DG", agency="AMR-441900"))
    assert {g["city"]: g["requests"] for g in figures("city")(fs).groups} == {
        "440100": 2, "440300": 1, "310000": 1, "420000": 1, "441900": 1}
    assert {g["province"]: g["requests"] for g in figures("province")(fs).groups} == {
        "440000": 4, "310000": 1, "420000": 1}
    assert figures(agency="AMR-440100")(fs).total["requests"] == 2
    assert figures(agency="AMR-440000")(fs).total["requests"] == 4
    assert figures(agency="AMR-310000")(fs).total["requests"] == 1
    assert figures(agency="AMR-440106")(fs).total["requests"] == 1
    assert figures(agency="EEB-440100")(fs).total["requests"] == 0  # another kind's chain
    assert figures(area="440000")(fs).total["requests"] == 4
    assert figures(area="4401")(fs).total["requests"] == 2
    assert figures(area="440303")(fs).total["requests"] == 1


def test_the_roll_up_rule_agrees_with_the_directory_for_every_county_bureau():
    from services.agencies.directory import Directory

    directory = Directory.load()
    for agency in directory.agencies("AMR"):
        if agency.level == "COUNTY":
            assert divisions.city_of(agency.adcode) == directory.city_of(agency.adcode), agency
            assert divisions.province_of(agency.adcode) == directory.province_of(agency.adcode), agency


def test_the_handling_agency_follows_decision_and_mediation():
    fs = facts(received("A", agency="AMR-110108"),
               record("ComplaintTransferred", "A", T0 + timedelta(hours=1), from_agency_id="AMR-110108",
                      to_agency_id="AMR-310115", reason="OPERATOR_LOCATION", decided_at=T0),
               received("B", agency="AMR-110108"),
               record("ComplaintTransferred", "B", T0 + timedelta(hours=1), from_agency_id="AMR-110108",
                      to_agency_id="AMR-310115", reason="OPERATOR_LOCATION", decided_at=T0),
               accepted("B", agency="AMR-310115"),
               record("MediationOpened", "B", T0 + timedelta(days=2), agency_id="AMR-310104",
                      accepted_at=T0, mediation_due=T0 + timedelta(days=60)),
               received("C", "REPORT", agency="AMR-110108"),
               record("PenaltyCaseOpened", "C", T0 + timedelta(days=1), case_id="PC-1", origin="REPORT",
                      complaint_ids=["C"], respondent=OPERATOR, violation_type="COUNTERFEIT", agency_id="AMR-110105"))
    assert {g["agency"]: g["requests"] for g in figures("agency")(fs).groups} == {
        "AMR-310115": 1, "AMR-310104": 1, "AMR-110105": 1}
    assert {g["status"] for g in figures("status")(fs).groups} == {"TRANSFERRED", "IN_MEDIATION", "RECEIVED"}


def test_reasons_referrals_late_decisions_money_time_limits_and_penalty_cases():
    due = T0 + timedelta(days=9)
    fs = facts(
        received("R1"), rejected("R1", "OVER_ONE_YEAR"),
        received("R2"), rejected("R2", "NO_FACTS", at=due + timedelta(hours=1), due=due),        # late
        received("F1", area="TELECOM"), referred("F1", "CA-310000"),
        received("F2", area="FINANCE"), referred("F2", "NFRA-310000", at=due + timedelta(days=1)),
        record("DecisionOverdue", "F2", due, agency_id="AMR-310115", decision_due=due),            # late referral
        received("M1"), accepted("M1"), record("MediationAgreed", "M1", T0 + timedelta(days=20), form="WRITTEN",
                                               terms="退款", amount_recovered_fen=259900),
        received("M2"), accepted("M2"), record("MediationAgreed", "M2", T0 + timedelta(days=20), form="ORAL",
                                               terms="退款", amount_recovered_fen=100),
        received("M3"), accepted("M3", decided_at=due + timedelta(seconds=1)),                     # late acceptance
        record("MediationTerminated", "M3", T0 + timedelta(days=70), reason="TIME_LIMIT_EXCEEDED"),
        received("M4"), accepted("M4"), record("MediationTerminated", "M4", T0 + timedelta(days=5), reason="WITHDRAWN"),
        record("PenaltyCaseOpened", "M1", T0 + timedelta(days=3), case_id="PC-1", origin="PATTERN",
               complaint_ids=["M1", "M2", "M1"], respondent=OPERATOR, violation_type="OTHER", agency_id="AMR-310115"),
        record("PenaltyCaseComplaintLinked", "M3", T0 + timedelta(days=4), case_id="PC-1", complaint_ids=["M3"]),
    )
    total = figures()(fs).total
    assert total["requests"] == 8 and total["rejected"] == 2 and total["referred"] == 2 and total["accepted"] == 4
    assert total["decided_late"] == 3
    assert total["amount_recovered_fen"] == 260000 and total["agreed"] == 2
    assert total["terminated"] == 2 and total["time_limit_exceeded"] == 1
    assert total["penalty_cases"] == 3
    assert {g["reason"]: g["requests"] for g in figures("reason")(fs).groups} == {
        "NO_FACTS": 1, "OVER_ONE_YEAR": 1, None: 6}
    assert {g["referral_target"]: g["requests"] for g in figures("referral_target")(fs).groups} == {
        "CA-310000": 1, "NFRA-310000": 1, None: 6}
    statuses = {g["status"]: g["requests"] for g in figures("status")(fs).groups}
    assert statuses == {"REJECTED": 2, "REFERRED": 2, "AGREED": 2, "TERMINATED": 1, "CLOSED": 1}


def test_a_referral_declined_and_decided_again_counts_the_decision_that_stands():
    fs = facts(received("A", area="TELECOM"), referred("A", at=T0 + timedelta(days=1)),
               accepted("A", at=T0 + timedelta(days=3)))
    groups = figures("status,referral_target")(fs).groups
    assert groups == [{**groups[0], "status": "ACCEPTED", "referral_target": None}]
    assert groups[0]["accepted"] == 1 and groups[0]["referred"] == 0


def test_facts_in_any_order_give_the_same_figures():
    due = T0 + timedelta(days=9)
    records = [received("A", at=T0), referred("A", at=T0 + timedelta(days=1)),
               accepted("A", at=T0 + timedelta(days=3), decided_at=due + timedelta(days=1)),
               record("MediationOpened", "A", T0 + timedelta(days=4), agency_id="AMR-310115", accepted_at=T0,
                      mediation_due=T0 + timedelta(days=64)),
               record("MediationAgreed", "A", T0 + timedelta(days=5), form="ORAL", terms="x", amount_recovered_fen=5),
               record("PenaltyCaseOpened", "A", T0 + timedelta(days=6), case_id="PC-9", origin="COMPLAINT",
                      complaint_ids=["A"], respondent=OPERATOR, violation_type="OTHER", agency_id="AMR-310115"),
               received("B", at=T0), rejected("B", at=T0 + timedelta(days=1)),
               accepted("B", at=T0 + timedelta(days=2))]
    by = "kind,status,agency,reason,referral_target,day"
    expected = figures(by)(facts(*records)).to_dict()
    assert expected["total"]["accepted"] == 2 and expected["total"]["agreed"] == 1
    for order in itertools.permutations(records[:6]):
        assert figures(by)(facts(*order, *records[6:])).to_dict() == expected
    rng = random.Random(5)
    for _ in range(50):
        shuffled = records[:]
        rng.shuffle(shuffled)
        assert figures(by)(facts(*shuffled)).to_dict() == expected


def test_a_request_counts_once_its_receipt_is_known():
    decision = rejected("A")
    assert figures()(facts(decision)).total["requests"] == 0
    assert summarise("A", facts(decision)["A"]) is None
    assert figures()(facts(decision, received("A"))).total["rejected"] == 1
    # An acceptance says when the complaint was received: enough to count it.
    _, body = accepted("B")
    body["received_at"] = T0
    assert figures("kind")(facts(("ComplaintAccepted", body))).groups[0]["kind"] == "COMPLAINT"


def test_a_fact_delivered_twice_is_noted_once():
    request = RequestFacts("A")
    (_, fact), = facts_of(*accepted("A"))
    assert request.note(fact) is True
    assert request.note(dict(fact)) is False
    assert len(request.collect_events()) == 2  # opened, one fact


def test_facts_keep_no_personal_data():
    (_, fact), = facts_of(*received("A"))
    assert "consumer" not in fact and "address" not in fact["respondent"]


@pytest.mark.parametrize("kwargs, field", [
    ({"by": "kind,colour"}, "by"), ({"start": "2026-13-01"}, "from"), ({"end": "yesterday"}, "to"),
    ({"start": "2026-03-02", "end": "2026-03-01"}, "to"), ({"agency": "310115"}, "agency"), ({"area": "4"}, "area"),
    # Well-formed codes of nothing: empty figures would read as "none there".
    ({"agency": "AMR-999999"}, "agency"), ({"area": "999999"}, "area"), ({"area": "4499"}, "area"),
    # A newline after a code, or digits of another script, are no part of one.
    ({"agency": "AMR-330106\n"}, "agency"), ({"area": "330106\n"}, "area"), ({"area": "٣٣٠١"}, "area"),
])
def test_malformed_queries_name_the_field(kwargs, field):
    with pytest.raises(InvalidQuery) as raised:
        Query.parse(**kwargs)
    assert raised.value.field == field


def test_table_csv_and_chart_render(tmp_path):
    import csv
    import io

    from PIL import Image

    from services.statistics.chart import draw
    from services.statistics.cli import table, write_csv

    fs = facts(received("A"), accepted("A"), received("B", "CONSULTATION"),
               received("C", respondent={"name": "某某餐饮管理有限公司", "uscc": None}),
               received("D", at=T0 + timedelta(days=40)))
    query = Query.parse(by="kind,month")
    report = from_facts(fs, query)
    text = table(report)
    assert "COMPLAINT" in text and text.splitlines()[-1].startswith("total")
    out = io.StringIO()
    write_csv(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sum(int(r["requests"]) for r in rows) == 4 and rows[0]["kind"] == "COMPLAINT"
    summaries = [s for s in (summarise(cid, f) for cid, f in fs.items()) if s]
    png = draw(summaries, query, tmp_path / "stats.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(png).size[0] > 500
    svg = draw(summaries, query, tmp_path / "stats.svg")
    assert b"<svg" in svg.read_bytes()[:500]


def test_a_respondent_named_like_a_formula_or_a_terminal_command_is_written_as_text():
    import csv
    import io

    from services.statistics.cli import table, write_csv

    formula, escape = '=HYPERLINK("http://evil.example/x","click")', "\x1b]0;PWNED\x07\x1b[2JRED"
    fs = facts(received("A", respondent={"name": formula, "uscc": None}),
               received("B", respondent={"name": escape, "uscc": None}))
    report = from_facts(fs, Query.parse(by="respondent"))
    out = io.StringIO()
    write_csv(report, out)
    names = {r["respondent"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert "'" + formula in names and formula not in names
    shown = table(report)
    assert "\x1b" not in shown and "\\x1b]0;PWNED" in shown


def test_of_two_ends_of_a_mediation_the_later_counts_and_a_withdrawal_closes():
    opened = record("MediationOpened", "A", T0 + timedelta(days=2), agency_id="AMR-310115", accepted_at=T0,
                    mediation_due=T0 + timedelta(days=62))
    agreed = record("MediationAgreed", "A", T0 + timedelta(days=9), form="ORAL", terms="x", amount_recovered_fen=1)
    ended = record("MediationTerminated", "A", T0 + timedelta(days=5), reason="PARTY_ABSENT")
    withdrawn = record("MediationTerminated", "A", T0 + timedelta(days=3), reason="WITHDRAWN")
    base = (received("A"), accepted("A"), opened)
    assert figures("status")(facts(*base, agreed, ended)).groups[0]["status"] == "AGREED"
    assert figures("status")(facts(*base, ended, agreed)).groups[0]["status"] == "AGREED"
    assert figures("status")(facts(*base, withdrawn, agreed)).groups[0]["status"] == "CLOSED"


@pytest.mark.parametrize("co_consumers, requests, consumers", [
    (0, 2, 2),
    (1, 2, 3),
    (2, 2, 4),   # two representatives and the consumers they act for
    (9, 2, 11),
])
def test_a_joint_complaint_is_one_request_of_several_consumers(co_consumers, requests, consumers):
    joint_id, joint = received("J")
    joint = {**joint, "co_consumers": [{"name": f"消费者{i}", "phone": "13900002222"} for i in range(co_consumers)]}
    fs = facts((joint_id, joint), accepted("J"), received("S"), accepted("S"))
    report = figures("kind")(fs)
    assert report.total["requests"] == requests and report.total["consumers"] == consumers
    assert not any("消费者" in repr(f) for request in fs.values() for f in request)


def test_a_joint_complaint_known_from_its_acceptance_alone_counts_its_consumers():
    kind, record_ = accepted("J")
    fs = facts((kind, {**record_, "consumer_count": 3, "received_at": T0}))
    assert figures()(fs).total["consumers"] == 3


def test_domain_words_group_as_their_fields_do():
    # DOMAIN.md: "counts by kind, outcome, agency, area".
    fs = facts(received("A"), accepted("A"), received("B", "CONSULTATION"))
    by_status = {g["status"]: g["requests"] for g in from_facts(fs, Query.parse(by="status")).groups}
    assert {g["outcome"]: g["requests"] for g in from_facts(fs, Query.parse(by="outcome")).groups} == by_status
    areas = from_facts(fs, Query.parse(by="area,agency")).groups
    assert all(g["agency"] is None or g["agency"].endswith(g["area"]) for g in areas)

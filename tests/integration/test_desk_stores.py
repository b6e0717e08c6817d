"""The desk's tables on SQLite and PostgreSQL: the same records give the
same listings on both, the page the database renders as JSON equals the one
built row by row, a second desk on the same store (a restart) picks up where
the first left off, and a rebuild of the tables gives the same rows."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from services.auth import Principal
from services.bus.settings import store_settings
from services.desk import listing as L
from services.desk import queries
from services.desk.application import Desk
from services.desk.jsonpage import page_json
from tests.desk_feed import START, Feed, feed
from tests.examples import EXAMPLES

PUDONG, XUHUI, SHANGHAI = "AMR-310115", "AMR-310104", "AMR-310000"


def open_desk(store_env) -> Desk:
    app = Desk(env=store_settings(store_env).for_service("desk"))
    app.clock.now = lambda: START + timedelta(days=61)
    return app


def test_listings_agree_across_stores_restarts_and_rebuilds(store_env):
    desk = open_desk(store_env)
    f = Feed()
    messages = [m for i in range(30) for m in f.complaint(f"c{i:02d}", (PUDONG, XUHUI)[i % 2],
                                                          START + timedelta(hours=i * 5), seed=i)]
    messages.append(f.message("MediationAgreed", complaint_id="c03", amount_recovered_fen=700))
    messages.append(f.message("MediationScheduled", complaint_id="c04", mediators=["王芳"]))
    assert feed(desk, messages).dead == 0
    supervisor, worker = Principal(SHANGHAI, "SUPERVISOR"), Principal(PUDONG, "CASE_WORKER")
    everything = queries.complaints(desk, supervisor, {}, "deadline", None, 100).items
    assert len(everything) == 30
    assert {i["complaint_id"] for i in queries.complaints(desk, worker, {}, limit=100).items} == \
        {f"c{i:02d}" for i in range(0, 30, 2)}
    assert [i["complaint_id"] for i in queries.complaints(desk, supervisor, {"worker": "王芳"}).items] == ["c04"]

    for who in (supervisor, worker, Principal(SHANGHAI, "REGULATOR")):
        items, _, _ = page_json(desk.tables.db, L.COMPLAINTS, _scoped(who), "deadline", None, 100,
                                  who.role != "REGULATOR", queries.today(desk))
        rows = queries.complaints(desk, who, {}, "deadline", None, 100).items
        assert json.loads(items) == json.loads(json.dumps(rows))
    desk.close()

    again = open_desk(store_env)
    assert feed(again, [f.message("MediationAgreed", complaint_id="c05", amount_recovered_fen=1)]).dead == 0
    after = {i["complaint_id"]: i for i in queries.complaints(again, supervisor, {}, limit=100).items}
    assert after["c05"]["status"] == "AGREED" and after["c03"]["amount_recovered_fen"] == 700
    again.tables.rebuild()
    assert {i["complaint_id"]: i for i in queries.complaints(again, supervisor, {}, limit=100).items} == after
    disclosure = queries.operator(again, after["c03"]["respondent_uscc"])
    assert (disclosure["agreed"], disclosure["amount_recovered_fen"]) == (1, 700)
    again.close()


def _scoped(who: Principal) -> L.Where:
    where = L.Where()
    L.scope(where, who, "agency_id", "agency_line")
    return where


def test_an_answer_filed_from_the_console_while_the_consumer_files_the_same_complaint_is_kept(tmp_path):
    desk = open_desk({"TOUSU_DATA_DIR": str(tmp_path)})
    try:
        f = Feed()
        assert feed(desk, f.complaint("c01", PUDONG, START, seed=1)).dead == 0
        find, raced = desk.find, []

        def find_then_race(aggregate_id):
            stale = find(aggregate_id)
            if not raced:  # the consumer saves a fact on the same file before the console does
                raced.append(aggregate_id)
                fresh = find(aggregate_id)
                fresh.note({"type": "MediationScheduled", "event_id": "consumer/fact", "complaint_id": "c01"})
                desk.save(fresh)
            return stale
        desk.find = find_then_race
        desk.note_answer("c01", "CA-110000", "ACKNOWLEDGED", None, "赵敏")
        desk.find = find
        desk.refresh()
        noted = {fact["event_id"] for fact in desk.tables.history("complaint/c01")}
        assert raced and {"consumer/fact", "console/c01/CA-110000/ReferralAcknowledged"} <= noted
    finally:
        desk.close()


def test_rows_derived_by_an_earlier_rule_are_derived_again_at_start(store_env):
    desk = open_desk(store_env)
    f = Feed()
    assert feed(desk, f.complaint("c1", PUDONG, START, seed=1) + [
        f.message("PenaltyCaseOpened", complaint_id="c1", case_id="PC-1", complaint_ids=["c1"], agency_id=PUDONG)
    ]).dead == 0
    # As a desk of the rule before left them: a lead called OPENED, and no projection number.
    with desk.tables.db.transaction():
        desk.tables.db.execute("UPDATE desk_cases SET status = 'OPENED'")
        desk.tables.db.execute("DELETE FROM desk_position WHERE name = 'projection'")
    desk.close()
    again = open_desk(store_env)
    [lead] = queries.cases(again, Principal(PUDONG, "CASE_WORKER"), {}).items
    assert lead["status"] == "LEAD"
    assert len(queries.complaints(again, Principal(PUDONG, "CASE_WORKER"), {}).items) == 1
    again.close()


def test_a_nul_in_a_name_neither_breaks_the_listings_nor_is_lost(store_env):
    # PostgreSQL's text holds no NUL: one such row failed every listing's refresh, for everyone.
    desk = open_desk(store_env)
    f = Feed()
    messages = [*f.complaint("c-nul", PUDONG, START, seed=1, name="某某\x00商贸有限公司",
                             consumer={**EXAMPLES["ComplaintReceived"]["consumer"], "name": "刘\x00洋"}),
                *f.complaint("c-fine", PUDONG, START + timedelta(hours=1), seed=2)]
    assert feed(desk, messages).dead == 0
    found = queries.complaints(desk, Principal(SHANGHAI, "SUPERVISOR"), {}, "deadline", None, 100).items
    assert {i["complaint_id"] for i in found} == {"c-nul", "c-fine"}
    assert next(i for i in found if i["complaint_id"] == "c-nul")["respondent_name"] == "某某\ufffd商贸有限公司"
    # A search with a NUL in it is asked as any other.
    searched = queries.complaints(desk, Principal(SHANGHAI, "SUPERVISOR"), {"respondent": "某某\x00商贸"}).items
    assert [i["complaint_id"] for i in searched] == ["c-nul"]


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    ["-received", [1, 2], "x"], ["-received", {"a": 1}, "x"], ["-received", 2**70, "x"],
    ["-received", "\ud800", "x"], ["-received", "a\x00b", "x"], ["-received", 1e308 * 10, "x"],
    ["-received", True, "x"], ["-received", "2026-01-01", 5],
])
def test_a_cursor_no_listing_gave_out_is_refused_naming_it(store_env, cursor):
    # 500s once, on the public listing too.
    desk = open_desk(store_env)
    supervisor = Principal(SHANGHAI, "SUPERVISOR")
    text = _cursor(cursor)
    for listing in (lambda: queries.complaints(desk, supervisor, {}, "-received", text),
                    lambda: queries.public_complaints(desk, {}, "-received", text)):
        with pytest.raises(L.InvalidQuery) as refused:
            listing()
        assert refused.value.field == "cursor"
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    with pytest.raises(L.InvalidQuery):
        queries.public_complaints(desk, {}, "-received", deep)


def test_filters_at_the_ends_of_the_calendar_or_naming_nothing_filter_nothing(store_env):
    desk = open_desk(store_env)
    f = Feed()
    assert feed(desk, f.complaint("c-one", PUDONG, START, seed=1)).dead == 0
    supervisor = Principal(SHANGHAI, "SUPERVISOR")
    for q in ({"status": ",,,"}, {"received_from": "0001-01-01", "received_to": "9999-12-31"},
              {"decided_to": "9999-12-31"}, {"received_from": "0001-01-01"}):
        assert [i["complaint_id"] for i in queries.complaints(desk, supervisor, q).items] == ["c-one"], q
    assert len(queries.cases(desk, supervisor, {"opened_to": "9999-12-31", "opened_from": "0001-01-01"}).items) == 0

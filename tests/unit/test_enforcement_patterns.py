"""Pattern leads: complaints against one operator about one kind of violation
become one penalty case once enough of them fall within the window."""
from datetime import datetime, timedelta, timezone

import pytest
from eventsourcing.application import Application

from services.enforcement.domainmodel import PenaltyCase
from services.enforcement.patterns import JOIN_CASE, NOTHING, OPEN_CASE, PatternWatch, burst
from services.enforcement.rules import Limits, normalise_name, operator_key

T0 = datetime(2024, 5, 1, 1, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
WINDOW = 30 * DAY
SHOP = {"name": "杭州某某网络科技有限公司", "uscc": "91330106MA2B0XYZ1K"}


def watch() -> PatternWatch:
    return PatternWatch(operator_key(SHOP), "FALSE_ADVERTISING", SHOP)


def feed(w: PatternWatch, days: list[float], first: int = 1) -> list:
    return [w.observe(f"C-{first + i}", T0 + d * DAY, "AMR-330106") for i, d in enumerate(days)]


# -- the sliding window, as a table ---------------------------------------------------

@pytest.mark.parametrize("days, expected", [
    ([0, 1, 2, 3], []),
    ([0, 1, 2, 3, 4], ["a", "b", "c", "d", "e"]),
    ([0, 7, 14, 21, 29.99], ["a", "b", "c", "d", "e"]),
    ([0, 7, 14, 21, 30], []),                      # exactly 30 days apart: two windows
    ([0, 8, 16, 24, 32], []),                      # five, spread over more than 30 days
    ([0, 40, 41, 42, 43, 44], ["b", "c", "d", "e", "f"]),
    ([44, 43, 42, 41, 40, 0], ["e", "d", "c", "b", "a"]),  # arrival order does not matter
])
def test_a_burst_is_enough_complaints_inside_one_window(days, expected):
    observations = [(name, T0 + d * DAY) for name, d in zip("abcdef", days)]
    assert burst(observations, 5, WINDOW) == expected


def test_the_threshold_is_configuration():
    observations = [(name, T0 + d * DAY) for name, d in zip("abc", [0, 1, 2])]
    assert burst(observations, 3, WINDOW) == ["a", "b", "c"]
    assert burst(observations, 4, WINDOW) == []


# -- who the operator is ---------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("杭州某某网络科技有限公司", "杭州某某网络科技有限责任公司"),
    ("杭州 某某网络科技 有限公司", "杭州某某网络科技有限公司"),
    ("ＡＢＣ超市（西湖店）", "abc超市(西湖店)"),
    ("ABC超市·西湖店", "abc 超市 西湖店"),
])
def test_spellings_of_one_operator_share_a_key(a, b):
    assert normalise_name(a) == normalise_name(b)
    assert operator_key({"name": a}) == operator_key({"name": b})


@pytest.mark.parametrize("a, b", [
    ("杭州某某网络科技有限公司", "杭州某某网络科技股份有限公司"),
    ("杭州某某网络科技有限公司", "杭州某某网络科技有限公司滨江分公司"),
])
def test_different_operators_keep_different_keys(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_the_credit_code_identifies_the_operator_whatever_its_name():
    assert operator_key({"name": "甲", "uscc": "91330106ma2b0xyz1k"}) == operator_key(SHOP)
    assert operator_key(SHOP) != operator_key({"name": SHOP["name"]})


def test_a_name_of_punctuation_only_is_refused():
    with pytest.raises(ValueError):
        normalise_name("（　）")


# -- the watch -----------------------------------------------------------------------

def test_four_complaints_open_nothing():
    assert [d.action for d in feed(watch(), [0, 1, 2, 3])] == [NOTHING] * 4


def test_the_fifth_opens_one_case_listing_all_five():
    w = watch()
    *_, fifth = feed(w, [0, 1, 2, 3, 4])
    assert fifth.action == OPEN_CASE
    assert fifth.complaint_ids == ("C-1", "C-2", "C-3", "C-4", "C-5")
    assert fifth.case_id == PenaltyCase.create_id("PATTERN", fifth.source_key)
    assert fifth.agency_id == "AMR-330106"
    assert w.awaiting == fifth


def test_the_sixth_joins_that_case():
    w = watch()
    *_, fifth, sixth = feed(w, [0, 1, 2, 3, 4, 5])
    assert sixth.action == JOIN_CASE
    assert (sixth.case_id, sixth.complaint_ids) == (fifth.case_id, ("C-6",))
    assert len(w.cases) == 1 and w.cases[0]["complaint_ids"][-1] == "C-6"


def test_five_spread_over_more_than_the_window_open_nothing():
    assert [d.action for d in feed(watch(), [0, 8, 16, 24, 32])] == [NOTHING] * 5


def test_the_same_complaint_counts_once():
    w = watch()
    feed(w, [0, 1, 2, 3])
    w.collect_events()
    again = w.observe("C-4", T0 + 3 * DAY, "AMR-330106")
    assert again.action == NOTHING and w.collect_events() == []
    assert w.observe("C-5", T0 + 4 * DAY).action == OPEN_CASE


def test_a_redelivered_complaint_of_an_open_case_changes_nothing():
    w = watch()
    feed(w, [0, 1, 2, 3, 4, 5])
    w.collect_events()
    assert w.observe("C-5", T0 + 4 * DAY).action == NOTHING
    assert w.observe("C-6", T0 + 5 * DAY).action == NOTHING
    assert w.collect_events() == []


def test_a_late_complaint_from_before_the_burst_joins_it():
    w = watch()
    feed(w, [10, 11, 12, 13, 14])
    late = w.observe("C-0", T0 + DAY)
    assert late.action == JOIN_CASE


def test_once_the_window_passes_a_new_burst_opens_a_new_case():
    w = watch()
    first = feed(w, [0, 1, 2, 3, 4])[-1]
    assert w.observe("C-6", T0 + 4 * DAY + WINDOW - SECOND).action == JOIN_CASE
    quiet = T0 + 4 * DAY + WINDOW - SECOND + WINDOW  # 30 days after the case's last complaint
    assert w.observe("C-7", quiet).action == NOTHING
    second = feed(w, [65, 66, 67, 68], first=8)
    assert [d.action for d in second] == [NOTHING] * 3 + [OPEN_CASE]
    assert second[-1].case_id != first.case_id
    assert second[-1].complaint_ids == ("C-7", "C-8", "C-9", "C-10", "C-11")


def test_an_ended_case_takes_no_more_complaints():
    w = watch()
    opened = feed(w, [0, 1, 2, 3, 4])[-1]
    w.case_opened(opened.case_id)
    assert w.case_ended(str(opened.case_id)) is True and w.case_ended(opened.case_id) is False
    assert w.observe("C-6", T0 + 5 * DAY).action == NOTHING


def test_the_opened_case_is_recorded_once():
    w = watch()
    opened = feed(w, [0, 1, 2, 3, 4])[-1]
    assert w.case_opened(opened.case_id) is True
    assert w.awaiting is None
    w.collect_events()
    assert w.case_opened(opened.case_id) is False and w.collect_events() == []
    with pytest.raises(ValueError):
        w.case_opened(PenaltyCase.create_id("PATTERN", "something else"))


def test_the_agency_is_the_one_handling_most_of_the_complaints():
    w = watch()
    for i, agency in enumerate(["AMR-330102", "AMR-330106", "AMR-330106", None, "AMR-330102", "AMR-330106"]):
        decision = w.observe(f"C-{i}", T0 + i * DAY, agency, threshold=6)
    assert decision.agency_id == "AMR-330106"


# -- across restarts -------------------------------------------------------------------

def run_with_restart(days: list[float], restart_after: int) -> list:
    """Observe, save, load the watch afresh from the store, observe the rest."""
    app = Application()
    w = watch()
    decisions = feed(w, days[:restart_after])
    app.save(w)
    reloaded = app.repository.get(w.id)
    decisions += feed(reloaded, days[restart_after:], first=restart_after + 1)
    app.save(reloaded)
    return decisions


@pytest.mark.parametrize("restart_after", [1, 3, 4, 5])
def test_a_restart_in_the_middle_of_a_window_gives_the_same_result(restart_after):
    days = [0, 1, 2, 3, 4, 5]
    uninterrupted = feed(watch(), days)
    assert run_with_restart(days, restart_after) == uninterrupted


def test_after_a_restart_a_redelivered_burst_opens_no_second_case():
    app = Application()
    w = watch()
    opened = feed(w, [0, 1, 2, 3, 4])[-1]
    case = PenaltyCase("PATTERN", opened.source_key, list(opened.complaint_ids), w.respondent,
                       w.violation_type, opened.agency_id, opened.evidence, T0 + 4 * DAY)
    w.case_opened(case.id)
    app.save(w, case)

    reloaded = app.repository.get(w.id)
    assert [d.action for d in feed(reloaded, [0, 1, 2, 3, 4])] == [NOTHING] * 5
    sixth = reloaded.observe("C-6", T0 + 5 * DAY)
    assert (sixth.action, sixth.case_id) == (JOIN_CASE, case.id)
    stored_case = app.repository.get(case.id)
    stored_case.link_complaint("C-6", T0 + 5 * DAY)
    app.save(reloaded, stored_case)
    assert app.repository.get(case.id).complaint_ids == ["C-1", "C-2", "C-3", "C-4", "C-5", "C-6"]
    assert app.repository.get(w.id).awaiting is None


def test_a_decision_is_not_rejudged_by_a_later_threshold():
    app = Application()
    w = watch()
    decisions = [w.observe(f"C-{i}", T0 + i * DAY, **Limits(pattern_threshold=3).pattern_limits())
                 for i in range(3)]
    assert decisions[-1].action == OPEN_CASE
    app.save(w)
    reloaded = app.repository.get(w.id)
    assert reloaded.cases[0]["complaint_ids"] == ["C-0", "C-1", "C-2"]
    assert reloaded.cases[0]["threshold"] == 3
    assert reloaded.observe("C-3", T0 + 3 * DAY).action == JOIN_CASE


def test_a_pattern_leads_dates_are_china_dates():
    """Complaints received at 07:00 in Beijing (23:00 UTC the day before) are that China day's."""
    from datetime import datetime, timezone

    from services.enforcement.patterns import PatternWatch

    watch = PatternWatch("NAME:某店", "COUNTERFEIT", {"name": "某店", "uscc": None})
    decision = None
    for n in range(5):
        at = datetime(2026, 3, 1 + n, 23, 0, tzinfo=timezone.utc)  # 07:00 on 2-6 March in China
        decision = watch.observe(f"C-{n}", at, "AMR-310115", threshold=5, window_days=30)
    assert decision.evidence.endswith("2026-03-02 to 2026-03-06")

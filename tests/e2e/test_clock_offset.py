"""The whole system on a moved clock (TOUSU_CLOCK_OFFSET_SECONDS), as a trial
of the rulebook boundary runs it: a complaint received at noon on 14 April
2026, China time, the last day of SAMR Order No. 20, is decided under Order 20
with its 7 working days counted from that day, and case work dated now is
not before its receipt."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from services.routing.rulebook import CHINA_STANDARD_TIME
from tests import factories
from tests.harness import Processes, decoded, wait_until

pytestmark = pytest.mark.slow

NOON_14_APRIL = datetime(2026, 4, 14, 4, 0, tzinfo=timezone.utc)  # 12:00 in Beijing
BUREAU = "AMR-110108"  # factories.complaint(i) for i % 8 == 1


@pytest.fixture(scope="module")
def system(module_bus, tmp_path_factory):
    offset = (NOON_14_APRIL - datetime.now(timezone.utc)).total_seconds()
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp("clock") / "data",
                          extra_env={"TOUSU_RULEBOOK": "by-date", "TOUSU_CLOCK_OFFSET_SECONDS": str(offset)}).start()
    yield processes
    processes.stop()


def test_a_complaint_received_on_the_moved_clock_is_decided_by_that_day(system, module_bus):
    complaint_id = system.submit(factories.complaint(1, aware_date="2026-03-01",
                                                     transaction={**factories.complaint(1)["transaction"],
                                                                  "date": "2026-03-01"}))[0]
    shown = system.wait_status(complaint_id, "IN_MEDIATION", 60, "in mediation")
    assert shown["rulebook"] == "SAMR-20" and shown["agency_id"] == BUREAU

    def accepted():
        return [r for kind, r in decoded(module_bus.bootstrap_servers, "complaints.decisions")
                if kind == "ComplaintAccepted" and r["complaint_id"] == complaint_id]
    [record] = wait_until(accepted, 30, message="the decision")
    received_on = record["received_at"].astimezone(CHINA_STANDARD_TIME).date()
    assert received_on == record["decided_at"].astimezone(CHINA_STANDARD_TIME).date() == date(2026, 4, 14)
    # 7 working days after 14 April 2026, the receipt day not counted: the 23rd, 24:00 in Beijing.
    assert record["decision_due"].astimezone(CHINA_STANDARD_TIME).date() == date(2026, 4, 23)

    flagged = system.caller("routing", BUREAU).post(f"/complaints/{complaint_id}/violations",
                                                    violation_type="FALSE_ADVERTISING", evidence="商品页面宣称“国家级”")
    assert flagged.status_code in (200, 202), flagged.text

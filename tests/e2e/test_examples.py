"""The examples as an integrator runs them: the agency answers each referral
once across runs and the complaint's status shows the answer; the report and
consultation examples go through as they are."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from services.bus.codec import default_codec
from services.bus.reader import read_all_sync
from tests import factories
from tests.harness import Processes, post_all, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def system(module_bus, tmp_path_factory):
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp("examples") / "data",
                          services=("intake", "routing")).start()
    yield processes
    processes.stop()


def referrals_in(bootstrap: str, agency_id: str) -> set[str]:
    try:
        return {default_codec().decode(m.value)[1]["complaint_id"] for m in read_all_sync(bootstrap, f"referrals.{agency_id}")}
    except Exception:
        return set()


def answered(result) -> list[str]:
    return [json.loads(line)["complaint_id"] for line in result.stdout.splitlines()]


def status(system, cid: str) -> dict:
    return json.loads(system.cli("status", cid, "--json", "--url", system.url).stdout)


def test_the_agency_answers_each_referral_once_across_runs_and_the_status_shows_it(system, module_bus):
    bootstrap = module_bus.bootstrap_servers
    [first] = asyncio.run(post_all(system.url, [factories.complaint(1, subject_area="EDUCATION")]))  # EDU-110108
    wait_until(lambda: first in referrals_in(bootstrap, "EDU-110108"), 60, message="the first referral")
    assert answered(system.cli("agency", "EDU-110108", "--once")) == [first]
    again = system.cli("agency", "EDU-110108", "--once")
    assert answered(again) == [] and "answered 0 referrals" in again.stderr

    [second] = asyncio.run(post_all(system.url, [factories.complaint(9, subject_area="EDUCATION")]))
    wait_until(lambda: second in referrals_in(bootstrap, "EDU-110108"), 60, message="the second referral")
    assert answered(system.cli("agency", "EDU-110108", "--once")) == [second], "it resumes after the first"
    replies = [default_codec().decode(m.value)[1]["complaint_id"] for m in read_all_sync(bootstrap, "referrals.replies")]
    assert sorted(replies) == sorted([first, second])

    shown = wait_until(lambda: (s := status(system, first))["referral_answer"] and s, 60,
                       message="the answer on the status")
    assert shown["status"] == "REFERRED" and shown["agency_id"] == "EDU-110108"
    assert shown["referral_answer"] == "ACKNOWLEDGED" and shown["referral_answered_by"] == "EDU-110108"
    assert shown["referral_answered_at"] >= shown["received_at"]
    readable = system.cli("status", first, "--url", system.url).stdout
    assert "referral answer" in readable and "ACKNOWLEDGED" in readable


@pytest.mark.parametrize("example, kind", [("report.json", "REPORT"), ("consultation.json", "CONSULTATION")])
def test_the_report_and_consultation_examples_are_taken(system, example, kind):
    cid = system.cli("submit", str(ROOT / "examples" / example), "--url", system.url).stdout.strip()
    assert status(system, cid)["kind"] == kind

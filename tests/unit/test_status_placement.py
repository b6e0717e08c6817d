"""The status shows a complaint no address placed as needing a person to place
it, until a transfer places it."""
from datetime import datetime, timedelta, timezone

import pytest

from services.bus.messages import Decoded, Inbound
from services.bus.store import UnitOfWork
from services.intake.application import Intake
from services.intake.projection import project
from tests.examples import EXAMPLES

AT = datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc)  # the eve of National Day


@pytest.fixture
def intake():
    return Intake(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def feed(intake, record_type: str, **fields) -> dict:
    record = {**EXAMPLES[record_type], "complaint_id": "TS-1", "event_id": f"e-{record_type}", **fields}
    uow = UnitOfWork(intake)
    project(intake, uow, Decoded(Inbound("complaints.decisions", 0, 0, None, b""), record_type, record))
    uow.commit()
    return intake.status("TS-1")


@pytest.mark.parametrize("needs_placement", [True, False])
def test_the_status_says_whether_a_person_must_place_the_complaint(intake, needs_placement):
    shown = feed(intake, "ComplaintAccepted", occurred_at=AT, needs_placement=needs_placement,
                 agency_id="AMR-440106", jurisdiction_basis="FIRST_RECEIVED")
    assert shown["status"] == "ACCEPTED" and shown["agency_id"] == "AMR-440106"
    assert shown["needs_placement"] is needs_placement


def test_a_transfer_places_it(intake):
    feed(intake, "ComplaintAccepted", occurred_at=AT, needs_placement=True, agency_id="AMR-440106",
         jurisdiction_basis="FIRST_RECEIVED")
    shown = feed(intake, "ComplaintTransferred", occurred_at=AT + timedelta(days=8), from_agency_id="AMR-440106",
                 to_agency_id="AMR-440103", reason="DESIGNATED_BY_AMR-440100")
    assert shown["agency_id"] == "AMR-440103" and shown["needs_placement"] is False


def test_a_status_stored_before_placement_was_recorded_needs_none(intake):
    record = {k: v for k, v in EXAMPLES["ComplaintAccepted"].items() if k != "needs_placement"}
    uow = UnitOfWork(intake)
    project(intake, uow, Decoded(Inbound("complaints.decisions", 0, 0, None, b""), "ComplaintAccepted",
                         {**record, "complaint_id": "TS-1", "occurred_at": AT}))
    uow.commit()
    assert intake.status("TS-1")["needs_placement"] is False

"""The status view names how each record type of its input topics moves it."""
from datetime import timedelta

import pytest

from services.bus import topics as registry
from services.intake.projection import INPUTS, MOVES


def test_every_record_type_of_the_inputs_has_its_move():
    record_types = {record_type for name in INPUTS for record_type in registry.topic(name).record_types}
    assert set(MOVES) == record_types


def test_a_recused_mediator_leaves_the_next_session_the_parties_are_shown():
    from services.intake.application import Intake
    from tests.examples import EXAMPLES
    from tests.inbound import deliver

    app = Intake(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        cid = EXAMPLES["ComplaintReceived"]["complaint_id"]
        deliver(app, "intake", ("ComplaintReceived", EXAMPLES["ComplaintReceived"]),
                ("ComplaintAccepted", {**EXAMPLES["ComplaintAccepted"], "complaint_id": cid}),
                ("MediationScheduled", {**EXAMPLES["MediationScheduled"], "complaint_id": cid,
                                        "mediators": ["李明", "王芳"]}))
        assert app.status(cid)["next_session"]["mediators"] == ["李明", "王芳"]
        before = app.status(cid)["updated_at"]
        later = EXAMPLES["MediationScheduled"]["occurred_at"] + timedelta(days=2)
        deliver(app, "intake", ("MediatorRecused", {**EXAMPLES["MediatorRecused"], "complaint_id": cid,
                                                    "mediator": "李明", "occurred_at": later}))
        shown = app.status(cid)
        session = shown["next_session"]
        assert session["mediators"] == ["王芳"] and session["place"] == EXAMPLES["MediationScheduled"]["place"]
        assert shown["updated_at"] > before, "the change is dated"
    finally:
        app.close()


def test_a_referral_stored_before_its_reason_was_a_code_reads_as_out_of_remit():
    from datetime import datetime, timezone

    from services.intake.application import status_document
    from services.intake.domainmodel import ComplaintStatus

    view = ComplaintStatus("TS-1", "COMPLAINT", datetime(2026, 3, 2, tzinfo=timezone.utc))
    view.change("REFERRED", datetime(2026, 3, 3, tzinfo=timezone.utc), agency_id="CA-310000", reason="TELECOM")
    assert status_document(view)["reason"] == "OUT_OF_REMIT"


def test_a_report_closed_with_its_case_shows_its_bureau_and_a_code_never_the_closing_note():
    from datetime import datetime, timezone

    import json
    from pathlib import Path

    from services.intake import submission
    from services.intake.application import Intake, status_document
    from services.intake.domainmodel import ComplaintStatus
    from tests.examples import EXAMPLES
    from tests.inbound import deliver

    app = Intake(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        body = json.loads((Path(__file__).parents[2] / "examples" / "report.json").read_text(encoding="utf-8"))
        cid = app.submit(*submission.parse(body))["complaint_id"]
        note = "已电话告知举报人林小红（13800000099）处理结果"
        deliver(app, "intake", ("PenaltyCaseOpened", {**EXAMPLES["PenaltyCaseOpened"], "origin": "REPORT", "complaint_ids": [cid]}),
                ("PenaltyCaseClosed", {**EXAMPLES["PenaltyCaseClosed"], "complaint_id": cid, "outcome": note,
                                       "reports_closed": [cid]}))
        shown = app.status(cid)
        assert shown["status"] == "CLOSED" and shown["reason"] == "CASE_CLOSED"
        assert shown["agency_id"] == EXAMPLES["PenaltyCaseOpened"]["agency_id"]
        assert "13800000099" not in str(shown)
    finally:
        app.close()
    # A report closed before endings were codes kept the note: it is not shown.
    view = ComplaintStatus("TS-1", "REPORT", datetime(2026, 3, 2, tzinfo=timezone.utc))
    view.change("CLOSED", datetime(2026, 3, 9, tzinfo=timezone.utc), reason=note)
    assert status_document(view)["reason"] is None


@pytest.fixture
def two_reports():
    """Intake holding the same report twice, and the case opened for the first."""
    import json
    from pathlib import Path

    from services.intake import submission
    from services.intake.application import Intake
    from tests.examples import EXAMPLES
    from tests.inbound import deliver

    app = Intake(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    body = json.loads((Path(__file__).parents[2] / "examples" / "report.json").read_text(encoding="utf-8"))
    first, again = (app.submit(*submission.parse(body))["complaint_id"] for _ in range(2))
    case = {"case_id": EXAMPLES["PenaltyCaseOpened"]["case_id"]}
    deliver(app, "intake", ("PenaltyCaseOpened", {**EXAMPLES["PenaltyCaseOpened"], **case, "origin": "REPORT",
                                                  "complaint_id": first, "complaint_ids": [first]}))

    def records(record_type: str, **fields) -> tuple[str, dict]:
        return record_type, {**EXAMPLES[record_type], **case, **fields}

    yield app, first, again, case["case_id"], records
    app.close()


def test_every_report_a_case_handled_is_closed_with_it(two_reports):
    from tests.inbound import deliver

    app, first, again, case_id, records = two_reports
    deliver(app, "intake", records("PenaltyCaseComplaintLinked", complaint_id=again, complaint_ids=[first, again],
                                   not_handled_again=False))
    assert app.status(again)["status"] == "RECEIVED"  # joined the case: handled with it
    deliver(app, "intake", records("PenaltyCaseClosed", complaint_id=first, reports_closed=[first, again]))
    assert [app.status(c)["status"] for c in (first, again)] == ["CLOSED", "CLOSED"]
    assert app.status(again)["penalty_case_ids"] == [case_id]


def test_the_same_report_after_its_case_ended_is_closed_as_not_handled_again(two_reports):
    from tests.inbound import deliver

    app, first, again, case_id, records = two_reports
    deliver(app, "intake", records("PenaltyCaseClosed", complaint_id=first, reports_closed=[first]),
            records("PenaltyCaseComplaintLinked", complaint_id=again, complaint_ids=[first, again],
                    reported_again=True, not_handled_again=True))
    shown = app.status(again)
    assert shown["status"] == "CLOSED" and shown["reason"] == "REPEAT_REPORT"
    assert shown["penalty_case_ids"] == [case_id]
    assert app.status(first)["reason"] == "CASE_CLOSED"


@pytest.mark.parametrize("before_opening, status", [(True, "CLOSED"), (False, "TERMINATED"), (None, "CLOSED")])
def test_a_withdrawal_closes_the_complaint_only_before_its_mediation_opened(before_opening, status):
    # DOMAIN.md: termination grounds include the consumer's withdrawal, "also before mediation opens:
    # the complaint is then closed"; a record from before the two were told apart closed either way.
    from services.contract.status import ended

    assert ended("WITHDRAWN", before_opening) == status
    assert ended("PARTY_REFUSED", before_opening) == "TERMINATED"

"""The status view names how each record type of its input topics moves it."""
from datetime import timedelta

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

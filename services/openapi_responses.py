"""What the routes that build their answers as plain dicts answer, as OpenAPI
schemas: the shapes `intake`, `mediation`, `routing`, `enforcement` and
`statistics` return today, so clients and code generators get real types.
A unit test checks each against answers the routes really give."""
from __future__ import annotations

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: list[str], **properties) -> dict:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": True}


INSTANT = {"type": "string", "format": "date-time"}
SCHEMAS = {
    "SubmissionAccepted": obj(["complaint_id", "kind", "status_url"], complaint_id=S, kind=S, status_url=S,
                              linked_request_id=S),
    "ComplaintStatus": obj(
        ["complaint_id", "kind", "status"], complaint_id=S, kind=S, status=S, agency_id=nullable(S),
        reason=nullable(S), explanation=nullable(S), received_at=nullable(INSTANT), decided_at=nullable(INSTANT),
        decision_due=nullable(INSTANT), decision_overdue=B, mediation_due=nullable(INSTANT), mediation_paused=B,
        outcome=nullable(S), amount_recovered_fen=nullable(I), penalty_case_ids={"type": "array", "items": S},
        linked_request_id=nullable(S), updated_at=nullable(INSTANT),
        record={"type": "object", "description": "Only with a token of the handling agency or above it"}),
    "MediationCaseSummary": obj(
        ["complaint_id", "agency_id", "status"], complaint_id=S, agency_id=S, status=S,
        mediation_due=nullable(INSTANT), paused=B, panel={"type": "array", "items": S}, sessions=I,
        outcome=nullable(S)),
    "WithdrawalAnswer": obj(["complaint_id", "withdrawal"], complaint_id=S, withdrawal=S),
    "ViolationFlagged": obj(["complaint_id", "violation_type", "status"], complaint_id=S, violation_type=S, status=S),
    "JurisdictionAnswer": obj(["complaint_id", "agency_id", "state"], complaint_id=S, agency_id=nullable(S),
                              state=S, dispute=nullable({"type": "object"})),
    "ReferralReplyOutcome": obj(["complaint_id", "state", "referrals"], complaint_id=S, state=S, referrals={
        "type": "array", "items": obj(["referral_id", "status"], referral_id=S, status=S)}),
    "PenaltyCase": obj(
        ["case_id", "status"], case_id=S, case_number=nullable(S), origin=S, status=S,
        complaint_ids={"type": "array", "items": S}, respondent=nullable({"type": "object"}),
        violation_type=nullable(S), agency_id=nullable(S), received_at=nullable(INSTANT),
        filing_due=nullable(INSTANT), conclusion_due=nullable(INSTANT), decision=nullable({"type": "object"}),
        closure=nullable({"type": "object"}), declined=nullable({"type": "object"}),
        overdue={"type": "array", "items": S}),
    "StatisticsReport": obj(["query", "measures", "groups", "total"], query={"type": "object"},
                            measures={"type": "array", "items": S},
                            groups={"type": "array", "items": {"type": "object"}}, total={"type": "object"}),
}

MEDIATION = ("consent", "schedule", "recusal", "appraisal", "agreement", "termination")
BY_OPERATION = {
    ("post", "/complaints"): "SubmissionAccepted",
    ("get", "/complaints/{complaint_id}"): "ComplaintStatus",
    **{("post", f"/complaints/{{complaint_id}}/mediation/{name}"): "MediationCaseSummary" for name in MEDIATION},
    ("post", "/complaints/{complaint_id}/withdrawal"): "WithdrawalAnswer",
    ("post", "/complaints/{complaint_id}/violations"): "ViolationFlagged",
    **{("post", f"/complaints/{{complaint_id}}/jurisdiction/{name}"): "JurisdictionAnswer"
       for name in ("escalation", "dispute", "designation")},
    ("post", "/complaints/{complaint_id}/referral/reply"): "ReferralReplyOutcome",
    **{(method, f"/cases/{{case_id}}{tail}"): "PenaltyCase" for method, tail in (
        ("get", ""), ("post", "/investigation"), ("post", "/filing-declined"), ("post", "/decision"),
        ("post", "/closure"))},
    ("get", "/statistics"): "StatisticsReport",
}
